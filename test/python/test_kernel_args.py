"""coil-kernel-args (passes/kernel_args.py) on real graphs: kernels that memory
planning writes in place across a reshape, or that read a matrix product whose
inputs' storage a later buffer took, get one pointer per storage and
`coil.noalias` on every buffer, and still give eager's numbers."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import coil

_KERNEL = re.compile(r"func\.func @(\w+)\((.*)\) attributes \{coil\.kernel\}")


@pytest.fixture(autouse=True)
def fresh_state():
    torch._dynamo.reset()
    coil.metrics.reset()
    with coil.config.patch(strict=True):
        yield
    torch._dynamo.reset()


def _kernels(debug_dir) -> dict[str, str]:
    """Kernel name -> its argument list, from the planned module of one graph."""
    (plan,) = Path(debug_dir).glob("graph_*/04_plan_memory.mlir")
    return dict(_KERNEL.findall(plan.read_text()))


def _buffers_without_noalias(arguments: str) -> int:
    return arguments.count(": memref<") - arguments.count("{coil.noalias}")


def test_transformer_block_kernels_all_noalias(tmp_path):
    """The suite's transformer block (small) on CPU: eager's numbers, twice, and
    every buffer argument of every kernel noalias. The softmax over the bmm
    scores and the GELU over addmm write in place across a reshape (one
    argument for the pair), and the kernels reading a matmul whose input's
    storage was reused no longer count the two as overlapping."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from suite import Block

    torch.manual_seed(0)
    b, t, dim, heads = 2, 32, 64, 4
    block = Block(dim, heads, 4 * dim, t).eval()
    compiled = torch.compile(block, backend="coil", options={"debug_dir": str(tmp_path)})
    with torch.no_grad():
        for _ in range(2):
            x = torch.randn(b, t, dim)
            assert_close(compiled(x), block(x), rtol=1e-4, atol=1e-5)
    kernels = _kernels(tmp_path)
    assert kernels
    for name, arguments in kernels.items():
        assert _buffers_without_noalias(arguments) == 0, (name, arguments)
    # The in-place softmax and GELU: one buffer argument of the written shape
    # and no argument of the matmul result's shape.
    softmax = [a for a in kernels.values() if f"{b}x{heads}x{t}x{t}xf32" in a]
    gelu = [a for a in kernels.values() if f"{b}x{t}x{4 * dim}xf32" in a]
    assert len(softmax) == 1 and f"{b * heads}x{t}x{t}xf32" not in softmax[0]
    assert len(gelu) == 1 and gelu[0].count(": memref<") == 1
    assert coil.metrics.snapshot()["fallbacks"] == 0


def test_softmax_over_bmm_and_gelu_over_addmm_merged(tmp_path):
    """bmm -> view -> softmax and addmm -> view -> GELU, each written in place over
    the matmul result of another shape: each kernel reads and writes through
    one noalias argument, and the numbers match eager."""
    b, h, t, d, n = 2, 4, 16, 8, 24
    torch.manual_seed(0)
    weight, bias, down = torch.randn(n, d), torch.randn(n), torch.randn(n, d)

    def graph(q, k, v, x):
        scores = torch.bmm(q, k.transpose(1, 2)).view(b, h, t, t)
        p = torch.softmax(scores * d**-0.5, dim=-1)
        y = F.gelu(torch.addmm(bias, x.view(b * t, d), weight.t()).view(b, t, n))
        return torch.bmm(p.view(b * h, t, t), v), y @ down

    q, k, v = (torch.randn(b * h, t, d) for _ in range(3))
    compiled = torch.compile(graph, backend="coil", options={"debug_dir": str(tmp_path)})
    for _ in range(2):
        x = torch.randn(b, t, d)
        for got, want in zip(compiled(q, k, v, x), graph(q, k, v, x)):
            assert_close(got, want, rtol=1e-5, atol=1e-5)
    kernels = _kernels(tmp_path)
    in_place = [a for a in kernels.values() if f"{b}x{h}x{t}x{t}xf32" in a or f"{b}x{t}x{n}xf32" in a]
    assert len(in_place) == 2, kernels
    for arguments in in_place:
        assert arguments.count(": memref<") == 1 and _buffers_without_noalias(arguments) == 0, arguments
