"""coil-split-reductions gives eager's results (run on the CPU, where compile_fx never adds it).

The pass is forced into the graph-level pipeline through a small hook (the
pipeline constant compile_fx reads), with thresholds low enough that
test-sized tensors split, and once with its defaults on a large 1-D sum.
Every case also checks that a split really happened.
"""

from __future__ import annotations

import pytest
import torch

import coil  # noqa: F401 - registers the backend
import coil.compile_fx as compile_fx
import coil.passes.split_reductions as split_module
from coil.frontend.trace import trace_to_coil
from coil.passes.registry import build_pass_manager

FORCED = "coil-split-reductions{min-numel=1024 num-sms=16 min-chunk=16}"


@pytest.fixture
def forced_split(monkeypatch):
    """Adds the pass (with `options`) to the CPU pipeline; yields a list of the splits it made."""
    splits = []
    original = split_module.split_reduction

    def counting(op, split):
        splits.append((op.attributes["reduction_type"].value, split))
        return original(op, split)

    monkeypatch.setattr(split_module, "split_reduction", counting)

    def use(element=FORCED):
        for name in ("FUSED_SIMPLIFY_PIPELINE", "SIMPLIFY_PIPELINE"):
            pipeline = getattr(compile_fx, name)
            monkeypatch.setattr(compile_fx, name, pipeline[:-1] + f", {element})")
        return splits

    torch._dynamo.reset()
    yield use
    torch._dynamo.reset()


def _check(fn, *inputs, atol=None, rtol=None):
    expected = fn(*inputs)
    actual = torch.compile(fn, backend="coil", dynamic=False)(*inputs)
    torch.testing.assert_close(actual, expected, equal_nan=True, atol=atol, rtol=rtol)


def _data(shape, dtype):
    torch.manual_seed(0)
    if dtype == torch.int64:
        return torch.randint(-50, 50, shape, dtype=dtype)
    return torch.randn(shape).to(dtype)


SHAPES = [(3001, 7), (4096, 33), (64, 17, 96)]  # a prime range (ragged chunks), an even one, 3-D


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64], ids=str)
def test_sums_and_extremes(forced_split, shape, dtype):
    splits = forced_split()
    x = _data(shape, dtype)
    dims = (0, 2) if len(shape) == 3 else 0

    def fn(a):
        out = [a.sum(0), a.sum(), a.amax(dims), a.amin(), (a > 1).any(0), (a > -3).all()]
        if dtype != torch.int64:
            out += [a.mean(0), a.mean(), a.sum(dims)]
        return out

    # Partial sums add in another order than eager's: float32 sums of thousands of terms differ in the last bits.
    tolerance = {torch.float16: dict(atol=2e-2, rtol=2e-3), torch.float32: dict(atol=1e-4, rtol=1e-5)}.get(dtype, {})
    _check(fn, x, **tolerance)
    assert {kind for kind, _ in splits} >= {"sum", "max", "min", "any"}


def test_products(forced_split):
    splits = forced_split()
    torch.manual_seed(0)
    x = 1 + torch.rand(2048, 5) / 1000
    _check(lambda a: (a.prod(0), a.double().prod()), x, atol=1e-3, rtol=2e-3)
    # float16 partial products stay float32 and round once: CUDA eager's accumulation (acc_type float);
    # CPU eager rounds to float16 after every factor, a 10% drift over 2048 factors.
    h = x.half()
    actual = torch.compile(lambda a: a.prod(0), backend="coil", dynamic=False)(h)
    torch.testing.assert_close(actual, h.float().prod(0).half(), atol=1e-3, rtol=2e-3)
    i = torch.randint(-3, 4, (2051, 3))
    _check(lambda a: a.prod(0), i)  # int64 wraps the same way in any order
    assert sum(kind == "prod" for kind, _ in splits) >= 4


def test_nan_and_inf_propagate_across_chunks(forced_split):
    splits = forced_split()
    x = torch.randn(3001, 6)
    x[2999, 1] = float("nan")  # in the ragged last chunk
    x[5, 2] = float("nan")
    x[100, 3] = float("inf")
    x[200, 4] = -float("inf")
    _check(lambda a: (a.amax(0), a.amin(0), a.amax(), a.amin(), a.sum(0)), x, atol=1e-4, rtol=1e-5)
    assert splits


@pytest.mark.parametrize("shape", [(4096, 12), (64, 8, 128)], ids=["2d", "3d"])
def test_variance_splits_exactly(forced_split, shape):
    """welford splits into equal chunks, combined with Chan's formula (mean of means, m2 + C * spread)."""
    splits = forced_split()
    torch.manual_seed(0)
    x = torch.randn(shape) * 3 + 1000  # a large mean: E[x^2] - E[x]^2 would lose it all
    dims = 0 if len(shape) == 2 else (0, 2)
    _check(lambda a: (torch.var_mean(a, dims), a.std(dims), a.var(), torch.var_mean(a, dims, correction=0)), x, rtol=1e-4, atol=1e-4)
    assert any(kind == "welford" for kind, _ in splits)


def test_ragged_variance_is_not_split(forced_split):
    splits = forced_split()
    x = torch.randn(3001, 7)
    _check(lambda a: torch.var_mean(a, 0), x)
    assert not any(kind == "welford" for kind, _ in splits)


def test_argmax_is_not_split(forced_split):
    splits = forced_split()
    x = torch.randn(4096, 9)
    _check(lambda a: (a.argmax(0), a.argmin()), x)
    assert not splits


def test_large_sum_with_defaults(forced_split):
    """x.sum() of 4M floats with the pass's default (H100) thresholds: one program would do it all."""
    splits = forced_split("coil-split-reductions")
    torch.manual_seed(0)
    x = torch.randn(1 << 22)
    _check(lambda a: (a.sum(), a.amax(), a.float().mean()), x, rtol=1e-4, atol=1e-2)
    assert ("sum", 1024) in splits and ("max", 1024) in splits


def _reductions(fn, *inputs, pipeline):
    graph = trace_to_coil(fn, *inputs)
    with graph.context:
        build_pass_manager(f"builtin.module({pipeline})").run(graph.module.operation)
        text = str(graph.module)
    return text.count('"coil.reduction"')


def test_heuristic():
    """Splits only with few programs for the SMs: not a wide enough output, not small work."""
    split = "coil-split-reductions"
    # 8192x4096 sum(0): 128 programs of 32 columns fill 0.97 of the SMs -> whole;
    # 2048 columns (64 programs) -> split; sum(-1): 8192 rows -> not.
    x = torch.empty(8192, 4096)
    assert _reductions(lambda a: a.sum(0), x, pipeline=split) == 1
    assert _reductions(lambda a: a.sum(0), torch.empty(8192, 2048), pipeline=split) == 2
    assert _reductions(lambda a: a.sum(0), x, pipeline=split + "{column-fill=2}") == 2
    assert _reductions(lambda a: a.sum(-1), x, pipeline=split) == 1
    # 2^17 elements in all: too little work.
    assert _reductions(lambda a: a.sum(), torch.empty(1 << 17), pipeline=split) == 1
    assert _reductions(lambda a: a.sum(), torch.empty(1 << 18), pipeline=split) == 2
    # 2112 columns x 4096 rows: 66 programs < 0.75 * 132 -> split; 65536 columns: 2048 programs -> not.
    assert _reductions(lambda a: a.sum(0), torch.empty(4096, 2112), pipeline=split) == 2
    assert _reductions(lambda a: a.sum(0), torch.empty(1024, 65536), pipeline=split) == 1
    # argmax is never split; var_mean (welford) splits into a partial and two final sums
    # when its programs do not fill the SMs (2048 columns), and, read once by the
    # looped one-pass Welford, stays whole like a sum when they do (4096 columns).
    assert _reductions(lambda a: a.argmax(), torch.empty(1 << 20), pipeline=split) == 1
    assert _reductions(lambda a: torch.var_mean(a, 0), torch.empty(8192, 2048), pipeline=split) == 3
    assert _reductions(lambda a: torch.var_mean(a, 0), x, pipeline=split) == 1


def _layernorm_weight_grad(dy, x, mean, rstd):
    """LayerNorm's weight gradient as its backward computes it: a column sum whose
    body also reads one mean and one rstd per row (along the reduction)."""
    return (dy * ((x - mean) * rstd)).sum(0)


def test_row_vectors_do_not_make_a_column_reduction_a_row_one():
    """A column sum that also reads per-row values (LayerNorm's weight gradient over
    4096 rows of 512) is a column reduction: 16 programs of 32 columns, so it splits
    like `dy.sum(0)` does. Counted as a row reduction (the mean and rstd loads run
    along the rows) it stayed whole, 512 programs each striding down one column
    (33 us against Inductor's 7 on an H100 in the bf16 GPT step)."""
    fused = compile_fx.FUSED_SIMPLIFY_PIPELINE.removeprefix("builtin.module(").removesuffix(")")
    split = f"{fused}, coil-split-reductions"  # the body fused into the reduction, as compile_fx has it
    args = (torch.empty(4096, 512), torch.empty(4096, 512), torch.empty(4096, 1), torch.empty(4096, 1))
    assert _reductions(lambda dy, *rest: dy.sum(0), *args, pipeline=split) == 2
    assert _reductions(_layernorm_weight_grad, *args, pipeline=split) == 2


def test_layernorm_weight_grad_split_matches_eager(forced_split):
    splits = forced_split()
    torch.manual_seed(0)
    dy, x = torch.randn(4096, 64), torch.randn(4096, 64)
    mean, rstd = x.mean(1, keepdim=True), torch.rand(4096, 1) + 0.5
    _check(_layernorm_weight_grad, dy, x, mean, rstd, rtol=1e-4, atol=1e-3)
    assert splits and splits[0][0] == "sum"
