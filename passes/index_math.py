"""Index arithmetic on affine expressions: evaluation and linear forms.

A view whose index map is linear in the view's indices (permute, expand,
slice, select, unsqueeze) is a strided reinterpretation of its source's
storage, like Inductor's ReinterpretView, and needs no copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from coil.mlir import ir


def evaluate(expr: ir.AffineExpr, dims: Sequence[int], symbols: Sequence[int] = ()) -> int:
    """The value of `expr` at integer `dims` and `symbols` (floor semantics)."""
    if isinstance(expr, ir.AffineConstantExpr):
        return expr.value
    if isinstance(expr, ir.AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, ir.AffineSymbolExpr):
        return symbols[expr.position]
    lhs = evaluate(expr.lhs, dims, symbols)
    rhs = evaluate(expr.rhs, dims, symbols)
    if isinstance(expr, ir.AffineAddExpr):
        return lhs + rhs
    if isinstance(expr, ir.AffineMulExpr):
        return lhs * rhs
    if isinstance(expr, ir.AffineFloorDivExpr):
        return lhs // rhs
    if isinstance(expr, ir.AffineCeilDivExpr):
        return -((-lhs) // rhs)
    if isinstance(expr, ir.AffineModExpr):
        return lhs % rhs
    raise ValueError(f"cannot evaluate affine expression {expr}")


def is_linear(expr: ir.AffineExpr) -> bool:
    """True if `expr` uses only +, * by constants, dims and constants."""
    if isinstance(expr, (ir.AffineConstantExpr, ir.AffineDimExpr)):
        return True
    if isinstance(expr, ir.AffineAddExpr):
        return is_linear(expr.lhs) and is_linear(expr.rhs)
    if isinstance(expr, ir.AffineMulExpr):
        return is_linear(expr.lhs) and is_linear(expr.rhs)
    return False


def linear_form(expr: ir.AffineExpr, n_dims: int) -> tuple[int, list[int]] | None:
    """(constant, coefficients) with expr == constant + sum(coeff[j] * d_j), or None."""
    if not is_linear(expr):
        return None
    zero = [0] * n_dims
    constant = evaluate(expr, zero)
    coefficients = []
    for j in range(n_dims):
        unit = list(zero)
        unit[j] = 1
        coefficients.append(evaluate(expr, unit) - constant)
    return constant, coefficients


def strided_view_layout(
    amap: ir.AffineMap, source_strides: Sequence[int], source_offset: int
) -> tuple[list[int], int] | None:
    """Strides and offset of a view of a strided buffer, if the map is linear."""
    strides = [0] * amap.n_dims
    offset = source_offset
    for k, expr in enumerate(amap.results):
        form = linear_form(expr, amap.n_dims)
        if form is None:
            return None
        constant, coefficients = form
        offset += source_strides[k] * constant
        for j, c in enumerate(coefficients):
            strides[j] += source_strides[k] * c
    return strides, offset
