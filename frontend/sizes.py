"""Symbolic sizes: Dynamo's sympy size expressions as `index` values of @graph.

Inductor's `SizeVarAllocator` for coil. Each distinct expression is built once,
with `arith` ops on `index` at the top of @graph from the symbol arguments, so
two sizes are the same iff they are the same int or the same SSA value, and
every later stage can evaluate them (host codegen as Python ints, kernels as
integer arithmetic).
"""

from __future__ import annotations

import sympy
import torch
from torch.utils._sympy import functions as symfn

from coil.errors import LoweringError
from coil.mlir import arith, ir


def size_expr(v):
    """The sympy expression of a SymInt (or sympy expr); None for a plain int."""
    if isinstance(v, torch.SymInt):
        return v.node.expr
    if isinstance(v, sympy.Basic):
        return v
    return None


def is_symbolic(v) -> bool:
    """A size that is not a compile-time integer."""
    e = size_expr(v)
    return e is not None and not e.is_Integer


def static_int(v) -> int | None:
    """v as an int when it is one (a plain int or a SymInt whose value is known); else None."""
    e = size_expr(v)
    if e is None:
        return int(v)
    return int(e) if e.is_Integer else None


def same_size(a, b) -> bool:
    """Equal without a guard: equal ints or identical expressions."""
    ea, eb = size_expr(a), size_expr(b)
    if ea is None and eb is None:
        return int(a) == int(b)
    ea = sympy.Integer(int(a)) if ea is None else ea
    eb = sympy.Integer(int(b)) if eb is None else eb
    return ea == eb or sympy.expand(ea - eb) == 0


def is_one(v) -> bool:
    """v == 1, with a guard only where the expression could be 1 (Dynamo's symbols are >= 2)."""
    s = static_int(v)
    if s is not None:
        return s == 1
    return bool(v == 1) if isinstance(v, torch.SymInt) else False


class SizeMaterializer:
    """Builds and memoizes `index` values for sympy size expressions.

    `symbols` maps each Dynamo symbol to its @graph index argument. New ops go
    at the top of `block`, after the ones built so far, so they dominate every
    use in the graph and in op bodies.
    """

    def __init__(self, block: ir.Block, symbols: dict[sympy.Symbol, ir.Value]):
        self.block = block
        self.symbols = dict(symbols)
        self.memo: dict[sympy.Expr, ir.Value] = {}
        self.last_op = None
        self.node = None  # the FX node being lowered, for error messages

    def size(self, v):
        """int, SymInt or sympy expr -> int (a known value) or an `index` value."""
        if isinstance(v, ir.Value):
            return v
        e = size_expr(v)
        if e is None:
            return int(v)
        if e.is_Integer:
            return int(e)
        return self.value(e)

    def value(self, e) -> ir.Value:
        """An `index` value for expression (or int) e, built once."""
        e = sympy.sympify(e)
        cached = self.memo.get(e)
        if cached is not None:
            return cached
        result = self._build(e)
        self.memo[e] = result
        return result

    def _emit(self, fn, *operands) -> ir.Value:
        ip = ir.InsertionPoint.at_block_begin(self.block) if self.last_op is None else ir.InsertionPoint.after(self.last_op)
        with ip:
            v = fn(*operands)
        self.last_op = v.owner
        return v

    def _const(self, n: int) -> ir.Value:
        e = sympy.Integer(n)
        if e not in self.memo:
            self.memo[e] = self._emit(lambda: arith.constant(ir.IndexType.get(), int(n)))
        return self.memo[e]

    def _fail(self, e, why: str):
        raise LoweringError(f"symbolic size {e}: {why}", self.node)

    def _build(self, e) -> ir.Value:
        if e.is_Integer:
            return self._const(int(e))
        if isinstance(e, sympy.Symbol):
            v = self.symbols.get(e)
            if v is None:
                self._fail(e, "the symbol is not bound to a graph input (unbacked or data-dependent size)")
            return v
        if isinstance(e, sympy.Add):
            # Positive terms first, so `s0 - 1` is subi(s0, 1); each prefix is
            # memoized, so s0 + s1 is shared by s0 + s1 + s2.
            terms = sorted(e.args, key=lambda t: _negated(t) is not None)
            if len(terms) == 1:
                return self.value(terms[0])
            head, last = sympy.Add(*terms[:-1], evaluate=False), terms[-1]
            head = head if len(terms) > 2 else terms[0]
            if _negated(head) is not None:
                acc = self._emit(arith.subi, self._const(0), self.value(_negated(head)))
            else:
                acc = self.value(head)
            neg = _negated(last)
            if neg is None:
                return self._emit(arith.addi, acc, self.value(last))
            return self._emit(arith.subi, acc, self.value(neg))
        if isinstance(e, sympy.Mul):
            neg = _negated(e)
            if neg is not None:
                return self._emit(arith.subi, self._const(0), self.value(neg))
            factors = list(e.args)
            head = sympy.Mul(*factors[:-1]) if len(factors) > 2 else factors[0]
            return self._emit(arith.muli, self.value(head), self.value(factors[-1]))
        if isinstance(e, (sympy.Pow, symfn.PowByNatural)):
            base, exp = e.args
            if not (exp.is_Integer and int(exp) >= 1):
                self._fail(e, "only powers with a positive integer exponent are supported")
            b = self.value(base)
            acc = b
            for _ in range(int(exp) - 1):
                acc = self._emit(arith.muli, acc, b)
            return acc
        if isinstance(e, symfn.FloorDiv):  # CleanDiv too
            return self._emit(arith.floordivsi, self.value(e.args[0]), self.value(e.args[1]))
        if isinstance(e, symfn.CeilDiv):
            return self._emit(arith.ceildivsi, self.value(e.args[0]), self.value(e.args[1]))
        if isinstance(e, symfn.ModularIndexing):
            x, div, mod = e.args
            q = self.value(x) if div == 1 else self._emit(arith.floordivsi, self.value(x), self.value(div))
            return self._emit(arith.remsi, q, self.value(mod))
        if isinstance(e, (symfn.Mod, symfn.PythonMod, sympy.Mod)):
            # Sizes are non-negative, where remsi is Python's %.
            return self._emit(arith.remsi, self.value(e.args[0]), self.value(e.args[1]))
        if isinstance(e, (symfn.Max, symfn.Min, sympy.Max, sympy.Min)):
            op = arith.maxsi if isinstance(e, (symfn.Max, sympy.Max)) else arith.minsi
            acc = None
            for t in e.args:
                v = self.value(t)
                acc = v if acc is None else self._emit(op, acc, v)
            return acc
        self._fail(e, f"{type(e).__name__} has no index arithmetic in coil")


def _negated(t):
    """-t when t carries a negative coefficient, else None."""
    if t.is_Integer:
        return -t if int(t) < 0 else None
    if isinstance(t, sympy.Mul):
        coeff, rest = t.as_coeff_Mul()
        if coeff.is_Number and coeff < 0:
            return (-coeff) * rest if coeff != -1 else rest
    return None
