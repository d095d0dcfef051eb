"""Helpers shared by the benchmark scripts: workload functions, byte counts,
timing (CUDA: `triton.testing.do_bench` with the L2 flushed; CPU: the median
of timeit loops) and the machine's measured copy bandwidth.

The scripts in this folder import it as `common` (Python puts a script's own
folder first on sys.path), so `python benchmarks/<script>.py` works from any
directory.
"""

from __future__ import annotations

import statistics
import time
import timeit

import torch
import torch.nn.functional as F


def pointwise_chain(x):
    for _ in range(5):
        x = torch.sigmoid(x * 1.5 + 0.25) - torch.tanh(x)
    return x


def bias_gelu(x, b):
    return F.gelu(x + b)


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w


def tensors_in(value) -> list[torch.Tensor]:
    """Every tensor in `value`, a tensor or (nested) tuples/lists/dicts of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def nbytes(*values) -> int:
    """Bytes of every tensor in `values` (each tensor's numel times its element size)."""
    return sum(t.numel() * t.element_size() for v in values for t in tensors_in(v))


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def cuda_time_ms(fn, args=(), warmup: int = 25, rep: int = 100) -> float:
    """Median ms per call of fn(*args), CUDA events, L2 flushed between calls."""
    from triton.testing import do_bench

    return do_bench(lambda: fn(*args), warmup=warmup, rep=rep, return_mode="median")


def cuda_timing_round(fn, args=(), quick: bool = False):
    """A function timing one do_bench round of fn(*args): its median ms per call."""
    warmup, rep = (5, 10) if quick else (10, 40)
    return lambda: cuda_time_ms(fn, args, warmup=warmup, rep=rep)


def cpu_timing_loop(fn, args=(), loop_ms: float = 50.0):
    """A function timing one timeit loop of fn(*args) of about `loop_ms`: ms per call.

    Calls fn once first (warm-up), and sizes the loop from that call.
    """
    timer = timeit.Timer(lambda: fn(*args))
    start = time.perf_counter()
    fn(*args)
    once_ms = (time.perf_counter() - start) * 1e3
    number = max(1, int(loop_ms / max(once_ms, 1e-3)))
    return lambda: timer.timeit(number=number) / number * 1e3


def cpu_time_ms(fn, args=(), loop_ms: float = 50.0, repeats: int = 7) -> float:
    """Median ms per call of fn(*args) over `repeats` timeit loops of about `loop_ms` each."""
    loop = cpu_timing_loop(fn, args, loop_ms)
    return statistics.median(loop() for _ in range(repeats))


def cpu_loop_settings(quick: bool = False) -> tuple[float, int]:
    """(loop_ms, repeats) of the CPU timings: short loops for --quick."""
    return (10.0, 3) if quick else (50.0, 7)


def time_ms(fn, args=(), device: str = "cpu", quick: bool = False) -> float:
    if device == "cuda":
        return cuda_time_ms(fn, args, warmup=5 if quick else 25, rep=20 if quick else 100)
    loop_ms, repeats = cpu_loop_settings(quick)
    return cpu_time_ms(fn, args, loop_ms=loop_ms, repeats=repeats)


def copy_bandwidth_gbs(device: str = "cuda", quick: bool = False, moved_bytes: int | None = None) -> float:
    """The machine's copy bandwidth: bytes read plus bytes written by a large clone, per second.

    With `moved_bytes`, the bandwidth of a clone that moves that many bytes
    (reads half, writes half): the fixed cost of a launch, the ramp and the
    tail weigh on a small copy as on any kernel of its size (an H100 clone
    moving 64 MiB reaches 81% of the 512 MiB clone's bandwidth, 128 MiB 92%).

    CPU: a copy into a buffer allocated once. A clone of 64 MiB or more gets
    fresh pages from the OS at every call (glibc maps it anew), and zeroing
    them on first touch, not the copy, sets its time (on a 2-core VM, 2.9
    GB/s against 17 for the copy itself).
    """
    size = moved_bytes // 2 if moved_bytes else (1 << 28) if device == "cuda" else (1 << 24 if quick else 1 << 27)
    x = torch.empty(max(size, 1), dtype=torch.uint8, device=device)
    x.fill_(1)
    if device == "cuda":
        ms = time_ms(lambda t: t.clone(), (x,), device=device, quick=quick)
    else:
        out = torch.empty_like(x).fill_(0)
        ms = time_ms(lambda t: out.copy_(t), (x,), device=device, quick=quick)
    return 2 * x.numel() / ms / 1e6
