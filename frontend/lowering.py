"""The lowering table: one rule per ATen overload, as Inductor's `lowering.py`.

A rule is registered with `@lowering(aten.add.Tensor, ...)` and called with a
`LoweringContext` followed by the node's arguments, where tensors arrive as
`TensorValue`s and everything else as plain Python values. It returns a
`TensorValue` (or a tuple of them) built with the helpers here: `pointwise`,
`reduction`, `view`. Anything without a rule becomes a `coil.extern` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND, elementwise_dtypes

from coil.dialects import builders
from coil.errors import LoweringError
from coil.dialects.ops import DYNAMIC
from coil.mlir import arith, ir

from . import scalar_ops as ops
from .scalar_ops import Scalar
from .sizes import SizeMaterializer, is_one, is_symbolic, same_size, size_expr

aten = torch.ops.aten
prims = torch.ops.prims

LOWERINGS: dict[torch._ops.OpOverload, Callable] = {}
# Rules for ops that exist only once some module defines them (Inductor's
# prims.fma), by schema name: "prims::fma.default".
LOWERINGS_BY_NAME: dict[str, Callable] = {}


def find_lowering(target: torch._ops.OpOverload) -> Callable | None:
    rule = LOWERINGS.get(target)
    if rule is None and LOWERINGS_BY_NAME:
        rule = LOWERINGS_BY_NAME.get(f"{target._schema.name}.{target._overloadname}")
    return rule


def lowering(*targets):
    """Registers a rule for each target: an OpOverload, a packet (all its overloads),
    or the name of an overload ("prims::fma.default")."""

    def register(fn):
        for target in targets:
            if isinstance(target, str):
                LOWERINGS_BY_NAME[target] = fn
            elif isinstance(target, torch._ops.OpOverloadPacket):
                for name in target.overloads():
                    LOWERINGS[getattr(target, name)] = fn
            else:
                LOWERINGS[target] = fn
        return fn

    return register


class Unsupported(Exception):
    """Raised by a rule for a case it does not handle: the node becomes an extern call."""


@dataclass
class TensorValue:
    """A tensor in the graph being built: its SSA value and a meta tensor for its metadata."""

    value: ir.Value
    meta: torch.Tensor

    @property
    def dtype(self) -> torch.dtype:
        return self.meta.dtype

    @property
    def shape(self) -> list[int]:
        return list(self.meta.shape)

    @property
    def rank(self) -> int:
        return self.meta.dim()


def index_constant(value: int) -> ir.Value:
    if isinstance(value, torch.SymInt):
        raise TypeError(f"symbolic size {value} used as a constant (use ctx.index)")
    return arith.constant(ir.IndexType.get(), int(value))


def broadcast_indices(shape: Sequence[int], out_shape: Sequence[int], indices: Sequence[ir.Value]) -> list[ir.Value]:
    """Indices into a tensor of `shape` broadcast to `out_shape` (trailing dims align)."""
    offset = len(out_shape) - len(shape)
    result = []
    for j, size in enumerate(shape):
        if not same_size(size, out_shape[offset + j]) and is_one(size):
            result.append(index_constant(0))
        else:
            result.append(indices[offset + j])
    return result


class LoweringContext:
    """What a rule sees of the node it lowers, and the helpers that build IR."""

    def __init__(
        self,
        node: torch.fx.Node,
        out_meta,
        location: ir.Location,
        device: torch.device,
        sizes: SizeMaterializer | None = None,
        fake_mode=None,
    ):
        self.node = node
        self.out_meta = out_meta
        self.location = location
        self.device = device
        # Symbolic graphs only: builds index values for SymInt sizes; creates metas.
        self.sizes = sizes
        self.fake_mode = fake_mode
        self._view_symbols: list[ir.Value] | None = None

    # -- sizes -------------------------------------------------------------

    def size(self, v):
        """A size (int or SymInt) as an int when known, else an `index` value (never specialized)."""
        if not is_symbolic(v):
            return int(size_expr(v)) if size_expr(v) is not None else int(v)
        if self.sizes is None:
            raise LoweringError(f"symbolic size {v} in a graph without symbol arguments", self.node)
        self.sizes.node = self.node
        return self.sizes.size(v)

    def mixed(self, shape: Sequence) -> list:
        """Sizes for builders: ints, and `index` values for symbolic ones."""
        return [self.size(s) for s in shape]

    def index(self, v) -> ir.Value:
        """An `index` value for an int or SymInt (constants at the insertion point)."""
        s = self.size(v)
        return s if isinstance(s, ir.Value) else index_constant(s)

    def scalar(self, v, dtype: torch.dtype) -> Scalar:
        """A Python number or SymInt as a scalar of `dtype` in a body."""
        if isinstance(v, (torch.SymFloat, torch.SymBool)):
            raise Unsupported(f"symbolic {type(v).__name__} operand")
        if not is_symbolic(v):
            return ops.constant(int(size_expr(v)) if isinstance(v, torch.SymInt) else v, dtype)
        i = arith.index_cast(ir.IntegerType.get_signless(64), self.index(v))
        return ops.cast(Scalar(i, torch.int64), dtype)

    def affine(self, v) -> ir.AffineExpr:
        """v (int, SymInt or AffineExpr) in the affine map being built by `view`:
        a symbolic size becomes a symbol of the map bound to its index value."""
        if isinstance(v, ir.AffineExpr):
            return v
        s = self.size(v)
        if not isinstance(s, ir.Value):
            return ir.AffineExpr.get_constant(s)
        if self._view_symbols is None:
            raise LoweringError("symbolic size used outside of a view map", self.node)
        for k, known in enumerate(self._view_symbols):
            if known == s:
                return ir.AffineExpr.get_symbol(k)
        self._view_symbols.append(s)
        return ir.AffineExpr.get_symbol(len(self._view_symbols) - 1)

    def empty_meta(self, shape: Sequence, dtype: torch.dtype) -> torch.Tensor:
        """A contiguous tensor carrying metadata only (fake, for symbolic shapes)."""
        shape = list(shape)
        if any(is_symbolic(s) for s in shape):
            with self.fake_mode:
                return torch.empty(shape, dtype=dtype, device=self.device)
        return torch.empty([int(s) for s in shape], dtype=dtype, device="meta")

    # -- bodies ------------------------------------------------------------

    def load(self, x: TensorValue, indices: Sequence[ir.Value]) -> Scalar:
        return Scalar(builders.load(x.value, list(indices)), x.dtype)

    def load_broadcast(self, x: TensorValue, out_shape: Sequence[int], indices: Sequence[ir.Value]) -> Scalar:
        return self.load(x, broadcast_indices(x.shape, out_shape, indices))

    # -- graph-level ops ---------------------------------------------------

    def pointwise_body(
        self,
        shape: Sequence[int],
        dtype: torch.dtype,
        body: Callable[[list[ir.Value]], Scalar],
    ) -> TensorValue:
        """A `coil.pointwise` of `shape` and `dtype`; `body(indices)` returns a Scalar."""
        shape = list(shape)
        sizes = self.mixed(shape)

        def build(indices):
            return ops.cast(body(indices), dtype).value

        value = builders.pointwise(sizes, ops.element_type(dtype), build)
        return TensorValue(value, self.empty_meta(shape, dtype))

    def pointwise(
        self,
        inputs: Sequence,
        fn: Callable[..., Scalar],
        kind: ELEMENTWISE_TYPE_PROMOTION_KIND = ELEMENTWISE_TYPE_PROMOTION_KIND.DEFAULT,
        out_dtype: torch.dtype | None = None,
        shape: Sequence[int] | None = None,
        unrounded_scalar: int | None = None,
    ) -> TensorValue:
        """Elementwise `fn` over broadcast `inputs` with PyTorch's type promotion.

        As in TensorIterator, every operand (tensor or Python number) is first
        converted to the common dtype, then to the computation dtype (float32
        for half precision): a float32 0-d tensor added to a float16 tensor is
        rounded to float16 first. ATen's mul and div kernels instead read a
        scalar second operand at full precision; `unrounded_scalar` names the
        operand that gets that treatment when it is a number or a 0-d tensor.
        """
        metas = [x.meta if isinstance(x, TensorValue) else x for x in inputs]
        compute, result = elementwise_dtypes(*metas, type_promotion_kind=kind)
        if kind == ELEMENTWISE_TYPE_PROMOTION_KIND.ALWAYS_BOOL:
            _, common = elementwise_dtypes(*metas, type_promotion_kind=ELEMENTWISE_TYPE_PROMOTION_KIND.DEFAULT)
        else:
            common = result
        out_dtype = out_dtype or result
        if shape is None:
            shape = torch.broadcast_shapes(*[x.shape for x in inputs if isinstance(x, TensorValue)])

        def operand_dtype(position: int, x) -> torch.dtype:
            if position == unrounded_scalar and (not isinstance(x, TensorValue) or x.rank == 0):
                return compute
            return common

        def body(indices):
            scalars = []
            for position, x in enumerate(inputs):
                if isinstance(x, TensorValue):
                    value = ops.cast(self.load_broadcast(x, shape, indices), operand_dtype(position, x))
                else:
                    value = self.scalar(x, operand_dtype(position, x))
                scalars.append(ops.cast(value, compute))
            return fn(*scalars)

        return self.pointwise_body(shape, out_dtype, body)

    def cast(self, x: TensorValue, dtype: torch.dtype) -> TensorValue:
        if x.dtype == dtype:
            return x
        return self.pointwise_body(x.shape, dtype, lambda idx: self.load(x, idx))

    def reduction(
        self,
        x: TensorValue,
        dims: Sequence[int] | None,
        keepdim: bool,
        reduction_type: str,
        acc_dtype: torch.dtype,
        value_fn: Callable[[Scalar], Scalar] | None = None,
    ) -> list[TensorValue]:
        """`coil.reduction` of `x` over `dims` (all dims if None or empty).

        Each element is converted to `acc_dtype` (after `value_fn`, if given)
        before it is combined; argmax/argmin compare in `acc_dtype` and return
        int64, `any` takes bool. Returns one TensorValue per result (welford: 3).
        """
        rank = x.rank
        dims = sorted({d % rank for d in dims}) if dims else list(range(rank))
        shape = x.shape
        out_shape = []
        for d in range(rank):
            if d not in dims:
                out_shape.append(shape[d])
            elif keepdim:
                out_shape.append(1)
        reduction_ranges = [shape[d] for d in dims]
        if reduction_type in ("argmax", "argmin"):
            result_dtypes = [torch.int64]
        elif reduction_type == "any":
            result_dtypes = [torch.bool]
        elif reduction_type == "welford":
            result_dtypes = [acc_dtype] * 3
        else:
            result_dtypes = [acc_dtype]

        def body(indices, rindices):
            source_index, outer, inner = [], iter(indices), iter(rindices)
            for d in range(rank):
                if d in dims:
                    if keepdim:
                        next(outer)
                    source_index.append(next(inner))
                else:
                    source_index.append(next(outer))
            value = self.load(x, source_index)
            if value_fn is not None:
                value = value_fn(value)
            return ops.cast(value, acc_dtype).value

        values = builders.reduction(
            self.mixed(out_shape),
            self.mixed(reduction_ranges),
            reduction_type,
            [ops.element_type(t) for t in result_dtypes],
            body,
        )
        return [TensorValue(v, self.empty_meta(out_shape, t)) for v, t in zip(values, result_dtypes)]

    def view(self, x: TensorValue, shape: Sequence[int], index_map: Callable[[list[ir.AffineExpr]], list]) -> TensorValue:
        """A `coil.view` of `x` with `shape`; `index_map(dims)` gives x's index as affine exprs.

        Symbolic sizes in the map (through `ctx.affine`, or as entries of the
        returned list) become symbols of the map, bound to index values.
        """
        shape = list(shape)
        static = [DYNAMIC if isinstance(s, ir.Value) else s for s in self.mixed(shape)]
        dims = [ir.AffineExpr.get_dim(i) for i in range(len(shape))]
        outer, self._view_symbols = self._view_symbols, []
        try:
            exprs = [self.affine(e) for e in index_map(dims)]
            symbols = self._view_symbols
        finally:
            self._view_symbols = outer
        amap = ir.AffineMap.get(len(shape), len(symbols), exprs)
        value = builders.view(x.value, amap, self.mixed(shape), symbols=symbols)
        return TensorValue(value, self.empty_meta(shape, x.dtype))


def register_pointwise(
    target,
    fn: Callable[..., Scalar],
    kind: ELEMENTWISE_TYPE_PROMOTION_KIND = ELEMENTWISE_TYPE_PROMOTION_KIND.DEFAULT,
    out_dtype: torch.dtype | None = None,
    unrounded_scalar: int | None = None,
):
    """Registers the elementwise rule `fn` for `target`'s tensor and scalar operands."""

    def rule(ctx: LoweringContext, *args, **kwargs):
        if kwargs:
            raise Unsupported(f"keyword arguments {sorted(kwargs)}")
        return ctx.pointwise(list(args), fn, kind=kind, out_dtype=out_dtype, unrounded_scalar=unrounded_scalar)

    lowering(*([target] if not isinstance(target, (list, tuple)) else target))(rule)
    return rule
