"""coil's GPU path, whole, on CPU tensors: Triton kernels run by `ttir_eval`.

`torch.compile(..., backend="coil")` runs as it does for CUDA tensors, Dynamo,
AOTAutograd (forward and backward graphs), the host program, ATen extern calls
and memory plan included, except that each kernel is emitted as TTIR (the
CUDA pipeline: split reductions, outlining, fusion, combo kernels) and executed program by program on the CPU by
`ttir_eval` instead of being JIT-compiled through LLVM. Whole models then
check the Triton lowering against eager without a GPU: every kernel a
transformer block, a GPT training step or any workload of the benchmark
suite (at its --quick sizes) needs, in float32 and bfloat16.
"""

from __future__ import annotations

import contextlib
import os
import sys

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("triton")

import coil  # noqa: E402
import coil.backends.llvm.jit as llvm_jit  # noqa: E402
import coil.compile_fx as compile_fx  # noqa: E402
from coil.backends.triton.emit import emit_kernel, kernel_functions  # noqa: E402

from ttir_eval import buffer_of, run_kernel  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import suite  # noqa: E402
from suite import GPT, Block  # noqa: E402

H100_SMS = 132


def _storage_from(t: torch.Tensor) -> torch.Tensor:
    """The tensor's storage from its first element on, flat: what a kernel's pointer sees."""
    start = t.storage_offset()
    return torch.as_strided(t, (t.untyped_storage().nbytes() // t.element_size() - start,), (1,), start)


class EvaluatedKernel:
    """A Triton kernel called like a compiled one: its TTIR run by `ttir_eval` on copies
    of its buffers' storage (float32 for floats, int64 otherwise), written back after."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.launches = 0

    def __call__(self, *tensors):
        flats = [_storage_from(t) for t in tensors]
        arrays = [buffer_of(f) for f in flats]
        run_kernel(self.kernel.ttir, self.kernel.grid, arrays)
        for flat, array in zip(flats, arrays):
            flat.copy_(torch.from_numpy(array).to(flat.dtype))
        self.launches += 1


@contextlib.contextmanager
def gpu_path_on_cpu():
    """CPU graphs take the CUDA pipeline (`compile_fx.outline_pipeline` and
    `combine_pipeline` as for a CUDA device) and run their Triton kernels through `ttir_eval`."""
    saved = (llvm_jit.compile_cpu_kernels, compile_fx.outline_pipeline, compile_fx.combine_pipeline)
    evaluated: list[EvaluatedKernel] = []

    def compile_as_triton(module, threads=None, check=False):
        kernels = {f.attributes["sym_name"].value: EvaluatedKernel(emit_kernel(f)) for f in kernel_functions(module.operation)}
        evaluated.extend(kernels.values())
        return kernels

    def cuda_outline_pipeline(device):
        passes = ["coil-outline-kernels", "coil-fuse-kernels"] if coil.config.fusion else ["coil-outline-kernels"]
        return f"builtin.module(coil-split-reductions{{num-sms={H100_SMS}}}, {', '.join(passes)})"

    def cuda_combine_pipeline(device):
        return compile_fx.COMBINE_PIPELINE if coil.config.fusion and coil.config.combo_kernels else None

    llvm_jit.compile_cpu_kernels = compile_as_triton
    compile_fx.outline_pipeline, compile_fx.combine_pipeline = cuda_outline_pipeline, cuda_combine_pipeline
    torch._dynamo.reset()
    coil.metrics.reset()
    try:
        with coil.config.patch(strict=True):
            yield evaluated
    finally:
        llvm_jit.compile_cpu_kernels, compile_fx.outline_pipeline, compile_fx.combine_pipeline = saved
        torch._dynamo.reset()


def _tolerances(dtype: torch.dtype) -> dict:
    return dict(rtol=1.6e-2, atol=1e-2) if dtype == torch.bfloat16 else dict(rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_transformer_block_inference(dtype):
    torch.manual_seed(0)
    block = Block(32, 4, 64, 16).to(dtype).eval()
    x = torch.randn(2, 16, 32, dtype=dtype)
    with torch.no_grad():
        expected = block(x)
        with gpu_path_on_cpu() as kernels:
            out = torch.compile(block, backend="coil")(x)
    assert kernels and all(k.launches for k in kernels)
    torch.testing.assert_close(out, expected, **_tolerances(dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_gpt_training_step_loss_and_gradients(dtype):
    """The suite's GPT at toy sizes: the loss and every parameter's gradient, through
    coil's forward and backward graphs (cross-entropy's row kernels, the attention
    softmax and its backward, layer norms, the qkv-gradient cat's masked loads)."""
    torch.manual_seed(0)
    model = GPT(64, 32, 4, 1, 16).to(dtype)
    tokens, targets = torch.randint(0, 64, (2, 16)), torch.randint(0, 64, (2, 16))

    def loss_of(m):
        return F.cross_entropy(m(tokens).flatten(0, 1), targets.flatten())

    expected = loss_of(model)
    expected.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    with gpu_path_on_cpu() as kernels:
        loss = loss_of(torch.compile(model, backend="coil"))
        loss.backward()
        stats = coil.metrics.snapshot()
    assert stats["graphs"] == 2 and stats["fallbacks"] == 0 and stats["kernels"] == len(kernels) > 10, stats
    assert all(k.launches for k in kernels)
    torch.testing.assert_close(loss, expected, **_tolerances(dtype))
    for p, g in zip(model.parameters(), expected_grads):
        torch.testing.assert_close(p.grad, g, **_tolerances(dtype))


SUITE_WORKLOADS = list(suite.workloads("cpu", torch.float32, True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", SUITE_WORKLOADS)
def test_suite_workloads_at_smoke_sizes(name, dtype):
    """Every workload of benchmarks/suite.py (its --quick sizes: AdamW's in-place update,
    cross-entropy, column variances, the GPT training step...) through the GPU path,
    against eager with the suite's own comparison and tolerances."""
    make = suite.workloads("cpu", dtype, True)[name]
    reference = suite._build(make)
    with torch.set_grad_enabled(reference.train):
        expected = suite._results(reference, suite._callable(reference, "eager")(*reference.args))
    with gpu_path_on_cpu() as kernels:
        case = suite._build(make)
        with torch.set_grad_enabled(case.train):
            out = suite._results(case, suite._callable(case, "coil")(*case.args))
    assert kernels and all(k.launches for k in kernels)
    error, ok = suite._compare(out, expected, suite._tolerance(case, dtype))
    assert ok, f"max |coil - eager| = {error}"


@pytest.mark.parametrize("combo", [True, False], ids=["combo", "separate"])
def test_adamw_update_through_a_combo_kernel(combo):
    """The suite's AdamW update over three shapes of parameters, in place: with combo
    kernels its pointwise launches are one `coil.combo` kernel (parts dispatched on
    program ids), and the parameters and both moments end as eager's."""
    torch.manual_seed(0)
    shapes = [(64, 32)] * 3 + [(128, 32)] + [(32,)] * 2
    state = [[torch.randn(*s) for s in shapes] for _ in range(4)]
    state[3] = [v.abs() for v in state[3]]
    step = torch.tensor(10.0)
    expected = [[t.clone() for t in group] for group in state]
    suite.adamw_update(*expected, step)
    with gpu_path_on_cpu() as kernels, coil.config.patch(combo_kernels=combo):
        torch.compile(suite.adamw_update, backend="coil")(*state, step)
    assert any("tt.call @" in k.kernel.ttir for k in kernels) == combo
    for group, expected_group in zip(state[:1] + state[2:], expected[:1] + expected[2:]):
        for t, e in zip(group, expected_group):
            torch.testing.assert_close(t, e)
