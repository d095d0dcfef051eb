"""welford reductions as two sum reductions, shared by the CPU and GPU backends.

Both backends compute welford (mean, m2, weight) in two passes, sum then the
sum of squared deviations from the mean, which is more accurate than a
one-pass update and needs only plain sums, so each keeps one reduction kernel
shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from coil.dialects import builders
from coil.dialects.types import is_float
from coil.mlir import arith, ir

from .registry import PassFailure


def _weight(t: ir.Type, static: int, symbolic: list[ir.Value]) -> ir.Value:
    """n as a float of type `t`: the static product times the symbolic extents (index values)."""
    if not symbolic:
        return arith.constant(t, float(static))
    index = ir.IndexType.get()
    n = symbolic[0]
    for extent in symbolic[1:]:
        n = arith.muli(n, extent)
    if static != 1:
        n = arith.muli(n, arith.constant(index, static))
    return arith.sitofp(t, arith.index_cast(ir.IntegerType.get_signless(64), n))


def expand_welford(body: ir.Block, reduction_ranges: Sequence) -> None:
    """welford(x) -> mean = sum(x) / n, m2 = sum((x - mean)^2), weight = n: two reduction levels.

    `reduction_ranges` are mixed sizes: a symbolic extent is an `index` value
    visible in `body` (the kernel's size argument).
    """
    n, symbolic = 1, []
    for extent in reduction_ranges:
        if isinstance(extent, ir.Value):
            symbolic.append(extent)
        else:
            n *= extent
    for op in list(body.operations):
        if op.operation.name != "coil.reduce" or op.attributes["reduction_type"].value != "welford":
            continue
        x = op.operands[0]
        t = x.type
        if not is_float(t):
            raise PassFailure(f"'welford' reduces floats, found {t}", op.location)
        with ir.InsertionPoint(op), op.location:
            total = builders.reduce(x, "sum", [t])[0]
            weight = _weight(t, n, symbolic)
            mean = arith.divf(total, weight)
            deviation = arith.subf(x, mean)
            square = arith.mulf(deviation, deviation)
            m2 = builders.reduce(square, "sum", [t])[0]
        for old, new in zip(op.results, (mean, m2, weight)):
            old.replace_all_uses_with(new)
        op.erase()
