"""coil-expand-exp: f32 `math.exp` as arithmetic, so LLVM vectorizes loops that use it.

LLVM lowers `llvm.exp.f32` to a call of libm's scalar `expf` per element (the
JIT has no vector math library), which keeps softmax, sigmoid, SiLU or
logsumexp loops scalar. This pass writes exp out with arith ops only:

    n = roundeven(x * log2(e))                  x clamped to [-104, 88.8]
    r = x - n * ln2_hi - n * ln2_lo             (Cody-Waite: n * ln2_hi is exact)
    p = 1 + r + r^2 * P(r)                      (Cephes expf polynomial, |r| <= ln2/2)
    exp(x) = p * 2^n1 * 2^n2, n1 = n >> 1, n2 = n - n1

Scaling by two powers of two keeps each factor a normal float, so results
that overflow give inf and results in the subnormal range are rounded once.
Below ln(2^-150) the result is 0; NaN stays NaN. The error is within 2 ulp of
the correctly rounded value over the whole range (tested against float64).
"""

from __future__ import annotations

from coil.mlir import arith, ir, math
from coil.passes.registry import register_pass
from coil.passes.walk import ops_named

_LOG2E = 1.44269504088896341
_LN2_HI = 0.693359375
_LN2_LO = -2.12194440e-4
# Cephes expf: exp(r) = 1 + r + r^2 * (P0 r^5 + ... + P5)
_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
_UPPER = 88.8  # exp(88.73) overflows f32
_LOWER = -104.0
_ZERO_BELOW = -103.97207708  # ln(2^-150): anything smaller rounds to +0


def expand_exp_f32(x: ir.Value) -> ir.Value:
    """exp(x) for an f32 value, built from arith ops at the current insertion point."""
    f32, i32 = ir.F32Type.get(), ir.IntegerType.get_signless(32)

    def c(v: float) -> ir.Value:
        return arith.constant(f32, v)

    def ci(v: int) -> ir.Value:
        return arith.constant(i32, v)

    clamped = arith.maximumf(arith.minimumf(x, c(_UPPER)), c(_LOWER))  # NaN stays NaN
    n = math.roundeven(arith.mulf(clamped, c(_LOG2E)))
    r = arith.subf(clamped, arith.mulf(n, c(_LN2_HI)))
    r = arith.subf(r, arith.mulf(n, c(_LN2_LO)))
    poly = c(_POLY[0])
    for coefficient in _POLY[1:]:
        poly = arith.addf(arith.mulf(poly, r), c(coefficient))
    p = arith.addf(arith.addf(arith.mulf(arith.mulf(r, r), poly), r), c(1.0))
    # maxnumf/minnumf map a NaN n to a bound, so fptosi never sees NaN (p carries the NaN).
    bounded = arith.minnumf(arith.maxnumf(n, c(-150.0)), c(128.0))
    k = arith.fptosi(i32, bounded)
    k1 = arith.shrsi(k, ci(1))
    k2 = arith.subi(k, k1)

    def power_of_two(e: ir.Value) -> ir.Value:
        return arith.bitcast(f32, arith.shli(arith.addi(e, ci(127)), ci(23)))

    result = arith.mulf(arith.mulf(p, power_of_two(k1)), power_of_two(k2))
    underflow = arith.cmpf(arith.CmpFPredicate.OLT, x, c(_ZERO_BELOW))
    return arith.select(underflow, c(0.0), result)


@register_pass("coil-expand-exp", "Write f32 math.exp as arith ops (vectorizable; within 2 ulp)")
def expand_exp(module: ir.Operation) -> None:
    f32 = ir.F32Type.get()
    for op in ops_named(module, "math.exp"):
        if op.results[0].type != f32:
            continue
        with ir.InsertionPoint(op), op.location:
            value = expand_exp_f32(op.operands[0])
        op.results[0].replace_all_uses_with(value)
        op.erase()
