"""coil-lower-loop-nests: a kernel's `coil.loop_nest` becomes scf.for loops over memrefs.

This is the CPU backend's codegen, what Inductor's `codegen/cpp.py` does with
strings. The loop structure for one point of `ranges`:

    prologue                      ops depending on neither reduction indices nor reduced values
    scf.for r (iter_args = accumulators of the reduces of level 0)
      ... ops depending on r ...
    ops using level-0 reduced values
    scf.for r (level 1: reduces whose operand needs a level-0 result, e.g. softmax's sum(exp(x - max)))
    ...
    epilogue                      ops using the last level's reduced values

The body's common subexpressions are merged first (`_cse_body`: fusion leaves
a load, and what is computed from it, once per consumer). An op that depends
on a reduction index is recomputed in every reduction loop that needs it
(softmax reads x[i, r] in each of its three loops), unless recomputing costs
more than a store and a load: then the first loop keeps its values in a stack
buffer of one row that later loops read (`ROW_CACHE`: softmax's exp(x - max)),
or in the row of the output that the last loop stores, where it qualifies
(`_find_output_rows`). Long reduction loops carry loop hints
(`REDUCTION_LOOP_HINT`): no full unrolling, four vector accumulators.
An f32 division by a value fixed for the whole reduction loop is a
multiplication by its reciprocal. Float sums and products carry `reassoc` so
their reductions vectorize.

The outer ranges are nested scf.for loops; the innermost walks the range the
stores are contiguous along (`loop_order`), so LLVM vectorizes it. A pointwise
nest that also reads a source contiguous along another range (a transpose)
tiles the two ranges; whole tiles read that source through registers, 16 x 16
at a time (vector loads, a shuffle transpose, vector stores into a stack tile),
so every access of the tile's loop is contiguous (`_emit_tile`).

Buffers marked `coil.noalias` by coil-kernel-args (passes/kernel_args.py) become
`llvm.noalias` pointers: an in-place update then vectorizes without runtime
overlap checks, and loads of a buffer no store can change are merged and read
ahead freely.

A reduction that reads memory contiguously along the innermost output index
but not along the reduction index (a sum over dim 0) is lowered in column form
instead (`_ColumnNestLowering`): the reduction loop runs outside a contiguous
loop over a tile of outputs whose accumulators live in a stack buffer.

Reduction semantics follow PyTorch: max/min propagate NaN, argmax/argmin give
the first position of the extreme value (a NaN counting as the extreme), and
welford is computed in two passes (sum, then the sum of squared deviations
from the mean), which is more accurate than a one-pass update and vectorizes.

`i1` buffers hold one byte per bool, as torch.bool does: the pass retypes them
to `i8` and loads compare with zero, stores zero-extend.

With `outer-slice=true`, every kernel gets two trailing `index` arguments
`[begin, end)` that bound its parallel dimension (`parallel_dim(ranges)`), so
the CPU runtime can split one launch across threads.
"""

from __future__ import annotations

import math as _pymath
from collections.abc import Sequence
from contextlib import ExitStack

from coil.dialects.ops import DYNAMIC, int_list, is_dynamic, mixed_ranges
from coil.dialects.types import byte_width, is_float
from coil.mlir import arith, ir, memref, scf
from coil.passes.kernel_args import NOALIAS_ATTR, noalias_arguments, noalias_positions
from coil.passes.registry import PassFailure, register_pass
from coil.passes.walk import depends_on, operands_among, ops_named
from coil.passes.welford import expand_welford as _expand_welford

SLICE_DIM_ATTR = "coil.slice_dim"

# Ops a pass may move out of all loops when they use no index: no memory
# effects, no regions.
_HOISTABLE_DIALECTS = ("arith.", "math.", "affine.apply")


def kernel_functions(module: ir.Operation) -> list[ir.OpView]:
    """The `func.func` ops of `module` marked `coil.kernel`, in order."""
    body = module.regions[0].blocks[0]
    return [op for op in body.operations if op.operation.name == "func.func" and "coil.kernel" in op.attributes]


def parallel_dim(ranges: Sequence[int]) -> int | None:
    """The outer dimension a launch is split along: the first with more than one point.

    A symbolic (DYNAMIC) extent counts as more than one point: the split is
    fixed at compile time, and the runtime sizes the slices at each call.
    None for a kernel with no such dimension (a 0-d output, or all extents <= 1).
    """
    for d, extent in enumerate(ranges):
        if is_dynamic(extent) or extent > 1:
            return d
    return None


# ---------------------------------------------------------------------------
# Reductions: initial value, combine, and final value of each reduction type


def _const(t: ir.Type, value) -> ir.Value:
    if is_float(t):
        return arith.constant(t, float(value))
    return arith.constant(t, int(value))


def _int_width(t: ir.Type) -> int:
    return ir.IntegerType(t).width


def _extreme(t: ir.Type, largest: bool):
    """+inf/-inf for floats, the signed extreme for integers (i1: true/false)."""
    if is_float(t):
        return _pymath.inf if largest else -_pymath.inf
    w = _int_width(t)
    if w == 1:
        return 1 if largest else 0
    return (1 << (w - 1)) - 1 if largest else -(1 << (w - 1))


def _reassoc(t: ir.Type | None = None) -> ir.Attribute | None:
    """Reassociation lets LLVM vectorize float accumulations. Not for half
    precision: an accumulator rounded to f16/bf16 at every step must combine in
    order to match eager (the frontend accumulates in f32 where eager does)."""
    if t is not None and (isinstance(t, (ir.F16Type, ir.BF16Type))):
        return None
    return ir.Attribute.parse("#arith.fastmath<reassoc>")


def _check_reducible(reduce: ir.OpView, rtype: str, t: ir.Type) -> None:
    floaty = is_float(t)
    if rtype in ("sum", "prod") and not floaty and not isinstance(t, ir.IntegerType):
        raise PassFailure(f"cannot {rtype}-reduce values of type {t}", reduce.location)
    if rtype in ("sum", "prod") and isinstance(t, ir.IntegerType) and _int_width(t) == 1:
        raise PassFailure(f"'{rtype}' of i1 is not supported: the frontend must widen bools first", reduce.location)
    if rtype in ("any",) and t != ir.IntegerType.get_signless(1):
        raise PassFailure(f"'any' reduces i1 values, found {t}", reduce.location)
    if rtype == "xor_sum" and not isinstance(t, ir.IntegerType):
        raise PassFailure(f"'xor_sum' reduces integers, found {t}", reduce.location)
    if rtype == "welford" and not floaty:
        raise PassFailure(f"'welford' reduces floats, found {t}", reduce.location)
    if rtype in ("max", "min", "argmax", "argmin") and not (floaty or isinstance(t, ir.IntegerType)):
        raise PassFailure(f"cannot {rtype}-reduce values of type {t}", reduce.location)


def _init(rtype: str, t: ir.Type) -> list[tuple[ir.Type, object]]:
    """The accumulators' initial values, as (type, constant) pairs."""
    if rtype in ("sum", "xor_sum", "any"):
        return [(t, 0)]
    if rtype == "prod":
        return [(t, 1)]
    if rtype == "max":
        return [(t, _extreme(t, largest=False))]
    if rtype == "min":
        return [(t, _extreme(t, largest=True))]
    if rtype in ("argmax", "argmin"):
        i64 = ir.IntegerType.get_signless(64)
        return [(t, _extreme(t, largest=rtype == "argmin")), (i64, 0)]
    raise AssertionError(rtype)


def _is_bool(t: ir.Type) -> bool:
    return isinstance(t, ir.IntegerType) and _int_width(t) == 1


def _combine(rtype: str, accs: list[ir.Value], value: ir.Value, position: ir.Value | None) -> list[ir.Value]:
    """The accumulators after folding in `value` (at flat reduction `position`)."""
    t = value.type
    floaty = is_float(t)
    (acc, *rest) = accs
    if rtype == "sum":
        return [arith.addf(acc, value, fastmath=_reassoc(t)) if floaty else arith.addi(acc, value)]
    if rtype == "prod":
        return [arith.mulf(acc, value, fastmath=_reassoc(t)) if floaty else arith.muli(acc, value)]
    if rtype == "max":
        if floaty:
            return [arith.maximumf(acc, value)]
        return [arith.ori(acc, value) if _is_bool(t) else arith.maxsi(acc, value)]
    if rtype == "min":
        if floaty:
            return [arith.minimumf(acc, value)]
        return [arith.andi(acc, value) if _is_bool(t) else arith.minsi(acc, value)]
    if rtype == "any":
        return [arith.ori(acc, value)]
    if rtype == "xor_sum":
        return [arith.xori(acc, value)]
    if rtype in ("argmax", "argmin"):
        (index,) = rest
        larger = rtype == "argmax"
        if floaty:
            better = arith.cmpf(arith.CmpFPredicate.OGT if larger else arith.CmpFPredicate.OLT, value, acc)
            # The first NaN wins: it replaces any non-NaN accumulator and is never replaced.
            value_nan = arith.cmpf(arith.CmpFPredicate.UNO, value, value)
            acc_ordered = arith.cmpf(arith.CmpFPredicate.ORD, acc, acc)
            take = arith.ori(better, arith.andi(value_nan, acc_ordered))
        else:
            if _is_bool(t):
                pred = arith.CmpIPredicate.ugt if larger else arith.CmpIPredicate.ult
            else:
                pred = arith.CmpIPredicate.sgt if larger else arith.CmpIPredicate.slt
            take = arith.cmpi(pred, value, acc)
        return [arith.select(take, value, acc), arith.select(take, position, index)]
    raise AssertionError(rtype)


# Hints for the innermost loop of a row reduction: keep it a loop (LLVM would
# otherwise unroll a 1024-point loop completely, merge the loads of the row's
# later passes into the first, and spill the row's 64 vectors to the stack),
# with four vectors summed into four accumulators per iteration, so that the
# add latency does not bound a sum. LayerNorm(1024) on [2048, 1024] f32, one
# thread: 0.44 -> 0.34 ms for the kernel.
REDUCTION_LOOP_HINT = "#llvm.loop_annotation<unroll = <disable = true>, interleave = <count = 4>>"
# Shorter static loops are left to LLVM's defaults (a few vectors, unrolled).
REDUCTION_LOOP_HINT_MIN_EXTENT = 256

# Rows a reduction of several loops reads of PREFETCH_MIN_ROW_BYTES to
# PREFETCH_MAX_ROW_BYTES are prefetched a point ahead, after its first loop
# (_NestLowering._emit_next_row_prefetch).
# Shorter rows share pages, which the hardware prefetcher follows; longer ones
# span many pages the prefetcher ramps up in, and the next row would push the
# current one out of L1 (softmax over [128, 32000] f32: 2.9 -> 3.1 ms with).
PREFETCH_MIN_ROW_BYTES = 1024
PREFETCH_MAX_ROW_BYTES = 16384
PREFETCH_LINE_BYTES = 64
# Longer rows, up to LONG_ROW_MAX_BYTES (the row, the next one and an output
# row fit a 1 MiB L2), are prefetched during the second reduction loop
# instead, LONG_ROW_CHUNK elements at a time (_emit_reduction_loop): that loop
# reads the row from cache and computes (softmax's exp), so the next row's
# lines arrive while it runs and the next point's first loop, which waited
# on memory, reads cache.
LONG_ROW_MAX_BYTES = 1 << 18
LONG_ROW_CHUNK = 512


# The tile loop over the transposed source's range (`_emit_tile`): its body, the
# inner loop along the stores' contiguous range, is short (TILE_2D_INNER
# points), so LLVM unrolls it completely and, with AVX-512's cheap masked
# gathers in its cost model, then vectorizes this outer loop across rows:
# gathers and scatters 8 KiB apart instead of one contiguous vector a row
# (x + y.t() with a row-major output, 2048 x 2048 f32, one thread on a Zen 4
# VM: 27.5 ms against 3.4 for the column-major x.t() + y, whose strided
# output layout LLVM did not vectorize that way). Kept scalar, its unrolled
# body is vectorized row by row (SLP).
TILE_OUTER_LOOP_HINT = "#llvm.loop_annotation<vectorize = <disable = true>>"


def _hint_reduction_loop(loop: scf.ForOp, extent) -> None:
    if isinstance(extent, int) and extent < REDUCTION_LOOP_HINT_MIN_EXTENT:
        return
    loop.operation.attributes["llvm.loop_annotation"] = ir.Attribute.parse(REDUCTION_LOOP_HINT)


def _finalize(rtype: str, accs: list[ir.Value]) -> list[ir.Value]:
    if rtype in ("argmax", "argmin"):
        return [accs[1]]
    return accs


def _accumulator_count(rtype: str) -> int:
    return 2 if rtype in ("argmax", "argmin") else 1


# ---------------------------------------------------------------------------
# Body analysis


def _has_effects(op: ir.OpView) -> bool:
    """Whether `op` writes memory (a store, or a region holding one)."""
    return bool(ops_named(op.operation, "coil.store"))


def _is_hoistable(op: ir.OpView) -> bool:
    name = op.operation.name
    if name == "coil.load":
        return _reads_one_element(op)
    return len(op.operation.regions) == 0 and name.startswith(_HOISTABLE_DIALECTS)


def _reads_one_element(load: ir.OpView) -> bool:
    """A load of a one-element buffer (an optimizer's step, a 0-d scale) can be
    read once before the loops: a kernel writes such a buffer at most once, at
    its single point, after any read there (a value read back after its store
    is forwarded by fusion, not loaded). LLVM cannot hoist it itself, because
    the buffer may alias the pointers the loop stores through, and then
    everything computed from it (`beta ** step`: a powf per element) stays in
    the loop too."""
    t = load.operands[0].type
    return isinstance(t, ir.MemRefType) and t.has_static_shape and all(d == 1 for d in t.shape)


# math ops about as cheap as an arithmetic instruction (no expansion into a polynomial).
_CHEAP_MATH = ("math.absf", "math.copysign", "math.fma", "math.sqrt", "math.rsqrt", "math.floor", "math.ceil",
               "math.roundeven", "math.round", "math.trunc", "math.absi")


def _transpose(rows: list[ir.Value]) -> list[ir.Value]:
    """The columns of the square matrix whose rows are `rows` (n vectors of n lanes,
    n a power of two), by log2(n) rounds of two-input shuffles: the round of
    distance d swaps, between rows r and r + d, the lanes whose bit d differs
    from the row's, so that after every round element (r, e) sits at (e, r).

    The rounds commute (each exchanges one bit of the row index with the same
    bit of the lane index); they run from d = 1 up. Starting at d = n / 2, LLVM
    split each 16 x f32 row load of the second half into a 256-bit and a
    512-bit load folded into the two half-swapping shuffles (vinsertf64x4,
    vshuff64x2 with memory operands): eight rows were read twice, and the
    source rows, 8 KB apart, all fall in one L1 set. Whole-row shuffles first
    keep one load a row: 2048 x 2048 x.t() + y f32 on one Zen 5 thread, 3.2 ->
    2.35 ms (Inductor 1.7); the suite's transpose_add ind/coil 0.72 -> 0.93
    (1 thread), 0.83 -> 0.92 (2 threads)."""
    from coil.mlir import vector

    n = len(rows)
    d = 1
    while d < n:
        new = list(rows)
        for r in range(n):
            if r & d:
                continue
            a, b = rows[r], rows[r + d]
            new[r] = vector.shuffle(a, b, [e if not e & d else n + e - d for e in range(n)])
            new[r + d] = vector.shuffle(a, b, [e + d if not e & d else n + e for e in range(n)])
        rows = new
        d *= 2
    return rows


def _stable_buffers(nest: ir.OpView) -> set:
    """Kernel arguments no store of the kernel can change: not stored into, and
    `coil.noalias` (so no stored argument overlaps them)."""
    fn = _enclosing_function(nest)
    if fn is None:
        return set()
    stored = {st.operands[1] for st in ops_named(fn, "coil.store")}
    return noalias_arguments(fn) - stored


def _enclosing_function(op: ir.OpView):
    """The `func.func` that holds `op`, or None."""
    fn = op.operation.parent
    while fn is not None and fn.name != "func.func":
        fn = fn.parent
    return fn


def _cse_body(body: ir.Block, stable: set) -> None:
    """Common subexpressions of a loop-nest body: identical arith/math ops, and loads
    of the same element with no store in between (or of a buffer no store changes).

    Fusion leaves a load and what is computed from it once per consumer (softmax
    reads x[i, r] three times and computes exp(x - max) twice); one value of
    them lets a later loop reuse the earlier loop's result (see ROW_CACHE).
    """
    seen: dict = {}
    epoch = 0
    for op in list(body.operations)[:-1]:
        name = op.operation.name
        if op.operation.regions or name in ("coil.store", "coil.reduce"):
            if _has_effects(op):
                epoch += 1
            continue
        if name == "coil.load":
            source = op.operands[0]
            key = (name, tuple(op.operands), 0 if source in stable else epoch)
        elif name.startswith(("arith.", "math.")) or name == "affine.apply":
            attrs = tuple(sorted((n, str(op.attributes[n])) for n in op.attributes))
            key = (name, tuple(op.operands), attrs, tuple(str(r.type) for r in op.results))
        else:
            continue
        if key in seen:
            for old, new in zip(op.results, seen[key].results):
                old.replace_all_uses_with(new)
            op.erase()
        else:
            seen[key] = op


class _NestLowering:
    """Lowers one `coil.loop_nest` in place (the loops replace the op)."""

    def __init__(self, nest: ir.OpView, slice_bounds: tuple[ir.Value, ir.Value] | None):
        self.nest = nest
        # Mixed extents: an int, or the `index` value of a symbolic extent.
        self.ranges = mixed_ranges(nest, "ranges")
        self.reduction_ranges = mixed_ranges(nest, "reduction_ranges")
        self.slice_bounds = slice_bounds
        self.body = nest.regions[0].blocks[0]
        for inner in ops_named(nest.operation, "coil.reduce"):
            if inner.operation.parent != nest.operation:
                raise PassFailure("'coil.reduce' must be directly in the loop nest's body", inner.location)
        if all(isinstance(e, int) for e in self.reduction_ranges):
            _expand_welford(self.body, self.reduction_ranges)
        else:
            _expand_welford_dynamic(self.body, self.reduction_ranges)
        _cse_body(self.body, _stable_buffers(nest))
        self.ops = list(self.body.operations)[:-1]
        args = list(self.body.arguments)
        self.outer_args = args[: len(self.ranges)]
        self.reduction_args = args[len(self.ranges) :]
        # (outer range, induction variable, upper bound) of each loop over points, outermost first.
        self.point_loops: list = []
        self._analyze()

    # -- analysis ---------------------------------------------------------

    def _analyze(self) -> None:
        # Per body value: does it depend on a reduction index, on any index,
        # and after which reduction level is it available (0 = before any).
        self.rdep: dict = {a: False for a in self.outer_args}
        self.rdep.update({a: True for a in self.reduction_args})
        self.indexed: dict = {a: True for a in self.outer_args + self.reduction_args}
        self.level: dict = {a: 0 for a in self.outer_args + self.reduction_args}
        self.op_rdep, self.op_level, self.op_indexed, self.op_deps = {}, {}, {}, {}
        self.reduce_loop: dict = {}
        users: dict = {}
        for op in self.ops:
            deps = operands_among(op, self.rdep)
            rdep = any(self.rdep[v] for v in deps)
            level = max((self.level[v] for v in deps), default=0)
            indexed = any(self.indexed[v] for v in deps)
            self.op_rdep[op] = rdep
            self.op_level[op] = level
            self.op_indexed[op] = indexed
            self.op_deps[op] = deps
            for v in deps:
                users.setdefault(v, []).append(op)
            if op.operation.name == "coil.reduce":
                self.reduce_loop[op] = level
                for r in op.results:
                    self.rdep[r], self.level[r], self.indexed[r] = False, level + 1, True
            else:
                for r in op.results:
                    self.rdep[r], self.level[r], self.indexed[r] = rdep, level, indexed

        # Which reduction loops each reduction-dependent op must be emitted in.
        self.loops_of: dict = {}
        self.row_cached: dict = {}  # op -> the later loops that load its value from a row buffer
        self.row_extent = self._row_extent()
        for op in reversed(self.ops):
            if op in self.reduce_loop:
                self.loops_of[op] = {self.reduce_loop[op]}
            elif self.op_rdep[op]:
                if _has_effects(op):
                    self.loops_of[op] = {self.op_level[op]}
                else:
                    needed = set()
                    for r in op.results:
                        for user in users.get(r, ()):
                            needed |= self.loops_of.get(user, set())
                    if len(needed) > 1 and self._row_cacheable(op):
                        # Computed once, in the first loop that needs it; later loops load it.
                        first = min(needed)
                        self.row_cached[op] = sorted(needed - {first})
                        needed = {first}
                    self.loops_of[op] = needed
        self.n_levels = max((k + 1 for s in self.loops_of.values() for k in s), default=0)
        self.output_rows = self._find_output_rows() if self.OUTPUT_ROWS else {}

    # Row buffers: a value a reduction loop computes and a later loop needs again
    # (softmax's exp(x - max), summed in one loop and divided in the next) is
    # stored into a stack buffer of one row and loaded back, instead of being
    # recomputed, when it costs more than that store and load.
    ROW_CACHE = True
    ROW_CACHE_LIMIT = 1 << 16  # elements of a row buffer (256 KiB of f32, in L2)
    ROW_CACHE_MIN_COST = 8
    OUTPUT_ROWS = True  # keep a row in the output it ends up in, where one qualifies (_find_output_rows)

    def _row_extent(self) -> int | None:
        """Points of the reduction range, if row buffers may be used for it."""
        if not self.ROW_CACHE or not self.reduction_ranges:
            return None
        if not all(isinstance(e, int) for e in self.reduction_ranges):
            return None
        n = _pymath.prod(self.reduction_ranges)
        return n if 1 < n <= self.ROW_CACHE_LIMIT else None

    def _row_cacheable(self, op: ir.OpView) -> bool:
        if self.row_extent is None or len(op.results) != 1 or op.operation.regions:
            return False
        t = op.results[0].type
        if not (is_float(t) or isinstance(t, ir.IntegerType)) or _is_bool(t):
            return False
        return self._recompute_cost(op, set()) >= self.ROW_CACHE_MIN_COST

    def _recompute_cost(self, op: ir.OpView, seen: set) -> int:
        """A rough count of the vector instructions recomputing `op` takes."""
        if op in seen:
            return 0
        seen.add(op)
        name = op.operation.name
        if name.startswith("math."):
            cost = 2 if name in _CHEAP_MATH else 20
        elif name in ("arith.divf", "arith.remf", "arith.divsi", "arith.divui", "arith.remsi", "arith.remui"):
            cost = 6
        else:
            cost = 1
        for v in self.op_deps[op]:
            if self.rdep.get(v) and not isinstance(v, ir.BlockArgument):
                owner = self._owner_of(v)
                if owner is not None and owner not in self.reduce_loop:
                    cost += self._recompute_cost(owner, seen)
        return cost

    def _owner_of(self, v: ir.Value):
        if not hasattr(self, "_owners"):
            self._owners = {r: op for op in self.ops for r in op.results}
        return self._owners.get(v)

    # -- emission ---------------------------------------------------------

    def _clone(self, op: ir.OpView, mapping: dict) -> None:
        new = op.operation.clone(ip=ir.InsertionPoint.current)

        def remap(inner):
            for i, v in enumerate(inner.operands):
                if v in mapping:
                    inner.operands[i] = mapping[v]
            return ir.WalkResult.ADVANCE

        new.walk(remap)
        for old, value in zip(op.results, new.results):
            mapping[old] = value

    def _entry_const(self, t: ir.Type, value) -> ir.Value:
        """A constant defined before all loops, created once per (type, value)."""
        key = (str(t), value)
        if key not in self.constants:
            with ir.InsertionPoint(self.anchor), self.nest.location:
                self.constants[key] = _const(t, value)
        return self.constants[key]

    def _extent(self, extent) -> ir.Value:
        """An extent as an `index` value: the symbolic size itself, or a constant."""
        if isinstance(extent, ir.Value):
            return extent
        return self._entry_const(ir.IndexType.get(), extent)

    def _entry_mul(self, a, b):
        """a * b for mixed sizes, folded when both are ints, else computed before all loops."""
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        if isinstance(a, int) and a == 1:
            return b
        if isinstance(b, int) and b == 1:
            return a
        lhs, rhs = self._extent(a), self._extent(b)
        with ir.InsertionPoint(self.anchor), self.nest.location:
            return arith.muli(lhs, rhs)

    def _emit_stage(self, level: int, mapping: dict) -> None:
        for op in self.ops:
            if op in self.hoisted or op in self.reduce_loop or self.op_rdep[op]:
                continue
            if op.results and all(r in mapping for r in op.results):
                continue  # provided already (a load staged through a tile buffer)
            if self.op_level[op] == level:
                self._clone(op, mapping)

    def _position(self, ivs: list[ir.Value]) -> ir.Value:
        """Row-major position of the reduction indices in the flattened reduction range, as i64."""
        position = None
        stride = 1
        for iv, extent in reversed(list(zip(ivs, self.reduction_ranges))):
            term = iv if isinstance(stride, int) and stride == 1 else arith.muli(iv, self._extent(stride))
            position = term if position is None else arith.addi(position, term)
            stride = self._entry_mul(stride, extent)
        return arith.index_cast(ir.IntegerType.get_signless(64), position)

    def _row_position(self, ivs: list[ir.Value]) -> ir.Value:
        """Row-major position of the reduction indices in the (static) reduction range, as an index."""
        position, stride = None, 1
        for iv, extent in reversed(list(zip(ivs, self.reduction_ranges))):
            term = iv if stride == 1 else arith.muli(iv, self._entry_const(ir.IndexType.get(), stride))
            position = term if position is None else arith.addi(position, term)
            stride *= extent
        return position

    def _row_slot(self, op: ir.OpView, local: dict, row: ir.Value) -> tuple[ir.Value, list[ir.Value]]:
        """Where the current reduction point's value of row-cached `op` is kept:
        the element of the output that the last loop stores there (see
        _find_output_rows), or the stack row buffer at `row`."""
        store = self.output_rows.get(op)
        if store is None:
            return self._row_buffer(op), [row]
        return store.operands[1], [local.get(v, v) for v in list(store.operands)[2:]]

    def _find_output_rows(self) -> dict:
        """Row-cached values that the output a later loop stores can hold instead of a stack buffer.

        Softmax stores exp(x - max) in its sum loop and scales it in the last
        loop: kept in the output row itself, the last loop reads and rewrites
        lines already in cache, where with a stack buffer it reads that buffer
        and writes the output's lines, which it must first fetch: two rows of
        cache instead of one, and a row of memory traffic more. The output
        qualifies when the kernel never reads it, it overlaps no other argument
        (`coil.noalias`), one store writes it, in a loop no earlier than any
        that reads the value back, with the value's type, at indices that are
        the loop nest's own indices, every reduction index among them, along
        dimensions of nonzero static stride (so each reduction point has its
        own element).
        """
        found: dict = {}
        if not self.row_cached:
            return found
        fn = _enclosing_function(self.nest)
        if fn is None:
            return found
        noalias = noalias_arguments(fn)
        loaded = {load.operands[0] for load in ops_named(fn, "coil.load")}
        stores = ops_named(fn, "coil.store")
        index_args = set(self.outer_args) | set(self.reduction_args)
        taken = set()
        for op, later in self.row_cached.items():
            t = op.results[0].type
            for store in stores:
                value, buffer, *indices = store.operands
                if buffer not in noalias or buffer in loaded or buffer in taken or value.type != t:
                    continue
                if sum(1 for other in stores if other.operands[1] == buffer) != 1 or store not in self.loops_of:
                    continue
                (store_level,) = self.loops_of[store]
                if store_level < max(later) or len(set(indices)) != len(indices):
                    continue
                if not all(v in index_args for v in indices) or not all(r in indices for r in self.reduction_args):
                    continue
                strides, _ = ir.MemRefType(buffer.type).get_strides_and_offset()
                if any(is_dynamic(st) or st == 0 for v, st in zip(indices, strides) if v in self.reduction_args):
                    continue  # distinct reduction points must land on distinct elements
                found[op] = store
                taken.add(buffer)
                break
        return found

    def _row_buffer(self, op: ir.OpView) -> ir.Value:
        """The stack buffer of one row of `op`'s values, allocated once at the kernel's entry."""
        if not hasattr(self, "_row_buffers"):
            self._row_buffers = {}
        if op not in self._row_buffers:
            t = op.results[0].type
            with ir.InsertionPoint(self.anchor), self.nest.location:
                self._row_buffers[op] = memref.alloca(ir.MemRefType.get([self.row_extent], t), [], [])
        return self._row_buffers[op]

    def _emit_division_by_invariant(self, op: ir.OpView, local: dict) -> bool:
        """x / s with s the same for the whole reduction loop (a row's sum): x * (1 / s),
        the reciprocal computed once per row (LLVM moves it out of the loop), as
        eager's softmax does. A vector division costs ten multiplications. f32 only."""
        if op.operation.name != "arith.divf" or op.results[0].type != ir.F32Type.get():
            return False
        x, divisor = op.operands
        if self.rdep.get(divisor, False):
            return False
        with op.location:
            one = self._entry_const(ir.F32Type.get(), 1.0)
            reciprocal = arith.divf(one, local.get(divisor, divisor))
            local[op.results[0]] = arith.mulf(local.get(x, x), reciprocal)
        return True

    def _emit_reduction_loop(self, level: int, mapping: dict) -> None:
        reduces = [op for op in self.ops if self.reduce_loop.get(op) == level]
        inits: list[ir.Value] = []
        for op in reduces:
            rtype = op.attributes["reduction_type"].value
            _check_reducible(op, rtype, op.operands[0].type)
            inits += [self._entry_const(t, v) for t, v in _init(rtype, op.operands[0].type)]
        index = ir.IndexType.get()
        zero, one = self._entry_const(index, 0), self._entry_const(index, 1)
        loops = []
        carried = inits
        stack = ExitStack()
        d, long_rows = self._next_row_loads(PREFETCH_MAX_ROW_BYTES + 1, LONG_ROW_MAX_BYTES) if level == 1 else (-1, [])
        if long_rows and len(self.reduction_ranges) == 1:
            loops, carried = self._open_prefetching_chunks(carried, stack, d, long_rows, mapping)
            ivs = [loops[-1].induction_variable]
        else:
            for extent in self.reduction_ranges:
                loop = scf.ForOp(zero, self._extent(extent), one, carried)
                loops.append(loop)
                carried = list(loop.inner_iter_args)
                stack.enter_context(ir.InsertionPoint(loop.body))
            ivs = [loop.induction_variable for loop in loops]
        local = dict(mapping)
        local.update(zip(self.reduction_args, ivs))
        position = None
        row = None
        if any(level in later for later in self.row_cached.values()) or any(
            level in self.loops_of[op] for op in self.row_cached
        ):
            row = self._row_position(ivs)
        for op, later in self.row_cached.items():
            if level in later:
                buffer, indices = self._row_slot(op, local, row)
                local[op.results[0]] = memref.load(buffer, indices)
        new_accs: list[ir.Value] = []
        acc_iter = iter(carried)
        for op in self.ops:
            if op in self.reduce_loop:
                if self.reduce_loop[op] != level:
                    continue
                rtype = op.attributes["reduction_type"].value
                accs = [next(acc_iter) for _ in range(_accumulator_count(rtype))]
                if rtype in ("argmax", "argmin") and position is None:
                    position = self._position(ivs)
                operand = op.operands[0]
                with op.location:
                    new_accs += _combine(rtype, accs, local.get(operand, operand), position)
            elif level in self.loops_of.get(op, ()):
                if not self._emit_division_by_invariant(op, local):
                    self._clone(op, local)
                if op in self.row_cached:
                    buffer, indices = self._row_slot(op, local, row)
                    memref.store(local[op.results[0]], buffer, indices)
        _hint_reduction_loop(loops[-1], self.reduction_ranges[-1])
        # Close the loops from the innermost out; each yields its accumulators.
        results = new_accs
        for loop in reversed(loops):
            with ir.InsertionPoint(loop.body):
                scf.YieldOp(results)
            results = list(loop.results)
        stack.close()
        finals = iter(results)
        for op in reduces:
            rtype = op.attributes["reduction_type"].value
            accs = [next(finals) for _ in range(_accumulator_count(rtype))]
            for old, value in zip(op.results, _finalize(rtype, accs)):
                mapping[old] = value

    def _open_prefetching_chunks(self, carried: list, stack: ExitStack, d: int, loads: list, mapping: dict):
        """The reduction loop as chunks of LONG_ROW_CHUNK points, each starting with the
        prefetch of its cache lines of the next point's rows (see LONG_ROW_MAX_BYTES).
        Enters both loops on `stack`; returns ([chunk loop, point loop], the point
        loop's accumulators)."""
        index = ir.IndexType.get()
        extent = self._extent(self.reduction_ranges[0])
        chunk = self._entry_const(index, LONG_ROW_CHUNK)
        with self.nest.location:
            following = self._following_point(d)
        outer = scf.ForOp(self._entry_const(index, 0), extent, chunk, carried)
        stack.enter_context(ir.InsertionPoint(outer.body))
        start = outer.induction_variable
        with self.nest.location:
            end = arith.minsi(arith.addi(start, chunk), extent)
            for load, line in loads:
                lines = scf.ForOp(start, end, self._entry_const(index, line))
                with ir.InsertionPoint(lines.body):
                    self._prefetch_next_row(load, mapping, d, following, [lines.induction_variable])
                    scf.YieldOp([])
        inner = scf.ForOp(start, end, self._entry_const(index, 1), list(outer.inner_iter_args))
        stack.enter_context(ir.InsertionPoint(inner.body))
        return [outer, inner], list(inner.inner_iter_args)

    def _emit_point(self, mapping: dict) -> None:
        """Everything for one point of `ranges`, at the current insertion point."""
        self._emit_stage(0, mapping)
        for level in range(self.n_levels):
            self._emit_reduction_loop(level, mapping)
            if level == 0 and self.n_levels > 1:
                self._emit_next_row_prefetch(mapping)
            self._emit_stage(level + 1, mapping)

    def _next_row_loads(self, min_bytes: int = PREFETCH_MIN_ROW_BYTES, max_bytes: int = PREFETCH_MAX_ROW_BYTES) -> tuple[int, list]:
        """(outer range of the next point, [(load, elements a cache line holds)] for the
        first reduction loop's loads of rows of `min_bytes` to `max_bytes` that start
        a new stream at that point), for _emit_next_row_prefetch and _emit_reduction_loop."""
        if not self.point_loops or not self.reduction_ranges:
            return -1, []
        if not all(isinstance(e, int) for e in self.reduction_ranges):
            return -1, []
        moving = [(d, iv, upper) for d, iv, upper in self.point_loops if self.ranges[d] != 1]
        if not moving:
            return -1, []
        d = moving[-1][0]
        last_arg = self.reduction_args[-1]
        found = []
        for op in self.ops:
            if op.operation.name != "coil.load" or 0 not in self.loops_of.get(op, ()):
                continue
            if not self._contiguous_along(op, last_arg):  # (a memref source, unit stride)
                continue
            element_bytes = byte_width(ir.MemRefType(op.operands[0].type).element_type)
            row_bytes = _pymath.prod(self.reduction_ranges) * element_bytes
            cone = self._cone(op)
            uses_point = any(self.outer_args[d] in self.op_deps[o] for o in cone + [op])
            # Addresses computed from the indices alone (no gathers: no load feeds them).
            index_math = all(
                o.operation.name.startswith(_HOISTABLE_DIALECTS)
                and all(isinstance(r.type, ir.IndexType) for r in o.results)
                for o in cone
            )
            if min_bytes <= row_bytes <= max_bytes and uses_point and index_math:
                found.append((op, max(1, PREFETCH_LINE_BYTES // element_bytes)))
        return d, found

    def _emit_next_row_prefetch(self, mapping: dict) -> None:
        """Prefetches the rows the next point's first reduction loop reads, a cache
        line at a time, while this point's later loops run on data already in L1.

        A row of 4 KiB is a page, and hardware prefetchers stop at page
        boundaries: without this, every row's first pass waits on memory.
        LayerNorm(1024) on [2048, 1024] f32, one thread (2-core AMD EPYC, AVX2):
        kernel 0.60 -> 0.56 ms (min of 15 rounds; eager 0.96); on a Zen 4 EPYC
        (AVX-512), var over 1024-wide rows 0.18 -> 0.16 ms.

        Only for nests with later loops to hide it behind: a single pass (a row
        sum) would fetch the next row while it waits on this one, and the
        prefetches take load slots and miss buffers from its own loads. On the
        Zen 4 a sum over [2048, 1024] f32 rows ran 0.139 ms with them against
        0.127 without (the kernel alone: 105 against 86 us), and a C loop of the
        same shape 53 against 42 ns a row; its hardware prefetcher follows the
        stream across pages."""
        d, loads = self._next_row_loads()
        if not loads:
            return
        index = ir.IndexType.get()
        with self.nest.location:
            following = self._following_point(d)
            for load, line in loads:
                loops, stack = [], ExitStack()
                with stack:
                    for k, extent in enumerate(self.reduction_ranges):
                        step = line if k == len(self.reduction_ranges) - 1 else 1
                        loop = scf.ForOp(self._entry_const(index, 0), self._extent(extent), self._entry_const(index, step))
                        loops.append(loop)
                        stack.enter_context(ir.InsertionPoint(loop.body))
                    ivs = [loop.induction_variable for loop in loops]
                    self._prefetch_next_row(load, mapping, d, following, ivs)
                for loop in reversed(loops):
                    with ir.InsertionPoint(loop.body):
                        scf.YieldOp([])

    def _following_point(self, d: int) -> ir.Value:
        """The next point's index along outer range `d` (the last point's own at the end)."""
        _, iv, upper = next(p for p in self.point_loops if p[0] == d)
        one = self._entry_const(ir.IndexType.get(), 1)
        last = arith.subi(upper, one)
        return arith.minsi(arith.addi(iv, one), last)

    def _prefetch_next_row(self, load: ir.OpView, mapping: dict, d: int, following: ir.Value, ivs: list) -> None:
        """A prefetch of what `load` reads at reduction indices `ivs` of the next point."""
        local = dict(mapping)
        local[self.outer_args[d]] = following
        local.update(zip(self.reduction_args, ivs))
        for op in self._cone(load):
            self._clone(op, local)
        source, *indices = load.operands
        memref.prefetch(source, [local.get(i, i) for i in indices], False, 3, True)

    def run(self) -> None:
        nest = self.nest
        # Pure ops on hoisted values (constants, mostly) move out of all loops.
        self.hoisted = set()
        hoisted_values = set()
        for op in self.ops:
            if _is_hoistable(op) and all(v in hoisted_values for v in self.op_deps[op]):
                self.hoisted.add(op)
                hoisted_values.update(op.results)
        mapping: dict = {}
        index = ir.IndexType.get()
        with ir.InsertionPoint(nest), nest.location:
            zero = arith.constant(index, 0)
            self.anchor = zero.owner
            self.constants = {(str(index), 0): zero}
            for op in self.ops:
                if op in self.hoisted:
                    self._clone(op, mapping)
            self._emit_loops(mapping)
        self._check_no_dangling(mapping)
        nest.operation.erase()

    def _range_bounds(self, d: int) -> tuple[ir.Value, ir.Value]:
        """Bounds of outer range d: the slice arguments on the parallel dimension."""
        index = ir.IndexType.get()
        split = parallel_dim(self._static_ranges()) if self.slice_bounds is not None else None
        if d == split:
            begin, end = self.slice_bounds
            if isinstance(self.ranges[d], ir.Value):
                # The runtime may pass an end past a symbolic extent it cannot compute.
                with ir.InsertionPoint(self.anchor), self.nest.location:
                    end = arith.minsi(end, self.ranges[d])
            return begin, end
        return self._entry_const(index, 0), self._extent(self.ranges[d])

    def _static_ranges(self) -> list[int]:
        return [e if isinstance(e, int) else DYNAMIC for e in self.ranges]

    def _emit_loops(self, mapping: dict) -> None:
        """One scf.for per outer range, then everything for one point inside.

        The innermost loop walks the dimension the stores are contiguous along
        (`loop_order`); where a load is contiguous along another dimension (a
        transpose), those two loops are tiled (see _emit_tile)."""
        index = ir.IndexType.get()
        one = self._entry_const(index, 1)
        inner, tiled = loop_order(self.nest)
        order = [d for d in range(len(self.ranges)) if d not in (inner, tiled)]
        loops = []
        with ExitStack() as stack:

            def open_loop(lower, upper, step):
                loop = scf.ForOp(lower, upper, step)
                loops.append(loop)
                stack.enter_context(ir.InsertionPoint(loop.body))
                return loop.induction_variable

            for d in order:
                mapping[self.outer_args[d]] = open_loop(*self._range_bounds(d), one)
                self.point_loops.append((d, mapping[self.outer_args[d]], loops[-1].upperBound))
            if tiled is None:
                if self.ranges:
                    mapping[self.outer_args[inner]] = open_loop(*self._range_bounds(inner), one)
                    self.point_loops.append((inner, mapping[self.outer_args[inner]], loops[-1].upperBound))
            else:
                sizes = {inner: TILE_2D_INNER, tiled: self._tile_extent(tiled)}
                self.tile_shape = (sizes[tiled], sizes[inner])
                starts, ends = {}, {}
                for d in (tiled, inner):
                    lower, upper = self._range_bounds(d)
                    starts[d] = open_loop(lower, upper, self._entry_const(index, sizes[d]))
                    ends[d] = upper
                for d in (tiled, inner):
                    ends[d] = arith.minsi(arith.addi(starts[d], self._entry_const(index, sizes[d])), ends[d])
                if not self._staged_loads(tiled, vector=True):
                    self._emit_tile(dict(mapping), inner, tiled, starts, ends, vector=False)
                else:
                    # Whole tiles (all but the last of a range) with constant trip counts and
                    # the source transposed in registers; the rest one element at a time.
                    whole = None
                    for d in (tiled, inner):
                        size = self._entry_const(index, sizes[d])
                        full = arith.cmpi(arith.CmpIPredicate.eq, arith.subi(ends[d], starts[d]), size)
                        whole = full if whole is None else arith.andi(whole, full)
                    branch = scf.IfOp(whole, [], has_else=True)
                    with ir.InsertionPoint(branch.then_block):
                        fixed = {d: arith.addi(starts[d], self._entry_const(index, sizes[d])) for d in (tiled, inner)}
                        self._emit_tile(dict(mapping), inner, tiled, starts, fixed, vector=True)
                        scf.YieldOp([])
                    with ir.InsertionPoint(branch.else_block):
                        self._emit_tile(dict(mapping), inner, tiled, starts, ends, vector=False)
                        scf.YieldOp([])
                stack.close()
                for loop in loops:
                    with ir.InsertionPoint(loop.body):
                        scf.YieldOp([])
                return
            self._emit_point(mapping)
        for loop in loops:
            with ir.InsertionPoint(loop.body):
                scf.YieldOp([])

    def _staged_loads(self, tiled: int, vector: bool) -> list:
        """The loads a tile reads ahead into a buffer: contiguous along the tiled
        range (the transposed source), of a buffer no store of the kernel changes
        (see _stable_buffers); with `vector`, those that can be read as vectors."""
        stable = _stable_buffers(self.nest)
        tiled_arg = self.outer_args[tiled]
        found = []
        for op in self.ops:
            if op.operation.name != "coil.load" or op in self.hoisted or op.operands[0] not in stable:
                continue
            if _is_bool(op.results[0].type) or not self._contiguous_along(op, tiled_arg):
                continue
            if vector and not self._vector_stageable(op, tiled_arg, self._cone(op)):
                continue
            found.append(op)
        return found

    def _emit_tile(self, mapping: dict, inner: int, tiled: int, starts: dict, ends: dict, vector: bool) -> None:
        """One tile: the transposed sources copied into stack buffers tile[t][i]
        (see _staged_loads), then the loops over the tile's points, reading
        those buffers contiguously along the stores' range, as Inductor's
        transpose_mxn does.

        With `vector` (a whole tile), a source is read TRANSPOSE_LANES square at
        a time: TRANSPOSE_LANES vector loads along its rows, a transpose in
        registers (`_transpose`) and as many vector stores. Otherwise its tile is copied
        one element at a time, along the source's rows: its rows are a power of
        two apart in a power-of-two matrix, so they fall into one set of the L1
        cache, and walking down a column in place costs an L2 access per element.
        """
        index = ir.IndexType.get()
        one = self._entry_const(index, 1)
        inner_arg, tiled_arg = self.outer_args[inner], self.outer_args[tiled]
        staged = []
        for op in self._staged_loads(tiled, vector=False):
            buffer = self._tile_buffer(op)
            cone = self._cone(op)
            if vector and self._vector_stageable(op, tiled_arg, cone):
                self._copy_transposed(op, cone, mapping, inner_arg, tiled_arg, starts[inner], starts[tiled], buffer)
            else:
                rows = scf.ForOp(starts[inner], ends[inner], one)
                with ir.InsertionPoint(rows.body):
                    cols = scf.ForOp(starts[tiled], ends[tiled], one)
                    with ir.InsertionPoint(cols.body):
                        context = dict(mapping)
                        context[inner_arg] = rows.induction_variable
                        context[tiled_arg] = cols.induction_variable
                        for dep in cone:
                            self._clone(dep, context)
                        self._clone(op, context)
                        i = arith.subi(rows.induction_variable, starts[inner])
                        j = arith.subi(cols.induction_variable, starts[tiled])
                        memref.store(context[op.results[0]], buffer, [j, i])
                        scf.YieldOp([])
                    scf.YieldOp([])
            staged.append((op, buffer))
        # The tile's loops run over its own coordinates (t, i), from 0: a whole
        # tile's to its constant extents, so that LLVM knows their trip counts
        # (start + 16 - start is not a constant to it: the index adds carry no
        # no-overflow flags).
        zero = self._entry_const(index, 0)
        if vector:
            rows, cols = (self._entry_const(index, n) for n in self.tile_shape)
        else:
            rows, cols = arith.subi(ends[tiled], starts[tiled]), arith.subi(ends[inner], starts[inner])
        outer = scf.ForOp(zero, rows, one)
        outer.operation.attributes["llvm.loop_annotation"] = ir.Attribute.parse(TILE_OUTER_LOOP_HINT)
        with ir.InsertionPoint(outer.body):
            point = scf.ForOp(zero, cols, one)
            with ir.InsertionPoint(point.body):
                t, i = outer.induction_variable, point.induction_variable
                mapping[tiled_arg] = arith.addi(starts[tiled], t)
                mapping[inner_arg] = arith.addi(starts[inner], i)
                for load, buffer in staged:
                    mapping[load.results[0]] = memref.load(buffer, [t, i])
                self._emit_point(mapping)
                scf.YieldOp([])
            scf.YieldOp([])

    def _tile_extent(self, tiled: int) -> int:
        """Points of the tiled range per tile: TILE_2D, or for a shorter range the
        multiple of TRANSPOSE_LANES that covers it in the fewest whole tiles."""
        extent = self.ranges[tiled]
        if extent >= TILE_2D:
            return TILE_2D
        return max(TRANSPOSE_LANES, extent // TRANSPOSE_LANES * TRANSPOSE_LANES)

    def _tile_buffer(self, load: ir.OpView) -> ir.Value:
        """The stack buffer of `load`'s tile, tile[t][i], allocated once at the kernel's entry."""
        if not hasattr(self, "_tile_buffers"):
            self._tile_buffers = {}
        if load not in self._tile_buffers:
            with ir.InsertionPoint(self.anchor), self.nest.location:
                t = ir.MemRefType.get(list(self.tile_shape), load.results[0].type)
                self._tile_buffers[load] = memref.alloca(t, [], [])
        return self._tile_buffers[load]

    def _vector_stageable(self, load: ir.OpView, tiled_arg: ir.Value, cone: list) -> bool:
        """Whether rows of `load`'s tile can be read as vectors: the tiled index is
        that of the source's innermost dimension, of unit stride, and no other
        index depends on it."""
        source, *indices = load.operands
        t = ir.MemRefType(source.type)
        strides, _ = t.get_strides_and_offset()
        if not indices or indices[-1] != tiled_arg or strides[-1] != 1:
            return False
        if any(is_dynamic(s) for s in strides):
            return False
        return all(tiled_arg not in self.op_deps[dep] for dep in cone) and tiled_arg not in indices[:-1]

    def _copy_transposed(self, load, cone, mapping, inner_arg, tiled_arg, i0, t0, buffer) -> None:
        """buffer[t][i] = source(i0 + i, t0 + t) for a whole tile, TRANSPOSE_LANES square at a time."""
        from coil.mlir import vector

        index = ir.IndexType.get()
        n = TRANSPOSE_LANES
        row_type = ir.VectorType.get([n], load.results[0].type)
        zero, step = self._entry_const(index, 0), self._entry_const(index, n)
        across = scf.ForOp(zero, self._entry_const(index, self.tile_shape[1]), step)
        with ir.InsertionPoint(across.body):
            down = scf.ForOp(zero, self._entry_const(index, self.tile_shape[0]), step)
            with ir.InsertionPoint(down.body):
                i_off, t_off = across.induction_variable, down.induction_variable
                t = arith.addi(t0, t_off)
                rows = []
                for k in range(n):
                    context = dict(mapping)
                    context[inner_arg] = arith.addi(arith.addi(i0, i_off), self._entry_const(index, k))
                    context[tiled_arg] = t
                    for dep in cone:
                        self._clone(dep, context)
                    source, *indices = load.operands
                    rows.append(vector.load(row_type, source, [context.get(v, v) for v in indices]))
                for k, column in enumerate(_transpose(rows)):
                    vector.store(column, buffer, [arith.addi(t_off, self._entry_const(index, k)), i_off])
                scf.YieldOp([])
            scf.YieldOp([])

    def _contiguous_along(self, load: ir.OpView, arg: ir.Value) -> bool:
        source, *indices = load.operands
        if not isinstance(source.type, ir.MemRefType):
            return False
        strides, _ = ir.MemRefType(source.type).get_strides_and_offset()
        return any(index == arg and stride == 1 for index, stride in zip(indices, strides))

    def _cone(self, op: ir.OpView) -> list:
        """The body ops `op` depends on (not hoisted ones), in body order."""
        needed, stack = set(), [op]
        while stack:
            current = stack.pop()
            for v in self.op_deps[current]:
                owner = self._owner_of(v)
                if owner is not None and owner not in needed and owner not in self.hoisted:
                    needed.add(owner)
                    stack.append(owner)
        return [o for o in self.ops if o in needed]

    def _check_no_dangling(self, mapping: dict) -> None:
        body_values = set(self.rdep)
        parent = self.nest.operation.parent
        stray = []

        def visit(inner):
            if inner.name == "coil.loop_nest":
                return ir.WalkResult.SKIP
            for v in inner.operands:
                if v in body_values:
                    stray.append(inner.name)
            return ir.WalkResult.ADVANCE

        parent.walk(visit, ir.WalkOrder.PRE_ORDER)
        if stray:
            raise PassFailure(f"internal error: lowered ops still use loop-nest values: {stray}", self.nest.location)


class _ColumnNestLowering(_NestLowering):
    """A reduction over a strided dimension, vectorized across the innermost output index.

    For `out[j] = sum_r x[r, j]` the plain nest walks x down a column in its
    inner loop: no vectorization and a cache line per element. Here the
    innermost range j is cut into tiles of `TILE` points whose accumulators
    live in small stack buffers, and the reduction loop runs outside a loop
    over the tile, which reads x[r, j0:j0+TILE] contiguously:

        for j0 in range(0, J, TILE):            (and the other outer ranges outside)
          for jj: acc[jj] = init
          for r:
            for jj: acc[jj] = combine(acc[jj], value(j0 + jj, r))
          for jj: epilogue(j0 + jj, acc[jj])

    Values are rebuilt where they are needed (a reduced value by loading its
    accumulator), since no SSA value outlives one tile loop.
    """

    TILE = 256
    ROW_CACHE = False  # values are rebuilt per tile (see _value)

    def _emit_loops(self, mapping: dict) -> None:
        index = ir.IndexType.get()
        one = self._entry_const(index, 1)
        tile = self._entry_const(index, self.TILE)
        # One stack buffer per accumulator, allocated once at the kernel's entry.
        self.buffers: dict = {}
        for op in self.ops:
            if op in self.reduce_loop:
                rtype = op.attributes["reduction_type"].value
                _check_reducible(op, rtype, op.operands[0].type)
                with ir.InsertionPoint(self.anchor), self.nest.location:
                    self.buffers[op] = [
                        memref.alloca(ir.MemRefType.get([self.TILE], t), [], [])
                        for t, _ in _init(rtype, op.operands[0].type)
                    ]
        loops = []
        with ExitStack() as stack:
            for d in range(len(self.ranges) - 1):
                lower, upper = self._range_bounds(d)
                loop = scf.ForOp(lower, upper, one)
                loops.append(loop)
                mapping[self.outer_args[d]] = loop.induction_variable
                stack.enter_context(ir.InsertionPoint(loop.body))
            lower, upper = self._range_bounds(len(self.ranges) - 1)
            tiles = scf.ForOp(lower, upper, tile)
            loops.append(tiles)
            stack.enter_context(ir.InsertionPoint(tiles.body))
            start = tiles.induction_variable
            width = arith.minsi(tile, arith.subi(upper, start))
            self._emit_tile(mapping, start, width)
        for loop in loops:
            with ir.InsertionPoint(loop.body):
                scf.YieldOp([])

    def _tile_loop(self, mapping: dict, start: ir.Value, width: ir.Value, emit) -> None:
        """for jj in range(width): emit(context, jj), with the innermost index at start + jj."""
        index = ir.IndexType.get()
        loop = scf.ForOp(self._entry_const(index, 0), width, self._entry_const(index, 1))
        with ir.InsertionPoint(loop.body):
            jj = loop.induction_variable
            context = dict(mapping)
            context[self.outer_args[-1]] = arith.addi(start, jj)
            emit(context, jj)
            scf.YieldOp([])

    def _value(self, v: ir.Value, context: dict, jj: ir.Value) -> ir.Value:
        """`v` in the current tile iteration: looked up, loaded from an accumulator, or recomputed."""
        if v in context or v not in self.rdep:
            return context.get(v, v)
        owner = self.owner[v]
        if owner in self.reduce_loop:
            rtype = owner.attributes["reduction_type"].value
            accs = [memref.load(buffer, [jj]) for buffer in self.buffers[owner]]
            for old, value in zip(owner.results, _finalize(rtype, accs)):
                context[old] = value
        else:
            for dep in self.op_deps[owner]:
                self._value(dep, context, jj)
            self._clone(owner, context)
        return context[v]

    def _emit_effects(self, ops: list, context: dict, jj: ir.Value) -> None:
        for op in ops:
            for dep in self.op_deps[op]:
                self._value(dep, context, jj)
            self._clone(op, context)

    def _emit_tile(self, mapping: dict, start: ir.Value, width: ir.Value) -> None:
        self.owner = {r: op for op in self.ops for r in op.results}
        effects = [op for op in self.ops if _has_effects(op)]

        def stage_ops(level):
            return [op for op in effects if not self.op_rdep[op] and self.op_level[op] == level]

        if stage_ops(0):
            self._tile_loop(mapping, start, width, lambda ctx, jj: self._emit_effects(stage_ops(0), ctx, jj))
        for level in range(self.n_levels):
            self._emit_tile_reduction(level, mapping, start, width, [op for op in effects if self.op_rdep[op]])
            if stage_ops(level + 1):
                self._tile_loop(
                    mapping, start, width, lambda ctx, jj, k=level + 1: self._emit_effects(stage_ops(k), ctx, jj)
                )

    def _emit_tile_reduction(self, level: int, mapping: dict, start, width, rdep_effects: list) -> None:
        reduces = [op for op in self.ops if self.reduce_loop.get(op) == level]
        index = ir.IndexType.get()

        def initialize(context, jj):
            for op in reduces:
                rtype = op.attributes["reduction_type"].value
                for buffer, (t, v) in zip(self.buffers[op], _init(rtype, op.operands[0].type)):
                    memref.store(self._entry_const(t, v), buffer, [jj])

        self._tile_loop(mapping, start, width, initialize)
        loops = []
        with ExitStack() as stack:
            for extent in self.reduction_ranges:
                loop = scf.ForOp(self._entry_const(index, 0), self._extent(extent), self._entry_const(index, 1))
                loops.append(loop)
                stack.enter_context(ir.InsertionPoint(loop.body))
            ivs = [loop.induction_variable for loop in loops]
            inner = dict(mapping)
            inner.update(zip(self.reduction_args, ivs))
            position = None
            if any(op.attributes["reduction_type"].value in ("argmax", "argmin") for op in reduces):
                position = self._position(ivs)

            def accumulate(context, jj):
                for op in self.ops:
                    if op in reduces:
                        rtype = op.attributes["reduction_type"].value
                        value = self._value(op.operands[0], context, jj)
                        buffers = self.buffers[op]
                        accs = [memref.load(buffer, [jj]) for buffer in buffers]
                        with op.location:
                            for buffer, new in zip(buffers, _combine(rtype, accs, value, position)):
                                memref.store(new, buffer, [jj])
                    elif op in rdep_effects and self.op_level[op] == level:
                        self._emit_effects([op], context, jj)

            self._tile_loop(inner, start, width, accumulate)
        for loop in loops:
            with ir.InsertionPoint(loop.body):
                scf.YieldOp([])


# A transposing pointwise nest runs in tiles of TILE_2D points of the transposed
# source's contiguous range by TILE_2D_INNER points of the stores' contiguous
# range; the source's tile is transposed in registers, TRANSPOSE_LANES square at
# a time (multiples of it both).
# 16 x 16, as Inductor's: a tile reads and writes 16 rows of the other
# operands, which the prefetchers follow, where 128 x 16 (512-byte runs of the
# source, a TLB miss per 8 cache lines of it instead of per line) kept 128 rows
# of the input and output in flight. 2048 x 2048 x.t() + y f32, one thread, Zen
# 4 VM with AVX-512, whole tiles looping over constant extents: 16 x 16 2.2-2.4
# ms, 128 x 16 2.8-3.1 (Inductor 1.6-2.0). An earlier AVX2 VM, before whole
# tiles had constant trip counts, measured the other way (16 x 16 12 ms,
# 128 x 16 5 ms, Inductor 6.8): recheck there.
TRANSPOSE_LANES = 16
TILE_2D = 16
TILE_2D_INNER = 16


def _contiguous_positions(nest: ir.OpView, name: str) -> list[int]:
    """For each `name` op (coil.load or coil.store) of the nest: the outer range
    its buffer is contiguous along (the unit-stride dimension indexed directly by
    that range's index), when there is one."""
    n_outer = len(int_list(nest.attributes["ranges"]))
    args = list(nest.regions[0].blocks[0].arguments)[:n_outer]
    found = []
    for op in ops_named(nest.operation, name):
        buffer = op.operands[0] if name == "coil.load" else op.operands[1]
        indices = list(op.operands)[1:] if name == "coil.load" else list(op.operands)[2:]
        if not isinstance(buffer.type, ir.MemRefType):
            continue
        t = ir.MemRefType(buffer.type)
        strides, _ = t.get_strides_and_offset()
        for index, stride, size in zip(indices, strides, t.shape):
            if stride == 1 and (is_dynamic(size) or size > 1) and index in args:
                found.append(args.index(index))
    return found


def loop_order(nest: ir.OpView) -> tuple[int, int | None]:
    """(the outer range the innermost loop walks, the range tiled with it or None).

    The innermost loop walks the range along which every store is contiguous
    (the innermost range when stores disagree or are not contiguous along any),
    so LLVM vectorizes the stores. A pointwise nest with a load contiguous along
    another range (the source of a transpose) tiles those two ranges. The
    parallel dimension keeps its slice bounds wherever it lands in the order
    (the runtime aligns its slices when it is one of these two: see jit.py).
    """
    ranges = int_list(nest.attributes["ranges"])
    last = len(ranges) - 1
    if len(ranges) < 2 or any(is_dynamic(e) for e in ranges):
        return last, None
    stores = set(_contiguous_positions(nest, "coil.store"))
    inner = stores.pop() if len(stores) == 1 else last
    if ranges[inner] < TRANSPOSE_LANES:
        return last, None
    if int_list(nest.attributes["reduction_ranges"]):
        return last, None
    loads = [p for p in _contiguous_positions(nest, "coil.load") if p != inner and ranges[p] >= TRANSPOSE_LANES]
    if not loads:
        return inner, None
    return inner, max(set(loads), key=loads.count)


def _prefers_column_order(nest: ir.OpView) -> bool:
    """Whether the reduction reads memory contiguously along the innermost output index only.

    True when some load inside the reduction indexes a unit-stride dimension
    with the innermost range's index and no load does so with the innermost
    reduction index: then the plain nest's inner loop would stride. Only
    loads that vary along the innermost output index count: LayerNorm's
    weight gradient, `sum_r dy[r, j] * (x[r, j] - mean[r]) * rstd[r]`, reads
    mean and rstd along the rows, one value per row for every column.
    """
    ranges = int_list(nest.attributes["ranges"])
    reduction_ranges = int_list(nest.attributes["reduction_ranges"])
    if not ranges or not reduction_ranges or (ranges[-1] <= 1 and not is_dynamic(ranges[-1])):
        return False
    if not ops_named(nest.operation, "coil.reduce"):
        return False
    args = list(nest.regions[0].blocks[0].arguments)
    inner_out, inner_red = args[len(ranges) - 1], args[-1]
    along_output = along_reduction = False
    for load in ops_named(nest.operation, "coil.load"):
        source, *indices = load.operands
        if not isinstance(source.type, ir.MemRefType) or not any(depends_on(i, inner_out) for i in indices):
            continue
        strides, _ = ir.MemRefType(source.type).get_strides_and_offset()
        for index, stride in zip(indices, strides):
            if stride != 1:
                continue
            if index == inner_out:
                along_output = True
            elif index == inner_red:
                along_reduction = True
    return along_output and not along_reduction


# ---------------------------------------------------------------------------
# Memory accesses and kernel signatures


def _legalize_buffer_types(fn: ir.OpView) -> None:
    """Buffer argument types the CPU calling convention can take as one bare pointer.

    memref<...xi1> becomes memref<...xi8> (torch.bool takes a byte), unsigned
    integers become signless, and a buffer with a zero-size dimension (whose
    canonical strides MLIR leaves dynamic) gets explicit static strides.
    """
    block = fn.regions[0].blocks[0]
    changed = False
    for arg in block.arguments:
        t = arg.type
        if not isinstance(t, ir.MemRefType):
            continue
        element, layout = t.element_type, t.layout
        if isinstance(element, ir.IntegerType):
            width = ir.IntegerType(element).width
            if width == 1:
                element = ir.IntegerType.get_signless(8)
            elif not ir.IntegerType(element).is_signless:
                element = ir.IntegerType.get_signless(width)
        if t.has_static_shape and 0 in list(t.shape):
            strides, offset = t.get_strides_and_offset()
            if any(t.is_dynamic_stride_or_offset(s) for s in strides):
                static, running = [], 1
                for extent in reversed(list(t.shape)):
                    static.append(running)
                    running *= max(extent, 1)
                layout = ir.StridedLayoutAttr.get(0, list(reversed(static)))
        if element != t.element_type or layout != t.layout:
            arg.set_type(ir.MemRefType.get(list(t.shape), element, layout=layout, memory_space=t.memory_space))
            changed = True
    if changed:
        _update_function_type(fn)


def _update_function_type(fn: ir.OpView) -> None:
    block = fn.regions[0].blocks[0]
    results = ir.FunctionType(fn.attributes["function_type"].value).results
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], list(results))
    )


def _lower_memory_accesses(fn: ir.OpView) -> None:
    i8 = ir.IntegerType.get_signless(8)
    for op in ops_named(fn.operation, "coil.load"):
        source, *indices = op.operands
        with ir.InsertionPoint(op), op.location:
            value = memref.load(source, indices)
            if _is_bool(op.results[0].type) and value.type == i8:
                value = arith.cmpi(arith.CmpIPredicate.ne, value, arith.constant(i8, 0))
        op.results[0].replace_all_uses_with(value)
        op.erase()
    for op in ops_named(fn.operation, "coil.store"):
        value, dest, *indices = op.operands
        with ir.InsertionPoint(op), op.location:
            if _is_bool(value.type) and ir.MemRefType(dest.type).element_type == i8:
                value = arith.extui(i8, value)
            memref.store(value, dest, indices)
        op.erase()


def is_dynamic_buffer(t: ir.Type) -> bool:
    """Whether memref type `t` has a `?` size, stride or offset (so no bare pointer can carry it)."""
    if not isinstance(t, ir.MemRefType):
        return False
    m = ir.MemRefType(t)
    if not m.has_static_shape:
        return True
    strides, offset = m.get_strides_and_offset()
    if 0 in list(m.shape):
        return False  # _legalize_buffer_types gives these static strides
    return is_dynamic(offset) or any(is_dynamic(s) for s in strides)


def dynamic_buffer_fields(t: ir.MemRefType) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(dims whose size, dims whose stride) a dynamic buffer argument takes as extra int64s.

    The runtime passes `t.size(k)` for the first and `t.stride(k)` for the
    second, in this order, after all of the kernel's own arguments. A `?`
    offset takes no argument: the pointer passed is the first element's.
    """
    m = ir.MemRefType(t)
    strides, _ = m.get_strides_and_offset()
    sizes = tuple(k for k, s in enumerate(m.shape) if is_dynamic(s))
    dyn_strides = tuple(k for k, s in enumerate(strides) if is_dynamic(s))
    return sizes, dyn_strides


def _expand_dynamic_buffers(fn: ir.OpView) -> None:
    """Each buffer argument with `?` sizes or strides becomes a 0-d memref (a bare
    pointer) plus trailing `index` arguments for those sizes and strides; a
    `memref.reinterpret_cast` at entry rebuilds the dynamic memref, so the body
    is unchanged. This is the memref descriptor, spelled out for the bare-pointer
    calling convention (see `dynamic_buffer_fields` for the argument order)."""
    block = fn.regions[0].blocks[0]
    index = ir.IndexType.get()
    dynamic = [arg for arg in block.arguments if is_dynamic_buffer(arg.type)]
    if not dynamic:
        return
    first = block.operations[0]
    for arg in dynamic:
        t = ir.MemRefType(arg.type)
        size_dims, stride_dims = dynamic_buffer_fields(t)
        sizes = {k: block.add_argument(index, fn.location) for k in size_dims}
        strides_v = {k: block.add_argument(index, fn.location) for k in stride_dims}
        static_strides, offset = t.get_strides_and_offset()
        with ir.InsertionPoint(first), fn.location:
            zero = arith.constant(index, 0) if is_dynamic(offset) else None
            view = memref.reinterpret_cast(
                t,
                arg,
                [zero] if zero is not None else [],
                [sizes[k] for k in size_dims],
                [strides_v[k] for k in stride_dims],
                [offset],
                list(t.shape),
                list(static_strides),
            )
        arg.replace_all_uses_except(view, view.owner.operation)
        arg.set_type(ir.MemRefType.get([], t.element_type, memory_space=t.memory_space, loc=fn.location))
    _update_function_type(fn)


def _expand_welford_dynamic(body: ir.Block, reduction_ranges: Sequence) -> None:
    """expand_welford for symbolic reduction ranges: the count n is computed from the sizes.

    (passes/welford.py takes ints only; this is its twin for mixed sizes.)
    """
    welfords = [
        op
        for op in body.operations
        if op.operation.name == "coil.reduce" and op.attributes["reduction_type"].value == "welford"
    ]
    if not welfords:
        return
    from coil.dialects import builders

    index = ir.IndexType.get()
    for op in welfords:
        x = op.operands[0]
        t = x.type
        if not is_float(t):
            raise PassFailure(f"'welford' reduces floats, found {t}", op.location)
        with ir.InsertionPoint(op), op.location:
            n = None
            for extent in reduction_ranges:
                value = extent if isinstance(extent, ir.Value) else arith.constant(index, extent)
                n = value if n is None else arith.muli(n, value)
            count = arith.index_cast(ir.IntegerType.get_signless(64), n)
            weight = arith.sitofp(t, count)
            total = builders.reduce(x, "sum", [t])[0]
            mean = arith.divf(total, weight)
            deviation = arith.subf(x, mean)
            m2 = builders.reduce(arith.mulf(deviation, deviation), "sum", [t])[0]
        for old, new in zip(op.results, (mean, m2, weight)):
            old.replace_all_uses_with(new)
        op.erase()


def _noalias_to_llvm(fn: ir.OpView, positions: set[int]) -> None:
    """`llvm.noalias` on the arguments at `positions` (marked `coil.noalias` by
    coil-kernel-args), for the arguments the function has now: LLVM then knows
    that a store through one buffer does not change what another loads, and
    vectorizes an in-place update without runtime overlap checks."""
    if not positions and "arg_attrs" not in fn.attributes:
        return
    block = fn.regions[0].blocks[0]
    old = list(fn.attributes["arg_attrs"]) if "arg_attrs" in fn.attributes else []
    attrs = []
    for k in range(len(block.arguments)):
        entries = {named.name: named.attr for named in ir.DictAttr(old[k])} if k < len(old) else {}
        entries.pop(NOALIAS_ATTR, None)
        if k in positions:
            entries["llvm.noalias"] = ir.UnitAttr.get()
        attrs.append(ir.DictAttr.get(entries))
    fn.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)


def lower_kernel(fn: ir.OpView, outer_slice: bool = False) -> None:
    """Lowers every `coil.loop_nest` of kernel function `fn` to scf loops."""
    nests = [op for op in fn.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest"]
    slice_bounds = None
    noalias = noalias_positions(fn)
    _legalize_buffer_types(fn)
    _expand_dynamic_buffers(fn)
    if outer_slice:
        if len(nests) > 1:
            raise PassFailure("outer-slice needs one 'coil.loop_nest' per kernel", fn.location)
        block = fn.regions[0].blocks[0]
        index = ir.IndexType.get()
        begin = block.add_argument(index, fn.location)
        end = block.add_argument(index, fn.location)
        _update_function_type(fn)
        slice_bounds = (begin, end)
        dim = parallel_dim(int_list(nests[0].attributes["ranges"])) if nests else None
        fn.attributes[SLICE_DIM_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), -1 if dim is None else dim)
    for nest in nests:
        lowering = _ColumnNestLowering if _prefers_column_order(nest) else _NestLowering
        lowering(nest, slice_bounds).run()
    _lower_memory_accesses(fn)
    _noalias_to_llvm(fn, noalias)


def bool_option(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise PassFailure(f"option '{name}' takes true or false, found '{value}'")


@register_pass(
    "coil-lower-loop-nests",
    "Lower the coil.loop_nest of every coil.kernel function to scf.for loops over memrefs",
    options={"outer-slice": "add [begin, end) index arguments bounding the kernel's parallel dimension"},
)
def lower_loop_nests(module: ir.Operation, outer_slice: str | bool = False) -> None:
    slice_args = bool_option("outer-slice", outer_slice)
    for fn in kernel_functions(module):
        lower_kernel(fn, outer_slice=slice_args)
