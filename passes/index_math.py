"""Index arithmetic on affine expressions: evaluation and linear forms.

A view whose index map is linear in the view's indices (permute, expand,
slice, select, unsqueeze) is a strided reinterpretation of its source's
storage, like Inductor's ReinterpretView, and needs no copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from coil.mlir import ir

# Every kind of affine expression, by the Python class the bindings give it.
_KINDS = (
    ir.AffineConstantExpr,
    ir.AffineDimExpr,
    ir.AffineSymbolExpr,
    ir.AffineAddExpr,
    ir.AffineMulExpr,
    ir.AffineModExpr,
    ir.AffineFloorDivExpr,
    ir.AffineCeilDivExpr,
)


def _kind(expr: ir.AffineExpr) -> ir.AffineExpr:
    """`expr` wrapped in the Python class of its kind of expression.

    The bindings' operators and `AffineExpr.get_add`, `get_mul`, `get_mod`,
    ... return an object of the class of the operation applied even when MLIR
    simplified the result to another kind: `d0 + 0` is an `AffineAddExpr`
    object holding the dim `d0`, `c2 * 3` an `AffineMulExpr` holding the
    constant 6, `d0 floordiv 1` an `AffineFloorDivExpr` holding `d0`. Reading
    `.lhs` of such an object reads a dim or a constant as a binary expression:
    a wrong answer or a segfault. `maybe_downcast` wraps the expression in the
    class its kind says (a map's results, `.lhs` and `.rhs` come so wrapped
    already), so every function here dispatches on `_kind(expr)`, never on the
    class of the object it was handed.
    """
    concrete = expr.maybe_downcast()
    if not isinstance(concrete, _KINDS):
        raise ValueError(f"affine expression {expr} of unknown kind {type(concrete).__name__}")
    return concrete


def evaluate(expr: ir.AffineExpr, dims: Sequence[int], symbols: Sequence[int] = ()) -> int:
    """The value of `expr` at integer `dims` and `symbols` (floor semantics)."""
    expr = _kind(expr)
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


def python_expression(expr: ir.AffineExpr, dims: Sequence[str], symbols: Sequence[str] = ()) -> str:
    """`expr` as Python source over int operands named by `dims` and `symbols`
    (floordiv and mod are Python's // and %, which floor as affine maps do;
    ceildiv, whose divisor is a positive constant, is -(-a // b)). The host
    program and the Triton launch code compute sizes and offsets with it."""
    expr = _kind(expr)
    if isinstance(expr, ir.AffineConstantExpr):
        return str(expr.value)
    if isinstance(expr, ir.AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, ir.AffineSymbolExpr):
        return symbols[expr.position]
    lhs, rhs = python_expression(expr.lhs, dims, symbols), python_expression(expr.rhs, dims, symbols)
    if isinstance(expr, ir.AffineAddExpr):
        return f"({lhs} + {rhs})"
    if isinstance(expr, ir.AffineMulExpr):
        return f"({lhs} * {rhs})"
    if isinstance(expr, ir.AffineFloorDivExpr):
        return f"({lhs} // {rhs})"
    if isinstance(expr, ir.AffineCeilDivExpr):
        return f"(-(-{lhs} // {rhs}))"
    if isinstance(expr, ir.AffineModExpr):
        return f"({lhs} % {rhs})"
    raise ValueError(f"no Python expression for affine expression {expr}")


def is_linear(expr: ir.AffineExpr) -> bool:
    """True if `expr` uses only +, * by constants, dims and constants."""
    expr = _kind(expr)
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


def _terms(expr: ir.AffineExpr, coefficient: int, out: list) -> bool:
    """Flattens a sum into (coefficient, atom) terms; False if it is not a sum of products by constants."""
    expr = _kind(expr)
    if isinstance(expr, ir.AffineAddExpr):
        return _terms(expr.lhs, coefficient, out) and _terms(expr.rhs, coefficient, out)
    if isinstance(expr, ir.AffineMulExpr):
        lhs, rhs = _kind(expr.lhs), _kind(expr.rhs)
        if isinstance(rhs, ir.AffineConstantExpr):
            return _terms(lhs, coefficient * rhs.value, out)
        if isinstance(lhs, ir.AffineConstantExpr):
            return _terms(rhs, coefficient * lhs.value, out)
        return False
    out.append((coefficient, expr))
    return True


def _radix_digit(atom: ir.AffineExpr):
    """`(x floordiv c) mod n` as (x, c, n); n None when there is no mod. None for other atoms."""
    modulus = None
    atom = _kind(atom)
    if isinstance(atom, ir.AffineModExpr):
        rhs = _kind(atom.rhs)
        if isinstance(rhs, ir.AffineConstantExpr):
            modulus, atom = rhs.value, _kind(atom.lhs)
    if isinstance(atom, ir.AffineFloorDivExpr):
        rhs = _kind(atom.rhs)
        if isinstance(rhs, ir.AffineConstantExpr):
            return _kind(atom.lhs), rhs.value, modulus
    if modulus is not None:
        return atom, 1, modulus
    return None


def linear_offset(expr: ir.AffineExpr, n_dims: int) -> tuple[int, list[int]] | None:
    """`expr` as constant + sum(coeff_j * d_j), using mixed-radix identities.

    A reshape of a dense buffer reads `s*(x floordiv c) + (s/c')*... `; the
    identity  b*n*(x floordiv (c*n)) + b*((x floordiv c) mod n) == b*(x floordiv c)
    merges such digits back into the linear `x` they came from, which is how
    a flatten or split of contiguous dims turns out to be a plain strided view.
    """
    terms: list = []
    if not _terms(expr, 1, terms):
        return None
    # Each digit: [coefficient, x, divisor, modulus or None]
    digits, linear = [], []
    for coefficient, atom in terms:
        digit = _radix_digit(atom)
        if digit is None:
            linear.append(atom * coefficient if coefficient != 1 else atom)
        else:
            digits.append([coefficient, *digit])
    merged = True
    while merged:
        merged = False
        for i, low in enumerate(digits):
            b, x, c, n = low
            if n is None:
                continue
            for j, high in enumerate(digits):
                if j == i or high[1] != x or high[2] != c * n or high[0] != b * n:
                    continue
                modulus = None if high[3] is None else high[3] * n
                digits[i] = [b, x, c, modulus]
                del digits[j]
                merged = True
                break
            if merged:
                break
    for b, x, c, n in digits:
        if c != 1 or n is not None:
            return None
        linear.append(x * b if b != 1 else x)
    total = None
    for e in linear:
        total = e if total is None else total + e
    if total is None:
        return 0, [0] * n_dims
    return linear_form(total, n_dims)


def strided_view_layout(
    amap: ir.AffineMap, source_strides: Sequence[int], source_offset: int
) -> tuple[list[int], int] | None:
    """Strides and offset of a view of a strided buffer, if its storage offsets are linear."""
    simple = _linear_view_layout(amap, source_strides, source_offset)
    if simple is not None:
        return simple
    total = None
    for k, expr in enumerate(amap.results):
        if source_strides[k] == 0:
            continue
        term = expr * source_strides[k] if source_strides[k] != 1 else expr
        total = term if total is None else total + term
    if total is None:
        return [0] * amap.n_dims, source_offset
    form = linear_offset(total, amap.n_dims)
    if form is None:
        return None
    constant, coefficients = form
    return coefficients, source_offset + constant


def _linear_view_layout(
    amap: ir.AffineMap, source_strides: Sequence[int], source_offset: int
) -> tuple[list[int], int] | None:
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
