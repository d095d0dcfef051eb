"""The body of one coil kernel as TTIR: tiles, index math, loads/stores and reductions.

`KernelEmitter` walks the loop-nest body in the order `lower_loops` does for
the CPU (a prologue, then per reduction level a pass over the reduction
range and the ops that use its results) but on tiles instead of scalars:

- pointwise, 1-D: one [XBLOCK] tile of the flattened ranges per program;
- pointwise, 2-D: a [YBLOCK, XBLOCK] tile, program ids (x, y), when a load is
  contiguous along another dimension than the store (see `analysis.pointwise_tiling`);
- reductions: an [XBLOCK, RBLOCK] tile, rows along axis 0. Values that do
  not depend on the reduction index are [XBLOCK, 1]. Persistent: the whole
  reduction range is one tile, each level is a masked `tt.reduce` on axis 1,
  and later levels reuse the registers (value numbering makes the repeated
  loads and math of a later level free). Looped: each level is an `scf.for`
  over the reduction range in RBLOCK chunks, accumulating elementwise into
  [XBLOCK, RBLOCK] accumulators, with one `tt.reduce` after the loop; ops of a
  later level run in a further loop. Column reductions (loads contiguous
  along the output index, `analysis.is_column_reduction`) use the transposed
  [RBLOCK, XBLOCK] tile, reduced along axis 0, values without the reduction
  index [1, XBLOCK], so that loads stay coalesced.

Lowering rules for arith/math ops live in one table (`RULES`), each a short
function from operand tiles to a result tile. float16/bfloat16 values are
loaded in their dtype, computed in float32 and rounded back where the body's
types say so (after each op that rounds, and before a store); `i1` buffers are
read and written as bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coil.dialects.ops import DYNAMIC, EXACT_DIVISION, is_dynamic
from coil.mlir import ir
from coil.passes.kernel_args import noalias_arguments

from .analysis import (
    KernelInfo,
    TritonLoweringError,
    CMPI_PREDICATES,
    access_offset,
    above_one,
    is_column_reduction,
    native_exp_suffices,
    online_softmax_pairs,
    online_variance_pairs,
    pointwise_tiling,
)
from .eviction import load_hint
from .indexing import UNBOUNDED, FloorDiv, IndexSpace, Lin, MinMax, Mod, Opaque, Prod, SymDiv, SymMod, Var, atom, const
from .tensor_ops import TileOps, combine, join_shapes, reduction_init
from .ttir import Builder, Printer, TType, Value

INT32_LIMIT = 1 << 31
MAX_GRID_Y = 65535

_CMPF = ["false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord", "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true"]


class NeedsInt64(Exception):
    """Some address or index does not fit in int32: emit the kernel again with 64-bit indices."""


@dataclass(frozen=True)
class ComboPart:
    """A loop nest of a `coil.combo` kernel, emitted as a private function that the
    combo's entry calls with the program id relative to the part's first program
    (`%pid`, its last parameter); Triton inlines it."""

    name: str
    grid_x: int  # programs along x: a 2-D tile's ids are x = pid % grid_x, y = pid // grid_x
    grid_y: int
    small_grid: bool  # the whole combo has fewer programs than LATENCY_BOUND_PROGRAMS (`_loads_first`)


@dataclass(frozen=True)
class Axis:
    name: str  # "x", "y" or "r"
    block: int
    numel: int
    pos: int  # position in the tile shape
    pid: int | None  # program id dimension; None for the reduction axis
    extent: Lin | None = None  # the number of points as an index expression (symbolic sizes)

    @property
    def dynamic(self) -> bool:
        return is_dynamic(self.numel)


def compute_elem(t: ir.Type, index_elem: str) -> str:
    """The element type a value is computed in: half precision in f32, index as the kernel's index type."""
    if isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type)):
        return "f32"
    if isinstance(t, ir.F64Type):
        return "f64"
    if isinstance(t, ir.IntegerType):
        return f"i{ir.IntegerType(t).width}"
    if isinstance(t, ir.IndexType):
        return index_elem
    raise ValueError(f"no TTIR element type for {t}")


def storage_elem(t: ir.Type) -> str:
    """The element type a buffer holds in memory: bool as a byte, half precision as is."""
    if isinstance(t, ir.F16Type):
        return "f16"
    if isinstance(t, ir.BF16Type):
        return "bf16"
    if isinstance(t, ir.IntegerType):
        width = ir.IntegerType(t).width
        return "i8" if width == 1 else f"i{width}"
    return compute_elem(t, "i64")


def half_elem(t: ir.Type) -> str | None:
    if isinstance(t, ir.F16Type):
        return "f16"
    if isinstance(t, ir.BF16Type):
        return "bf16"
    return None


def _cone(roots, inside: set) -> set:
    """The ops of `inside` that the operands of `roots` need, transitively (roots of `inside` included)."""
    cone = {op for op in roots if op in inside}
    pending = list(roots)
    while pending:
        op = pending.pop()
        for v in op.operands:
            owner = v.owner if isinstance(v, ir.OpResult) else None
            if owner is not None and owner in inside and owner not in cone:
                cone.add(owner)
                pending.append(owner)
    return cone


# Fewer programs than this (an H100 has 132 SMs) leave SMs idle and each program's
# memory latency unhidden: such a pointwise kernel issues its loads first (_loads_first).
LATENCY_BOUND_PROGRAMS = 132
LOADS_FIRST_MAX_VALUES = 160


def next_pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


class KernelEmitter:
    def __init__(
        self,
        info: KernelInfo,
        config,
        aligned: frozenset[int] | None,
        index64: bool,
        hints: frozenset = frozenset(),
        part: ComboPart | None = None,
        function_name: str | None = None,
    ):
        self.info = info
        self.part = part
        self.function_name = function_name or info.name  # the tt.func's symbol
        self.config = config
        self.aligned = aligned
        # Launch specialization (`launch.hint_function`): ("div16", param) gives an
        # i64 parameter `tt.divisibility = 16`; ("eq", arg, dim, c) says an open
        # stride equals its c-th candidate, whose extents then replace it; ("one",
        # arg, dim) says it is 1 (an eq hint comes only where it is not).
        self.hints = hints
        self.strides = {i: list(v) for i, v in info.strides.items()}
        for hint in hints:
            if hint[0] == "eq":
                _, i, k, c = hint
                self.strides[i][k] = info.candidate_expr(info.stride_candidates[(i, k)][c])
            elif hint[0] == "one":
                self.strides[hint[1]][hint[2]] = 1
        self.index64 = index64
        self.idx = "i64" if index64 else "i32"
        self.builder = Builder()
        self.t = TileOps(self.builder)
        self.env: dict = {}
        self.r_offset: Value | None = None
        # Inside a reduction pass (a persistent level or a loop body): only there
        # do values run along the reduction axis and need its mask.
        self.r_pass = False
        # The last level the current reduction loop computes (a folded online
        # softmax does two), and per buffer the last level that reads it along
        # the reduction range: what picks a load's eviction hint.
        self.pass_end = 0
        self.deferred: list = []  # stage-0 ops lowered after the first pass's loads (`_deferred_stage_ops`)
        self.last_read_level = self._last_read_levels()
        self.lin_cache: dict = {}
        self._setup_tiling()

    # -- tiling -------------------------------------------------------------

    def _setup_tiling(self) -> None:
        info, config = self.info, self.config
        dim_names = info.dim_names()
        mapping: dict[str, Lin] = {n: const(0) for n in dim_names + info.reduction_dim_names()}
        xnumel = DYNAMIC if info.dynamic_ranges else info.xnumel
        rnumel = DYNAMIC if info.dynamic_reduction else info.rnumel
        if info.is_reduction:
            xdims, ydims = list(range(len(info.ranges))), []
            # Column reductions (loads contiguous along the output index): an
            # [RBLOCK, XBLOCK] tile, so the fast axis of Triton's layout (the
            # last) walks memory in order; rows reduce along axis 0.
            self.r_pos = 0 if (config.xblock > 1 and is_column_reduction(info)) else 1
            x_pos = 1 - self.r_pos
            self.axes = [
                Axis("x", config.xblock, xnumel, x_pos, 0, info.xnumel_expr()),
                Axis("r", config.rblock, rnumel, self.r_pos, None, info.rnumel_expr()),
            ]
            self.axes.sort(key=lambda a: a.pos)
            self.tile = (config.rblock, config.xblock) if self.r_pos == 0 else (config.xblock, config.rblock)
            self.out_shape = (1, config.xblock) if self.r_pos == 0 else (config.xblock, 1)
        else:
            ydims, xdims = pointwise_tiling(info)
            if config.yblock > 1:
                if not ydims:
                    big = [d for d, e in enumerate(info.ranges) if above_one(e)]
                    if len(big) < 2:
                        raise info.error(f"2-D tiling (yblock={config.yblock}) needs two dimensions larger than 1")
                    ydims, xdims = big[:-1], big[-1:]
                ynumel = 1
                for d in ydims:
                    ynumel *= info.ranges[d]
                xnumel = info.xnumel // ynumel
                self.axes = [Axis("y", config.yblock, ynumel, 0, 1), Axis("x", config.xblock, xnumel, 1, 0)]
                self.tile = (config.yblock, config.xblock)
            else:
                xdims = ydims + xdims
                ydims = []
                self.axes = [Axis("x", config.xblock, xnumel, 0, 0, info.xnumel_expr())]
                self.tile = (config.xblock,)
        self.axis_by_name = {a.name: a for a in self.axes}
        bounds, padded = {}, {}
        for a in self.axes:
            if a.dynamic:
                bounds[a.name] = padded[a.name] = (0, UNBOUNDED)
                continue
            bounds[a.name] = (0, max(a.numel - 1, 0))
            padded[a.name] = (0, max(cdiv(a.numel, a.block) * a.block - 1, 0))
        self.space = IndexSpace(bounds)
        self.padded = padded
        self._decompose(mapping, "x", [dim_names[d] for d in xdims], [info.extents[d] for d in xdims])
        if ydims:
            self._decompose(mapping, "y", [dim_names[d] for d in ydims], [info.extents[d] for d in ydims])
        if info.is_reduction:
            self._decompose(mapping, "r", info.reduction_dim_names(), info.reduction_extents)
        self.dim_map = mapping

    def _decompose(self, mapping: dict, axis: str, names: list[str], extents: list[Lin]) -> None:
        """Row-major digits of a flat axis index: dim k = (axis // prod(extents after k)) % extent_k.

        A symbolic extent divides symbolically; the outermost digit of a
        symbolic range takes no modulus (in-range lanes are below it anyway).
        """
        flat = atom(Var(axis))
        items = list(zip(names, extents))
        if not all(e.is_const for e in extents):
            # Symbolic: divide the quotient digit by digit, (x // s2) // s1, so
            # that a row-major offset merges back into x (IndexSpace._recombine).
            quotient = flat
            for k in reversed(range(len(items))):
                name, extent = items[k]
                if extent.is_const:
                    extent = const(max(extent.const, 1))
                mapping[name] = self.space.mod_by(quotient, extent) if k else quotient
                quotient = self.space.floordiv_by(quotient, extent)
            return
        stride = const(1)
        for k in reversed(range(len(items))):
            name, extent = items[k]
            digit = self.space.floordiv_by(flat, stride)
            if extent.is_const:
                extent = const(max(extent.const, 1))
                digit = self.space.mod(digit, extent.const)
            elif k:
                digit = self.space.mod_by(digit, extent)
            mapping[name] = digit
            stride = self.space.mul(stride, extent)

    def grid(self) -> tuple[int, int, int] | None:
        """The launch grid; None when it depends on symbolic sizes (`emit` builds it from the arguments)."""
        if any(a.dynamic for a in self.axes if a.pid is not None):
            return None
        grid = [1, 1, 1]
        for a in self.axes:
            if a.pid is not None:
                grid[a.pid] = cdiv(a.numel, a.block)
        if grid[0] >= INT32_LIMIT or grid[1] > MAX_GRID_Y:
            raise self.info.error(f"grid {tuple(grid)} exceeds CUDA's limits (2^31-1, 65535): use larger blocks")
        return tuple(grid)

    # -- axis values, masks ---------------------------------------------

    def axis_value(self, axis: Axis) -> Value:
        """The axis's indices for this program, shaped to broadcast along the tile."""
        t = self.t
        if self.idx == "i32" and self.padded[axis.name][1] >= INT32_LIMIT:
            raise NeedsInt64()
        if axis.block == 1 and (axis.dynamic or axis.numel > 0):
            # One index per program: a scalar, so what depends only on it is loaded and computed once.
            return self._axis_offset(axis) or t.const(0, self.idx)
        index = self.builder.op(
            f"tt.make_range {{end = {axis.block} : i32, start = 0 : i32}} : tensor<{axis.block}xi32>",
            [],
            TType("i32", (axis.block,)),
        )
        if len(self.tile) == 2:
            index = t.expand_dims(index, 1 - axis.pos)
        index = t.to_int(index, self.idx)
        offset = self._axis_offset(axis)
        if offset is None or offset.constant == 0:
            return index
        return t.binary("arith.addi", offset, index)

    def _axis_offset(self, axis: Axis) -> Value | None:
        """The first index of this program's block along `axis` (None: zero)."""
        t = self.t
        if axis.pid is None:
            return self.r_offset
        if self.part is None:
            pid = self.builder.op(f"tt.get_program_id {'xyz'[axis.pid]} : i32", [], TType("i32"))
        else:
            pid = Value("%pid", TType("i32"))
            if axis.pid == 1:
                pid = t.binary("arith.divsi", pid, t.const(self.part.grid_x, "i32"))
            elif self.part.grid_y > 1:
                pid = t.binary("arith.remsi", pid, t.const(self.part.grid_x, "i32"))
        offset = t.to_int(pid, self.idx)
        if axis.block > 1:
            offset = t.binary("arith.muli", offset, t.const(axis.block, self.idx))
        return offset

    def axis_mask(self, axis: Axis) -> Value | None:
        """Lanes below the axis's extent; always a comparison for a symbolic extent."""
        if axis.dynamic:
            return self.t.cmpi("slt", self.axis_value(axis), self.t.to_int(self.materialize(axis.extent), self.idx))
        if axis.numel > 0 and axis.numel % axis.block == 0:
            return None
        return self.t.cmpi("slt", self.axis_value(axis), self.t.const(axis.numel, self.idx))

    def mask_for(self, shape: tuple) -> Value | None:
        """The lanes of a value of `shape` that lie inside the iteration space.

        The reduction axis masks only values inside a reduction pass: outside
        one, a [XBLOCK, 1] value lies along the output rows alone, even when
        RBLOCK is 1 too (an empty reduction range: rnumel 0, whose mask is all
        false, must not mask the epilogue's stores of the initial values).
        """
        if not shape:
            return None
        mask = None
        for axis in self.axes:
            if axis.pid is None and not self.r_pass:
                continue
            if shape[axis.pos] == axis.block:
                mask = self.t.logical_and(mask, self.axis_mask(axis))
        return None if mask is None else self.t.broadcast(mask, shape)

    # -- index expressions ----------------------------------------------

    def index_lin(self, v: ir.Value) -> Lin:
        """`v`'s index expression over the tile axes."""
        if v not in self.lin_cache:
            self.lin_cache[v] = self.space.substitute(self.info.symbolic[v], self.dim_map)
        return self.lin_cache[v]

    def materialize(self, e: Lin) -> Value:
        wide = self.index64 or any(isinstance(a, Opaque) for a in e.atoms())
        return self._materialize(e, "i64" if wide else "i32")

    def _check_fits(self, e: Lin, elem: str) -> None:
        if elem != "i32":
            return
        total = abs(e.const)
        for a, c in e.terms:
            lo, hi = self.space.atom_bounds(a, self.padded)
            total += abs(c) * max(abs(lo), abs(hi))
        if total >= INT32_LIMIT:
            raise NeedsInt64()

    def _materialize(self, e: Lin, elem: str) -> Value:
        self._check_fits(e, elem)
        t = self.t
        total = None
        # Variables last, so `base + x` reads like Inductor's `x0 + 8*x1`.
        for a, c in sorted(e.terms, key=lambda term: isinstance(term[0], Var)):
            v = self._materialize_atom(a, elem)
            if c != 1:
                v = t.binary("arith.muli", v, t.const(c, elem))
            total = v if total is None else t.binary("arith.addi", total, v)
        if total is None:
            return t.const(e.const, elem)
        if e.const:
            total = t.binary("arith.addi", total, t.const(e.const, elem))
        return total

    def _materialize_atom(self, a, elem: str) -> Value:
        t = self.t
        if isinstance(a, Var):
            return t.to_int(self.axis_value(self.axis_by_name[a.name]), elem)
        if isinstance(a, Opaque):
            return t.to_int(self.env[("opaque", a.ident)], elem)
        if isinstance(a, MinMax):
            lhs, rhs = self._materialize(a.lhs, elem), self._materialize(a.rhs, elem)
            return t.binary("arith.maxsi" if a.op == "max" else "arith.minsi", lhs, rhs)
        if isinstance(a, Prod):
            product = None
            for f in a.factors:
                v = self._materialize_atom(f, elem)
                product = v if product is None else t.binary("arith.muli", product, v)
            return product
        if isinstance(a, (SymDiv, SymMod)):
            # Floor semantics for a positive divisor: divsi/remsi when the numerator is nonnegative.
            num, den = self._materialize(a.num, elem), self._materialize(a.den, elem)
            nonnegative = self.space.bounds(a.num)[0] >= 0
            if isinstance(a, SymDiv):
                return t.binary("arith.divsi" if nonnegative else "arith.floordivsi", num, den)
            rem = t.binary("arith.remsi", num, den)
            if nonnegative:
                return rem
            negative = t.cmpi("slt", rem, t.const(0, elem))
            return t.select(negative, t.binary("arith.addi", rem, t.broadcast(den, rem.shape)), rem)
        num = self._materialize(a.num, elem)
        den = t.const(a.den, elem)
        nonnegative = self.space.bounds(a.num)[0] >= 0
        if isinstance(a, FloorDiv):
            return t.binary("arith.divsi" if nonnegative else "arith.floordivsi", num, den)
        assert isinstance(a, Mod)
        rem = t.binary("arith.remsi", num, den)
        if nonnegative:
            return rem
        negative = t.cmpi("slt", rem, t.const(0, elem))
        return t.select(negative, t.binary("arith.addi", rem, den), rem)

    # -- values -----------------------------------------------------------

    def value(self, v: ir.Value) -> Value:
        if isinstance(v.type, ir.IndexType):
            return self.materialize(self.index_lin(v))
        try:
            return self.env[v]
        except KeyError:
            raise self.info.error(f"value {v.get_name()} is used before the emitter defined it") from None

    def operand_values(self, op: ir.OpView) -> list[Value]:
        """The op's operands as tiles; index operands in one width (i64 if any needs it)."""
        lins = {v: self.index_lin(v) for v in op.operands if isinstance(v.type, ir.IndexType)}
        wide = self.index64 or any(isinstance(a, Opaque) for e in lins.values() for a in e.atoms())
        return [
            self._materialize(lins[v], "i64" if wide else "i32") if v in lins else self.value(v) for v in op.operands
        ]

    def b_op(self, text: str, operands: list[Value], result_type: TType) -> Value:
        """A pure op written out by a rule (for ops TileOps has no helper for)."""
        return self.builder.op(text, operands, result_type)

    def round_half(self, v: Value, t: ir.Type) -> Value:
        """A float32 value rounded to the half-precision type `t` (and widened back), if it is one."""
        half = half_elem(t)
        if half is None:
            return v
        return self.t.cast("arith.extf", self.t.cast("arith.truncf", v, half), "f32")

    # -- memory -------------------------------------------------------------

    def _buffer(self, value: ir.Value) -> tuple[int, Value, str]:
        block = self.info.fn.regions[0].blocks[0]
        k = next(i for i, a in enumerate(block.arguments) if a == value)
        elem = storage_elem(ir.MemRefType(value.type).element_type)
        return k, Value(f"%arg{k}", TType(f"!tt.ptr<{elem}>")), elem

    def _offset(self, buffer: ir.Value, indices) -> Lin:
        k = next(i for i, a in enumerate(self.info.fn.regions[0].blocks[0].arguments) if a == buffer)
        return access_offset(self.space, self.strides[k], [self.index_lin(i) for i in indices])

    def _pointer(self, base: Value, offset: Value) -> Value:
        t = self.t
        if not offset.shape:
            if offset.constant == 0:
                return base
            return self.builder.op(f"tt.addptr {base.name}, {offset.name} : {base.type}, {offset.type}", [base, offset], base.type)
        pointers = t.broadcast(base, offset.shape)
        if offset.constant == 0:
            return pointers
        return self.builder.op(
            f"tt.addptr {pointers.name}, {offset.name} : {pointers.type}, {offset.type}", [pointers, offset], pointers.type
        )

    def _last_read_levels(self) -> dict[int, int]:
        info = self.info
        if not info.is_reduction:
            return {}
        arguments = list(info.fn.regions[0].blocks[0].arguments)
        last: dict[int, int] = {}
        for op in info.ops:
            if op.operation.name == "coil.load" and info.op_rdep.get(op):
                k = arguments.index(op.operands[0])
                levels = info.loops_of.get(op) or {info.op_level[op]}
                last[k] = max(last.get(k, 0), max(levels))
        return last

    def _eviction(self, op: ir.OpView, k: int, offset: Lin) -> str | None:
        """A reduction load's eviction policy (see `eviction`): None outside reductions
        and for loads that do not run along the reduction range."""
        if not self.r_pass or not self.info.op_rdep.get(op):
            return None
        names = [a.name for a in offset.atoms() if isinstance(a, Var)]
        if all(n.startswith("r") for n in names):
            return "evict_last"  # the same elements for every row: keep them
        if not self.config.persistent and self.last_read_level.get(k, 0) > self.pass_end:
            return "evict_last"  # a later loop reads this buffer again
        return "evict_first"

    def lower_load(self, op: ir.OpView) -> None:
        self.env[op.results[0]] = self._widen_loaded(op, self._issue_load(op))

    def _issue_load(self, op: ir.OpView, also_mask: Value | None = None) -> Value:
        """The `tt.load` of a `coil.load` at the current axis offsets, as stored (bf16
        stays bf16); `also_mask` (a scalar) further masks every lane."""
        buffer, *indices = op.operands
        k, base, elem = self._buffer(buffer)
        guard = self._guard_mask(self.info.load_guards.get(op.operation))
        if guard is not None:
            lins = [self.space.substitute(lin, self.dim_map) for lin in self.info.guarded_index_lins[op.operation]]
            offset = access_offset(self.space, self.strides[k], lins)
        else:
            offset = self._offset(buffer, indices)
        pointer = self._pointer(base, self.materialize(offset))
        mask = self.mask_for(pointer.shape)
        if guard is not None:
            if join_shapes(guard.shape, pointer.shape) == pointer.shape:
                mask = self.t.logical_and(mask, self.t.broadcast(guard, pointer.shape))
            else:  # a guard wider than the load (a [1, X] row of a [Y, X] tile): read it all
                offset = self._offset(buffer, indices)
                pointer = self._pointer(base, self.materialize(offset))
        if also_mask is not None:
            mask = self.t.logical_and(mask, self.t.broadcast(also_mask, pointer.shape))
        operands = [pointer] + ([mask] if mask is not None else [])
        hint = load_hint(self._eviction(op, k, offset))
        text = f"tt.load {', '.join(v.name for v in operands)}{hint} : {pointer.type}"
        return self.builder.load(
            text, k, lambda: self.builder.op(text, operands, TType(elem, pointer.shape), pure=False, removable=True)
        )

    def _widen_loaded(self, op: ir.OpView, loaded: Value) -> Value:
        """A loaded tile as the `coil.load`'s result type computes: i1 from its i8
        storage, half precision widened to float32."""
        result_type = op.results[0].type
        if isinstance(result_type, ir.IntegerType) and ir.IntegerType(result_type).width == 1:
            return self.t.cmpi("ne", loaded, self.t.const(0, "i8"))
        if half_elem(result_type):
            return self.t.cast("arith.extf", loaded, "f32")
        return loaded

    def _guard_mask(self, guard: list | None) -> Value | None:
        """The lanes where a guarded load's value is kept: its conditions, lowered here
        (index comparisons: pure, so lowering them again later reuses them)."""
        if not guard:
            return None
        mask = None
        for condition, kept_when in guard:
            v = self._lower_condition(condition)
            if not kept_when:
                v = self.t.binary("arith.xori", v, self.t.const(True, "i1", v.shape))
            mask = self.t.logical_and(*self.t.same_shape(mask, v)) if mask is not None else v
        return mask if mask is not None and mask.shape else None

    def _lower_condition(self, v: ir.Value) -> Value:
        if v not in self.env:
            owner = v.owner
            for x in owner.operands:
                if not isinstance(x.type, ir.IndexType):
                    self._lower_condition(x)
            self.lower(owner)
        return self.env[v]

    def lower_store(self, op: ir.OpView) -> None:
        value, buffer, *indices = op.operands
        k, base, elem = self._buffer(buffer)
        v = self.value(value)
        if elem in ("f16", "bf16"):
            v = self.t.cast("arith.truncf", v, elem)
        elif v.type.elem == "i1":
            v = self.t.cast("arith.extui", v, "i8")
        v = self.t.broadcast(v, self.domain)
        offset = self.t.broadcast(self.materialize(self._offset(buffer, indices)), self.domain)
        pointer = self._pointer(base, offset)
        mask = self.mask_for(self.domain)
        operands = [pointer, v] + ([mask] if mask is not None else [])
        self.builder.effect(f"tt.store {', '.join(x.name for x in operands)} : {pointer.type}", operands)
        self.builder.invalidate_loads(k)

    # -- ops ----------------------------------------------------------------

    def lower(self, op: ir.OpView) -> None:
        name = op.operation.name
        if name == "coil.load":
            return self.lower_load(op)
        if name == "coil.store":
            return self.lower_store(op)
        results = list(op.results)
        if len(results) == 1 and isinstance(results[0].type, ir.IndexType):
            return self.lower_index_op(op)
        rule = RULES.get(name)
        if rule is None:
            raise self.info.error("no TTIR lowering for this op", op)
        try:
            value = rule(self, op, self.operand_values(op))
        except TritonLoweringError:
            raise
        except (ValueError, KeyError) as error:
            raise self.info.error(str(error), op) from None
        self.env[results[0]] = value

    def lower_index_op(self, op: ir.OpView) -> None:
        """Index arithmetic stays symbolic; an index it cannot follow is computed in i64 (an opaque index)."""
        result = op.results[0]
        lin = self.info.symbolic[result]
        if not (len(lin.terms) == 1 and isinstance(lin.terms[0][0], Opaque) and lin.terms[0][0].ident == result):
            return
        name = op.operation.name
        t = self.t
        if name in ("arith.index_cast", "arith.index_castui"):
            source = self.value(op.operands[0])
            if source.type.int_width < 64:
                v = t.cast("arith.extui" if name == "arith.index_castui" else "arith.extsi", source, "i64")
            else:
                v = t.to_int(source, "i64")
        else:
            operands = []
            for x in op.operands:
                if isinstance(x.type, ir.IndexType):
                    operands.append(t.to_int(self.materialize(self.index_lin(x)), "i64"))
                else:
                    operands.append(self.value(x))
            if name == "arith.select":
                v = t.select(*operands)
            elif name in _INDEX_BINARY:
                v = t.binary(name, *operands)
            else:
                raise self.info.error("no TTIR lowering for this index op", op)
        self.env[("opaque", result)] = v

    # -- structure ----------------------------------------------------------

    def run(self) -> str:
        """The kernel as a TTIR module."""
        self._build()
        return self._print()

    def run_part(self) -> list[str]:
        """A `coil.combo` kernel's loop nest as its private `tt.func` (`ComboPart`)."""
        self._build()
        return self.function_lines()

    def _build(self) -> None:
        info = self.info
        self.domain = self.tile
        block = info.fn.regions[0].blocks[0]
        for i, a in enumerate(block.arguments):
            if isinstance(a.type, ir.IndexType):
                self.env[("opaque", a)] = Value(f"%arg{i}", TType("i64"))
        for i, dims in info.stride_params.items():
            for k in dims:
                self.env[("opaque", ("stride", i, k))] = Value(f"%arg{i}_stride{k}", TType("i64"))
        for op in info.prelude:
            self.lower(op)
        if not info.is_reduction:
            for op in self._loads_first(info.ops):
                self.lower(op)
        else:
            self.domain = self.out_shape
            self.deferred = self._deferred_stage_ops() if self.config.persistent else []
            self._emit_stage(0)
            folded = False
            for level in range(info.n_levels):
                if self.config.persistent:
                    self._emit_persistent_level(level)
                elif not folded:
                    # A level folded into the previous one's loop has no pass of its own.
                    folded = self._emit_looped_level(level)
                else:
                    folded = False
                self._emit_stage(level + 1)

    def _loads_first(self, ops: list) -> list:
        """A small flat pointwise grid (fewer programs than LATENCY_BOUND_PROGRAMS) issues
        its loads first: what no earlier store of the body may write, at indices
        the loop gives. In body order a thread waits for one tensor's loads,
        computes and stores, and only then loads the next tensor's: each tensor
        of a horizontal fusion costs a memory round trip, which no other warp
        hides when the grid is a handful of programs. AdamW's eight 1024-element
        tensors (one kernel, 32 loads and 24 stores a point, one [1024]
        program) took 11-12 us on an H100 in bf16, about a round trip per tensor,
        and 4.6 us with its loads first. Buffers marked `coil.noalias`
        (passes/kernel_args.py) are disjoint: a store to one cannot change what
        a load of another reads."""
        info, config = self.info, self.config
        if config.yblock > 1 or cdiv(info.xnumel, config.xblock) >= LATENCY_BOUND_PROGRAMS:
            return ops
        if self.part is not None and not self.part.small_grid:
            # Part of a large combo: the other parts' programs hide its latency, and its
            # registers (the combo's are its largest part's) would cut their occupancy.
            return ops
        body = set(ops)
        noalias = noalias_arguments(info.fn)
        stored: set = set()
        early = []
        for op in ops:
            name = op.operation.name
            if name == "coil.store":
                stored.add(op.operands[1])
            elif name == "coil.load":
                source = op.operands[0]
                if any(isinstance(v, ir.OpResult) and v.owner in body for v in op.operands):
                    continue  # a buffer or index computed in the body (a gather): keep its place
                if stored and (source in stored or source not in noalias or not stored <= noalias):
                    continue
                early.append(op)
        # Each hoisted load holds its values (elements a thread) until they are used:
        # past LOADS_FIRST_MAX_VALUES the rest keep their place (fused_59 above: 33
        # loads of 4 values a thread, 175 registers, no spills).
        per_thread = max(1, config.xblock // (32 * config.num_warps))
        distinct: dict = {}  # a repeated load (fusion leaves one per consumer) is one tt.load
        for op in early:
            distinct.setdefault(tuple(op.operands), len(distinct))
        room = max(1, LOADS_FIRST_MAX_VALUES // per_thread)
        early = [op for op in early if distinct[tuple(op.operands)] < room]
        if not early:
            return ops
        moved = set(early)
        return early + [op for op in ops if op not in moved]

    def _stage_ops(self, level: int) -> list:
        info = self.info
        return [op for op in info.ops if op not in info.reduce_loop and not info.op_rdep[op] and info.op_level[op] == level]

    def _deferred_stage_ops(self) -> list:
        """Stage-0 ops that no op of the first reduction pass needs and that wait on a
        load (a cross-entropy's gather of the target logit, at the loaded target):
        lowered after that pass's loads, so that the wait overlaps the row's stream
        instead of holding it back (an H100 bf16 4096x32000 loss row kernel: 126 us
        with the gather first, 108 without it)."""
        stage = self._stage_ops(0)
        inside = set(stage)
        needed = _cone([op for op, _ in self._level_ops(0)], inside)
        # Loads at indices known up front (the target) still go first: only what waits on one is deferred.
        waits: set = set()
        for op in stage:
            if op not in needed and any(
                isinstance(v, ir.OpResult) and (v.owner in waits or (v.owner in inside and v.owner.operation.name == "coil.load"))
                for v in op.operands
            ):
                waits.add(op)
        return [op for op in stage if op in waits]

    def _emit_stage(self, level: int) -> None:
        deferred = set(self.deferred) if level == 0 else ()
        for op in self._stage_ops(level):
            if op not in deferred:
                self.lower(op)

    def _level_ops(self, level: int):
        info = self.info
        for op in info.ops:
            if op in info.reduce_loop:
                if info.reduce_loop[op] == level:
                    yield op, True
            elif level in info.loops_of.get(op, ()):
                yield op, False

    def _reduce_operand(self, op: ir.OpView) -> Value:
        v = self.t.broadcast(self.value(op.operands[0]), self.tile)
        if v.type.elem == "i1":
            v = self.t.cast("arith.extui", v, "i8")
        return v

    def _narrow_extremum_operand(self, op: ir.OpView, rtype: str) -> Value | None:
        """A persistent max or min over half-precision values (a bf16 row, or its
        extf to float32) reduces them in their own type: exact (widening is
        monotonic and keeps NaN), and the row then stays in registers as
        loaded, two elements a register, instead of as float32. A later pass
        over the row (softmax's and cross-entropy's exp(x - max)) widens it
        again where it reads it. An H100 cross-entropy row of 32000 bf16
        logits (16 warps) compiles to 64 registers a thread instead of 78:
        two programs an SM instead of one (8 warps: 80 instead of 154, three
        instead of one)."""
        if rtype not in ("max", "min"):
            return None
        x = op.operands[0]
        if isinstance(x, ir.OpResult) and x.owner.name == "arith.extf":
            x = x.owner.operands[0]
        half = half_elem(x.type)
        if half is None:
            return None
        # Half-precision values are float32 here, already rounded: the truncation
        # is exact, and folds into the load's widening.
        return self.t.cast("arith.truncf", self.t.broadcast(self.value(x), self.tile), half)

    def _position(self) -> Value:
        return self.t.broadcast(self.axis_value(self.axis_by_name["r"]), self.tile)

    def _emit_persistent_level(self, level: int) -> None:
        t = self.t
        saved, self.env = self.env, dict(self.env)
        self.domain, self.r_pass = self.tile, True
        partials = []
        rmask = self.axis_mask(self.axis_by_name["r"])
        for op, is_reduce in self._level_ops(level):
            if not is_reduce:
                self.lower(op)
                continue
            rtype = op.attributes["reduction_type"].value
            v = self._narrow_extremum_operand(op, rtype) or self._reduce_operand(op)
            if rmask is not None:
                v = t.select(t.broadcast(rmask, self.tile), v, t.const(reduction_init(rtype, v.type.elem), v.type.elem, self.tile))
            values = [v]
            if rtype in ("argmax", "argmin"):
                values.append(self._position())
            partials.append((op, rtype, values))
        self.env = saved
        self.domain, self.r_pass = self.out_shape, False
        # The deferred loads (and their index math) go out behind the pass's loads;
        # what uses their values waits until after the reduction.
        issue = _cone([op for op in self.deferred if op.operation.name == "coil.load"], set(self.deferred)) if level == 0 else set()
        for op in self.deferred if level == 0 else ():
            if op in issue:
                self.lower(op)
        for op, rtype, values in partials:
            self._finish_reduce(op, rtype, values)
        for op in self.deferred if level == 0 else ():
            if op not in issue:
                self.lower(op)

    def _emit_looped_level(self, level: int) -> bool:
        """One `scf.for` over the reduction range for `level`; True if it also did level + 1's pass.

        Level + 1's pass is folded in (online softmax, see
        `analysis.online_softmax_pairs`) when it only sums exp(x - max) over
        the x of a max of this level: per lane, a running max m and a sum s
        rescaled as m grows, then across lanes M = max(m) and
        S = sum(s * exp(m - M)). The row is read once instead of twice.

        Or it is folded in (one-pass Welford, `analysis.online_variance_pairs`)
        when it sums the squared deviations of x from a level-k sum's mean:
        per lane a running mean and m2, updated with 1/count (a scalar when no
        lane is masked, every lane then having seen as many points), merged
        across lanes by Chan's formula in one `tt.reduce`.
        """
        t, info = self.t, self.info
        online = online_softmax_pairs(info, level) or []
        variance = [] if online else (online_variance_pairs(info, level) or [])
        self.pass_end = level + 1 if online or variance else level
        reduces = [op for op, is_reduce in self._level_ops(level) if is_reduce]
        inits = []
        for op in reduces:
            rtype = op.attributes["reduction_type"].value
            elem = compute_elem(op.operands[0].type, self.idx)
            elem = "i8" if elem == "i1" else elem
            inits.append(t.const(reduction_init(rtype, elem), elem, self.tile))
            if rtype in ("argmax", "argmin"):
                inits.append(t.const(0, self.idx, self.tile))
        inits += [t.const(0.0, "f32", self.tile) for _ in online]
        r_axis = self.axis_by_name["r"]
        # A lane's count of points seen: a loop-carried tile only where masked lanes skip some.
        lane_counts = r_axis.dynamic or r_axis.numel % self.config.rblock != 0
        per_pair = 3 if lane_counts else 2
        inits += [t.const(0.0, "f32", self.tile) for _ in range(per_pair * len(variance))]
        folded = len(online) + per_pair * len(variance)
        rnumel, rblock = r_axis.numel, self.config.rblock
        lower = t.const(0, self.idx)
        if r_axis.dynamic:
            upper = t.to_int(self.materialize(r_axis.extent), self.idx)
        else:
            if self.idx == "i32" and cdiv(rnumel, rblock) * rblock >= INT32_LIMIT:
                raise NeedsInt64()
            upper = t.const(rnumel, self.idx)
        prefetched = self._prefetched_loads(level) if self.config.prefetch else []
        slots: dict = {}  # prefetched load -> its distinct tt.load among the carried tiles
        first: list[Value] = []  # per distinct tt.load: the first chunk's
        leads: list = []  # per distinct tt.load: a load op that issues it
        if prefetched:
            # The first chunk's row loads go out before the loop (see `_prefetched_loads`).
            # Fusion leaves one load per consumer; the builder merges equal ones into one tt.load.
            self.r_offset, self.domain, self.r_pass = lower, self.tile, True
            position: dict[str, int] = {}
            for op in prefetched:
                v = self._issue_load(op)
                slots[op] = position.setdefault(v.name, len(first))
                if slots[op] == len(first):
                    first.append(v)
                    leads.append(op)
            self.r_offset, self.domain, self.r_pass = None, self.out_shape, False
        iv, accs = self.builder.open_for(lower, upper, t.const(rblock, self.idx), inits + first)
        accs, carried = accs[: len(inits)], accs[len(inits) :]
        saved, self.env = self.env, dict(self.env)
        self.domain, self.r_pass = self.tile, True
        following: list[Value] = []
        if prefetched:
            # The next chunk's loads, issued before this chunk's math, are in flight while
            # it runs. Past the last chunk they are masked off: by the lane mask, or where
            # RBLOCK divides the row (no lane mask), by a scalar test.
            self.r_offset = t.binary("arith.addi", iv, t.const(rblock, self.idx))
            more = None if lane_counts else t.cmpi("slt", self.r_offset, upper)
            following = [self._issue_load(op, more) for op in leads]
            for op in prefetched:
                self.env[op.results[0]] = self._widen_loaded(op, carried[slots[op]])
        self.r_offset = iv
        rmask = self.axis_mask(self.axis_by_name["r"])
        mask = None if rmask is None else t.broadcast(rmask, self.tile)
        updated = []
        acc_iter = iter(accs[: len(accs) - folded])
        running_max = {}  # max reduce -> (accumulator, incoming x, unmasked new max)
        for op, is_reduce in self._level_ops(level):
            if not is_reduce:
                if op not in slots:
                    self.lower(op)
                continue
            rtype = op.attributes["reduction_type"].value
            current = [next(acc_iter)]
            incoming = [self._reduce_operand(op)]
            if rtype in ("argmax", "argmin"):
                current.append(next(acc_iter))
                incoming.append(self._position())
            new = combine(t, rtype, current, incoming)
            running_max[op] = (current[0], incoming[0], new[0])
            if mask is not None:
                new = [t.select(mask, n, c) for n, c in zip(new, current)]
            updated += new
        sums = accs[len(accs) - folded : len(accs) - folded + len(online)]
        for pair, s in zip(online, sums):
            m, x, m_new = running_max[pair.max_op]
            s_new = self._online_sum_step(s, m, x, m_new)
            if mask is not None:
                s_new = t.select(mask, s_new, s)
            updated.append(s_new)
        welford = iter(accs[len(accs) - folded + len(online) :])
        if variance and not lane_counts:
            # 1 / (points seen), the same in every lane: rblock / (iv + rblock), exactly rounded.
            seen = t.cast("arith.sitofp", t.binary("arith.addi", iv, t.const(rblock, self.idx)), "f32")
            inverse = t.binary("arith.divf", t.const(float(rblock), "f32"), seen)
        for pair in variance:
            mean, m2 = next(welford), next(welford)
            x = running_max[pair.total_op][1]
            if lane_counts:
                count = next(welford)
                count_new = t.binary("arith.addf", count, t.const(1.0, "f32", self.tile))
                step = t.binary("arith.divf", t.binary("arith.subf", x, mean), count_new)
            else:
                step = t.binary("arith.mulf", t.binary("arith.subf", x, mean), inverse)
            mean_new = t.binary("arith.addf", mean, step)
            m2_new = t.binary("arith.addf", m2, t.binary("arith.mulf", t.binary("arith.subf", x, mean), t.binary("arith.subf", x, mean_new)))
            new = [mean_new, m2_new] + ([count_new] if lane_counts else [])
            old = [mean, m2] + ([count] if lane_counts else [])
            if mask is not None:
                new = [t.select(mask, n, c) for n, c in zip(new, old)]
            updated += new
        results = self.builder.close_for(updated + following)[: len(updated)]
        self.r_offset = None
        self.env = saved
        self.domain, self.r_pass = self.out_shape, False
        result_iter = iter(results)
        lane_max = {}
        for op in reduces:
            rtype = op.attributes["reduction_type"].value
            values = [next(result_iter)]
            lane_max[op] = values[0]
            if rtype in ("argmax", "argmin"):
                values.append(next(result_iter))
            self._finish_reduce(op, rtype, values)
        for pair, s in zip(online, result_iter):
            m = lane_max[pair.max_op]
            row_max = t.broadcast(self.env[pair.max_op.results[0]], self.tile)
            scaled = t.binary("arith.mulf", s, t.unary("math.exp", t.binary("arith.subf", m, row_max)))
            scaled = t.select(self._is_neg_inf(m), t.const(0.0, "f32", self.tile), scaled)
            (total,) = self._tt_reduce("sum", [scaled])
            total = t.expand_dims(total, self.r_pos)
            if r_axis.dynamic or rnumel > 0:
                # A row of -inf: eager's exp(x - max) is exp(nan), its sum nan (an empty row sums to 0).
                row = self.env[pair.max_op.results[0]]
                cond = self._is_neg_inf(row)
                if r_axis.dynamic:
                    cond = t.binary("arith.andi", cond, t.broadcast(t.cmpi("sgt", upper, t.const(0, self.idx)), cond.shape))
                total = t.select(cond, t.const(float("nan"), "f32", row.shape), total)
            self.env[pair.sum_op.results[0]] = total
        for pair in variance:
            mean, m2 = next(result_iter), next(result_iter)
            if lane_counts:
                count = next(result_iter)
            else:
                count = t.const(float(cdiv(rnumel, rblock)), "f32", self.tile)
            (_, m2, _) = self._tt_reduce("welford", [mean, m2, count])
            self.env[pair.m2_op.results[0]] = t.expand_dims(m2, self.r_pos)
        return bool(online or variance)

    def _prefetched_loads(self, level: int) -> list:
        """The loads of `level`'s loop that `TritonConfig.prefetch` double-buffers:
        those that run along the reduction range at offsets the loop's index
        alone gives (no gather, no guard), from buffers the loop does not store.

        Triton's software pipeliner only stages loads that feed a dot; a loop
        of plain loads waits for each chunk before its math and issues the next
        one after. Prefetched, iteration i carries chunk i (loaded the
        iteration before, or before the loop) and issues chunk i + 1's loads
        first: a program keeps a chunk in flight while it computes, with one
        more chunk of registers (a bf16 row chunk of 2048 over 16 warps:
        two registers a thread)."""
        info = self.info
        level_ops = [op for op, is_reduce in self._level_ops(level) if not is_reduce]
        stored = {op.operands[1] for op in level_ops if op.operation.name == "coil.store"}
        arguments = set(info.fn.regions[0].blocks[0].arguments)

        def known_before_the_loop(atom) -> bool:
            ident = atom.ident
            return (isinstance(ident, tuple) and ident[:1] == ("stride",)) or ident in arguments

        found = []
        for op in level_ops:
            if op.operation.name != "coil.load" or not info.op_rdep.get(op) or op.operands[0] in stored:
                continue
            if info.load_guards.get(op.operation) or any(not isinstance(v.type, ir.IndexType) for v in op.operands[1:]):
                continue
            if any(isinstance(a, Opaque) and not known_before_the_loop(a) for v in op.operands[1:] for a in self.index_lin(v).atoms()):
                continue
            found.append(op)
        return found

    def _online_sum_step(self, s: Value, m: Value, x: Value, m_new: Value) -> Value:
        """A lane's online softmax sum after seeing x: s * exp(m - m') + exp(x - m').

        One of the two exponents is 0, so one exp serves: e = exp(min(m, x) - m'),
        then s * e + 1 where x raised the max, else s + e (the same roundings
        as the two-exp form, whose other factor is exactly 1). An element
        costs one MUFU exp instead of two, which is what a bf16 32000-wide
        log-sum-exp (two elements a loaded word) spends its issue slots on.
        NaN and +inf propagate as in eager (a NaN x makes e NaN; an x of +inf
        leaves the lane's max +inf, whose exp(m - M) across lanes is NaN).
        A lane whose max is still -inf has seen only -inf (exp(-inf - -inf)
        would be NaN): its sum stays 0."""
        t = self.t
        e = t.unary("math.exp", t.binary("arith.subf", t.binary("arith.minimumf", m, x), m_new))
        raised = t.cmpf("ogt", x, m)
        one = t.const(1.0, "f32", e.shape)
        s_new = t.select(raised, t.binary("arith.addf", t.binary("arith.mulf", s, e), one), t.binary("arith.addf", s, e))
        return t.select(self._is_neg_inf(m_new), s, s_new)

    def _is_neg_inf(self, v: Value) -> Value:
        return self.t.cmpf("oeq", v, self.t.const(-math.inf, v.type.elem, v.shape))

    def _finish_reduce(self, op: ir.OpView, rtype: str, values: list[Value]) -> None:
        """`tt.reduce` along the reduction axis of the partials; the result as [XBLOCK, 1] (or [1, XBLOCK])."""
        t = self.t
        reduced = [t.expand_dims(v, self.r_pos) for v in self._tt_reduce(rtype, values)]
        result = op.results[0]
        if rtype in ("argmax", "argmin"):
            value = t.to_int(reduced[1], "i64")
        else:
            value = reduced[0]
            if value.type.elem in ("f16", "bf16"):
                value = t.cast("arith.extf", value, "f32")  # a narrow max or min (_narrow_extremum_operand)
            if isinstance(result.type, ir.IntegerType) and ir.IntegerType(result.type).width == 1:
                value = t.cmpi("ne", value, t.const(0, value.type.elem))
            value = self.round_half(value, result.type)
        self.env[result] = value

    def _tt_reduce(self, rtype: str, values: list[Value]) -> list[Value]:
        region = Builder(self.builder.names)
        lhs = [Value(region.fresh(), TType(v.type.elem)) for v in values]
        rhs = [Value(region.fresh(), TType(v.type.elem)) for v in values]
        out = combine(TileOps(region), rtype, lhs, rhs)
        region.effect(f"tt.reduce.return {', '.join(v.name for v in out)} : {', '.join(str(v.type) for v in out)}", out)
        lines = [f"  {inner.result_decl} = {inner.text}" if inner.result_decl else f"  {inner.text}" for inner in region.finish()]
        args = ", ".join(f"{v.name}: {v.type}" for v in lhs + rhs)
        result_types = [TType(v.type.elem, (self.config.xblock,)) for v in values]
        operand_types = ", ".join(str(v.type) for v in values)
        results_text = ", ".join(str(r) for r in result_types)
        operand_types = f"({operand_types})"
        if len(values) > 1:
            results_text = f"({results_text})"
        text = (
            f'"tt.reduce"({", ".join(v.name for v in values)}) <{{axis = {self.r_pos} : i32}}> ({{\n'
            f"^bb0({args}):\n" + "\n".join(lines) + f"\n}}) : {operand_types} -> {results_text}"
        )
        return self.builder.op_multi(text, values, result_types)

    # -- printing -----------------------------------------------------------

    def parameters(self) -> list[tuple[str, str, str]]:
        """(name, type, attributes) of each `tt.func` parameter, in order."""
        params = []
        for i, (kind, t) in enumerate(zip(self.info.arg_kinds, self.info.arg_types)):
            if kind == "index":
                params.append((f"%arg{i}", "i64", self._divisible(("arg", i))))
                continue
            elem = storage_elem(ir.MemRefType(t).element_type)
            attrs = ""
            if self.aligned is None or i in self.aligned:
                attrs = " {tt.divisibility = 16 : i32}"
            params.append((f"%arg{i}", f"!tt.ptr<{elem}>", attrs))
            params += [(f"%arg{i}_stride{k}", "i64", self._divisible(("stride", i, k))) for k in self.info.stride_params.get(i, ())]
        if self.part is not None:
            params.append(("%pid", "i32", ""))
        return params

    def signature(self) -> str:
        args = ", ".join(f"{name}: {type_}{attrs}" for name, type_, attrs in self.parameters())
        if self.part is not None:
            return f"tt.func private @{self.part.name}({args}) attributes {{noinline = false}}"
        return f"tt.func public @{self.function_name}({args})"

    def _divisible(self, param: tuple) -> str:
        return " {tt.divisibility = 16 : i32}" if ("div16", param) in self.hints else ""

    def _print(self) -> str:
        return "\n".join(["module {", *self.function_lines(), "}"]) + "\n"

    def function_lines(self) -> list[str]:
        """The `tt.func` (indented for a module body)."""
        ops = self.builder.finish()
        printer = Printer()
        body = printer.lines(ops, 4)
        return [f"  {self.signature()} {{", *body, "    tt.return", "  }"]


# ---------------------------------------------------------------------------
# Lowering rules: arith and math on tiles

RULES: dict = {}

_INDEX_BINARY = {
    "arith.addi", "arith.subi", "arith.muli", "arith.divsi", "arith.divui", "arith.remsi", "arith.remui",
    "arith.maxsi", "arith.minsi", "arith.maxui", "arith.minui", "arith.floordivsi", "arith.andi", "arith.ori",
    "arith.xori", "arith.shli", "arith.shrsi", "arith.shrui", "arith.ceildivsi", "arith.ceildivui",
}


def rule(*names):
    def register(fn):
        for name in names:
            RULES[name] = fn
        return fn

    return register


@rule("arith.constant")
def _constant(e: KernelEmitter, op, operands):
    attr = op.attributes["value"]
    result_type = op.results[0].type
    elem = compute_elem(result_type, e.idx)
    if isinstance(attr, ir.BoolAttr):
        return e.t.const(ir.BoolAttr(attr).value, "i1")
    if isinstance(attr, ir.FloatAttr):
        return e.t.const(ir.FloatAttr(attr).value, elem)
    if isinstance(attr, ir.IntegerAttr):
        value = ir.IntegerAttr(attr).value
        if elem == "i1":
            value = bool(value & 1)
        return e.t.const(value, elem)
    raise ValueError(f"unsupported constant {attr}")


_ROUNDING_FLOAT_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.remf")


@rule(*_ROUNDING_FLOAT_BINARY, "arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf")
def _float_binary(e: KernelEmitter, op, operands):
    name = op.operation.name
    a, b = operands
    if name == "arith.divf":
        result = _divide(e, a, b, exact=_division_needs_exact_rounding(op))
    elif name == "arith.remf":
        # C's fmod, as CUDA eager computes fmod and remainder (remainder is remf
        # and a sign fix in the kernel IR). Triton lowers arith.remf as LLVM's
        # frem, x - trunc(x / y) * y on NVPTX: inf for fmod(inf, y) and x fmod 0
        # (C: nan) and wrong for large quotients. libdevice's fmod is exact.
        if a.type.elem not in ("f32", "f64"):
            raise ValueError(f"'arith.remf' on {a.type.elem} is not supported")
        result = e.t.extern("__nv_fmodf" if a.type.elem == "f32" else "__nv_fmod", [a, b])
    else:
        result = e.t.binary(name, a, b)
    if name in _ROUNDING_FLOAT_BINARY:
        result = e.round_half(result, op.results[0].type)
    return result


def _exact_reciprocal(value) -> float | None:
    """1/value when it is exactly representable (value a power of two, within range), else None."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return None
    mantissa, exponent = math.frexp(abs(value))
    # 2^k: frexp gives 0.5 * 2^(k+1); 1/2^k = 2^-k, which f32 holds for |k| <= 126.
    if mantissa != 0.5 or abs(exponent - 1) > 126:
        return None
    return 1.0 / value


# Users of a quotient whose result can jump when the quotient is off by an
# ulp (floor division, comparisons, conversions to integers): such quotients
# are divided exactly.
_DISCONTINUOUS_USERS = frozenset(
    (
        "arith.cmpf",
        "arith.fptosi",
        "arith.fptoui",
        "arith.remf",
        "math.floor",
        "math.ceil",
        "math.trunc",
        "math.round",
        "math.roundeven",
    )
)


def _division_needs_exact_rounding(op) -> bool:
    """A quotient the frontend marked `coil.exact` (addcdiv's, which eager CUDA
    divides exactly before its fma) or that feeds a discontinuous user. A
    quotient rounded to half precision stays fast: exact division
    (tt.precise_divf) there took a bf16 2048x32000 softmax from 0.103 to
    0.128 ms on an H100."""
    if EXACT_DIVISION in op.attributes:
        return True
    return any(use.owner.name in _DISCONTINUOUS_USERS for use in op.results[0].uses)


def _divide(e: KernelEmitter, a: Value, b: Value, exact: bool = True) -> Value:
    """a / b. f32 `arith.divf` is Triton's fast division (within 2 ulp, as
    Inductor's `x / y` and `tl.sigmoid` divide); `exact` gives the correctly
    rounded `tt.precise_divf` eager computes, for quotients that feed floor,
    comparisons or integer conversions, where an ulp can change the result.

    A constant power-of-two divisor is a multiplication by its reciprocal,
    which is exact (both are exact scalings, overflow and underflow alike,
    except that a product that lands in the subnormal range rounds once
    either way), so it needs no `tt.precise_divf`.
    """
    reciprocal = _exact_reciprocal(b.constant)
    if reciprocal is not None:
        return e.t.binary("arith.mulf", a, e.t.const(reciprocal, b.type.elem, b.shape))
    if a.type.elem != "f32" or not exact:
        return e.t.binary("arith.divf", a, b)
    a, b = e.t.same_shape(a, b)
    return e.b_op(f"tt.precise_divf {a.name}, {b.name} : {a.type}", [a, b], a.type)


@rule(*sorted(_INDEX_BINARY))
def _int_binary(e: KernelEmitter, op, operands):
    return e.t.binary(op.operation.name, *operands)


@rule("arith.negf")
def _negf(e: KernelEmitter, op, operands):
    # -0.0 - x is -x exactly (signed zeros included); Triton 3.6 cannot convert arith.negf.
    a = operands[0]
    return e.t.binary("arith.subf", e.t.const(-0.0, a.type.elem), a)


@rule("arith.cmpi")
def _cmpi(e: KernelEmitter, op, operands):
    predicate = CMPI_PREDICATES[ir.IntegerAttr(op.attributes["predicate"]).value]
    return e.t.cmpi(predicate, *operands)


@rule("arith.cmpf")
def _cmpf(e: KernelEmitter, op, operands):
    predicate = _CMPF[ir.IntegerAttr(op.attributes["predicate"]).value]
    if predicate in ("false", "true"):
        a, b = e.t.same_shape(*operands)
        return e.t.const(predicate == "true", "i1", a.shape)
    return e.t.cmpf(predicate, *operands)


@rule("arith.select")
def _select(e: KernelEmitter, op, operands):
    return e.t.select(*operands)


@rule("arith.extf", "arith.truncf", "arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui",
      "arith.extsi", "arith.extui", "arith.trunci", "arith.index_cast", "arith.index_castui", "arith.bitcast")
def _cast(e: KernelEmitter, op, operands):
    name = op.operation.name
    (a,) = operands
    source_type, result_type = op.operands[0].type, op.results[0].type
    target = compute_elem(result_type, e.idx)
    t = e.t
    if name == "arith.extf":
        return t.cast("arith.extf", a, target) if a.type.elem != target else a
    if name == "arith.truncf":
        if a.type.elem == "f64" and target == "f32":
            a = t.cast("arith.truncf", a, "f32")
        return e.round_half(a, result_type)
    if name in ("arith.sitofp", "arith.uitofp"):
        return e.round_half(t.cast(name, a, target), result_type)
    if name in ("arith.fptosi", "arith.fptoui", "arith.extsi", "arith.extui", "arith.trunci"):
        return t.cast(name, a, target)
    if name in ("arith.index_cast", "arith.index_castui"):
        # index -> integer (index results are handled as index expressions).
        if a.type.int_width < int(target[1:]):
            return t.cast("arith.extui" if name == "arith.index_castui" else "arith.extsi", a, target)
        return t.to_int(a, target)
    # bitcast: half precision is reinterpreted in its storage type.
    source_half, result_half = half_elem(source_type), half_elem(result_type)
    if source_half:
        a = t.cast("arith.truncf", a, source_half)
    storage = result_half or target
    v = e.b_op(f"arith.bitcast {a.name} : {a.type} to {a.type.with_elem(storage)}", [a], a.type.with_elem(storage))
    if result_half:
        v = t.cast("arith.extf", v, "f32")
    return v


# Math functions: those Triton's NVIDIA backend lowers natively stay `math`,
# the rest call libdevice (`__nv_<name>f` for f32, `__nv_<name>` for f64).
# f32 exp is libdevice's, as accurate as CUDA eager's expf: Triton's native exp
# is ex2.approx(x * log2(e)), and the rounding of that product grows with x
# (exp(88) came out 1.8e-6 relative off, beyond PyTorch's float32 rtol of
# 1.3e-6). Softmax's exp(x - max(x)) (the online softmax's below too) and
# sigmoid's keep the native exp, Inductor's, which is exact enough there
# (`native_exp_suffices`).
_NATIVE_F32 = {"math.exp2", "math.log", "math.log2", "math.absf", "math.floor", "math.ceil", "math.fma"}
_NATIVE_F64 = {"math.absf", "math.floor", "math.ceil", "math.fma", "math.sqrt"}
_LIBDEVICE = {
    "math.exp": "exp", "math.exp2": "exp2", "math.expm1": "expm1", "math.log": "log", "math.log2": "log2",
    "math.log10": "log10", "math.log1p": "log1p", "math.sqrt": "sqrt", "math.rsqrt": "rsqrt", "math.cbrt": "cbrt",
    "math.sin": "sin", "math.cos": "cos", "math.tan": "tan", "math.asin": "asin", "math.acos": "acos",
    "math.atan": "atan", "math.sinh": "sinh", "math.cosh": "cosh", "math.tanh": "tanh", "math.asinh": "asinh",
    "math.acosh": "acosh", "math.atanh": "atanh", "math.erf": "erf", "math.erfc": "erfc", "math.trunc": "trunc",
    "math.roundeven": "rint", "math.round": "round", "math.powf": "pow", "math.atan2": "atan2",
    "math.copysign": "copysign", "math.floor": "floor", "math.ceil": "ceil", "math.absf": "fabs", "math.fma": "fma",
}
# Results exactly representable in the operand's type: no rounding to half precision needed.
_EXACT = {"math.absf", "math.floor", "math.ceil", "math.trunc", "math.roundeven", "math.round", "math.copysign"}


@rule(*_LIBDEVICE)
def _math(e: KernelEmitter, op, operands):
    name = op.operation.name
    t = e.t
    elem = operands[0].type.elem
    if elem not in ("f32", "f64"):
        raise ValueError(f"'{name}' on {elem} is not supported")
    if name == "math.powf" and operands[1].constant is not None and float(operands[1].constant) in _POW_SPECIAL:
        return _pow_constant(e, operands[0], float(operands[1].constant), op.results[0].type)
    if name == "math.sqrt" and elem == "f32":
        result = t.unary("tt.precise_sqrt", operands[0])
    elif name in (_NATIVE_F32 if elem == "f32" else _NATIVE_F64) or (
        name == "math.exp" and elem == "f32" and native_exp_suffices(e.info, op)
    ):
        if len(operands) == 3:
            result = t.ternary(name, *operands)
        elif len(operands) == 2:
            result = t.binary(name, *operands)
        else:
            result = t.unary(name, operands[0])
    else:
        symbol = "__nv_" + _LIBDEVICE[name] + ("f" if elem == "f32" else "")
        result = t.extern(symbol, operands)
    if name not in _EXACT:
        result = e.round_half(result, op.results[0].type)
    return result


# pow(x, c) for these constant exponents is computed as CUDA eager does
# (ATen's pow_tensor_scalar_optimized_kernel): sqrt, rsqrt, reciprocal and
# products. It differs from pow at special values (rsqrt(-0) = -inf where
# pow(-0, -0.5) = +inf; sqrt(-inf) = nan, sqrt(-0) = -0) and is faster.
_POW_SPECIAL = (0.5, -0.5, 2.0, 3.0, -1.0, -2.0)


def _pow_constant(e: KernelEmitter, x: Value, c: float, result_type) -> Value:
    t = e.t
    elem = x.type.elem

    def rounded(v: Value) -> Value:
        # Half precision rounds after each op, as c10::Half arithmetic does.
        return e.round_half(v, result_type)

    def square(v: Value) -> Value:
        return rounded(t.binary("arith.mulf", v, v))

    def reciprocal(v: Value) -> Value:
        return rounded(_divide(e, t.const(1.0, elem), v))

    if c == 0.5:
        if elem == "f32":
            return rounded(t.unary("tt.precise_sqrt", x))
        return t.unary("math.sqrt", x)
    if c == -0.5:
        return rounded(t.extern("__nv_rsqrtf" if elem == "f32" else "__nv_rsqrt", [x]))
    if c == 2.0:
        return square(x)
    if c == 3.0:
        return rounded(t.binary("arith.mulf", square(x), x))
    if c == -1.0:
        return reciprocal(x)
    assert c == -2.0
    return reciprocal(square(x))


@rule("math.absi")
def _absi(e: KernelEmitter, op, operands):
    return e.t.unary("math.absi", operands[0])


@rule("math.isnan")
def _isnan(e: KernelEmitter, op, operands):
    return e.t.cmpf("uno", operands[0], operands[0])


@rule("math.isinf", "math.isfinite")
def _isinf(e: KernelEmitter, op, operands):
    a = operands[0]
    magnitude = e.t.unary("math.absf", a)
    inf = e.t.const(float("inf"), a.type.elem)
    return e.t.cmpf("oeq" if op.operation.name == "math.isinf" else "olt", magnitude, inf)

