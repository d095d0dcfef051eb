"""Memory planning (passes/plan_memory.py) on real graphs: in-place writes across
a reshape give eager's numbers, and the plan shows them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import coil
from coil.passes import plan_memory

_INPLACE = re.compile(r'"coil.reuse"\(%\w+\) \{coil.inplace\} : \(memref<([^>]+)>\) -> memref<([^>]+)>')


@pytest.fixture(autouse=True)
def fresh_state():
    torch._dynamo.reset()
    coil.metrics.reset()
    with coil.config.patch(strict=True):
        yield
    torch._dynamo.reset()


def _inplace_reshapes(tmp_path) -> list[tuple[str, str]]:
    """(source type, result type) of every in-place reuse that changes the shape."""
    (plan,) = tmp_path.glob("graph_*/04_plan_memory.mlir")
    return [(a, b) for a, b in _INPLACE.findall(plan.read_text()) if a != b]


def test_softmax_over_bmm_scores_in_place(tmp_path):
    """bmm -> view [b, h, t, t] -> scaled, masked softmax -> bmm: the softmax
    writes its [b, h, t, t] result over the [b*h, t, t] scores."""
    b, h, t, d = 2, 4, 16, 8
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)

    def attention(q, k, v):
        scores = torch.bmm(q, k.transpose(1, 2)).view(b, h, t, t) * d**-0.5
        p = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        return torch.bmm(p.view(b * h, t, t), v)

    torch.manual_seed(0)
    q, k, v = (torch.randn(b * h, t, d) for _ in range(3))
    compiled = torch.compile(attention, backend="coil", options={"debug_dir": str(tmp_path)})
    assert_close(compiled(q, k, v), attention(q, k, v), rtol=1e-5, atol=1e-5)
    assert ("8x16x16xf32", "2x4x16x16xf32") in _inplace_reshapes(tmp_path)
    assert coil.metrics.snapshot()["fallbacks"] == 0


def test_gelu_over_addmm_in_place(tmp_path):
    """A 3-D input through Linear -> GELU -> Linear: addmm returns [b*t, n] and the
    GELU writes [b, t, n] over it; twice, to check that reused storage holds no
    stale values."""
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(32, 64), torch.nn.Linear(64, 32)

    def mlp(x):
        return fc2(F.gelu(fc1(x))) + x

    compiled = torch.compile(mlp, backend="coil", options={"debug_dir": str(tmp_path)})
    with torch.no_grad():
        for _ in range(2):
            x = torch.randn(2, 16, 32)
            assert_close(compiled(x), mlp(x), rtol=1e-5, atol=1e-5)
    assert ("32x64xf32", "2x16x64xf32") in _inplace_reshapes(tmp_path)


def test_transformer_block_in_place_across_reshapes_lowers_planned_peak(tmp_path, monkeypatch):
    """The suite's transformer block (small): eager's numbers, the softmax and the
    GELU both in place over their matmuls' results, and a lower planned peak
    than when only buffers of equal types may be written in place."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from suite import Block

    torch.manual_seed(0)
    b, t, dim, heads = 2, 32, 64, 4
    block = Block(dim, heads, 4 * dim, t).eval()
    x = torch.randn(b, t, dim)

    def planned_peak(debug_dir) -> int:
        torch._dynamo.reset()
        coil.metrics.reset()
        compiled = torch.compile(block, backend="coil", options={"debug_dir": str(debug_dir)})
        with torch.no_grad():
            assert_close(compiled(x), block(x), rtol=1e-4, atol=1e-5)
        (peak,) = coil.metrics.snapshot()["planned_peak_bytes"]
        return peak

    peak = planned_peak(tmp_path)
    reshapes = _inplace_reshapes(tmp_path)
    assert (f"{b * heads}x{t}x{t}xf32", f"{b}x{heads}x{t}x{t}xf32") in reshapes
    assert (f"{b * t}x{4 * dim}xf32", f"{b}x{t}x{4 * dim}xf32") in reshapes
    monkeypatch.setattr(plan_memory, "_fits_in_place", lambda source, result: source == result)
    assert peak < planned_peak(tmp_path / "equal_types_only")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_embedding_backward_accumulates_into_its_zeros_in_place(tmp_path, monkeypatch, dtype):
    """An embedding's backward is zeros, index_put(accumulate=True) and, in
    bfloat16, a conversion: index_put becomes index_put_ on the zeros (no
    copy of the whole table), the gradient is eager's over two steps, and the
    backward's planned peak is lower than with the copy."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(500, 64).to(dtype)
    tokens = torch.randint(0, 500, (4, 33))

    def loss(t):
        return (emb(t).float() ** 2).sum()

    def backward_peak(debug_dir) -> tuple[int, str]:
        torch._dynamo.reset()
        coil.metrics.reset()
        compiled = torch.compile(loss, backend="coil", options={"debug_dir": str(debug_dir)})
        for _ in range(2):
            emb.weight.grad = None
            loss(tokens).backward()
            expected = emb.weight.grad
            emb.weight.grad = None
            compiled(tokens).backward()
            assert_close(emb.weight.grad, expected)
        peaks = coil.metrics.snapshot()["planned_peak_bytes"]
        hosts = sorted(Path(debug_dir).glob("graph_*/host.py"))
        return peaks[-1], hosts[-1].read_text()

    peak, host = backward_peak(tmp_path)
    assert "torch.ops.aten.index_put_.default(" in host and "index_put.default(" not in host
    monkeypatch.setattr(plan_memory, "INPLACE_EXTERN_KERNELS", {})
    copied_peak, copied_host = backward_peak(tmp_path / "copied")
    assert "index_put.default(" in copied_host
    assert peak < copied_peak
