"""Compiled GPU kernels: TTIR text -> `triton.compile` -> launches on the current CUDA stream.

This module and `compile_pool.py` are the ones that call Triton's compiler and
launcher, which are Triton-internal APIs (`triton.compile` of a `.ttir` file,
`CompiledKernel[grid](*args)`), so a change of Triton version is a change
there only. `emit.py` owns what the TTIR says; this module owns when it is
compiled, for which pointers, and how it is launched.

- Alignment. A pointer argument gets `tt.divisibility = 16` (so Triton
  vectorizes its accesses) only when the tensor's data pointer is 16-byte
  aligned. A kernel is compiled for all-aligned arguments up front, and
  specialized lazily, per alignment signature, when a call passes a view whose
  storage offset breaks the alignment (Inductor guards the same way).
- Launching. Through torch's C++ static CUDA launcher (`_StaticLauncher`,
  Inductor's launch path: one C call with the parameter codes read off the
  TTIR signature) where torch has it and the kernel needs no scratch memory or
  launch hooks (a profiler's); else Triton's `CompiledKernel[grid](*args)`.
  COIL_STATIC_LAUNCHER=0 forces Triton's.
- Caching. In process, by (TTIR, target, num_warps). On disk, Triton's own
  cache, keyed by a hash of the TTIR text, the target and the options: the
  text carries no file paths, so a second process finds the cubin and does
  not recompile.
- Compiling a graph. `compile_gpu_kernels` sends each kernel's TTIR to a pool
  of worker processes as soon as it is emitted (`compile_pool.CacheFill`: only
  what Triton's disk cache lacks), then compiles every kernel in process, from
  the cache the workers filled; with autotuning, the candidates are compiled
  in the pool too, and timed at the first launch as before. `compile_many` does
  the same for a list of (TTIR, target, num_warps).
- Tuning. Block sizes and warps come from `emit.default_config`; with
  `coil.config.autotune` each kernel's `emit.candidate_configs` are compiled
  and timed on the device at the kernel's first launch (on copies of the
  buffers it writes, so in-place kernels are not run twice on live data), and
  the winner is cached in process and on disk (`$COIL_CACHE_DIR/autotune`);
  with a debug directory each candidate's time goes to
  `<kernel>.autotune.json` there (`benchmarks/kernel_profile.py --autotune`).
- Symbolic sizes. A kernel is emitted once for every size: its grid is computed
  per call from the `index` arguments (`emit.TritonKernel.launch_grid`) and a
  buffer whose type leaves strides open is passed as its pointer followed by
  `t.stride(k)` (`launch.expand`). Like Triton's JIT, a call is specialized
  on its i64 parameters divisible by 16, on open strides that are 1 or equal
  the loop's row-major strides, and on the power-of-two bucket of a symbolic
  reduction size, which picks its config (`launch.hint_function`): one
  compiled variant per hint set, next to the alignment signature.
  Autotuning times the candidates at the first call of each reduction-size
  bucket (every candidate is correct at every size of its bucket) and keeps
  the winner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from coil.mlir import ir

from . import compile_pool

if TYPE_CHECKING:
    from . import emit

# Pointers aligned to this many bytes get the divisibility hint.
POINTER_ALIGNMENT = 16


def cache_dir() -> str:
    """coil's on-disk cache ($COIL_CACHE_DIR, default ~/.cache/coil)."""
    return os.environ.get("COIL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "coil")


def _atomic_write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def device_target(device: torch.device):
    """Triton's GPUTarget for a CUDA device."""
    from triton.backends.compiler import GPUTarget

    major, minor = torch.cuda.get_device_capability(device)
    return GPUTarget("cuda", major * 10 + minor, 32)


_compiled: dict[tuple, object] = {}
_compile_lock = threading.Lock()


def ttir_path(ttir: str) -> str:
    """`ttir` in a file under coil's cache, named by its content (what `triton.compile` reads)."""
    digest = hashlib.sha256(ttir.encode()).hexdigest()[:32]
    path = os.path.join(cache_dir(), "ttir", f"{digest}.ttir")
    if not os.path.exists(path):
        _atomic_write(path, ttir)
    return path


def compile_ttir(ttir: str, target, num_warps: int):
    """A `triton.compiler.CompiledKernel` for `ttir` (cached in process and on disk)."""
    import triton

    key = (ttir, repr(target), num_warps)
    kernel = _compiled.get(key)
    if kernel is not None:
        return kernel
    with _compile_lock:
        kernel = _compiled.get(key)
        if kernel is None:
            compile_pool.sync_ptxas_version(target)
            kernel = triton.compile(ttir_path(ttir), target=target, options={"num_warps": num_warps})
            _compiled[key] = kernel
    return kernel


def _send(fill: compile_pool.CacheFill, ttir: str, target, num_warps: int) -> None:
    """Has the pool compile `ttir` into Triton's disk cache, unless this process has it."""
    if (ttir, repr(target), num_warps) not in _compiled:
        fill.add(ttir_path(ttir), target, num_warps)


def compile_many(jobs) -> list:
    """`compile_ttir` of each (ttir, target, num_warps) of `jobs`, those that neither this
    process nor Triton's disk cache has compiled first in the compile pool, concurrently.
    The same kernels, and the same error for a TTIR that does not compile, as one by one."""
    jobs = list(jobs)
    fill = compile_pool.CacheFill(use_pool=len({(t, repr(g), w) for t, g, w in jobs}) > 1)
    for ttir, target, num_warps in jobs:
        _send(fill, ttir, target, num_warps)
    fill.wait()
    return [compile_ttir(*job) for job in jobs]


def _stored_arguments(fn) -> list[int]:
    """Indices of the kernel arguments that `coil.store` writes."""
    arguments = list(fn.regions[0].blocks[0].arguments)
    stored = set()

    def visit(op):
        if op.name == "coil.store":
            dest = op.operands[1]
            for i, a in enumerate(arguments):
                if a == dest:
                    stored.add(i)
        return ir.WalkResult.ADVANCE

    fn.operation.walk(visit)
    return sorted(stored)


# TTIR parameter type -> the argument code of torch's static CUDA launcher.
_STATIC_ARG_CODES = {"i1": "i", "i8": "b", "i16": "h", "i32": "i", "i64": "l", "f32": "f", "f64": "d"}
_FUNC_SIGNATURE = re.compile(r"tt\.func public @\w+\((.*)\)\s*(?:attributes.*)?\{\s*$", re.M)


def _parameter_codes(ttir: str) -> str | None:
    """One static-launcher code per parameter of the kernel's `tt.func` ("O" a pointer), or None."""
    match = _FUNC_SIGNATURE.search(ttir)
    if match is None:
        return None
    codes = []
    for parameter in re.split(r",\s*(?=%)", match.group(1)) if match.group(1).strip() else []:
        type_text = parameter.split(":", 1)[1].strip().split(" {", 1)[0].strip()
        if type_text.startswith("!tt.ptr"):
            codes.append("O")
        elif type_text in _STATIC_ARG_CODES:
            codes.append(_STATIC_ARG_CODES[type_text])
        else:
            return None
    return "".join(codes)


class _StaticLauncher:
    """Launches a compiled kernel through torch's C++ launcher (what Inductor uses):
    one C call per launch, where Triton's Python launcher looks up the device and
    stream, builds launch metadata and allocates scratch space on every call
    (about 30 us of host time a launch, which a small training step in bfloat16,
    126 launches, spent more than its GPU time on)."""

    def __init__(self, compiled, ttir: str, device: torch.device):
        from torch._C import _StaticCudaLauncher

        codes = _parameter_codes(ttir)
        metadata = compiled.metadata
        if codes is None or getattr(metadata, "num_ctas", 1) != 1:
            raise NotImplementedError("kernel signature not supported by the static launcher")
        # Triton's cubins take trailing scratch pointers that coil's kernels never
        # use (size 0): passed as null.
        for name in ("global_scratch_size", "profile_scratch_size"):
            if hasattr(metadata, name):
                if getattr(metadata, name) > 0:
                    raise NotImplementedError(f"kernel needs {name}")
                codes += "O"
        self.scratch = (None,) * (len(codes) - len(_parameter_codes(ttir)))
        digest = hashlib.sha256(compiled.kernel).hexdigest()[:32]
        path = os.path.join(cache_dir(), "cubin", f"{digest}.cubin")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(compiled.kernel)
            os.replace(tmp, path)
        self.index = device.index if device.index is not None else torch.cuda.current_device()
        loaded = _StaticCudaLauncher._load_kernel(path, metadata.name, metadata.shared, self.index)
        # (module, function, registers, spills); torch before 2.12: (function, registers, spills).
        self.function = loaded[1] if len(loaded) == 4 else loaded[0]
        self.module = loaded[0] if len(loaded) == 4 else None
        self.launch_kernel = _StaticCudaLauncher._launch_kernel
        self.codes, self.num_warps, self.shared = codes, metadata.num_warps, metadata.shared
        self.stream = torch._C._cuda_getCurrentRawStream

    def __call__(self, grid, args) -> None:
        self.launch_kernel(
            self.function, grid[0], grid[1], grid[2], self.num_warps, self.shared, self.codes,
            (*args, *self.scratch), self.stream(self.index),
        )


def _static_launcher(compiled, ttir: str, device: torch.device | None):
    """A `_StaticLauncher`, or None where torch or the kernel does not allow one
    (no CUDA device, an older torch, hooks installed, scratch memory)."""
    if device is None or device.type != "cuda" or os.environ.get("COIL_STATIC_LAUNCHER", "1") == "0":
        return None
    try:
        from triton import knobs

        for hook in (knobs.runtime.launch_enter_hook, knobs.runtime.launch_exit_hook):
            if hook is not None and getattr(hook, "calls", None):
                return None  # a profiler's hooks need Triton's own launcher
    except ImportError:
        pass
    try:
        return _StaticLauncher(compiled, ttir, device)
    except Exception:
        return None


class _Launch:
    """One compiled variant of a kernel: `launch(args)` runs it on the current stream."""

    def __init__(self, kernel: emit.TritonKernel, compiled, device: torch.device | None = None):
        self.kernel = kernel
        self.compiled = compiled
        self.dynamic = kernel.grid_fn is not None
        self.params = kernel.params if kernel.expands_args else None
        self.static = _static_launcher(compiled, kernel.ttir, device)
        if self.dynamic:
            return
        self.grid = kernel.grid
        self.empty = any(g == 0 for g in kernel.grid)
        self.runner = None if self.empty or self.static is not None else compiled[kernel.grid]

    def __call__(self, args) -> None:
        if self.dynamic:
            grid = self.kernel.launch_grid(args)
            if any(g == 0 for g in grid):
                return
        elif self.empty:
            return
        else:
            grid = self.grid
        if self.params is not None:
            from .launch import expand

            args = expand(self.params, args)
        if self.static is not None:
            self.static(grid, args)
        elif self.dynamic:
            self.compiled[grid](*args)  # a closure over the grid: cheap, no cache to grow with sizes
        else:
            self.runner(*args)


def _load_tuned(path: str) -> emit.TritonConfig | None:
    from .emit import TritonConfig

    try:
        with open(path) as f:
            return TritonConfig(**json.load(f))
    except (OSError, ValueError, TypeError):
        return None


class GpuKernel:
    """A coil kernel function compiled for one CUDA device; call it with the kernel's arguments.

    `compile_now=False` only emits the default TTIR: `compile()` then compiles it
    (`compile_gpu_kernels` has the pool compile `upfront()` in between).
    """

    def __init__(
        self,
        module,
        fn,
        device: torch.device,
        autotune: bool = False,
        write_debug: Callable | None = None,
        compile_now: bool = True,
    ):
        from . import emit

        self.emit = emit
        # Later specializations re-emit from the IR: hold the module (whose
        # lifetime the kernel's ops share) and its context, not the op alone.
        self.module, self.context, self.fn = module, module.context, fn
        self.name = fn.attributes["sym_name"].value
        self.device = device
        self.target = device_target(device)
        # A combo kernel keeps its nests' default configs (the candidates are per nest).
        self.autotune = autotune and not emit.is_combo(fn)
        self.write_debug = write_debug
        self.stored = _stored_arguments(fn)
        default = self._emit_kernel()
        self.buffers = [i for i, kind in enumerate(default.arg_kinds) if kind == "buffer"]
        self.all_aligned = (True,) * len(self.buffers)
        self.hint_fn = default.hint_fn
        if self.hint_fn is not None:
            self.all_aligned = (self.all_aligned, frozenset())
        self.variants: dict[tuple, _Launch] = {}
        self._launcher: Callable | None = None
        self.tuned: emit.TritonConfig | None = None  # the last tuned config
        self.tuned_for: dict = {}  # a call's reduction bound hint (or None) -> tuned config
        if write_debug is not None:
            write_debug(f"{self.name}.ttir", default.ttir)
        self.default = default
        if compile_now:
            self.compile()

    def compile(self) -> None:
        """Compiles what the kernel needs before its first launch: the default variant
        (with autotuning, nothing: the candidates are compiled when they are timed)."""
        if self.autotune:
            return
        try:
            compiled = compile_ttir(self.default.ttir, self.target, self.default.num_warps)
        except Exception as error:
            if hasattr(error, "add_note"):  # Python 3.11
                error.add_note(f"compiling coil kernel @{self.name} for {self.target}")
            raise
        self.variants[self.all_aligned] = _Launch(self.default, compiled, self.device)

    def upfront(self) -> list[emit.TritonKernel]:
        """The variants compiled before or at the first launch, for aligned arguments: the
        default; with autotuning the tuned config, else every candidate (symbolic sizes:
        none, since the candidates depend on the call's sizes)."""
        if not self.autotune:
            return [self.default]
        if self.hint_fn is not None:
            return []
        aligned = frozenset(self.buffers)
        with self.context:
            tuned = _load_tuned(self._tuned_path())
            configs = [tuned] if tuned is not None else self.emit.candidate_configs(self.fn)
            return [self._emit_kernel(config, aligned) for config in configs]

    def _emit_kernel(self, config=None, aligned=None, hints: frozenset = frozenset()):
        """The kernel's TTIR, its function named for profilers: coil_<kind>_<FX ops>_<symbol>
        (`emit.profile_name`)."""
        return self.emit.emit_kernel(self.fn, config, aligned, hints, profile_names=True)

    @property
    def ttir(self) -> str:
        return self.default.ttir

    def __call__(self, *args) -> None:
        buffers = self.buffers
        key = tuple(args[i].data_ptr() % POINTER_ALIGNMENT == 0 for i in buffers)
        if self.hint_fn is not None:
            key = (key, self.hint_fn(*args))
        launch = self.variants.get(key)
        if launch is None:
            launch = self._specialize(key, args)
        launch(args)

    @property
    def launcher(self) -> Callable:
        """What a host program calls: for a static kernel on the static launcher, a
        generated function that checks its pointers' alignment and launches in one
        C call (any misaligned pointer goes through `__call__`); else the kernel."""
        if self._launcher is None:
            self._launcher = self._direct_launcher() or self
        return self._launcher

    def _direct_launcher(self) -> Callable | None:
        launch = self.variants.get(self.all_aligned)
        if launch is None or self.hint_fn is not None or launch.dynamic or launch.params is not None:
            return None
        static = launch.static
        if static is None:
            return None
        arity = len(self.default.arg_kinds)
        names = [f"a{i}" for i in range(arity)]
        signature = ", ".join(names)
        lines = [f"def launch({signature}):"]
        if self.buffers:
            pointers = " | ".join(f"{names[i]}.data_ptr()" for i in self.buffers)
            lines.append(f"    if ({pointers}) & {POINTER_ALIGNMENT - 1}:")
            lines.append(f"        return kernel({signature})")
        if launch.empty:
            lines.append("    return")
        else:
            items = "".join(f"{item}, " for item in names + ["None"] * len(static.scratch))
            grid = ", ".join(str(g) for g in launch.grid)
            lines.append(
                f"    launch_kernel(function, {grid}, {static.num_warps}, {static.shared}, "
                f"{static.codes!r}, ({items}), stream({static.index}))"
            )
        namespace = {
            "kernel": self,
            "launch_kernel": static.launch_kernel,
            "function": static.function,
            "stream": static.stream,
        }
        exec(compile("\n".join(lines) + "\n", f"<coil launcher {self.name}>", "exec"), namespace)
        return namespace["launch"]

    def _aligned(self, key: tuple) -> frozenset[int]:
        return frozenset(i for i, ok in zip(self.buffers, key) if ok)

    def _specialize(self, key: tuple, args) -> _Launch:
        hints = frozenset()
        if self.hint_fn is not None:
            key, hints = key
        aligned = self._aligned(key)
        # Symbolic sizes: None, the default config for this call's hints (its
        # reduction bound); static kernels keep their one config.
        config = None if self.hint_fn is not None else self.default.config
        if self.autotune:
            bound = next((h for h in hints if h[0] == "rnumel"), None)
            config = self.tuned_for.get(bound) or self._tune(aligned, args, hints, bound)
        with self.context:
            kernel = self._emit_kernel(config, aligned, hints)
        launch = _Launch(kernel, compile_ttir(kernel.ttir, self.target, kernel.num_warps), self.device)
        self.variants[(key, hints) if self.hint_fn is not None else key] = launch
        if self.write_debug is not None and self.hint_fn is not None:
            # What runs for symbolic sizes is a specialization of the default text.
            self.write_debug(f"{self.name}.{len(self.variants)}.ttir", f"// hints: {sorted(hints, key=repr)}\n{kernel.ttir}")
        return launch

    def _tuned_path(self, bound=None) -> str:
        """Where the tuned config for this reduction bound (None: static sizes) is kept."""
        suffix = "" if bound is None else f"\n{bound!r}"
        digest = hashlib.sha256(f"{self.default.ttir}\n{self.target!r}{suffix}".encode()).hexdigest()[:32]
        return os.path.join(cache_dir(), "autotune", f"{digest}.json")

    def _tune(self, aligned: frozenset[int], args, hints: frozenset = frozenset(), bound=None) -> emit.TritonConfig:
        """The fastest of the candidate configs on these arguments (cached on disk).

        Symbolic sizes: tuned once per reduction bound (a power-of-two bucket
        of the reduction size; once for all sizes without a symbolic reduction).
        """
        path = self._tuned_path(bound)
        config = _load_tuned(path)
        if config is None:
            from triton.testing import do_bench

            # Time on copies of the written buffers: a kernel that updates a
            # buffer in place must not run on the live data more than once.
            bench_args = list(args)
            for i in self.stored:
                bench_args[i] = torch.empty_like(args[i]).copy_(args[i])
            timings = []
            with self.context:
                candidates = self.emit.candidate_configs(self.fn, hints)
            for candidate in candidates:
                with self.context:
                    kernel = self._emit_kernel(candidate, aligned, hints)
                launch = _Launch(kernel, compile_ttir(kernel.ttir, self.target, kernel.num_warps), self.device)
                milliseconds = do_bench(lambda: launch(bench_args), warmup=5, rep=20)
                timings.append((milliseconds, candidate))
            config = min(timings, key=lambda t: t[0])[1]
            _atomic_write(path, json.dumps(config.__dict__))
            if self.write_debug is not None:
                suffix = "" if bound is None else f".{bound[1]}"
                self.write_debug(f"{self.name}{suffix}.autotune.json", json.dumps(_timing_record(timings, config)))
        self.tuned = self.tuned_for[bound] = config
        return config


def _timing_record(timings: list, chosen) -> list[dict]:
    """Autotuning's timings as written to the debug directory: one entry per
    candidate, in candidate order (the default first), with its config."""
    return [
        {"ms": milliseconds, "default": i == 0, "chosen": candidate == chosen, "config": candidate.__dict__}
        for i, (milliseconds, candidate) in enumerate(timings)
    ]


def kernel_functions(module: ir.Operation) -> list:
    body = module.regions[0].blocks[0]
    return [op for op in body.operations if op.operation.name == "func.func" and "coil.kernel" in op.attributes]


def compile_gpu_kernels(
    module, device: torch.device, autotune: bool = False, write_debug: Callable | None = None
) -> dict[str, GpuKernel]:
    """Every `coil.kernel` function of `module`, compiled for `device`, by symbol name.

    Each kernel goes to the compile pool as soon as it is emitted, so the
    parent's emitting overlaps the workers' compiling; the kernels are then
    compiled in process, in order, from the cache the workers filled.
    """
    functions = kernel_functions(module.operation)
    fill = compile_pool.CacheFill(use_pool=len(functions) > 1 or autotune)
    kernels = []
    for fn in functions:
        kernel = GpuKernel(module, fn, device, autotune, write_debug, compile_now=False)
        for variant in kernel.upfront():
            _send(fill, variant.ttir, kernel.target, variant.num_warps)
        kernels.append(kernel)
    fill.wait()
    for kernel in kernels:
        kernel.compile()
    return {kernel.name: kernel for kernel in kernels}
