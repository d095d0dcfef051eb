"""JIT-compiled CPU kernels: `compile_cpu_kernels(module)` -> callables on torch tensors.

The kernels of a module are lowered together (`pipeline.CPU_KERNEL_PIPELINE`)
and compiled by one `ExecutionEngine` at -O3 for the host CPU. A kernel is
called through the engine's packed entry point `_mlir_<name>(void **args)`;
with the bare-pointer convention its arguments are one pointer per buffer, the
`index` scalars, and the `[begin, end)` slice of its parallel dimension. The
argument array is laid out once per kernel, so a call writes the tensors'
`data_ptr()`s into it and jumps: a few microseconds of Python.

A launch large enough to pay for it is split along the parallel dimension into
one slice per thread; ctypes releases the GIL during the call, so the slices
run on all cores.

Compiled kernels are cached for the life of the process by the text of the
kernel function (its symbol name normalized), so an identical kernel in a later
graph is not compiled again.
"""

from __future__ import annotations

import ctypes
import os
import queue
import re
import threading
from dataclasses import dataclass

from coil.dialects import make_context
from coil.dialects.ops import int_list
from coil.mlir import ExecutionEngine, ir

from .lower_loops import kernel_functions, parallel_dim
from .pipeline import lower_kernels_to_llvm

# Launches with fewer (point x reduction) iterations than this run on one
# thread: waking a worker costs about as much as this much work.
PARALLEL_MIN_WORK = 1 << 16

# Slices of an innermost (vectorized) dimension start at multiples of this.
_SLICE_ALIGN = 64

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
    key: str
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
# Threads


class _Workers:
    """Daemon threads that run ctypes calls; the GIL is released during each call."""

    def __init__(self):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def ensure(self, n: int) -> None:
        if self._count >= n:
            return
        with self._lock:
            while self._count < n:
                threading.Thread(target=self._loop, name=f"coil-cpu-{self._count}", daemon=True).start()
                self._count += 1

    def _loop(self) -> None:
        while True:
            fn, arg, done = self._tasks.get()
            try:
                fn(arg)
            finally:
                done.put(None)

    def submit(self, fn, arg, done: queue.SimpleQueue) -> None:
        self._tasks.put((fn, arg, done))


_workers = _Workers()


# ---------------------------------------------------------------------------
# Callables


_PACKED = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _CompiledKernel:
    """A kernel's entry point in an engine, shared by every CpuKernel of the same text."""

    def __init__(self, unit: "_JitUnit", symbol: str):
        self.unit = unit
        self.symbol = symbol
        address = unit.engine.raw_lookup(symbol)
        if not address:
            raise RuntimeError(f"the JIT has no entry point for kernel {symbol}")
        self.function = _PACKED(address)


class _ArgBlock:
    """The packed argument array of one call: `pointers[i]` points at `values[i]`.

    The last two values are the slice bounds.
    """

    def __init__(self, n_args: int, begin: int, end: int):
        n = n_args + 2
        self.values = (ctypes.c_int64 * n)()
        base = ctypes.addressof(self.values)
        self.pointers = (ctypes.c_void_p * n)(*[base + 8 * i for i in range(n)])
        self.address = ctypes.addressof(self.pointers)
        self.values[n_args] = begin
        self.values[n_args + 1] = end


class CpuKernel:
    """A compiled kernel: `kernel(*args)` runs it on torch CPU tensors (outputs included).

    Arguments come in the kernel function's order: a tensor per memref
    argument, with exactly the sizes and strides of the memref type (the type
    was specialized to them), and a Python int per index argument.
    """

    def __init__(self, compiled: _CompiledKernel, info: _KernelInfo, threads: int | None = None, check: bool = False):
        self._compiled = compiled
        self._function = compiled.function
        self.name = info.name
        self.arg_specs = info.args
        self.check = check
        self._n_args = len(info.args)
        self._all_buffers = all(a.kind == "buffer" for a in info.args)
        n_threads = threads if threads is not None else (os.cpu_count() or 1)
        self._slices = self._plan_slices(info, max(1, n_threads))
        self._blocks = [_ArgBlock(self._n_args, b, e) for b, e in self._slices]
        self._lock = threading.Lock()
        if len(self._slices) > 1:
            _workers.ensure(len(self._slices) - 1)
            self._done: queue.SimpleQueue = queue.SimpleQueue()

    @property
    def threads(self) -> int:
        """How many slices (threads) one call runs as."""
        return len(self._slices)

    @staticmethod
    def _plan_slices(info: _KernelInfo, threads: int) -> list[tuple[int, int]]:
        extent = info.slice_extent
        if threads == 1 or extent <= 1 or info.work < PARALLEL_MIN_WORK:
            return [(0, extent)]
        align = _SLICE_ALIGN if info.slice_innermost else 1
        units = -(-extent // align)
        n = min(threads, units)
        bounds = [min(extent, (units * k // n) * align) for k in range(n + 1)]
        return [(bounds[k], bounds[k + 1]) for k in range(n) if bounds[k] < bounds[k + 1]]

    def _fill(self, values, args) -> None:
        if self._all_buffers:
            for i, a in enumerate(args):
                values[i] = a.data_ptr()
        else:
            for i, (a, spec) in enumerate(zip(args, self.arg_specs)):
                values[i] = a.data_ptr() if spec.kind == "buffer" else int(a)

    def __call__(self, *args) -> None:
        if len(args) != self._n_args:
            raise KernelArgumentError(f"kernel {self.name} takes {self._n_args} arguments, got {len(args)}")
        if self.check:
            self.validate(args)
        if not self._lock.acquire(blocking=False):
            # Another thread is inside this kernel: use fresh argument arrays.
            self._run([_ArgBlock(self._n_args, b, e) for b, e in self._slices], args, queue.SimpleQueue())
            return
        try:
            self._run(self._blocks, args, getattr(self, "_done", None))
        finally:
            self._lock.release()

    def _run(self, blocks: list[_ArgBlock], args, done) -> None:
        first = blocks[0]
        self._fill(first.values, args)
        if len(blocks) == 1:
            self._function(first.address)
            return
        n = self._n_args
        for block in blocks[1:]:
            ctypes.memmove(block.values, first.values, 8 * n)
            _workers.submit(self._function, block.address, done)
        self._function(first.address)
        for _ in range(len(blocks) - 1):
            done.get()

    def validate(self, args) -> None:
        """Checks the arguments against the compiled signature; raises KernelArgumentError."""
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
        return f"CpuKernel({self.name}, {self._compiled.symbol}, threads={self.threads})"


# ---------------------------------------------------------------------------
# Compilation


class _JitUnit:
    """One engine and the MLIR context and module it was built from."""

    def __init__(self, text: str, expected_arity: dict[str, int]):
        self.context = make_context()
        with self.context:
            self.module = ir.Module.parse(text)
            lower_kernels_to_llvm(self.module)
            self._check_calling_convention(expected_arity)
            self.engine = ExecutionEngine(self.module, opt_level=3)

    def _check_calling_convention(self, expected_arity: dict[str, int]) -> None:
        """Every kernel must take one pointer per buffer: the packed call writes exactly that."""
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
    texts = {info.name: str(fn) for info, fn in zip(infos, kernel_functions(op))}
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
            parts, symbols, arity = [], {}, {}
            for key, group in misses.items():
                symbol = f"coil_cpu_kernel_{_unique[0]}"
                _unique[0] += 1
                symbols[key] = symbol
                arity[symbol] = len(group[0].args) + 2
                name = group[0].name
                parts.append(re.sub(r"@" + re.escape(name) + r"\(", f"@{symbol}(", texts[name], count=1))
            unit = _JitUnit("module {\n" + "\n".join(parts) + "\n}\n", arity)
            _stats.engines += 1
            for key, group in misses.items():
                entry = _CompiledKernel(unit, symbols[key])
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
