"""CPU benchmark: eager vs Inductor vs coil on the same workloads, in one run.

    python benchmarks/cpu_workloads.py [--runs N] [--only NAME ...]

For each workload it prints the median time per call of each backend, the
ratios against eager and Inductor, the kernels each compiler generated (coil's
from coil.metrics, Inductor's from torch._inductor.metrics), coil's planned
peak of live buffers against the sum of all its buffers, and the compile time.
Timings are measurements, not tests: run on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import coil
from common import pointwise_chain


class MLP(nn.Module):
    def __init__(self, dim=256, hidden=1024):
        super().__init__()
        self.fc1, self.norm, self.fc2 = nn.Linear(dim, hidden), nn.LayerNorm(hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


class Attention(nn.Module):
    def __init__(self, dim=256, heads=8):
        super().__init__()
        self.qkv, self.out, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
        w = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1)
        return self.out((w @ v).transpose(1, 2).reshape(b, t, d))


WORKLOADS = {
    "pointwise_chain": (lambda: pointwise_chain, lambda: (torch.randn(1 << 20),)),
    "softmax": (lambda: (lambda x: torch.softmax(x, -1)), lambda: (torch.randn(4096, 1024),)),
    "layernorm": (lambda: nn.LayerNorm(1024).eval(), lambda: (torch.randn(4096, 1024),)),
    "row_sum": (lambda: (lambda x: (x * x).sum(-1)), lambda: (torch.randn(4096, 1024),)),
    "mlp": (lambda: MLP().eval(), lambda: (torch.randn(512, 256),)),
    "attention": (lambda: Attention().eval(), lambda: (torch.randn(8, 128, 256),)),
    "transformer_layer": (
        lambda: nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True).eval(),
        lambda: (torch.randn(8, 128, 256),),
    ),
}


def median_ms(fn, args, runs: int) -> float:
    with torch.no_grad():
        for _ in range(3):
            fn(*args)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn(*args)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def run(name: str, runs: int) -> dict:
    import torch._inductor.config as inductor_config
    from torch._inductor import metrics as inductor_metrics

    # Cached graphs generate no kernels: compile for real so the counts are right.
    inductor_config.fx_graph_cache = False
    inductor_config.autotune_local_cache = False

    make_fn, make_args = WORKLOADS[name]
    torch.manual_seed(0)
    fn, args = make_fn(), make_args()
    row = {"workload": name}
    row["eager_ms"] = median_ms(fn, args, runs)

    torch._dynamo.reset()
    inductor_metrics.reset()
    compiled = torch.compile(fn, backend="inductor")
    start = time.perf_counter()
    with torch.no_grad():
        expected = compiled(*args)
    row["inductor_compile_s"] = time.perf_counter() - start
    row["inductor_kernels"] = inductor_metrics.generated_kernel_count
    row["inductor_ms"] = median_ms(compiled, args, runs)

    torch._dynamo.reset()
    coil.metrics.reset()
    compiled = torch.compile(fn, backend="coil")
    start = time.perf_counter()
    with torch.no_grad():
        actual = compiled(*args)
    row["coil_compile_s"] = time.perf_counter() - start
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
    stats = coil.metrics.snapshot()
    row["coil_kernels"] = stats["kernels"]
    row["coil_fallbacks"] = stats["fallbacks"]
    row["coil_peak_kib"] = sum(stats["planned_peak_bytes"]) / 1024
    row["coil_unplanned_kib"] = sum(stats["unplanned_bytes"]) / 1024
    row["coil_ms"] = median_ms(compiled, args, runs)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=None)
    options = parser.parse_args(argv)
    names = options.only or list(WORKLOADS)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    header = (
        f"{'workload':18s} {'eager ms':>9s} {'inductor':>9s} {'coil ms':>9s} {'coil/eager':>10s} {'coil/ind':>9s}"
        f" {'kernels c/i':>11s} {'peak/unplanned KiB':>19s} {'compile c/i s':>14s}"
    )
    print(header)
    for name in names:
        r = run(name, options.runs)
        print(
            f"{name:18s} {r['eager_ms']:9.3f} {r['inductor_ms']:9.3f} {r['coil_ms']:9.3f}"
            f" {r['coil_ms'] / r['eager_ms']:10.2f} {r['coil_ms'] / r['inductor_ms']:9.2f}"
            f" {r['coil_kernels']:>5d}/{r['inductor_kernels']:<5d}"
            f" {r['coil_peak_kib']:>9.0f}/{r['coil_unplanned_kib']:<9.0f}"
            f" {r['coil_compile_s']:6.1f}/{r['inductor_compile_s']:<6.1f}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
