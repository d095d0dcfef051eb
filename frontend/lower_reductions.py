"""Lowering rules for reductions: each becomes a `coil.reduction`, plus a
pointwise epilogue where the op needs one (mean's division, var's correction,
a cast back to half precision)."""

from __future__ import annotations

import torch

from . import scalar_ops as ops
from .lowering import LoweringContext, TensorValue, Unsupported, aten, lowering
from .sizes import is_symbolic


def _dims(dim) -> list[int] | None:
    if dim is None:
        return None
    if isinstance(dim, int):
        return [dim]
    return list(dim)


def _compare_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype max/min/argmax compare in: uint8 widens to int16, since kernels
    compare signless integers as signed."""
    return torch.int16 if dtype == torch.uint8 else ops.compute_dtype(dtype)


def _sum_acc_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype.is_floating_point:
        return ops.compute_dtype(dtype)
    return torch.int64


def _full_reduce_identity(ctx: LoweringContext, x: TensorValue, out_dtype: torch.dtype) -> TensorValue:
    """Reducing a 0-d tensor leaves its one element (converted)."""
    return ctx.pointwise_body([], out_dtype, lambda idx: ctx.load(x, []))


def _simple(ctx: LoweringContext, x: TensorValue, dims, keepdim: bool, rtype: str, out_dtype, acc_dtype=None, value_fn=None):
    if x.rank == 0:
        return _full_reduce_identity(ctx, x, out_dtype)
    acc = acc_dtype or out_dtype
    (result,) = ctx.reduction(x, dims, keepdim, rtype, acc, value_fn)
    return ctx.cast(result, out_dtype)


@lowering(aten.sum.dim_IntList, aten.sum.default)
def sum_(ctx: LoweringContext, x, dim=None, keepdim=False, *, dtype=None):
    out_dtype = ctx.out_meta.dtype
    acc = ops.compute_dtype(out_dtype) if out_dtype.is_floating_point else _sum_acc_dtype(out_dtype)
    if out_dtype == torch.bool:
        raise Unsupported("sum to bool")
    return _simple(ctx, x, _dims(dim), keepdim, "sum", out_dtype, acc)


@lowering(aten.prod.dim_int, aten.prod.default)
def prod(ctx: LoweringContext, x, dim=None, keepdim=False, *, dtype=None):
    # ATen multiplies float16 and bfloat16 in their own precision, rounding every
    # partial product (unlike sum, which accumulates in float32).
    out_dtype = ctx.out_meta.dtype
    acc = out_dtype if out_dtype.is_floating_point else torch.int64
    return _simple(ctx, x, _dims(dim), keepdim, "prod", out_dtype, acc)


@lowering(aten.mean.dim, aten.mean.default)
def mean(ctx: LoweringContext, x, dim=None, keepdim=False, *, dtype=None):
    out_dtype = ctx.out_meta.dtype
    acc = ops.compute_dtype(out_dtype)
    if x.rank == 0:
        return _full_reduce_identity(ctx, x, out_dtype)
    dims = _dims(dim) or list(range(x.rank))
    count = 1
    for d in dims:
        count *= x.shape[d % x.rank]
    (total,) = ctx.reduction(x, dims, keepdim, "sum", acc)
    return ctx.pointwise([total], lambda s: ops.truediv(s, ctx.scalar(count, s.dtype)), out_dtype=out_dtype)


@lowering(aten.amax.default)
def amax(ctx: LoweringContext, x, dim=(), keepdim=False):
    out_dtype = ctx.out_meta.dtype
    return _simple(ctx, x, _dims(dim), keepdim, "max", out_dtype, _compare_dtype(out_dtype))


@lowering(aten.amin.default)
def amin(ctx: LoweringContext, x, dim=(), keepdim=False):
    out_dtype = ctx.out_meta.dtype
    return _simple(ctx, x, _dims(dim), keepdim, "min", out_dtype, _compare_dtype(out_dtype))


@lowering(aten.max.default)
def max_all(ctx: LoweringContext, x):
    return amax(ctx, x)


@lowering(aten.min.default)
def min_all(ctx: LoweringContext, x):
    return amin(ctx, x)


@lowering(aten.max.dim, aten.min.dim)
def max_min_dim(ctx: LoweringContext, x, dim, keepdim=False):
    is_max = ctx.node.target is aten.max.dim
    values = _simple(ctx, x, [dim], keepdim, "max" if is_max else "min", x.dtype, _compare_dtype(x.dtype))
    indices = _arg(ctx, x, dim, keepdim, "argmax" if is_max else "argmin")
    return values, indices


def _arg(ctx: LoweringContext, x: TensorValue, dim, keepdim: bool, rtype: str) -> TensorValue:
    if x.rank == 0:
        return ctx.pointwise_body([], torch.int64, lambda idx: ops.constant(0, torch.int64))
    (result,) = ctx.reduction(x, _dims(dim), keepdim, rtype, _compare_dtype(x.dtype))
    return result


@lowering(aten.argmax.default)
def argmax(ctx: LoweringContext, x, dim=None, keepdim=False):
    if dim is None and keepdim:
        raise Unsupported("argmax over all dims with keepdim")
    return _arg(ctx, x, dim, keepdim, "argmax")


@lowering(aten.argmin.default)
def argmin(ctx: LoweringContext, x, dim=None, keepdim=False):
    if dim is None and keepdim:
        raise Unsupported("argmin over all dims with keepdim")
    return _arg(ctx, x, dim, keepdim, "argmin")


@lowering(aten.any.default, aten.any.dim, aten.any.dims)
def any_(ctx: LoweringContext, x, dim=None, keepdim=False):
    # any/all of a uint8 tensor give uint8 (0 or 1) in ATen; of anything else, bool.
    result = _simple(ctx, x, _dims(dim), keepdim, "any", torch.bool, torch.bool, ops.to_bool)
    return ctx.cast(result, ctx.out_meta.dtype)


@lowering(aten.all.default, aten.all.dim, aten.all.dims)
def all_(ctx: LoweringContext, x, dim=None, keepdim=False):
    # all(x) == not any(not x)
    if x.rank == 0:
        return ctx.pointwise_body([], ctx.out_meta.dtype, lambda idx: ops.to_bool(ctx.load(x, [])))
    (some_false,) = ctx.reduction(x, _dims(dim), keepdim, "any", torch.bool, ops.logical_not)
    return ctx.pointwise([some_false], ops.logical_not, out_dtype=ctx.out_meta.dtype)


def _var(ctx: LoweringContext, x: TensorValue, dim, correction, keepdim: bool):
    """(mean, var) through one welford reduction."""
    if correction is None:
        correction = 1
    acc = ops.compute_dtype(x.dtype) if x.dtype.is_floating_point else torch.float32
    if x.rank == 0:
        # One element: the mean is the element, the sum of squares 0.
        divisor = float(max(1 - correction, 0))
        mean_ = ctx.pointwise([x], lambda v: v, out_dtype=acc)
        var = ctx.pointwise_body([], acc, lambda idx: ops.truediv(ops.constant(0.0, acc), ops.constant(divisor, acc)))
        return mean_, var
    dims = _dims(dim) or list(range(x.rank))
    count = 1
    for d in dims:
        count *= x.shape[d % x.rank]
    mean_, m2, _weight = ctx.reduction(x, dims, keepdim, "welford", acc)
    if is_symbolic(count):
        divisor = torch.sym_max(count - correction, 0) if correction else count
        var = ctx.pointwise([m2], lambda v: ops.truediv(v, ctx.scalar(divisor, v.dtype)), out_dtype=acc)
        return mean_, var
    divisor = max(count - correction, 0)
    var = ctx.pointwise([m2], lambda v: ops.truediv(v, ops.constant(float(divisor), v.dtype)), out_dtype=acc)
    return mean_, var


@lowering(aten.var.correction)
def var(ctx: LoweringContext, x, dim=None, *, correction=None, keepdim=False):
    _, v = _var(ctx, x, dim, correction, keepdim)
    return ctx.cast(v, ctx.out_meta.dtype)


@lowering(aten.std.correction)
def std(ctx: LoweringContext, x, dim=None, *, correction=None, keepdim=False):
    _, v = _var(ctx, x, dim, correction, keepdim)
    return ctx.pointwise([v], ops.sqrt, out_dtype=ctx.out_meta.dtype)


@lowering(aten.var_mean.correction)
def var_mean(ctx: LoweringContext, x, dim=None, *, correction=None, keepdim=False):
    m, v = _var(ctx, x, dim, correction, keepdim)
    out_dtype = ctx.out_meta[0].dtype
    return ctx.cast(v, out_dtype), ctx.cast(m, out_dtype)
