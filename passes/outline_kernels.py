"""coil-outline-kernels: graph-level IR -> a host function plus kernel functions.

Inductor's scheduler turns each realized node into a kernel and its wrapper
allocates the buffers; this pass does both, in MLIR:

- every `coil.pointwise` and `coil.reduction` becomes a kernel function
  (`func.func @kernel_N` with attribute `coil.kernel`) over memrefs, whose body
  is one `coil.loop_nest` that stores explicitly (`coil.store`, after a
  `coil.reduce` for reductions); tensors the body reads become arguments,
  constants it captures are cloned in;
- `@graph` becomes the host function over memrefs: `coil.alloc` for each
  kernel output, `coil.launch` of the kernel, `coil.extern` on buffers, and a
  `coil.dealloc` after the last use of every buffer it owns (free at last use;
  buffer reuse is the memory planner's job);
- a view the loads did not absorb is a strided reinterpretation of its source
  (a host `coil.view` on memrefs, no copy) when its index map is linear, and a
  copy kernel otherwise;
- buffers get row-major layouts, except graph inputs, extern results and graph
  outputs, which keep the strides recorded as `coil.strides` /
  `coil.result_strides` (eager's layouts);
- a result marked `coil.mutates = k` is the new value of input k (an in-place
  op on a graph input): it is not returned but written back into argument k
  by a copy kernel whose launch is marked `coil.writeback`, after everything
  else. Memory planning lets the kernel that computes the value store into
  the input directly where that is legal.

Symbolic sizes: `index` arguments of @graph (Dynamo's symbols) and the arith
ops deriving sizes from them stay on the host. A kernel takes, after its
buffers, one `index` argument per index value it captures (its loop nest's
dynamic sizes, then the symbols its body uses), passed with `coil.arg` in its
launch; allocs list their `?` dims. A buffer we allocate is row-major (identity
layout even with `?` dims); an input's `?` strides stay `?`, since only
static strides prove it contiguous.
"""

from __future__ import annotations

from coil.dialects import builders, is_dynamic, mixed_ranges, region_args, view_sizes, view_symbols
from coil.dialects.types import kernel_arg_type, scalar_type
from coil.mlir import affine, func, ir

from .layouts import buffer_type, has_dynamic_layout, layout_of, view_layout
from .registry import PassFailure, register_pass
from .sizes import dynamic_values, shape_of, static_shape
from .walk import ops_named, remap_operands, storage_root

# Ops of @graph that compute sizes on `index` values; they stay on the host.
SIZE_OPS = (
    "arith.constant",
    "arith.addi",
    "arith.subi",
    "arith.muli",
    "arith.floordivsi",
    "arith.ceildivsi",
    "arith.divsi",
    "arith.divui",
    "arith.remsi",
    "arith.remui",
    "arith.maxsi",
    "arith.minsi",
    "arith.index_cast",
)


def _is_inside(value: ir.Value, op: ir.Operation) -> bool:
    """Whether `value` is defined inside `op`'s regions."""
    if isinstance(value, ir.BlockArgument):
        owner = value.owner.owner
    else:
        owner = value.owner
    while owner is not None:
        if owner == op:
            return True
        owner = owner.parent
    return False


def captured_values(op: ir.Operation) -> list[ir.Value]:
    """Values used inside `op`'s regions but defined outside, in first-use order."""
    seen: list[ir.Value] = []

    def visit(inner):
        if inner == op:
            return ir.WalkResult.ADVANCE
        for v in inner.operands:
            if not _is_inside(v, op) and v not in seen:
                seen.append(v)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return seen


def _strides_attr(attr) -> list[int] | None:
    if attr is None:
        return None
    return [a.value for a in attr]


def _alloc_type(shape: list[int], element_type: ir.Type, strides=None) -> ir.MemRefType:
    """The type of a buffer we allocate: eager's strides, unless they are symbolic
    and not row-major (the host could not compute them), then row-major."""
    t = buffer_type(shape, element_type, strides)
    if has_dynamic_layout(t):
        return buffer_type(shape, element_type)
    return t


def _is_index(value: ir.Value) -> bool:
    return isinstance(value.type, ir.IndexType)


class HostBuilder:
    """Builds the host function and the kernels for one graph function."""

    def __init__(self, module: ir.Module, graph: func.FuncOp):
        self.module = module
        self.graph = graph
        self.buffers: dict[ir.Value, ir.Value] = {}  # graph tensor value -> host memref value
        self.kernel_count = 0
        self.device = graph.attributes["coil.device"].value if "coil.device" in graph.attributes else "cpu"
        self.result_strides = self._result_strides()

    def _result_strides(self) -> list[list[int] | None]:
        n = len(self.graph.type.results)
        if "res_attrs" not in self.graph.attributes:
            return [None] * n
        attrs = self.graph.attributes["res_attrs"]
        return [_strides_attr(d["coil.strides"]) if "coil.strides" in d else None for d in attrs]

    def _mutated_args(self) -> list[int | None]:
        """Per result of @graph, the argument it is the new value of, or None."""
        n = len(self.graph.type.results)
        if "res_attrs" not in self.graph.attributes:
            return [None] * n
        return [d["coil.mutates"].value if "coil.mutates" in d else None for d in self.graph.attributes["res_attrs"]]

    def _arg_strides(self) -> list[list[int] | None]:
        n = len(self.graph.type.inputs)
        if "arg_attrs" not in self.graph.attributes:
            return [None] * n
        attrs = self.graph.attributes["arg_attrs"]
        return [_strides_attr(d["coil.strides"]) if "coil.strides" in d else None for d in attrs]

    # -- kernels -------------------------------------------------------------

    def _new_kernel_name(self) -> str:
        name = f"kernel_{self.kernel_count}"
        self.kernel_count += 1
        return name

    def _build_kernel(self, source_op, outputs: list[ir.Value], ranges, reduction_ranges, emit_tail) -> None:
        """Outlines `source_op`'s body into a kernel writing `outputs` and launches it.

        `emit_tail(yielded, out_args, indices)` emits the stores for the yielded value.
        """
        captured = captured_values(source_op)
        tensor_inputs = [v for v in captured if isinstance(v.type, ir.RankedTensorType)]
        constants = [v for v in captured if not isinstance(v.type, ir.RankedTensorType) and _is_constant(v)]
        # Symbolic sizes: the loop's dynamic ranges, then what the body reads.
        indices: list[ir.Value] = []
        for v in [r for r in list(ranges) + list(reduction_ranges) if isinstance(r, ir.Value)] + captured:
            if isinstance(v.type, ir.RankedTensorType) or _is_constant(v) or v in indices:
                continue
            if not _is_index(v):
                raise PassFailure(f"kernel body captures {v.get_name()} which is not a constant", source_op.location)
            indices.append(v)
        host_inputs = [self.buffers[v] for v in tensor_inputs]
        args = list(outputs) + host_inputs + [self.host_value(v) for v in indices]
        name = self._new_kernel_name()
        arg_types = [kernel_arg_type(a.type) for a in args]
        with ir.InsertionPoint(self.module.body), source_op.location:
            kernel = func.FuncOp(name, ir.FunctionType.get(arg_types, []))
            kernel.attributes["coil.kernel"] = ir.UnitAttr.get()
            entry = kernel.add_entry_block()
        mapping: dict[ir.Value, ir.Value] = {}
        kernel_args = list(entry.arguments)
        out_args = kernel_args[: len(outputs)]
        for v, a in zip(tensor_inputs + indices, kernel_args[len(outputs) :]):
            mapping[v] = a
        with ir.InsertionPoint(entry), source_op.location:
            for v in constants:
                clone = v.owner.clone()
                mapping[v] = clone.result

            def body(indices, rindices):
                old_block = source_op.regions[0].blocks[0]
                for old_arg, new_arg in zip(old_block.arguments, list(indices) + list(rindices)):
                    mapping[old_arg] = new_arg
                yielded = None
                for inner in old_block.operations:
                    if inner.name == "coil.yield":
                        yielded = [mapping.get(v, v) for v in inner.operands]
                        continue
                    clone = inner.clone()
                    remap_operands(clone, mapping)
                    for old_r, new_r in zip(inner.results, clone.results):
                        mapping[old_r] = new_r
                emit_tail(yielded, out_args, list(indices))

            local = lambda sizes: [mapping[s] if isinstance(s, ir.Value) else s for s in sizes]  # noqa: E731
            builders.loop_nest(local(ranges), local(reduction_ranges), body)
            func.ReturnOp([])
        builders.launch(name, args)

    def host_value(self, value: ir.Value) -> ir.Value:
        """The host's twin of an @graph index value; a constant is cloned at first use."""
        if value not in self.buffers:
            if not _is_constant(value):
                raise PassFailure(f"size {value.get_name()} is not available on the host")
            self.buffers[value] = value.owner.clone().results[0]
        return self.buffers[value]

    def lower_size_op(self, op) -> None:
        """An arith op deriving a size stays on the host, for the host program to evaluate."""
        operands = [self.host_value(v) for v in op.operands]
        clone = op.clone()
        for i, v in enumerate(operands):
            clone.operands[i] = v
        for old, new in zip(op.results, clone.results):
            self.buffers[old] = new

    def _alloc(self, value: ir.Value, sizes, strides=None) -> ir.Value:
        t = value.type
        return builders.alloc(_alloc_type(list(t.shape), t.element_type, strides), self.device, dynamic_values(sizes))

    def _host_sizes(self, sizes) -> list:
        return [self.host_value(s) if isinstance(s, ir.Value) else s for s in sizes]

    def lower_pointwise(self, op, out_strides) -> None:
        ranges = mixed_ranges(op, "ranges")
        out = self._alloc(op.results[0], self._host_sizes(ranges), out_strides)

        def tail(yielded, out_args, indices):
            builders.store(yielded[0], out_args[0], indices)

        self._build_kernel(op, [out], ranges, [], tail)
        self.buffers[op.results[0]] = out

    def lower_reduction(self, op, out_strides_list) -> None:
        ranges = mixed_ranges(op, "ranges")
        rranges = mixed_ranges(op, "reduction_ranges")
        # A result nothing reads (welford's count, when only mean and variance
        # are used) gets no buffer and no store.
        kept = [k for k, r in enumerate(op.results) if _has_uses(r)]
        if not kept:
            return  # a dead reduction: nothing to compute
        outs = [self._alloc(op.results[k], self._host_sizes(ranges), out_strides_list[k]) for k in kept]
        rtype = op.attributes["reduction_type"].value
        result_types = [scalar_type(r.type.element_type) for r in op.results]

        def tail(yielded, out_args, indices):
            reduced = builders.reduce(yielded[0], rtype, result_types)
            for k, out in zip(kept, out_args):
                builders.store(reduced[k], out, indices)

        self._build_kernel(op, outs, ranges, rranges, tail)
        for k, out in zip(kept, outs):
            self.buffers[op.results[k]] = out

    def copy_kernel(
        self,
        source: ir.Value,
        amap: ir.AffineMap | None,
        shape,
        element_type,
        out_strides=None,
        into=None,
        symbols=(),
    ) -> ir.Value:
        """A kernel copying `source[amap(idx)]` (or `source[idx]`) into a new buffer (or into `into`).

        `shape` holds host sizes (ints or index values); `symbols` bind `amap`'s symbols.
        """
        if any(s is None for s in shape):
            raise PassFailure("cannot copy a buffer whose symbolic sizes are unknown")
        if into is None:
            out = builders.alloc(_alloc_type(static_shape(shape), element_type, out_strides), self.device, dynamic_values(shape))
        else:
            out = into
        name = self._new_kernel_name()
        indices: list[ir.Value] = []
        for v in dynamic_values(shape) + list(symbols):
            if v not in indices:
                indices.append(v)
        args = [out, source] + indices
        with ir.InsertionPoint(self.module.body):
            kernel = func.FuncOp(name, ir.FunctionType.get([kernel_arg_type(a.type) for a in args], []))
            kernel.attributes["coil.kernel"] = ir.UnitAttr.get()
            entry = kernel.add_entry_block()
        out_arg, src_arg = entry.arguments[:2]
        local = dict(zip(indices, list(entry.arguments)[2:]))
        with ir.InsertionPoint(entry):

            def body(loop_indices, _):
                src_indices = list(loop_indices)
                if amap is not None:
                    operands = list(loop_indices) + [local[v] for v in symbols]
                    src_indices = [
                        affine.apply(ir.AffineMap.get(amap.n_dims, amap.n_symbols, [e]), operands) for e in amap.results
                    ]
                builders.store(builders.load(src_arg, src_indices), out_arg, loop_indices)

            builders.loop_nest([local[s] if isinstance(s, ir.Value) else s for s in shape], [], body)
            func.ReturnOp([])
        launch = builders.launch(name, args)
        if into is not None:
            _launch_op(launch, name).attributes["coil.writeback"] = ir.UnitAttr.get()
        return out

    # -- host ops --------------------------------------------------------------

    def lower_view(self, op) -> None:
        source = self.buffers[op.operands[0]]
        symbols = [self.host_value(v) for v in view_symbols(op)]
        sizes = iter([self.host_value(v) for v in view_sizes(op)])
        amap = op.attributes["map"].value
        result_type = op.results[0].type
        shape = list(result_type.shape)
        listed = [next(sizes, None) if is_dynamic(s) else s for s in shape]
        mixed = listed if all(s is not None for s in listed) else shape
        layout = view_layout(amap, source.type, shape_of(source), symbols, [None if is_dynamic(s) else s for s in shape])
        if layout is not None:
            view_strides, view_offset = layout
            t = buffer_type(shape, result_type.element_type, view_strides, view_offset, trust_dynamic=False)
            self.buffers[op.results[0]] = builders.view(source, amap, mixed, symbols, result_type=t)
        else:
            self.buffers[op.results[0]] = self.copy_kernel(
                source, amap, shape_of(op.results[0]), result_type.element_type, symbols=symbols
            )

    def lower_extern(self, op) -> None:
        inputs = [self.buffers[v] for v in region_args(op)]
        strides = op.attributes["coil.result_strides"] if "coil.result_strides" in op.attributes else None
        t = op.results[0].type
        tensor_types = [t.get_type(i) for i in range(t.num_types)] if isinstance(t, ir.TupleType) else [t]
        memref_types = []
        for i, tt in enumerate(tensor_types):
            s = _strides_attr(strides[i]) if strides is not None else None
            memref_types.append(buffer_type(list(tt.shape), tt.element_type, s, trust_dynamic=False))
        kwargs = {named.name: named.attr for named in op.attributes["kwargs"]}
        values = builders.extern(op.attributes["kernel"].value, inputs, list(op.attributes["args"]), kwargs, memref_types)
        if "coil.result_positions" in op.attributes:
            owner = values[0].owner if len(values) == 1 else values[0].owner.operands[0].owner
            owner.attributes["coil.result_positions"] = op.attributes["coil.result_positions"]
        if isinstance(t, ir.TupleType):
            self.buffers[op.results[0]] = values  # unpacked by coil.get below
        else:
            self.buffers[op.results[0]] = values[0]

    def lower_get(self, op) -> None:
        values = self.buffers[op.operands[0]]
        self.buffers[op.results[0]] = values[op.attributes["index"].value]

    def lower_return(self, op) -> list[ir.Value]:
        results = []
        writebacks = []
        for value, strides, mutated in zip(op.operands, self.result_strides, self._mutated_args()):
            buffer = self.buffers[value]
            t = buffer.type
            if mutated is not None:
                writebacks.append((mutated, buffer))
                continue
            if strides is not None and not _layout_matches(t, strides):
                buffer = self.copy_kernel(buffer, None, shape_of(buffer), t.element_type, strides)
            results.append(buffer)
        # A new value read from an input that another write-back overwrites is
        # copied out first (inputs hold their old values until the write-backs).
        host_args = list(self.host_entry.arguments)
        written = {host_args[k] for k, _ in writebacks}
        for i, (k, buffer) in enumerate(writebacks):
            root = storage_root(buffer)
            if root in written - {host_args[k]} or (root == host_args[k] and buffer != root):
                t = buffer.type
                writebacks[i] = (k, self.copy_kernel(buffer, None, shape_of(buffer), t.element_type))
        for k, buffer in writebacks:
            if buffer == host_args[k]:
                continue  # copy_(x, x)
            t = buffer.type
            self.copy_kernel(buffer, None, shape_of(buffer), t.element_type, into=host_args[k])
        return results

    # -- driver -------------------------------------------------------------------

    def run(self) -> None:
        graph = self.graph
        block = graph.regions[0].blocks[0]
        arg_types = []
        for arg, strides in zip(block.arguments, self._arg_strides()):
            t = arg.type
            if isinstance(t, ir.RankedTensorType):
                t = buffer_type(list(t.shape), t.element_type, strides, trust_dynamic=False)
            arg_types.append(t)
        with ir.InsertionPoint(self.module.body), graph.location:
            host = func.FuncOp("graph_host", ir.FunctionType.get(arg_types, []))
            host_entry = host.add_entry_block()
        self._copy_symbol_attrs(host)
        self.host_entry = host_entry
        for old, new in zip(block.arguments, host_entry.arguments):
            self.buffers[old] = new
        returned = {v: i for i, v in enumerate(block.operations[len(block.operations) - 1].operands)}
        results = []
        with ir.InsertionPoint(host_entry):
            for op in block.operations:
                with op.location:
                    name = op.name
                    if name == "arith.constant":
                        continue  # cloned where used: into kernels, or on the host by host_value
                    if name in SIZE_OPS:
                        self.lower_size_op(op)
                    elif name == "coil.pointwise":
                        self.lower_pointwise(op, self._output_strides(op.results[0], returned))
                    elif name == "coil.reduction":
                        self.lower_reduction(op, [self._output_strides(r, returned) for r in op.results])
                    elif name == "coil.view":
                        self.lower_view(op)
                    elif name == "coil.extern":
                        self.lower_extern(op)
                    elif name == "coil.get":
                        self.lower_get(op)
                    elif name == "func.return":
                        results = self.lower_return(op)
                        func.ReturnOp(results)
                    else:
                        raise PassFailure(f"cannot outline '{name}' at graph level", op.location)
        host.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(arg_types, [r.type for r in results]))
        for name in ("coil.device",):
            if name in graph.attributes:
                host.attributes[name] = graph.attributes[name]
        host.attributes["coil.host"] = ir.UnitAttr.get()
        insert_deallocs(host)
        graph.operation.erase()
        host.attributes["sym_name"] = ir.StringAttr.get("graph")

    def _copy_symbol_attrs(self, host) -> None:
        """The host's index arguments keep their `coil.symbol` / `coil.size_hint`."""
        if "arg_attrs" not in self.graph.attributes:
            return
        attrs = list(self.graph.attributes["arg_attrs"])
        if not any(isinstance(t, ir.IndexType) for t in self.graph.type.inputs):
            return
        empty = ir.DictAttr.get({})
        kept = [a if isinstance(t, ir.IndexType) else empty for a, t in zip(attrs, self.graph.type.inputs)]
        host.attributes["arg_attrs"] = ir.ArrayAttr.get(kept)

    def _output_strides(self, value: ir.Value, returned: dict) -> list[int] | None:
        if value in returned:
            return self.result_strides[returned[value]]
        return None


def _launch_op(launch, name: str):
    """The `coil.launch` operation that `builders.launch` created."""
    op = launch.operation if hasattr(launch, "operation") else launch
    assert op.name == "coil.launch" and op.attributes["kernel"].value == name
    return op


def _layout_matches(t: ir.MemRefType, strides: list[int]) -> bool:
    actual, _ = layout_of(t)
    expected = _alloc_type(list(t.shape), t.element_type, strides)
    return buffer_type(list(t.shape), t.element_type, actual, trust_dynamic=False) == expected


def _has_uses(value: ir.Value) -> bool:
    return next(iter(value.uses), None) is not None


def _is_constant(value: ir.Value) -> bool:
    return isinstance(value, ir.OpResult) and value.owner.name == "arith.constant"






def insert_deallocs(host: func.FuncOp) -> None:
    """Frees each buffer the host owns right after the last op that uses it (or a view of it)."""
    block = host.regions[0].blocks[0]
    ops = list(block.operations)
    last_use: dict[ir.Value, int] = {}
    owned: list[ir.Value] = []
    returned_roots = set()
    for position, op in enumerate(ops):
        values = list(op.operands)
        if op.name in ("coil.launch", "coil.extern"):
            values = region_args(op)
        if op.name == "func.return":
            returned_roots = {storage_root(v) for v in values}
            continue
        for v in values:
            last_use[storage_root(v)] = position
        if op.name in ("coil.alloc", "coil.extern", "coil.get"):
            for r in op.results:
                if isinstance(r.type, ir.MemRefType):
                    owned.append(r)
                    last_use.setdefault(r, position)
    frees: dict[int, list[ir.Value]] = {}
    for buffer in owned:
        if buffer in returned_roots:
            continue
        frees.setdefault(last_use[buffer], []).append(buffer)
    for position in sorted(frees, reverse=True):
        anchor = ops[position]
        for buffer in reversed(frees[position]):
            with ir.InsertionPoint.after(anchor), anchor.location:
                builders.dealloc(buffer)


@register_pass(
    "coil-outline-kernels",
    "Outline pointwise and reduction ops into kernel functions and bufferize the graph into a host function",
)
def outline_kernels(module: ir.Operation) -> None:
    graphs = [op for op in ops_named(module, "func.func") if "coil.kernel" not in op.attributes and "coil.host" not in op.attributes]
    for graph in graphs:
        builder = HostBuilder(_ModuleView(module), graph)
        builder.run()


class _ModuleView:
    """Gives a pass's `builtin.module` operation the `.body` a Module has."""

    def __init__(self, op: ir.Operation):
        self.body = op.regions[0].blocks[0]
