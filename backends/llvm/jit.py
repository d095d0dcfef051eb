"""JIT-compiled CPU kernels: `compile_cpu_kernels(module)` -> callables on torch tensors.

The kernels of a module are lowered together (`pipeline.CPU_KERNEL_PIPELINE`)
and compiled by one `ExecutionEngine` at -O3 for the host CPU. With the
bare-pointer convention a kernel is a plain C function of one pointer per
buffer, an int64 per `index` argument and the `[begin, end)` slice of its
parallel dimension; ctypes calls it directly (see `_CompiledKernel`), so a
call costs one `data_ptr()` per tensor and the foreign call: under a
microsecond of Python.

A launch large enough to pay for it is split along the parallel dimension into
one slice per thread, run by torch's OpenMP pool or by Python threads
(`parallel.py`).

Compiled kernels are cached for the life of the process by the text of the
kernel function (its symbol name normalized), so an identical kernel in a later
graph is not compiled again.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from dataclasses import dataclass

from coil.dialects import make_context
from coil.dialects.ops import int_list
from coil.mlir import ExecutionEngine, ir

from . import parallel
from .lower_loops import kernel_functions, parallel_dim
from .pipeline import lower_kernels_to_llvm

# Launches with fewer (point x reduction) iterations than this run on one
# thread: waking a worker costs about as much as this much work.
PARALLEL_MIN_WORK = 1 << 17

# Slices of an innermost (vectorized) dimension start at multiples of this.
_SLICE_ALIGN = 64  # elements: whole cache lines and vectors per thread

_TORCH_DTYPES = {
    "f32": ("float32",),
    "f64": ("float64",),
    "f16": ("float16",),
    "bf16": ("bfloat16",),
    "i1": ("bool",),
    "i8": ("int8", "uint8"),
    "ui8": ("uint8",),
    "i16": ("int16",),
    "i32": ("int32",),
    "i64": ("int64",),
}


class KernelArgumentError(TypeError):
    """A kernel was called with tensors its compiled signature does not match."""


@dataclass(frozen=True)
class ArgSpec:
    """One kernel argument: a buffer (element type, shape, strides) or an index scalar."""

    kind: str  # "buffer" or "index"
    element_type: str = ""
    shape: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()


@dataclass
class CacheStats:
    compiled: int = 0  # kernels compiled by the JIT
    hits: int = 0  # kernels found already compiled
    engines: int = 0  # ExecutionEngines created (one per compile_cpu_kernels call with a miss)


_stats = CacheStats()
_cache: dict[str, "_CompiledKernel"] = {}
_cache_lock = threading.Lock()
_unique = [0]


def cache_stats() -> CacheStats:
    """A snapshot of the compilation cache's counters."""
    return CacheStats(_stats.compiled, _stats.hits, _stats.engines)


def clear_cache() -> None:
    """Forgets every compiled kernel and zeroes the counters (for tests)."""
    with _cache_lock:
        _cache.clear()
        _stats.compiled = _stats.hits = _stats.engines = 0


# ---------------------------------------------------------------------------
# Kernel signatures and cache keys


def _arg_spec(t: ir.Type) -> ArgSpec:
    if isinstance(t, ir.IndexType):
        return ArgSpec("index")
    if not isinstance(t, ir.MemRefType):
        raise ValueError(f"CPU kernels take memrefs and index scalars, found {t}")
    m = ir.MemRefType(t)
    if not m.has_static_shape:
        raise ValueError(f"CPU kernels need static shapes, found {t}")
    strides, offset = m.get_strides_and_offset()
    if offset != 0:
        raise ValueError(f"CPU kernel buffers must have offset 0 (pass the element's pointer), found {t}")
    return ArgSpec("buffer", str(m.element_type), tuple(m.shape), tuple(strides))


@dataclass(frozen=True)
class _KernelInfo:
    name: str
    key: str  # the text with the symbol name normalized: the cache key
    args: tuple[ArgSpec, ...]
    slice_extent: int  # extent of the parallel dimension (1 if none)
    slice_innermost: bool  # the parallel dimension is the innermost range
    work: int  # points x reduction points


def _kernel_info(fn: ir.OpView) -> _KernelInfo:
    name = fn.attributes["sym_name"].value
    text = str(fn)
    key = re.sub(r"@" + re.escape(name) + r"\(", "@kernel(", text, count=1)
    fn_type = ir.FunctionType(fn.attributes["function_type"].value)
    if len(fn_type.results):
        raise ValueError(f"kernel @{name} must return nothing")
    args = tuple(_arg_spec(t) for t in fn_type.inputs)
    ranges, reduction_ranges = [], []
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name == "coil.loop_nest":
            ranges = int_list(op.attributes["ranges"])
            reduction_ranges = int_list(op.attributes["reduction_ranges"])
            break
    dim = parallel_dim(ranges)
    points = 1
    for extent in ranges:
        points *= extent
    rpoints = 1
    for extent in reduction_ranges:
        rpoints *= extent
    return _KernelInfo(
        name=name,
        key=key,
        args=args,
        slice_extent=1 if dim is None else ranges[dim],
        slice_innermost=dim is not None and dim == len(ranges) - 1,
        work=points * max(rpoints, 1),
    )


# ---------------------------------------------------------------------------
# Callables


class _CompiledKernel:
    """A kernel's entry point in an engine, shared by every CpuKernel of the same text.

    The kernel's LLVM function is named `_mlir_<symbol>`, so the engine's
    `raw_lookup(symbol)` (which looks up `_mlir_<symbol>`, the name MLIR gives
    packed wrappers) returns the kernel itself: a plain C function taking one
    pointer per buffer, an int64 per index argument and the two slice bounds.
    ctypes calls it with the arguments directly, so a call shares no state
    with any other and needs no lock.
    """

    def __init__(self, unit: "_JitUnit", symbol: str, info: _KernelInfo):
        self.unit = unit
        self.symbol = symbol
        address = unit.engine.raw_lookup(symbol)
        if not address:
            raise RuntimeError(f"the JIT has no entry point for kernel {symbol}")
        arg_types = [ctypes.c_void_p if a.kind == "buffer" else ctypes.c_int64 for a in info.args]
        self.function = ctypes.CFUNCTYPE(None, *arg_types, ctypes.c_int64, ctypes.c_int64)(address)
        # The OpenMP slice body (parallel.slice_body_text), when the unit has one.
        self.slice_body = unit.engine.raw_lookup(_slice_body_name(symbol)) if unit.openmp else 0


def _slice_body_name(symbol: str) -> str:
    return symbol + "_slice"


def _call_method(kinds: tuple[str, ...], parallel: bool):
    """`__call__` for a kernel with these argument kinds, generated for a low per-call cost.

    For kinds ("buffer", "buffer", "index") and one slice it reads:
        def __call__(self, a0, a1, a2):
            if self.check: self.validate((a0, a1, a2))
            self._function(a0.data_ptr(), a1.data_ptr(), a2, self._begin, self._end)
    """
    params = [f"a{i}" for i in range(len(kinds))]
    values = [f"a{i}.data_ptr()" if kind == "buffer" else f"a{i}" for i, kind in enumerate(kinds)]
    signature = ", ".join(["self", *params])
    packed = "(" + "".join(f"{p}, " for p in params) + ")"
    if parallel:
        launch = "self._run_slices(" + "(" + "".join(f"{v}, " for v in values) + "))"
    else:
        launch = "self._function(" + "".join(f"{v}, " for v in values) + "self._begin, self._end)"
    source = (
        f"def __call__({signature}):\n"
        f"    if self.check: self.validate({packed})\n"
        f"    {launch}\n"
    )
    namespace: dict = {}
    exec(compile(source, f"<coil cpu kernel call {kinds}>", "exec"), namespace)
    namespace["__call__"].__doc__ = "Runs the kernel on tensors (one per buffer) and ints (one per index)."
    return namespace["__call__"]


_call_classes: dict[tuple, type] = {}


class CpuKernel:
    """A compiled kernel: `kernel(*args)` runs it on torch CPU tensors (outputs included).

    Arguments come in the kernel function's order: a tensor per memref
    argument, with exactly the sizes and strides of the memref type (the type
    was specialized to them), and a Python int per index argument. With
    `check`, every call validates them first (dtype, shape, strides, device).

    Each instance belongs to a subclass whose `__call__` is generated for its
    argument list (see `_call_method`): one `data_ptr()` per tensor and the
    foreign call, nothing else.
    """

    def __new__(cls, compiled: _CompiledKernel, info: _KernelInfo, threads: int | None = None, check: bool = False):
        if cls is CpuKernel:
            kinds = tuple(a.kind for a in info.args)
            parallel = len(_plan_slices(info, _thread_count(threads))) > 1
            key = (kinds, parallel)
            if key not in _call_classes:
                _call_classes[key] = type("CpuKernel", (CpuKernel,), {"__call__": _call_method(kinds, parallel)})
            cls = _call_classes[key]
        return super().__new__(cls)

    def __init__(self, compiled: _CompiledKernel, info: _KernelInfo, threads: int | None = None, check: bool = False):
        self._compiled = compiled
        self._function = compiled.function
        self.name = info.name
        self.arg_specs = info.args
        self.check = check
        self._slices = _plan_slices(info, _thread_count(threads))
        self._begin, self._end = self._slices[0]
        self._extent, self._align = info.slice_extent, _slice_align(info)
        self._slice_body = compiled.slice_body
        self._openmp = parallel.openmp_parallel() if compiled.slice_body else None

    @property
    def threads(self) -> int:
        """How many slices (threads) one call runs as."""
        return len(self._slices)

    @property
    def symbol(self) -> str:
        """The kernel's symbol in the JIT (shared by identical kernels)."""
        return self._compiled.symbol

    def __call__(self, *args) -> None:  # replaced by the generated method of each subclass
        raise NotImplementedError

    def _run_slices(self, values: tuple) -> None:
        if self._openmp is not None:
            context = (ctypes.c_int64 * (len(values) + 2))(*values, self._extent, self._align)
            self._openmp(self._slice_body, ctypes.addressof(context), len(self._slices), 0)
        else:
            parallel.workers.run(self._function, values, self._slices)

    def validate(self, args) -> None:
        """Checks the arguments against the compiled signature; raises KernelArgumentError."""
        if len(args) != len(self.arg_specs):
            raise KernelArgumentError(f"kernel {self.name} takes {len(self.arg_specs)} arguments, got {len(args)}")
        for i, (a, spec) in enumerate(zip(args, self.arg_specs)):
            if spec.kind == "index":
                if not isinstance(a, int):
                    raise KernelArgumentError(f"kernel {self.name}: argument {i} must be an int, got {type(a).__name__}")
                continue
            where = f"kernel {self.name}: argument {i}"
            if getattr(a, "device", None) is None or a.device.type != "cpu":
                raise KernelArgumentError(f"{where} must be a CPU tensor")
            dtype = str(a.dtype).removeprefix("torch.")
            if dtype not in _TORCH_DTYPES.get(spec.element_type, ()):
                raise KernelArgumentError(f"{where} has dtype {dtype}, the kernel expects {spec.element_type}")
            if tuple(a.shape) != spec.shape:
                raise KernelArgumentError(f"{where} has shape {tuple(a.shape)}, the kernel expects {spec.shape}")
            if 0 in spec.shape:
                continue  # an empty buffer is never read or written
            for size, stride, expected in zip(spec.shape, a.stride(), spec.strides):
                if size > 1 and stride != expected:
                    raise KernelArgumentError(
                        f"{where} has strides {tuple(a.stride())}, the kernel expects {spec.strides}"
                    )

    def __repr__(self) -> str:
        return f"CpuKernel({self.name}, {self.symbol}, threads={self.threads})"


def _thread_count(threads: int | None) -> int:
    return max(1, threads if threads is not None else (os.cpu_count() or 1))


def _slice_align(info: _KernelInfo) -> int:
    return _SLICE_ALIGN if info.slice_innermost else 1


def _plan_slices(info: _KernelInfo, threads: int) -> list[tuple[int, int]]:
    """[begin, end) ranges of the parallel dimension, one per thread."""
    extent = info.slice_extent
    if threads == 1 or extent <= 1 or info.work < PARALLEL_MIN_WORK:
        return [(0, extent)]
    align = _slice_align(info)
    n = min(threads, -(-extent // align))
    return [parallel.slice_bounds(extent, align, n, k) for k in range(n)]


# ---------------------------------------------------------------------------
# Compilation


class _JitUnit:
    """One engine and the MLIR context and module it was built from."""

    def __init__(self, text: str, expected_arity: dict[str, int], slice_bodies: dict[str, tuple[str, ...]]):
        self.context = make_context()
        self.openmp = parallel.openmp_parallel() is not None
        with self.context:
            self.module = ir.Module.parse(text)
            lower_kernels_to_llvm(self.module)
            self._check_calling_convention(expected_arity)
            if self.openmp:
                self._add_slice_bodies(slice_bodies)
            self.engine = ExecutionEngine(self.module, opt_level=3)

    def _add_slice_bodies(self, slice_bodies: dict[str, tuple[str, ...]]) -> None:
        """One OpenMP slice body per kernel (see parallel.slice_body_text)."""
        text = parallel.OPENMP_DECLARATIONS + "".join(
            parallel.slice_body_text("_mlir_" + _slice_body_name(symbol), "_mlir_" + symbol, kinds)
            for symbol, kinds in slice_bodies.items()
        )
        lowered = str(self.module).rstrip()
        assert lowered.endswith("}")
        self.module = ir.Module.parse(lowered[:-1] + text + "}\n")

    def _check_calling_convention(self, expected_arity: dict[str, int]) -> None:
        """Every kernel must take one pointer per buffer: its ctypes prototype passes exactly that."""
        for op in self.module.body.operations:
            if op.operation.name != "llvm.func":
                continue
            name = op.attributes["sym_name"].value
            if name in expected_arity:
                arity = len(op.regions[0].blocks[0].arguments)
                if arity != expected_arity[name]:
                    raise RuntimeError(
                        f"kernel {name} was lowered with {arity} LLVM arguments, expected "
                        f"{expected_arity[name]}: a buffer type fell back to the memref-descriptor convention"
                    )


def compile_cpu_kernels(
    module: ir.Module | ir.Operation | str,
    threads: int | None = None,
    check: bool = False,
) -> dict[str, CpuKernel]:
    """JIT-compiles every `coil.kernel` function of `module`; returns CpuKernels by function name.

    `module` holds kernel functions in the coil form (`coil.loop_nest`); it is
    not modified. `threads` caps how many threads one launch uses (None: all
    cores). `check` validates the tensors of every call against the kernel's
    signature (dtype, shape, strides), for debugging.
    """
    if isinstance(module, str):
        with make_context():
            return compile_cpu_kernels(ir.Module.parse(module), threads, check)
    op = module.operation
    infos = [_kernel_info(fn) for fn in kernel_functions(op)]
    compiled: dict[str, _CompiledKernel] = {}
    with _cache_lock:
        misses: dict[str, list[_KernelInfo]] = {}
        for info in infos:
            if info.key in _cache:
                compiled[info.name] = _cache[info.key]
                _stats.hits += 1
            elif info.key in misses:
                misses[info.key].append(info)
                _stats.hits += 1
            else:
                misses[info.key] = [info]
        if misses:
            parts, symbols, arity, slice_bodies = [], {}, {}, {}
            for key, group in misses.items():
                symbol = f"coil_cpu_kernel_{_unique[0]}"
                _unique[0] += 1
                symbols[key] = symbol
                # Named so that raw_lookup(symbol) finds the kernel itself (see _CompiledKernel).
                llvm_name = "_mlir_" + symbol
                arity[llvm_name] = len(group[0].args) + 2
                slice_bodies[symbol] = tuple(a.kind for a in group[0].args)
                parts.append(group[0].key.replace("@kernel(", f"@{llvm_name}(", 1))
            unit = _JitUnit("module {\n" + "\n".join(parts) + "\n}\n", arity, slice_bodies)
            _stats.engines += 1
            for key, group in misses.items():
                entry = _CompiledKernel(unit, symbols[key], group[0])
                _cache[key] = entry
                _stats.compiled += 1
                for info in group:
                    compiled[info.name] = entry
    return {info.name: CpuKernel(compiled[info.name], info, threads=threads, check=check) for info in infos}


__all__ = [
    "PARALLEL_MIN_WORK",
    "ArgSpec",
    "CacheStats",
    "CpuKernel",
    "KernelArgumentError",
    "cache_stats",
    "clear_cache",
    "compile_cpu_kernels",
]
