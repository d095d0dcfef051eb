"""Training-step benchmark: eager vs Inductor vs coil on a small transformer, in one run.

    python benchmarks/training_step.py [--device cpu|cuda] [--steps N]

One step is forward, cross-entropy loss, backward and an AdamW update; the
model and loss are compiled (forward and backward graphs), the optimizer runs
as usual. Prints the median step time, the ratios, coil's kernel counts,
the first step's time (compilation included) and, on CUDA, the peak memory.
The losses of the three runs are compared after the same steps from the same
initial weights.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import coil


class SmallTransformer(nn.Module):
    def __init__(self, vocab=1000, dim=128, heads=4, layers=2, ffn=512):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens):
        return self.head(self.norm(self.encoder(self.embed(tokens))))


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def run(backend: str | None, model: nn.Module, batches: list, device: str) -> dict:
    model = copy.deepcopy(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss_fn(tokens, targets):
        logits = model(tokens)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    step_loss = loss_fn if backend is None else torch.compile(loss_fn, backend=backend)
    torch._dynamo.reset()
    coil.metrics.reset()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for tokens, targets in batches:
        _sync(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = step_loss(tokens, targets)
        loss.backward()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    row = {"first_s": times[0], "step_ms": statistics.median(times[2:]) * 1e3, "losses": losses}
    if device == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if backend == "coil":
        row["metrics"] = coil.metrics.snapshot()
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    options = parser.parse_args(argv)
    from torch._inductor import config as inductor_config

    inductor_config.fx_graph_cache = False
    torch.manual_seed(0)
    device = options.device
    model = SmallTransformer().to(device)
    batches = [
        (torch.randint(0, 1000, (options.batch, options.length), device=device),
         torch.randint(0, 1000, (options.batch, options.length), device=device))
        for _ in range(options.steps)
    ]
    rows = {name: run(backend, model, batches, device) for name, backend in
            (("eager", None), ("inductor", "inductor"), ("coil", "coil"))}
    print(f"torch {torch.__version__}, {device}, batch {options.batch} x {options.length}, {options.steps} steps")
    for name, row in rows.items():
        memory = f", peak {row['peak_mib']:.0f} MiB" if "peak_mib" in row else ""
        print(f"{name:9s} step {row['step_ms']:8.2f} ms  first step {row['first_s']:6.1f} s{memory}"
              f"  final loss {row['losses'][-1]:.5f}")
    coil_row = rows["coil"]
    print(f"coil/eager {coil_row['step_ms'] / rows['eager']['step_ms']:.2f}, "
          f"coil/inductor {coil_row['step_ms'] / rows['inductor']['step_ms']:.2f} (time ratios; < 1 is faster)")
    m = coil_row["metrics"]
    print(f"coil: {m['graphs']} graphs, {m['kernels']} kernels, fallbacks {m['fallbacks']}, extern ops {m['extern_ops']}")
    drift = max(abs(a - b) for a, b in zip(coil_row["losses"], rows["eager"]["losses"]))
    print(f"max |loss coil - loss eager| over the steps: {drift:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
