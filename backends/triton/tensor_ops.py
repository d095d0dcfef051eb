"""Elementwise TTIR on tiles: broadcasting, constants, arith/math ops and reduction combiners.

One `TileOps` wraps a `ttir.Builder`; its helpers take `Value`s of any
broadcast-compatible shapes (scalars splat, size-1 dims broadcast; constants
are rebuilt as dense constants of the wanted shape instead of splatted), so
the lowering rules read like scalar code.
"""

from __future__ import annotations

import math

from .ttir import Builder, TType, Value, literal

FLOATS = ("f16", "bf16", "f32", "f64")


def join_shapes(a: tuple, b: tuple) -> tuple:
    if not a:
        return b
    if not b:
        return a
    if len(a) != len(b):
        raise ValueError(f"cannot broadcast shapes {a} and {b}")
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"cannot broadcast shapes {a} and {b}")
        out.append(max(x, y))
    return tuple(out)


class TileOps:
    def __init__(self, builder: Builder):
        self.b = builder
        self.widened: dict[str, Value] = {}  # f32 value -> the half-precision value it was extended from

    # -- constants and shapes ---------------------------------------------

    def const(self, value, elem: str, shape: tuple = ()) -> Value:
        t = TType(elem, tuple(shape))
        text = literal(value, elem)
        if shape:
            text = f"dense<{text}>"
        if elem == "i1" and not shape:
            return self.b.op(f"arith.constant {text}", [], t, constant=value)
        return self.b.op(f"arith.constant {text} : {t}", [], t, constant=value)

    def broadcast(self, v: Value, shape: tuple) -> Value:
        shape = tuple(shape)
        if v.shape == shape:
            return v
        if v.constant is not None:
            return self.const(v.constant, v.type.elem, shape)
        t = v.type.with_shape(shape)
        if not v.shape:
            return self.b.op(f"tt.splat {v.name} : {v.type} -> {t}", [v], t)
        return self.b.op(f"tt.broadcast {v.name} : {v.type} -> {t}", [v], t)

    def expand_dims(self, v: Value, axis: int) -> Value:
        shape = list(v.shape)
        shape.insert(axis, 1)
        t = v.type.with_shape(tuple(shape))
        return self.b.op(f"tt.expand_dims {v.name} {{axis = {axis} : i32}} : {v.type} -> {t}", [v], t)

    def same_shape(self, *values: Value) -> list[Value]:
        shape = ()
        for v in values:
            shape = join_shapes(shape, v.shape)
        return [self.broadcast(v, shape) for v in values]

    # -- generic ops ------------------------------------------------------

    def binary(self, name: str, a: Value, b: Value) -> Value:
        a, b = self.same_shape(a, b)
        _check_same_type(name, a, b)
        folded = _fold(name, a, b)
        if folded is not None:
            return self.const(folded, a.type.elem, a.shape)
        return self.b.op(f"{name} {a.name}, {b.name} : {a.type}", [a, b], a.type)

    def unary(self, name: str, a: Value) -> Value:
        return self.b.op(f"{name} {a.name} : {a.type}", [a], a.type)

    def ternary(self, name: str, a: Value, b: Value, c: Value) -> Value:
        a, b, c = self.same_shape(a, b, c)
        return self.b.op(f"{name} {a.name}, {b.name}, {c.name} : {a.type}", [a, b, c], a.type)

    def cmpi(self, predicate: str, a: Value, b: Value) -> Value:
        a, b = self.same_shape(a, b)
        _check_same_type("arith.cmpi", a, b)
        t = a.type.with_elem("i1")
        return self.b.op(f"arith.cmpi {predicate}, {a.name}, {b.name} : {a.type}", [a, b], t)

    def cmpf(self, predicate: str, a: Value, b: Value) -> Value:
        a, b = self.same_shape(a, b)
        _check_same_type("arith.cmpf", a, b)
        t = a.type.with_elem("i1")
        return self.b.op(f"arith.cmpf {predicate}, {a.name}, {b.name} : {a.type}", [a, b], t)

    def select(self, cond: Value, a: Value, b: Value) -> Value:
        if a.name == b.name:
            return a
        cond, a, b = self.same_shape(cond, a, b)
        _check_same_type("arith.select", a, b)
        if cond.constant is not None:
            return a if cond.constant else b
        types = f"{cond.type}, {a.type}" if a.shape else f"{a.type}"
        return self.b.op(f"arith.select {cond.name}, {a.name}, {b.name} : {types}", [cond, a, b], a.type)

    def cast(self, name: str, a: Value, elem: str) -> Value:
        if a.type.elem == elem:
            return a
        t = a.type.with_elem(elem)
        if a.constant is not None and name in ("arith.extsi", "arith.extf", "arith.sitofp"):
            return self.const(a.constant, elem, a.shape)
        narrow = self.widened.get(a.name)
        if name == "arith.truncf" and narrow is not None and narrow.type.elem == elem:
            return narrow  # rounding a widened half value gives it back
        result = self.b.op(f"{name} {a.name} : {a.type} to {t}", [a], t)
        if name == "arith.extf" and a.type.elem in ("f16", "bf16"):
            self.widened[result.name] = a
        return result

    def extern(self, symbol: str, args: list[Value]) -> Value:
        args = self.same_shape(*args)
        t = args[0].type
        names = ", ".join(a.name for a in args)
        types = ", ".join(str(a.type) for a in args)
        text = f'tt.extern_elementwise {names} {{libname = "", libpath = "", pure = true, symbol = "{symbol}"}} : ({types}) -> {t}'
        return self.b.op(text, args, t)

    def logical_and(self, a: Value | None, b: Value | None) -> Value | None:
        if a is None:
            return b
        if b is None:
            return a
        return self.binary("arith.andi", a, b)

    def to_int(self, a: Value, elem: str) -> Value:
        """Integer `a` sign-extended or truncated to `elem`."""
        if a.type.elem == elem:
            return a
        if a.type.int_width < int(elem[1:]):
            return self.cast("arith.extsi", a, elem)
        return self.cast("arith.trunci", a, elem)


def _check_same_type(name: str, a: Value, b: Value) -> None:
    if a.type != b.type:
        raise ValueError(f"{name}: operand types differ: {a.type} and {b.type}")


def _fold(name: str, a: Value, b: Value):
    """Integer arithmetic on two constants, folded (index math meets these)."""
    if a.constant is None or b.constant is None or a.type.elem in FLOATS or a.type.elem == "i1":
        return None
    x, y = int(a.constant), int(b.constant)
    if name == "arith.addi":
        return x + y
    if name == "arith.subi":
        return x - y
    if name == "arith.muli":
        return x * y
    return None


# ---------------------------------------------------------------------------
# Reductions


def reduction_init(rtype: str, elem: str):
    """The neutral element a masked lane contributes (PyTorch's identity for the reduction)."""
    floaty = elem in FLOATS
    if rtype in ("sum", "xor_sum", "any"):
        return 0.0 if floaty else 0
    if rtype == "prod":
        return 1.0 if floaty else 1
    if rtype in ("max", "argmax"):
        return -math.inf if floaty else _int_extreme(elem, largest=False)
    if rtype in ("min", "argmin"):
        return math.inf if floaty else _int_extreme(elem, largest=True)
    raise ValueError(rtype)


def _int_extreme(elem: str, largest: bool) -> int:
    width = int(elem[1:])
    if width == 1:
        return 1 if largest else 0
    return (1 << (width - 1)) - 1 if largest else -(1 << (width - 1))


def combine(ops: TileOps, rtype: str, a: list[Value], b: list[Value]) -> list[Value]:
    """Reduction combine of two partial results (value, or value and index for arg-reductions).

    Associative and commutative, as `tt.reduce` needs: max/min propagate NaN;
    welford merges (mean, m2, count) triples (Chan et al.);
    argmax/argmin keep the extreme value, a NaN counting as the extreme, and of
    equal values the smaller index (the first position, as PyTorch).
    """
    x, y = a[0], b[0]
    elem = x.type.elem
    floaty = elem in FLOATS
    if rtype == "sum":
        return [ops.binary("arith.addf" if floaty else "arith.addi", x, y)]
    if rtype == "prod":
        return [ops.binary("arith.mulf" if floaty else "arith.muli", x, y)]
    if rtype == "max":
        return [ops.binary("arith.maximumf" if floaty else ("arith.ori" if elem == "i1" else "arith.maxsi"), x, y)]
    if rtype == "min":
        return [ops.binary("arith.minimumf" if floaty else ("arith.andi" if elem == "i1" else "arith.minsi"), x, y)]
    if rtype == "any":
        return [ops.binary("arith.ori", x, y)]
    if rtype == "xor_sum":
        return [ops.binary("arith.xori", x, y)]
    if rtype == "welford":
        # Chan's merge of two (mean, m2, count) partials; an empty side leaves the other as it is.
        (mean_a, m2_a, n_a), (mean_b, m2_b, n_b) = a, b
        n = ops.binary("arith.addf", n_a, n_b)
        zero = ops.const(0.0, elem, n.shape)
        share = ops.select(ops.cmpf("oeq", n, zero), zero, ops.binary("arith.divf", n_b, n))
        delta = ops.binary("arith.subf", mean_b, mean_a)
        mean = ops.binary("arith.addf", mean_a, ops.binary("arith.mulf", delta, share))
        spread = ops.binary("arith.mulf", ops.binary("arith.mulf", delta, delta), ops.binary("arith.mulf", n_a, share))
        m2 = ops.binary("arith.addf", ops.binary("arith.addf", m2_a, m2_b), spread)
        return [mean, m2, n]
    if rtype in ("argmax", "argmin"):
        xi, yi = a[1], b[1]
        larger = rtype == "argmax"
        if floaty:
            better = ops.cmpf("ogt" if larger else "olt", y, x)
            equal = ops.cmpf("oeq", x, y)
            x_nan = ops.cmpf("uno", x, x)
            y_nan = ops.cmpf("uno", y, y)
            x_ordered = ops.cmpf("ord", x, x)
            better = ops.binary("arith.ori", better, ops.binary("arith.andi", y_nan, x_ordered))
            equal = ops.binary("arith.ori", equal, ops.binary("arith.andi", x_nan, y_nan))
        else:
            predicate = ("ugt" if larger else "ult") if elem == "i1" else ("sgt" if larger else "slt")
            better = ops.cmpi(predicate, y, x)
            equal = ops.cmpi("eq", x, y)
        earlier = ops.cmpi("slt", yi, xi)
        take = ops.binary("arith.ori", better, ops.binary("arith.andi", equal, earlier))
        return [ops.select(take, y, x), ops.select(take, yi, xi)]
    raise ValueError(rtype)
