"""coil-expand-math: f32 transcendentals as arithmetic, so LLVM vectorizes loops that use them.

LLVM lowers `llvm.exp.f32`, `llvm.log.f32` to one libm call per element, and
`convert-math-to-libm` turns `math.tanh`, `math.erf`, `math.expm1`,
`math.log1p` into calls of `tanhf`, `erff`, ... (the JIT has no vector math
library). A call in a loop body keeps the loop scalar, so softmax, GELU, tanh,
log-softmax and cross-entropy run several times slower than Inductor's
Sleef-vectorized C++. This pass writes f32 `math.exp`, `math.expm1`,
`math.log`, `math.log1p`, `math.tanh` and `math.erf` out with arith/math ops
that LLVM vectorizes (mul, add, fma-contractable pairs, div, select, bitcast,
integer shifts, roundeven, fabs, copysign): no calls and no branches. f64 is
left alone (libm), as are the other functions.

The methods are the classic ones of Cephes, fdlibm/musl and SLEEF (argument
reduction to a small interval, a polynomial there, reconstruction); the code
and the coefficients are coil's own:

exp(x)      n = x log2 e rounded to an integer by adding 1.5 2^23 (the sum's low bits
            hold n), r = x - n ln2 (Cody-Waite: ln2 = hi + lo, n * hi exact for
            |n| < 2^15), exp(x) = 2^n (1 + r Q(r)), the scaling done as two powers
            of two, each a normal float, shifted out of the sum's bits: 18 vector
            ops, no conversions, no selects.
expm1(x)    n = roundeven(x log2 e), r as for exp; expm1(r) = r + r^2 (1/2 + r Q(r)), then
            expm1(x) = 2^n expm1(r) + (2^n - 1), where 2^n - 1 is exact for
            |n| <= 24; for n > 24 the -1 is below half an ulp: 2^n (1 + expm1(r)).
            For n = 0 the result is the polynomial on x itself, so small x keep
            every digit (exp(x) - 1 would lose them).
log(x)      x = 2^e m with m in [sqrt(1/2), sqrt(2)) (the exponent field is split
            at the mantissa of sqrt(1/2); subnormals are first scaled by 2^23),
            f = m - 1 (exact), log(x) = e ln2_hi + (f + (f^2 (-1/2 + f P(f)) + e ln2_lo)).
log1p(x)    u = 1 + x rounded, d = (1 + x) - u exactly (Fast2Sum: x - (u - 1)
            for |x| <= 1, 1 - (u - x) above), log1p(x) = log(u) + d / u.
tanh(x)     |x| < 0.55: x + x^3 T(x^2); above: t = expm1(2|x|), tanh = t / (t + 2)
            (|x| clamped to 10, where tanh rounds to 1); the sign is copied back.
erf(x)      |x| < 1: x + x E(x^2); 1 <= |x| < 3.92: a polynomial L(|x| - 2.46) fit to
            erf's absolute error (no exp); |x| >= 3.92 rounds to 1; the sign is copied back.

Coefficients: near-minimax polynomials (Lawson-reweighted least squares on
Chebyshev nodes, minimizing the relative error of the function, or for erf's
L the absolute error) against mpmath references, rounded to f32;
`derive_coefficients()` below reruns the fits. Polynomial steps carry
`fastmath<contract>`, so LLVM fuses them into FMAs where the CPU has them; the
steps whose exactness the algorithms rely on (expm1's Cody-Waite, Fast2Sum,
m - 1) carry no flags.

Accuracy against float64 references (test/python/test_fast_math.py, dense
samples over the whole f32 range, subnormals, +-0, +-inf, NaN included): the
largest errors measured over every 127th f32 bit pattern of each sign, in ulp of
the correctly rounded value, are exp 0.99, expm1 1.39, log 0.88, log1p 0.91,
tanh 1.48, erf 0.95; the tests bound them by 2 ulp. Special values are those
of libm: log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, log1p(-1) = -inf,
expm1(-inf) = -1, tanh(+-inf) = +-1, erf(+-inf) = +-1, -0 maps to -0 where the
function is odd, NaN to NaN.
"""

from __future__ import annotations

from collections.abc import Callable

from coil.mlir import arith, ir, math
from coil.passes.registry import register_pass
from coil.passes.walk import ops_named

_LOG2E = 1.44269504088896341
# ln2 = _LN2_HI + _LN2_LO; _LN2_HI = 355/512 has 9 significant bits, so n * _LN2_HI
# is exact for every |n| < 2^15 (exp and expm1 use |n| <= 150, log |e| <= 150).
_LN2_HI = 0.693359375
_LN2_LO = -2.12194440e-4

# exp(r) = 1 + r Q(r), Q(r) = Q0 + Q1 r + ... on |r| <= ln2/2 (fit of expm1(r) / r weighted by
# 1 / exp(r), degree 5; fit error 2e-9 relative; Q0 = 1 exactly).
_EXP_Q = (1.0, 0.4999999403953552, 0.16666431725025177, 0.04166800156235695, 0.00837415549904108,
          0.0013843652559444308)
_EXP_UPPER = 88.8  # exp(88.7229) overflows f32
_EXP_LOWER = -104.0  # exp(-104) < 2^-150: rounds to +0 (exp(-103.972) is 2^-150)
# x log2e + magic rounds to the integer n in the low bits (the ulp of 1.5 2^23 is 1); the
# extra 2 * 127 are the exponent biases of the two factors 2^floor(n/2) and 2^ceil(n/2).
_EXP_MAGIC = 12582912.0 + 254.0

# expm1(r) = r + r^2 (1/2 + r Q(r)), Q(r) = Q0 + Q1 r + ... on |r| <= ln2/2
# (fit of (expm1(r) - r - r^2/2) / r^3, degree 4; fit error 1e-9 relative).
_EXPM1_Q = (0.1666666567325592, 0.041666481643915176, 0.0083334194496274, 0.0013933253940194845,
            0.0001982412359211594)
_EXPM1_UPPER = 88.8
_EXPM1_LOWER = -20.0  # expm1(x) rounds to -1 below ln(2^-25) = -17.3

# log1p(f) = f - f^2/2 + f^3 P(f), P(f) = P0 + P1 f + ... on f in [sqrt(1/2) - 1, sqrt(2) - 1]
# (fit of (log1p(f) - f + f^2/2) / f^3, degree 7; fit error 8e-9 relative).
_LOG_P = (0.3333333134651184, -0.250008225440979, 0.20001226663589478, -0.16623356938362122,
          0.14201761782169342, -0.131601944565773, 0.12761549651622772, -0.07634429633617401)
_SQRT_HALF_BITS = 0x3F3504F3  # f32 bits of sqrt(1/2): mantissas at or above it keep their exponent
_MIN_NORMAL = 1.1754943508222875e-38  # 2^-126

# tanh(x) = x + x s T(s), s = x^2, T(s) = T0 + T1 s + ... on |x| < 0.55
# (fit of (tanh(x) - x) / x^3 in x^2, degree 4; fit error 4e-9 relative).
_TANH_T = (-0.33333316445350647, 0.13332585990428925, -0.05385231226682663, 0.02107168175280094,
           -0.006274243351072073)
_TANH_SMALL = 0.55
_TANH_CLAMP = 10.0  # tanh(x) rounds to 1 above 9.01 (1 - tanh(x) ~ 2 e^-2x < 2^-25)

# erf(x) = x + x E(s), s = x^2, E(s) = E0 + E1 s + ... on |x| < 1
# (fit of (erf(x) - x) / x in x^2, degree 6; fit error 1.5e-9 relative; E0 = 2/sqrt(pi) - 1).
_ERF_E = (0.12837916612625122, -0.3761262595653534, 0.1128358542919159, -0.026853816583752632,
          0.00518833426758647, -0.0008010247256606817, 7.854025170672685e-05)
# erf(x) = L(x - 2.46) on 1 <= x <= 3.92, L(t) = L0 + L1 t + ... (fit of erf's absolute error,
# degree 12, centered on the interval so that Horner's terms stay small; fit error 3e-8, half
# an ulp of 1). No exp: 12 multiply-adds instead of exp and a polynomial of erfc(x) exp(x^2).
_ERF_L = (0.9994966983795166, 0.0026561934500932693, -0.006535763386636972, 0.009832995012402534,
          -0.009904826991260052, 0.0067976550199091434, -0.002963509177789092, 0.00046216652845032513,
          0.000391131266951561, -0.00030167537624947727, 5.166672053746879e-05, 2.5420496967853978e-05,
          -9.124727512244135e-06)
_ERF_L_CENTER = 2.46
_ERF_SMALL = 1.0
_ERF_CLAMP = 3.92  # erf(x) rounds to 1 above 3.92 (erfc(x) < 2^-25); L(3.92 - 2.46) is 1


class _F32:
    """Builders of f32/i32 arith at the current insertion point and location."""

    def __init__(self):
        self.f32 = ir.F32Type.get()
        self.i32 = ir.IntegerType.get_signless(32)
        self.contract = ir.Attribute.parse("#arith.fastmath<contract>")

    def c(self, v: float) -> ir.Value:
        return arith.constant(self.f32, v)

    def ci(self, v: int) -> ir.Value:
        return arith.constant(self.i32, v)

    def horner(self, x: ir.Value, coefficients) -> ir.Value:
        """c0 + c1 x + c2 x^2 + ... with contractable multiply-adds."""
        acc = self.c(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            acc = self.mad(acc, x, self.c(coefficient))
        return acc

    def horner_split(self, x: ir.Value, coefficients, k: int) -> ir.Value:
        """c0 + x (c1 + ... + c_{k-1} x^(k-2) + x^(k-1) (c_k + c_{k+1} x + ...)).

        The two inner Horner chains and x^(k-1) run side by side, for about
        half of one Horner chain's latency (a loop whose iterations the core
        cannot overlap enough waits on that latency). c0 is still added last,
        in one rounding, as in Horner's scheme.
        """
        powers = {1: x}
        for n in range(2, k):
            half = n // 2
            powers[n] = arith.mulf(powers[half], powers[n - half])
        inner = self.mad(self.horner(x, coefficients[k:]), powers[k - 1], self.horner(x, coefficients[1:k]))
        return self.mad(inner, x, self.c(coefficients[0]))

    def mad(self, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        """a * b + c, which LLVM may fuse into one FMA."""
        return arith.addf(arith.mulf(a, b, fastmath=self.contract), c, fastmath=self.contract)

    def pow2(self, e: ir.Value) -> ir.Value:
        """2^e for an i32 e in [-126, 127], built in the exponent field."""
        return arith.bitcast(self.f32, arith.shli(arith.addi(e, self.ci(127)), self.ci(23)))

    def lt(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return arith.cmpf(arith.CmpFPredicate.OLT, a, b)

    def eq(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return arith.cmpf(arith.CmpFPredicate.OEQ, a, b)


def _reduce_ln2(b: _F32, x: ir.Value, lower: float, upper: float):
    """x clamped to [lower, upper] (NaN stays NaN) as n ln2 + r: returns (r, n as f32, n as i32)."""
    clamped = arith.maximumf(arith.minimumf(x, b.c(upper)), b.c(lower))
    n = math.roundeven(arith.mulf(clamped, b.c(_LOG2E)))
    r = arith.subf(clamped, arith.mulf(n, b.c(_LN2_HI)))
    r = arith.subf(r, arith.mulf(n, b.c(_LN2_LO)))
    # maxnumf/minnumf map a NaN n to a bound, so fptosi never sees NaN (r carries the NaN).
    k = arith.fptosi(b.i32, arith.minnumf(arith.maxnumf(n, b.c(-150.0)), b.c(128.0)))
    return r, n, k


def _scale(b: _F32, p: ir.Value, k: ir.Value) -> ir.Value:
    """p * 2^k for k in [-150, 128], as two factors that are both normal floats (one rounding)."""
    k1 = arith.shrsi(k, b.ci(1))
    k2 = arith.subi(k, k1)
    return arith.mulf(arith.mulf(p, b.pow2(k1)), b.pow2(k2))


def _exp_of_clamped(b: _F32, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """exp(x) = p * 2^n for x in [_EXP_LOWER, _EXP_UPPER] (or NaN): returns (p, t), where
    t = n + _EXP_MAGIC, so that t's f32 bits hold n + 254 in their low bits. One
    multiply-add rounds x log2e to the integer n (the magic number's ulp is 1), two reduce x by
    n ln2 (n ln2_hi is exact, so fused or not they are Cody-Waite's steps), six evaluate
    p = 1 + r Q(r)."""
    t = b.mad(x, b.c(_LOG2E), b.c(_EXP_MAGIC))
    n = arith.subf(t, b.c(_EXP_MAGIC))
    r = b.mad(n, b.c(-_LN2_HI), x)
    r = b.mad(n, b.c(-_LN2_LO), r)
    p = b.mad(r, b.horner(r, _EXP_Q), b.c(1.0))
    return p, t


def expand_exp_f32(x: ir.Value) -> ir.Value:
    """exp(x) for an f32 value, built from arith ops at the current insertion point.

    Below -104 (x clamped there) the result rounds to +0, above 88.8 to inf.
    2^n, n in [-150, 128], is applied as 2^floor(n/2) 2^ceil(n/2), both normal
    (one rounding, so subnormal results are correctly rounded too), built by
    shifts straight from t's bits: with t = 1.5 2^23 + 254 + n, the exponent field
    of (bits >> 1) << 23 is 127 + floor(n/2), that of (bits - (bits >> 1)) << 23 is
    127 + ceil(n/2) (the rest of the bits is shifted out)."""
    b = _F32()
    clamped = arith.maximumf(arith.minimumf(x, b.c(_EXP_UPPER)), b.c(_EXP_LOWER))  # NaN stays NaN
    p, t = _exp_of_clamped(b, clamped)
    bits = arith.bitcast(b.i32, t)
    half = arith.shrsi(bits, b.ci(1))
    low = arith.bitcast(b.f32, arith.shli(half, b.ci(23)))
    high = arith.bitcast(b.f32, arith.shli(arith.subi(bits, half), b.ci(23)))
    return arith.mulf(arith.mulf(p, low), high)


def expand_expm1_f32(x: ir.Value) -> ir.Value:
    """expm1(x) for an f32 value, accurate for small |x| (no exp(x) - 1 cancellation)."""
    b = _F32()
    r, _, k = _reduce_ln2(b, x, _EXPM1_LOWER, _EXPM1_UPPER)
    r2 = arith.mulf(r, r)
    half_plus = b.mad(r, b.horner(r, _EXPM1_Q), b.c(0.5))
    p = b.mad(r2, half_plus, r)  # expm1(r)
    # |n| <= 24: 2^n p + (2^n - 1), both terms exact but for p's own error.
    s = b.pow2(arith.minsi(k, b.ci(24)))
    near = b.mad(s, p, arith.subf(s, b.c(1.0)))
    # n > 24: 2^n (1 + p); the -1 is below half an ulp.
    far = _scale(b, arith.addf(p, b.c(1.0)), k)
    result = arith.select(arith.cmpi(arith.CmpIPredicate.sgt, k, b.ci(24)), far, near)
    # |x| < 2^-25: expm1(x) rounds to x (keeps -0 and subnormals exact).
    tiny = b.lt(math.absf(x), b.c(2.0**-25))
    return arith.select(tiny, x, result)


def _log_of_normal(b: _F32, u: ir.Value, exponent_bias: ir.Value, extra_low: ir.Value | None) -> ir.Value:
    """log(u) for a positive normal f32 u, minus exponent_bias * ln2; `extra_low` (a term far
    below the result's ulp, such as log1p's rounding correction) is added with the low part."""
    bits = arith.bitcast(b.i32, u)
    # Moving the exponent boundary from 1 to sqrt(1/2): m = u / 2^e lands in [sqrt(1/2), sqrt(2)).
    shifted = arith.addi(bits, b.ci(0x3F800000 - _SQRT_HALF_BITS))
    e = arith.subi(arith.subi(arith.shrsi(shifted, b.ci(23)), b.ci(127)), exponent_bias)
    m_bits = arith.addi(arith.andi(shifted, b.ci(0x007FFFFF)), b.ci(_SQRT_HALF_BITS))
    f = arith.subf(arith.bitcast(b.f32, m_bits), b.c(1.0))  # exact (Sterbenz)
    ef = arith.sitofp(b.f32, e)
    f2 = arith.mulf(f, f)
    low = arith.mulf(f2, b.mad(f, b.horner(f, _LOG_P), b.c(-0.5)))  # log1p(f) - f
    if extra_low is not None:
        low = arith.addf(low, extra_low)
    low = arith.addf(low, arith.mulf(ef, b.c(_LN2_LO)))
    return arith.addf(arith.mulf(ef, b.c(_LN2_HI)), arith.addf(f, low))


def expand_log_f32(x: ir.Value) -> ir.Value:
    """log(x) for an f32 value: -inf at +-0, NaN below 0, inf at inf, NaN for NaN."""
    b = _F32()
    subnormal = b.lt(x, b.c(_MIN_NORMAL))
    u = arith.select(subnormal, arith.mulf(x, b.c(2.0**23)), x)
    bias = arith.select(subnormal, b.ci(23), b.ci(0))
    result = _log_of_normal(b, u, bias, None)
    inf = b.c(float("inf"))
    result = arith.select(b.eq(x, inf), inf, result)
    result = arith.select(b.eq(x, b.c(0.0)), b.c(float("-inf")), result)
    # ULT: x < 0 or x is NaN.
    return arith.select(arith.cmpf(arith.CmpFPredicate.ULT, x, b.c(0.0)), b.c(float("nan")), result)


def expand_log1p_f32(x: ir.Value) -> ir.Value:
    """log1p(x) for an f32 value, accurate for small |x|: -inf at -1, NaN below -1 and for NaN."""
    b = _F32()
    one = b.c(1.0)
    u = arith.addf(x, one)
    # d = (1 + x) - u exactly (Fast2Sum, the larger operand first).
    d_small = arith.subf(x, arith.subf(u, one))
    d_large = arith.subf(one, arith.subf(u, x))
    d = arith.select(b.lt(math.absf(x), one), d_small, d_large)
    result = _log_of_normal(b, u, b.ci(0), arith.divf(d, u))  # log(u + d) = log(u) + d/u
    inf = b.c(float("inf"))
    result = arith.select(b.eq(x, inf), inf, result)
    result = arith.select(b.eq(x, b.c(-1.0)), b.c(float("-inf")), result)
    result = arith.select(b.lt(math.absf(x), b.c(2.0**-24)), x, result)  # rounds to x; keeps -0
    return arith.select(arith.cmpf(arith.CmpFPredicate.ULT, x, b.c(-1.0)), b.c(float("nan")), result)


def expand_tanh_f32(x: ir.Value) -> ir.Value:
    """tanh(x) for an f32 value; odd, +-1 at +-inf, NaN for NaN."""
    b = _F32()
    a = math.absf(x)
    s = arith.mulf(a, a)
    small = b.mad(arith.mulf(a, s), b.horner(s, _TANH_T), a)
    t = expand_expm1_f32(arith.mulf(arith.minimumf(a, b.c(_TANH_CLAMP)), b.c(2.0)))  # NaN stays NaN
    large = arith.divf(t, arith.addf(t, b.c(2.0)))
    return math.copysign(arith.select(b.lt(a, b.c(_TANH_SMALL)), small, large), x)


def expand_erf_f32(x: ir.Value) -> ir.Value:
    """erf(x) for an f32 value; odd, +-1 at +-inf, NaN for NaN."""
    b = _F32()
    a = math.absf(x)
    small = b.mad(a, b.horner(arith.mulf(a, a), _ERF_E), a)
    ac = arith.minimumf(a, b.c(_ERF_CLAMP))  # NaN stays NaN
    large = b.horner_split(arith.subf(ac, b.c(_ERF_L_CENTER)), _ERF_L, 7)
    return math.copysign(arith.select(b.lt(a, b.c(_ERF_SMALL)), small, large), x)


EXPANSIONS: dict[str, Callable[[ir.Value], ir.Value]] = {
    "math.exp": expand_exp_f32,
    "math.expm1": expand_expm1_f32,
    "math.log": expand_log_f32,
    "math.log1p": expand_log1p_f32,
    "math.tanh": expand_tanh_f32,
    "math.erf": expand_erf_f32,
}


def expand_math_ops(module: ir.Operation, names=tuple(EXPANSIONS)) -> int:
    """Replaces the scalar f32 ops named in `names` with their expansions; returns how many."""
    f32 = ir.F32Type.get()
    count = 0
    for op in ops_named(module, *names):
        if op.results[0].type != f32:
            continue
        with ir.InsertionPoint(op), op.location:
            value = EXPANSIONS[op.operation.name](op.operands[0])
        op.results[0].replace_all_uses_with(value)
        op.erase()
        count += 1
    return count


@register_pass(
    "coil-expand-math",
    "Write f32 math.exp/expm1/log/log1p/tanh/erf as arith ops (vectorizable; within 2 ulp)",
)
def expand_math(module: ir.Operation) -> None:
    expand_math_ops(module)


@register_pass("coil-expand-exp", "Write f32 math.exp as arith ops (vectorizable; within 2 ulp)")
def expand_exp(module: ir.Operation) -> None:
    expand_math_ops(module, ("math.exp",))


def derive_coefficients(n: int = 4000, iterations: int = 60) -> dict[str, list[float]]:
    """Reruns the polynomial fits behind the constants above (needs numpy and mpmath).

    Each fit minimizes max |w(x) (sum_k c_k x^p_k - g(x))| over n Chebyshev nodes by
    Lawson's iteration (least squares, reweighted by the error, which tends to the
    minimax solution); the coefficients are then rounded to f32.
    """
    import mpmath as mp
    import numpy as np

    mp.mp.dps = 40

    def fit(g, powers, lo, hi, w):
        k = np.arange(n)
        xs = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
        target = np.array([float(g(mp.mpf(float(v)))) for v in xs])
        weight = np.array([float(w(mp.mpf(float(v)))) for v in xs])
        basis = np.stack([xs**p for p in powers], 1)
        lawson = np.full(n, 1.0 / n)
        for _ in range(iterations):
            sw = np.sqrt(lawson) * weight
            coefficients, *_ = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)
            lawson *= np.abs((basis @ coefficients - target) * weight)
            lawson /= lawson.sum()
        return [float(np.float32(c)) for c in coefficients]

    half_ln2 = float(mp.log(2)) / 2
    return {
        "exp": fit(mp.expm1, range(1, 7), -half_ln2, half_ln2, lambda r: 1 / mp.exp(r)),
        "expm1": fit(lambda r: mp.expm1(r) - r - r * r / 2, range(3, 8), -half_ln2, half_ln2,
                     lambda r: 1 / abs(mp.expm1(r))),
        "log": fit(lambda f: mp.log1p(f) - f + f * f / 2, range(3, 11), float(mp.sqrt(0.5)) - 1,
                   float(mp.sqrt(2)) - 1, lambda f: 1 / abs(mp.log1p(f))),
        "tanh": fit(lambda v: mp.tanh(v) - v, range(3, 12, 2), 1e-4, _TANH_SMALL, lambda v: 1 / mp.tanh(v)),
        "erf": fit(lambda v: mp.erf(v) - v, range(1, 14, 2), 1e-4, _ERF_SMALL, lambda v: 1 / mp.erf(v)),
        "erf_large": fit(lambda t: mp.erf(t + _ERF_L_CENTER), range(13), _ERF_SMALL - _ERF_L_CENTER,
                         _ERF_CLAMP - _ERF_L_CENTER, lambda t: 1),
    }


__all__ = [
    "EXPANSIONS",
    "derive_coefficients",
    "expand_erf_f32",
    "expand_exp_f32",
    "expand_expm1_f32",
    "expand_log1p_f32",
    "expand_log_f32",
    "expand_math",
    "expand_math_ops",
    "expand_tanh_f32",
]
