"""The host function -> readable Python source that runs the graph.

This is Inductor's `PythonWrapperCodegen` for coil: one Python statement per
host op. `coil.alloc` becomes `empty_strided`, `coil.launch` a call of the
compiled kernel, `coil.extern` a call of the ATen overload, a host
`coil.view` an `as_strided` view, and `coil.dealloc` a `del`. The source is
kept (and written to the debug directory) so a user can read exactly what a
compiled graph does.

Symbolic sizes: each `index` argument of the host function is bound to a
Python int at the top of the program (`s77 = arg0`, or `s77 = arg2.size(0)`
per `symbol_args`), the arith ops on `index` values become Python int
expressions, and buffers with `?` dims are allocated from those ints; kernels
receive index values as ints.

Output pool (CPU inference graphs): a large buffer the graph returns is
taken from the graph's `OutputPool` instead of `empty_strided`, so that a
call reuses the memory of an earlier call's output once nothing holds it.
"""

from __future__ import annotations

import linecache
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from coil.dialects import region_args
from coil.dialects.ops import OperandRefAttr, TorchObjectAttr, is_dynamic, mixed_shape, view_sizes, view_symbols
from coil.dialects.types import byte_width, dtype_name_for_element_type, normalized_strides, strides_and_offset
from coil.mlir import func, ir
from coil.passes.index_math import python_expression
from coil.passes.walk import memory_root, storage_root


@dataclass
class OutputBinding:
    """How the compiled callable produces FX output i."""

    kind: str  # "result" (host result index), "input" (placeholder index) or "value"
    index: int = -1
    value: object = None


def _python_literal(attr: ir.Attribute, operands: Sequence[str]) -> str:
    if isinstance(attr, OperandRefAttr):
        return operands[ir.IntegerAttr(attr.index).value]
    if isinstance(attr, TorchObjectAttr):
        text = ir.StringAttr(attr.repr).value
        if text.startswith("torch."):
            return text
        return f"torch.device({text!r})"
    if isinstance(attr, ir.UnitAttr):
        return "None"
    if isinstance(attr, ir.BoolAttr):
        return "True" if attr.value else "False"
    if isinstance(attr, ir.IntegerAttr):
        return str(attr.value)
    if isinstance(attr, ir.FloatAttr):
        value = attr.value
        if value != value or value in (float("inf"), float("-inf")):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(attr, ir.StringAttr):
        return repr(attr.value)
    if isinstance(attr, ir.ArrayAttr):
        return "[" + ", ".join(_python_literal(a, operands) for a in attr) + "]"
    raise ValueError(f"cannot express extern argument {attr} in Python")


def _kernel_callable_name(kernel: str) -> str:
    """`aten::mm.default` -> `torch.ops.aten.mm.default`."""
    namespace, _, rest = kernel.partition("::")
    return f"torch.ops.{namespace}.{rest}"


def _dtype_expr(t: ir.MemRefType) -> str:
    return f"torch.{dtype_name_for_element_type(t.element_type)}"


# Index ops of the host function as Python: the binary ones as templates on
# the operands' names (each result gets its own variable, so operands are atoms).
_INDEX_BINARY = {
    "arith.addi": "{a} + {b}",
    "arith.subi": "{a} - {b}",
    "arith.muli": "{a} * {b}",
    "arith.floordivsi": "{a} // {b}",
    "arith.ceildivsi": "-(-{a} // {b})",
    "arith.divsi": "trunc_div({a}, {b})",
    "arith.remsi": "trunc_rem({a}, {b})",
    "arith.divui": "{a} // {b}",
    "arith.remui": "{a} % {b}",
    "arith.maxsi": "max({a}, {b})",
    "arith.minsi": "min({a}, {b})",
}
_INDEX_CASTS = ("arith.index_cast", "arith.index_castui")


def _is_index(value: ir.Value) -> bool:
    return isinstance(value.type, ir.IndexType)


def _tuple(items: Sequence[str]) -> str:
    """A Python tuple display of expression strings."""
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def _returned_allocs(block: ir.Block) -> list[ir.Value]:
    """The `coil.alloc` results whose memory the host function returns, in program order.

    A returned value is followed through host views and through the buffers
    the memory plan reused (`coil.reuse`) to the allocation it lives in.
    """
    ret = next(op for op in block.operations if op.name == "func.return")
    allocs = {memory_root(value) for value in ret.operands}
    return [op.results[0] for op in block.operations if op.name == "coil.alloc" and op.results[0] in allocs]


def _span_bytes(size: Sequence[int], stride: Sequence[int], itemsize: int) -> int:
    """Bytes spanned by a buffer of these sizes and strides (0 if it has no element)."""
    if 0 in size:
        return 0
    return (1 + sum((n - 1) * st for n, st in zip(size, stride))) * itemsize


def _product(factors: Sequence[str]) -> str:
    """The product of int expressions, constants folded: ["s0", "4", "2"] -> "s0 * 8"."""
    constant, names = 1, []
    for f in factors:
        try:
            constant *= int(f)
        except ValueError:
            names.append(f)
    if constant == 0:
        return "0"
    if constant != 1 or not names:
        names.append(str(constant))
    return " * ".join(names)


class HostCodegen:
    """Writes the Python source of one host function."""

    def __init__(
        self,
        host: func.FuncOp,
        device: str,
        placeholders: int,
        tensor_args: dict[int, int],
        outputs: list[OutputBinding],
        symbol_args: dict[int, tuple] | None = None,
        pool_outputs: bool = False,
    ):
        self.host = host
        self.device = device
        self.placeholders = placeholders
        self.tensor_args = tensor_args  # host argument index -> placeholder index
        self.outputs = outputs
        # host `index` argument index -> ("input", placeholder) | ("size"|"stride", placeholder, dim)
        self.symbol_args = symbol_args or {}
        self.symbol_names: dict[str, str] = {}  # Dynamo's symbol name -> its Python variable
        self.index_count = 0
        self.names: dict[ir.Value, str] = {}
        self.reused_from: dict[ir.Value, ir.Value] = {}
        # Python views made of a buffer (by its storage root): a view keeps the
        # storage alive, so it is deleted together with its root.
        self.views: dict[ir.Value, list[str]] = {}
        self.lines: list[str] = []
        self.buffer_count = 0
        self.launches = 0
        self.externs = 0
        # Allocations whose memory the graph returns -> their OutputPool slot
        # (filled by generate() when `pool_outputs`).
        self.pool_outputs = pool_outputs and device == "cpu"
        self.pool_slots: dict[ir.Value, int] = {}
        # Buffers whose Python tensor is another buffer's (a reuse only kernels and
        # views read): the storage is right, the sizes and strides are not.
        self.loose: set[ir.Value] = set()

    def _name(self, value: ir.Value) -> str:
        return self.names[value]

    def _new_buffer(self, value: ir.Value) -> str:
        name = f"buf{self.buffer_count}"
        self.buffer_count += 1
        self.names[value] = name
        return name


    def _symbol_name(self, host_index: int, arg: ir.Value) -> str:
        """The symbol's own name (`s77`) where it is a fresh identifier, else `sym<i>`."""
        name = None
        attrs = self.host.attributes["arg_attrs"] if "arg_attrs" in self.host.attributes else None
        if attrs is not None and host_index < len(attrs):
            entry = ir.DictAttr(attrs[host_index])
            if "coil.symbol" in entry:
                name = ir.StringAttr(entry["coil.symbol"]).value
        taken = set(self.names.values())
        # Dynamo's symbols look like s77 or u3; anything else could shadow a name of the program.
        symbol = name
        if not name or not re.fullmatch(r"[a-z]{1,2}\d+", name) or name in taken:
            name = f"sym{host_index}"
        if symbol:
            self.symbol_names[symbol] = name
        return name

    def _same_layout_as_root(self, view) -> bool:
        """Whether a static view has its storage root's own sizes and strides (its
        Python tensor would equal the root's), and is not a returned value."""
        root = storage_root(view.operands[0])
        t, root_t = view.results[0].type, root.type
        if root in self.loose or not isinstance(root_t, ir.MemRefType):
            return False
        # A `?` size or stride of the root never equals the view's static ones.
        if list(t.shape) != list(root_t.shape) or strides_and_offset(t) != strides_and_offset(root_t):
            return False
        return all(use.owner.name != "func.return" for use in view.results[0].uses)

    def _new_index(self, value: ir.Value, expr: str) -> None:
        name = f"size{self.index_count}"
        self.index_count += 1
        self.names[value] = name
        self.emit(f"{name} = {expr}")

    def _sizes(self, value: ir.Value) -> list[str]:
        """The sizes of buffer `value` as Python expressions (names of index values for `?` dims)."""
        shape = mixed_shape(value)
        sizes = []
        for k, size in enumerate(shape):
            if isinstance(size, int):
                sizes.append(str(size))
            elif size is None:
                raise ValueError(f"host codegen cannot name size {k} of {value.type}")
            else:
                sizes.append(self._name(size))
        return sizes

    def _strides(self, t: ir.MemRefType, sizes: list[str]) -> list[str]:
        """Strides of a buffer we allocate: the layout's, or row-major from `sizes` (runtime ints)."""
        if isinstance(t.layout, ir.StridedLayoutAttr):
            strides, _ = t.get_strides_and_offset()
            if any(is_dynamic(st) for st in strides):
                raise ValueError(f"host codegen cannot allocate a buffer with symbolic strides: {t}")
            return [str(st) for st in strides]
        return [_product(sizes[k + 1 :]) for k in range(len(sizes))]

    def _emit_index_op(self, op) -> bool:
        """Emits an op computing an `index` value; False if `op` is not one."""
        name = op.name
        results = list(op.results)
        if len(results) != 1 or not _is_index(results[0]):
            return False
        result = results[0]
        if name == "arith.constant":
            self.names[result] = str(ir.IntegerAttr(op.attributes["value"]).value)
        elif name in _INDEX_BINARY:
            a, b = (self._name(v) for v in op.operands)
            self._new_index(result, _INDEX_BINARY[name].format(a=a, b=b))
        elif name in _INDEX_CASTS:
            self.names[result] = self._name(op.operands[0])
        elif name == "affine.apply":
            amap = op.attributes["map"].value
            operands = [self._name(v) for v in op.operands]
            dims, symbols = operands[: amap.n_dims], operands[amap.n_dims :]
            self._new_index(result, python_expression(amap.results[0], dims, symbols))
        else:
            return False
        return True

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def generate(self) -> str:
        block = self.host.regions[0].blocks[0]
        placeholder_names = ["_"] * self.placeholders
        symbols = []
        for host_index, arg in enumerate(block.arguments):
            if host_index in self.tensor_args:
                continue
            symbols.append((host_index, arg))
        for host_index, arg in enumerate(block.arguments):
            if host_index not in self.tensor_args:
                continue
            placeholder = self.tensor_args[host_index]
            name = f"arg{placeholder}"
            self.names[arg] = name
            placeholder_names[placeholder] = name
        bindings = []
        for host_index, arg in symbols:
            if host_index not in self.symbol_args:
                raise ValueError(f"host argument {host_index} ({arg.type}) is neither a tensor nor a bound symbol")
            source = self.symbol_args[host_index]
            name = self._symbol_name(host_index, arg)
            self.names[arg] = name
            kind, placeholder = source[0], source[1]
            if kind == "input":
                placeholder_names[placeholder] = f"arg{placeholder}"
                bindings.append(f"{name} = arg{placeholder}")
            elif kind in ("size", "stride"):
                bindings.append(f"{name} = arg{placeholder}.{kind}({source[2]})")
            else:
                raise ValueError(f"unknown source {source!r} of host argument {host_index}")
        header = ["def call(args):"]
        if self.placeholders:
            header.append("    " + ", ".join(placeholder_names) + ", = args")
            header.append("    args.clear()  # the caller's list no longer keeps the inputs alive")
        header += ["    " + line for line in bindings]
        releases = self._argument_releases(block)
        if self.pool_outputs:
            self.pool_slots = {alloc: slot for slot, alloc in enumerate(_returned_allocs(block))}
        for position, op in enumerate(block.operations):
            self.emit_op(op)
            if position in releases:
                names = []
                for arg in releases[position]:
                    names += [self._name(arg)] + self.views.pop(arg, [])
                self.emit(f"del {', '.join(names)}")
        counts = []
        if self.launches:
            counts.append(f"kernel_launches={self.launches}")
        if self.externs:
            counts.append(f"extern_calls={self.externs}")
        if counts:
            self.lines.insert(len(self.lines) - 1, f"    count_run({', '.join(counts)})")
        return "\n".join(header + self.lines) + "\n"

    def _argument_releases(self, block: ir.Block) -> dict[int, list[ir.Value]]:
        """Position of the last op using each tensor argument (or a view of it) -> those arguments.

        The host drops its references to an argument there, as it does for the
        buffers it owns. Inputs a caller still holds (parameters, user
        tensors) stay alive; the activations the forward saved for the
        backward, whose only reference is the host's once `args.clear()` ran,
        are freed as the backward goes, as under Inductor.
        """
        tensors = {block.arguments[i] for i in self.tensor_args}
        returned = {f"arg{out.index}" for out in self.outputs if out.kind == "input"}
        last_use: dict[ir.Value, int] = {}
        for position, op in enumerate(block.operations):
            if op.name == "func.return":
                returned |= {self._name(storage_root(v)) for v in op.operands if storage_root(v) in tensors}
                continue
            values = region_args(op) if op.name in ("coil.launch", "coil.extern") else list(op.operands)
            for v in values:
                root = storage_root(v)
                if root in tensors:
                    last_use[root] = position
        releases: dict[int, list[ir.Value]] = {}
        for arg, position in last_use.items():
            # A donated argument the plan frees (`coil.dealloc`) or hands on (`coil.reuse`)
            # is deleted where that buffer is.
            planned = any(u.owner.name in ("coil.dealloc", "coil.reuse") for u in arg.uses)
            if self._name(arg) not in returned and not planned:
                releases.setdefault(position, []).append(arg)
        for args in releases.values():
            args.sort(key=lambda a: a.arg_number)
        return releases

    def emit_op(self, op) -> None:
        name = op.name
        if self._emit_index_op(op):
            return
        if name == "coil.alloc" and not op.results[0].type.has_static_shape:
            t = op.results[0].type
            sizes = self._sizes(op.results[0])
            strides = self._strides(t, sizes)
            self._emit_alloc(op.results[0], _tuple(sizes), _tuple(strides), None)
        elif name == "coil.alloc":
            t = op.results[0].type
            strides, _ = strides_and_offset(t)
            nbytes = _span_bytes(t.shape, strides, byte_width(t.element_type))
            self._emit_alloc(op.results[0], str(tuple(t.shape)), str(tuple(normalized_strides(t.shape, strides))), nbytes)
        elif name == "coil.launch":
            args = ", ".join(self._name(v) for v in region_args(op))
            self.emit(f"{op.attributes['kernel'].value}({args})")
            self.launches += 1
        elif name == "coil.extern":
            operands = [self._name(v) for v in region_args(op)]
            call_args = [_python_literal(a, operands) for a in op.attributes["args"]]
            call_args += [f"{n.name}={_python_literal(n.attr, operands)}" for n in op.attributes["kwargs"]]
            call = f"{_kernel_callable_name(op.attributes['kernel'].value)}({', '.join(call_args)})"
            result = op.results[0]
            self.externs += 1
            # Where the op's outputs include None, result k is element positions[k] of the call's tuple.
            positions = None
            if "coil.result_positions" in op.attributes:
                positions = [a.value for a in op.attributes["coil.result_positions"]]
            if isinstance(result.type, ir.TupleType):
                getters = sorted((u.owner for u in result.uses), key=lambda g: g.attributes["index"].value)
                self.names[result] = f"extern{self.externs}"
                self.emit(f"extern{self.externs} = {call}")
                for g in getters:
                    buf = self._new_buffer(g.results[0])
                    index = g.attributes["index"].value
                    element = f"extern{self.externs}[{positions[index] if positions else index}]"
                    self.emit(f"{buf} = {self._layout_checked(element, g.results[0].type)}")
                self.emit(f"del extern{self.externs}")
            else:
                buf = self._new_buffer(result)
                if positions:
                    call = f"{call}[{positions[0]}]"
                line = f"{buf} = {self._layout_checked(call, result.type)}"
                if "coil.inplace" in op.attributes:
                    # The in-place form returns its first argument: freeing the
                    # result frees that name too (coil-plan-memory).
                    self.reused_from[result] = region_args(op)[0]
                    line += "  # in place"
                self.emit(line)
        elif name == "coil.get":
            pass  # unpacked right after its extern call
        elif name == "coil.view" and _has_dynamic_layout(op.results[0].type):
            self._emit_dynamic_view(op)
        elif name == "coil.view":
            t = op.results[0].type
            strides, offset = strides_and_offset(t)
            root = self._name(storage_root(op.operands[0]))
            if offset == 0 and (not _needs_object(op.results[0]) or self._same_layout_as_root(op)):
                # A kernel built for a static layout takes only the data pointer,
                # which is the root's, and a static view of this one is made from
                # the root too: no view object to make on every call. Nor for a
                # view with the root's own sizes and strides (not returned: an
                # output is a tensor of its own).
                self.names[op.results[0]] = root
                return
            buf = self._new_buffer(op.results[0])
            self.views.setdefault(storage_root(op.operands[0]), []).append(buf)
            self.emit(f"{buf} = reinterpret({root}, {tuple(t.shape)}, {tuple(strides)}, {offset})")
        elif name == "coil.dealloc":
            # Free the buffer and every buffer whose storage it took over.
            names, value = [], op.operands[0]
            while value is not None:
                names += [self._name(value)] + self.views.pop(value, [])
                value = self.reused_from.pop(value, None)
            self.emit(f"del {', '.join(names)}")
        elif name == "coil.reuse" and not op.results[0].type.has_static_shape:
            t = op.results[0].type
            sizes = self._sizes(op.results[0])
            strides = self._strides(t, sizes)
            self.reused_from[op.results[0]] = op.operands[0]
            source = self._name(op.operands[0])
            buf = self._new_buffer(op.results[0])
            how = "in place" if "coil.inplace" in op.attributes else "reuse"
            self.emit(f"{buf} = reinterpret({source}, {_tuple(sizes)}, {_tuple(strides)}, 0)  # {how}")
        elif name == "coil.reuse":
            buf = self._new_buffer(op.results[0])
            t = op.results[0].type
            strides, _ = strides_and_offset(t)
            self.reused_from[op.results[0]] = op.operands[0]
            how = "in place" if "coil.inplace" in op.attributes else "reuse"
            source = self._name(op.operands[0])
            if not _needs_object(op.results[0]):
                # Kernels take the storage's data pointer alone (the same element type
                # at offset 0): the old buffer's tensor serves under the new name.
                self.emit(f"{buf} = {source}  # {how}")
                self.loose.add(op.results[0])
            else:
                self.emit(f"{buf} = reinterpret({source}, {tuple(t.shape)}, {tuple(strides)}, 0)  # {how}")
        elif name == "func.return":
            results = [self._name(v) for v in op.operands]
            items = []
            for out in self.outputs:
                if out.kind == "result":
                    items.append(results[out.index])
                elif out.kind == "input":
                    items.append(f"arg{out.index}")
                else:
                    symbolic = self._symbolic_output(out.value)
                    items.append(symbolic if symbolic is not None else f"OUTPUT_CONSTANTS[{len(items)}]")
            self.emit("return [" + ", ".join(items) + "]")
        else:
            raise ValueError(f"host codegen cannot emit '{name}'")

    def _emit_alloc(self, value: ir.Value, sizes: str, strides: str, nbytes: int | None) -> None:
        """`empty_strided`, or the output pool for a returned buffer that may be large (`nbytes` None: symbolic)."""
        buf = self._new_buffer(value)
        t = value.type
        slot = self.pool_slots.get(value)
        if slot is not None and (nbytes is None or nbytes >= POOLED_OUTPUT_MIN_BYTES):
            self.emit(f"{buf} = output_pool.take({slot}, {sizes}, {strides}, {_dtype_expr(t)})")
        else:
            self.emit(f"{buf} = empty_strided({sizes}, {strides}, dtype={_dtype_expr(t)}, device={self.device!r})")

    def _symbolic_output(self, value) -> str | None:
        """A SymInt output (a size AOTAutograd saves for the backward) as a Python
        expression on the bound symbols; None if it is no SymInt or uses an unbound symbol.

        The traced value is a SymInt of the compile-time ShapeEnv: returning it as
        a constant would hand the backward a symbol instead of this call's size.
        """
        if not isinstance(value, torch.SymInt):
            return None
        import sympy
        from torch.utils._sympy.printers import PythonPrinter

        expr = value.node.expr
        bound = self.symbol_names
        if any(str(sym) not in bound for sym in expr.free_symbols):
            return None
        renamed = expr.xreplace({sym: sympy.Symbol(bound[str(sym)], integer=True) for sym in expr.free_symbols})
        return f"({PythonPrinter().doprint(renamed)})"

    def _layout_checked(self, expr: str, t: ir.MemRefType) -> str:
        if _has_dynamic_layout(t):
            if not isinstance(t.layout, ir.StridedLayoutAttr):
                return f"ensure_contiguous({expr})"
            strides, _ = t.get_strides_and_offset()
            expected = tuple(None if is_dynamic(st) else st for st in strides)
            return f"ensure_strides({expr}, {expected})"
        strides, _ = strides_and_offset(t)
        return f"ensure_layout({expr}, {tuple(normalized_strides(t.shape, strides))})"

    def _emit_dynamic_view(self, op) -> None:
        """A host view whose sizes or strides are symbolic: its strides and offset are
        computed at run time by evaluating the (linear) index map on unit vectors
        against the source's actual strides; each `?` size must be that of a source
        dimension the map passes through unchanged (a permutation)."""
        t = op.results[0].type
        amap = op.attributes["map"].value
        source = self._name(op.operands[0])
        symbols = [self._name(v) for v in view_symbols(op)]
        listed = iter([self._name(v) for v in view_sizes(op)])
        dims = [f"d{k}" for k in range(amap.n_dims)]
        sizes = []
        for k, size in enumerate(t.shape):
            if not is_dynamic(size):
                sizes.append(str(size))
                continue
            value = next(listed, None)
            if value is not None:
                sizes.append(value)
                continue
            position = next(
                (j for j, e in enumerate(amap.results) if isinstance(e, ir.AffineDimExpr) and e.position == k), None
            )
            if position is None:
                raise ValueError(
                    f"host codegen cannot size dimension {k} of view {t}: coil.view does not list its result sizes"
                )
            sizes.append(f"{source}.size({position})")
        results = ", ".join(python_expression(e, dims, symbols) for e in amap.results)
        index_map = f"lambda {', '.join(dims)}: ({results},)" if dims else f"lambda: ({results},)"
        buf = self._new_buffer(op.results[0])
        self.views.setdefault(storage_root(op.operands[0]), []).append(buf)
        self.emit(f"{buf} = linear_view({source}, {_tuple(sizes)}, {index_map})")


# -- runtime helpers the generated code calls -----------------------------------------


# torch's C++ fast path for a view by sizes, strides and an offset from the base's
# own (what Inductor's wrappers call): about 1.4 us against 4 for `reinterpret`.
_fast_reinterpret = getattr(getattr(torch._C, "_dynamo", None) and torch._C._dynamo.guards, "_reinterpret_tensor", None)


def _needs_object(value: ir.Value) -> bool:
    """Whether the host needs a tensor of `value`'s own sizes and strides: an extern
    call's argument, a returned value, the source of a view computed from its
    strides (symbolic layout) or of a reuse. Kernel launches take the data
    pointer alone, static views are made from the storage root, and `del`
    only drops the name."""
    for use in value.uses:
        user = use.owner
        if user.name in ("coil.launch", "coil.dealloc"):
            continue
        if user.name == "coil.view" and not _has_dynamic_layout(user.results[0].type):
            continue
        return True
    return False


#: Returned CPU buffers of at least this many bytes come from the graph's OutputPool.
#: Smaller ones stay with malloc, whose bins already reuse freed memory in LIFO order.
POOLED_OUTPUT_MIN_BYTES = 1 << 17

_storage_use_count = torch._C._storage_Use_Count


def _python_refs(items: list, i: int) -> int:
    return sys.getrefcount(items[i])


# What _python_refs reads for an object only a list holds (the interpreter's own count, measured).
_UNSHARED_REFS = _python_refs([object()], 0)


class OutputPool:
    """The memory of a CPU inference graph's earlier outputs, reused once nothing holds it.

    Why: torch's CPU allocator is malloc, and glibc may give a large freed
    block back to the OS (trimming the top of the heap) and fault it in
    again, zeroed, at the next call. Whether it does depends on the heap's
    layout, so on everything the process allocated before. Measured on a
    LayerNorm over [2048, 1024] float32 (one thread): 1.8 ms per compiled
    call with 2600 page faults per 50 calls, against 1.0 ms with the
    pool; eager pays the same faults (2.0 ms). A process whose heap never
    trims sees the same time either way.

    Per returned buffer ("slot") the pool keeps the storages of its last
    `KEPT_PER_SLOT` outputs, and hands one back only when nothing but the
    pool reaches it: no tensor, view, NumPy array or autograd graph (torch's
    count of the storage's references is 1) and no Python reference to the
    storage object (`t.untyped_storage()` returns the pool's own object, so
    its Python reference count must be the pool's alone). The reuse is then
    unobservable. Two per slot let `x = f(x)` alternate between two buffers.

    The cost: up to `KEPT_PER_SLOT` dead outputs per slot stay allocated
    while the graph lives. Only inference graphs use it (a training
    forward's outputs are the activations the backward frees as it goes);
    `coil.config.cpu_output_pool = False` turns it off.
    """

    KEPT_PER_SLOT = 2

    def __init__(self, slots: int):
        self._kept: list[list[torch.UntypedStorage]] = [[] for _ in range(slots)]
        self._lock = threading.Lock()  # a storage found free is claimed by one caller

    def take(self, slot: int, size, stride, dtype: torch.dtype) -> torch.Tensor:
        """A CPU tensor of these sizes and strides: reused memory if a kept storage is free."""
        nbytes = _span_bytes(size, stride, dtype.itemsize)
        if nbytes < POOLED_OUTPUT_MIN_BYTES:
            return torch.empty_strided(size, stride, dtype=dtype)
        kept = self._kept[slot]
        with self._lock:
            # Indexed, not iterated: a loop variable would be one more reference.
            for i in range(len(kept)):
                if (
                    _storage_use_count(kept[i]._cdata) == 1
                    and _python_refs(kept, i) == _UNSHARED_REFS
                    and kept[i].nbytes() >= nbytes
                ):
                    return torch.empty(0, dtype=dtype).set_(kept[i], 0, size, stride)
            out = torch.empty_strided(size, stride, dtype=dtype)
            if len(kept) == self.KEPT_PER_SLOT:
                kept.pop(0)
            kept.append(out.untyped_storage())
            return out


def reinterpret(root: torch.Tensor, size, stride, offset: int) -> torch.Tensor:
    """A view of `root`'s storage; `offset` counts from root's first element."""
    return torch.as_strided(root, size, stride, root.storage_offset() + offset)


def _has_dynamic_layout(t: ir.Type) -> bool:
    if not isinstance(t, ir.MemRefType) or not t.has_static_shape:
        return isinstance(t, ir.MemRefType)
    if not isinstance(t.layout, ir.StridedLayoutAttr):
        return False
    strides, offset = t.get_strides_and_offset()
    return is_dynamic(offset) or any(is_dynamic(st) for st in strides)


def trunc_div(a: int, b: int) -> int:
    """arith.divsi: the quotient rounded toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def trunc_rem(a: int, b: int) -> int:
    """arith.remsi: the remainder with the dividend's sign."""
    return a - b * trunc_div(a, b)


def linear_view(source: torch.Tensor, size, index_map) -> torch.Tensor:
    """The view `result[idx] = source[index_map(*idx)]` for a linear map, as as_strided."""
    rank = len(size)
    source_strides = source.stride()

    def element(idx) -> int:
        return sum(i * st for i, st in zip(index_map(*idx), source_strides))

    origin = element([0] * rank)
    strides = [element([1 if j == k else 0 for j in range(rank)]) - origin for k in range(rank)]
    return torch.as_strided(source, size, strides, source.storage_offset() + origin)


def ensure_contiguous(t: torch.Tensor) -> torch.Tensor:
    """`t` itself if row-major (size-1 dims aside), else a row-major copy."""
    return t if t.is_contiguous() else t.contiguous()


def ensure_strides(t: torch.Tensor, strides) -> torch.Tensor:
    """`t` if its strides match the static ones (None: any), else a copy with those
    strides and row-major ones elsewhere."""
    if all(e is None or size <= 1 or s == e for size, s, e in zip(t.shape, t.stride(), strides)):
        return t
    contiguous, running = [], 1
    for size in reversed(t.shape):
        contiguous.insert(0, running)
        running *= max(size, 1)
    wanted = [c if e is None else e for c, e in zip(contiguous, strides)]
    out = torch.empty_strided(t.shape, wanted, dtype=t.dtype, device=t.device)
    out.copy_(t)
    return out


def ensure_layout(t: torch.Tensor, strides) -> torch.Tensor:
    """`t` itself if it has the strides the kernels were built for, else a copy that does."""
    if t.stride() == strides or tuple(normalized_strides(t.shape, t.stride())) == strides:
        return t
    out = torch.empty_strided(t.shape, strides, dtype=t.dtype, device=t.device)
    out.copy_(t)
    return out


def build_host_program(source: str, kernels: dict, filename: str, output_constants: list, pool_slots: int = 0) -> object:
    """Executes the generated source; returns its `call(args)`.

    `pool_slots`: how many returned buffers the source takes from its `output_pool`.
    """
    from coil import metrics

    def count_run(kernel_launches: int = 0, extern_calls: int = 0) -> None:
        if kernel_launches:
            metrics.increment("kernel_launches", kernel_launches)
        if extern_calls:
            metrics.increment("extern_calls", extern_calls)

    namespace = {
        "torch": torch,
        "empty_strided": torch.empty_strided,
        "reinterpret": _fast_reinterpret or reinterpret,
        "ensure_layout": ensure_layout,
        "ensure_contiguous": ensure_contiguous,
        "ensure_strides": ensure_strides,
        "linear_view": linear_view,
        "trunc_div": trunc_div,
        "trunc_rem": trunc_rem,
        "count_run": count_run,
        "OUTPUT_CONSTANTS": output_constants,
        "output_pool": OutputPool(pool_slots),
    }
    # A GPU kernel's `launcher` is a generated function that launches it in one C call.
    namespace.update({name: getattr(kernel, "launcher", kernel) for name, kernel in kernels.items()})
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace["call"]
