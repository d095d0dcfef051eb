"""What the TTIR emitter needs to know about one coil kernel before it tiles it.

- the body's reduction levels, as `lower_loops._NestLowering._analyze` computes
  them for the CPU: which ops depend on a reduction index (they run inside a
  reduction pass), after which reduce each value is available, and which
  reduction passes must recompute each op;
- every `index` value as an index expression over the loop-nest dimensions
  (`indexing.Lin`), and each load's and store's element offset;
- per access, the dimension along which it is contiguous, which decides
  between 1-D and 2-D (Y x X) tiling of a pointwise kernel and spots
  reductions that read along the output index (a sum over dim 0).

The kernel function is cloned before welford is expanded, so analysis never
changes the caller's module.

Symbolic sizes: a loop-nest range may be DYNAMIC, its extent an `index`
operand (a kernel argument, or arith on them before the nest); a buffer may
have `?` dims and `?` strides. Like an MLIR memref descriptor, each stride
the type does not give becomes an extra i64 kernel parameter after the
buffer's pointer (`%argK_strideD`, the tensor's `stride(D)` at launch), and
is an opaque atom of the offsets. A `?` offset is the tensor's storage
offset, which the data pointer the host passes already includes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from coil.dialects.ops import int_list, is_dynamic, mixed_ranges
from coil.mlir import ir
from coil.passes.registry import PassFailure
from coil.passes.walk import operands_among
from coil.passes.welford import expand_welford

from .indexing import UNBOUNDED, IndexSpace, Lin, Opaque, Var, atom, const, linear_coefficients


class TritonLoweringError(PassFailure):
    """A kernel the TTIR emitter cannot lower; names the kernel, the op and its location."""

    def __init__(self, kernel: str, message: str, op=None):
        location = op.location if op is not None else None
        at = f" at '{op.operation.name}'" if op is not None else ""
        # `message` (a diagnostic, attached to the location) and str() (which names the location too).
        super().__init__(f"cannot lower kernel '@{kernel}' to TTIR{at}: {message}", location)
        if location is not None:
            self.args = (f"cannot lower kernel '@{kernel}' to TTIR{at} ({location}): {message}",)
        self.kernel = kernel


@dataclass
class Access:
    """One load or store: its buffer argument and element offset over the dimensions."""

    op: ir.OpView
    arg: int
    offset: Lin
    is_store: bool
    contiguous_dim: int | None  # position in `dims` whose stride is 1, if linear
    # Position in `dims` of a variable that appears only as a plain term with
    # stride 1 (other terms may be nonlinear in other variables, e.g. a
    # split reduction's clamped `min(s*C + r, R-1) * n + x`).
    unit_stride_dim: int | None = None


CMPI_PREDICATES = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]


@dataclass
class KernelInfo:
    name: str
    fn: ir.OpView  # the analysed clone
    scratch: ir.Module
    arg_kinds: list[str]
    arg_types: list[ir.Type]
    prelude: list[ir.OpView]  # function-level ops before the loop nest (constants)
    nest: ir.OpView
    ranges: list[int]
    reduction_ranges: list[int]
    ops: list[ir.OpView]  # the nest body, without its terminator
    outer_args: list[ir.Value]
    reduction_args: list[ir.Value]
    # levels
    rdep: dict = field(default_factory=dict)
    level: dict = field(default_factory=dict)
    op_rdep: dict = field(default_factory=dict)
    op_level: dict = field(default_factory=dict)
    reduce_loop: dict = field(default_factory=dict)
    loops_of: dict = field(default_factory=dict)
    n_levels: int = 0
    # index expressions over dimensions d0.. (ranges) and r0.. (reduction ranges)
    space: IndexSpace | None = None
    symbolic: dict = field(default_factory=dict)  # ir.Value -> Lin
    accesses: list[Access] = field(default_factory=list)
    # Loads only a select on loop indices keeps -> their conditions (`select_guards`),
    # and -> their index expressions where those hold (`guarded_indices`).
    load_guards: dict = field(default_factory=dict)
    guarded_index_lins: dict = field(default_factory=dict)
    # Symbolic sizes: the mixed ranges (int, or the `index` value of a DYNAMIC
    # entry), each range's extent as an index expression, and per buffer
    # argument its strides (int, or an opaque i64 parameter) and the dims of
    # the strides passed as parameters.
    mixed: list = field(default_factory=list)
    reduction_mixed: list = field(default_factory=list)
    extents: list = field(default_factory=list)  # Lin per range
    reduction_extents: list = field(default_factory=list)  # Lin per reduction range
    strides: dict = field(default_factory=dict)  # arg index -> [int | Lin]
    stride_params: dict = field(default_factory=dict)  # arg index -> [dim, ...]
    # (arg, dim) of an open stride -> values it may equal at a launch: tuples
    # of ("d"|"r", position), the product of those extents (a buffer row-major
    # over the loop dims that index it), or (("a", i),), index argument i.
    stride_candidates: dict = field(default_factory=dict)
    # A launch's bound on a symbolic reduction range (a power of two >= its
    # size at that call, see launch.hint_function): configs may size RBLOCK by it.
    rnumel_bound: int | None = None

    @property
    def is_reduction(self) -> bool:
        return bool(self.reduction_ranges)

    @property
    def dynamic_ranges(self) -> bool:
        return any(is_dynamic(e) for e in self.ranges)

    @property
    def dynamic_reduction(self) -> bool:
        return any(is_dynamic(e) for e in self.reduction_ranges)

    @property
    def is_dynamic(self) -> bool:
        """Whether any range or buffer stride is known only at launch (then offsets are 64-bit)."""
        return self.dynamic_ranges or self.dynamic_reduction or any(self.stride_params.values())

    @property
    def xnumel(self) -> int:
        """Output points; a dynamic range counts as UNBOUNDED (use `xnumel_expr` to index)."""
        return math.prod(UNBOUNDED if is_dynamic(e) else e for e in self.ranges)

    @property
    def rnumel(self) -> int:
        """Reduction points; a dynamic range counts as its launch bound, else UNBOUNDED (use `rnumel_expr` to index)."""
        if self.rnumel_bound is not None and self.dynamic_reduction:
            return self.rnumel_bound
        return math.prod(UNBOUNDED if is_dynamic(e) else e for e in self.reduction_ranges)

    def candidate_expr(self, candidate: tuple) -> Lin:
        """A stride candidate (`stride_candidates`) as an index expression: the product of its extents."""
        args = list(self.fn.regions[0].blocks[0].arguments)
        factors = []
        for kind, j in candidate:
            if kind == "a":
                factors.append(self.symbolic[args[j]])
            else:
                factors.append((self.extents if kind == "d" else self.reduction_extents)[j])
        return _product(self.space, factors)

    def xnumel_expr(self) -> Lin:
        """The number of output points as an index expression (symbolic sizes as atoms)."""
        return _product(self.space, self.extents)

    def rnumel_expr(self) -> Lin:
        return _product(self.space, self.reduction_extents)

    def dim_names(self) -> list[str]:
        return [f"d{i}" for i in range(len(self.ranges))]

    def reduction_dim_names(self) -> list[str]:
        return [f"r{i}" for i in range(len(self.reduction_ranges))]

    def error(self, message: str, op=None) -> TritonLoweringError:
        return TritonLoweringError(self.name, message, op)


def _product(space: IndexSpace, extents: list[Lin]) -> Lin:
    total = const(1)
    for e in extents:
        total = space.mul(total, e)
    return total


def _writes_memory(op: ir.OpView) -> bool:
    return op.operation.name == "coil.store"


def above_one(extent: int) -> bool:
    """Whether a range may have more than one point (a symbolic one may)."""
    return is_dynamic(extent) or extent > 1


def buffer_strides(t: ir.MemRefType) -> tuple[list[int | None], list[int]]:
    """(strides with None where the type leaves one to launch time, those dims).

    An identity layout with `?` dims is row-major over unknown sizes: a stride
    is static only when every size after it is.
    """
    if isinstance(t.layout, ir.StridedLayoutAttr):
        strides, _ = t.get_strides_and_offset()
        strides = [None if is_dynamic(s) else s for s in strides]
    else:
        strides, running = [], 1
        for size in reversed(list(t.shape)):
            strides.append(running)
            running = None if running is None or is_dynamic(size) else running * max(size, 1)
        strides.reverse()
    return strides, [k for k, s in enumerate(strides) if s is None]


def analyze_kernel(fn: ir.OpView, nest: int | None = None) -> KernelInfo:
    """Clones `fn` into a scratch module and analyses the clone.

    `nest`: of a `coil.combo` kernel (passes/combine_kernels.py), the loop nest
    to analyse; the clone keeps that one and every argument."""
    name = fn.attributes["sym_name"].value
    with fn.context, ir.Location.unknown():
        scratch = ir.Module.create()
        with ir.InsertionPoint(scratch.body):
            clone = fn.operation.clone()
    clone = clone.opview
    block = clone.regions[0].blocks[0]
    if nest is not None:
        nests = [op for op in block.operations if op.operation.name == "coil.loop_nest"]
        if not 0 <= nest < len(nests):
            raise TritonLoweringError(name, f"has {len(nests)} loop nests, no nest #{nest}")
        for k, op in enumerate(nests):
            if k != nest:
                op.operation.erase()
    arg_kinds, arg_types = [], []
    for i, arg in enumerate(block.arguments):
        t = arg.type
        if isinstance(t, ir.MemRefType):
            t = ir.MemRefType(t)
            if isinstance(t.layout, ir.StridedLayoutAttr):
                _, offset = t.get_strides_and_offset()
                if offset != 0 and not is_dynamic(offset):
                    raise TritonLoweringError(name, f"argument #{i} needs offset 0 or '?' (the pointer's), found {t}")
            arg_kinds.append("buffer")
        elif isinstance(t, ir.IndexType):
            arg_kinds.append("index")
        else:
            raise TritonLoweringError(name, f"argument #{i} has type {t}; kernels take memrefs and index values")
        arg_types.append(t)
    prelude, nests = [], []
    for op in block.operations:
        opname = op.operation.name
        if opname == "coil.loop_nest":
            nests.append(op)
        elif opname == "func.return":
            if len(op.operands):
                raise TritonLoweringError(name, "kernels return nothing", op)
        elif nests:
            raise TritonLoweringError(name, "ops after the loop nest are not supported", op)
        elif len(op.operation.regions) or not opname.startswith(("arith.", "math.", "affine.apply")):
            raise TritonLoweringError(name, "only arith/math/affine.apply ops may precede the loop nest", op)
        else:
            prelude.append(op)
    if len(nests) != 1:
        raise TritonLoweringError(name, f"a kernel holds exactly one 'coil.loop_nest', found {len(nests)}")
    nest = nests[0]
    ranges = int_list(nest.attributes["ranges"])
    reduction_ranges = int_list(nest.attributes["reduction_ranges"])
    mixed = mixed_ranges(nest, "ranges")
    reduction_mixed = mixed_ranges(nest, "reduction_ranges")
    body = nest.regions[0].blocks[0]
    for op in body.operations:
        if len(op.operation.regions):
            raise TritonLoweringError(name, "ops with regions inside the loop nest are not supported", op)
    try:
        with fn.context, ir.Location.unknown():
            expand_welford(body, reduction_mixed)
    except PassFailure as failure:
        raise TritonLoweringError(name, failure.message) from None
    args = list(body.arguments)
    info = KernelInfo(
        name=name,
        fn=clone,
        scratch=scratch,
        arg_kinds=arg_kinds,
        arg_types=arg_types,
        prelude=prelude,
        nest=nest,
        ranges=ranges,
        reduction_ranges=reduction_ranges,
        ops=list(body.operations)[:-1],
        outer_args=args[: len(ranges)],
        reduction_args=args[len(ranges) :],
        mixed=mixed,
        reduction_mixed=reduction_mixed,
    )
    for i, t in enumerate(arg_types):
        if isinstance(t, ir.MemRefType):
            strides, params = buffer_strides(ir.MemRefType(t))
            info.strides[i] = [atom(Opaque(("stride", i, k), f"arg{i}_stride{k}")) if s is None else s for k, s in enumerate(strides)]
            info.stride_params[i] = params
    _analyze_levels(info)
    _analyze_indices(info, list(block.arguments))
    return info


def _analyze_levels(info: KernelInfo) -> None:
    """Per value: reduction-index dependence and availability level; per op, the passes it runs in."""
    rdep = {a: False for a in info.outer_args}
    rdep.update({a: True for a in info.reduction_args})
    level = {a: 0 for a in info.outer_args + info.reduction_args}
    users: dict = {}
    for op in info.ops:
        deps = operands_among(op, rdep)
        op_rdep = any(rdep[v] for v in deps)
        op_level = max((level[v] for v in deps), default=0)
        info.op_rdep[op] = op_rdep
        info.op_level[op] = op_level
        for v in deps:
            users.setdefault(v, []).append(op)
        if op.operation.name == "coil.reduce":
            info.reduce_loop[op] = op_level
            for r in op.results:
                rdep[r], level[r] = False, op_level + 1
        else:
            for r in op.results:
                rdep[r], level[r] = op_rdep, op_level
    for op in reversed(info.ops):
        if op in info.reduce_loop:
            info.loops_of[op] = {info.reduce_loop[op]}
        elif info.op_rdep[op]:
            if _writes_memory(op):
                info.loops_of[op] = {info.op_level[op]}
            else:
                needed = set()
                for r in op.results:
                    for user in users.get(r, ()):
                        needed |= info.loops_of.get(user, set())
                info.loops_of[op] = needed
    info.n_levels = max((k + 1 for s in info.loops_of.values() for k in s), default=0)
    info.rdep, info.level = rdep, level


# ---------------------------------------------------------------------------
# Index expressions

_DIVISIONS = ("arith.divsi", "arith.divui", "arith.floordivsi", "arith.ceildivsi", "arith.ceildivui")


def _index_expression(space: IndexSpace, op: ir.OpView, operands: list[Lin]) -> Lin | None:
    """The index expression `op` computes from its operands' expressions, or None if it has none."""
    name = op.operation.name
    if name == "arith.constant":
        return const(ir.IntegerAttr(op.attributes["value"]).value)
    if name == "affine.apply":
        amap = ir.AffineMapAttr(op.attributes["map"]).value
        if len(amap.results) != 1:
            return None
        return _affine_expression(space, amap.results[0], operands[: amap.n_dims], operands[amap.n_dims :])
    if name == "arith.addi":
        return space.add(*operands)
    if name == "arith.subi":
        return space.sub(*operands)
    if name == "arith.muli":
        return space.mul(*operands)
    lhs_lo = space.bounds(operands[0])[0] if operands else 0
    if name in ("arith.maxsi", "arith.minsi"):
        return space.minmax("max" if name == "arith.maxsi" else "min", *operands)
    if name in ("arith.maxui", "arith.minui"):
        if lhs_lo >= 0 and space.bounds(operands[1])[0] >= 0:
            return space.minmax("max" if name == "arith.maxui" else "min", *operands)
        return None
    if len(operands) == 2 and operands[1].is_const and operands[1].const > 0:
        d = operands[1].const
        if name == "arith.floordivsi" or (name in ("arith.divsi", "arith.divui") and lhs_lo >= 0):
            return space.floordiv(operands[0], d)
        if name in ("arith.ceildivsi", "arith.ceildivui") and lhs_lo >= 0:
            return space.floordiv(space.add(operands[0], const(d - 1)), d)
        if name in ("arith.remsi", "arith.remui") and lhs_lo >= 0:
            return space.mod(operands[0], d)
    return None


def _affine_expression(space: IndexSpace, expr: ir.AffineExpr, dims: list[Lin], symbols: list[Lin]) -> Lin | None:
    """An affine expression over operand expressions (affine floordiv/mod are floor semantics)."""
    if isinstance(expr, ir.AffineConstantExpr):
        return const(expr.value)
    if isinstance(expr, ir.AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, ir.AffineSymbolExpr):
        return symbols[expr.position]
    lhs = _affine_expression(space, expr.lhs, dims, symbols)
    rhs = _affine_expression(space, expr.rhs, dims, symbols)
    if lhs is None or rhs is None:
        return None
    if isinstance(expr, ir.AffineAddExpr):
        return space.add(lhs, rhs)
    if isinstance(expr, ir.AffineMulExpr):
        return space.mul(lhs, rhs)
    if not rhs.is_const:
        # Semi-affine: division by a symbol (a size, positive as affine maps require).
        if isinstance(expr, ir.AffineFloorDivExpr):
            return space.floordiv_by(lhs, rhs)
        if isinstance(expr, ir.AffineCeilDivExpr):
            return space.floordiv_by(space.add(space.sub(lhs, const(1)), rhs), rhs)
        if isinstance(expr, ir.AffineModExpr):
            return space.mod_by(lhs, rhs)
        return None
    if rhs.const <= 0:
        return None
    if isinstance(expr, ir.AffineFloorDivExpr):
        return space.floordiv(lhs, rhs.const)
    if isinstance(expr, ir.AffineCeilDivExpr):
        return space.floordiv(space.add(lhs, const(rhs.const - 1)), rhs.const)
    if isinstance(expr, ir.AffineModExpr):
        return space.mod(lhs, rhs.const)
    return None


def _dim_bounds(extent: int) -> tuple[int, int]:
    return (0, UNBOUNDED) if is_dynamic(extent) else (0, max(extent - 1, 0))


def _analyze_indices(info: KernelInfo, fn_args: list[ir.Value]) -> None:
    bounds = {n: _dim_bounds(e) for n, e in zip(info.dim_names(), info.ranges)}
    bounds.update({n: _dim_bounds(e) for n, e in zip(info.reduction_dim_names(), info.reduction_ranges)})
    space = IndexSpace(bounds)
    symbolic: dict = {}
    for i, a in enumerate(info.outer_args):
        symbolic[a] = atom(Var(f"d{i}"))
    for i, a in enumerate(info.reduction_args):
        symbolic[a] = atom(Var(f"r{i}"))
    for i, a in enumerate(fn_args):
        if isinstance(a.type, ir.IndexType):
            symbolic[a] = atom(Opaque(a, f"arg{i}"))
    opaque_count = 0
    for op in info.prelude + info.ops:
        if len(op.results) != 1 or not isinstance(op.results[0].type, ir.IndexType):
            continue
        operands = [symbolic.get(v) for v in op.operands]
        expr = None
        if all(e is not None for e in operands):
            expr = _index_expression(space, op, operands)
        if expr is None:
            opaque_count += 1
            expr = atom(Opaque(op.results[0], f"i{opaque_count}"))
        symbolic[op.results[0]] = expr
    info.space, info.symbolic = space, symbolic

    def extent(e) -> Lin:
        if isinstance(e, int):
            return const(e)
        if e not in symbolic:
            raise info.error("a dynamic range's size must be a kernel argument or computed before the loop nest")
        return symbolic[e]

    info.extents = [extent(e) for e in info.mixed]
    info.reduction_extents = [extent(e) for e in info.reduction_mixed]
    info.load_guards = {} if info.is_reduction else select_guards(info)
    index_args = [(("a", i),) for i, a in enumerate(fn_args) if isinstance(a.type, ir.IndexType)]
    arg_index = {a: i for i, a in enumerate(fn_args)}
    dims = info.dim_names() + info.reduction_dim_names()
    extents = info.ranges + info.reduction_ranges
    for op in info.ops:
        opname = op.operation.name
        if opname not in ("coil.load", "coil.store"):
            continue
        is_store = opname == "coil.store"
        buffer = op.operands[1] if is_store else op.operands[0]
        indices = list(op.operands)[2:] if is_store else list(op.operands)[1:]
        if buffer not in arg_index:
            raise info.error("loads and stores must address a kernel argument", op)
        if not isinstance(buffer.type, ir.MemRefType):
            raise info.error(f"cannot address a value of type {buffer.type}", op)
        if op.operation in info.load_guards:
            lins = info.guarded_index_lins[op.operation] = guarded_indices(info, op)
        else:
            lins = [symbolic[i] for i in indices]
        offset = access_offset(space, info.strides[arg_index[buffer]], lins)
        coefficients = linear_coefficients(offset, dims)
        contiguous = None
        if coefficients is not None:
            for d, name in enumerate(dims):
                if coefficients[name] == 1 and above_one(extents[d]):
                    contiguous = d
        info.accesses.append(Access(op, arg_index[buffer], offset, is_store, contiguous, _unit_stride_dim(offset, dims, extents)))
        _stride_candidates(info, arg_index[buffer], [symbolic[i] for i in indices])
    # Any size argument, too (a flatten's `d0 floordiv s1` row times a stride equal to s1).
    for key in [(i, k) for i, dims in info.stride_params.items() for k in dims]:
        found = info.stride_candidates.setdefault(key, [])
        found += [c for c in index_args if c not in found]


def _stride_candidates(info: KernelInfo, arg: int, indices: list[Lin]) -> None:
    """Records, for each open stride k of `arg`, the product of the extents of the
    loop dims indexing dims k+1.. (when each is a plain loop dim): the stride a
    row-major buffer of exactly the loop's shape has. The runtime checks the
    equality per call and, where it holds, the emitter uses the extents, so the
    offset merges into the flat index (see `IndexSpace._recombine_symbolic`).
    """
    positions = []
    for e in indices:
        name = e.terms[0][0].name if (not e.const and len(e.terms) == 1 and e.terms[0][1] == 1 and isinstance(e.terms[0][0], Var)) else None
        if name is None:
            positions.append(None)
        elif name.startswith("d"):
            positions.append(("d", int(name[1:])))
        else:
            positions.append(("r", int(name[1:])))
    for k in info.stride_params.get(arg, ()):
        trailing = positions[k + 1 :]
        if not trailing or any(p is None for p in trailing):
            continue
        found = info.stride_candidates.setdefault((arg, k), [])
        if tuple(trailing) not in found:
            found.append(tuple(trailing))


_GUARD_CASTS = (
    "arith.extf", "arith.truncf", "arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui",
    "arith.extsi", "arith.extui", "arith.trunci",
)


def _index_only(info: KernelInfo, v: ir.Value) -> bool:
    """Whether an i1 value is a comparison of loop indices (and constants), or a conjunction
    of such: no load feeds it, so a load masked by it waits on nothing."""
    if not isinstance(v, ir.OpResult):
        return False
    owner = v.owner
    name = owner.operation.name
    if name == "arith.constant":
        return True
    if name == "arith.cmpi":
        return all(
            isinstance(x.type, ir.IndexType)
            and x in info.symbolic
            # A kernel's size argument is opaque too; a loaded index is not allowed.
            and not any(isinstance(a, Opaque) and not isinstance(a.ident, ir.BlockArgument) for a in info.symbolic[x].atoms())
            for x in owner.operands
        )
    if name in ("arith.andi", "arith.ori", "arith.xori"):
        return all(_index_only(info, x) for x in owner.operands)
    return False


def select_guards(info: KernelInfo) -> dict:
    """Loads whose one use is, through casts, a value operand of an `arith.select` on loop
    indices, nested selects included: load -> [(condition, kept when true?), ...].

    The emitter masks such a load with those conditions (Inductor's masked loads of a
    cat's parts and a pad's source): a cat of three tensors, lowered as
    select(d < 512, a, select(d < 1024, b, c)) over clamped indices, then reads each
    element once instead of three times.
    """
    uses: dict = {}
    for op in info.ops:
        for v in op.operands:
            uses[v] = uses.get(v, 0) + 1
    selects = [op for op in info.ops if op.operation.name == "arith.select" and _index_only(info, op.operands[0])]
    kept_by: dict = {}  # a value used once, as a select's value operand -> (select, kept when true?)
    for select in selects:
        for position, when in ((1, True), (2, False)):
            v = select.operands[position]
            if uses.get(v) == 1:
                kept_by[v] = (select, when)

    def conditions(select) -> list:
        outer = kept_by.get(select.results[0])
        if outer is None:
            return []
        return [(outer[0].operands[0], outer[1])] + conditions(outer[0])

    guards: dict = {}
    for v, (select, when) in kept_by.items():
        while isinstance(v, ir.OpResult) and v.owner.operation.name in _GUARD_CASTS and uses.get(v.owner.operands[0]) == 1:
            v = v.owner.operands[0]
        if isinstance(v, ir.OpResult) and v.owner.operation.name == "coil.load":
            guards[v.owner.operation] = [(select.operands[0], when)] + conditions(select)
    return guards


def _narrow_bounds(info: KernelInfo, condition: ir.Value, holds: bool, bounds: dict) -> None:
    """Narrows `bounds` (loop dim -> [lo, hi]) by a comparison `d + k <op> c` that is
    known to hold (or not), and by both sides of a conjunction that holds."""
    owner = condition.owner
    name = owner.operation.name
    if name == "arith.andi" and holds:
        for x in owner.operands:
            _narrow_bounds(info, x, True, bounds)
        return
    if name != "arith.cmpi":
        return
    predicate = CMPI_PREDICATES[ir.IntegerAttr(owner.attributes["predicate"]).value]
    if not holds:
        predicate = {"slt": "sge", "sle": "sgt", "sgt": "sle", "sge": "slt"}.get(predicate)
    # e = lhs - rhs, and e < 0, e <= 0, e > 0 or e >= 0.
    e = info.space.sub(info.symbolic[owner.operands[0]], info.symbolic[owner.operands[1]])
    if predicate not in ("slt", "sle", "sgt", "sge") or len(e.terms) != 1:
        return
    (dim, coefficient), = e.terms
    if not isinstance(dim, Var) or coefficient not in (1, -1) or dim.name not in bounds:
        return
    # coefficient * dim + e.const in [lo, hi]
    lo, hi = {"slt": (-UNBOUNDED, -1), "sle": (-UNBOUNDED, 0), "sgt": (1, UNBOUNDED), "sge": (0, UNBOUNDED)}[predicate]
    lo, hi = lo - e.const, hi - e.const
    if coefficient == -1:
        lo, hi = -hi, -lo
    old_lo, old_hi = bounds[dim.name]
    bounds[dim.name] = (max(old_lo, lo), min(old_hi, hi))


def guarded_bounds(info: KernelInfo, guard: list) -> dict:
    """The loop dims' bounds where all of a guarded load's conditions hold."""
    bounds = dict(info.space.var_bounds)
    for condition, kept_when in guard:
        _narrow_bounds(info, condition, kept_when, bounds)
    return bounds


def guarded_indices(info: KernelInfo, load: ir.OpView) -> list[Lin]:
    """A guarded load's index expressions where its guard holds (`select_guards`):
    a clamp that only kept unselected lanes in bounds (a cat part's
    `min(max(d - start, 0), size - 1)`) folds away, and the offset is linear
    again where Triton can see it."""
    indices = list(load.operands)[1:]
    narrowed = IndexSpace(guarded_bounds(info, info.load_guards[load.operation]))
    return [narrowed.substitute(info.symbolic[i], {}) for i in indices]


def access_offset(space: IndexSpace, strides: list, indices: list[Lin]) -> Lin:
    """sum(index_k * stride_k), a stride an int or (symbolic) a Lin."""
    offset = const(0)
    for index, stride in zip(indices, strides):
        if isinstance(stride, int):
            if stride:
                offset = space.add(offset, space.scale(index, stride))
        else:
            offset = space.add(offset, space.mul(index, stride))
    return offset


def _unit_stride_dim(offset: Lin, dims: list[str], extents: list[int]) -> int | None:
    """The last dimension (extent > 1) that `offset` holds as a plain term of coefficient 1 and nowhere nested."""
    nested = set()
    for a, _ in offset.terms:
        if not isinstance(a, Var):
            nested |= {n.name for n in Lin(0, ((a, 1),)).atoms() if isinstance(n, Var)}
    found = None
    for d, name in enumerate(dims):
        if above_one(extents[d]) and name not in nested and offset.coefficient(Var(name)) == 1:
            found = d
    return found


def pointwise_tiling(info: KernelInfo) -> tuple[list[int], list[int]]:
    """(Y dims, X dims) of a pointwise kernel; Y is empty for 1-D tiling.

    X's innermost dimension is the one the stores are contiguous along; when a
    load is contiguous along another dimension (a transpose), that one becomes
    Y's innermost, so both walk memory in order within a [YBLOCK, XBLOCK] tile.
    """
    big = [d for d, e in enumerate(info.ranges) if above_one(e)]
    if not big:
        return [], list(range(len(info.ranges)))
    if info.is_dynamic:
        # 1-D only: a Y axis's program count could pass CUDA's 65535 at some size.
        return [], list(range(len(info.ranges)))
    stores = [a.contiguous_dim for a in info.accesses if a.is_store and a.contiguous_dim is not None]
    # A guarded load (a cat's part) counts where it runs along one dim with stride 1,
    # its other terms nonlinear: a transposed part ([b*h, dh, t] into a [b, t, h*dh]
    # cat) then gets a 2-D tile in which it reads rows of t.
    loads = [
        a.contiguous_dim if a.contiguous_dim is not None else a.unit_stride_dim
        for a in info.accesses
        if not a.is_store
        and (a.contiguous_dim is not None or (a.unit_stride_dim is not None and a.op.operation in info.load_guards))
    ]
    found = stores + loads
    if all(d == big[-1] for d in found):
        return [], big
    p = found[0]
    q = next((d for d in found if d != p), None)
    others = [d for d in big if d not in (p, q)]
    if q is None:
        return [], others + [p]
    return others + [q], [p]


def is_column_reduction(info: KernelInfo) -> bool:
    """Whether a reduction reads contiguously along its innermost output dim but not its reduction dim.

    Only loads that vary along that output dim vote: a LayerNorm weight
    gradient, `sum_r dy[r, x] * (x[r, x] - mean[r]) * rstd[r]`, reads mean and
    rstd along r, but as one value per row that every column of a program
    shares (a [RBLOCK, 1] load of the column tile), not as the rows the
    program streams."""
    if not info.is_reduction or not info.ranges:
        return False
    inner_out = max((d for d, e in enumerate(info.ranges) if above_one(e)), default=None)
    inner_red = max((d for d, e in enumerate(info.reduction_ranges) if above_one(e)), default=None)
    if inner_out is None or inner_red is None:
        return False
    inner_red += len(info.ranges)
    out_var = Var(f"d{inner_out}")
    loads = [a.unit_stride_dim for a in info.accesses if not a.is_store and out_var in a.offset.atoms()]
    return inner_out in loads and inner_red not in loads


# ---------------------------------------------------------------------------
# Online softmax


def _level_pass_ops(info: KernelInfo, level: int) -> list[ir.OpView]:
    """The ops a looped reduction runs in the pass over the reduction range for `level`."""
    return [
        op for op in info.ops if (info.reduce_loop.get(op) == level) or (op not in info.reduce_loop and level in info.loops_of.get(op, ()))
    ]


def _defining_op(v: ir.Value):
    return v.owner if isinstance(v, ir.OpResult) else None


def _name(op) -> str:
    return op.operation.name


def _attributes(op) -> dict:
    attrs = op.operation.attributes
    return {a.name: str(a.attr) for a in (attrs[i] for i in range(len(attrs)))}


def _same_value(a: ir.Value, b: ir.Value, loaded: set) -> bool:
    """Whether `a` and `b` are computed alike from the same arguments (so one tile serves both).

    Loads of a buffer that the kernel stores into are never the same value:
    a store between the two passes could change what the second reads.
    """
    if a == b:
        return True
    oa, ob = _defining_op(a), _defining_op(b)
    if oa is None or ob is None:
        return False
    name = _name(oa)
    if name != _name(ob) or name == "coil.reduce" or len(oa.operands) != len(ob.operands):
        return False
    if ir.OpResult(a).result_number != ir.OpResult(b).result_number or a.type != b.type:
        return False
    if len(oa.operation.regions) or len(ob.operation.regions):
        return False
    if _attributes(oa) != _attributes(ob):
        return False
    if name == "coil.load" and oa.operands[0] in loaded:
        return False
    return all(_same_value(x, y, loaded) for x, y in zip(oa.operands, ob.operands))


@dataclass
class OnlineSoftmax:
    """A `max` reduce of level k and a `sum` of exp(x - max) of level k+1 over the same x."""

    max_op: ir.OpView
    sum_op: ir.OpView


def _following_sums(info: KernelInfo, level: int) -> list | None:
    """The reduces of level k+1's pass when it stores nothing and each is a single `sum`, else None."""
    if level + 1 >= info.n_levels:
        return None
    sums = []
    for op in _level_pass_ops(info, level + 1):
        if op.operation.name == "coil.store":
            return None
        if op not in info.reduce_loop:
            continue
        if op.attributes["reduction_type"].value != "sum" or len(op.results) != 1:
            return None
        sums.append(op)
    return sums


def _reduce_of(info: KernelInfo, value: ir.Value, rtype: str, x: ir.Value):
    """The `rtype` reduce defining `value`, if it reduces a value computed as `x` is, else None."""
    op = _defining_op(value)
    if op is None or _name(op) != "coil.reduce" or op.attributes["reduction_type"].value != rtype:
        return None
    stored = {s.operands[1] for s in info.ops if s.operation.name == "coil.store"}
    return op if _same_value(x, op.operands[0], stored) else None


def _partner_reduce(info: KernelInfo, value: ir.Value, rtype: str, level: int, x: ir.Value):
    """The float32 `rtype` reduce of `level` defining `value`, over a value computed as `x` is, else None."""
    op = _reduce_of(info, value, rtype, x)
    if (
        op is None
        or info.reduce_loop.get(op) != level
        or not isinstance(op.operands[0].type, ir.F32Type)
        or info.level.get(x, level + 1) > level
    ):
        return None
    return op


def native_exp_suffices(info: KernelInfo, exp: ir.OpView) -> bool:
    """Whether Triton's native exp, ex2.approx(x log2 e), meets PyTorch's float32
    tolerances for `exp`, whose rounding of x log2 e costs up to 2.6e-6 relative
    for x beyond 44 (1.3e-6 from 22). It does for

    - exp(x - max(x)): the argument is at most 0 (softmax, log-sum-exp);
    - a sigmoid's 1 / (1 + exp(-x)): wherever exp is off by more than 1e-6,
      the sigmoid is below 3e-10 (atol 1e-5) or 1 + exp rounds it away.
    """
    sub = _defining_op(exp.operands[0])
    if sub is not None and _name(sub) == "arith.subf" and _reduce_of(info, sub.operands[1], "max", sub.operands[0]):
        return True
    return _only_sigmoid_uses(exp.results[0])


def _only_sigmoid_uses(e: ir.Value) -> bool:
    """Whether every use of `e` is a 1 + e whose every use is a 1 / (1 + e)."""
    uses = list(e.uses)
    if not uses:
        return False
    for use in uses:
        add = use.owner
        if add.name != "arith.addf" or _constant_value(add.operands[1 - use.operand_number]) != 1.0:
            return False
        divides = list(add.results[0].uses)
        if not divides or any(
            d.owner.name != "arith.divf" or d.operand_number != 1 or _constant_value(d.owner.operands[0]) != 1.0
            for d in divides
        ):
            return False
    return True


def online_softmax_pairs(info: KernelInfo, level: int) -> list[OnlineSoftmax] | None:
    """The level-(k+1) pass, if a looped reduction can fold it into level k's (online softmax).

    It qualifies when it stores nothing and each of its reduces is a float32
    `sum` of `exp(x - m)`, `m` a float32 `max` reduce of level k over a value
    computed as `x` is; its other ops only feed those sums. One pass then
    keeps per lane a running max m and a sum s rescaled when m grows:
    (m, s) -> (max(m, x), s * exp(m - m') + exp(x - m')).
    """
    sums = _following_sums(info, level)
    if not sums:
        return None
    pairs = []
    for op in sums:
        exp = _defining_op(op.operands[0])
        if exp is None or _name(exp) != "math.exp" or not isinstance(exp.results[0].type, ir.F32Type):
            return None
        sub = _defining_op(exp.operands[0])
        if sub is None or _name(sub) != "arith.subf":
            return None
        x, m = sub.operands
        max_op = _partner_reduce(info, m, "max", level, x)
        if max_op is None:
            return None
        pairs.append(OnlineSoftmax(max_op, op))
    return pairs


@dataclass
class OnlineVariance:
    """A float32 `sum` of x at level k (`total`) and a `sum` of (x - total / n)^2 at level k+1 (`m2`), n the
    reduction's static size: welford's two levels after `expand_welford`."""

    total_op: ir.OpView
    m2_op: ir.OpView


def _constant_value(v: ir.Value):
    op = _defining_op(v)
    if op is None or _name(op) != "arith.constant":
        return None
    attr = op.attributes["value"]
    return attr.value if isinstance(attr, ir.FloatAttr) else None


def online_variance_pairs(info: KernelInfo, level: int) -> list[OnlineVariance] | None:
    """The level-(k+1) pass, if a looped reduction can fold it into level k's (one-pass Welford).

    It qualifies when it stores nothing and each of its reduces is a float32
    `sum` of d * d, d = x - total / n, `total` a float32 `sum` reduce of
    level k over a value computed as `x` is and `n` the constant size of a
    static reduction range (so total / n is the mean and the pass sums the
    squared deviations from it). One pass then keeps per lane Welford's
    running (mean, m2), and the lanes are merged by Chan's formula: the
    column (or row) is read once instead of twice, and m2 is as exact as the
    two-pass form's.
    """
    sums = None if info.dynamic_reduction else _following_sums(info, level)
    if not sums:
        return None
    pairs = []
    for op in sums:
        square = _defining_op(op.operands[0])
        if square is None or _name(square) != "arith.mulf" or square.operands[0] != square.operands[1]:
            return None
        if not isinstance(square.results[0].type, ir.F32Type):
            return None
        sub = _defining_op(square.operands[0])
        if sub is None or _name(sub) != "arith.subf":
            return None
        x, mean = sub.operands
        div = _defining_op(mean)
        if div is None or _name(div) != "arith.divf" or _constant_value(div.operands[1]) != float(info.rnumel):
            return None
        total_op = _partner_reduce(info, div.operands[0], "sum", level, x)
        if total_op is None:
            return None
        pairs.append(OnlineVariance(total_op, op))
    return pairs


def folded_pairs(info: KernelInfo, level: int) -> list | None:
    """Level k+1's reduces a looped level-k pass computes too (online softmax or variance), or None."""
    return online_softmax_pairs(info, level) or online_variance_pairs(info, level)


def looped_passes(info: KernelInfo) -> int:
    """How many loops over the reduction range a looped reduction runs: one per level, less the folded ones."""
    passes, level = 0, 0
    while level < info.n_levels:
        passes += 1
        level += 2 if folded_pairs(info, level) else 1
    return passes


def row_reading_passes(info: KernelInfo) -> int:
    """How many of those loops load along the reduction range (read the row from memory).

    A level whose reduction takes only values computed from indices and
    per-row scalars reads nothing in its loop: cross-entropy's backward sums
    a one-hot row (the target's column against the reduction index) times the
    upstream gradient, then writes the gradient row from the logits row, one
    read of the row in two loops."""
    reading = set()
    for op in info.ops:
        if op.operation.name == "coil.load" and info.op_rdep[op]:
            reading |= info.loops_of.get(op, set())
    passes, level = 0, 0
    while level < info.n_levels:
        span = 2 if folded_pairs(info, level) else 1
        passes += any(k in reading for k in range(level, level + span))
        level += span
    return passes
