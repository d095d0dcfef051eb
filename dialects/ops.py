"""The `coil` dialect: Inductor's IR, as MLIR operations.

Graph level (value semantics over builtin tensors):
  coil.pointwise   Inductor `Pointwise`: one scalar per point of `ranges`.
  coil.reduction   Inductor `Reduction`: combine over `reduction_ranges`.
  coil.load        Inductor `ops.load`: read an element inside a body.
  coil.yield       ends a body; carries the body's scalar.
  coil.view        Inductor's views: an index map from view to source indices.
  coil.extern      Inductor `ExternKernel`/`FallbackKernel`: call an ATen overload.
  coil.arg         one tensor argument of an extern call or of a kernel launch.
  coil.get         one element of an extern call's tuple of results.

Kernel and host level (buffers, after outlining and bufferization):
  coil.loop_nest   one kernel's iteration space; its body stores explicitly.
  coil.reduce      inside a loop nest, combine a value over the reduction indices.
  coil.store       Inductor `ops.store`: write an element of a buffer.
  coil.alloc / coil.dealloc / coil.reuse   the wrapper's AllocateLine,
                   FreeIfNotReusedLine and ReuseLine.
  coil.launch      call a kernel function on buffers.

Symbolic sizes (dynamic shapes). A size Dynamo left symbolic is `?` in the
tensor and memref types and `kDynamic` (`ir.ShapedType.get_dynamic_size()`)
in a `ranges`/`reduction_ranges` attribute; its value is an `index` operand
in `sizes`, one per dynamic entry in order (ranges first, then reduction
ranges), like `tensor.empty` and `memref.alloc` list their dynamic sizes.
`@graph` takes one `index` argument per free symbol of Dynamo's shape
environment (argument attribute `coil.symbol = "s0"`); the importer builds
each distinct size expression once from them, so two ranges are the same
exactly when their static entries are equal and their dynamic operands are the
same SSA values. Index maps (views, loads) bind sizes as affine symbols; a
division by a symbol is semi-affine, which `lower-affine` expands.

Ops are defined through the bindings' IRDL-based `ext` support, so they print
and parse in MLIR's generic form. Each op states the invariants IRDL cannot
express in `verify_invariants`.

One IRDL rule shapes the ops: all values of one variadic operand or result
group must have the same type (the group has a single constraint variable). So
no op takes a list of differently typed tensors as operands:
  - pointwise and reduction bodies read the tensors they need directly from the
    enclosing scope, as `scf.for` bodies do; their block arguments are indices;
  - extern calls and kernel launches list their arguments as `coil.arg` ops in
    a small region, in order;
  - an extern call with several results returns a builtin `tuple`, unpacked by
    `coil.get`.
"""

import re
import sys
from collections.abc import Sequence
from typing import Any

from coil.mlir import ext, ir, register_dialect_module

from .types import kernel_arg_type, scalar_type

REDUCTION_TYPES = (
    "sum",
    "prod",
    "max",
    "min",
    "argmax",
    "argmin",
    "any",
    "xor_sum",
    "welford",
)

# Number of results each reduction type produces: welford gives mean, m2, weight.
REDUCTION_RESULT_COUNT = {t: (3 if t == "welford" else 1) for t in REDUCTION_TYPES}

_OPERATOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)?$")


class Coil(ext.Dialect, name="coil"):
    """The coil dialect."""


register_dialect_module("coil", sys.modules[__name__])


class OperandRefAttr(Coil.Attribute, name="operand"):
    """`#coil.operand<N : i64>`: stands for the Nth `coil.arg` of an extern call."""

    index: ir.IntegerAttr


class TorchObjectAttr(Coil.Attribute, name="torch"):
    """`#coil.torch<"torch.float32">`: a dtype, device, layout or memory format argument."""

    repr: ir.StringAttr


# ---------------------------------------------------------------------------
# Verifier helpers


def _fail(op, message: str) -> bool:
    op.location.emit_error(f"'{op.operation.name}' op {message}")
    return False


def _check_declared_attributes(op) -> bool:
    """The bindings run `verify_invariants` before IRDL checks the declared attributes."""
    for name, kind in type(op).__annotations__.items():
        if not (isinstance(kind, type) and issubclass(kind, ir.Attribute)):
            continue
        if name not in op.attributes:
            return _fail(op, f"requires attribute '{name}'")
        if not isinstance(op.attributes[name], kind):
            return _fail(op, f"attribute '{name}' must be {kind.__name__}, found {op.attributes[name]}")
    return True


def int_list(attr: ir.Attribute) -> list[int] | None:
    """The integers of an ArrayAttr of IntegerAttr, or None if it is not one."""
    if not isinstance(attr, ir.ArrayAttr):
        return None
    values = []
    for a in attr:
        if not isinstance(a, ir.IntegerAttr):
            return None
        values.append(a.value)
    return values


DYNAMIC = -9223372036854775808  # ir.ShapedType.get_dynamic_size()

#: Unit attribute on an `arith.divf` in a body: the quotient must be correctly
#: rounded (as `arith.divf` is defined) where a backend would otherwise divide
#: approximately (the Triton backend's fast f32 division).
EXACT_DIVISION = "coil.exact"


def is_dynamic(size) -> bool:
    return size == DYNAMIC


def mixed_ranges(op, name: str = "ranges") -> list:
    """`ranges` (or `reduction_ranges`) of a pointwise, reduction or loop nest
    op, with each dynamic entry replaced by its `index` operand."""
    ranges = int_list(op.attributes["ranges"]) or []
    rranges = int_list(op.attributes["reduction_ranges"]) if "reduction_ranges" in op.attributes else []
    dynamic = iter(list(op.operands))
    mixed_r = [next(dynamic) if is_dynamic(s) else s for s in ranges]
    mixed_rr = [next(dynamic) if is_dynamic(s) else s for s in (rranges or [])]
    return mixed_r if name == "ranges" else mixed_rr


def mixed_shape(value: ir.Value) -> list:
    """The sizes of a buffer or tensor value: ints, and `index` values for `?`
    dims where the defining op lists them (`coil.alloc`, `coil.reuse`,
    `coil.pointwise`, `coil.reduction`); None for a `?` it cannot name."""
    t = shaped_type(value.type)
    shape = list(t.shape)
    if not any(is_dynamic(s) for s in shape):
        return shape
    owner = value.owner if isinstance(value, ir.OpResult) else None
    name = owner.name if owner is not None else ""
    if name in ("coil.alloc", "coil.reuse"):
        dynamic = iter(list(owner.operands)[1:] if name == "coil.reuse" else list(owner.operands))
        return [next(dynamic) if is_dynamic(s) else s for s in shape]
    if name in ("coil.pointwise", "coil.reduction"):
        return mixed_ranges(owner)
    if name == "coil.view":
        listed = view_sizes(owner)
        if listed:
            dynamic = iter(listed)
            return [next(dynamic) if is_dynamic(s) else s for s in shape]
    return [None if is_dynamic(s) else s for s in shape]


def view_symbols(view) -> list:
    """The index values bound to a `coil.view` map's symbols."""
    n = view.attributes["map"].value.n_symbols
    return list(view.operands)[1 : 1 + n]


def view_sizes(view) -> list:
    """The values of a `coil.view` result's `?` dims, or [] when not listed."""
    n = view.attributes["map"].value.n_symbols
    return list(view.operands)[1 + n :]


def shaped_type(t: ir.Type):
    """`t` as a ranked tensor or memref type, or None."""
    if isinstance(t, (ir.RankedTensorType, ir.MemRefType)):
        return t
    return None


def _single_block(op, what: str) -> ir.Block | None:
    blocks = list(op.regions[0].blocks)
    if len(blocks) != 1:
        _fail(op, f"{what} must have exactly one block, found {len(blocks)}")
        return None
    return blocks[0]


def _check_index_block(op, n_indices: int) -> ir.Block | None:
    """The body's block, if it takes exactly `n_indices` index arguments."""
    block = _single_block(op, "body")
    if block is None:
        return None
    args = list(block.arguments)
    if len(args) != n_indices:
        _fail(op, f"body must take {n_indices} index arguments, one per range, found {len(args)}")
        return None
    for i, a in enumerate(args):
        if not isinstance(a.type, ir.IndexType):
            _fail(op, f"body argument #{i} must be an index, found {a.type}")
            return None
    return block


def _terminator_values(op, block: ir.Block) -> list[ir.Value] | None:
    ops = list(block.operations)
    if not ops or ops[-1].operation.name != "coil.yield":
        _fail(op, "body must end in 'coil.yield'")
        return None
    return list(ops[-1].operands)


def _check_shape(op, t: ir.Type, ranges: list[int], what: str) -> bool:
    shaped = shaped_type(t)
    if shaped is None:
        return _fail(op, f"{what} must be a ranked tensor or memref, found {t}")
    if list(shaped.shape) != ranges:
        shape = ["?" if is_dynamic(r) else r for r in shaped.shape]
        shown = ["?" if is_dynamic(r) else r for r in ranges]
        return _fail(op, f"{what} shape {shape} does not match ranges {shown}")
    return True


def _check_dynamic_sizes(op, *range_lists: list[int]) -> bool:
    """One `index` operand per dynamic entry of the ranges, and no negative sizes."""
    expected = 0
    for ranges in range_lists:
        for r in ranges:
            if is_dynamic(r):
                expected += 1
            elif r < 0:
                return _fail(op, f"size {r} is negative")
    found = len(list(op.operands))
    if found != expected:
        return _fail(op, f"has {expected} dynamic sizes but {found} size operands")
    return True


def _check_arg_region(op) -> list[ir.Value] | None:
    """The values of the `coil.arg` ops that make up an argument region."""
    block = _single_block(op, "argument region")
    if block is None:
        return None
    if len(list(block.arguments)) != 0:
        _fail(op, "argument region must take no block arguments")
        return None
    ops = list(block.operations)
    if not ops or ops[-1].operation.name != "coil.yield" or len(ops[-1].operands) != 0:
        _fail(op, "argument region must end in a 'coil.yield' with no values")
        return None
    values = []
    for inner in ops[:-1]:
        if inner.operation.name != "coil.arg":
            _fail(op, f"argument region may hold only 'coil.arg', found '{inner.operation.name}'")
            return None
        values.append(inner.operands[0])
    return values


def region_args(op) -> list[ir.Value]:
    """The argument values of an extern call or a launch, in order."""
    block = op.regions[0].blocks[0]
    return [inner.operands[0] for inner in block.operations if inner.operation.name == "coil.arg"]


def _enclosing(op, name: str):
    parent = op.operation.parent
    while parent is not None and parent.name != name:
        parent = parent.parent
    return parent


# ---------------------------------------------------------------------------
# Graph level


class YieldOp(Coil.Operation, name="yield", traits=[ir.IsTerminatorTrait, ext.Pure]):
    """Ends a body or an argument region; carries a body's scalar."""

    values: Sequence[ext.Operand[Any]]


class PointwiseOp(Coil.Operation, name="pointwise", traits=[ext.Pure]):
    """Inductor's Pointwise: `result[idx] = body(idx)` for every idx in `ranges`.

    `sizes` are the values of the dynamic entries of `ranges`.
    """

    sizes: Sequence[ext.Operand[ir.IndexType]]
    ranges: ir.ArrayAttr
    result: ext.Result[Any]
    body: ext.Region

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        ranges = int_list(self.attributes["ranges"])
        if ranges is None:
            return _fail(self, "'ranges' must be an array of integers")
        if not _check_dynamic_sizes(self, ranges):
            return False
        if not _check_shape(self, self.result.type, ranges, "result"):
            return False
        block = _check_index_block(self, len(ranges))
        if block is None:
            return False
        values = _terminator_values(self, block)
        if values is None:
            return False
        if len(values) != 1:
            return _fail(self, f"body must yield exactly one value, found {len(values)}")
        expected = scalar_type(self.result.type.element_type)
        if values[0].type != expected:
            return _fail(
                self, f"body yields {values[0].type} but the result's element type needs {expected}"
            )
        return True


class ReductionOp(Coil.Operation, name="reduction", traits=[ext.Pure]):
    """Inductor's Reduction: combine `body(idx, ridx)` over every ridx in `reduction_ranges`.

    The body takes len(ranges) + len(reduction_ranges) indices and yields one
    value. argmax/argmin produce int64 positions in the row-major flattened
    reduction range; welford produces (mean, m2, weight) in the yielded type.
    `sizes` are the values of the dynamic entries of both range lists.
    """

    sizes: Sequence[ext.Operand[ir.IndexType]]
    ranges: ir.ArrayAttr
    reduction_ranges: ir.ArrayAttr
    reduction_type: ir.StringAttr
    results_: Sequence[ext.Result[Any]]
    body: ext.Region

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        rtype = self.attributes["reduction_type"].value
        if rtype not in REDUCTION_TYPES:
            return _fail(self, f"reduction_type '{rtype}' is not one of {', '.join(REDUCTION_TYPES)}")
        ranges = int_list(self.attributes["ranges"])
        rranges = int_list(self.attributes["reduction_ranges"])
        if ranges is None or rranges is None:
            return _fail(self, "'ranges' and 'reduction_ranges' must be arrays of integers")
        if not rranges:
            return _fail(self, "'reduction_ranges' must not be empty")
        if not _check_dynamic_sizes(self, ranges, rranges):
            return False
        results = list(self.results)
        if len(results) != REDUCTION_RESULT_COUNT[rtype]:
            return _fail(
                self, f"'{rtype}' produces {REDUCTION_RESULT_COUNT[rtype]} results, found {len(results)}"
            )
        for i, r in enumerate(results):
            if not _check_shape(self, r.type, ranges, f"result #{i}"):
                return False
        block = _check_index_block(self, len(ranges) + len(rranges))
        if block is None:
            return False
        values = _terminator_values(self, block)
        if values is None:
            return False
        if len(values) != 1:
            return _fail(self, f"body must yield exactly one value, found {len(values)}")
        return _check_reduced_types(self, rtype, values[0].type, [r.type.element_type for r in results])


def _check_reduced_types(op, rtype: str, value_type: ir.Type, result_elements: list[ir.Type]) -> bool:
    for i, elem in enumerate(result_elements):
        elem = scalar_type(elem)
        if rtype in ("argmax", "argmin"):
            if elem != ir.IntegerType.get_signless(64, context=op.context):
                return _fail(op, f"'{rtype}' result must have i64 elements, found {elem}")
        elif rtype == "any":
            if elem != ir.IntegerType.get_signless(1, context=op.context):
                return _fail(op, f"'any' result must have i1 elements, found {elem}")
        elif elem != value_type:
            return _fail(op, f"result #{i} element type {elem} does not match the reduced {value_type}")
    return True


class LoadOp(Coil.Operation, name="load"):
    """Inductor's ops.load: the element of a tensor or buffer at `indices`."""

    source: ext.Operand[Any]
    indices: Sequence[ext.Operand[ir.IndexType]]
    result: ext.Result[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        source = self.operands[0]
        shaped = shaped_type(source.type)
        if shaped is None:
            return _fail(self, f"source must be a ranked tensor or memref, found {source.type}")
        n_indices = len(self.operands) - 1
        if n_indices != shaped.rank:
            return _fail(
                self, f"expects {shaped.rank} indices for a rank-{shaped.rank} source, found {n_indices}"
            )
        expected = scalar_type(shaped.element_type)
        if self.result.type != expected:
            return _fail(self, f"result type {self.result.type} must be {expected}")
        return True


class ViewOp(Coil.Operation, name="view", traits=[ext.Pure]):
    """A view without a copy: `result[idx] = source[map(idx)]`.

    Covers permute, expand, slice, select, reshape and as_strided. The map's
    dimensions are the view's indices and its results the source's indices;
    its symbols are bound to the first `map.n_symbols` operands after the
    source (index values) for symbolic sizes. The operands after those, when
    present, are the values of the result's `?` dims, as `coil.alloc` lists
    them (a host view needs them to size its result).
    """

    source: ext.Operand[Any]
    symbols: Sequence[ext.Operand[ir.IndexType]]
    map: ir.AffineMapAttr
    result: ext.Result[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        source = self.operands[0]
        src = shaped_type(source.type)
        res = shaped_type(self.result.type)
        if src is None or res is None:
            return _fail(self, "source and result must be ranked tensors or memrefs")
        if src.element_type != res.element_type:
            return _fail(self, f"element type changes from {src.element_type} to {res.element_type}")
        m = self.attributes["map"].value
        if m.n_dims != res.rank:
            return _fail(self, f"map has {m.n_dims} dimensions but the result has rank {res.rank}")
        if len(m.results) != src.rank:
            return _fail(self, f"map has {len(m.results)} results but the source has rank {src.rank}")
        n_operands = len(self.operands) - 1
        n_dynamic = sum(1 for s in res.shape if is_dynamic(s))
        if n_operands not in (m.n_symbols, m.n_symbols + n_dynamic) or (n_dynamic == 0 and n_operands != m.n_symbols):
            return _fail(
                self,
                f"map has {m.n_symbols} symbols and the result {n_dynamic} dynamic sizes, "
                f"but {n_operands} index operands are given",
            )
        return True


class ArgOp(Coil.Operation, name="arg"):
    """One argument of the enclosing `coil.extern` or `coil.launch`."""

    value: ext.Operand[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        parent = self.operation.parent
        if parent is None or parent.name not in ("coil.extern", "coil.launch"):
            return _fail(self, "must be directly inside 'coil.extern' or 'coil.launch'")
        return True


class ExternOp(Coil.Operation, name="extern"):
    """Inductor's ExternKernel: call ATen operator `kernel` at run time.

    The region lists the tensor arguments as `coil.arg` ops. `args` and
    `kwargs` hold the call's arguments as attributes, with the Nth `coil.arg`
    written `#coil.operand<N>` and `unit` for None. Several results come as one
    builtin tuple.
    """

    kernel: ir.StringAttr
    args: ir.ArrayAttr
    kwargs: ir.DictAttr
    result: ext.Result[Any]
    operands_: ext.Region

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        name = self.attributes["kernel"].value
        if not _OPERATOR_NAME.match(name):
            return _fail(
                self, f"kernel '{name}' is not an operator name of the form 'namespace::name.overload'"
            )
        values = _check_arg_region(self)
        if values is None:
            return False
        n_inputs = len(values)
        seen: set[int] = set()

        def visit(attr: ir.Attribute) -> bool:
            if isinstance(attr, OperandRefAttr):
                index = ir.IntegerAttr(attr.index).value
                if not 0 <= index < n_inputs:
                    return _fail(self, f"argument refers to operand #{index} but there are {n_inputs}")
                seen.add(index)
            elif isinstance(attr, ir.ArrayAttr):
                return all(visit(a) for a in attr)
            return True

        if not visit(self.attributes["args"]):
            return False
        for named in self.attributes["kwargs"]:
            if not visit(named.attr):
                return False
        missing = sorted(set(range(n_inputs)) - seen)
        if missing:
            return _fail(self, f"operand #{missing[0]} is not used by any argument")
        return True


class GetOp(Coil.Operation, name="get", traits=[ext.Pure]):
    """Element `index` of a tuple produced by a multi-result `coil.extern`."""

    source: ext.Operand[Any]
    index: ir.IntegerAttr
    result: ext.Result[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        t = self.operands[0].type
        if not isinstance(t, ir.TupleType):
            return _fail(self, f"source must be a tuple, found {t}")
        index = self.attributes["index"].value
        if not 0 <= index < t.num_types:
            return _fail(self, f"index {index} is out of range for a tuple of {t.num_types}")
        if t.get_type(index) != self.result.type:
            return _fail(self, f"result type {self.result.type} must be {t.get_type(index)}")
        return True


# ---------------------------------------------------------------------------
# Kernel and host level


class LoopNestOp(Coil.Operation, name="loop_nest"):
    """A kernel's iteration space: Inductor's LoopBody over buffers.

    The body takes len(ranges) + len(reduction_ranges) indices and writes with
    `coil.store`; `coil.reduce` inside it combines over the reduction indices,
    and ops using a reduced value run once per point of `ranges` (an epilogue).
    `sizes` are the values of the dynamic entries of both range lists.
    """

    sizes: Sequence[ext.Operand[ir.IndexType]]
    ranges: ir.ArrayAttr
    reduction_ranges: ir.ArrayAttr
    body: ext.Region

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        ranges = int_list(self.attributes["ranges"])
        rranges = int_list(self.attributes["reduction_ranges"])
        if ranges is None or rranges is None:
            return _fail(self, "'ranges' and 'reduction_ranges' must be arrays of integers")
        if not _check_dynamic_sizes(self, ranges, rranges):
            return False
        block = _check_index_block(self, len(ranges) + len(rranges))
        if block is None:
            return False
        values = _terminator_values(self, block)
        if values is None:
            return False
        if values:
            return _fail(self, "body must yield no values: it writes with 'coil.store'")
        return True


class ReduceOp(Coil.Operation, name="reduce"):
    """Inside a loop nest: `value` combined over the reduction indices."""

    value: ext.Operand[Any]
    reduction_type: ir.StringAttr
    results_: Sequence[ext.Result[Any]]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        rtype = self.attributes["reduction_type"].value
        if rtype not in REDUCTION_TYPES:
            return _fail(self, f"reduction_type '{rtype}' is not one of {', '.join(REDUCTION_TYPES)}")
        results = list(self.results)
        if len(results) != REDUCTION_RESULT_COUNT[rtype]:
            return _fail(
                self, f"'{rtype}' produces {REDUCTION_RESULT_COUNT[rtype]} results, found {len(results)}"
            )
        loop = _enclosing(self, "coil.loop_nest")
        if loop is None:
            return _fail(self, "must be inside a 'coil.loop_nest'")
        if not int_list(loop.attributes["reduction_ranges"]):
            return _fail(self, "enclosing 'coil.loop_nest' has no reduction ranges")
        return _check_reduced_types(self, rtype, self.operands[0].type, [r.type for r in results])


class StoreOp(Coil.Operation, name="store"):
    """Inductor's ops.store: `dest[indices] = value`."""

    value: ext.Operand[Any]
    dest: ext.Operand[Any]
    indices: Sequence[ext.Operand[ir.IndexType]]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        value, dest = self.operands[0], self.operands[1]
        if not isinstance(dest.type, ir.MemRefType):
            return _fail(self, f"destination must be a memref, found {dest.type}")
        n_indices = len(self.operands) - 2
        if n_indices != dest.type.rank:
            return _fail(
                self, f"expects {dest.type.rank} indices for a rank-{dest.type.rank} buffer, found {n_indices}"
            )
        expected = scalar_type(dest.type.element_type)
        if value.type != expected:
            return _fail(self, f"stores {value.type} into a buffer of {expected}")
        return True


class AllocOp(Coil.Operation, name="alloc"):
    """A new buffer on `device` (Inductor's AllocateLine); `sizes` are its `?` dims."""

    sizes: Sequence[ext.Operand[ir.IndexType]]
    device: ir.StringAttr
    result: ext.Result[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        if not isinstance(self.result.type, ir.MemRefType):
            return _fail(self, f"result must be a memref, found {self.result.type}")
        if not _check_dynamic_sizes(self, list(self.result.type.shape)):
            return False
        if not self.attributes["device"].value:
            return _fail(self, "device must not be empty")
        return True


class DeallocOp(Coil.Operation, name="dealloc"):
    """The last use of a buffer (Inductor's FreeIfNotReusedLine)."""

    buffer: ext.Operand[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        if not isinstance(self.operands[0].type, ir.MemRefType):
            return _fail(self, f"operand must be a memref, found {self.operands[0].type}")
        return True


class ReuseOp(Coil.Operation, name="reuse"):
    """A new buffer that takes over the storage of a dead one (Inductor's ReuseLine).

    Legal only for the same element type and number of elements, which is
    Inductor's reuse key (device, dtype, storage size). `sizes` are the
    result's `?` dims.
    """

    source: ext.Operand[Any]
    sizes: Sequence[ext.Operand[ir.IndexType]]
    result: ext.Result[Any]

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        src, res = self.operands[0].type, self.result.type
        if not (isinstance(src, ir.MemRefType) and isinstance(res, ir.MemRefType)):
            return _fail(self, "source and result must be memrefs")
        if src.element_type != res.element_type:
            return _fail(self, f"cannot reuse a buffer of {src.element_type} for {res.element_type}")
        n_dynamic = sum(1 for s in res.shape if is_dynamic(s))
        if len(list(self.operands)) - 1 != n_dynamic:
            return _fail(self, f"has {n_dynamic} dynamic sizes but {len(list(self.operands)) - 1} size operands")
        if src.has_static_shape and res.has_static_shape:
            n_src, n_res = _numel(src.shape), _numel(res.shape)
            if n_src != n_res:
                return _fail(self, f"cannot reuse a buffer of {n_src} elements for one of {n_res}")
        return True


class LaunchOp(Coil.Operation, name="launch"):
    """Run kernel function `kernel` on the arguments listed in its region."""

    kernel: ir.FlatSymbolRefAttr
    operands_: ext.Region

    def verify_invariants(self) -> bool:
        if not _check_declared_attributes(self):
            return False
        values = _check_arg_region(self)
        if values is None:
            return False
        name = self.attributes["kernel"].value
        module = _enclosing(self, "builtin.module")
        if module is None:
            return True
        # The symbol table is built in C++: a Python scan of the module per launch
        # made verifying a module cost launches x functions attribute lookups.
        try:
            callee = ir.SymbolTable(module.operation)[name]
        except KeyError:
            callee = None
        if callee is None:
            return _fail(self, f"kernel '@{name}' does not exist")
        if "function_type" not in callee.attributes:
            return _fail(self, f"kernel '@{name}' is not a function")
        fn_type = callee.attributes["function_type"].value
        # A kernel sees buffers with signless elements and the offset folded
        # into the pointer it receives.
        with self.location:
            arg_types = [kernel_arg_type(v.type) for v in values]
        if list(fn_type.inputs) != arg_types:
            return _fail(
                self,
                f"arguments ({', '.join(map(str, arg_types))}) do not match kernel '@{name}' "
                f"({', '.join(map(str, fn_type.inputs))})",
            )
        return True


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


ALL_OPS = (
    YieldOp,
    PointwiseOp,
    ReductionOp,
    LoadOp,
    ViewOp,
    ArgOp,
    ExternOp,
    GetOp,
    LoopNestOp,
    ReduceOp,
    StoreOp,
    AllocOp,
    DeallocOp,
    ReuseOp,
    LaunchOp,
)
