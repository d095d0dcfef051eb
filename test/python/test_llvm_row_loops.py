"""Row reductions on the CPU backend against eager: long rows (reduction loops
with loop hints, coil-apply-loop-annotations) and softmax rows kept in the
output (lower_loops._NestLowering._find_output_rows), through torch.compile."""

from __future__ import annotations

import pytest
import torch

import coil  # noqa: F401  (registers the backend)
from coil.backends.llvm import compile_cpu_kernels
from coil.backends.llvm.pipeline import lower_kernels_to_llvm
from coil.dialects import make_context
from coil.mlir import ir

DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def _compile(fn):
    torch._dynamo.reset()
    return torch.compile(fn, backend="coil", options={"strict": True})


def _softmax(x):
    return torch.softmax(x, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", [1000, 32000])
def test_softmax_rows(dtype, cols):
    x = (torch.randn(6, cols) * 4).to(dtype)
    x[1, 7] = float("nan")
    x[2, :] = float("-inf")
    x[3, 5] = float("inf")
    x[4, 9] = float("-inf")
    x[5, :] = 0.0
    got = _compile(_softmax)(x)
    torch.testing.assert_close(got, _softmax(x), equal_nan=True)
    assert torch.isnan(got[1]).all() and torch.isnan(got[2]).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("cols", [5000, 32000])
def test_wide_rows_prefetched_in_chunks(dtype, cols):
    """Rows of 16 to 256 KiB: the second loop runs in chunks that prefetch the
    next row (lower_loops.LONG_ROW_CHUNK; 5000 leaves a partial last chunk);
    its sums carry across chunks and across rows."""
    x = (torch.randn(7, cols) * 3).to(dtype)
    target = torch.randint(0, cols, (7,))
    ce = _compile(lambda x, t: torch.nn.functional.cross_entropy(x.float(), t, reduction="none"))
    torch.testing.assert_close(ce(x, target), torch.nn.functional.cross_entropy(x.float(), target, reduction="none"))
    log_softmax = _compile(lambda x: torch.log_softmax(x, -1))
    torch.testing.assert_close(log_softmax(x), torch.log_softmax(x, -1))


def test_softmax_input_kept():
    """Softmax writes exp(x - max) into its output first: the input is left alone."""
    x = torch.randn(4, 3000)
    copy = x.clone()
    got = _compile(_softmax)(x)
    torch.testing.assert_close(x, copy, rtol=0, atol=0)
    torch.testing.assert_close(got, _softmax(copy))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", [1024, 4096, 300])
def test_layernorm_rows(dtype, cols):
    norm = torch.nn.LayerNorm(cols).to(dtype)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(cols))
        norm.bias.copy_(torch.randn(cols))
    x = (torch.randn(64, cols) * 3 + 1).to(dtype)
    with torch.no_grad():
        got = _compile(norm)(x)
        torch.testing.assert_close(got, norm(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_sum(dtype):
    x = torch.randn(64, 1024).to(dtype)
    got = _compile(lambda t: t.sum(-1))(x)
    torch.testing.assert_close(got, x.sum(-1), rtol=1e-4 if dtype == torch.float32 else None,
                               atol=1e-4 if dtype == torch.float32 else None)


SOFTMAX_KERNEL = """
module {
  func.func @softmax(%x: memref<4x2048xf32> {coil.noalias}, %out: memref<4x2048xf32> {coil.noalias}) attributes {coil.kernel} {
    "coil.loop_nest"() ({
    ^bb0(%i: index, %r: index):
      %a = "coil.load"(%x, %i, %r) : (memref<4x2048xf32>, index, index) -> f32
      %m = "coil.reduce"(%a) {reduction_type = "max"} : (f32) -> f32
      %d = arith.subf %a, %m : f32
      %e = math.exp %d : f32
      %s = "coil.reduce"(%e) {reduction_type = "sum"} : (f32) -> f32
      %y = arith.divf %e, %s : f32
      "coil.store"(%y, %out, %i, %r) : (f32, memref<4x2048xf32>, index, index) -> ()
      "coil.yield"() : () -> ()
    }) {ranges = [4], reduction_ranges = [2048]} : () -> ()
    return
  }
}
"""


def test_softmax_kernel_has_no_row_buffer_and_hinted_loops():
    with make_context():
        module = ir.Module.parse(SOFTMAX_KERNEL)
        lower_kernels_to_llvm(module)
        text = str(module)
    assert "llvm.alloca" not in text  # the row lives in the output
    assert text.count("{loop_annotation = #") == 3  # max, exp-sum and scale loops
    kernel = compile_cpu_kernels(SOFTMAX_KERNEL, threads=1)["softmax"]
    x = torch.randn(4, 2048) * 10
    out = torch.full_like(x, 7.0)
    kernel(x, out)
    torch.testing.assert_close(out, torch.softmax(x, -1))
