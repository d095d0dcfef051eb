"""Index expressions of a Triton kernel, simplified the way Inductor's sympy code does.

A load's element offset is `sum(stride_k * index_k)`, and each index is
`arith` on `index` values over the loop-nest indices, which themselves are
digits of the tile's flat program index (`i0 = x // 8`, `i1 = x % 8`).
Written out as is, a contiguous copy reads `8 * (x // 8) + x % 8`, which
Triton's axis analysis cannot see is contiguous. Here every index is kept in
a normal form, `constant + sum(coeff * atom)`, whose atoms are the axis
variables, floor divisions and moduli by positive constants, min/max, and
opaque values (a loaded index), and the constructors apply Inductor's
FloorDiv/ModularIndexing identities with bounds:

  (c*a + b) // c  == a + b // c            (a integral)
  (c*a + b) %  c  == b % c
  (x // a) // b   == x // (a*b)
  b // c == 0 and b % c == b               when 0 <= b < c
  k*c*(e // c) + k*(e % c) == k*e          (merges the digits of one variable back)

The last rule is what merges adjacent loop dimensions whose strides agree in
an access: a contiguous access collapses to `base + x`.

Symbolic sizes (Dynamo's symbols, passed as i64 kernel arguments) are opaque
atoms; a product of non-constant expressions is a `Prod` atom (the offset of
an index along a symbolic stride, `d0 * stride0`), and a floor division or
modulus by a non-constant is `SymDiv`/`SymMod` (a flat index split into the
digits of a symbolic range, `x // s1`, `x % s1`, or a semi-affine map). They
are kept as written, not simplified further: their bounds are unknown, which
is also what makes every offset that uses them 64-bit.
"""

from __future__ import annotations

from dataclasses import dataclass

UNBOUNDED = 1 << 100


@dataclass(frozen=True)
class Var:
    """A tile axis index (`x`, `y`, `r`) or, before tiling, a loop-nest dimension."""

    name: str

    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Opaque:
    """An index the simplifier cannot see through (a loaded value, a select): named by its producer."""

    ident: object
    label: str

    def key(self) -> str:
        return f"?{self.label}"


@dataclass(frozen=True)
class FloorDiv:
    num: "Lin"
    den: int

    def key(self) -> str:
        return f"({self.num.key()})//{self.den}"


@dataclass(frozen=True)
class Mod:
    num: "Lin"
    den: int

    def key(self) -> str:
        return f"({self.num.key()})%{self.den}"


@dataclass(frozen=True)
class MinMax:
    op: str  # "max" or "min"
    lhs: "Lin"
    rhs: "Lin"

    def key(self) -> str:
        return f"{self.op}({self.lhs.key()},{self.rhs.key()})"


@dataclass(frozen=True)
class Prod:
    """A product of two or more non-constant atoms (sorted by key)."""

    factors: tuple

    def key(self) -> str:
        return "*".join(f"[{f.key()}]" for f in self.factors)


@dataclass(frozen=True)
class SymDiv:
    """floor(num / den) for a non-constant `den` (a symbolic size; positive where it is used)."""

    num: "Lin"
    den: "Lin"

    def key(self) -> str:
        return f"({self.num.key()})//({self.den.key()})"


@dataclass(frozen=True)
class SymMod:
    """num mod den (floor semantics, in [0, den)) for a non-constant positive `den`."""

    num: "Lin"
    den: "Lin"

    def key(self) -> str:
        return f"({self.num.key()})%({self.den.key()})"


Atom = Var | Opaque | FloorDiv | Mod | MinMax | Prod | SymDiv | SymMod


@dataclass(frozen=True)
class Lin:
    """constant + sum(coeff * atom); terms sorted by atom key, no zero coefficients."""

    const: int
    terms: tuple  # ((atom, coeff), ...)

    def key(self) -> str:
        parts = [f"{c}*{a.key()}" for a, c in self.terms]
        if self.const or not parts:
            parts.append(str(self.const))
        return "+".join(parts)

    @property
    def is_const(self) -> bool:
        return not self.terms

    def atoms(self):
        """Every atom, nested ones included."""
        for atom, _ in self.terms:
            yield atom
            if isinstance(atom, (FloorDiv, Mod)):
                yield from atom.num.atoms()
            elif isinstance(atom, MinMax):
                yield from atom.lhs.atoms()
                yield from atom.rhs.atoms()
            elif isinstance(atom, Prod):
                for f in atom.factors:
                    yield from Lin(0, ((f, 1),)).atoms()
            elif isinstance(atom, (SymDiv, SymMod)):
                yield from atom.num.atoms()
                yield from atom.den.atoms()

    def coefficient(self, atom) -> int:
        for a, c in self.terms:
            if a == atom:
                return c
        return 0


def const(value: int) -> Lin:
    return Lin(int(value), ())


def atom(a) -> Lin:
    return Lin(0, ((a, 1),))


def _build(constant: int, coeffs: dict) -> Lin:
    terms = tuple(sorted(((a, c) for a, c in coeffs.items() if c != 0), key=lambda t: t[0].key()))
    return Lin(constant, terms)


def _monomial(factors: list):
    """The atom of a product of atoms: the atom itself, or a `Prod` of them sorted."""
    if len(factors) == 1:
        return factors[0]
    return Prod(tuple(sorted(factors, key=lambda f: f.key())))


class IndexSpace:
    """Constructors and bounds for index expressions over variables with known ranges."""

    def __init__(self, bounds: dict[str, tuple[int, int]] | None = None):
        self.var_bounds: dict[str, tuple[int, int]] = dict(bounds or {})

    # -- bounds -----------------------------------------------------------

    def bounds(self, e: Lin, var_bounds: dict | None = None) -> tuple[int, int]:
        """Inclusive [lo, hi] of `e`; UNBOUNDED where nothing is known."""
        lo = hi = e.const
        for a, c in e.terms:
            alo, ahi = self.atom_bounds(a, var_bounds)
            if c > 0:
                lo, hi = lo + c * alo, hi + c * ahi
            else:
                lo, hi = lo + c * ahi, hi + c * alo
        return max(lo, -UNBOUNDED), min(hi, UNBOUNDED)

    def atom_bounds(self, a, var_bounds: dict | None = None) -> tuple[int, int]:
        table = self.var_bounds if var_bounds is None else var_bounds
        if isinstance(a, Var):
            return table.get(a.name, (-UNBOUNDED, UNBOUNDED))
        if isinstance(a, Opaque):
            return -UNBOUNDED, UNBOUNDED
        if isinstance(a, FloorDiv):
            lo, hi = self.bounds(a.num, var_bounds)
            return lo // a.den, hi // a.den
        if isinstance(a, Mod):
            lo, hi = self.bounds(a.num, var_bounds)
            if 0 <= lo and hi < a.den:
                return lo, hi
            return 0, a.den - 1
        if isinstance(a, Prod):
            lo, hi = 1, 1
            for f in a.factors:
                flo, fhi = self.atom_bounds(f, var_bounds)
                corners = [lo * flo, lo * fhi, hi * flo, hi * fhi]
                lo, hi = max(min(corners), -UNBOUNDED), min(max(corners), UNBOUNDED)
            return lo, hi
        if isinstance(a, (SymDiv, SymMod)):
            nlo, nhi = self.bounds(a.num, var_bounds)
            dlo, dhi = self.bounds(a.den, var_bounds)
            if dlo < 1:
                return -UNBOUNDED, UNBOUNDED
            if isinstance(a, SymMod):
                return (0, min(dhi - 1, nhi)) if nlo >= 0 else (0, dhi - 1)
            return (0, nhi // dlo) if nlo >= 0 else (min(nlo // dlo, 0), max(nhi // dlo, 0))
        lhs, rhs = self.bounds(a.lhs, var_bounds), self.bounds(a.rhs, var_bounds)
        pick = max if a.op == "max" else min
        return pick(lhs[0], rhs[0]), pick(lhs[1], rhs[1])

    # -- constructors -----------------------------------------------------

    def add(self, a: Lin, b: Lin) -> Lin:
        coeffs = dict(a.terms)
        for atom_, c in b.terms:
            coeffs[atom_] = coeffs.get(atom_, 0) + c
        return self._recombine(_build(a.const + b.const, coeffs))

    def scale(self, a: Lin, k: int) -> Lin:
        if k == 0:
            return const(0)
        return Lin(a.const * k, tuple((atom_, c * k) for atom_, c in a.terms))

    def sub(self, a: Lin, b: Lin) -> Lin:
        return self.add(a, self.scale(b, -1))

    def mul(self, a: Lin, b: Lin) -> Lin:
        """a * b; products of non-constant terms become `Prod` atoms (distributed over the sums)."""
        if b.is_const:
            return self.scale(a, b.const)
        if a.is_const:
            return self.scale(b, a.const)
        result = self.add(self.scale(b, a.const), self.scale(Lin(0, a.terms), b.const))
        for x, cx in a.terms:
            for y, cy in b.terms:
                factors = (x.factors if isinstance(x, Prod) else (x,)) + (y.factors if isinstance(y, Prod) else (y,))
                product = Prod(tuple(sorted(factors, key=lambda f: f.key())))
                result = self.add(result, Lin(0, ((product, cx * cy),)))
        return result

    def floordiv_by(self, e: Lin, d: Lin) -> Lin:
        """e // d (floor) for a divisor that may be symbolic (then assumed positive)."""
        if d.is_const:
            return self.floordiv(e, d.const)
        if e.is_const and e.const == 0:
            return const(0)
        if e == d:
            return const(1)
        return atom(SymDiv(e, d))

    def mod_by(self, e: Lin, d: Lin) -> Lin:
        """e mod d (floor) for a divisor that may be symbolic (then assumed positive)."""
        if d.is_const:
            return self.mod(e, d.const)
        if (e.is_const and e.const == 0) or e == d:
            return const(0)
        return atom(SymMod(e, d))

    def floordiv(self, e: Lin, d: int) -> Lin:
        if d <= 0:
            raise ValueError("floordiv needs a positive divisor")
        if d == 1:
            return e
        quotient, rest_const = divmod(e.const, d)
        whole, rest = {}, {}
        for a, c in e.terms:
            if c % d == 0:
                whole[a] = c // d
            else:
                rest[a] = c
        result = _build(quotient, whole)
        remainder = _build(rest_const, rest)
        lo, hi = self.bounds(remainder)
        if lo // d == hi // d:
            return self.add(result, const(lo // d))
        if len(remainder.terms) == 1 and remainder.const == 0:
            (a, c), = remainder.terms
            if c == 1 and isinstance(a, FloorDiv):
                return self.add(result, self.floordiv(a.num, a.den * d))
            if c == 1 and isinstance(a, Mod) and a.den % d == 0:
                # (e % m) // d == (e // d) % (m // d): Triton's axis analysis sees the
                # runs of the second form (a [b, h, t, dh] -> [b, t, h*dh] transpose's
                # `(x % 512) // 64` read 2 bytes a load, `(x // 64) % 8` 16).
                return self.add(result, self.mod(self.floordiv(a.num, d), a.den // d))
        return self.add(result, atom(FloorDiv(remainder, d)))

    def mod(self, e: Lin, d: int) -> Lin:
        if d <= 0:
            raise ValueError("mod needs a positive divisor")
        if d == 1:
            return const(0)
        rest = {a: c for a, c in e.terms if c % d != 0}
        remainder = _build(e.const % d, rest)
        lo, hi = self.bounds(remainder)
        if 0 <= lo and hi < d:
            return remainder
        if len(remainder.terms) == 1 and remainder.const == 0:
            (a, c), = remainder.terms
            if c == 1 and isinstance(a, Mod) and a.den % d == 0:
                return self.mod(a.num, d)
        return atom(Mod(remainder, d))

    def minmax(self, op: str, a: Lin, b: Lin) -> Lin:
        alo, ahi = self.bounds(a)
        blo, bhi = self.bounds(b)
        if op == "max":
            if alo >= bhi:
                return a
            if blo >= ahi:
                return b
        else:
            if ahi <= blo:
                return a
            if bhi <= alo:
                return b
        if a == b:
            return a
        return atom(MinMax(op, a, b))

    def _recombine(self, e: Lin) -> Lin:
        """k*c*(x // c) + k*(x % c) -> k*x, until no pair is left (symbolic c too: `_recombine_symbolic`)."""
        changed = True
        while changed:
            changed = False
            symbolic = self._recombine_symbolic(e)
            if symbolic is not None:
                e, changed = symbolic, True
                continue
            for a, k in e.terms:
                if not isinstance(a, Mod):
                    continue
                merged = self._merge_digits(e, a, k)
                if merged is not None:
                    e, changed = merged, True
                    break
                high = self.floordiv(a.num, a.den)
                if len(high.terms) != 1 or high.const != 0 or high.terms[0][1] != 1:
                    continue
                high_atom = high.terms[0][0]
                if e.coefficient(high_atom) != k * a.den:
                    continue
                coeffs = dict(e.terms)
                del coeffs[a]
                del coeffs[high_atom]
                rest = _build(e.const, coeffs)
                e = self.add(rest, self.scale(a.num, k))
                changed = True
                break
        return e

    def _merge_digits(self, e: Lin, low, k: int) -> Lin | None:
        """k*c*((x // c) % m) + k*(x % c) -> k*(x % (c*m)): two adjacent digits of x merge."""
        c = low.den
        for a, coefficient in e.terms:
            if (
                isinstance(a, Mod)
                and coefficient == k * c
                and len(a.num.terms) == 1
                and a.num.const == 0
                and a.num.terms[0][1] == 1
                and isinstance(a.num.terms[0][0], FloorDiv)
                and a.num.terms[0][0].den == c
                and a.num.terms[0][0].num == low.num
            ):
                coeffs = dict(e.terms)
                del coeffs[a]
                del coeffs[low]
                return self.add(_build(e.const, coeffs), self.scale(self.mod(low.num, c * a.den), k))
        return None

    def _recombine_symbolic(self, e: Lin) -> Lin | None:
        """k*F*D*(x // D) + k*F*(x % D) -> k*F*x for a symbolic monomial D and factors F; None if no pair.

        The digits of a flat index over symbolic extents merge back, so a
        row-major access of an [s0, s1] buffer is the flat index again.
        """
        for a, k in e.terms:
            factors = list(a.factors) if isinstance(a, Prod) else [a]
            for m in factors:
                if not isinstance(m, SymMod) or m.den.const or len(m.den.terms) != 1 or m.den.terms[0][1] != 1:
                    continue
                rest = list(factors)
                rest.remove(m)
                den = m.den.terms[0][0]
                partner = rest + (list(den.factors) if isinstance(den, Prod) else [den]) + [SymDiv(m.num, m.den)]
                partner_atom = _monomial(partner)
                if e.coefficient(partner_atom) != k:
                    continue
                coeffs = dict(e.terms)
                del coeffs[a]
                del coeffs[partner_atom]
                scale = const(k)
                for f in rest:
                    scale = self.mul(scale, atom(f))
                return self.add(_build(e.const, coeffs), self.mul(scale, m.num))
        return None

    # -- substitution -----------------------------------------------------

    def substitute(self, e: Lin, mapping: dict[str, Lin]) -> Lin:
        """`e` with variables replaced, re-simplified bottom-up."""
        result = const(e.const)
        for a, c in e.terms:
            result = self.add(result, self.scale(self._substitute_atom(a, mapping), c))
        return result

    def _substitute_atom(self, a, mapping: dict[str, Lin]) -> Lin:
        if isinstance(a, Var):
            return mapping.get(a.name, atom(a))
        if isinstance(a, Opaque):
            return atom(a)
        if isinstance(a, FloorDiv):
            return self.floordiv(self.substitute(a.num, mapping), a.den)
        if isinstance(a, Mod):
            return self.mod(self.substitute(a.num, mapping), a.den)
        if isinstance(a, Prod):
            result = const(1)
            for f in a.factors:
                result = self.mul(result, self._substitute_atom(f, mapping))
            return result
        if isinstance(a, SymDiv):
            return self.floordiv_by(self.substitute(a.num, mapping), self.substitute(a.den, mapping))
        if isinstance(a, SymMod):
            return self.mod_by(self.substitute(a.num, mapping), self.substitute(a.den, mapping))
        return self.minmax(a.op, self.substitute(a.lhs, mapping), self.substitute(a.rhs, mapping))


def linear_coefficients(e: Lin, names: list[str]) -> dict[str, int] | None:
    """The coefficient of each variable in `names` when `e` is linear in all of them, else None.

    Linear means a variable appears only as a top-level term, not inside a
    floor division, modulus, min/max or opaque value.
    """
    wanted = set(names)
    for a, _ in e.terms:
        if isinstance(a, Var):
            continue
        inner = Lin(0, ((a, 1),))
        for nested in inner.atoms():
            if isinstance(nested, Var) and nested.name in wanted:
                return None
    return {n: e.coefficient(Var(n)) for n in names}
