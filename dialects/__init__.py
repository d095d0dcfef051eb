"""The coil dialect: ops, attributes, verifiers and builders (coil.dialects)."""

from coil.mlir import ir

from . import builders

from .ops import (
    DYNAMIC,
    is_dynamic,
    mixed_ranges,
    mixed_shape,
    view_sizes,
    view_symbols,
    int_list,
    region_args,
    shaped_type,
    ALL_OPS,
    REDUCTION_RESULT_COUNT,
    REDUCTION_TYPES,
    AllocOp,
    ArgOp,
    Coil,
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
    StoreOp,
    TorchObjectAttr,
    ViewOp,
    YieldOp,
)


def load_coil_dialect(context: ir.Context) -> None:
    """Registers the coil dialect in `context` (idempotent)."""
    if not context.is_dialect_loaded(Coil.DIALECT_NAMESPACE):
        with context, ir.Location.unknown(context):
            Coil.load()


def make_context() -> ir.Context:
    """A new MLIR context with the coil dialect loaded, as every coil stage uses."""
    context = ir.Context()
    load_coil_dialect(context)
    return context


__all__ = [
    "DYNAMIC",
    "is_dynamic",
    "mixed_ranges",
    "mixed_shape",
    "view_sizes",
    "view_symbols",
    "ALL_OPS",
    "REDUCTION_RESULT_COUNT",
    "REDUCTION_TYPES",
    "AllocOp",
    "ArgOp",
    "Coil",
    "DeallocOp",
    "ExternOp",
    "GetOp",
    "LaunchOp",
    "LoadOp",
    "LoopNestOp",
    "OperandRefAttr",
    "PointwiseOp",
    "ReduceOp",
    "ReductionOp",
    "ReuseOp",
    "StoreOp",
    "TorchObjectAttr",
    "ViewOp",
    "YieldOp",
    "int_list",
    "load_coil_dialect",
    "region_args",
    "shaped_type",
    "make_context",
]
