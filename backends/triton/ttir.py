"""A small builder for TTIR text: value numbering, hoisting, dead-code removal, printing.

Triton runs no cleanup on TTIR given as text, so the builder owns its
quality. Every pure op is keyed by its text without the result name; asking
for an op that exists in a visible block returns the existing value (value
numbering), and a pure op is placed in the outermost open block where all its
operands are defined, so constants end up at the function entry and
loop-invariant index math outside `scf.for` bodies (hoisting). Loads are
numbered too, until a store to the same buffer. Printing drops ops whose
results nobody uses and renumbers values in order.
"""

from __future__ import annotations

import itertools
import math
import re
import struct
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class TType:
    """An element type (`f32`, `i1`, `!tt.ptr<f16>`) and a tensor shape (() for a scalar)."""

    elem: str
    shape: tuple = ()

    def __str__(self) -> str:
        if not self.shape:
            return self.elem
        return "tensor<" + "x".join(str(s) for s in self.shape) + "x" + self.elem + ">"

    def with_shape(self, shape: tuple) -> "TType":
        return TType(self.elem, tuple(shape))

    def with_elem(self, elem: str) -> "TType":
        return TType(elem, self.shape)

    @property
    def is_float(self) -> bool:
        return self.elem in ("f16", "bf16", "f32", "f64")

    @property
    def int_width(self) -> int:
        return int(self.elem[1:])


@dataclass(frozen=True)
class Value:
    name: str
    type: TType
    depth: int = 0
    constant: object = None  # the Python value of a constant (splat for tensors)

    @property
    def shape(self) -> tuple:
        return self.type.shape


# ---------------------------------------------------------------------------
# Constants


def _float_text(value: float, elem: str) -> str:
    """A float literal MLIR parses back exactly: decimal when finite, bit pattern otherwise."""
    if math.isfinite(value):
        text = repr(float(value))
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if elem == "f64":
        return "0x" + struct.pack(">d", value).hex().upper()
    if elem == "f32":
        return "0x" + struct.pack(">f", value).hex().upper()
    if elem == "f16":
        return "0x" + struct.pack(">e", value).hex().upper()
    if elem == "bf16":
        return "0x" + struct.pack(">f", value).hex().upper()[:4]
    raise ValueError(f"no float literal for {elem}")


def literal(value, elem: str) -> str:
    if elem == "i1":
        return "true" if value else "false"
    if elem in ("f16", "bf16", "f32", "f64"):
        return _float_text(float(value), elem)
    return str(int(value))


# ---------------------------------------------------------------------------
# Ops and blocks


@dataclass
class Op:
    results: list[str]
    operands: list[str]
    text: str  # the op's line(s) after `results =`
    pure: bool
    result_decl: str = ""  # "%v5" or "%v5:2"
    removable: bool | None = None  # dropped when unused; defaults to `pure` (a load is removable, not pure)
    body: "Block | None" = None  # for scf.for
    tail: str = ""  # text after the body's closing brace


@dataclass
class Block:
    depth: int
    ops: list[Op] = field(default_factory=list)
    table: dict = field(default_factory=dict)  # key -> Value or tuple of Values
    loads: dict = field(default_factory=dict)  # key -> (Value, buffer)
    header: str = ""  # for loop bodies: "scf.for ..." line
    operands: list = field(default_factory=list)  # for loop bodies: the loop's operands


class Builder:
    """Builds one `tt.func` body."""

    def __init__(self, names: "itertools.count | None" = None):
        self.names = names if names is not None else itertools.count(1)
        self.blocks: list[Block] = [Block(0)]

    @property
    def depth(self) -> int:
        return len(self.blocks) - 1

    def fresh(self) -> str:
        return f"%v{next(self.names)}"

    def _lookup(self, key: str):
        for block in reversed(self.blocks):
            if key in block.table:
                return block.table[key]
        return None

    def op(
        self, text: str, operands: list[Value], result_type: TType, pure: bool = True, constant=None, removable=None
    ) -> Value:
        """One op with one result: `%r = <text>`. `text` names operands by their `.name`."""
        return self.op_multi(text, operands, [result_type], pure, constant, removable)[0]

    def op_multi(
        self,
        text: str,
        operands: list[Value],
        result_types: list[TType],
        pure: bool = True,
        constant=None,
        removable: bool | None = None,
    ) -> list[Value]:
        """An op with results; a pure op seen before in a visible block is not emitted again."""
        depth = max((v.depth for v in operands), default=0) if pure else self.depth
        key = text
        if pure:
            found = self._lookup(key)
            if found is not None:
                return found
        name = self.fresh()
        if len(result_types) == 1:
            values = [Value(name, result_types[0], depth, constant)]
            decl = name
        else:
            values = [Value(f"{name}#{i}", t, depth) for i, t in enumerate(result_types)]
            decl = f"{name}:{len(result_types)}"
        block = self.blocks[depth]
        block.ops.append(Op([v.name for v in values], [v.name for v in operands], text, pure, decl, removable=removable))
        if pure:
            block.table[key] = values
        return values

    def effect(self, text: str, operands: list[Value]) -> None:
        """An op without results that must stay (a store)."""
        self.blocks[-1].ops.append(Op([], [v.name for v in operands], text, False))

    # -- loads ------------------------------------------------------------

    def load(self, key: str, buffer: int, build) -> Value:
        for block in reversed(self.blocks):
            if key in block.loads:
                return block.loads[key][0]
        value = build()
        self.blocks[-1].loads[key] = (value, buffer)
        return value

    def invalidate_loads(self, buffer: int) -> None:
        for block in self.blocks:
            block.loads = {k: v for k, v in block.loads.items() if v[1] != buffer}

    # -- loops ------------------------------------------------------------

    def open_for(self, lower: Value, upper: Value, step: Value, inits: list[Value]):
        """Starts `scf.for`; returns (induction variable, iteration arguments)."""
        block = Block(self.depth + 1)
        iv = Value(self.fresh(), lower.type, block.depth)
        args = [Value(self.fresh(), v.type, block.depth) for v in inits]
        iter_text = ""
        if inits:
            pairs = ", ".join(f"{a.name} = {v.name}" for a, v in zip(args, inits))
            types = ", ".join(str(v.type) for v in inits)
            iter_text = f" iter_args({pairs}) -> ({types})"
        block.header = (
            f"scf.for {iv.name} = {lower.name} to {upper.name} step {step.name}{iter_text} : {lower.type} {{"
        )
        block.operands = [lower.name, upper.name, step.name] + [v.name for v in inits]
        self.blocks.append(block)
        return iv, args

    def close_for(self, yields: list[Value]) -> list[Value]:
        block = self.blocks.pop()
        if yields:
            block.ops.append(
                Op([], [v.name for v in yields], "scf.yield " + ", ".join(v.name for v in yields)
                   + " : " + ", ".join(str(v.type) for v in yields), False)
            )
        name = self.fresh()
        if len(yields) == 1:
            results = [Value(name, yields[0].type, self.depth)]
            decl = name
        elif yields:
            results = [Value(f"{name}#{i}", v.type, self.depth) for i, v in enumerate(yields)]
            decl = f"{name}:{len(yields)}"
        else:
            results, decl = [], ""
        op = Op([r.name for r in results], block.operands, block.header, False, decl, body=block, tail="}")
        self.blocks[-1].ops.append(op)
        return results

    # -- output -----------------------------------------------------------

    def finish(self) -> list[Op]:
        assert len(self.blocks) == 1, "unclosed loop"
        ops = self.blocks[0].ops
        _remove_dead(ops)
        # Constants first, as Triton prints them: they use nothing, so moving them is legal.
        ops[:] = [op for op in ops if op.text.startswith("arith.constant")] + [
            op for op in ops if not op.text.startswith("arith.constant")
        ]
        return ops


def _uses(ops: list[Op], into: dict) -> None:
    for op in ops:
        for name in op.operands:
            base = name.split("#")[0]
            into[base] = into.get(base, 0) + 1
        if op.body is not None:
            _uses(op.body.ops, into)


def _has_effects(op: Op) -> bool:
    if not op.pure and op.body is None:
        return True
    if op.body is not None:
        return any(_has_effects(inner) for inner in op.body.ops if not inner.text.startswith("scf.yield"))
    return False


def _remove_dead(ops: list[Op]) -> None:
    """Drops pure ops (and store-free loops) whose results are unused, until none is left."""
    while True:
        uses: dict = {}
        _uses(ops, uses)
        removed = _sweep(ops, uses)
        if not removed:
            return


def _sweep(ops: list[Op], uses: dict) -> bool:
    removed = False
    keep = []
    for op in ops:
        if op.body is not None:
            removed |= _sweep(op.body.ops, uses)
        dead = op.results and not any(uses.get(r.split("#")[0], 0) for r in op.results)
        removable = op.pure if op.removable is None else op.removable
        if dead and (removable or (op.body is not None and not _has_effects(op))):
            removed = True
            continue
        keep.append(op)
    ops[:] = keep
    return removed


_NAME = re.compile(r"%v(\d+)")


class Printer:
    """Prints ops with values renumbered %0, %1, ... in order of definition."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self.next = 0

    def define(self, internal: str) -> None:
        if internal not in self.names:
            self.names[internal] = f"%{self.next}"
            self.next += 1

    def rename(self, text: str) -> str:
        def replace(match):
            key = match.group(0)
            if key not in self.names:
                self.define(key)
            return self.names[key]

        return _NAME.sub(replace, text)

    def lines(self, ops: list[Op], indent: int) -> list[str]:
        out = []
        pad = " " * indent
        for op in ops:
            if op.result_decl:
                self.define(op.result_decl.split(":")[0])
            if op.body is not None:
                prefix = f"{op.result_decl} = " if op.result_decl else ""
                out.append(pad + self.rename(prefix + op.text))
                out.extend(self.lines(op.body.ops, indent + 2))
                out.append(pad + op.tail)
                continue
            prefix = f"{op.result_decl} = " if op.result_decl else ""
            text = self.rename(prefix + op.text)
            out.extend(pad + line if i == 0 else pad + line for i, line in enumerate(text.split("\n")))
        return out
