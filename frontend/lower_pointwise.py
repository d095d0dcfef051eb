"""Lowering rules for elementwise ATen ops: each becomes one `coil.pointwise`."""

from __future__ import annotations

import functools
import math as pymath
import platform

import torch
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND as KIND

from . import scalar_ops as ops
from .lowering import LoweringContext, TensorValue, Unsupported, aten, lowering, prims, register_pointwise

# -- arithmetic ---------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _cpu_kernels_fuse() -> bool:
    """Whether ATen's CPU kernels fuse a multiply and an add into one rounding.
    Its AVX2 and AVX-512 kernels are built with FMA, and the compiler contracts
    `a * b + c` there; the x86 DEFAULT kernels (ATEN_CPU_CAPABILITY=default, or
    a CPU without AVX2) have no FMA to contract into. Other architectures' builds
    contract by default."""
    capability = torch.backends.cpu.get_cpu_capability()
    return not (platform.machine().lower() in ("x86_64", "amd64", "i386", "i686") and capability in ("DEFAULT", "NO AVX"))


def _mul_add(ctx: LoweringContext, a, b, c):
    """a * b + c as eager's kernel on this device rounds it: once (CUDA, and CPU
    kernels built with FMA), or twice (x86 CPU kernels without)."""
    if ctx.device.type == "cpu" and not _cpu_kernels_fuse():
        return ops.add(ops.mul(a, b), c)
    return ops.fma(a, b, c)


def _add_scaled(ctx: LoweringContext, a, b, alpha):
    """a + alpha * b as ATen's add kernel computes it. On the CPU alpha is first
    converted to the result dtype and for floats the product is fused into the
    sum (`vec::fmadd`, one rounding, where the kernels have FMA); CUDA's kernel
    keeps a float16/bfloat16 result's alpha in float32 (its compute type)."""
    out_dtype = ctx.out_meta.dtype
    alpha_dtype = out_dtype
    if ctx.device.type != "cpu" and out_dtype in (torch.float16, torch.bfloat16):
        alpha_dtype = torch.float32

    def fn(x, y):
        scale = ops.cast(ops.constant(alpha, alpha_dtype), x.dtype)
        if x.dtype.is_floating_point:
            return _mul_add(ctx, y, scale, x)
        return ops.add(x, ops.mul(y, scale))

    return ctx.pointwise([a, b], fn, out_dtype=out_dtype)


@lowering(aten.add.Tensor, aten.add.Scalar)
def add(ctx: LoweringContext, a, b, alpha=1):
    if alpha == 1:
        return ctx.pointwise([a, b], ops.add)
    return _add_scaled(ctx, a, b, alpha)


@lowering(aten.sub.Tensor, aten.sub.Scalar)
def sub(ctx: LoweringContext, a, b, alpha=1):
    if alpha == 1:
        return ctx.pointwise([a, b], ops.sub)
    return _add_scaled(ctx, a, b, -alpha)


@lowering(aten.rsub.Tensor, aten.rsub.Scalar)
def rsub(ctx: LoweringContext, a, b, alpha=1):
    if alpha == 1:
        return ctx.pointwise([b, a], ops.sub)
    return _add_scaled(ctx, b, a, -alpha)


# ATen's mul and div kernels read a scalar divisor or factor at full precision
# (`original_scalar_value`) where other kernels round it to a half-precision dtype.
register_pointwise([aten.mul.Tensor, aten.mul.Scalar], ops.mul, unrounded_scalar=1)
register_pointwise([aten.div.Tensor, aten.div.Scalar], ops.truediv, KIND.INT_TO_FLOAT, unrounded_scalar=1)


@lowering(aten.div.Tensor_mode, aten.div.Scalar_mode)
def div_mode(ctx: LoweringContext, a, b, *, rounding_mode=None):
    if rounding_mode is None:
        return ctx.pointwise([a, b], ops.truediv, KIND.INT_TO_FLOAT, unrounded_scalar=1)
    if rounding_mode == "trunc":
        return ctx.pointwise([a, b], ops.trunc_div, unrounded_scalar=1)
    if rounding_mode == "floor":
        return ctx.pointwise([a, b], ops.floor_div, unrounded_scalar=1)
    raise Unsupported(f"rounding_mode={rounding_mode!r}")


@lowering("prims::fma.default")
def fma(ctx: LoweringContext, a, b, c):
    """Inductor's prims.fma: a * b + c rounded once, as its definition says
    (its eager implementation rounds twice; Inductor's kernels and eager
    CUDA's addcmul, whose arithmetic Dynamo writes with it, round once).
    Dynamo's addcmul_/addcdiv_ pairs are first put back together
    (`fx_rewrites.restore_fused_updates`); what reaches this rule is any other
    use. A Python-number `b` is taken at full precision, as eager's kernels
    take `value`. Integers multiply and add."""

    def fn(x, y, z):
        return ops.fma(x, y, z) if x.dtype.is_floating_point else ops.add(ops.mul(x, y), z)

    return ctx.pointwise([a, b, c], fn, unrounded_scalar=1)


@lowering(aten.lerp.Scalar, aten.lerp.Tensor)
def lerp(ctx: LoweringContext, start, end, weight):
    """start + weight * (end - start) as ATen's kernels compute it on either
    device (Lerp.h: from the nearer end, one fused multiply-add):
    fma(w, end - start, start) where |w| < 0.5, else fma(w - 1, end - start,
    end). PyTorch's decomposition multiplies and adds with two roundings. A
    Python-number weight is taken in the compute dtype (float32 for half
    precision), as the kernels take it."""

    def fn(s, e, w):
        diff = ops.sub(e, s)
        small = ops.cmp("lt", ops.abs(w), ops.constant(0.5, w.dtype))
        from_start = _mul_add(ctx, w, diff, s)
        from_end = _mul_add(ctx, ops.sub(w, ops.constant(1, w.dtype)), diff, e)
        return ops.where(small, from_start, from_end)

    return ctx.pointwise([start, end, weight], fn, unrounded_scalar=2)


@lowering(aten.addcmul.default)
def addcmul(ctx: LoweringContext, a, b, c, *, value=1):
    """self + value * t1 * t2 in the order of the device's eager kernel. CUDA's
    multiplies the tensors first and nvcc fuses the add: fma(value, t1 * t2,
    self). The CPU's scales t1 first, and its build fuses the add too:
    fma(value * t1, t2, self). The orders round differently; PyTorch's
    decomposition (the CPU's order, unfused) matches neither in float32, and a
    bfloat16 optimizer state rounded one ulp apart moves a small parameter's
    update by percents. `value` is taken in the compute dtype (float32 for
    half precision), as both kernels do. With value 1 both give fma(t1, t2,
    self), as Inductor does on CUDA: Dynamo compiles a foreach lerp as such an
    addcmul, which must be eager's one-fma lerp (eager CUDA's own addcmul with
    value 1 rounds t1 * t2 first)."""
    on_cpu = ctx.device.type == "cpu"

    def fn(x, y, z):
        scale = ops.constant(value, x.dtype)
        if not x.dtype.is_floating_point:
            return ops.add(x, ops.mul(scale, ops.mul(y, z)))
        if value == 1:
            return _mul_add(ctx, y, z, x)
        if on_cpu:
            return _mul_add(ctx, ops.mul(scale, y), z, x)
        return ops.fma(scale, ops.mul(y, z), x)

    return ctx.pointwise([a, b, c], fn)


@lowering(aten.addcdiv.default)
def addcdiv(ctx: LoweringContext, a, b, c, *, value=1):
    """self + value * t1 / t2 in the order of the device's eager kernel: CUDA's
    fma(value, t1 / t2, self) with t1 / t2 correctly rounded (marked exact: the
    Triton backend would divide within 2 ulp), the CPU's self + (value * t1) / t2
    (nothing to fuse). Integer addcdiv is an error in eager."""
    on_cpu = ctx.device.type == "cpu"

    def fn(x, y, z):
        scale = ops.constant(value, x.dtype)
        if on_cpu:
            return ops.add(x, ops.truediv(ops.mul(scale, y), z))
        quotient = ops.truediv(y, z, exact=True)
        return ops.add(x, quotient) if value == 1 else ops.fma(scale, quotient, x)

    return ctx.pointwise([a, b, c], fn)


register_pointwise([aten.floor_divide.default, aten.floor_divide.Scalar], ops.floor_div, unrounded_scalar=1)
register_pointwise([aten.fmod.Tensor, aten.fmod.Scalar], ops.fmod)
register_pointwise([aten.remainder.Tensor, aten.remainder.Scalar, aten.remainder.Scalar_Tensor], ops.remainder)
register_pointwise(aten.neg.default, ops.neg)
register_pointwise(aten.abs.default, ops.abs)
register_pointwise(aten.reciprocal.default, ops.reciprocal, KIND.INT_TO_FLOAT)
register_pointwise(aten.sign.default, ops.sign)
register_pointwise(aten.sgn.default, ops.sign)


@lowering(aten.pow.Tensor_Scalar)
def pow_tensor_scalar(ctx: LoweringContext, a: TensorValue, exponent):
    """As ATen's pow_out and pow_tensor_scalar_kernel, by the common dtype: exponent
    0 fills ones and 1 copies; float32, float64 and bfloat16 compute 0.5, -0.5 and
    -1 as sqrt, rsqrt and reciprocal and 2, 3, -2 by multiplication; float16 always
    calls pow; integers use `powi`. The exponent is first converted to the dtype."""
    out = ctx.out_meta.dtype
    if isinstance(exponent, bool):
        exponent = int(exponent)
    if not isinstance(exponent, (int, float)):
        raise Unsupported(f"pow with a {type(exponent).__name__} exponent")
    e = float(exponent)
    if e == 0:
        return ctx.pointwise_body(a.shape, out, lambda idx: ops.constant(1, out))
    if e == 1:
        return ctx.pointwise([a, exponent], lambda x, _: x, out_dtype=out)
    special = {
        0.5: ops.sqrt,
        -0.5: ops.rsqrt,
        -1.0: ops.reciprocal,
        2.0: lambda x: ops.mul(x, x),
        3.0: lambda x: ops.mul(ops.mul(x, x), x),
        -2.0: lambda x: ops.reciprocal(ops.mul(x, x)),
    }
    if out in (torch.float32, torch.float64, torch.bfloat16) and e in special:
        fn = special[e]
        return ctx.pointwise([a, exponent], lambda x, _: fn(x), out_dtype=out)
    if not out.is_floating_point and e.is_integer() and e > 0:
        return ctx.pointwise([a, exponent], lambda x, _: ops.pow_int_exponent(x, int(e)), out_dtype=out)
    return ctx.pointwise([a, exponent], ops.pow, out_dtype=out)


@lowering(aten.pow.Tensor_Tensor, aten.pow.Scalar)
def pow_general(ctx: LoweringContext, a, b):
    out = ctx.out_meta.dtype
    if ctx.node.target is aten.pow.Scalar and not isinstance(a, TensorValue) and a == 1:
        return ctx.pointwise_body(b.shape, out, lambda idx: ops.constant(1, out))  # ATen: ones
    return ctx.pointwise([a, b], ops.pow, out_dtype=out)


# -- transcendental ----------------------------------------------------------

for _op, _fn in [
    (aten.exp, ops.exp),
    (aten.exp2, ops.exp2),
    (aten.expm1, ops.expm1),
    (aten.log, ops.log),
    (aten.log1p, ops.log1p),
    (aten.log2, ops.log2),
    (aten.log10, ops.log10),
    (aten.sqrt, ops.sqrt),
    (aten.rsqrt, ops.rsqrt),
    (aten.sin, ops.sin),
    (aten.cos, ops.cos),
    (aten.tan, ops.tan),
    (aten.asin, ops.asin),
    (aten.acos, ops.acos),
    (aten.atan, ops.atan),
    (aten.sinh, ops.sinh),
    (aten.cosh, ops.cosh),
    (aten.tanh, ops.tanh),
    (aten.asinh, ops.asinh),
    (aten.acosh, ops.acosh),
    (aten.atanh, ops.atanh),
    (aten.sigmoid, ops.sigmoid),
    (aten.erf, ops.erf),
    (aten.erfc, ops.erfc),
]:
    register_pointwise(_op.default, _fn, KIND.INT_TO_FLOAT)

register_pointwise(aten.atan2.default, ops.atan2, KIND.INT_TO_FLOAT)

# -- rounding ------------------------------------------------------------------

register_pointwise(aten.floor.default, ops.floor)
register_pointwise(aten.ceil.default, ops.ceil)
register_pointwise(aten.trunc.default, ops.trunc)
register_pointwise(aten.round.default, ops.round)


@lowering(aten.round.decimals)
def round_decimals(ctx: LoweringContext, a, *, decimals=0):
    if not a.dtype.is_floating_point:
        raise Unsupported("round of integers with decimals")
    scale = 10.0**decimals
    # The CPU kernel computes a float16/bfloat16 round in float32; CUDA's works
    # in the input dtype (`scalar_t` arithmetic), rounding after each step.
    on_cuda_in_half = ctx.device.type != "cpu" and a.dtype in (torch.float16, torch.bfloat16)

    def fn(x):
        result_dtype = x.dtype
        if on_cuda_in_half:
            x = ops.cast(x, a.dtype)
        s = ops.constant(scale, x.dtype)
        return ops.cast(ops.truediv(ops.round(ops.mul(x, s)), s), result_dtype)

    return ctx.pointwise([a], fn)


# -- min / max / clamp / where --------------------------------------------------

register_pointwise(aten.maximum.default, ops.maximum)
register_pointwise(aten.minimum.default, ops.minimum)


@lowering(aten.clamp.default, aten.clamp.Tensor)
def clamp(ctx: LoweringContext, a, min=None, max=None):
    inputs, fns = [a], []
    if min is not None:
        inputs.append(min)
        fns.append(ops.maximum)
    if max is not None:
        inputs.append(max)
        fns.append(ops.minimum)

    def fn(x, *bounds):
        # ATen's clamp propagates a NaN input; min/max bounds apply in order.
        for bound, combine in zip(bounds, fns):
            x = combine(x, bound)
        return x

    return ctx.pointwise(inputs, fn, out_dtype=ctx.out_meta.dtype)


@lowering(aten.clamp_min.default, aten.clamp_min.Tensor)
def clamp_min(ctx: LoweringContext, a, min):
    return clamp(ctx, a, min=min)


@lowering(aten.clamp_max.default, aten.clamp_max.Tensor)
def clamp_max(ctx: LoweringContext, a, max):
    return clamp(ctx, a, max=max)


@lowering(aten.relu.default)
def relu(ctx: LoweringContext, a):
    # NaN-propagating, like ATen's clamp_min(x, 0).
    return ctx.pointwise([a], lambda x: ops.maximum(x, ops.constant(0, x.dtype)))


@lowering(aten.where.self, aten.where.ScalarSelf, aten.where.ScalarOther, aten.where.Scalar)
def where(ctx: LoweringContext, cond, a, b):
    out_dtype = ctx.out_meta.dtype
    shape = list(ctx.out_meta.shape)

    def body(indices):
        def value(x):
            if isinstance(x, TensorValue):
                return ops.cast(ctx.load_broadcast(x, shape, indices), out_dtype)
            return ctx.scalar(x, out_dtype)

        c = ctx.load_broadcast(cond, shape, indices) if isinstance(cond, TensorValue) else ctx.scalar(cond, torch.bool)
        return ops.where(c, value(a), value(b))

    return ctx.pointwise_body(shape, out_dtype, body)


# -- comparisons and logic --------------------------------------------------------

for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    _packet = getattr(aten, _name)
    register_pointwise(
        [_packet.Tensor, _packet.Scalar],
        (lambda p: lambda a, b: ops.cmp(p, a, b))(_name),
        KIND.ALWAYS_BOOL,
    )

register_pointwise(aten.logical_and.default, ops.logical_and, KIND.ALWAYS_BOOL)
register_pointwise(aten.logical_or.default, ops.logical_or, KIND.ALWAYS_BOOL)
register_pointwise(aten.logical_xor.default, ops.logical_xor, KIND.ALWAYS_BOOL)
register_pointwise(aten.logical_not.default, ops.logical_not, KIND.ALWAYS_BOOL)
register_pointwise([aten.bitwise_and.Tensor, aten.bitwise_and.Scalar], ops.bitwise_and)
register_pointwise([aten.bitwise_or.Tensor, aten.bitwise_or.Scalar], ops.bitwise_or)
register_pointwise([aten.bitwise_xor.Tensor, aten.bitwise_xor.Scalar], ops.bitwise_xor)
register_pointwise(aten.bitwise_not.default, ops.bitwise_not)
register_pointwise(
    [aten.bitwise_left_shift.Tensor, aten.bitwise_left_shift.Tensor_Scalar, aten.bitwise_left_shift.Scalar_Tensor],
    ops.shift_left,
)
register_pointwise(
    [aten.bitwise_right_shift.Tensor, aten.bitwise_right_shift.Tensor_Scalar, aten.bitwise_right_shift.Scalar_Tensor],
    ops.shift_right,
)
register_pointwise(aten.isnan.default, ops.isnan, KIND.ALWAYS_BOOL)
register_pointwise(aten.isinf.default, ops.isinf, KIND.ALWAYS_BOOL)
register_pointwise(aten.isfinite.default, ops.isfinite, KIND.ALWAYS_BOOL)


@lowering(aten.isneginf.default, aten.isposinf.default)
def is_signed_inf(ctx: LoweringContext, a):
    sign = -1.0 if ctx.node.target is aten.isneginf.default else 1.0
    if not a.dtype.is_floating_point:
        return ctx.pointwise_body(a.shape, torch.bool, lambda idx: ops.constant(False, torch.bool))
    return ctx.pointwise_body(
        a.shape,
        torch.bool,
        lambda idx: ops.cmp("eq", ctx.load(a, idx), ops.constant(sign * pymath.inf, a.dtype)),
    )


# -- casts and copies ----------------------------------------------------------------


@lowering(aten._to_copy.default)
def to_copy(ctx: LoweringContext, a, **kwargs):
    device = kwargs.get("device")
    if device is not None and torch.device(device) != ctx.device and torch.device(device).type != ctx.device.type:
        raise Unsupported("device change")
    if kwargs.get("layout") not in (None, torch.strided):
        raise Unsupported("layout change")
    dtype = kwargs.get("dtype") or a.dtype
    return ctx.pointwise_body(a.shape, dtype, lambda idx: ctx.load(a, idx))


@lowering(prims.convert_element_type.default)
def convert_element_type(ctx: LoweringContext, a, dtype):
    return ctx.pointwise_body(a.shape, dtype, lambda idx: ctx.load(a, idx))


@lowering(aten.clone.default)
def clone(ctx: LoweringContext, a, **kwargs):
    return ctx.pointwise_body(a.shape, a.dtype, lambda idx: ctx.load(a, idx))


@lowering(aten.copy.default)
def copy(ctx: LoweringContext, dst, src, non_blocking=False):
    shape = dst.shape
    return ctx.pointwise_body(shape, dst.dtype, lambda idx: ctx.load_broadcast(src, shape, idx))


@lowering(aten.masked_fill.Scalar, aten.masked_fill.Tensor)
def masked_fill(ctx: LoweringContext, a, mask, value):
    return where(ctx, mask, value, a)
