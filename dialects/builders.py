"""Builders for coil ops, so passes and the importer never assemble attributes by hand.

Every builder inserts at the current `ir.InsertionPoint` and uses the current
`ir.Location`, like the generated upstream builders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coil.mlir import ir

from .ops import (
    AllocOp,
    ArgOp,
    DeallocOp,
    ExternOp,
    GetOp,
    LaunchOp,
    LoadOp,
    LoopNestOp,
    OperandRefAttr,
    PointwiseOp,
    ReduceOp,
    ReductionOp,
    ReuseOp,
    DYNAMIC,
    StoreOp,
    TorchObjectAttr,
    ViewOp,
    YieldOp,
)


def _plain(op):
    """Drops the segment-size attributes the generic builder adds.

    Every coil op has at most one variadic operand and one variadic result
    group, so IRDL infers the segments; without them the IR reads as written.
    """
    for name in ("operandSegmentSizes", "resultSegmentSizes"):
        if name in op.attributes:
            del op.attributes[name]
    return op


def _create(op_class, **fields):
    """Builds `op_class(**fields)`, working around the ext builder dropping empty attributes.

    The generated builder treats any falsy attribute (an empty array or
    dictionary) as missing, so empty ones are passed as a placeholder and set
    right after creation.
    """
    empty = {}
    for name, value in list(fields.items()):
        if isinstance(value, (ir.ArrayAttr, ir.DictAttr)) and len(value) == 0:
            empty[name] = value
            fields[name] = ir.UnitAttr.get()
    op = op_class(**fields)
    for name, value in empty.items():
        op.attributes[name] = value
    return op


Size = "int | ir.Value"  # a static size, or an `index` value for a symbolic one


def split_sizes(sizes: Sequence) -> tuple[list[int], list[ir.Value]]:
    """Mixed sizes -> (static sizes with kDynamic for each value, the values in order)."""
    static, dynamic = [], []
    for s in sizes:
        if isinstance(s, ir.Value):
            static.append(DYNAMIC)
            dynamic.append(s)
        else:
            static.append(int(s))
    return static, dynamic


def i64_array(values: Sequence[int]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.IntegerAttr.get(i64, int(v)) for v in values])


def _index_block(region: ir.Region, n: int) -> ir.Block:
    index = ir.IndexType.get()
    return region.blocks.append(*([index] * n))


def pointwise(
    ranges: Sequence,
    element_type: ir.Type,
    body: Callable[[list[ir.Value]], ir.Value],
) -> ir.Value:
    """`coil.pointwise` over `ranges` (ints, or index values for symbolic sizes);
    `body(indices)` builds and returns the scalar."""
    static, dynamic = split_sizes(ranges)
    result_type = ir.RankedTensorType.get(static, element_type)
    op = _plain(_create(PointwiseOp, sizes=dynamic, ranges=i64_array(static), result=result_type))
    block = _index_block(op.regions[0], len(ranges))
    with ir.InsertionPoint(block):
        value = body(list(block.arguments))
        _plain(YieldOp(values=[value]))
    return op.result


def reduction(
    ranges: Sequence,
    reduction_ranges: Sequence,
    reduction_type: str,
    result_element_types: Sequence[ir.Type],
    body: Callable[[list[ir.Value], list[ir.Value]], ir.Value],
) -> list[ir.Value]:
    """`coil.reduction`; `body(indices, reduction_indices)` returns the value to combine."""
    static, dynamic = split_sizes(ranges)
    rstatic, rdynamic = split_sizes(reduction_ranges)
    result_types = [ir.RankedTensorType.get(static, t) for t in result_element_types]
    op = _plain(
        _create(ReductionOp,
            sizes=dynamic + rdynamic,
            ranges=i64_array(static),
            reduction_ranges=i64_array(rstatic),
            reduction_type=ir.StringAttr.get(reduction_type),
            results_=result_types,
        )
    )
    block = _index_block(op.regions[0], len(ranges) + len(reduction_ranges))
    args = list(block.arguments)
    with ir.InsertionPoint(block):
        value = body(args[: len(ranges)], args[len(ranges) :])
        _plain(YieldOp(values=[value]))
    return list(op.results)


def load(source: ir.Value, indices: Sequence[ir.Value]) -> ir.Value:
    from .types import scalar_type

    op = LoadOp(source=source, indices=list(indices), result=scalar_type(source.type.element_type))
    return _plain(op).result


def view(
    source: ir.Value,
    affine_map: ir.AffineMap,
    shape: Sequence,
    symbols: Sequence[ir.Value] = (),
    result_type: ir.Type | None = None,
) -> ir.Value:
    """`coil.view`: `result[idx] = source[affine_map(idx)]` with result `shape`
    (ints, or index values for symbolic sizes, listed after the symbols).

    For buffers, `result_type` gives the view's strided layout.
    """
    shape, sizes = split_sizes(shape)
    symbols = list(symbols) + sizes
    t = source.type
    if result_type is None:
        if isinstance(t, ir.MemRefType):
            result_type = ir.MemRefType.get(list(shape), t.element_type)
        else:
            result_type = ir.RankedTensorType.get(list(shape), t.element_type)
    op = _create(ViewOp, source=source, symbols=list(symbols), map=ir.AffineMapAttr.get(affine_map), result=result_type)
    return _plain(op).result


class OperandRef:
    """Marks a tensor argument in `extern(args=...)`: the Nth value of `inputs`."""

    def __init__(self, index: int):
        self.index = index


def argument_attr(value) -> ir.Attribute:
    """A Python argument of an ATen call, as an attribute.

    ints -> i64, floats -> f64, bools -> BoolAttr, str -> StringAttr, None ->
    UnitAttr, lists -> ArrayAttr, OperandRef -> #coil.operand; other objects
    (dtypes, devices, layouts, memory formats) -> #coil.torch<"repr">.
    """
    if isinstance(value, OperandRef):
        return OperandRefAttr.get(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value.index))
    if isinstance(value, ir.Attribute):
        return value
    if value is None:
        return ir.UnitAttr.get()
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, int):
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
    if isinstance(value, float):
        return ir.FloatAttr.get(ir.F64Type.get(), value)
    if isinstance(value, str):
        return ir.StringAttr.get(value)
    if isinstance(value, (list, tuple)):
        return ir.ArrayAttr.get([argument_attr(v) for v in value])
    return TorchObjectAttr.get(ir.StringAttr.get(str(value)))


def _arg_region(op, values: Sequence[ir.Value]) -> None:
    block = op.regions[0].blocks.append()
    with ir.InsertionPoint(block):
        for v in values:
            ArgOp(value=v)
        _plain(YieldOp(values=[]))


def extern(
    kernel: str,
    inputs: Sequence[ir.Value],
    args: Sequence,
    kwargs: dict,
    result_types: Sequence[ir.Type],
) -> list[ir.Value]:
    """`coil.extern` calling `kernel`; returns one value per result type."""
    kwargs_attr = ir.DictAttr.get({k: argument_attr(v) for k, v in kwargs.items()})
    if len(result_types) == 1:
        result_type = result_types[0]
    else:
        result_type = ir.TupleType.get_tuple(list(result_types))
    op = _create(ExternOp, 
        kernel=ir.StringAttr.get(kernel), args=argument_attr(list(args)), kwargs=kwargs_attr, result=result_type
    )
    _arg_region(op, inputs)
    if len(result_types) == 1:
        return [op.result]
    i64 = ir.IntegerType.get_signless(64)
    return [
        GetOp(source=op.result, index=ir.IntegerAttr.get(i64, i), result=t).result for i, t in enumerate(result_types)
    ]


def loop_nest(
    ranges: Sequence,
    reduction_ranges: Sequence,
    body: Callable[[list[ir.Value], list[ir.Value]], None],
) -> LoopNestOp:
    """`coil.loop_nest`; `body(indices, reduction_indices)` emits its loads and stores."""
    static, dynamic = split_sizes(ranges)
    rstatic, rdynamic = split_sizes(reduction_ranges)
    op = _plain(
        _create(
            LoopNestOp, sizes=dynamic + rdynamic, ranges=i64_array(static), reduction_ranges=i64_array(rstatic)
        )
    )
    block = _index_block(op.regions[0], len(ranges) + len(reduction_ranges))
    args = list(block.arguments)
    with ir.InsertionPoint(block):
        body(args[: len(ranges)], args[len(ranges) :])
        _plain(YieldOp(values=[]))
    return op


def reduce(value: ir.Value, reduction_type: str, result_types: Sequence[ir.Type]) -> list[ir.Value]:
    op = ReduceOp(value=value, reduction_type=ir.StringAttr.get(reduction_type), results_=list(result_types))
    _plain(op)
    return list(op.results)


def store(value: ir.Value, dest: ir.Value, indices: Sequence[ir.Value]) -> StoreOp:
    return _plain(StoreOp(value=value, dest=dest, indices=list(indices)))


def alloc(buffer_type: ir.MemRefType, device: str, sizes: Sequence[ir.Value] = ()) -> ir.Value:
    """`coil.alloc`; `sizes` are the values of the type's `?` dims."""
    return _plain(AllocOp(sizes=list(sizes), device=ir.StringAttr.get(device), result=buffer_type)).result


def dealloc(buffer: ir.Value) -> DeallocOp:
    return DeallocOp(buffer=buffer)


def reuse(source: ir.Value, buffer_type: ir.MemRefType, sizes: Sequence[ir.Value] = ()) -> ir.Value:
    return _plain(ReuseOp(source=source, sizes=list(sizes), result=buffer_type)).result


def launch(kernel: str, args: Sequence[ir.Value]) -> LaunchOp:
    op = LaunchOp(kernel=ir.FlatSymbolRefAttr.get(kernel))
    _arg_region(op, args)
    return op
