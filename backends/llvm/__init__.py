"""The CPU backend: kernels to scf loops, to the LLVM dialect, JIT-compiled (coil.backends.llvm).

- `coil-lower-loop-nests` (lower_loops.py): `coil.loop_nest` -> scf.for over memrefs.
- `coil-precise-math-to-libm` (libm_calls.py): expm1/log1p through libm.
- `coil-expand-exp` (fast_exp.py): f32 exp as vectorizable arithmetic.
- `CPU_KERNEL_PIPELINE` (pipeline.py): coil kernels -> LLVM dialect.
- `compile_cpu_kernels` (jit.py): JIT a module of kernels into callables on torch tensors.
"""

from . import fast_exp, libm_calls, lower_loops, pipeline
from .jit import CacheStats, CpuKernel, KernelArgumentError, cache_stats, clear_cache, compile_cpu_kernels
from .pipeline import CPU_KERNEL_PIPELINE, SCF_TO_LLVM_PIPELINE, cpu_kernel_pipeline, lower_kernels_to_llvm

__all__ = [
    "CPU_KERNEL_PIPELINE",
    "SCF_TO_LLVM_PIPELINE",
    "CacheStats",
    "CpuKernel",
    "KernelArgumentError",
    "cache_stats",
    "clear_cache",
    "compile_cpu_kernels",
    "cpu_kernel_pipeline",
    "fast_exp",
    "libm_calls",
    "lower_kernels_to_llvm",
    "lower_loops",
]
