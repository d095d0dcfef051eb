"""coil-inline-producers: vertical fusion at graph level.

Inductor composes a Pointwise node's `inner_fn` into the loads of its
consumers instead of storing it, unless the scheduler decides to realize it.
This pass does the same on the coil dialect: a `coil.pointwise` producer is
cloned into every `coil.load` that reads it (in pointwise and reduction
bodies), its index arguments bound to the load's indices, and the producer
disappears. Chains of pointwise ops and views become one body; pointwise
prologues fold into reductions.

A producer is realized (kept as its own kernel, its result stored once)
instead when inlining would cost more than storing and reloading it:
  - a user is not a load in a body (an extern call, a host view, the graph
    result): those need a buffer;
  - it has more than `max-reads` load sites and its body is not trivial
    (`cheap-ops` arithmetic ops or fewer is trivial);
  - a consumer iterates over more points than the producer has (a broadcast
    read, so each element would be recomputed many times) and the body is not
    trivial;
  - its body is larger than `max-body-ops` operations;
  - it gathers (a load whose index is computed from loaded data: the target
    logit of a cross-entropy) and a reduction over its points reads it:
    inlined, every gather would run inside the reduction's few programs, one
    dependent memory round trip after another (a 4096-row loss's final sum
    took 9.5 us on an H100 in one program); realized, the gathers run one a
    point where their rows are, and the reduction sums a dense buffer.
Legality needs no check here: bodies are pure functions of their indices and
of values defined before them, so substituting a producer's body for a read of
it never changes a result.
"""

from __future__ import annotations

from coil.dialects import mixed_ranges
from coil.mlir import ir

from .registry import register_pass
from .sizes import numel_hint
from .walk import ops_named, remap_operands

BODY_OPS = ("coil.pointwise", "coil.reduction")


def body_op_count(op: ir.Operation) -> int:
    """Operations in a body that compute (loads and the terminator excluded)."""
    count = 0

    def visit(inner):
        nonlocal count
        if inner != op and inner.name not in ("coil.load", "coil.yield", "arith.constant"):
            count += 1
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return count


def _iteration_points(op: ir.Operation) -> int:
    """Points the op iterates over; symbolic ranges count at their size hints
    (a heuristic, so a guess is enough)."""
    sizes = mixed_ranges(op, "ranges")
    if op.name == "coil.reduction":
        sizes += mixed_ranges(op, "reduction_ranges")
    return numel_hint(sizes)


def _enclosing_body_op(op: ir.Operation):
    parent = op.parent
    while parent is not None and parent.name not in BODY_OPS:
        parent = parent.parent
    return parent


def gathers(op: ir.Operation) -> bool:
    """Whether the body loads at an index computed from a loaded value."""
    loaded: set = set()
    found = False

    def visit(inner):
        nonlocal found
        operands = list(inner.operands)
        if inner.name == "coil.load" and any(v in loaded for v in operands[1:]):
            found = True
        if inner.name == "coil.load" or any(v in loaded for v in operands):
            loaded.update(inner.results)
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def _collapses(consumer: ir.Operation, points: int) -> bool:
    """Whether `consumer` is a reduction with fewer output points than `points` (it reduces over them)."""
    return consumer.name == "coil.reduction" and numel_hint(mixed_ranges(consumer, "ranges")) < points


def inline_decision(producer: ir.Operation, max_reads: int, cheap_ops: int, max_body_ops: int) -> list | None:
    """The loads to inline `producer` into, or None if it must be realized."""
    loads = []
    for use in producer.results[0].uses:
        user = use.owner
        if user.name != "coil.load" or use.operand_number != 0:
            return None
        if _enclosing_body_op(user) is None:
            return None
        loads.append(user)
    if not loads:
        return None
    cost = body_op_count(producer)
    if cost > max_body_ops:
        return None
    if gathers(producer):
        points = _iteration_points(producer)
        if any(_collapses(_enclosing_body_op(load), points) for load in loads):
            return None
    if cost > cheap_ops:
        if len(loads) > max_reads:
            return None
        points = _iteration_points(producer)
        for load in loads:
            if _iteration_points(_enclosing_body_op(load)) > points:
                return None
    return loads


def inline_into_load(producer: ir.Operation, load: ir.Operation) -> None:
    """Replaces `load` by a copy of `producer`'s body evaluated at the load's indices."""
    block = producer.regions[0].blocks[0]
    mapping = {arg: index for arg, index in zip(block.arguments, list(load.operands)[1:])}
    result = None
    with ir.InsertionPoint(load), load.location:
        for inner in block.operations:
            if inner.name == "coil.yield":
                result = mapping.get(inner.operands[0], inner.operands[0])
                break
            clone = inner.clone()
            remap_operands(clone, mapping)
            for old, new in zip(inner.results, clone.results):
                mapping[old] = new
    load.results[0].replace_all_uses_with(result)
    load.erase()




@register_pass(
    "coil-inline-producers",
    "Vertical fusion: inline pointwise producers into the loads of their consumers",
    options={
        "max-reads": "realize a non-trivial producer read at more load sites than this (default 4)",
        "cheap-ops": "a body with at most this many ops is trivial and always inlined (default 4)",
        "max-body-ops": "never inline a body with more ops than this (default 64)",
    },
)
def inline_producers(module: ir.Operation, max_reads: str = "4", cheap_ops: str = "4", max_body_ops: str = "64") -> None:
    limits = dict(max_reads=int(max_reads), cheap_ops=int(cheap_ops), max_body_ops=int(max_body_ops))
    for producer in ops_named(module, "coil.pointwise"):
        loads = inline_decision(producer.operation, **limits)
        if loads is None:
            continue
        for load in loads:
            inline_into_load(producer.operation, load)
        producer.operation.erase()
