"""coil kernels -> Triton TTIR text: the GPU backend's code generator.

Each outlined kernel (`func.func` with `coil.kernel`, one `coil.loop_nest`)
becomes one `tt.func` in its own module, printed as text that
`triton.compile(path.ttir, target=GPUTarget("cuda", 90, 32))` compiles.

Tiling (Inductor's choices, power-of-two blocks, masked at the edges):
  - pointwise kernels: the flattened ranges in XBLOCK chunks, one per program;
    a [YBLOCK, XBLOCK] tile over program ids (x, y) when a load is contiguous
    along another dimension than the store, so both stay coalesced: XBLOCK
    64 and 16 KiB of the widest element a tile (64 rows of floats, 128 of
    bf16), 4 warps. On an H100, 4096x4096 x + y.t(): float32 72.5 us against
    74.2 with the earlier 2048-element tile, bfloat16 39.3 against 43.0;
  - reductions: XBLOCK rows per program. Persistent: the rows are one
    [XBLOCK, RBLOCK] tile (RBLOCK = next_pow2(rnumel)) and every level is one
    `tt.reduce` on registers, so the row is read once whatever the levels.
    Looped: `scf.for` over the reduction range in RBLOCK chunks with
    [XBLOCK, RBLOCK] accumulators and one `tt.reduce` at the end; ops after a
    reduce that need the reduction index (softmax's x / sum) run in a further
    loop, which reads the row again. A softmax's sum of exp(x - max) is folded
    into the max's loop (online softmax: per lane (m, s) -> (max(m, x),
    s * exp(m - m') + exp(x - m')), one exp an element since one of the two
    exponents is 0; across lanes S = sum(s * exp(m - M))), so a looped softmax
    reads the row twice, not three times.
    `TritonConfig.prefetch` double-buffers a loop's row loads in registers:
    the first chunk is loaded before the loop, and each iteration issues the
    next chunk's loads before its math on the chunk it carries (Triton's
    pipeliner stages only loads that feed a dot). It is an autotuning
    candidate; no default config uses it: on an H100's bf16 cross-entropy
    row it was 0.5-2.5% slower than the same loop without it.

Reduction configs (rows contiguous along the reduction; the H100 numbers
that set them are the lead's, float32, coil vs Inductor):
  - rows up to 1024 wide: persistent, several rows a program (XBLOCK =
    1024 / RBLOCK), a warp per 256 elements: at parity with Inductor
    (softmax_1024 0.99).
  - wider rows: one row a program (XBLOCK 1) and Inductor's RBLOCK // 128
    warps, at most 16. A kernel that reads the row once either way (a row
    sum) takes Inductor's looped config, RBLOCK 2048 with 16 warps (the
    persistent 4096 with 8 warps measured 0.90 of it on sum_rows 8192x4096).
    A kernel that reads it once per level when looped (var_mean, layer norm,
    softmax) stays persistent up to RBLOCK 32768, where the looped form would
    read it two or three times (a level that loads nothing along the row,
    cross-entropy backward's one-hot sum, does not count: that kernel loops);
    16 warps at 4096 and 8192, 32 from 16384 (Inductor's
    `add_persistent_rblock`). At 32768, an H100 ran the bf16 8192x32000
    cross-entropy row in 181 us with 32 warps (32 registers a thread, 97% of
    a clone of as many bytes) against 210 with 16 (64 registers) and 218
    with 8; float32 4096x32000 and a bf16 softmax over 32000 tie (16 warps
    had measured 1-3% faster before the bf16 row's max was taken in bf16). A
    log-sum-exp (cross-entropy) reads the row once either way, but its looped
    form (online, prefetched or not, RBLOCK 1024 to 8192, 4 to 32 warps) ran
    196-348 us on that bf16 row: it is persistent too.
    On an H100 the persistent 32768-wide softmax over 1024 rows took 96 us in
    float32 (54 in bfloat16) against 141 (77) for the online looped form with
    RBLOCK 2048 and 16 warps, and Inductor's 130 (81). Rows of 2-byte
    elements take half the warps up to 4096 (RBLOCK // 256, at most 8): 7-12%
    faster on bf16 8192x4096 row sums and variances. Wider than 32768:
    looped with RBLOCK 2048 (the online form reads 2 + writes 1 where the
    three-loop form read 3 + wrote 1).
  - reductions that read along the output index (a sum over dim 0, over
    dims (0, 1) of a 3-D tensor): the tile is [RBLOCK, XBLOCK], transposed,
    so the output columns lie along the fast axis of Triton's layout and
    every tile row is one coalesced segment (Inductor's outer-reduction
    tiling); the rows are walked RBLOCK at a time into [RBLOCK, XBLOCK]
    accumulators and reduced along axis 0 at the end. XBLOCK 32 and RBLOCK
    64 (16 warps, 4 elements a thread in flight: 8 warps were 2-12% slower
    on the partial and whole kernels of an 8192x4096 sum over dim 0);
    a welford (two-level) one persistent while its chunk of rows times
    XBLOCK is at most 16384 elements (8 warps; 51 us against 65 looped on
    a variance's 512-row chunks); persistent up to 64 rows (the
    final step of a split reduction) with a 1024-element tile, 4 warps.
    Timed on an H100 over the candidates, on the partial step of 8192x4096
    sum/mean/var over dim 0 (131072 columns of 256 rows): (32, 64, 8 warps)
    was the fastest or within 5% of it in every case, where the earlier
    (128, 16, 8) was 10% slower on sums and 70% slower on the (Welford)
    variance in float32. Too few output columns for the SMs is
    what `coil-split-reductions` (passes/split_reductions.py) fixes, before
    outlining, by splitting the range into partial reductions.
  - `candidate_configs` adds, for wide rows, the persistent row at both warp
    counts, a persistent 32768-wide row with 32 warps (Inductor's
    `add_persistent_rblock`) and looped RBLOCK 1024/2048/4096; for every
    reduction with a looped candidate, the first one again with `prefetch`
    (see above).
  Eviction hints (`evict_last` on loads a later loop reads again,
  `evict_first` on the last) are spelled for the installed Triton (see
  `eviction`). Split reductions (few rows, a huge range: `x.sum()` of 16M
  floats would run on one program) are not the emitter's: the
  `coil-split-reductions` pass rewrites them into partial reductions of
  RSPLIT chunks and a final reduction before outlining (Inductor's
  `reduction_split_factor`), for CUDA graphs.

Combo kernels (`coil.combo`, passes/combine_kernels.py: independent static
pointwise loop nests in one kernel): each nest is emitted with its own default
config as a private `tt.func` taking its program id relative to its first
(`lowering.ComboPart`); the public entry reads `tt.get_program_id x` once and
calls the nest whose range holds it, and Triton inlines the calls. Nests with
fewer programs take the lower ids (they start first), a 2-D tiled nest splits
its id into (x, y), and all run with the largest warp count among them. On an
H100 AdamW's three parameter groups in bf16 ran in 81.5 us as one combo
against 90.3 us as three kernels. A combo is not autotuned (its nests keep
their defaults).

Index math is simplified before it is emitted (see `indexing`), offsets are
32-bit unless some address needs 64, and the text is value-numbered, hoisted
and free of dead code and file locations (Triton hashes it for its cache).

Symbolic sizes (`?` dims, DYNAMIC ranges with `index` size operands): the
kernel takes its `index` arguments as i64 scalars and, after each buffer
pointer, the strides its type leaves open; every offset is 64-bit; every
symbolic axis is masked against its runtime extent; the grid is an
expression over the arguments, evaluated at launch (`launch`). Without
launch hints a reduction over a symbolic range is looped (no RBLOCK covers
every size); a call's ("rnumel", bound) hint (the power of two at or above
its reduction size, `launch.hint_function`) lets the static heuristics pick
its config as for a range of `bound` points, persistent with RBLOCK = bound
where they would be, which covers that call. A pointwise kernel is tiled
1-D (a Y grid could pass 65535), and a symbolic output range counts as
large.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

from coil.dialects.types import byte_width
from coil.mlir import ir
from coil.passes.combine_kernels import COMBO_ATTR

from .analysis import (
    KernelInfo,
    TritonLoweringError,
    above_one,
    analyze_kernel,
    is_column_reduction,
    folded_pairs,
    looped_passes,
    pointwise_tiling,
    row_reading_passes,
)
from .indexing import linear_coefficients
from .launch import MAX_RNUMEL_BUCKET, HostExpressionError, grid_function, hint_function, host_expression, product
from .lowering import LATENCY_BOUND_PROGRAMS, MAX_GRID_Y, ComboPart, KernelEmitter, NeedsInt64, cdiv, next_pow2

__all__ = [
    "ComboConfig",
    "TritonConfig",
    "TritonKernel",
    "TritonLoweringError",
    "candidate_configs",
    "default_config",
    "emit_kernel",
    "emit_module",
    "profile_name",
    "kernel_functions",
]

SMALL_ROW_RBLOCK = 1024  # rows up to this wide: persistent, several rows a program
SINGLE_PASS_PERSISTENT_LIMIT = 2048  # one pass over the row: looped beyond this
PERSISTENT_RBLOCK_LIMIT = 32768  # several passes over the row: persistent up to this
PERSISTENT_COLUMN_RBLOCK_LIMIT = 64
LOOPED_RBLOCK = 2048
MAX_BLOCK = 4096  # elements per tile in the default configs
COLUMN_TILE = 2048  # elements of a looped column reduction's [RBLOCK, XBLOCK] tile
PERSISTENT_COLUMN_TILE = 1024  # elements of a persistent one's
COLUMN_XBLOCK = 32  # output columns a column-reduction program
COLUMN_WARPS = 16  # a looped column tile of COLUMN_TILE elements (4 a thread)
# A looped column variance (Welford folded into one pass): a [512, 32] tile. H100,
# 8192x4096 var over dim 0: 55.6 -> 54.8 us float32, 35.0 -> 33.4 bfloat16 against
# the [64, 32] tile (a plain column sum is 1.7% slower with it: 53.7 -> 54.6).
FOLDED_COLUMN_RBLOCK = 512
# A column reduction read once per level (a welford variance's split partial):
# persistent, the whole [R, XBLOCK] chunk in registers, up to this many elements.
MULTIPASS_COLUMN_TILE = 16384
MULTIPASS_COLUMN_WARPS = 8
TILE_BYTES = 16384  # a 2-D tiled pointwise kernel's [YBLOCK, XBLOCK] tile, of its widest element
TARGET_PROGRAMS = 2 * 132  # two programs per SM of an H100
# A row reduction over a symbolic range: looped, rows of unknown width.
DYNAMIC_ROW_CONFIG = (1, 1024, 8)  # (XBLOCK, RBLOCK, warps)
# A flat pointwise kernel of 2-byte elements reads 4 of them a thread (XBLOCK
# 1024 over 8 warps) rather than 8: on an H100 in bfloat16 the AdamW update took
# 105 us against 113 and the compute-bound pointwise chain 185 against 199. A
# kernel that adds a broadcast row (bias+GELU) keeps 8 a thread and 4 warps:
# 108 us against 114 with 8 warps (16 a thread: 6% faster still, but the chain
# 13% and AdamW 35-70% slower).
HALF_PRECISION_FLAT_WARPS = 8


@dataclass(frozen=True)
class TritonConfig:
    """One tiling choice; hashable (a cache key)."""

    xblock: int  # power of two
    yblock: int = 1  # >1 only for 2-D tiled pointwise kernels
    rblock: int = 1  # reduction block (== next_pow2(rnumel) when persistent)
    num_warps: int = 4
    persistent: bool = True  # reductions: whole reduction in one block vs scf.for loop
    # Looped reductions: each iteration issues the next chunk's row loads before it
    # computes on the chunk it carries (register double buffering; see lowering).
    prefetch: bool = False


@dataclass(frozen=True)
class ComboConfig:
    """The configs of a `coil.combo` kernel's loop nests, which share one warp count."""

    parts: tuple[TritonConfig, ...]
    num_warps: int


@dataclass
class TritonKernel:
    name: str  # tt.func symbol (the coil kernel's symbol name)
    ttir: str  # a complete `module { tt.func public @name(...) {...} }`, no loc(...) file paths
    # Static kernels: the grid. Dynamic ones: per dimension an int or a Python
    # expression over the arguments `arg0, arg1, ...` (what `grid_fn` evaluates).
    grid: tuple
    num_warps: int
    config: TritonConfig
    arg_kinds: list[str]  # per coil kernel argument: "buffer" (-> !tt.ptr) or "index" (-> i64 scalar)
    index_bits: int = 32  # width of the offsets the kernel computes
    # Where each TTIR parameter comes from: ("arg", i) or ("stride", i, k) (`t.stride(k)` of argument i).
    params: list = None
    grid_fn: object = None  # dynamic grids: f(*args) -> (gx, gy, gz)
    # Kernels over symbolic sizes: f(*args) -> the hints to specialize a call's
    # kernel on (`launch.hint_function`); None for static kernels.
    hint_fn: object = None
    hints: frozenset = frozenset()  # the hints this text was emitted with

    @property
    def expands_args(self) -> bool:
        """Whether Triton takes other parameters than the coil arguments (strides of `?` layouts)."""
        return any(p[0] != "arg" for p in self.params)

    def launch_grid(self, args) -> tuple[int, int, int]:
        """The grid for these arguments (checked against CUDA's limits when computed at launch)."""
        if self.grid_fn is None:
            return self.grid
        grid = tuple(int(g) for g in self.grid_fn(*args))
        if grid[0] >= 1 << 31 or grid[1] > MAX_GRID_Y or grid[2] > MAX_GRID_Y:
            raise TritonLoweringError(self.name, f"grid {grid} exceeds CUDA's limits (2^31-1, 65535)")
        return grid


def _in_kernel_context(api):
    """Enters the kernel's MLIR context (and an unknown location), so callers need not."""

    @functools.wraps(api)
    def run(fn, *args, **kwargs):
        with fn.context, ir.Location.unknown(fn.context):
            return api(fn, *args, **kwargs)

    return run


def kernel_functions(module) -> list[ir.OpView]:
    """The `func.func` ops of `module` marked `coil.kernel`, in order."""
    operation = module.operation if hasattr(module, "operation") else module
    body = operation.regions[0].blocks[0]
    return [op for op in body.operations if op.operation.name == "func.func" and "coil.kernel" in op.attributes]


def _warps(elements: int, low: int = 1, high: int = 8) -> int:
    """Inductor's rule of thumb: a warp per 256 elements of the tile."""
    return max(low, min(high, next_pow2(max(elements // 256, 1))))


def _element_bytes(info: KernelInfo, args=None) -> int:
    """The widest element (in bytes) of the kernel's buffer arguments, or of those in
    `args` (argument positions); 4 if there is none."""
    if args is None:
        args = [i for i, kind in enumerate(info.arg_kinds) if kind == "buffer"]
    return max((byte_width(ir.MemRefType(info.arg_types[i]).element_type) for i in args), default=4)


def _streamed_element_bytes(info: KernelInfo) -> int:
    """The widest element of the buffers the kernel walks: those with an access that
    moves with some range (a 0-d operand, AdamW's step, loaded once, aside)."""
    return _element_bytes(info, {a.arg for a in info.accesses if not _constant_offset(a, info)})


def _constant_offset(access, info: KernelInfo) -> bool:
    """Whether `access` reads or writes one element whatever the point (a 0-d buffer)."""
    coefficients = linear_coefficients(access.offset, info.dim_names() + info.reduction_dim_names())
    return coefficients is not None and not any(coefficients.values())


def _partial_broadcast(info: KernelInfo) -> bool:
    """Whether a load reads a buffer broadcast along some ranges but not all (a bias
    row added to a matrix), or at an index that is not linear in the ranges."""
    dims = [n for n, e in zip(info.dim_names(), info.ranges) if above_one(e)]
    for access in info.accesses:
        if access.is_store or _constant_offset(access, info):
            continue
        coefficients = linear_coefficients(access.offset, dims)
        if coefficients is None or not all(coefficients.values()):
            return True
    return False


def _tile_sizes(info: KernelInfo) -> tuple[int, int] | None:
    """(ynumel, xnumel) when a pointwise kernel wants 2-D tiling, else None."""
    ydims, _ = pointwise_tiling(info)
    if not ydims:
        return None
    ynumel = 1
    for d in ydims:
        ynumel *= info.ranges[d]
    return ynumel, info.xnumel // max(ynumel, 1)


def _config_for(info: KernelInfo) -> TritonConfig:
    """A symbolic range counts as UNBOUNDED here (`KernelInfo.xnumel`), a symbolic reduction
    range as its launch bound where the call gave one, else it is looped with DYNAMIC_ROW_CONFIG."""
    if info.dynamic_reduction and info.rnumel_bound is None and not is_column_reduction(info):
        xblock, rblock, warps = DYNAMIC_ROW_CONFIG
        return TritonConfig(xblock=xblock, rblock=rblock, num_warps=warps, persistent=False)
    if not info.is_reduction:
        sizes = _tile_sizes(info)
        if sizes:
            ynumel, xnumel = sizes
            xblock = min(next_pow2(xnumel), 64)
            yblock = min(next_pow2(ynumel), max(32, TILE_BYTES // (_element_bytes(info) * xblock)))
            if yblock > 1 and cdiv(ynumel, yblock) <= MAX_GRID_Y:
                return TritonConfig(xblock=xblock, yblock=yblock, num_warps=_warps(xblock * yblock, high=4))
        xblock = min(1024, next_pow2(info.xnumel))
        warps = _warps(xblock, high=4)
        if xblock == 1024 and _streamed_element_bytes(info) == 2 and not _partial_broadcast(info):
            warps = HALF_PRECISION_FLAT_WARPS
        return TritonConfig(xblock=xblock, num_warps=warps)
    rblock = next_pow2(info.rnumel)
    xpow = next_pow2(info.xnumel)
    if is_column_reduction(info):
        return _column_config(info)
    if rblock <= SMALL_ROW_RBLOCK:
        xblock = min(xpow, max(1, 1024 // rblock), 1024)
        return TritonConfig(xblock=xblock, rblock=rblock, num_warps=_warps(xblock * rblock), persistent=True)
    if rblock <= (PERSISTENT_RBLOCK_LIMIT if _rereads_or_rescales(info) else SINGLE_PASS_PERSISTENT_LIMIT):
        return TritonConfig(xblock=1, rblock=rblock, num_warps=_row_warps(rblock, info), persistent=True)
    return TritonConfig(xblock=1, rblock=LOOPED_RBLOCK, num_warps=_row_warps(LOOPED_RBLOCK, info), persistent=False)


def _rereads_or_rescales(info: KernelInfo) -> bool:
    """Whether the looped form of a row reduction costs more than one plain pass:
    it reads the row once per level that loads along it, or it folds a softmax's
    sum into the max's pass (online), which rescales the running sums (a
    variance's m2 folded into its mean's pass, one-pass Welford, keeps the
    persistent rows measured before the fold). A bf16 4096x32000
    cross-entropy's log-sum-exp ran in 108 us persistent against 131 us
    online-looped on an H100 (float32: 182 vs 191); with one exp an element,
    prefetched or not, the best looped form of the bf16 8192x32000 row still
    took 196 us against 181 persistent (32 warps). A level that loads
    nothing along the row (cross-entropy backward's one-hot sum) costs no read:
    such a kernel loops, where a persistent 32768-wide row holds several
    [32768] tiles at once (64 values a thread each, with 16 warps): its bf16
    GPT-step instance took 300 us on an H100 for 500 MiB, where Inductor's
    looped kernel took 196 (not yet timed looped in coil)."""
    return row_reading_passes(info) > 1 or folded_pairs(info, 0) is not None


def _two_level(info: KernelInfo) -> bool:
    """Whether a column reduction has two levels, passes of their own or folded (a variance's mean and m2)."""
    return looped_passes(info) > 1 or folded_pairs(info, 0) is not None


def _column_config(info: KernelInfo) -> TritonConfig:
    """A reduction that reads along its output index: an [RBLOCK, XBLOCK] tile (see the docstring).

    COLUMN_XBLOCK output columns a program (a warp reads 128-byte rows of
    floats); the reduction range in RBLOCK-row steps, a tile of COLUMN_TILE
    elements (8 a thread with 8 warps), persistent when the whole range fits in
    PERSISTENT_COLUMN_RBLOCK_LIMIT rows, with a tile of PERSISTENT_COLUMN_TILE.
    A two-level reduction (welford's mean, then m2) is persistent while the
    [R, XBLOCK] chunk is at most MULTIPASS_COLUMN_TILE elements: the split
    partial of an 8192x4096 variance over dim 0 (chunks of 512 rows) took
    51 us as a persistent [512, 32] tile against 65 us looped (then two
    passes) in float32, 31 against 45 in bf16. Longer ranges loop, m2
    folded into the mean's pass (one-pass Welford): the whole 8192x4096
    variance over dim 0 in 55.6 us (82% of copy) against 57.5 split
    (float32; bf16 34.7 against 36.6), and in 54.8 (33.4 bf16) with
    [FOLDED_COLUMN_RBLOCK, 32] tiles instead of [64, 32].
    """
    xpow, rpow = next_pow2(info.xnumel), next_pow2(info.rnumel)
    xblock = min(COLUMN_XBLOCK, xpow)
    if rpow <= PERSISTENT_COLUMN_RBLOCK_LIMIT:
        xblock = min(xpow, max(xblock, PERSISTENT_COLUMN_TILE // rpow))
        return TritonConfig(xblock=xblock, rblock=rpow, num_warps=_warps(xblock * rpow), persistent=True)
    if _two_level(info) and xblock * rpow <= MULTIPASS_COLUMN_TILE:
        return TritonConfig(xblock=xblock, rblock=rpow, num_warps=MULTIPASS_COLUMN_WARPS, persistent=True)
    if folded_pairs(info, 0) is not None:
        # One-pass Welford: each step combines its tile into the running mean and m2, a
        # cost per step that a taller tile spreads over more rows.
        rblock = min(rpow, FOLDED_COLUMN_RBLOCK)
        return TritonConfig(xblock=xblock, rblock=rblock, num_warps=COLUMN_WARPS, persistent=False)
    rblock = min(rpow, max(8, COLUMN_TILE // xblock))
    warps = COLUMN_WARPS if xblock * rblock >= COLUMN_TILE else _warps(xblock * rblock)
    return TritonConfig(xblock=xblock, rblock=rblock, num_warps=warps, persistent=False)


def _row_warps(rblock: int, info: KernelInfo | None = None) -> int:
    """Warps for one wide row (XBLOCK 1).

    Rows of 4-byte elements: Inductor's RBLOCK // 128, at most 16 (8 floats a
    thread at 4096). Rows of 2-byte elements: RBLOCK // 256, at most 8 (16 bf16
    a thread, one 32-byte load): on an H100, bf16 8192x4096 row sums and
    variances ran 7-12% faster than with 16 warps. Persistent rows beyond 4096:
    16 warps at 8192, 32 from 16384 (32 elements a thread at 32768; see the
    module docstring for the cross-entropy row that set it).
    """
    if rblock >= 16384:
        return 32
    if rblock >= 8192:
        return 16
    if info is not None and _row_element_bytes(info) <= 2:
        return max(4, min(8, rblock // 256))
    return max(4, min(16, rblock // 128))


def _row_element_bytes(info: KernelInfo) -> int:
    """The widest element (in bytes) of the rows the kernel streams: the buffers it
    loads contiguously along its innermost reduction range (else of every buffer
    argument). A float32 side output (a layer norm's mean) does not make a bf16
    row a float32 one: its 8192x4096 var and layer norm ran 10-15% slower so."""
    inner = max((d for d, e in enumerate(info.reduction_ranges) if above_one(e)), default=None)
    rows = set()
    if inner is not None:
        inner += len(info.ranges)
        rows = {a.arg for a in info.accesses if not a.is_store and a.unit_stride_dim == inner}

    def width(i: int, t) -> int | None:
        if info.arg_kinds[i] != "buffer":
            return None
        element = ir.MemRefType(t).element_type
        return element.width // 8 if hasattr(element, "width") else None

    widths = [w for i, t in enumerate(info.arg_types) if (w := width(i, t)) and (not rows or i in rows)]
    return max(widths, default=4)


def _bound_reduction(info: KernelInfo, hints: frozenset) -> None:
    """A call's ("rnumel", n) hint: its symbolic reduction range has at most n points
    (n a power of two), so a persistent RBLOCK of n covers it at that call."""
    for hint in hints:
        if hint[0] == "rnumel":
            info.rnumel_bound = hint[1]


def is_combo(fn) -> bool:
    """Whether `fn` is a `coil.combo` kernel: independent loop nests, one launch (passes/combine_kernels.py)."""
    return COMBO_ATTR in fn.attributes


def _combo_parts(fn) -> list[KernelInfo]:
    nests = sum(1 for op in fn.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest")
    parts = [analyze_kernel(fn, nest=k) for k in range(nests)]
    for k, info in enumerate(parts):
        if info.is_reduction or info.is_dynamic:
            raise info.error(f"loop nest #{k} of a coil.combo kernel is not a static pointwise nest")
    return parts


def _combo_config(parts: list[KernelInfo]) -> ComboConfig:
    """Each nest's own config, run with the largest warp count among them."""
    configs = [_config_for(info) for info in parts]
    return ComboConfig(tuple(configs), max(c.num_warps for c in configs))


@_in_kernel_context
def default_config(fn, hints: frozenset = frozenset()) -> TritonConfig | ComboConfig:
    """Size heuristics (Inductor-like) for kernel function `fn` (for a call with these launch hints)."""
    if is_combo(fn):
        return _combo_config(_combo_parts(fn))
    info = analyze_kernel(fn)
    _bound_reduction(info, hints)
    return _config_for(info)


@_in_kernel_context
def candidate_configs(fn, hints: frozenset = frozenset()) -> list[TritonConfig]:
    """A few configs to autotune over, the default first (a combo: its default only)."""
    if is_combo(fn):
        return [_combo_config(_combo_parts(fn))]
    info = analyze_kernel(fn)
    _bound_reduction(info, hints)
    default = _config_for(info)
    found = [default]
    if not info.is_reduction:
        numel = next_pow2(info.xnumel)
        if default.yblock > 1:
            ynumel, xnumel = _tile_sizes(info)
            for y, x in ((32, 32), (64, 64), (16, 64), (64, 16)):
                y, x = min(y, next_pow2(ynumel)), min(x, next_pow2(xnumel))
                if y > 1 and cdiv(ynumel, y) <= MAX_GRID_Y:
                    found.append(TritonConfig(xblock=x, yblock=y, num_warps=_warps(x * y, high=8)))
            flat = min(1024, numel)
            found.append(TritonConfig(xblock=flat, num_warps=_warps(flat, high=4)))
        else:
            for x in (1024, 512, 256, 2048, 128):
                x = min(x, numel)
                found.append(TritonConfig(xblock=x, num_warps=_warps(x, high=8)))
    elif is_column_reduction(info):
        xpow, rpow = next_pow2(info.xnumel), next_pow2(info.rnumel)
        if rpow <= PERSISTENT_COLUMN_RBLOCK_LIMIT:
            for x in (32, 128, 256):
                x = min(x, xpow)
                found.append(TritonConfig(xblock=x, rblock=rpow, num_warps=_warps(x * rpow), persistent=True))
        else:
            if _two_level(info):
                for x, warps in ((32, 4), (16, 4), (32, 16)):
                    if min(x, xpow) * rpow <= MULTIPASS_COLUMN_TILE:
                        found.append(TritonConfig(xblock=min(x, xpow), rblock=rpow, num_warps=warps, persistent=True))
            for r, x, warps in ((8, 64, 4), (32, 64, 8), (16, 128, 8), (64, 32, 8), (64, 32, 16), (512, 32, 16), (8, 128, 4)):
                r, x = min(r, rpow), min(x, xpow)
                found.append(TritonConfig(xblock=x, rblock=r, num_warps=warps, persistent=False))
    elif next_pow2(info.rnumel) <= SMALL_ROW_RBLOCK:
        xpow, rpow = next_pow2(info.xnumel), next_pow2(info.rnumel)
        if rpow <= SMALL_ROW_RBLOCK:
            for x in (1, 8, 32):
                x = min(x, xpow)
                if x * rpow <= 2 * MAX_BLOCK:
                    found.append(TritonConfig(xblock=x, rblock=rpow, num_warps=_warps(x * rpow), persistent=True))
        if rpow > 64:
            for x, r in ((1, 1024), (1, 2048), (8, 512), (64, 16)):
                x, r = min(x, xpow), min(r, rpow // 2)
                found.append(TritonConfig(xblock=x, rblock=r, num_warps=_warps(x * r), persistent=False))
    elif info.dynamic_reduction and info.rnumel_bound is None:
        # Rows of unknown width: looped, wide chunks and several narrow rows a program.
        for x, r, warps in ((1, 2048, 16), (1, 4096, 16), (4, 512, 8), (16, 64, 4), (64, 16, 4)):
            found.append(TritonConfig(xblock=x, rblock=r, num_warps=warps, persistent=False))
    else:
        # Wide rows, one a program: the row in registers (one read) with
        # Inductor's warps or half, Inductor's looped config (RBLOCK 2048,
        # 16 warps) and a larger and a smaller chunk; up to 32768 wide, a
        # persistent row with 32 warps (Inductor's `add_persistent_rblock`).
        rpow = next_pow2(info.rnumel)
        if rpow <= PERSISTENT_RBLOCK_LIMIT:
            for warps in (_row_warps(rpow), _row_warps(rpow) // 2):
                found.append(TritonConfig(xblock=1, rblock=rpow, num_warps=warps, persistent=True))
        elif rpow <= 32768:
            found.append(TritonConfig(xblock=1, rblock=rpow, num_warps=32, persistent=True))
        for r, warps in ((2048, 16), (4096, 16), (2048, 8), (1024, 8)):
            if r < rpow:
                found.append(TritonConfig(xblock=1, rblock=r, num_warps=warps, persistent=False))
    if info.is_reduction:
        # The first looped candidate again with its row loads double-buffered
        # (`prefetch`), second in line so that the cap keeps it.
        looped = next((c for c in found if not c.persistent), None)
        if looped is not None:
            found.insert(1, dataclasses.replace(looped, prefetch=True))
    unique = []
    for config in found:
        if config not in unique:
            unique.append(config)
    return unique[:6]


def _check_config(info: KernelInfo, config: TritonConfig) -> TritonConfig:
    def pow2(name, value):
        if value < 1 or value & (value - 1):
            raise info.error(f"{name} must be a power of two, found {value}")

    pow2("xblock", config.xblock)
    pow2("yblock", config.yblock)
    pow2("rblock", config.rblock)
    pow2("num_warps", config.num_warps)
    if info.is_reduction:
        if config.yblock != 1:
            raise info.error("reductions are tiled [XBLOCK, RBLOCK]: yblock must be 1")
        if info.dynamic_reduction and (info.rnumel_bound is None or info.rnumel_bound > MAX_RNUMEL_BUCKET):
            # No RBLOCK covers every size of a symbolic range (or every size
            # above the last bucket): loop over it.
            if config.persistent:
                config = dataclasses.replace(config, persistent=False)
        elif config.persistent and config.rblock != next_pow2(info.rnumel):
            # A persistent reduction covers the whole reduction range with one block.
            config = dataclasses.replace(config, rblock=next_pow2(info.rnumel))
    elif config.rblock != 1:
        raise info.error("pointwise kernels have no reduction block: rblock must be 1")
    elif config.yblock > 1 and info.is_dynamic:
        raise info.error("kernels with symbolic sizes are tiled 1-D: yblock must be 1")
    if config.prefetch and config.persistent:  # pointwise configs count as persistent
        config = dataclasses.replace(config, prefetch=False)  # nothing to prefetch without a loop
    return config


def _launch(info: KernelInfo, emitter: KernelEmitter, config: TritonConfig):
    """(grid, grid function or None, TTIR parameter sources) of an emitted kernel."""
    params = []
    for i, kind in enumerate(info.arg_kinds):
        params.append(("arg", i))
        params += [("stride", i, k) for k in info.stride_params.get(i, ())]
    grid = emitter.grid()
    if grid is not None:
        return grid, None, params
    # Only the x axis (every output range) is symbolic: dynamic kernels are never 2-D tiled.
    fn_args = list(info.fn.regions[0].blocks[0].arguments)
    terms = []
    static = 1
    for extent in info.mixed:
        if isinstance(extent, int):
            static *= extent
        else:
            try:
                terms.append(host_expression(extent, fn_args))
            except HostExpressionError as error:
                raise info.error(str(error)) from None
    if static != 1:
        terms.append(str(static))
    numel = product(terms)
    grid = (f"cdiv({numel}, {config.xblock})" if config.xblock > 1 else numel, "1", "1")
    return grid, grid_function(grid, len(fn_args)), params


_FX_NAME = re.compile(r'^loc\("([A-Za-z_][A-Za-z0-9_]*?)(?:_\d+)?"')
MAX_NAMED_OPS = 8  # Inductor's `kernel_name_max_ops` is 10
MAX_NAMED_CHARS = 64  # Triton names its cached files after the kernel (a file name is at most 255 bytes)


def profile_name(fn, config: TritonConfig | ComboConfig) -> str:
    """A kernel's name for profilers, Inductor's way: `coil_<kind>_<ops>_<symbol>`.

    kind: `poi` (pointwise), `per` (persistent reduction), `red` (looped),
    `combo`; ops: the sorted names of the FX nodes its ops come from (their
    locations, without the node's counter: `exp_3` is `exp`), at most
    MAX_NAMED_OPS and MAX_NAMED_CHARS; the symbol (`fused_40`) keeps it unique in its graph and
    ties it to the IR. A profile then tells a forward `fused_2` from a
    backward one."""
    symbol = fn.attributes["sym_name"].value
    names: set[str] = set()

    def visit(op):
        match = _FX_NAME.match(str(op.location))
        if match:
            names.add(match.group(1).strip("_"))
        return ir.WalkResult.ADVANCE

    fn.operation.walk(visit)
    if isinstance(config, ComboConfig):
        kind = "combo"
    else:
        reduction = any(len(op.attributes["reduction_ranges"]) for op in fn.regions[0].blocks[0].operations
                        if op.operation.name == "coil.loop_nest")
        kind = "poi" if not reduction else "per" if config.persistent else "red"
    ops = ""
    for n in sorted(n for n in names if n)[:MAX_NAMED_OPS]:
        if len(ops) + len(n) + 1 > MAX_NAMED_CHARS:
            break
        ops = f"{ops}_{n}" if ops else n
    return f"coil_{kind}_{ops}_{symbol}" if ops else f"coil_{kind}_{symbol}"


@_in_kernel_context
def emit_kernel(
    fn,
    config: TritonConfig | None = None,
    aligned: frozenset[int] | None = None,
    hints: frozenset = frozenset(),
    profile_names: bool = False,
) -> TritonKernel:
    """TTIR for kernel function `fn` under `config` (the default config if None).

    `aligned`: indices of the buffer arguments whose pointers are 16-byte
    aligned (only those get `tt.divisibility = 16`); None means all.
    `hints`: launch specialization of a kernel over symbolic sizes (what its
    `hint_fn` returns for a call); none by default.
    `profile_names`: name the `tt.func` for profilers (`profile_name`), not
    by the kernel function's symbol.
    """
    if is_combo(fn):
        return _emit_combo(fn, config, aligned, profile_names)
    info = analyze_kernel(fn)
    _bound_reduction(info, hints)
    config = _check_config(info, config or _config_for(info))
    function_name = profile_name(fn, config) if profile_names else None
    # Symbolic sizes: 64-bit offsets throughout (no bound proves 32 bits enough).
    emitter = KernelEmitter(info, config, aligned, index64=info.is_dynamic, hints=hints, function_name=function_name)
    try:
        text = emitter.run()
    except NeedsInt64:
        emitter = KernelEmitter(info, config, aligned, index64=True, hints=hints, function_name=function_name)
        text = emitter.run()
    grid, grid_fn, params = _launch(info, emitter, config)
    hint_fn = hint_function(info, list(info.fn.regions[0].blocks[0].arguments)) if info.is_dynamic else None
    return TritonKernel(
        name=info.name,
        ttir=text,
        grid=grid,
        num_warps=config.num_warps,
        config=config,
        arg_kinds=list(info.arg_kinds),
        index_bits=64 if emitter.index64 else 32,
        params=params,
        grid_fn=grid_fn,
        hint_fn=hint_fn,
        hints=hints,
    )


def _emit_combo(fn, config: ComboConfig | None, aligned: frozenset[int] | None, profile_names: bool = False) -> TritonKernel:
    """A `coil.combo` kernel: each loop nest a private `tt.func` over its own range of
    program ids, in order, called from the public entry (which Triton inlines).

    A 1-D grid of the parts' programs; a part tiled 2-D splits its relative id
    into (x, y). The warp count is the combo's (each part's tile keeps its
    own XBLOCK). The entry's dispatch is a compare and a branch per part."""
    parts = _combo_parts(fn)
    if config is None:
        config = _combo_config(parts)
    if len(config.parts) != len(parts):
        raise TritonLoweringError(fn.attributes["sym_name"].value, f"{len(config.parts)} configs for {len(parts)} loop nests")
    name = fn.attributes["sym_name"].value
    emitted = []
    for k, (info, part_config) in enumerate(zip(parts, config.parts)):
        part_config = _check_config(info, part_config)
        part_config = TritonConfig(part_config.xblock, part_config.yblock, part_config.rblock, config.num_warps)
        emitted.append((info, part_config))
    emitters = [KernelEmitter(info, c, aligned, index64=False) for info, c in emitted]
    grids = [emitter.grid() for emitter in emitters]  # static: never None
    total = sum(gx * gy for gx, gy, _ in grids)
    if total >= 1 << 31:
        raise TritonLoweringError(name, f"a combo of {total} programs exceeds CUDA's grid (2^31-1)")
    # Parts with fewer programs take the first ids, so they start first: such a part's
    # programs are usually the long ones (a horizontal fusion of many small tensors, a
    # memory round trip each), which would otherwise trail behind the rest.
    order = sorted(range(len(parts)), key=lambda k: grids[k][0] * grids[k][1])
    lines = ["module {"]
    for k, ((info, c), emitter, (gx, gy, _)) in enumerate(zip(emitted, emitters, grids)):
        emitter.part = ComboPart(f"{name}_part{k}", gx, gy, small_grid=total < LATENCY_BOUND_PROGRAMS)
        try:
            lines += emitter.run_part()
        except NeedsInt64:
            lines += KernelEmitter(info, c, aligned, index64=True, part=emitter.part).run_part()
    # The entry takes the combo's arguments (every part's signature, without %pid).
    function_name = profile_name(fn, config) if profile_names else None
    entry = KernelEmitter(parts[0], emitted[0][1], aligned, index64=False, function_name=function_name)
    lines.append(f"  {entry.signature()} {{")
    parameters = entry.parameters()
    params = [p for p, _, _ in parameters]
    types = [type_ for _, type_, _ in parameters]
    lines.append("    %pid = tt.get_program_id x : i32")
    start = 0
    for k in order:
        gx, gy, _ = grids[k]
        count = gx * gy
        lines.append(f"    %start{k} = arith.constant {start} : i32")
        lines.append(f"    %end{k} = arith.constant {start + count} : i32")
        lines.append(f"    %above{k} = arith.cmpi sge, %pid, %start{k} : i32")
        lines.append(f"    %below{k} = arith.cmpi slt, %pid, %end{k} : i32")
        lines.append(f"    %in{k} = arith.andi %above{k}, %below{k} : i1")
        lines.append(f"    scf.if %in{k} {{")
        lines.append(f"      %local{k} = arith.subi %pid, %start{k} : i32")
        call_args = ", ".join(params + [f"%local{k}"])
        lines.append(f"      tt.call @{name}_part{k}({call_args}) : ({', '.join(types + ['i32'])}) -> ()")
        lines.append("    }")
        start += count
    lines += ["    tt.return", "  }", "}"]
    return TritonKernel(
        name=name,
        ttir="\n".join(lines) + "\n",
        grid=(total, 1, 1),
        num_warps=config.num_warps,
        config=config,
        arg_kinds=list(parts[0].arg_kinds),
        params=[("arg", i) for i in range(len(parts[0].arg_kinds))],
    )


def emit_module(module, configs: dict[str, TritonConfig] | None = None, aligned=None) -> list[TritonKernel]:
    """Every `coil.kernel` function of `module`, with default configs unless `configs` names one."""
    configs = configs or {}
    kernels = []
    for fn in kernel_functions(module):
        name = fn.attributes["sym_name"].value
        kernels.append(emit_kernel(fn, configs.get(name), aligned))
    return kernels
