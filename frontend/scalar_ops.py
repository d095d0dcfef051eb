"""Scalar operations inside pointwise and reduction bodies: coil's `ops.*`.

Inductor writes kernel bodies against a handler (`ops.add`, `ops.exp`,
`ops.to_dtype`, ...). This module is that handler for coil: each function
emits `arith`/`math` ops at the current insertion point and returns a
`Scalar`, which carries the torch dtype next to the MLIR value, because
signless integers do not say whether they are signed and the semantics of
PyTorch ops depend on it.
"""

from __future__ import annotations

import math as pymath
from dataclasses import dataclass

import torch

from coil.dialects.ops import EXACT_DIVISION
from coil.dialects.types import element_type_for_dtype, scalar_type
from coil.mlir import arith, ir, math

_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int8: "int8",
    torch.int16: "int16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.uint8: "uint8",
    torch.bool: "bool",
}

SUPPORTED_DTYPES = frozenset(_DTYPE_NAMES)


def dtype_name(dtype: torch.dtype) -> str:
    try:
        return _DTYPE_NAMES[dtype]
    except KeyError:
        raise NotImplementedError(f"coil does not generate code for dtype {dtype}") from None


def element_type(dtype: torch.dtype) -> ir.Type:
    """The tensor/buffer element type of `dtype` (keeps unsignedness)."""
    return element_type_for_dtype(dtype_name(dtype))


def mlir_scalar_type(dtype: torch.dtype) -> ir.Type:
    """The signless type a body computes `dtype` in."""
    return scalar_type(element_type(dtype))


def is_float(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point


def is_unsigned(dtype: torch.dtype) -> bool:
    return dtype in (torch.uint8, torch.bool)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision floats compute in float32, as in Inductor and ATen's CPU kernels."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


@dataclass(frozen=True)
class Scalar:
    """One value in a body, with its torch dtype."""

    value: ir.Value
    dtype: torch.dtype


# ---------------------------------------------------------------------------
# Constants and casts


def constant(x, dtype: torch.dtype) -> Scalar:
    if isinstance(x, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        # int() would specialize the graph to this size: symbolic values go through ctx.scalar.
        raise TypeError(f"symbolic value {x} used as a constant")
    t = mlir_scalar_type(dtype)
    if dtype == torch.bool:
        return Scalar(arith.constant(t, int(bool(x))), dtype)
    if is_float(dtype):
        x = float(x)
        if pymath.isnan(x) or pymath.isinf(x):
            return Scalar(arith.constant(t, ir.FloatAttr.get(t, x)), dtype)
        return Scalar(arith.constant(t, x), dtype)
    bits = dtype.itemsize * 8
    x = int(x)
    # Wrap into the signed range of the signless type, as ATen's casts do.
    x = (x + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
    return Scalar(arith.constant(t, x), dtype)


def cast(s: Scalar, dtype: torch.dtype) -> Scalar:
    """Converts `s` to `dtype` with PyTorch's conversion rules."""
    src = s.dtype
    if src == dtype:
        return s
    out_t = mlir_scalar_type(dtype)
    v = s.value
    if dtype == torch.bool:
        zero = constant(0, src).value
        if is_float(src):
            return Scalar(arith.cmpf(arith.CmpFPredicate.UNE, v, zero), dtype)
        return Scalar(arith.cmpi(arith.CmpIPredicate.ne, v, zero), dtype)
    if dtype in (torch.float16, torch.bfloat16) and src not in (torch.float32, torch.float16, torch.bfloat16):
        # c10::Half and c10::BFloat16 are built from a float: a double or an
        # integer is rounded to float first (two roundings, as ATen's casts).
        return cast(cast(s, torch.float32), dtype)
    if is_float(src) and is_float(dtype):
        if src.itemsize < dtype.itemsize or (src == torch.bfloat16 and dtype == torch.float16):
            if src.itemsize == dtype.itemsize:  # bf16 <-> f16 goes through f32
                return cast(cast(s, torch.float32), dtype)
            return Scalar(arith.extf(out_t, v), dtype)
        if src.itemsize == dtype.itemsize:
            return cast(cast(s, torch.float32), dtype)
        return Scalar(arith.truncf(out_t, v), dtype)
    if is_float(dtype):
        if is_unsigned(src):
            return Scalar(arith.uitofp(out_t, v), dtype)
        return Scalar(arith.sitofp(out_t, v), dtype)
    if is_float(src):
        # Float to integer truncates toward zero; to uint8 ATen goes through int64.
        if dtype == torch.uint8:
            wide = Scalar(arith.fptosi(ir.IntegerType.get_signless(64), v), torch.int64)
            return cast(wide, dtype)
        return Scalar(arith.fptosi(out_t, v), dtype)
    # Integer to integer.
    sb, db = src.itemsize * 8 if src != torch.bool else 1, dtype.itemsize * 8
    if sb == db:
        return Scalar(v, dtype)
    if sb < db:
        if is_unsigned(src):
            return Scalar(arith.extui(out_t, v), dtype)
        return Scalar(arith.extsi(out_t, v), dtype)
    return Scalar(arith.trunci(out_t, v), dtype)


def promote(*scalars: Scalar) -> list[Scalar]:
    dtype = scalars[0].dtype
    for s in scalars[1:]:
        dtype = torch.promote_types(dtype, s.dtype)
    return [cast(s, dtype) for s in scalars]


# ---------------------------------------------------------------------------
# Arithmetic


def _binary(float_op, int_op, a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    op = float_op if is_float(a.dtype) else int_op
    return Scalar(op(a.value, b.value), a.dtype)


def add(a: Scalar, b: Scalar) -> Scalar:
    if a.dtype == torch.bool and b.dtype == torch.bool:
        return Scalar(arith.ori(a.value, b.value), torch.bool)
    return _binary(arith.addf, arith.addi, a, b)


def sub(a: Scalar, b: Scalar) -> Scalar:
    return _binary(arith.subf, arith.subi, a, b)


def mul(a: Scalar, b: Scalar) -> Scalar:
    if a.dtype == torch.bool and b.dtype == torch.bool:
        return Scalar(arith.andi(a.value, b.value), torch.bool)
    return _binary(arith.mulf, arith.muli, a, b)


def fma(a: Scalar, b: Scalar, c: Scalar) -> Scalar:
    """a * b + c with one rounding (floats only)."""
    a, b, c = promote(a, b, c)
    if not is_float(a.dtype):
        raise TypeError("fma needs floats")
    return Scalar(math.fma(a.value, b.value, c.value), a.dtype)


def truediv(a: Scalar, b: Scalar, exact: bool = False) -> Scalar:
    """a / b; `exact` marks the division `coil.exact`: correctly rounded on every
    backend (the Triton backend otherwise divides f32 within 2 ulp)."""
    a, b = promote(a, b)
    if not is_float(a.dtype):
        raise TypeError("true division needs floats; the caller promotes first")
    quotient = arith.divf(a.value, b.value)
    if exact:
        quotient.owner.attributes[EXACT_DIVISION] = ir.UnitAttr.get()
    return Scalar(quotient, a.dtype)


def trunc_div(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(math.trunc(arith.divf(a.value, b.value)), a.dtype)
    op = arith.divui if is_unsigned(a.dtype) else arith.divsi
    return Scalar(op(a.value, b.value), a.dtype)


def floor_div(a: Scalar, b: Scalar) -> Scalar:
    """Python's floor division, as ATen's `div_floor_floating` / `div_floor_integer`."""
    a, b = promote(a, b)
    if not is_float(a.dtype):
        if is_unsigned(a.dtype):
            return Scalar(arith.divui(a.value, b.value), a.dtype)
        return Scalar(arith.floordivsi(a.value, b.value), a.dtype)
    dt = a.dtype
    zero = constant(0.0, dt)
    mod = Scalar(arith.remf(a.value, b.value), dt)
    div = truediv(sub(a, mod), b)
    # If mod is non-zero and its sign differs from b's, step down by one.
    mod_nonzero = cmp("ne", mod, zero)
    sign_differs = cmp("ne", cmp("lt", b, zero), cmp("lt", mod, zero))
    adjust = logical_and(mod_nonzero, sign_differs)
    div = where(adjust, sub(div, constant(1.0, dt)), div)
    floored = Scalar(math.floor(div.value), dt)
    round_up = cmp("gt", sub(div, floored), constant(0.5, dt))
    floored = where(round_up, add(floored, constant(1.0, dt)), floored)
    # A zero quotient keeps the sign of a / b.
    plain = truediv(a, b)
    signed_zero = Scalar(math.copysign(zero.value, plain.value), dt)
    result = where(cmp("ne", div, zero), floored, signed_zero)
    # Division by zero gives a / b (inf or nan), as ATen does.
    return where(cmp("eq", b, zero), plain, result)


def fmod(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(arith.remf(a.value, b.value), a.dtype)
    op = arith.remui if is_unsigned(a.dtype) else arith.remsi
    return Scalar(op(a.value, b.value), a.dtype)


def remainder(a: Scalar, b: Scalar) -> Scalar:
    """Python's modulo: the result takes the sign of the divisor."""
    a, b = promote(a, b)
    if is_unsigned(a.dtype):
        return fmod(a, b)
    r = fmod(a, b)
    zero = constant(0, a.dtype)
    needs_fix = logical_and(cmp("ne", r, zero), cmp("ne", cmp("lt", r, zero), cmp("lt", b, zero)))
    return where(needs_fix, add(r, b), r)


def neg(a: Scalar) -> Scalar:
    if is_float(a.dtype):
        return Scalar(arith.negf(a.value), a.dtype)
    return sub(constant(0, a.dtype), a)


def abs(a: Scalar) -> Scalar:
    if is_float(a.dtype):
        return Scalar(math.absf(a.value), a.dtype)
    if is_unsigned(a.dtype):
        return a
    return Scalar(math.absi(a.value), a.dtype)


def reciprocal(a: Scalar) -> Scalar:
    return truediv(constant(1.0, a.dtype), a)


def sign(a: Scalar) -> Scalar:
    """(0 < a) - (a < 0), as ATen's CPU kernel: sign(nan) is 0, sign(-0.0) is +0.0."""
    if a.dtype == torch.bool:
        return a
    zero = constant(0, a.dtype)
    pos = cast(cmp("gt", a, zero), a.dtype)
    negative = cast(cmp("lt", a, zero), a.dtype)
    return sub(pos, negative)


def pow(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(math.powf(a.value, b.value), a.dtype)
    return int_pow(a, b)


def int_pow(a: Scalar, b: Scalar) -> Scalar:
    """ATen's `powi`: wrapping square-and-multiply over every bit of the exponent;
    a negative exponent gives 1 for a == 1, +-1 for a == -1 and 0 otherwise."""
    a, b = promote(a, b)
    dtype = a.dtype
    one, zero = constant(1, dtype), constant(0, dtype)
    result, base = one, a
    bits = 1 if dtype == torch.bool else dtype.itemsize * 8
    for k in range(bits if is_unsigned(dtype) else bits - 1):
        bit = Scalar(arith.andi(arith.shrui(b.value, constant(k, dtype).value), one.value), dtype)
        result = where(cmp("ne", bit, zero), mul(result, base), result)
        base = mul(base, base)
    if is_unsigned(dtype):
        return result
    negative = cmp("lt", b, zero)
    odd = cmp("ne", Scalar(arith.andi(b.value, one.value), dtype), zero)
    minus_one = constant(-1, dtype)
    for_negative = where(
        cmp("eq", a, one), one, where(cmp("eq", a, minus_one), where(odd, minus_one, one), zero)
    )
    return where(negative, for_negative, result)


def pow_int_exponent(a: Scalar, exponent: int) -> Scalar:
    """a ** n for a non-negative integer n by square-and-multiply (exact for integers)."""
    if exponent < 0:
        raise ValueError("pow_int_exponent takes a non-negative exponent")
    if exponent == 0:
        return constant(1, a.dtype)
    result = None
    base = a
    n = exponent
    while n:
        if n & 1:
            result = base if result is None else mul(result, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return result


def maximum(a: Scalar, b: Scalar) -> Scalar:
    """NaN-propagating maximum, as torch.maximum."""
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(arith.maximumf(a.value, b.value), a.dtype)
    op = arith.maxui if is_unsigned(a.dtype) else arith.maxsi
    return Scalar(op(a.value, b.value), a.dtype)


def minimum(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(arith.minimumf(a.value, b.value), a.dtype)
    op = arith.minui if is_unsigned(a.dtype) else arith.minsi
    return Scalar(op(a.value, b.value), a.dtype)


def where(cond: Scalar, a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    c = cast(cond, torch.bool)
    return Scalar(arith.select(c.value, a.value, b.value), a.dtype)


# ---------------------------------------------------------------------------
# Comparisons and logic

_FLOAT_PREDICATES = {
    "eq": arith.CmpFPredicate.OEQ,
    "ne": arith.CmpFPredicate.UNE,
    "lt": arith.CmpFPredicate.OLT,
    "le": arith.CmpFPredicate.OLE,
    "gt": arith.CmpFPredicate.OGT,
    "ge": arith.CmpFPredicate.OGE,
}
_SIGNED_PREDICATES = {
    "eq": arith.CmpIPredicate.eq,
    "ne": arith.CmpIPredicate.ne,
    "lt": arith.CmpIPredicate.slt,
    "le": arith.CmpIPredicate.sle,
    "gt": arith.CmpIPredicate.sgt,
    "ge": arith.CmpIPredicate.sge,
}
_UNSIGNED_PREDICATES = {
    "eq": arith.CmpIPredicate.eq,
    "ne": arith.CmpIPredicate.ne,
    "lt": arith.CmpIPredicate.ult,
    "le": arith.CmpIPredicate.ule,
    "gt": arith.CmpIPredicate.ugt,
    "ge": arith.CmpIPredicate.uge,
}


def cmp(predicate: str, a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    if is_float(a.dtype):
        return Scalar(arith.cmpf(_FLOAT_PREDICATES[predicate], a.value, b.value), torch.bool)
    table = _UNSIGNED_PREDICATES if is_unsigned(a.dtype) else _SIGNED_PREDICATES
    return Scalar(arith.cmpi(table[predicate], a.value, b.value), torch.bool)


def to_bool(a: Scalar) -> Scalar:
    return cast(a, torch.bool)


def logical_and(a: Scalar, b: Scalar) -> Scalar:
    return Scalar(arith.andi(to_bool(a).value, to_bool(b).value), torch.bool)


def logical_or(a: Scalar, b: Scalar) -> Scalar:
    return Scalar(arith.ori(to_bool(a).value, to_bool(b).value), torch.bool)


def logical_xor(a: Scalar, b: Scalar) -> Scalar:
    return Scalar(arith.xori(to_bool(a).value, to_bool(b).value), torch.bool)


def logical_not(a: Scalar) -> Scalar:
    return Scalar(arith.xori(to_bool(a).value, constant(True, torch.bool).value), torch.bool)


def bitwise_and(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    return Scalar(arith.andi(a.value, b.value), a.dtype)


def bitwise_or(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    return Scalar(arith.ori(a.value, b.value), a.dtype)


def bitwise_xor(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    return Scalar(arith.xori(a.value, b.value), a.dtype)


def bitwise_not(a: Scalar) -> Scalar:
    ones = constant(True if a.dtype == torch.bool else -1, a.dtype)
    return Scalar(arith.xori(a.value, ones.value), a.dtype)


def _shift_out_of_range(b: Scalar) -> Scalar:
    """b < 0 or b >= the bit width: one unsigned comparison covers both."""
    bits = constant(b.dtype.itemsize * 8, b.dtype)
    return Scalar(arith.cmpi(arith.CmpIPredicate.uge, b.value, bits.value), torch.bool)


def shift_left(a: Scalar, b: Scalar) -> Scalar:
    """ATen's lshift: a shift by a negative amount or by the bit width or more gives 0
    (LLVM's shl would be poison)."""
    a, b = promote(a, b)
    zero = constant(0, a.dtype)
    out_of_range = _shift_out_of_range(b)
    amount = where(out_of_range, zero, b)
    return where(out_of_range, zero, Scalar(arith.shli(a.value, amount.value), a.dtype))


def shift_right(a: Scalar, b: Scalar) -> Scalar:
    """ATen's rshift: an out-of-range amount shifts by width - 1 for signed types (the
    sign fills the result) and gives 0 for unsigned ones."""
    a, b = promote(a, b)
    out_of_range = _shift_out_of_range(b)
    if is_unsigned(a.dtype):
        zero = constant(0, a.dtype)
        amount = where(out_of_range, zero, b)
        return where(out_of_range, zero, Scalar(arith.shrui(a.value, amount.value), a.dtype))
    amount = where(out_of_range, constant(a.dtype.itemsize * 8 - 1, a.dtype), b)
    return Scalar(arith.shrsi(a.value, amount.value), a.dtype)


def isnan(a: Scalar) -> Scalar:
    if not is_float(a.dtype):
        return constant(False, torch.bool)
    return Scalar(arith.cmpf(arith.CmpFPredicate.UNO, a.value, a.value), torch.bool)


def isinf(a: Scalar) -> Scalar:
    if not is_float(a.dtype):
        return constant(False, torch.bool)
    return cmp("eq", abs(a), constant(float("inf"), a.dtype))


def isfinite(a: Scalar) -> Scalar:
    if not is_float(a.dtype):
        return constant(True, torch.bool)
    return cmp("lt", abs(a), constant(float("inf"), a.dtype))


# ---------------------------------------------------------------------------
# Transcendental and rounding functions (floats only; callers promote first)


def _unary_math(fn):
    def apply(a: Scalar) -> Scalar:
        if not is_float(a.dtype):
            raise TypeError(f"{fn.__name__} needs a float operand, got {a.dtype}")
        return Scalar(fn(a.value), a.dtype)

    apply.__name__ = fn.__name__
    return apply


exp = _unary_math(math.exp)
exp2 = _unary_math(math.exp2)
expm1 = _unary_math(math.expm1)
log = _unary_math(math.log)
log1p = _unary_math(math.log1p)
log2 = _unary_math(math.log2)
log10 = _unary_math(math.log10)
sqrt = _unary_math(math.sqrt)
rsqrt = _unary_math(math.rsqrt)
sin = _unary_math(math.sin)
cos = _unary_math(math.cos)
tan = _unary_math(math.tan)
asin = _unary_math(math.asin)
acos = _unary_math(math.acos)
atan = _unary_math(math.atan)
sinh = _unary_math(math.sinh)
cosh = _unary_math(math.cosh)
tanh = _unary_math(math.tanh)
asinh = _unary_math(math.asinh)
acosh = _unary_math(math.acosh)
atanh = _unary_math(math.atanh)
erf = _unary_math(math.erf)
erfc = _unary_math(math.erfc)


def atan2(a: Scalar, b: Scalar) -> Scalar:
    a, b = promote(a, b)
    return Scalar(math.atan2(a.value, b.value), a.dtype)


def sigmoid(a: Scalar) -> Scalar:
    one = constant(1.0, a.dtype)
    return truediv(one, add(one, exp(neg(a))))


def _rounding(fn):
    def apply(a: Scalar) -> Scalar:
        if not is_float(a.dtype):
            return a  # integers are already whole
        return Scalar(fn(a.value), a.dtype)

    apply.__name__ = fn.__name__
    return apply


floor = _rounding(math.floor)
ceil = _rounding(math.ceil)
trunc = _rounding(math.trunc)
round = _rounding(math.roundeven)  # torch.round rounds half to even
