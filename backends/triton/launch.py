"""Launch-time values of a dynamic kernel: its grid and its expanded arguments.

A kernel over symbolic sizes gets its grid from the `index` arguments the
host passes (Python ints): the extents of its loop nest are those arguments
or arith on them before the nest, which is written out here as a Python
expression over the kernel's argument names (`cdiv(arg2 * 64, 1024)`) and
compiled once into the grid function. The same expression is what
coil-translate prints in a kernel's header.

A buffer with strides the type leaves open (`?`) is passed, like an MLIR
memref descriptor, as its pointer followed by those strides: `params` lists
where each TTIR parameter comes from, and `expand` builds the argument list
Triton's launcher takes from the one the host passes.
"""

from __future__ import annotations

from coil.mlir import ir
from coil.passes.index_math import python_expression

_BINARY = {
    "arith.addi": "({} + {})",
    "arith.subi": "({} - {})",
    "arith.muli": "({} * {})",
    "arith.floordivsi": "({} // {})",
    "arith.ceildivsi": "cdiv({}, {})",
    "arith.ceildivui": "cdiv({}, {})",
    "arith.divsi": "_divsi({}, {})",
    "arith.divui": "({} // {})",
    "arith.remsi": "_remsi({}, {})",
    "arith.remui": "({} % {})",
    "arith.maxsi": "max({}, {})",
    "arith.minsi": "min({}, {})",
}


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


# Reduction sizes above this share one bucket (every config is looped there).
MAX_RNUMEL_BUCKET = 1 << 16


def _bucket(n: int) -> int:
    """The power of two >= n (at least 1), capped: the ("rnumel", bound) hint of a call."""
    if n > MAX_RNUMEL_BUCKET:
        return MAX_RNUMEL_BUCKET * 2
    return 1 << max(n - 1, 0).bit_length()


def _divsi(a: int, b: int) -> int:
    """C's truncating division (arith.divsi)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _remsi(a: int, b: int) -> int:
    return a - b * _divsi(a, b)


NAMESPACE = {"cdiv": cdiv, "_divsi": _divsi, "_remsi": _remsi, "_bucket": _bucket, "max": max, "min": min}


class HostExpressionError(ValueError):
    """An index value the host cannot compute from the kernel's arguments."""


def host_expression(value: ir.Value, fn_args: list[ir.Value]) -> str:
    """`value` (an `index` value at function level) as a Python expression over `arg0, arg1, ...`."""
    for i, a in enumerate(fn_args):
        if a == value:
            return f"arg{i}"
    if not isinstance(value, ir.OpResult):
        raise HostExpressionError("a size must be a kernel argument or computed from them")
    op = value.owner
    name = op.name
    if name == "arith.constant":
        return str(ir.IntegerAttr(op.attributes["value"]).value)
    operands = [host_expression(v, fn_args) for v in op.operands]
    if name in ("arith.index_cast", "arith.index_castui"):
        return operands[0]
    if name in _BINARY:
        return _BINARY[name].format(*operands)
    if name == "affine.apply":
        amap = ir.AffineMapAttr(op.attributes["map"]).value
        if len(amap.results) != 1:
            raise HostExpressionError("affine.apply with several results")
        try:
            return python_expression(amap.results[0], operands[: amap.n_dims], operands[amap.n_dims :])
        except ValueError as error:
            raise HostExpressionError(str(error)) from None
    raise HostExpressionError(f"'{name}' cannot compute a launch size")


def product(terms: list[str]) -> str:
    return " * ".join(terms) if terms else "1"


def grid_function(grid: tuple[str, str, str], n_args: int):
    """A function of the kernel's arguments (as the host passes them) returning the grid."""
    names = ", ".join(f"arg{i}" for i in range(n_args))
    source = f"lambda {names}: ({', '.join(grid)},)"
    return eval(source, dict(NAMESPACE))  # noqa: S307 - our own expression over argument names


def hint_function(info, fn_args: list[ir.Value]):
    """f(*args) -> the launch hints of a call (see `lowering.KernelEmitter`), as Triton's JIT specializes.

    An open stride of 1 is the constant 1 (a unit-stride access stays
    contiguous); an i64 parameter (an index argument, an open stride) divisible by 16 gets
    `tt.divisibility`, so masks and row bases keep Triton's vector accesses;
    an open stride equal to the product of the extents of the loop dims that
    index the trailing dims (a row-major buffer of the loop's shape) is
    replaced by them, so the offset merges into the flat index. A symbolic
    reduction range gets ("rnumel", bound), the power of two at or above its
    size (one bucket above MAX_RNUMEL_BUCKET): the call's config is chosen
    for that bound, persistent where RBLOCK = bound covers the row, so rows
    of any width get the config their width wants and a persistent RBLOCK
    never falls short of the size it runs on. Kernels are compiled per
    distinct hint set.
    """
    lines, constants = [], {}

    def hint(value) -> str:
        name = f"_h{len(constants)}"
        constants[name] = value
        return name

    for i, a in enumerate(fn_args):
        if isinstance(a.type, ir.IndexType):
            lines.append(f"    if arg{i} % 16 == 0: h.append({hint(('div16', ('arg', i)))})")
    for i, dims in info.stride_params.items():
        for k in dims:
            lines.append(f"    st = arg{i}.stride({k})")
            # One substitution a stride at most: 1, else the first equal candidate.
            lines.append(f"    if st == 1: h.append({hint(('one', i, k))})")
            lines.append("    else:")
            lines.append(f"        if st % 16 == 0: h.append({hint(('div16', ('stride', i, k)))})")
            keyword = "if"
            for c, candidate in enumerate(info.stride_candidates.get((i, k), ())):
                terms, static = [], 1
                try:
                    for kind, j in candidate:
                        if kind == "a":
                            terms.append(f"arg{j}")
                            continue
                        extent = (info.mixed if kind == "d" else info.reduction_mixed)[j]
                        if isinstance(extent, int):
                            static *= extent
                        else:
                            terms.append(host_expression(extent, fn_args))
                except HostExpressionError:
                    continue
                if static != 1 or not terms:
                    terms.append(str(static))
                lines.append(f"        {keyword} st == {product(terms)}: h.append({hint(('eq', i, k, c))})")
                keyword = "elif"
    if info.dynamic_reduction:
        terms, static = [], 1
        try:
            for extent in info.reduction_mixed:
                if isinstance(extent, int):
                    static *= extent
                else:
                    terms.append(host_expression(extent, fn_args))
            if static != 1 or not terms:
                terms.append(str(static))
            lines.append(f"    h.append(('rnumel', _bucket({product(terms)})))")
        except HostExpressionError:
            pass
    if not lines:
        return None
    names = ", ".join(f"arg{i}" for i in range(len(fn_args)))
    source = f"def hints({names}):\n    h = []\n" + "\n".join(lines) + "\n    return frozenset(h)\n"
    namespace = dict(NAMESPACE, **constants)
    exec(source, namespace)  # noqa: S102 - our own expressions over argument names
    return namespace["hints"]


def expand(params: list[tuple], args) -> list:
    """The TTIR parameters' values: an argument as is, or a tensor argument's stride."""
    out = []
    for p in params:
        if p[0] == "arg":
            out.append(args[p[1]])
        else:
            out.append(args[p[1]].stride(p[2]))
    return out
