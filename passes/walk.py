"""Small helpers over the IR that several passes share."""

from __future__ import annotations

from coil.mlir import ir


def ops_named(root: ir.Operation, *names: str, order: ir.WalkOrder = ir.WalkOrder.PRE_ORDER) -> list[ir.OpView]:
    """Every op under `root` (itself included) whose name is in `names`, in walk order.

    The list is collected before the caller mutates anything, so erasing or
    replacing ops while iterating over it is safe.
    """
    found: list[ir.OpView] = []
    wanted = set(names)

    def visit(op):
        if op.name in wanted:
            found.append(op.opview)
        return ir.WalkResult.ADVANCE

    root.operation.walk(visit, order)
    return found


def has_uses(op: ir.OpView) -> bool:
    return any(True for r in op.results for _ in r.uses)


def erase_dead(root: ir.Operation, names: set[str]) -> int:
    """Erases ops named in `names` whose results are unused, until none is left.

    One walk: erasing an op can only kill the ops defining its operands, so
    those are checked then (a chain of views dies in one pass).
    """
    dead = [op for op in ops_named(root, *names, order=ir.WalkOrder.POST_ORDER) if not has_uses(op)]
    erased = 0
    while erased < len(dead):  # in order: nested ops before the ops holding them
        op = dead[erased]
        sources = []
        for v in op.operands:
            if isinstance(v, ir.OpResult) and v.owner.operation.name in names and v.owner.operation not in sources:
                sources.append(v.owner.operation)
        op.erase()
        erased += 1
        dead.extend(source for source in sources if not has_uses(source))
    return erased


def operands_among(op: ir.OpView, known) -> list[ir.Value]:
    """The operands of `op`, or of an op nested in it, that are in `known` (in use order)."""
    used = []

    def visit(inner):
        for v in inner.operands:
            if v in known:
                used.append(v)
        return ir.WalkResult.ADVANCE

    op.operation.walk(visit)
    return used


def remap_operands(op: ir.Operation, mapping: dict) -> None:
    """Points every operand of `op` (and of ops nested in it) found in `mapping` at its image.

    Cloning a body into a new place leaves its operands pointing at the old
    values; this rebinds them.
    """

    def visit(inner):
        for i, v in enumerate(list(inner.operands)):
            if v in mapping:
                inner.operands[i] = mapping[v]
        return ir.WalkResult.ADVANCE

    op.walk(visit, ir.WalkOrder.PRE_ORDER)


def storage_root(value: ir.Value) -> ir.Value:
    """The buffer whose storage `value` uses: through host views to the alloc, argument or extern result."""
    while not isinstance(value, ir.BlockArgument) and value.owner.operation.name == "coil.view":
        value = value.owner.operands[0]
    return value


def memory_root(value: ir.Value) -> ir.Value:
    """The buffer whose memory `value` lives in: through host views and the buffers
    a memory plan reused (`coil.reuse`) to the alloc, argument or extern result."""
    while not isinstance(value, ir.BlockArgument) and value.owner.operation.name in ("coil.view", "coil.reuse"):
        value = value.owner.operands[0]
    return value


def depends_on(value: ir.Value, source: ir.Value) -> bool:
    """Whether `value` is `source` or computed from it by ops (not through memory)."""
    stack, seen = [value], set()
    while stack:
        v = stack.pop()
        if v == source:
            return True
        if isinstance(v, ir.OpResult) and v not in seen:
            seen.add(v)
            stack.extend(v.owner.operands)
    return False
