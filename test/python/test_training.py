"""Training through torch.compile(backend="coil") on CPU and CUDA: forward and backward graphs.

AOTAutograd traces the joint forward+backward graph, splits it with the
rematerializing partitioner (`min_cut_rematerialization_partition`, as
Inductor), and coil compiles both halves. A few optimizer steps of an MLP, a
TransformerEncoder and a small CNN (whose convolutions are ATen calls) give
eager's losses, gradients, parameters and BatchNorm statistics; the backward
graph must run coil kernels, with no graph falling back to eager. Compiled
`optimizer.step()` (AdamW, SGD with momentum) updates the parameters and the
optimizer state in place with coil kernels and no ATen calls at all.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import coil
from coil import metrics
from test_ops_util import DEVICES, strict_on_device

STEPS = 3

# ATen calls the backward graphs may make: matrix products, convolutions and
# pooling with indices, and the CPU flash-attention backward that the
# decomposed scaled_dot_product_attention leaves (Inductor calls it too).
BACKWARD_EXTERNS = {
    "aten.mm.default",
    "aten.bmm.default",
    "aten.convolution_backward.default",
    "aten.max_pool2d_with_indices_backward.default",
    "aten._scaled_dot_product_flash_attention_for_cpu_backward.default",
    # On CUDA, scaled_dot_product_attention stays one of ATen's fused kernels.
    "aten._scaled_dot_product_efficient_attention_backward.default",
    "aten._scaled_dot_product_flash_attention_backward.default",
    "aten._scaled_dot_product_cudnn_attention_backward.default",
}


@pytest.fixture(autouse=True, params=DEVICES)
def fresh_state(request):
    """Each test runs once per device (CUDA skipped without a GPU)."""
    with strict_on_device(request.param) as device:
        yield device


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.norm = nn.LayerNorm(64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


MODELS = {
    "mlp": (MLP, (8, 32), lambda p: torch.optim.AdamW(p, lr=1e-2)),
    "transformer": (Transformer, (2, 8, 64), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "cnn": (CNN, (4, 3, 8, 8), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
}


def _assert_same_state(model, reference, what):
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        torch.testing.assert_close(p, q, msg=lambda m: f"{what}: parameter {name}: {m}")
        if q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, msg=lambda m: f"{what}: grad of {name}: {m}")
    for (name, b), (_, c) in zip(model.named_buffers(), reference.named_buffers()):
        torch.testing.assert_close(b, c, msg=lambda m: f"{what}: buffer {name}: {m}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training_steps_match_eager(name):
    make, shape, make_optimizer = MODELS[name]
    torch.manual_seed(0)
    model = make().train()
    reference = copy.deepcopy(model)
    optimizer, reference_optimizer = make_optimizer(model.parameters()), make_optimizer(reference.parameters())

    def loss_fn(m, x, y):
        return F.cross_entropy(m(x), y)

    compiled_loss = torch.compile(loss_fn, backend="coil")
    backward_stats = None
    for step in range(STEPS):
        x, y = torch.randn(shape), torch.randint(0, 10, (shape[0],))
        optimizer.zero_grad()
        reference_optimizer.zero_grad()
        loss = compiled_loss(model, x, y)
        before_backward = metrics.snapshot()
        loss.backward()
        after_backward = metrics.snapshot()
        expected = loss_fn(reference, x, y)
        expected.backward()
        torch.testing.assert_close(loss, expected, msg=lambda m: f"loss at step {step}: {m}")
        _assert_same_state(model, reference, f"step {step} after backward")
        optimizer.step()
        reference_optimizer.step()
        _assert_same_state(model, reference, f"step {step} after the optimizer")
        if step == 0:
            backward_stats = {
                key: after_backward[key] - before_backward[key] for key in ("graphs", "kernels", "kernel_launches")
            }
            backward_stats["extern_ops"] = {
                op: n - before_backward["extern_ops"].get(op, 0)
                for op, n in after_backward["extern_ops"].items()
                if n != before_backward["extern_ops"].get(op, 0)
            }
    stats = metrics.snapshot()
    assert stats["fallbacks"] == 0, stats["fallback_ops"]
    # The forward and the backward graph were compiled once, then reused.
    assert stats["graphs"] == 2, stats
    # The backward graph is compiled at the first backward call: real coil
    # kernels, and ATen only for the ops in BACKWARD_EXTERNS.
    assert backward_stats["graphs"] == 1
    assert backward_stats["kernels"] > 0 and backward_stats["kernel_launches"] >= backward_stats["kernels"], backward_stats
    assert set(backward_stats["extern_ops"]) <= BACKWARD_EXTERNS, backward_stats
    print(f"{name}: backward graph {backward_stats}")


def test_batchnorm_running_statistics_are_updated_in_place():
    torch.manual_seed(0)
    model = CNN().train()
    reference = copy.deepcopy(model)
    buffers = {n: b.data_ptr() for n, b in model.named_buffers()}
    compiled = torch.compile(model, backend="coil")
    x = torch.randn(4, 3, 8, 8)
    compiled(x).sum().backward()
    reference(x).sum().backward()
    _assert_same_state(model, reference, "after one step")
    assert {n: b.data_ptr() for n, b in model.named_buffers()} == buffers
    # Each running statistic is stored by a coil kernel: no ATen copy_.
    assert "aten.copy_.default" not in metrics.snapshot()["extern_ops"]
    assert model.features[1].num_batches_tracked.item() == 1


OPTIMIZERS = {
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
    # The multi-tensor (`_foreach_*`) implementations, CUDA's default.
    "adamw_foreach": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1, foreach=True),
    "sgd_momentum_foreach": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4, foreach=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_compiled_optimizer_step(name):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    reference = copy.deepcopy(model)
    optimizer, reference_optimizer = OPTIMIZERS[name](model.parameters()), OPTIMIZERS[name](reference.parameters())
    parameters = [p.data_ptr() for p in model.parameters()]

    @torch.compile(backend="coil")
    def step():
        optimizer.step()

    for i in range(STEPS):
        x = torch.randn(8, 16)
        for m in (model, reference):
            m.zero_grad()
            m(x).square().mean().backward()
        step()
        reference_optimizer.step()
        _assert_same_state(model, reference, f"step {i}")
        for p, q in zip(model.parameters(), reference.parameters()):
            for key, value in reference_optimizer.state[q].items():
                torch.testing.assert_close(optimizer.state[p][key], value, msg=lambda m: f"state {key}: {m}")
    assert [p.data_ptr() for p in model.parameters()] == parameters
    stats = metrics.snapshot()
    assert stats["fallbacks"] == 0, stats["fallback_ops"]
    # The whole update, state included, is coil kernels: no ATen calls at all.
    assert stats["kernels"] > 0 and stats["kernel_launches"] > 0
    assert stats["extern_ops"] == {} and stats["extern_calls"] == 0, stats
