"""coil kernels -> Triton TTIR text: the GPU backend's code generator.

Each outlined kernel (`func.func` with `coil.kernel`, one `coil.loop_nest`)
becomes one `tt.func` in its own module, printed as text that
`triton.compile(path.ttir, target=GPUTarget("cuda", 90, 32))` compiles.

Tiling (Inductor's choices, power-of-two blocks, masked at the edges):
  - pointwise kernels: the flattened ranges in XBLOCK chunks, one per program;
    a [YBLOCK, XBLOCK] tile over program ids (x, y) when a load is contiguous
    along another dimension than the store, so both stay coalesced;
  - reductions: XBLOCK rows per program. Persistent when the reduction range
    fits one block (next_pow2(rnumel) <= PERSISTENT_RBLOCK_LIMIT = 4096, and
    <= 64 for reductions that read along the output index): the rows are one
    [XBLOCK, RBLOCK] tile and every level is one `tt.reduce`. Otherwise looped:
    `scf.for` over the reduction range in RBLOCK chunks with [XBLOCK, RBLOCK]
    accumulators and one `tt.reduce` at the end; ops after a reduce that need
    the reduction index (softmax's x / sum) run in a further loop.

Index math is simplified before it is emitted (see `indexing`), offsets are
32-bit unless some address needs 64, and the text is value-numbered, hoisted
and free of dead code and file locations (Triton hashes it for its cache).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from coil.mlir import ir

from .analysis import KernelInfo, TritonLoweringError, analyze_kernel, is_column_reduction, pointwise_tiling
from .lowering import MAX_GRID_Y, KernelEmitter, NeedsInt64, cdiv, next_pow2

__all__ = [
    "TritonConfig",
    "TritonKernel",
    "TritonLoweringError",
    "candidate_configs",
    "default_config",
    "emit_kernel",
    "emit_module",
    "kernel_functions",
]

PERSISTENT_RBLOCK_LIMIT = 4096
PERSISTENT_COLUMN_RBLOCK_LIMIT = 64
MAX_BLOCK = 4096  # elements per tile in the default configs



@dataclass(frozen=True)
class TritonConfig:
    """One tiling choice; hashable (a cache key)."""

    xblock: int  # power of two
    yblock: int = 1  # >1 only for 2-D tiled pointwise kernels
    rblock: int = 1  # reduction block (== next_pow2(rnumel) when persistent)
    num_warps: int = 4
    persistent: bool = True  # reductions: whole reduction in one block vs scf.for loop


@dataclass
class TritonKernel:
    name: str  # tt.func symbol (the coil kernel's symbol name)
    ttir: str  # a complete `module { tt.func public @name(...) {...} }`, no loc(...) file paths
    grid: tuple[int, int, int]
    num_warps: int
    config: TritonConfig
    arg_kinds: list[str]  # per coil kernel argument: "buffer" (-> !tt.ptr) or "index" (-> i64 scalar)
    index_bits: int = 32  # width of the offsets the kernel computes


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
    if not info.is_reduction:
        sizes = _tile_sizes(info)
        if sizes:
            ynumel, xnumel = sizes
            xblock = min(next_pow2(xnumel), 64)
            yblock = min(next_pow2(ynumel), max(32, 1024 // xblock))
            if yblock > 1 and cdiv(ynumel, yblock) <= MAX_GRID_Y:
                return TritonConfig(xblock=xblock, yblock=yblock, num_warps=_warps(xblock * yblock, high=4))
        xblock = min(1024, next_pow2(info.xnumel))
        return TritonConfig(xblock=xblock, num_warps=_warps(xblock, high=4))
    rblock = next_pow2(info.rnumel)
    column = is_column_reduction(info)
    limit = PERSISTENT_COLUMN_RBLOCK_LIMIT if column else PERSISTENT_RBLOCK_LIMIT
    xpow = next_pow2(info.xnumel)
    if rblock <= limit:
        xblock = min(xpow, max(1, 1024 // rblock), 1024)
        return TritonConfig(xblock=xblock, rblock=rblock, num_warps=_warps(xblock * rblock), persistent=True)
    if column:
        xblock = min(xpow, 64)
        return TritonConfig(xblock=xblock, rblock=16, num_warps=_warps(xblock * 16), persistent=False)
    return TritonConfig(xblock=1, rblock=2048, num_warps=8, persistent=False)


@_in_kernel_context
def default_config(fn) -> TritonConfig:
    """Size heuristics (Inductor-like) for kernel function `fn`."""
    return _config_for(analyze_kernel(fn))


@_in_kernel_context
def candidate_configs(fn) -> list[TritonConfig]:
    """A few configs to autotune over, the default first."""
    info = analyze_kernel(fn)
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
    else:
        xpow, rpow = next_pow2(info.xnumel), next_pow2(info.rnumel)
        if rpow <= PERSISTENT_RBLOCK_LIMIT:
            for x in (1, 8, 32):
                x = min(x, xpow)
                if x * rpow <= 2 * MAX_BLOCK:
                    found.append(TritonConfig(xblock=x, rblock=rpow, num_warps=_warps(x * rpow), persistent=True))
        if rpow > 64:
            for x, r in ((1, 1024), (1, 2048), (8, 512), (64, 16)):
                x, r = min(x, xpow), min(r, rpow // 2)
                found.append(TritonConfig(xblock=x, rblock=r, num_warps=_warps(x * r), persistent=False))
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
        if config.persistent and config.rblock != next_pow2(info.rnumel):
            # A persistent reduction covers the whole reduction range with one block.
            config = TritonConfig(config.xblock, 1, next_pow2(info.rnumel), config.num_warps, True)
    elif config.rblock != 1:
        raise info.error("pointwise kernels have no reduction block: rblock must be 1")
    return config


@_in_kernel_context
def emit_kernel(fn, config: TritonConfig | None = None, aligned: frozenset[int] | None = None) -> TritonKernel:
    """TTIR for kernel function `fn` under `config` (the default config if None).

    `aligned`: indices of the buffer arguments whose pointers are 16-byte
    aligned (only those get `tt.divisibility = 16`); None means all.
    """
    info = analyze_kernel(fn)
    config = _check_config(info, config or _config_for(info))
    emitter = KernelEmitter(info, config, aligned, index64=False)
    try:
        text = emitter.run()
    except NeedsInt64:
        emitter = KernelEmitter(info, config, aligned, index64=True)
        text = emitter.run()
    return TritonKernel(
        name=info.name,
        ttir=text,
        grid=emitter.grid(),
        num_warps=config.num_warps,
        config=config,
        arg_kinds=list(info.arg_kinds),
        index_bits=64 if emitter.index64 else 32,
    )


def emit_module(module, configs: dict[str, TritonConfig] | None = None, aligned=None) -> list[TritonKernel]:
    """Every `coil.kernel` function of `module`, with default configs unless `configs` names one."""
    configs = configs or {}
    kernels = []
    for fn in kernel_functions(module):
        name = fn.attributes["sym_name"].value
        kernels.append(emit_kernel(fn, configs.get(name), aligned))
    return kernels
