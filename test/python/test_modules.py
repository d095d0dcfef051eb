"""Real modules through torch.compile(backend="coil") on CPU: eager's numbers, from coil's kernels."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import coil


@pytest.fixture(autouse=True)
def fresh_state():
    torch._dynamo.reset()
    coil.metrics.reset()
    with coil.config.patch(strict=True):
        yield
    torch._dynamo.reset()


class MLP(nn.Module):
    """Linear -> LayerNorm -> GELU -> Linear."""

    def __init__(self, dim=64, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


class HandwrittenAttention(nn.Module):
    """Multi-head softmax attention written with matmuls, views and softmax."""

    def __init__(self, dim=64, heads=4):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x):
        batch, length, dim = x.shape
        head_dim = dim // self.heads
        q, k, v = self.qkv(x).split(dim, dim=-1)
        q, k, v = (t.view(batch, length, self.heads, head_dim).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / head_dim**0.5, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(batch, length, dim))


def _check_module(module: nn.Module, x: torch.Tensor, no_grad: bool = True):
    torch.manual_seed(0)
    module = module.eval()
    compiled = torch.compile(module, backend="coil")
    with torch.set_grad_enabled(not no_grad):
        expected = module(x)
        actual = compiled(x)
    torch.testing.assert_close(actual, expected)
    stats = coil.metrics.snapshot()
    assert stats["graphs"] >= 1
    assert stats["kernels"] > 0 and stats["kernel_launches"] > 0
    assert stats["fallbacks"] == 0
    return stats


def test_mlp_layernorm_gelu():
    torch.manual_seed(0)
    stats = _check_module(MLP(), torch.randn(8, 64))
    # Only the matrix products run in ATen; layer norm and GELU are coil kernels.
    assert set(stats["extern_ops"]) == {"aten.addmm.default"}


def test_handwritten_attention():
    torch.manual_seed(0)
    stats = _check_module(HandwrittenAttention(), torch.randn(2, 16, 64))
    assert set(stats["extern_ops"]) <= {"aten.addmm.default", "aten.bmm.default", "aten.mm.default"}


def test_transformer_encoder_layer_eval_fast_path():
    # With gradients off eager takes nn.TransformerEncoderLayer's fused fast path;
    # coil decomposes it and generates the layer norms, softmax and activations.
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
    stats = _check_module(layer, torch.randn(2, 16, 64), no_grad=True)
    assert "aten._transformer_encoder_layer_fwd.default" not in stats["extern_ops"]


def test_transformer_encoder_layer_eval_with_grad_enabled():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True, norm_first=True)
    _check_module(layer, torch.randn(2, 16, 64), no_grad=False)


def _kernels_generated(module: nn.Module, x: torch.Tensor, **settings) -> int:
    torch._dynamo.reset()
    coil.metrics.reset()
    with coil.config.patch(**settings), torch.no_grad():
        actual = torch.compile(module, backend="coil")(x)
        torch.testing.assert_close(actual, module(x))
    stats = coil.metrics.snapshot()
    assert stats["fallbacks"] == 0
    return stats["kernels"]


MODULES = {
    "mlp": (lambda: MLP(), (8, 64)),
    "attention": (lambda: HandwrittenAttention(), (2, 16, 64)),
    "transformer_layer": (lambda: nn.TransformerEncoderLayer(64, 4, 128, batch_first=True), (2, 16, 64)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_fusion_gives_fewer_kernels_with_same_numerics(name):
    # The fusion passes must cut kernels on real modules, not only on lit inputs;
    # both programs are checked against eager inside _kernels_generated.
    torch.manual_seed(0)
    make, shape = MODULES[name]
    module, x = make().eval(), torch.randn(shape)
    fused = _kernels_generated(module, x, fusion=True)
    unfused = _kernels_generated(module, x, fusion=False)
    assert 0 < fused < unfused


def test_mlp_needs_no_more_kernels_than_inductor():
    # Inductor's scheduler is the reference for how far fusion should go. (For
    # attention and nn.TransformerEncoderLayer Inductor generates no kernels at
    # all: it swaps in ATen's fused attention / encoder-layer ops, so the
    # comparison is only meaningful where both generate code.)
    from torch._inductor import config as inductor_config
    from torch._inductor import metrics as inductor_metrics

    torch.manual_seed(0)
    module, x = MLP().eval(), torch.randn(8, 64)
    coil_kernels = _kernels_generated(module, x)
    torch._dynamo.reset()
    inductor_metrics.reset()
    with inductor_config.patch(fx_graph_cache=False), torch.no_grad():
        torch.testing.assert_close(torch.compile(module)(x), module(x))
    inductor_kernels = inductor_metrics.generated_kernel_count
    assert inductor_kernels > 0
    assert coil_kernels <= inductor_kernels
