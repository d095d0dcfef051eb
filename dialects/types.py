"""Element types: how coil spells PyTorch dtypes in MLIR.

Tensors and buffers keep the signedness of their dtype (`ui8` for uint8), but
arith works on signless integers, so scalars inside kernel bodies are the
signless twin (`i8`). `i1` is bool.
"""

from __future__ import annotations

from coil.mlir import ir

# Ordered so that the inverse map picks the canonical dtype for each type.
_DTYPE_TO_TYPE_NAME = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "bfloat16": "bf16",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "ui8",
    "bool": "i1",
}
_TYPE_NAME_TO_DTYPE = {v: k for k, v in _DTYPE_TO_TYPE_NAME.items()}


def element_type_for_dtype(dtype_name: str) -> ir.Type:
    """MLIR element type for a torch dtype name (`"float32"`, `"uint8"`, ...)."""
    try:
        return ir.Type.parse(_DTYPE_TO_TYPE_NAME[dtype_name])
    except KeyError:
        raise ValueError(f"coil has no element type for dtype {dtype_name}") from None


def dtype_name_for_element_type(t: ir.Type) -> str:
    """Inverse of `element_type_for_dtype`."""
    try:
        return _TYPE_NAME_TO_DTYPE[str(t)]
    except KeyError:
        raise ValueError(f"coil has no dtype for element type {t}") from None


def scalar_type(element_type: ir.Type) -> ir.Type:
    """The type a body computes with for one element: signless for integers."""
    if isinstance(element_type, ir.IntegerType):
        it = ir.IntegerType(element_type)
        if not it.is_signless:
            return ir.IntegerType.get_signless(it.width, context=element_type.context)
    return element_type


def is_unsigned(element_type: ir.Type) -> bool:
    return isinstance(element_type, ir.IntegerType) and ir.IntegerType(element_type).is_unsigned


def is_float(element_type: ir.Type) -> bool:
    return any(
        isinstance(element_type, cls)
        for cls in (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)
    )


def byte_width(element_type: ir.Type) -> int:
    """Bytes one element takes in a buffer (bool takes a byte, as in PyTorch)."""
    if isinstance(element_type, ir.IntegerType):
        return max(1, ir.IntegerType(element_type).width // 8)
    if isinstance(element_type, ir.F16Type) or isinstance(element_type, ir.BF16Type):
        return 2
    if isinstance(element_type, ir.F32Type):
        return 4
    if isinstance(element_type, ir.F64Type):
        return 8
    if isinstance(element_type, ir.IndexType):
        return 8
    raise ValueError(f"no byte width for {element_type}")


def contiguous_strides(shape) -> list[int]:
    strides, running = [], 1
    for size in reversed(list(shape)):
        strides.append(running)
        running *= max(int(size), 1)
    return list(reversed(strides))


def normalized_strides(shape, strides) -> list[int]:
    """Strides with those of size-1 dims replaced by the contiguous value (they are never used)."""
    contiguous = contiguous_strides(shape)
    return [c if int(size) == 1 else int(s) for size, s, c in zip(shape, strides, contiguous)]


def memref_type(shape, element_type: ir.Type, strides=None, offset: int = 0) -> ir.MemRefType:
    """A memref of `shape`; identity layout when the strides are row-major and offset is 0."""
    shape = [int(s) for s in shape]
    if strides is None:
        return ir.MemRefType.get(shape, element_type)
    strides = normalized_strides(shape, strides)
    if strides == contiguous_strides(shape) and offset == 0:
        return ir.MemRefType.get(shape, element_type)
    return ir.MemRefType.get(shape, element_type, layout=ir.StridedLayoutAttr.get(int(offset), strides))


def strides_and_offset(t: ir.MemRefType) -> tuple[list[int], int]:
    if not isinstance(t.layout, ir.StridedLayoutAttr):
        # Identity layout: row-major. (MLIR reports a dynamic stride next to a
        # zero-size dim; PyTorch's strides count such a dim as size 1.)
        return contiguous_strides(t.shape), 0
    strides, offset = t.get_strides_and_offset()
    return list(strides), offset


def kernel_arg_type(t: ir.Type) -> ir.Type:
    """How a kernel sees a host buffer: signless elements, offset folded into the pointer."""
    if not isinstance(t, ir.MemRefType):
        return t
    strides, _ = strides_and_offset(t)
    return memref_type(list(t.shape), scalar_type(t.element_type), strides, 0)
