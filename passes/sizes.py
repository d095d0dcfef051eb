"""Mixed sizes (an int, or an `index` value for a symbolic size) as the passes need them.

Two sizes are equal only when provably so: the same int, or the same SSA
value (the importer builds each distinct size expression once, so distinct
values may still be equal at run time, and a pass must then assume they are
not). Anything that needs a number (cost heuristics, byte counts, peak
estimates) evaluates a symbolic size at the `coil.size_hint` of the @graph
arguments it derives from, as Inductor's `size_hint` does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from coil.dialects import DYNAMIC, is_dynamic, mixed_shape, region_args
from coil.mlir import ir

from .index_math import evaluate

# Used for a size whose hint cannot be found (Inductor's unbacked fallback).
FALLBACK_HINT = 8192

_ARITH = {
    "arith.addi": lambda a, b: a + b,
    "arith.subi": lambda a, b: a - b,
    "arith.muli": lambda a, b: a * b,
    "arith.floordivsi": lambda a, b: a // b,
    "arith.ceildivsi": lambda a, b: -((-a) // b),
    "arith.divsi": lambda a, b: int(a / b),
    "arith.divui": lambda a, b: a // b,
    "arith.remsi": lambda a, b: int(math.fmod(a, b)),
    "arith.remui": lambda a, b: a % b,
    "arith.maxsi": max,
    "arith.minsi": min,
}


def static_value(size) -> int | None:
    """The int a size is known to be: an int, or an `arith.constant` index; else None."""
    if isinstance(size, ir.Value):
        if isinstance(size, ir.OpResult) and size.owner.operation.name == "arith.constant":
            attr = size.owner.attributes["value"]
            if isinstance(attr, ir.IntegerAttr):
                return attr.value
        return None
    if size is None or is_dynamic(size):
        return None
    return int(size)


def is_symbolic(size) -> bool:
    return static_value(size) is None


def _arg_hint(arg: ir.BlockArgument) -> int | None:
    """The hint of a function argument: its own `coil.size_hint`, or, for a
    kernel's index argument, the hint of the value its launches pass."""
    fn = arg.owner.owner
    if fn is None or fn.operation.name != "func.func":
        return None
    if "arg_attrs" in fn.attributes:
        attrs = fn.attributes["arg_attrs"][arg.arg_number]
        if "coil.size_hint" in attrs:
            return attrs["coil.size_hint"].value
    if "coil.kernel" not in fn.attributes or fn.parent is None:
        return None
    name = fn.attributes["sym_name"].value
    found = []

    def visit(op):
        if op.operation.name == "coil.launch" and op.attributes["kernel"].value == name:
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    fn.parent.walk(visit)
    if not found:
        return None
    args = region_args(found[0].opview)
    return _hint(args[arg.arg_number]) if arg.arg_number < len(args) else None


def _hint(value: ir.Value) -> int | None:
    known = static_value(value)
    if known is not None:
        return known
    if isinstance(value, ir.BlockArgument):
        return _arg_hint(value)
    op = value.owner
    name = op.operation.name
    if name in _ARITH:
        lhs, rhs = _hint(op.operands[0]), _hint(op.operands[1])
        if lhs is None or rhs is None:
            return None
        try:
            return _ARITH[name](lhs, rhs)
        except ZeroDivisionError:
            return None
    if name in ("arith.index_cast", "arith.index_castui"):
        return _hint(op.operands[0])
    if name == "affine.apply":
        amap = op.attributes["map"].value
        values = [_hint(v) for v in op.operands]
        if any(v is None for v in values):
            return None
        return evaluate(amap.results[0], values[: amap.n_dims], values[amap.n_dims :])
    return None


def size_hint(size, fallback: int = FALLBACK_HINT) -> int:
    """A number for `size`: itself if static, else its value at the size hints."""
    if size is None:
        return fallback
    if not isinstance(size, ir.Value):
        return fallback if is_dynamic(size) else int(size)
    found = _hint(size)
    return fallback if found is None else found


def same_size(a, b) -> bool:
    """Provably equal: equal ints (constants included) or the identical SSA value."""
    if a is None or b is None:
        return False
    sa, sb = static_value(a), static_value(b)
    if sa is not None or sb is not None:
        return sa == sb
    return a == b


def same_sizes(xs: Sequence, ys: Sequence) -> bool:
    return len(xs) == len(ys) and all(same_size(x, y) for x, y in zip(xs, ys))


def numel_hint(shape: Sequence) -> int:
    return math.prod(size_hint(s) for s in shape)


def numel_key(shape: Sequence):
    """A hashable key equal for two shapes whose element counts are provably equal
    (the same static product and the same symbolic factors); None if a size is unknown."""
    static, symbols = 1, Counter()
    for s in shape:
        if s is None:
            return None
        known = static_value(s)
        if known is not None:
            static *= known
        else:
            symbols[s] += 1
    if static == 0:
        return (0,)
    return (static, frozenset(symbols.items()))


def dynamic_values(shape: Sequence) -> list[ir.Value]:
    """The `index` operands a builder needs for the symbolic entries of `shape`."""
    return [s for s in shape if isinstance(s, ir.Value)]


def static_shape(shape: Sequence) -> list[int]:
    """`shape` with each symbolic entry as DYNAMIC, as a type spells it."""
    return [DYNAMIC if isinstance(s, ir.Value) else int(s) for s in shape]


def shape_of(value: ir.Value) -> list:
    """Mixed sizes of a tensor or buffer; None for a `?` that cannot be named.

    A view's `?` dims are never guessed from its map: a slice reads a source
    dim as a plain index yet is shorter than it.
    """
    return mixed_shape(value)
