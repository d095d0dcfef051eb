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
import re
import threading
from dataclasses import dataclass

import torch

from coil.dialects import make_context
from coil.dialects.ops import DYNAMIC, is_dynamic, mixed_ranges
from coil.mlir import ExecutionEngine, ir

from . import parallel
from .lower_loops import dynamic_buffer_fields, is_dynamic_buffer, kernel_functions, loop_order, parallel_dim
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
    """One kernel argument: a buffer (element type, shape, strides) or an index scalar.

    A symbolic size or stride is DYNAMIC in `shape`/`strides`; the kernel then
    takes `t.size(k)` for each k in `size_dims` and `t.stride(k)` for each k in
    `stride_dims` as extra int64 arguments (see lower_loops.dynamic_buffer_fields).
    """

    kind: str  # "buffer" or "index"
    element_type: str = ""
    shape: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    size_dims: tuple[int, ...] = ()
    stride_dims: tuple[int, ...] = ()

    @property
    def dynamic(self) -> bool:
        return self.kind == "buffer" and is_dynamic_buffer_spec(self)


def is_dynamic_buffer_spec(spec: ArgSpec) -> bool:
    return any(is_dynamic(s) for s in spec.shape) or any(is_dynamic(s) for s in spec.strides)


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
    strides, offset = m.get_strides_and_offset()
    if offset != 0 and not is_dynamic(offset):
        raise ValueError(f"CPU kernel buffers must have offset 0 (pass the element's pointer), found {t}")
    if is_dynamic_buffer(m):
        size_dims, stride_dims = dynamic_buffer_fields(m)
        return ArgSpec("buffer", str(m.element_type), tuple(m.shape), tuple(strides), size_dims, stride_dims)
    return ArgSpec("buffer", str(m.element_type), tuple(m.shape), tuple(strides))


@dataclass(frozen=True)
class _KernelInfo:
    name: str
    key: str  # the text with the symbol name normalized: the cache key
    args: tuple[ArgSpec, ...]
    slice_extent: int  # extent of the parallel dimension (1 if none; DYNAMIC if symbolic)
    slice_innermost: bool  # the parallel dimension is the innermost range
    work: int  # points x reduction points (the static factor where some extents are symbolic)
    # Symbolic extents, as positions of the kernel's index arguments (None: not an argument).
    slice_extent_arg: int | None = None
    work_args: tuple[int | None, ...] = ()

    @property
    def dynamic(self) -> bool:
        """Whether the launch depends on sizes known only at call time."""
        return is_dynamic(self.slice_extent) or bool(self.work_args) or any(a.dynamic for a in self.args)

    def llvm_kinds(self) -> tuple[str, ...]:
        """The lowered function's argument kinds, slice bounds excluded: the kernel's own
        arguments, then the sizes and strides of its dynamic buffers."""
        extra = sum(len(a.size_dims) + len(a.stride_dims) for a in self.args)
        return tuple(a.kind for a in self.args) + ("index",) * extra


def _vector_dims(fn: ir.OpView, rank: int) -> tuple[int, ...]:
    """The outer ranges the kernel's innermost loops walk (lower_loops.loop_order)."""
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name == "coil.loop_nest":
            inner, tiled = loop_order(op)
            return (inner,) if tiled is None else (inner, tiled)
    return (rank - 1,)


def _kernel_info(fn: ir.OpView) -> _KernelInfo:
    name = fn.attributes["sym_name"].value
    # Printed as verified (the pipeline verified it): `str` would verify the whole
    # module again for every kernel.
    text = fn.operation.get_asm(assume_verified=True)
    key = re.sub(r"@" + re.escape(name) + r"\(", "@kernel(", text, count=1)
    fn_type = ir.FunctionType(fn.attributes["function_type"].value)
    if len(fn_type.results):
        raise ValueError(f"kernel @{name} must return nothing")
    args = tuple(_arg_spec(t) for t in fn_type.inputs)
    block_args = list(fn.regions[0].blocks[0].arguments)
    ranges, reduction_ranges = [], []
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name == "coil.loop_nest":
            ranges = mixed_ranges(op, "ranges")
            reduction_ranges = mixed_ranges(op, "reduction_ranges")
            break

    def arg_position(value: ir.Value) -> int | None:
        for k, a in enumerate(block_args):
            if a == value:
                return k
        return None

    static = [e if isinstance(e, int) else DYNAMIC for e in ranges]
    dim = parallel_dim(static)
    points, rpoints, work_args = 1, 1, []
    for extent in ranges:
        if isinstance(extent, int):
            points *= extent
        else:
            work_args.append(arg_position(extent))
    for extent in reduction_ranges:
        if isinstance(extent, int):
            rpoints *= extent
        else:
            work_args.append(arg_position(extent))
    work = points * max(rpoints, 1)
    extent = 1 if dim is None else static[dim]
    return _KernelInfo(
        name=name,
        key=key,
        args=args,
        slice_extent=extent,
        slice_innermost=dim is not None and dim in _vector_dims(fn, len(ranges)),
        work=work,
        slice_extent_arg=arg_position(ranges[dim]) if dim is not None and is_dynamic(extent) else None,
        work_args=tuple(work_args),
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
        arg_types = [ctypes.c_void_p if kind == "buffer" else ctypes.c_int64 for kind in info.llvm_kinds()]
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
    return _exec_call(source, kinds)


def _exec_call(source: str, tag) -> object:
    namespace: dict = {}
    exec(compile(source, f"<coil cpu kernel call {tag}>", "exec"), namespace)
    namespace["__call__"].__doc__ = "Runs the kernel on tensors (one per buffer) and ints (one per index)."
    return namespace["__call__"]


# Slice end passed when a symbolic extent is no kernel argument: the kernel
# clamps its slice to the extent it computes.
_UNKNOWN_EXTENT = 1 << 62


def _dynamic_call_method(info: _KernelInfo):
    """`__call__` for a kernel whose sizes are known only at call time.

    Besides one `data_ptr()` per tensor it passes `t.size(k)`/`t.stride(k)` of
    each dynamic buffer and computes the parallel extent and the work from the
    index arguments, to decide at each call whether and how to split:
        def __call__(self, a0, a1, a2):
            if self.check: self.validate((a0, a1, a2))
            extent = a2
            values = (a0.data_ptr(), a1.data_ptr(), a2, a0.size(0), a1.stride(0))
            if self._parallel and extent > 1 and self._work * a2 >= self._min_work:
                self._run_dynamic(values, extent)
            else:
                self._function(*values, 0, extent)
    """
    kinds = tuple(a.kind for a in info.args)
    params = [f"a{i}" for i in range(len(kinds))]
    values = [f"a{i}.data_ptr()" if kind == "buffer" else f"a{i}" for i, kind in enumerate(kinds)]
    for i, spec in enumerate(info.args):
        values += [f"a{i}.size({k})" for k in spec.size_dims]
        values += [f"a{i}.stride({k})" for k in spec.stride_dims]
    if is_dynamic(info.slice_extent):
        extent = f"a{info.slice_extent_arg}" if info.slice_extent_arg is not None else str(_UNKNOWN_EXTENT)
    else:
        extent = str(info.slice_extent)
    if any(k is None for k in info.work_args) or info.slice_extent == 1:
        work = "0"  # unknown: run on one thread
    else:
        work = " * ".join(["self._work"] + [f"a{k}" for k in info.work_args])
    signature = ", ".join(["self", *params])
    packed = "(" + "".join(f"{p}, " for p in params) + ")"
    source = (
        f"def __call__({signature}):\n"
        f"    if self.check: self.validate({packed})\n"
        f"    extent = {extent}\n"
        f"    values = ({''.join(f'{v}, ' for v in values)})\n"
        f"    if self._parallel and extent > 1 and {work} >= self._min_work:\n"
        f"        self._run_dynamic(values, extent)\n"
        f"    else:\n"
        f"        self._function(*values, 0, extent)\n"
    )
    return _exec_call(source, (kinds, "dynamic"))


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
            if info.dynamic:
                key = ("dynamic", info.args, info.slice_extent, info.slice_extent_arg, info.work_args)
                make = lambda: _dynamic_call_method(info)  # noqa: E731
            else:
                kinds = tuple(a.kind for a in info.args)
                parallel = len(_plan_slices(info, _thread_count(threads))) > 1
                key = (kinds, parallel)
                make = lambda: _call_method(kinds, parallel)  # noqa: E731
            if key not in _call_classes:
                _call_classes[key] = type("CpuKernel", (CpuKernel,), {"__call__": make()})
            cls = _call_classes[key]
        return super().__new__(cls)

    def __init__(self, compiled: _CompiledKernel, info: _KernelInfo, threads: int | None = None, check: bool = False):
        self._compiled = compiled
        self._function = compiled.function
        self.name = info.name
        self.arg_specs = info.args
        self.check = check
        self._dynamic = info.dynamic
        self._threads = _thread_count(threads)
        self._slices = [(0, 1)] if info.dynamic else _plan_slices(info, self._threads)
        self._begin, self._end = self._slices[0]
        self._extent, self._align = info.slice_extent, _slice_align(info)
        self._slice_body = compiled.slice_body
        self._openmp = parallel.openmp_parallel() if compiled.slice_body else None
        # What the dynamic __call__ reads to decide on a split (see _dynamic_call_method).
        self._parallel = info.dynamic and self._threads > 1
        self._work = info.work
        self._min_work = PARALLEL_MIN_WORK

    @property
    def threads(self) -> int:
        """How many slices (threads) one call runs as (at most, for a kernel with symbolic sizes)."""
        if self._dynamic:
            return self._threads if self._parallel else 1
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

    def _run_dynamic(self, values: tuple, extent: int) -> None:
        """One call split into slices of an extent known only now (as _run_slices does)."""
        n = min(self._threads, -(-extent // self._align))
        if self._openmp is not None:
            context = (ctypes.c_int64 * (len(values) + 2))(*values, extent, self._align)
            self._openmp(self._slice_body, ctypes.addressof(context), n, 0)
        else:
            slices = [parallel.slice_bounds(extent, self._align, n, k) for k in range(n)]
            parallel.workers.run(self._function, values, slices)

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
            shape = tuple(a.shape)
            if len(shape) != len(spec.shape) or any(
                s != e and not is_dynamic(e) for s, e in zip(shape, spec.shape)
            ):
                expected = tuple("?" if is_dynamic(e) else e for e in spec.shape)
                raise KernelArgumentError(f"{where} has shape {shape}, the kernel expects {expected}")
            if 0 in shape:
                continue  # an empty buffer is never read or written
            for size, stride, expected in zip(shape, a.stride(), spec.strides):
                if size > 1 and stride != expected and not is_dynamic(expected):
                    raise KernelArgumentError(
                        f"{where} has strides {tuple(a.stride())}, the kernel expects {spec.strides}"
                    )

    def __repr__(self) -> str:
        return f"CpuKernel({self.name}, {self.symbol}, threads={self.threads})"


def _thread_count(threads: int | None) -> int:
    """`threads`, else torch's intra-op thread count when the kernel is compiled
    (`torch.set_num_threads`, as Inductor's C++ kernels read it)."""
    return max(1, threads if threads is not None else torch.get_num_threads())


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


# f32 -> bf16, rounding to nearest even (NaN -> 0x7fc0, as c10::BFloat16 does).
# The pipeline writes bf16 conversions as integer ops (arith-expand), but LLVM
# may fold them back into an `fptrunc` to bfloat, which x86 without AVX512-BF16
# lowers to a call of `__truncsfbf2`: compiler-rt and libgcc 13 have it, the
# libgcc 12 of Debian 12 does not, and the JIT then finds no such symbol. Each
# unit that uses bf16 defines it (optnone: its own integer ops must not be
# folded into the call they implement).
BF16_TRUNCATION_HELPER = """
llvm.func @__truncsfbf2(%x: f32) -> bf16 attributes {passthrough = ["noinline", "optnone"]} {
  %c16 = llvm.mlir.constant(16 : i32) : i32
  %c1 = llvm.mlir.constant(1 : i32) : i32
  %half = llvm.mlir.constant(32767 : i32) : i32
  %nan = llvm.mlir.constant(32704 : i16) : i16
  %bits = llvm.bitcast %x : f32 to i32
  %high = llvm.lshr %bits, %c16 : i32
  %odd = llvm.and %high, %c1 : i32
  %bias = llvm.add %odd, %half : i32
  %rounded = llvm.add %bits, %bias : i32
  %top = llvm.lshr %rounded, %c16 : i32
  %narrow = llvm.trunc %top : i32 to i16
  %is_nan = llvm.fcmp "uno" %x, %x : f32
  %result = llvm.select %is_nan, %nan, %narrow : i1, i16
  %value = llvm.bitcast %result : i16 to bf16
  llvm.return %value : bf16
}
"""


class _JitUnit:
    """One engine and the MLIR context and module it was built from."""

    def __init__(self, text: str, expected_arity: dict[str, int], slice_bodies: dict[str, tuple[str, ...]]):
        self.context = make_context()
        self.openmp = parallel.openmp_parallel() is not None
        with self.context:
            self.module = ir.Module.parse(text)
            lower_kernels_to_llvm(self.module)
            self._check_calling_convention(expected_arity)
            # LLVM-dialect functions added to the lowered module, in one print and reparse.
            added = self._slice_bodies(slice_bodies) if self.openmp else ""
            if "bf16" in text:  # a bf16 buffer in the kernels (the lowered types follow them)
                added += BF16_TRUNCATION_HELPER
            if added:
                lowered = str(self.module).rstrip()
                assert lowered.endswith("}")
                self.module = ir.Module.parse(lowered[:-1] + added + "}\n")
            self.engine = ExecutionEngine(self.module, opt_level=3)

    @staticmethod
    def _slice_bodies(slice_bodies: dict[str, tuple[str, ...]]) -> str:
        """One OpenMP slice body per kernel (see parallel.slice_body_text), as text."""
        return parallel.OPENMP_DECLARATIONS + "".join(
            parallel.slice_body_text("_mlir_" + _slice_body_name(symbol), "_mlir_" + symbol, kinds)
            for symbol, kinds in slice_bodies.items()
        )

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
    not modified. `threads` caps how many threads one launch uses (None:
    `torch.get_num_threads()` at this call). `check` validates the tensors of
    every call against the kernel's signature (dtype, shape, strides), for
    debugging.
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
                arity[llvm_name] = len(group[0].llvm_kinds()) + 2
                slice_bodies[symbol] = group[0].llvm_kinds()
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
