"""The pass pipeline from coil kernel functions to the LLVM dialect.

Every element is a registered pass, so the same lowering runs from `coil-opt`,
as the whole (`coil-opt kernels.mlir --coil-convert-kernels-to-llvm`) or step
by step (`--pass-pipeline="<cpu_kernel_pipeline()>"`).

Choices that are not upstream defaults:
- `convert-math-to-llvm` runs before `convert-math-to-libm`: intrinsics for
  what LLVM lowers well (sqrt, fabs, floor, exp, log, ...), libm calls
  (`erff`, `tanf`, `atan2f`, ...) for the rest, resolved in the JIT from the
  process's libm. f32 exp, expm1, log, log1p, tanh and erf are first written
  out as arithmetic (`coil-expand-math`, fast_math.py) so that loops using them
  vectorize. `coil-precise-math-to-libm` then sends what is left of expm1 and
  log1p (f64) to libm: convert-math-to-llvm would compute them as exp(x) - 1
  and log(1 + x). Every other libm function runs one element per call.
- f16/bf16 arithmetic is done in f32 (`arith-emulate-unsupported-floats`,
  `math-extend-to-supported-types`), as PyTorch's CPU kernels do, and bf16
  conversions are expanded to integer ops (`arith-expand{include-bf16=true}`):
  x86 without AVX512-BF16 has no instruction for f32 -> bf16, and libgcc 12 no
  `__truncsfbf2`. Where LLVM folds those integer ops back into an `fptrunc`,
  the JIT unit defines `__truncsfbf2` itself (`jit.BF16_TRUNCATION_HELPER`).
  f16 conversions stay `fpext`/`fptrunc`: x86 with F16C has instructions for them.
- Reduction loops carry loop hints (`lower_loops.REDUCTION_LOOP_HINT`: no
  unrolling, four interleaved vector accumulators), which
  `coil-apply-loop-annotations` hands to LLVM after convert-to-llvm.
- Memref arguments use the bare-pointer calling convention: shapes and strides
  are static, so a kernel takes one pointer per buffer and the runtime passes
  `tensor.data_ptr()` and nothing else.
"""

from __future__ import annotations

from coil.mlir import ir
from coil.passes.registry import PassFailure, build_pass_manager, register_pass

from . import fast_math, libm_calls, loop_hints  # noqa: F401  (register coil-expand-math, coil-precise-math-to-libm, coil-apply-loop-annotations)
from .lower_loops import bool_option, lower_loop_nests

# From scf loops over memrefs (the output of coil-lower-loop-nests) to the LLVM dialect.
SCF_TO_LLVM_PIPELINE = (
    "canonicalize",
    "cse",
    "loop-invariant-code-motion",
    "lower-affine",
    "math-extend-to-supported-types{extra-types=f16}",
    "arith-emulate-unsupported-floats{source-types=bf16,f16 target-type=f32}",
    "arith-expand{include-bf16=true}",
    "coil-expand-math",
    "coil-precise-math-to-libm",
    "convert-math-to-llvm",
    "convert-math-to-libm",
    "convert-scf-to-cf",
    "expand-strided-metadata",
    "finalize-memref-to-llvm",
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true}",
    "convert-to-llvm",
    "reconcile-unrealized-casts",
    "coil-apply-loop-annotations",
    "canonicalize",
)

# From coil kernel functions to the LLVM dialect, as the CPU JIT runs it.
CPU_KERNEL_PIPELINE = ("coil-lower-loop-nests{outer-slice=true}",) + SCF_TO_LLVM_PIPELINE


def cpu_kernel_pipeline(outer_slice: bool = True) -> str:
    """The textual pipeline (`builtin.module(...)`) that lowers kernels to LLVM."""
    first = "coil-lower-loop-nests{outer-slice=true}" if outer_slice else "coil-lower-loop-nests"
    return "builtin.module(" + ", ".join((first,) + SCF_TO_LLVM_PIPELINE) + ")"


def lower_kernels_to_llvm(module: ir.Module, outer_slice: bool = True) -> None:
    """Runs the CPU kernel pipeline on `module` in place."""
    pm = build_pass_manager(cpu_kernel_pipeline(outer_slice), context=module.context)
    pm.run(module.operation)


@register_pass(
    "coil-convert-kernels-to-llvm",
    "Lower coil.kernel functions to the LLVM dialect (the CPU JIT's pipeline)",
    options={"outer-slice": "add [begin, end) index arguments bounding the kernel's parallel dimension"},
)
def convert_kernels_to_llvm(module: ir.Operation, outer_slice: str | bool = False) -> None:
    for op in module.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and "coil.kernel" not in op.attributes and len(op.regions[0].blocks):
            name = op.attributes["sym_name"].value
            raise PassFailure(
                f"@{name} is not a coil.kernel function: this pass lowers a module of kernels only "
                "(compile_cpu_kernels takes the kernels out of a module that also holds the host function)",
                op.location,
            )
    pm = build_pass_manager(cpu_kernel_pipeline(bool_option("outer-slice", outer_slice)), context=module.context)
    pm.run(module)


__all__ = [
    "CPU_KERNEL_PIPELINE",
    "SCF_TO_LLVM_PIPELINE",
    "convert_kernels_to_llvm",
    "cpu_kernel_pipeline",
    "lower_kernels_to_llvm",
    "lower_loop_nests",
]
