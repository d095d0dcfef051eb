"""Run a real model through torch.compile(backend="coil") on the CPU and check it against eager.

    python examples/run_model.py

No `import coil` is needed for torch.compile: the backend is found through its
entry point. coil is imported here only to print its metrics.
"""

import time

import torch
import torch.nn as nn


class Block(nn.Module):
    """A pre-norm transformer block with a GELU MLP, written with plain torch ops."""

    def __init__(self, dim: int = 128, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        batch, length, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(dim, dim=-1)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / (dim // self.heads) ** 0.5, dim=-1)
        x = x + self.proj((weights @ v).transpose(1, 2).reshape(batch, length, dim))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


def main() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(Block(), Block()).eval()
    x = torch.randn(4, 64, 128)
    compiled = torch.compile(model, backend="coil")
    with torch.no_grad():
        started = time.perf_counter()
        out = compiled(x)
        compile_seconds = time.perf_counter() - started
        expected = model(x)
        torch.testing.assert_close(out, expected)
        runs = 20
        started = time.perf_counter()
        for _ in range(runs):
            compiled(x)
        coil_ms = (time.perf_counter() - started) / runs * 1e3
        started = time.perf_counter()
        for _ in range(runs):
            model(x)
        eager_ms = (time.perf_counter() - started) / runs * 1e3

    import coil

    stats = coil.metrics.snapshot()
    print(f"output {tuple(out.shape)}, max |coil - eager| = {(out - expected).abs().max().item():.2e}: matches eager")
    print(f"coil generated {stats['kernels']} kernels; ATen extern ops: {stats['extern_ops']}; fallbacks: {stats['fallbacks']}")
    print(f"first call (compile) {compile_seconds:.1f} s; per call: coil {coil_ms:.2f} ms, eager {eager_ms:.2f} ms")


if __name__ == "__main__":
    main()
