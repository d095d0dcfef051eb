"""Dynamic shapes end to end: one compiled graph serves every size.

Under `torch.compile(dynamic=True)`, after Dynamo marks a dimension dynamic on
a size change (automatic dynamic), or with `torch._dynamo.mark_dynamic`, the
graph coil receives has symbolic sizes. coil compiles it once, with sizes as
kernel arguments: each test calls the compiled function at several sizes and
checks

  - the results equal eager's (dtype, shape and values, PyTorch's tolerances);
  - no size change recompiled: Dynamo's count of compiled frames
    (`CompileCounterWithBackend.frame_count`) does not grow after the first
    size (after the second one under automatic dynamic, where the first call
    is compiled with static sizes);
  - coil compiled each graph once, symbolically (`metrics.graphs` does not grow
    with the number of sizes, `specialized_graphs` is 0), generated kernels
    and fell back to eager nowhere (strict mode raises on any failure).

Sizes 0 and 1 are left out: Dynamo specializes them (a size-1 dimension
broadcasts), so they recompile by design, for Inductor as for coil.

Each test runs on the CPU and, where present, on CUDA.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch._dynamo
import torch.nn as nn
import torch.nn.functional as F
from torch._dynamo.testing import CompileCounterWithBackend

from coil import metrics
from test_ops_util import DEVICES, strict_on_device


@pytest.fixture(autouse=True, params=DEVICES)
def device(request):
    with strict_on_device(request.param) as device:
        yield device


def run_sizes(fn, make_inputs, sizes, dynamic=True, warmup=1, **compile_kwargs):
    """Compiles `fn` and runs it on the inputs for each size against eager; the
    sizes after the first `warmup` ones must not recompile."""
    counter = CompileCounterWithBackend("coil")
    compiled = torch.compile(fn, backend=counter, dynamic=dynamic, **compile_kwargs)
    frames = []
    for size in sizes:
        inputs = make_inputs(size)
        expected = fn(*inputs)
        actual = compiled(*inputs)
        torch.testing.assert_close(actual, expected)
        frames.append(counter.frame_count)
    stats = metrics.snapshot()
    assert frames[-1] == frames[warmup - 1], f"recompiled on a size change: frames compiled after each size {frames}"
    assert stats["specialized_graphs"] == 0, "a graph was compiled per size instead of symbolically"
    assert stats["fallbacks"] == 0
    assert stats["kernels"] > 0, "coil generated no kernels"
    return stats


def test_pointwise_broadcast():
    def fn(x, b):
        return torch.sigmoid(x * 2.0 + b) - torch.tanh(x)

    stats = run_sizes(fn, lambda n: (torch.randn(n, 24), torch.randn(24)), [3, 8, 17, 64])
    assert stats["graphs"] == 1


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.bool], ids=str)
def test_pointwise_dtypes(dtype):
    def fn(x, y):
        if dtype == torch.bool:
            return (x & ~y) | (x ^ y)
        return torch.maximum(x, y) + x * y

    def make(n):
        if dtype == torch.bool:
            return torch.rand(n, 5) > 0.5, torch.rand(n, 5) > 0.5
        # Small integers: every intermediate is exact in half precision, so
        # the check is about symbolic sizes, not rounding (test_ops_* cover that).
        return torch.randint(-8, 9, (n, 5)).to(dtype), torch.randint(-8, 9, (n, 5)).to(dtype)

    run_sizes(fn, make, [2, 7, 33])


def test_row_reductions_over_symbolic_rows_and_columns():
    def fn(x):
        return torch.softmax(x, -1), x.sum(-1), x.amax(0), x.var(-1), x.mean()

    run_sizes(fn, lambda n: (torch.randn(n, n + 5),), [4, 9, 30, 70])


def test_layer_norm_sequence_length():
    norm = nn.LayerNorm(32)

    def fn(x):
        return norm(x) * 2

    run_sizes(fn, lambda s: (torch.randn(2, s, 32),), [5, 16, 31])


def test_views_with_symbolic_sizes():
    def fn(x, y):
        flat = x.reshape(-1)  # flatten of two symbolic dims
        t = x.transpose(0, 1).contiguous().view(x.shape[1], -1)
        return flat.sum() + t.sum(0).sum(), torch.cat([x[1:], y], 0), x[:, :3].unsqueeze(0).expand(2, -1, -1) * 3

    run_sizes(fn, lambda n: (torch.randn(n, n + 3), torch.randn(2, n + 3)), [4, 7, 12])


def test_mlp_batch_size():
    model = nn.Sequential(nn.Linear(16, 48), nn.GELU(), nn.Linear(48, 8))

    run_sizes(model, lambda n: (torch.randn(n, 16),), [2, 5, 64, 129])


def test_automatic_dynamic_recompiles_once():
    """Without dynamic=True Dynamo compiles the first size statically, then once
    more with the changed dimension symbolic; later sizes reuse that graph."""

    def fn(x):
        return torch.softmax(x * 3, -1) + 1

    stats = run_sizes(fn, lambda n: (torch.randn(n, 40),), [4, 6, 9, 13], dynamic=None, warmup=2)
    assert stats["graphs"] == 2


def test_mark_dynamic():
    def fn(x):
        return F.silu(x).sum(-1)

    counter = CompileCounterWithBackend("coil")
    compiled = torch.compile(fn, backend=counter)
    for n in (3, 11, 40):
        x = torch.randn(n, 19)
        torch._dynamo.mark_dynamic(x, 0)
        torch.testing.assert_close(compiled(x), fn(x))
    assert counter.frame_count == 1
    assert metrics.snapshot()["specialized_graphs"] == 0


def test_training_with_dynamic_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 32), nn.LayerNorm(32), nn.GELU(), nn.Linear(32, 4))
    reference = copy.deepcopy(model)

    def step(m, x, y):
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        return loss

    counter = CompileCounterWithBackend("coil")
    compiled = torch.compile(lambda x, y: step(model, x, y), backend=counter, dynamic=True)
    frames = []
    for n in (6, 10, 23):
        x, y = torch.randn(n, 12), torch.randint(0, 4, (n,))
        torch.testing.assert_close(compiled(x, y), step(reference, x, y))
        for p, q in zip(model.parameters(), reference.parameters()):
            torch.testing.assert_close(p.grad, q.grad)
            p.grad = None
            q.grad = None
        frames.append(counter.frame_count)
    # loss.backward() breaks the graph: the frames before and after it.
    assert frames[0] == frames[-1], f"recompiled on a size change: {frames}"
    stats = metrics.snapshot()
    assert stats["specialized_graphs"] == 0 and stats["fallbacks"] == 0
    assert stats["graphs"] == 2  # forward and backward, each compiled once


def test_output_is_a_symbolic_reshape_of_a_kernel_result():
    """A returned view whose size is a product of symbols (the host view lists it)."""

    def fn(x, b):
        return torch.softmax(x + b, -1).reshape(-1), (x * 2).t()

    run_sizes(fn, lambda n: (torch.randn(n, n + 40), torch.randn(n + 40)), [6, 9, 20])
