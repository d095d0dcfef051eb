"""Lowering rules for ops that create tensors: full, scalar_tensor, arange, iota."""

from __future__ import annotations

import torch

from coil.mlir import arith, ir

from . import scalar_ops as ops
from .lowering import LoweringContext, Unsupported, aten, lowering, prims


def _check_device(ctx: LoweringContext, device) -> None:
    if device is not None and torch.device(device).type != ctx.device.type:
        raise Unsupported(f"creating a tensor on {device} from a {ctx.device} graph")


def _constant_tensor(ctx: LoweringContext, value, dtype: torch.dtype):
    shape = list(ctx.out_meta.shape)
    return ctx.pointwise_body(shape, dtype, lambda idx: ctx.scalar(value, dtype))


@lowering(aten.full.default)
def full(ctx: LoweringContext, size, fill_value, *, dtype=None, layout=None, device=None, pin_memory=None):
    _check_device(ctx, device)
    return _constant_tensor(ctx, fill_value, ctx.out_meta.dtype)


@lowering(aten.scalar_tensor.default)
def scalar_tensor(ctx: LoweringContext, s, *, dtype=None, layout=None, device=None, pin_memory=None):
    _check_device(ctx, device)
    return _constant_tensor(ctx, s, ctx.out_meta.dtype)


@lowering(aten.empty.memory_format, aten.empty_strided.default, aten.empty_permuted.default, aten.zeros.default)
def empty(ctx: LoweringContext, size, *args, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    # The contents of `empty` are unspecified; zeros cost one cheap kernel.
    _check_device(ctx, device)
    return _constant_tensor(ctx, 0, ctx.out_meta.dtype)


@lowering(aten.fill.Scalar)
def fill(ctx: LoweringContext, x, value):
    return _constant_tensor(ctx, value, x.dtype)


@lowering(aten.full_like.default)
def full_like(ctx: LoweringContext, x, fill_value, *, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    _check_device(ctx, device)
    return _constant_tensor(ctx, fill_value, ctx.out_meta.dtype)


def _ramp(ctx: LoweringContext, start, step, dtype: torch.dtype):
    shape = list(ctx.out_meta.shape)

    def body(indices):
        i = arith.index_cast(ir.IntegerType.get_signless(64), indices[0])
        position = ops.Scalar(i, torch.int64)
        if dtype.is_floating_point:
            # ATen computes start + i * step in double for floating arange.
            value = ops.add(ctx.scalar(start, torch.float64), ops.mul(ops.cast(position, torch.float64), ctx.scalar(step, torch.float64)))
        else:
            value = ops.add(ctx.scalar(start, torch.int64), ops.mul(position, ctx.scalar(step, torch.int64)))
        return value

    return ctx.pointwise_body(shape, dtype, body)


@lowering(aten.arange.start_step)
def arange(ctx: LoweringContext, start, end=None, step=1, *, dtype=None, layout=None, device=None, pin_memory=None):
    _check_device(ctx, device)
    return _ramp(ctx, start, step, ctx.out_meta.dtype)


@lowering(aten.arange.default)
def arange_end(ctx: LoweringContext, end, *, dtype=None, layout=None, device=None, pin_memory=None):
    _check_device(ctx, device)
    return _ramp(ctx, 0, 1, ctx.out_meta.dtype)


@lowering(aten.arange.start)
def arange_start(ctx: LoweringContext, start, end, *, dtype=None, layout=None, device=None, pin_memory=None):
    _check_device(ctx, device)
    return _ramp(ctx, start, 1, ctx.out_meta.dtype)


@lowering(prims.iota.default)
def iota(ctx: LoweringContext, length, *, start, step, dtype, device, requires_grad):
    _check_device(ctx, device)
    return _ramp(ctx, start, step, dtype)
