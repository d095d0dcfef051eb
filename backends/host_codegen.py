"""The host function -> readable Python source that runs the graph.

This is Inductor's `PythonWrapperCodegen` for coil: one Python statement per
host op. `coil.alloc` becomes `empty_strided`, `coil.launch` a call of the
compiled kernel, `coil.extern` a call of the ATen overload, a host
`coil.view` an `as_strided` view, and `coil.dealloc` a `del`. The source is
kept (and written to the debug directory) so a user can read exactly what a
compiled graph does.
"""

from __future__ import annotations

import linecache
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from coil.dialects import region_args
from coil.dialects.ops import OperandRefAttr, TorchObjectAttr
from coil.dialects.types import dtype_name_for_element_type, normalized_strides, strides_and_offset
from coil.mlir import func, ir
from coil.passes.walk import storage_root


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


class HostCodegen:
    """Writes the Python source of one host function."""

    def __init__(self, host: func.FuncOp, device: str, placeholders: int, tensor_args: dict[int, int], outputs: list[OutputBinding]):
        self.host = host
        self.device = device
        self.placeholders = placeholders
        self.tensor_args = tensor_args  # host argument index -> placeholder index
        self.outputs = outputs
        self.names: dict[ir.Value, str] = {}
        self.reused_from: dict[ir.Value, ir.Value] = {}
        self.lines: list[str] = []
        self.buffer_count = 0
        self.launches = 0
        self.externs = 0

    def _name(self, value: ir.Value) -> str:
        return self.names[value]

    def _new_buffer(self, value: ir.Value) -> str:
        name = f"buf{self.buffer_count}"
        self.buffer_count += 1
        self.names[value] = name
        return name


    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def generate(self) -> str:
        block = self.host.regions[0].blocks[0]
        placeholder_names = ["_"] * self.placeholders
        for host_index, arg in enumerate(block.arguments):
            placeholder = self.tensor_args[host_index]
            name = f"arg{placeholder}"
            self.names[arg] = name
            placeholder_names[placeholder] = name
        header = ["def call(args):"]
        if self.placeholders:
            header.append("    " + ", ".join(placeholder_names) + ", = args")
            header.append("    args.clear()  # the caller's list no longer keeps the inputs alive")
        for op in block.operations:
            self.emit_op(op)
        counts = []
        if self.launches:
            counts.append(f"kernel_launches={self.launches}")
        if self.externs:
            counts.append(f"extern_calls={self.externs}")
        if counts:
            self.lines.insert(len(self.lines) - 1, f"    count_run({', '.join(counts)})")
        return "\n".join(header + self.lines) + "\n"

    def emit_op(self, op) -> None:
        name = op.name
        if name == "coil.alloc":
            t = op.results[0].type
            strides, _ = strides_and_offset(t)
            buf = self._new_buffer(op.results[0])
            self.emit(
                f"{buf} = empty_strided({tuple(t.shape)}, {tuple(normalized_strides(t.shape, strides))}, "
                f"dtype={_dtype_expr(t)}, device={self.device!r})"
            )
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
                self.emit(f"{buf} = {self._layout_checked(call, result.type)}")
        elif name == "coil.get":
            pass  # unpacked right after its extern call
        elif name == "coil.view":
            t = op.results[0].type
            strides, offset = strides_and_offset(t)
            root = self._name(storage_root(op.operands[0]))
            buf = self._new_buffer(op.results[0])
            self.emit(f"{buf} = reinterpret({root}, {tuple(t.shape)}, {tuple(strides)}, {offset})")
        elif name == "coil.dealloc":
            # Free the buffer and every buffer whose storage it took over.
            names, value = [], op.operands[0]
            while value is not None:
                names.append(self._name(value))
                value = self.reused_from.pop(value, None)
            self.emit(f"del {', '.join(names)}")
        elif name == "coil.reuse":
            buf = self._new_buffer(op.results[0])
            t = op.results[0].type
            strides, _ = strides_and_offset(t)
            self.reused_from[op.results[0]] = op.operands[0]
            how = "in place" if "coil.inplace" in op.attributes else "reuse"
            self.emit(f"{buf} = reinterpret({self._name(op.operands[0])}, {tuple(t.shape)}, {tuple(strides)}, 0)  # {how}")
        elif name == "func.return":
            results = [self._name(v) for v in op.operands]
            items = []
            for out in self.outputs:
                if out.kind == "result":
                    items.append(results[out.index])
                elif out.kind == "input":
                    items.append(f"arg{out.index}")
                else:
                    items.append(f"OUTPUT_CONSTANTS[{len(items)}]")
            self.emit("return [" + ", ".join(items) + "]")
        else:
            raise ValueError(f"host codegen cannot emit '{name}'")

    def _layout_checked(self, expr: str, t: ir.MemRefType) -> str:
        strides, _ = strides_and_offset(t)
        return f"ensure_layout({expr}, {tuple(normalized_strides(t.shape, strides))})"


# -- runtime helpers the generated code calls -----------------------------------------


def reinterpret(root: torch.Tensor, size, stride, offset: int) -> torch.Tensor:
    """A view of `root`'s storage; `offset` counts from root's first element."""
    return torch.as_strided(root, size, stride, root.storage_offset() + offset)


def ensure_layout(t: torch.Tensor, strides) -> torch.Tensor:
    """`t` itself if it has the strides the kernels were built for, else a copy that does."""
    if tuple(normalized_strides(t.shape, t.stride())) == tuple(strides):
        return t
    out = torch.empty_strided(t.shape, strides, dtype=t.dtype, device=t.device)
    out.copy_(t)
    return out


def build_host_program(source: str, kernels: dict, filename: str, output_constants: list) -> object:
    """Executes the generated source; returns its `call(args)`."""
    from coil import metrics

    def count_run(kernel_launches: int = 0, extern_calls: int = 0) -> None:
        if kernel_launches:
            metrics.increment("kernel_launches", kernel_launches)
        if extern_calls:
            metrics.increment("extern_calls", extern_calls)

    namespace = {
        "torch": torch,
        "empty_strided": torch.empty_strided,
        "reinterpret": reinterpret,
        "ensure_layout": ensure_layout,
        "count_run": count_run,
        "OUTPUT_CONSTANTS": output_constants,
    }
    namespace.update(kernels)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace["call"]
