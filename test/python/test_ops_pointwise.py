"""Numerics of coil's elementwise lowerings (frontend/lower_pointwise.py) against eager.

Every op runs over every dtype eager accepts for it, plus the layouts that
exercise indexing: transposed, sliced and expanded inputs, 0-d tensors, empty
tensors, broadcasting and Python-scalar operands, and float special values
(NaN, infinities, signed zeros).
"""

from __future__ import annotations

import pytest
import torch
from test_ops_util import (  # noqa: F401  (coil_test_env is an autouse fixture)
    ALL_DTYPES,
    LAYOUTS,
    check,
    check_cases,
    coil_test_env,
    dtype_id,
    eager_accepts,
    make,
    make_layout,
    special_values,
)

SHAPE = (5, 7)


# ---------------------------------------------------------------------------
# Unary ops: name -> (fn, low, high); values are drawn from [low, high).

UNARY = {
    "neg": (torch.neg, None, None),
    "abs": (torch.abs, None, None),
    "reciprocal": (torch.reciprocal, None, None),
    "sign": (torch.sign, None, None),
    "sgn": (torch.sgn, None, None),
    "exp": (torch.exp, -5, 5),
    "exp2": (torch.exp2, -5, 5),
    "expm1": (torch.expm1, -5, 5),
    "log": (torch.log, 0.01, 10),
    "log1p": (torch.log1p, -0.9, 10),
    "log2": (torch.log2, 0.01, 10),
    "log10": (torch.log10, 0.01, 10),
    "sqrt": (torch.sqrt, 0, 10),
    "rsqrt": (torch.rsqrt, 0.01, 10),
    "sin": (torch.sin, -4, 4),
    "cos": (torch.cos, -4, 4),
    "tan": (torch.tan, -1.5, 1.5),
    "asin": (torch.asin, -1, 1),
    "acos": (torch.acos, -1, 1),
    "atan": (torch.atan, -5, 5),
    "sinh": (torch.sinh, -5, 5),
    "cosh": (torch.cosh, -5, 5),
    "tanh": (torch.tanh, -5, 5),
    "asinh": (torch.asinh, -5, 5),
    "acosh": (torch.acosh, 1, 10),
    "atanh": (torch.atanh, -0.95, 0.95),
    "sigmoid": (torch.sigmoid, -8, 8),
    "erf": (torch.erf, -3, 3),
    "erfc": (torch.erfc, -3, 3),
    "floor": (torch.floor, -10, 10),
    "ceil": (torch.ceil, -10, 10),
    "round": (torch.round, -10, 10),
    "trunc": (torch.trunc, -10, 10),
    "round_decimals": (lambda x: torch.round(x, decimals=2), -10, 10),
    "relu": (torch.relu, None, None),
    "bitwise_not": (torch.bitwise_not, None, None),
    "logical_not": (torch.logical_not, None, None),
    "isnan": (torch.isnan, None, None),
    "isinf": (torch.isinf, None, None),
    "isfinite": (torch.isfinite, None, None),
    "isneginf": (torch.isneginf, None, None),
    "isposinf": (torch.isposinf, None, None),
}


def _unary_fill(name: str, dtype: torch.dtype):
    _, low, high = UNARY[name]

    def fill(shape):
        x = make(shape, dtype, low, high)
        if name in ("round", "round_decimals") and dtype.is_floating_point:
            # Exact halves (and hundredths), where round-half-to-even matters.
            step = 0.5 if name == "round" else 0.005
            halves = (torch.arange(x.numel(), dtype=torch.float64).reshape(shape) - 7) * step
            x = torch.where(torch.arange(shape[-1]) % 2 == 0, halves.to(dtype), x)
        if dtype in (torch.float32, torch.float16):
            # NaN, infinities and signed zeros, in the tensor itself.
            special = special_values(dtype)
            n = min(x.numel(), special.numel())
            x.view(-1)[:n] = special[:n]
        return x

    return fill


def _unary_accepts(name: str, dtype: torch.dtype) -> bool:
    return eager_accepts(UNARY[name][0], _unary_fill(name, dtype)((2, 2)))


def _fallback_dtype(accepts) -> torch.dtype:
    """float32, or the first dtype the op accepts, for the 0-d and empty cases."""
    return next(d for d in [torch.float32] + ALL_DTYPES if accepts(d))


def _unary_cases(name: str, dtypes, extras: bool) -> list:
    """Per dtype one case, in a layout that rotates with the dtype; with `extras`, a
    0-d and an empty input too."""
    fn = UNARY[name][0]
    cases = []
    for i, dtype in enumerate(ALL_DTYPES):
        if dtype in dtypes and _unary_accepts(name, dtype):
            layout = LAYOUTS[i % len(LAYOUTS)]
            x = make_layout(SHAPE, layout, _unary_fill(name, dtype))
            cases.append((f"{name} {dtype_id(dtype)} {layout}", fn, (x,)))
    if extras:
        dtype = _fallback_dtype(lambda d: _unary_accepts(name, d))
        x = _unary_fill(name, dtype)((4, 3))
        cases += [(f"{name} {dtype_id(dtype)} 0-d", fn, (x[1, 1].clone(),)), (f"{name} {dtype_id(dtype)} empty", fn, (x[:0],))]
    return cases


@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name):
    """Every dtype eager accepts, each in another layout, float special values; every
    other op also on a 0-d and an empty tensor."""
    check_cases(_unary_cases(name, ALL_DTYPES, extras=list(UNARY).index(name) % 2 == 0), equal_nan=True)


# ---------------------------------------------------------------------------
# Binary ops: name -> (fn, divisor_nonzero). The second operand of ops with
# `divisor_nonzero` excludes zero (integer division by zero is undefined).

BINARY = {
    "add": (torch.add, False),
    "add_alpha": (lambda a, b: torch.add(a, b, alpha=2), False),
    "sub": (torch.sub, False),
    "sub_alpha": (lambda a, b: torch.sub(a, b, alpha=4), False),
    "rsub": (torch.rsub, False),
    "rsub_alpha": (lambda a, b: torch.rsub(a, b, alpha=2), False),
    "mul": (torch.mul, False),
    "div": (torch.div, False),
    "div_trunc": (lambda a, b: torch.div(a, b, rounding_mode="trunc"), True),
    "div_floor": (lambda a, b: torch.div(a, b, rounding_mode="floor"), True),
    "floor_divide": (torch.floor_divide, True),
    "fmod": (torch.fmod, True),
    "remainder": (torch.remainder, True),
    "pow": (torch.pow, False),
    "atan2": (torch.atan2, False),
    "minimum": (torch.minimum, False),
    "maximum": (torch.maximum, False),
    "eq": (torch.eq, False),
    "ne": (torch.ne, False),
    "lt": (torch.lt, False),
    "le": (torch.le, False),
    "gt": (torch.gt, False),
    "ge": (torch.ge, False),
    "logical_and": (torch.logical_and, False),
    "logical_or": (torch.logical_or, False),
    "logical_xor": (torch.logical_xor, False),
    "bitwise_and": (torch.bitwise_and, False),
    "bitwise_or": (torch.bitwise_or, False),
    "bitwise_xor": (torch.bitwise_xor, False),
    "bitwise_left_shift": (torch.bitwise_left_shift, False),
    "bitwise_right_shift": (torch.bitwise_right_shift, False),
}


def _binary_fills(name: str, dtype: torch.dtype):
    """Makers of the two operands' values for `name` on `dtype`."""
    nonzero = BINARY[name][1]
    if name == "pow":
        if dtype.is_floating_point:
            return (lambda s: make(s, dtype, 0.1, 3)), (lambda s: make(s, dtype, -3, 3))
        return (lambda s: make(s, dtype, -4, 5)), (lambda s: make(s, dtype, 0, 4))
    if name.endswith("shift"):
        bits = 8 if dtype == torch.bool else dtype.itemsize * 8
        return (lambda s: make(s, dtype)), (lambda s: make(s, dtype, 0, bits))
    # Both operands exclude zero where one must: some cases swap the operands.
    return (lambda s: make(s, dtype, exclude_zero=nonzero)), (lambda s: make(s, dtype, exclude_zero=nonzero))


def _binary_accepts(name: str, dtype: torch.dtype) -> bool:
    fill_a, fill_b = _binary_fills(name, dtype)
    return eager_accepts(BINARY[name][0], fill_a((2, 2)), fill_b((2, 2)))


# The second case of each dtype, in turn: Python scalars of each kind and a 0-d tensor.
SECOND_OPERANDS = [3, 2.5, "0-d", -2, True, 0.75, "0-d", 1, -1.5, "0-d"]

# Python scalar first: the reflected operators (rsub, remainder.Scalar_Tensor, pow.Scalar, ...).
REFLECTED = {
    "add": lambda s, x: s + x,
    "sub": lambda s, x: s - x,
    "mul": lambda s, x: s * x,
    "div": lambda s, x: s / x,
    "floor_divide": lambda s, x: s // x,
    "remainder": lambda s, x: s % x,
    "pow": lambda s, x: s**x,
    "lt": lambda s, x: s < x,
    "ge": lambda s, x: s >= x,
    "eq": lambda s, x: s == x,
    "bitwise_and": lambda s, x: s & x,
    "bitwise_xor": lambda s, x: s ^ x,
    "bitwise_left_shift": lambda s, x: s << x,
    "bitwise_right_shift": lambda s, x: s >> x,
}

SPECIAL_BINARY = [
    "add", "sub", "mul", "div", "div_trunc", "div_floor", "floor_divide", "fmod", "remainder", "pow",
    "atan2", "minimum", "maximum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_xor",
]


def _binary_cases(name: str, dtypes, extras: bool) -> list:
    """Per dtype: a tensor (in some layout) with a broadcast tensor, and with a Python
    scalar or a 0-d tensor; every pair of float special values; with `extras`, 0-d with
    0-d and empty operands."""
    fn = BINARY[name][0]
    cases = []
    for i, dtype in enumerate(ALL_DTYPES):
        if dtype not in dtypes or not _binary_accepts(name, dtype):
            continue
        if name == "pow" and not dtype.is_floating_point:
            continue  # integer pow: test_pow_integer_tensor_tensor
        fill_a, fill_b = _binary_fills(name, dtype)
        layout = LAYOUTS[i % len(LAYOUTS)]
        a = make_layout(SHAPE, layout, fill_a)
        b = fill_b((1, SHAPE[1]) if i % 2 else (SHAPE[0], 1))
        if dtype.is_floating_point:
            b.view(-1)[:2] = a[0, :2] if i % 2 else a[:2, 0]  # equal operands
        label = f"{name} {dtype_id(dtype)}"
        cases.append((f"{label} {layout} with broadcast", fn, (a, b) if i % 3 else (b, a)))
        second = SECOND_OPERANDS[i]
        if second == "0-d":
            cases.append((f"{label} with 0-d tensor", fn, (a, fill_b(()))))
        else:
            if name.endswith("shift") and not (isinstance(second, int) and 0 <= second < 8):
                second = 1
            scalar_fn = (lambda s: lambda x: fn(x, s))(second)
            if eager_accepts(scalar_fn, a):
                cases.append((f"{label} with scalar {second!r}", scalar_fn, (a,)))
        if name in REFLECTED:
            s = 7 if name.endswith("shift") else SECOND_OPERANDS[(i + 1) % len(SECOND_OPERANDS)]
            s = 3 if s == "0-d" else s
            reflected = (lambda s: lambda x: REFLECTED[name](s, x))(s)
            if eager_accepts(reflected, a):
                cases.append((f"{label} scalar {s!r} first", reflected, (a,)))
        if name in SPECIAL_BINARY and dtype in (torch.float32, torch.float16):
            v = special_values(dtype)
            cases.append((f"{label} special values", fn, (v[:, None], v[None, :])))
    if extras:
        dtype = _fallback_dtype(lambda d: _binary_accepts(name, d))
        fill_a, fill_b = _binary_fills(name, dtype)
        a, b = fill_a((3, 4)), fill_b((3, 4))
        cases += [
            (f"{name} {dtype_id(dtype)} 0-d with 0-d", fn, (a[0, 0].clone(), b[1, 1].clone())),
            (f"{name} {dtype_id(dtype)} empty", fn, (a[:0], b[:1])),
        ]
    return cases


@pytest.mark.parametrize("name", list(BINARY))
def test_binary(name):
    check_cases(_binary_cases(name, ALL_DTYPES, extras=list(BINARY).index(name) % 2 == 0), equal_nan=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=dtype_id)
def test_add_alpha_fused(dtype):
    """ATen computes a + alpha * b with alpha converted to the dtype and one fused
    multiply-add. (In test_binary alpha is a power of two, where ATen's scalar
    loop for half precision, which rounds alpha * b first, agrees.)"""
    a, b = make((64,), dtype), make((64,), dtype)
    b0 = make((), dtype)
    cases = [
        ("add alpha=0.3", lambda a, b: torch.add(a, b, alpha=0.3), (a, b)),
        ("sub alpha=-2.7", lambda a, b: torch.sub(a, b, alpha=-2.7), (a, b)),
        ("add 0-d alpha=1.7", lambda a, b: torch.add(a, b, alpha=1.7), (a, b0)),
    ]
    check_cases(cases)


def _foreach_lerp(a, b, weight):
    """As optimizers update their first moment; Dynamo compiles it as
    `_foreach_addcmul_` with value 1 (its foreach lerp polyfill), which coil puts
    back as a lerp for |weight| < 0.5 (`fx_rewrites`)."""
    out = [a.clone()]
    torch._foreach_lerp_(out, [b], weight)
    return out[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int32, torch.int64],
                         ids=dtype_id)
def test_lerp_addcmul_and_addcdiv_round_as_eager(dtype):
    """lerp and addcmul bit for bit as the device's eager kernel. lerp is one
    fma from the nearer end on both devices (PyTorch's decomposition rounds
    twice: a fifth of these float32 elements differ). addcmul: CUDA's computes
    fma(value, t1 * t2, self), the CPU's fma(value * t1, t2, self) (rounded
    twice by x86 DEFAULT kernels, which have no FMA; coil follows
    `torch.backends.cpu.get_cpu_capability()`). With value
    0.1 the orders round differently in float32 for a fifth of these elements,
    so a lowering in another order fails here. The in-place forms, which Dynamo
    splits into a product (quotient) and `prims.fma`, are put back together
    first (`fx_rewrites`); without that a bfloat16 product is rounded before
    the fma. addcdiv_: CUDA's fma(value, t1 / t2, self) with an exact quotient,
    the CPU's self + value * t1 / t2. `torch.addcdiv(..., value=)` Dynamo
    rewrites as a division, a product and a sum: the usual tolerance (and
    float32 and float64 only, see below)."""
    floating = dtype.is_floating_point
    a, b, c = (make((4096,), dtype, exclude_zero=True) for _ in range(3))
    value = 0.1 if floating else 3
    exact = [
        ("addcmul", lambda a, b, c: torch.addcmul(a, b, c, value=value), (a, b, c)),
        ("addcmul broadcast", lambda a, b, c: torch.addcmul(a, b, c, value=value), (a[:64], b[:64, None], c[:64])),
        ("addcmul_ in place", lambda a, b, c: a.clone().addcmul_(b, c, value=-value), (a, b, c)),
        ("addcmul 0-d t2", lambda a, b, c: torch.addcmul(a, b, c, value=value), (a, b, c[0])),
    ]
    close = []
    if floating:  # integer lerp and addcdiv are errors in eager
        w = make((4096,), dtype, low=-1, high=2)
        exact += [
            ("lerp 0.1", lambda a, b: torch.lerp(a, b, 0.1), (a, b)),
            ("lerp 0.7", lambda a, b: torch.lerp(a, b, 0.7), (a, b)),
            ("lerp tensor weight", torch.lerp, (a, b, w)),
            ("lerp_ in place", lambda a, b: a.clone().lerp_(b, 0.3), (a, b)),
        ]
        exact.append(("foreach lerp_ 0.1", lambda a, b: _foreach_lerp(a, b, 0.1), (a, b)))
        if dtype.itemsize >= 4:
            # |w| >= 0.5: Dynamo's polyfill computes 1 - w in the dtype and copies y
            # into x first; not put back, so in half precision its difference,
            # rounded to the dtype (Inductor keeps it in float32), is an ulp off.
            exact.append(("foreach lerp_ 0.7", lambda a, b: _foreach_lerp(a, b, 0.7), (a, b)))
        exact.append(("addcdiv_ in place", lambda a, b, c: a.clone().addcdiv_(b, c, value=-value), (a, b, c)))
        if dtype.itemsize >= 4:
            # In half precision Dynamo's three ops round twice before the sum (eager's
            # kernel once; Inductor keeps them in float32): up to 100% off where the
            # sum cancels. Not put back: `a + b / c * v` written out rounds the same.
            close.append(("addcdiv", lambda a, b, c: torch.addcdiv(a, b, c, value=value), (a, b, c)))
    check_cases(exact, rtol=0, atol=0)
    if close:
        torch._dynamo.reset()
        check_cases(close)


# Mixed-dtype operands: type promotion of tensors, 0-d tensors and scalars.
PROMOTION_PAIRS = [
    (torch.int8, torch.uint8),
    (torch.uint8, torch.int16),
    (torch.uint8, torch.float32),
    (torch.int32, torch.int64),
    (torch.bool, torch.int8),
    (torch.bool, torch.float16),
    (torch.int64, torch.float16),
    (torch.int32, torch.bfloat16),
    (torch.float16, torch.bfloat16),
    (torch.float16, torch.float32),
    (torch.bfloat16, torch.float64),
    (torch.int16, torch.float64),
    (torch.int8, torch.float32),
]


def _promotion_cases(dtype_a: torch.dtype, dtype_b: torch.dtype) -> list:
    a = make(SHAPE, dtype_a)
    b = make(SHAPE, dtype_b, exclude_zero=True)
    b0 = make((), dtype_b, exclude_zero=True)
    label = f"{dtype_id(dtype_a)} with {dtype_id(dtype_b)}:"
    return [
        (f"{label} a + b", torch.add, (a, b)),
        (f"{label} a * b", torch.mul, (a, b)),
        (f"{label} a / b", torch.div, (a, b)),
        (f"{label} a < b", torch.lt, (a, b)),
        (f"{label} maximum", torch.maximum, (a, b)),
        (f"{label} a + 0-d b", torch.add, (a, b0)),  # a 0-d tensor does not promote a tensor of its category
        (f"{label} a * 0-d b", torch.mul, (a, b0)),
        (f"{label} b * 2.5", lambda b: b * 2.5, (b,)),
        (f"{label} where", lambda a, b: torch.where(a > 1, a, b), (a, b)),
    ]


@pytest.mark.parametrize(("dtype_a", "dtype_b"), PROMOTION_PAIRS, ids=[f"{dtype_id(a)}-{dtype_id(b)}" for a, b in PROMOTION_PAIRS])
def test_binary_promotion(dtype_a, dtype_b):
    check_cases(_promotion_cases(dtype_a, dtype_b))


def _pow_cases(dtype: torch.dtype) -> list:
    """Tensor ** scalar (ATen special-cases 0, 1, 0.5, -0.5, -1, 2, 3, -2 by dtype),
    scalar ** tensor, and for integers tensor ** tensor with negative exponents."""
    exponents = [0, 1, 2, 3, 4, 5, 0.5, -0.5, -1, -2, -3, 1.5, 2.0, -2.5]
    if dtype.is_floating_point:
        x = make(SHAPE, dtype, 0.1, 3)
        x[0, :4] = torch.tensor([-2.0, -0.0, 0.0, -1.5], dtype=dtype)
    else:
        x = make(SHAPE, dtype, -3, 4)
    label = f"pow {dtype_id(dtype)}"
    cases = [
        (f"{label} x ** {e!r}", lambda x, e=e: torch.pow(x, e), (x,))
        for e in exponents
        if eager_accepts(lambda x: torch.pow(x, e), x)
    ]
    y = make(SHAPE, dtype, -3, 4)
    cases += [(f"{label} {base!r} ** x", lambda y, base=base: torch.pow(base, y), (y,)) for base in (2, 2.5, -1.5, 1)]
    if not dtype.is_floating_point:
        a, b = make(SHAPE, dtype, -3, 4), make(SHAPE, dtype, 0, 6)
        if dtype != torch.uint8:
            b[0, :] = torch.tensor([-1, -2, -3, -1, -2, -1, -5], dtype=dtype)
            a[0, :] = torch.tensor([1, -1, -1, 2, 0, -3, 1], dtype=dtype)
        cases.append((f"{label} tensor ** tensor", torch.pow, (a, b)))
    return cases


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if d != torch.bool], ids=dtype_id)
def test_pow(dtype):
    check_cases(_pow_cases(dtype), equal_nan=True)


# ---------------------------------------------------------------------------
# clamp, where, masked_fill


def _clamp_accepts(dtype: torch.dtype) -> bool:
    return eager_accepts(torch.clamp, *[torch.ones(2, dtype=dtype)] * 3)


def _clamp_cases(dtype: torch.dtype) -> list:
    x = make(SHAPE, dtype, -10, 10)
    lo = make((1, 7), dtype, -5, 1)
    hi = make((5, 1), dtype, 1, 5)
    label = f"clamp {dtype_id(dtype)}"
    return [
        (f"{label} (-3, 4)", lambda x: torch.clamp(x, -3, 4), (x,)),
        (f"{label} min=2", lambda x: torch.clamp(x, min=2), (x,)),
        (f"{label} max=1", lambda x: torch.clamp(x, max=1), (x,)),
        (f"{label} float bounds promote", lambda x: torch.clamp(x, -2.5, 3.5), (x,)),
        (f"{label} tensor bounds", torch.clamp, (x, lo, hi)),
        (f"{label} tensor min", lambda x, lo: torch.clamp(x, min=lo), (x, lo)),
        (f"{label} clamp_min", lambda x: torch.clamp_min(x, 1), (x,)),
        (f"{label} clamp_max tensor", torch.clamp_max, (x, hi)),
        (f"{label} min > max", lambda x: torch.clamp(x, 4, -3), (x,)),
        (f"{label} bounds a half dtype rounds", lambda x: torch.clamp(x, 0.1234567, 2.7182818), (x,)),
    ]


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if _clamp_accepts(d)], ids=dtype_id)
def test_clamp(dtype):
    check_cases(_clamp_cases(dtype))


def test_clamp_special_values():
    v = special_values(torch.float32)
    bounds = special_values(torch.float32)

    def f(v, b):
        return torch.clamp(v, -1.0, 2.0), torch.clamp(v[:, None], min=b[None, :]), torch.clamp(v[:, None], max=b[None, :])

    check(f, v, bounds, equal_nan=True)


def _where_cases(dtype: torch.dtype) -> list:
    cond = make(SHAPE, torch.bool)
    a = make(SHAPE, dtype)
    b = make((1, 7), dtype)
    c_row = make((7,), torch.bool)
    label = f"where {dtype_id(dtype)}"
    fill = True if dtype == torch.bool else -1
    return [
        (f"{label} tensors", torch.where, (cond, a, b)),
        (f"{label} broadcast condition", torch.where, (c_row, a, b)),
        (f"{label} scalar other", lambda c, a: torch.where(c, a, 3), (cond, a)),
        (f"{label} scalar self", lambda c, b: torch.where(c, 2, b), (cond, b)),
        (f"{label} scalars", lambda c: torch.where(c, 1.5, 0), (cond,)),
        (f"{label} float scalar other", lambda c, a: torch.where(c, a, 2.5), (cond, a)),
        (f"{label} transposed", lambda c, a, b: torch.where(c.t(), a.t(), b.t()), (cond, a, b)),
        (f"{label} computed condition", lambda a, b: torch.where(a > 0 if dtype != torch.bool else a, a, b), (a, b)),
        (f"{label} masked_fill", lambda a, c: a.masked_fill(c, 1), (a, cond)),
        (f"{label} masked_fill broadcast mask", lambda a, c: a.masked_fill(c, fill), (a, c_row)),
    ]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=dtype_id)
def test_where(dtype):
    check_cases(_where_cases(dtype))


# ---------------------------------------------------------------------------
# Casts


def _cast_source(src: torch.dtype, dst: torch.dtype) -> torch.Tensor:
    """Values that convert with defined results: float->int stays in the target's range."""
    if src == torch.bool:
        return torch.tensor([True, False, True, True, False, False])
    if src.is_floating_point:
        values = [0.0, -0.0, 0.3, -0.7, 1.5, -1.5, 2.5, 9.99, -9.99, 100.75, -100.75, 127.5, -128.5]
        if dst == torch.uint8:
            values += [255.9, 300.5, -300.5]  # ATen converts through int64 and wraps
        elif dst in (torch.int16, torch.int32, torch.int64):
            values += [1000.5, -30000.0, 4096.0]
        elif dst.is_floating_point or dst == torch.bool:
            values += [float("nan"), float("inf"), float("-inf"), 65504.0, 1e-5, 3.0e38 if src != torch.float16 else 60000.0]
        if src == torch.float64:
            # double -> half rounds through float in ATen (double rounding).
            values += [1 + 2**-11 + 2**-40, 1 + 2**-8 + 2**-40, -(1 + 2**-11 + 2**-40)]
        t = torch.tensor(values, dtype=torch.float64)
        if dst.is_floating_point or dst == torch.bool:
            return t.to(src)
        info = torch.iinfo(dst)
        if dst != torch.uint8:
            t = t[(t >= info.min) & (t <= info.max)]
        return t.to(src)
    info = torch.iinfo(src)
    values = [0, 1, -1, 2, 100, -100, 127, -128, 255, 256, 1000, -30000, 32767, 65535, 16777217, 2**24 + 2**16 + 1,
              2**31 - 1, -(2**31), 2**40 + 3, -(2**53) - 7, 2**63 - 1, -(2**63)]
    values = [v for v in values if info.min <= v <= info.max]
    return torch.tensor(values, dtype=src)


@pytest.mark.parametrize("src", ALL_DTYPES, ids=dtype_id)
def test_cast(src):
    """`x.to(dst)` for every other dtype; every other target from a transposed input
    too, whose strides the output keeps. Float to uint8 wraps through int64."""
    cases = []
    for k, dst in enumerate(d for d in ALL_DTYPES if d != src):
        x = _cast_source(src, dst)
        cases.append((f"to {dtype_id(dst)}", lambda x, dst=dst: x.to(dst), (x,)))
        if k % 2 == 0:
            y = x.repeat(3).reshape(3, -1).t()
            cases.append((f"transposed to {dtype_id(dst)}", lambda y, dst=dst: y.to(dst), (y,)))
    check_cases(cases, equal_nan=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64, torch.bool], ids=dtype_id)
def test_cast_layouts(dtype):
    x = make((6, 5), torch.float64, -50, 50)

    def f(x):
        return x.to(dtype), x.t().to(dtype), x[::2, 1:].to(dtype), x[0, 0].to(dtype), x[:0].to(dtype)

    check(f, x)


# ---------------------------------------------------------------------------
# clone / copy


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int16, torch.bool], ids=dtype_id)
def test_clone_and_copy(dtype):
    x = make((6, 5), dtype)
    y = make((5,), torch.float64)

    def f(x, y):
        return (
            x.clone(),
            x.t().clone(),  # preserve_format keeps the transposed strides
            x.t().contiguous(),
            x[::2].clone(),  # not dense: a contiguous clone
            torch.clone(x.t(), memory_format=torch.contiguous_format),
            torch.empty_like(x).copy_(y),  # broadcast and convert
            x.new_zeros(6, 5).copy_(x.t().t()),
            x.clone().copy_(y.to(dtype) + 0) if dtype != torch.bool else x.clone(),
        )

    check(f, x, y)


# ---------------------------------------------------------------------------
# Empty tensors whose zero-size dim is not the first


def test_empty_inner_dims():
    check_cases(
        [
            ("neg (4, 0)", torch.neg, (torch.randn(4, 0),)),
            ("add (2, 0, 3)", torch.add, (torch.randn(2, 0, 3), torch.randn(3))),
            ("empty slice of a dim", lambda x: x[:, 3:3] * 2, (torch.randn(4, 5, 6),)),
            ("cat of parts empty in the cat dim", lambda x: torch.cat([x, x], 0) + 1, (torch.randn(2, 0, 4),)),
        ]
    )
