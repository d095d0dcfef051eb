"""Buffer layouts when sizes may be symbolic.

A memref type writes a size or stride it cannot state as `?` (DYNAMIC). A
contiguous buffer keeps the identity layout even with `?` dims (its strides
follow from its sizes); a strided one lists the static strides it knows and
`?` for the others, which the backends read from the actual tensor at run
time. Views of such buffers get their layout by evaluating the view at a few
unrelated valuations of the symbolic quantities: a stride that comes out the
same each time is that constant, one that varies is `?`.
"""

from __future__ import annotations

from collections.abc import Sequence

from coil.dialects import DYNAMIC, is_dynamic
from coil.mlir import ir

from .index_math import strided_view_layout


def contiguous_strides(shape: Sequence[int]) -> list[int]:
    """Row-major strides of a type's shape; DYNAMIC where a `?` dim makes them symbolic."""
    strides, running = [], 1
    for size in reversed(list(shape)):
        strides.append(running)
        if running != DYNAMIC:
            running = DYNAMIC if is_dynamic(size) else running * max(int(size), 1)
    return list(reversed(strides))


def is_contiguous(shape: Sequence[int], strides: Sequence[int], offset: int = 0, trust_dynamic: bool = True) -> bool:
    """Whether `strides` are the row-major strides of `shape` (size-1 dims ignored).

    A DYNAMIC stride where the row-major stride is itself symbolic matches only
    with `trust_dynamic` (we choose the layout of a buffer we allocate; an
    input's `?` stride may be anything).
    """
    if offset != 0:
        return False
    for size, stride, want in zip(shape, strides, contiguous_strides(shape)):
        if size == 1:
            continue
        if is_dynamic(want):
            if not (is_dynamic(stride) and trust_dynamic):
                return False
        elif stride != want:
            return False
    return True


def buffer_type(
    shape: Sequence[int], element_type: ir.Type, strides=None, offset: int = 0, trust_dynamic: bool = True
) -> ir.MemRefType:
    """A memref of `shape` (DYNAMIC for `?`): identity layout when contiguous."""
    shape = [int(s) for s in shape]
    if strides is None or is_contiguous(shape, strides, offset, trust_dynamic):
        return ir.MemRefType.get(shape, element_type)
    strides = [c if size == 1 and not is_dynamic(c) else int(s) for size, s, c in zip(shape, strides, contiguous_strides(shape))]
    return ir.MemRefType.get(shape, element_type, layout=ir.StridedLayoutAttr.get(int(offset), strides))


def layout_of(t: ir.MemRefType) -> tuple[list[int], int]:
    """(strides, offset) of a memref type, DYNAMIC where symbolic."""
    if isinstance(t.layout, ir.StridedLayoutAttr):
        strides, offset = t.get_strides_and_offset()
        return list(strides), offset
    return contiguous_strides(t.shape), 0


def has_dynamic_layout(t: ir.MemRefType) -> bool:
    strides, offset = layout_of(t)
    return is_dynamic(offset) or any(is_dynamic(s) for s in strides)


def _substitute(expr: ir.AffineExpr, symbols: Sequence[int]) -> ir.AffineExpr:
    """`expr` with each symbol replaced by a constant."""
    if isinstance(expr, ir.AffineSymbolExpr):
        return ir.AffineConstantExpr.get(symbols[expr.position])
    if isinstance(expr, (ir.AffineConstantExpr, ir.AffineDimExpr)):
        return expr
    lhs, rhs = _substitute(expr.lhs, symbols), _substitute(expr.rhs, symbols)
    if isinstance(expr, ir.AffineAddExpr):
        return lhs + rhs
    if isinstance(expr, ir.AffineMulExpr):
        return lhs * rhs
    if isinstance(expr, ir.AffineFloorDivExpr):
        return ir.AffineExpr.get_floor_div(lhs, rhs)
    if isinstance(expr, ir.AffineCeilDivExpr):
        return ir.AffineExpr.get_ceil_div(lhs, rhs)
    if isinstance(expr, ir.AffineModExpr):
        return ir.AffineExpr.get_mod(lhs, rhs)
    raise ValueError(f"unexpected affine expression {expr}")


# Unrelated primes: a stride that is a non-constant polynomial in the sizes
# takes different values at these.
_VALUATIONS = ((1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049), (97, 101, 103, 107, 109, 113, 127, 131), (3001, 3011, 3019, 3023, 3037, 3041, 3049, 3061))


def view_layout(
    amap: ir.AffineMap,
    source_type: ir.MemRefType,
    source_shape: Sequence,
    symbols: Sequence[ir.Value],
    result_shape: Sequence,
) -> tuple[list[int], int] | None:
    """Strides and offset (DYNAMIC where symbolic) of a view of a strided buffer,
    or None if the view's storage offsets are not linear in its indices.

    `source_shape` and `result_shape` are mixed sizes (None for a `?` that
    cannot be named); `symbols` bind the map's symbols.
    """
    strides, offset = layout_of(source_type)
    if not symbols and not is_dynamic(offset) and not any(is_dynamic(s) for s in strides):
        return strided_view_layout(amap, strides, offset)
    results = []
    for valuation in _VALUATIONS:
        names: dict = {}

        def value_of(v, key=None):
            k = v if v is not None else key
            if k not in names:
                names[k] = valuation[len(names) % len(valuation)] + 2 * (len(names) // len(valuation))
            return names[k]

        symbol_values = [value_of(s) for s in symbols]
        sizes = [s if isinstance(s, int) else value_of(s, ("dim", k)) for k, s in enumerate(source_shape)]
        if isinstance(source_type.layout, ir.StridedLayoutAttr):
            concrete = [value_of(None, ("stride", k)) if is_dynamic(s) else s for k, s in enumerate(strides)]
            base = value_of(None, "offset") if is_dynamic(offset) else offset
        else:
            concrete, running = [], 1
            for size in reversed(sizes):
                concrete.append(running)
                running *= max(size, 1)
            concrete.reverse()
            base = 0
        concrete_map = ir.AffineMap.get(amap.n_dims, 0, [_substitute(e, symbol_values) for e in amap.results])
        layout = strided_view_layout(concrete_map, concrete, base)
        if layout is None:
            return None
        result_sizes = [s if isinstance(s, int) else value_of(s, ("rdim", k)) for k, s in enumerate(result_shape)]
        results.append((layout, result_sizes))
    (first, _), rest = results[0], results[1:]
    out_strides = [
        s if all(r[0][0][j] == s for r in rest) else DYNAMIC for j, s in enumerate(first[0])
    ]
    out_offset = first[1] if all(r[0][1] == first[1] for r in rest) else DYNAMIC
    # Provably contiguous at every valuation: say so with static strides the
    # identity check recognizes.
    if all(_row_major(layout[0], sizes) and layout[1] == 0 for layout, sizes in results):
        return contiguous_strides([s if isinstance(s, int) else DYNAMIC for s in result_shape]), 0
    return out_strides, out_offset


def _row_major(strides: Sequence[int], sizes: Sequence[int]) -> bool:
    running = 1
    for stride, size in zip(reversed(list(strides)), reversed(list(sizes))):
        if size != 1 and stride != running:
            return False
        running *= max(size, 1)
    return True
