"""Lowering rules for views and data movement.

Views (view/reshape, permute, expand, slice, select, squeeze, unsqueeze,
as_strided) become `coil.view` index maps and cost nothing once folded into
loads. cat, constant_pad_nd, gather and index become pointwise ops with
clamped (always in-bounds) or indirect loads, as Inductor's masked and
indirect loads.
"""

from __future__ import annotations

import sympy
import torch
from torch._prims_common import is_non_overlapping_and_dense_or_false

from coil.mlir import arith, ir

from . import scalar_ops as ops
from .lowering import LoweringContext, TensorValue, Unsupported, aten, index_constant, lowering
from .sizes import is_one, is_symbolic, same_size, size_expr


def _contiguous_strides(shape) -> list:
    """Row-major strides of `shape` (ints, or sympy expressions for symbolic sizes)."""
    strides, running = [], 1
    for size in reversed(shape):
        strides.append(running)
        running = running * (max(int(size), 1) if _static(size) else size)
    return list(reversed(strides))


def _static(size) -> bool:
    return isinstance(size, int) or (isinstance(size, sympy.Basic) and size.is_Integer)


def _plain_affine(v):
    return int(v)


def _delinearize(flat, shape, affine=_plain_affine):
    """Indices of a dense row-major tensor of `shape` for the flat affine position `flat`.

    `affine` turns a symbolic size into an affine expression of the map.
    """
    strides = _contiguous_strides(shape)
    exprs = []
    for k, (size, stride) in enumerate(zip(shape, strides)):
        if _static(size) and int(size) == 1:
            exprs.append(0)
            continue
        unit = _static(stride) and int(stride) == 1
        e = flat if unit else ir.AffineExpr.get_floor_div(flat, _affine_of(affine, stride))
        if k != 0:
            e = e % _affine_of(affine, size)
        exprs.append(e)
    return exprs


def _affine_of(affine, v):
    """An int for a static size (the map folds constants), else affine(v)."""
    return int(v) if _static(v) else affine(v)


def _exprs(shape) -> list:
    """Sizes as sympy expressions (Integers for static ones)."""
    return [sympy.Integer(int(s)) if size_expr(s) is None else sympy.sympify(size_expr(s)) for s in shape]


def _divides(a, b) -> bool:
    """a divides b as polynomials in the symbols (b / a has no denominator)."""
    _, den = sympy.fraction(sympy.cancel(b / a))
    return den == 1


def reshape_index_map(old_shape, new_shape, affine=_plain_affine):
    """fn(new dims) -> old indices, grouping dims whose products match (no div/mod across groups).

    Symbolic sizes (SymInts) group when their products are provably equal;
    what cannot be matched is delinearized as one group, which is always right.
    `affine` binds symbolic sizes as symbols of the map (`ctx.affine`).
    """
    old_shape, new_shape = _exprs(old_shape), _exprs(new_shape)
    if any(s == 0 for s in old_shape) or any(s == 0 for s in new_shape):
        return lambda dims: [0] * len(old_shape)
    old_nz = [k for k, s in enumerate(old_shape) if s != 1]
    new_nz = [k for k, s in enumerate(new_shape) if s != 1]
    groups = []
    i = j = 0
    while i < len(old_nz) and j < len(new_nz):
        og, ng = [old_nz[i]], [new_nz[j]]
        po, pn = old_shape[old_nz[i]], new_shape[new_nz[j]]
        i, j = i + 1, j + 1
        while sympy.expand(po - pn) != 0:
            if po.is_Integer and pn.is_Integer:
                grow_old = po < pn
            elif _divides(po, pn):
                grow_old = True
            elif _divides(pn, po):
                grow_old = False
            else:
                grow_old = None
            if grow_old is None or (grow_old and i >= len(old_nz)) or (not grow_old and j >= len(new_nz)):
                # Not provably matching: the rest is one group.
                og += old_nz[i:]
                ng += new_nz[j:]
                i, j = len(old_nz), len(new_nz)
                break
            if grow_old:
                og.append(old_nz[i])
                po = po * old_shape[old_nz[i]]
                i += 1
            else:
                ng.append(new_nz[j])
                pn = pn * new_shape[new_nz[j]]
                j += 1
        groups.append((og, ng))

    def index_map(dims):
        result = [0] * len(old_shape)
        for og, ng in groups:
            if len(og) == 1 and len(ng) == 1:
                result[og[0]] = dims[ng[0]]
                continue
            flat = None
            new_sizes = [new_shape[k] for k in ng]
            for k, stride in zip(ng, _contiguous_strides(new_sizes)):
                term = dims[k] if _static(stride) and int(stride) == 1 else dims[k] * _affine_of(affine, stride)
                flat = term if flat is None else flat + term
            old_sizes = [old_shape[k] for k in og]
            for k, e in zip(og, _delinearize(flat, old_sizes, affine)):
                result[k] = e
        return result

    return index_map


@lowering(aten.view.default, aten._unsafe_view.default, aten.reshape.default, aten.view_copy.default)
def view(ctx: LoweringContext, x: TensorValue, size):
    shape = list(ctx.out_meta.shape)
    return ctx.view(x, shape, reshape_index_map(x.shape, shape, ctx.affine))


@lowering(aten.alias.default, aten.detach.default, aten.lift_fresh_copy.default)
def alias(ctx: LoweringContext, x: TensorValue):
    return x  # value semantics: the same tensor


@lowering(aten.permute.default)
def permute(ctx: LoweringContext, x: TensorValue, dims):
    rank = x.rank
    dims = [d % rank for d in dims]
    shape = [x.shape[d] for d in dims]

    def index_map(out):
        source = [None] * rank
        for out_pos, d in enumerate(dims):
            source[d] = out[out_pos]
        return source

    return ctx.view(x, shape, index_map)


@lowering(aten.transpose.int)
def transpose(ctx: LoweringContext, x: TensorValue, dim0, dim1):
    rank = max(x.rank, 1)
    perm = list(range(x.rank))
    if x.rank:
        d0, d1 = dim0 % rank, dim1 % rank
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return permute(ctx, x, perm)


@lowering(aten.t.default)
def t(ctx: LoweringContext, x: TensorValue):
    return transpose(ctx, x, 0, 1) if x.rank == 2 else x


@lowering(aten.expand.default)
def expand(ctx: LoweringContext, x: TensorValue, size, *, implicit=False):
    shape = list(ctx.out_meta.shape)
    offset = len(shape) - x.rank

    def index_map(out):
        return [
            0 if (not same_size(x.shape[k], shape[offset + k]) and is_one(x.shape[k])) else out[offset + k]
            for k in range(x.rank)
        ]

    return ctx.view(x, shape, index_map)


def _slice_bounds(size: int, start, end) -> tuple[int, int]:
    """Python-style slice bounds (None, negative, out of range) clamped to [0, size], start <= end.

    With a symbolic size, comparisons guard as in tracing (which made the same ones)."""
    start = 0 if start is None else start
    # An end past any size (x[1:] passes 2**63 - 1) is the size, without comparing.
    end = size if end is None or (isinstance(end, int) and end >= 2**62) else end
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = min(max(start, 0), size)
    return start, min(max(end, start), size)


@lowering(aten.slice.Tensor)
def slice_(ctx: LoweringContext, x: TensorValue, dim=0, start=None, end=None, step=1):
    dim = dim % x.rank
    start, _ = _slice_bounds(x.shape[dim], start, end)
    return _slice_view(ctx, x, dim, start, ctx.out_meta.shape[dim], step)


def _slice_view(ctx: LoweringContext, x: TensorValue, dim: int, start, length, step=1):
    """x[start : start + length * step : step] along `dim`; start and length may be SymInts."""
    shape = list(x.shape)
    shape[dim] = length

    def index_map(out):
        source = list(out)
        first = ctx.affine(start)
        source[dim] = out[dim] * step + first if step != 1 else out[dim] + first
        return source

    return ctx.view(x, shape, index_map)


@lowering(aten.select.int)
def select(ctx: LoweringContext, x: TensorValue, dim, index):
    dim = dim % x.rank
    index = index + x.shape[dim] if index < 0 else index
    shape = list(ctx.out_meta.shape)
    return ctx.view(x, shape, lambda out: list(out[:dim]) + [ctx.affine(index)] + list(out[dim:]))


@lowering(aten.squeeze.default, aten.squeeze.dim, aten.squeeze.dims)
def squeeze(ctx: LoweringContext, x: TensorValue, dim=None):
    shape = list(ctx.out_meta.shape)
    return ctx.view(x, shape, reshape_index_map(x.shape, shape, ctx.affine))


@lowering(aten.unsqueeze.default)
def unsqueeze(ctx: LoweringContext, x: TensorValue, dim):
    shape = list(ctx.out_meta.shape)
    return ctx.view(x, shape, reshape_index_map(x.shape, shape, ctx.affine))


@lowering(aten.split_with_sizes.default, aten.split.Tensor)
def split(ctx: LoweringContext, x: TensorValue, split_sizes, dim=0):
    dim = dim % x.rank
    results, start = [], 0
    for meta in ctx.out_meta:
        length = meta.shape[dim]
        results.append(_slice_view(ctx, x, dim, start, length))
        start += length
    return results


@lowering(aten.unbind.int)
def unbind(ctx: LoweringContext, x: TensorValue, dim=0):
    if is_symbolic(x.shape[dim % x.rank]):
        raise Unsupported("unbind along a symbolic dimension")
    return [select(ctx, x, dim, i) for i in range(x.shape[dim % x.rank])]


@lowering(aten.as_strided.default, aten.as_strided_copy.default)
def as_strided(ctx: LoweringContext, x: TensorValue, size, stride, storage_offset=None):
    """Positions in x's storage, mapped back to x's indices.

    That needs each storage position to hold exactly one element of x: x must
    be non-overlapping and dense (contiguous up to a permutation of its dims,
    like a transposed or permuted tensor).
    """
    meta = x.meta
    if any(is_symbolic(v) for v in (*size, *stride, storage_offset or 0, *meta.shape, *meta.stride())):
        raise Unsupported("as_strided with symbolic sizes or strides")
    if not is_non_overlapping_and_dense_or_false(meta):
        raise Unsupported("as_strided of a tensor with gaps or overlaps in its storage")
    offset = (storage_offset if storage_offset is not None else meta.storage_offset()) - meta.storage_offset()
    shape = [int(s) for s in size]
    if 0 in shape or meta.numel() == 0:
        return ctx.view(x, shape, lambda out: [0] * x.rank)
    # x's dims from outermost to innermost in storage.
    order = sorted(range(x.rank), key=lambda d: (-meta.stride(d) if x.shape[d] != 1 else 0, d))
    order = [d for d in order if x.shape[d] != 1] + [d for d in order if x.shape[d] == 1]
    storage_shape = [x.shape[d] for d in order]

    def index_map(out):
        flat = ir.AffineExpr.get_constant(int(offset))
        for d, s in zip(out, stride):
            if s:
                flat = flat + d * int(s)
        result = [0] * x.rank
        for d, e in zip(order, _delinearize(flat, storage_shape)):
            result[d] = e
        return result

    return ctx.view(x, shape, index_map)


@lowering(aten.diagonal.default)
def diagonal(ctx: LoweringContext, x: TensorValue, offset=0, dim1=0, dim2=1):
    rank = x.rank
    dim1, dim2 = dim1 % rank, dim2 % rank
    shape = list(ctx.out_meta.shape)
    rest = [d for d in range(rank) if d not in (dim1, dim2)]

    def index_map(out):
        source = [None] * rank
        for d, e in zip(rest, out[:-1]):
            source[d] = e
        source[dim1] = out[-1] + max(-offset, 0)
        source[dim2] = out[-1] + max(offset, 0)
        return source

    return ctx.view(x, shape, index_map)


@lowering(aten.unfold.default)
def unfold(ctx: LoweringContext, x: TensorValue, dimension, size, step):
    if x.rank == 0:
        raise Unsupported("unfold of a 0-d tensor")
    dim = dimension % x.rank
    shape = list(ctx.out_meta.shape)

    def index_map(out):
        source = list(out[:-1])
        source[dim] = out[dim] * step + out[-1] if step != 1 else out[dim] + out[-1]
        return source

    return ctx.view(x, shape, index_map)


# -- copies built from loads ------------------------------------------------------


def _clamp_index(ctx: LoweringContext, value: ir.Value, low, high) -> ir.Value:
    value = arith.maxsi(value, ctx.index(low))
    return arith.minsi(value, ctx.index(high))


def _shift(ctx: LoweringContext, value: ir.Value, offset) -> ir.Value:
    """value + offset (offset an int or SymInt)."""
    if is_symbolic(offset):
        return arith.addi(value, ctx.index(offset))
    if int(offset) == 0:
        return value
    return arith.addi(value, index_constant(offset))


def _unshift(ctx: LoweringContext, value: ir.Value, start) -> ir.Value:
    """value - start (start an int or SymInt)."""
    if is_symbolic(start):
        return arith.subi(value, ctx.index(start))
    return _shift(ctx, value, -start)


def _last(size):
    """The largest index of a dimension (0 for an empty one)."""
    return size - 1 if is_symbolic(size) else max(int(size) - 1, 0)


@lowering(aten.cat.default)
def cat(ctx: LoweringContext, tensors, dim=0):
    shape = list(ctx.out_meta.shape)
    out_dtype = ctx.out_meta.dtype
    rank = len(shape)
    dim = dim % rank
    parts, offset = [], 0
    for t in tensors:
        if t.meta.numel() == 0 and t.rank == 1 and rank != 1:
            continue  # legacy empty tensors are skipped by torch.cat
        parts.append((t, offset))
        offset += t.shape[dim]
    parts = [(t, o) for t, o in parts if t.shape[dim] > 0]
    if not parts:
        return ctx.pointwise_body(shape, out_dtype, lambda idx: ops.constant(0, out_dtype))

    def body(indices):
        value = None
        for t, start in reversed(parts):
            local = list(indices)
            local[dim] = _clamp_index(ctx, _unshift(ctx, indices[dim], start), 0, t.shape[dim] - 1)
            loaded = ops.cast(ctx.load(t, local), out_dtype)
            if value is None:
                value = loaded
            else:
                end = start + t.shape[dim]
                inside = arith.cmpi(arith.CmpIPredicate.slt, indices[dim], ctx.index(end))
                value = ops.where(ops.Scalar(inside, torch.bool), loaded, value)
        return value

    return ctx.pointwise_body(shape, out_dtype, body)


@lowering(aten.constant_pad_nd.default)
def constant_pad_nd(ctx: LoweringContext, x: TensorValue, pad, value=0):
    shape = list(ctx.out_meta.shape)
    rank = x.rank
    lefts = [0] * rank
    for k in range(len(pad) // 2):
        lefts[rank - 1 - k] = pad[2 * k]

    def body(indices):
        inside = None
        source = []
        for d in range(rank):
            shifted = _shift(ctx, indices[d], -lefts[d])
            if lefts[d] > 0 or shape[d] - lefts[d] > x.shape[d]:
                ok_low = arith.cmpi(arith.CmpIPredicate.sge, shifted, index_constant(0))
                ok_high = arith.cmpi(arith.CmpIPredicate.slt, shifted, ctx.index(x.shape[d]))
                ok = arith.andi(ok_low, ok_high)
                inside = ok if inside is None else arith.andi(inside, ok)
                shifted = _clamp_index(ctx, shifted, 0, _last(x.shape[d]))
            source.append(shifted)
        if x.meta.numel() == 0:
            return ops.constant(value, x.dtype)
        loaded = ctx.load(x, source)
        if inside is None:
            return loaded
        return ops.where(ops.Scalar(inside, torch.bool), loaded, ops.constant(value, x.dtype))

    return ctx.pointwise_body(shape, x.dtype, body)


def _as_index(ctx: LoweringContext, s: ops.Scalar, size) -> ir.Value:
    """A loaded integer index as an `index`, wrapping negatives like ATen."""
    wide = ops.cast(s, torch.int64)
    idx = arith.index_cast(ir.IndexType.get(), wide.value)
    negative = arith.cmpi(arith.CmpIPredicate.slt, idx, index_constant(0))
    return arith.select(negative, arith.addi(idx, ctx.index(size)), idx)


@lowering(aten.gather.default)
def gather(ctx: LoweringContext, x: TensorValue, dim, index: TensorValue, *, sparse_grad=False):
    dim = dim % max(x.rank, 1)
    shape = index.shape

    def body(indices):
        source = list(indices)
        if x.rank:
            source[dim] = _as_index(ctx, ctx.load(index, indices), x.shape[dim])
        return ctx.load(x, source)

    return ctx.pointwise_body(shape, x.dtype, body)


@lowering(aten.index.Tensor)
def index(ctx: LoweringContext, x: TensorValue, indices):
    indices = list(indices) + [None] * (x.rank - len(indices))
    tensor_dims = [d for d, t in enumerate(indices) if t is not None]
    for d in tensor_dims:
        if indices[d].dtype == torch.bool:
            raise Unsupported("boolean mask indexing")
    index_shape = list(torch.broadcast_shapes(*[indices[d].shape for d in tensor_dims]))
    adjacent = tensor_dims == list(range(tensor_dims[0], tensor_dims[-1] + 1))
    shape = list(ctx.out_meta.shape)
    n_b = len(index_shape)

    def body(out):
        if adjacent:
            first = tensor_dims[0]
            b_idx = out[first : first + n_b]
            rest = list(out[:first]) + list(out[first + n_b :])
        else:
            b_idx = out[:n_b]
            rest = list(out[n_b:])
        rest_iter = iter(rest)
        source = []
        for d in range(x.rank):
            if indices[d] is None:
                source.append(next(rest_iter))
            else:
                t = indices[d]
                loaded = ctx.load_broadcast(t, index_shape, b_idx)
                source.append(_as_index(ctx, loaded, x.shape[d]))
        return ctx.load(x, source)

    return ctx.pointwise_body(shape, x.dtype, body)


# -- scatters into a view (functionalized in-place writes into a slice or a row) ---


def _scatter_into(ctx: LoweringContext, x: TensorValue, src: TensorValue, dim: int, start: int, length: int, step: int):
    """x with src written at x's indices start, start+step, ... along `dim` (as a
    pointwise reading src inside that range and x elsewhere). `src` has x's rank."""
    out_dtype = ctx.out_meta.dtype

    def body(indices):
        j = indices[dim]
        local = list(indices)
        if length == 0:
            return ctx.load(x, indices)
        relative = _unshift(ctx, j, start)
        if step != 1:
            relative = arith.divsi(relative, index_constant(step))
        local[dim] = _clamp_index(ctx, relative, 0, length - 1)
        inside = arith.andi(
            arith.cmpi(arith.CmpIPredicate.sge, j, ctx.index(start)),
            arith.cmpi(arith.CmpIPredicate.slt, j, ctx.index(start + (length - 1) * step + 1)),
        )
        if step != 1:
            offset = arith.remsi(_unshift(ctx, j, start), index_constant(step))
            inside = arith.andi(inside, arith.cmpi(arith.CmpIPredicate.eq, offset, index_constant(0)))
        written = ops.cast(ctx.load(src, local), out_dtype)
        return ops.where(ops.Scalar(inside, torch.bool), written, ops.cast(ctx.load(x, indices), out_dtype))

    return ctx.pointwise_body(list(ctx.out_meta.shape), out_dtype, body)


@lowering(aten.slice_scatter.default)
def slice_scatter(ctx: LoweringContext, x: TensorValue, src: TensorValue, dim=0, start=None, end=None, step=1):
    dim = dim % x.rank
    start, _ = _slice_bounds(x.shape[dim], start, end)
    return _scatter_into(ctx, x, src, dim, start, src.shape[dim], step)


@lowering(aten.select_scatter.default)
def select_scatter(ctx: LoweringContext, x: TensorValue, src: TensorValue, dim, index):
    dim = dim % x.rank
    index = index + x.shape[dim] if index < 0 else index
    shape = list(src.shape)
    shape.insert(dim, 1)
    row = ctx.view(src, shape, lambda out: list(out[:dim]) + list(out[dim + 1 :]))
    return _scatter_into(ctx, x, row, dim, index, 1, 1)


# At most this many indices per output row are compared in a scatter lowered as
# a pointwise (a one-hot has one: cross_entropy's backward).
_SCATTER_MAX_INDICES = 8


@lowering(aten.scatter.value, aten.scatter.src)
def scatter(ctx: LoweringContext, x: TensorValue, dim, index: TensorValue, src):
    """x with src (a tensor or a number) at index along `dim`, as a pointwise:
    each output point compares its position with the few indices of its row
    (later ones win, as ATen's CPU loop). Wide scatters stay ATen calls."""
    if x.rank == 0 or index.rank != x.rank:
        raise Unsupported("scatter of a 0-d tensor")
    dim = dim % x.rank
    count = index.shape[dim]
    if is_symbolic(count) or count > _SCATTER_MAX_INDICES or any(
        not same_size(index.shape[d], x.shape[d]) for d in range(x.rank) if d != dim
    ):
        raise Unsupported("scatter with many indices per row or a partial index")
    out_dtype = ctx.out_meta.dtype

    def body(indices):
        value = ops.cast(ctx.load(x, indices), out_dtype)
        for k in range(count):
            position = list(indices)
            position[dim] = index_constant(k)
            target = _as_index(ctx, ctx.load(index, position), x.shape[dim])
            hit = arith.cmpi(arith.CmpIPredicate.eq, target, indices[dim])
            if isinstance(src, TensorValue):
                written = ops.cast(ctx.load(src, position), out_dtype)
            else:
                written = ops.constant(src, out_dtype)
            value = ops.where(ops.Scalar(hit, torch.bool), written, value)
        return value

    return ctx.pointwise_body(list(x.shape), out_dtype, body)
