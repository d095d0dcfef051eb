"""coil's benchmark suite: eager vs Inductor vs coil on one device, in one process.

    python benchmarks/suite.py --device cpu|cuda [--dtype float32|bfloat16 ...]
        [--only NAME ...] [--json out.json] [--chart out.png] [--quick] [--no-warm] [--threads N]

For every workload and backend (eager, Inductor, coil) it reports:

- time: the median ms per call over rounds taken in turn (eager, Inductor,
  coil, eager, ...) after every backend has compiled, so that a shared
  machine's slow spells weigh on all three alike instead of on whichever ran
  then. CUDA: 5 rounds of `triton.testing.do_bench` (CUDA events, L2 flushed
  between calls; 40 ms each), the median of their medians; CPU: the median
  of 7 timeit loops of ~50 ms each.
- speedup over eager (eager ms / backend ms) and the ratio Inductor/coil
  (Inductor ms / coil ms: > 1 means coil is faster).
- achieved GB/s: bytes of the inputs (parameters included) and outputs over the
  time (in-place updates count their reads and writes), next to the machine's
  copy bandwidth measured by a large clone (%cp), and next to the bandwidth
  of a clone that moves as many bytes as the workload (%cp=: what a copy of
  that size reaches, its fixed launch, ramp and tail costs included). The
  training step has none.
- compile time, cold and warm. Cold: this process starts with empty coil,
  Inductor and Triton caches (fresh COIL_CACHE_DIR, TORCHINDUCTOR_CACHE_DIR and
  TRITON_CACHE_DIR under a temporary directory, set before torch is imported),
  `torch._dynamo.reset()` before every compile; the first call's time,
  compilation and one run included. One-time process costs (imports, worker
  start-up) are paid first by compiling a trivial function under both
  compilers, and reported apart. Warm: a second process (this script with
  --warm-worker) with the same cache directories, after the same warm-up,
  compiles every workload again and times its first call.
- peak memory: CUDA, `torch.cuda.max_memory_allocated()` over the second
  call, before timing (everything live then counts: inputs, parameters,
  optimizer state), and the part above what was allocated before the call;
  each backend starts from an emptied caching allocator. The JSON also has
  the peak of the bytes requested (`requested_bytes.all.peak`: tensor sizes,
  not the cached blocks that served them, which the allocator does not split
  when less than 1 MiB would be left). CPU: not measured (null); coil's
  planned peak of live buffers (coil.metrics) is reported for coil.
- kernels generated: coil from coil.metrics, Inductor from
  torch._inductor.metrics.generated_kernel_count (cold compile).
- max |backend - eager| over the outputs (the state after one step for the
  AdamW update; the loss and every gradient for the training step); a result
  outside the workload's tolerance marks the row MISMATCH. A backend that
  fails is reported as failed and the suite goes on. A coil graph that fell
  back to eager is marked FALLBACK.
- geometric means of Inductor/coil and of each backend's speedup, per dtype.

The AdamW workload is a functional AdamW update (in place on parameter and
state lists, as torch.optim's foreach implementation) compiled whole. The
training step compiles the model and loss (forward and backward graphs); the
optimizer step (torch.optim.AdamW, foreach) runs eagerly after it.

Timings are measurements, never tests: run on a quiet machine. On a shared
CPU, OpenMP regions wait for descheduled threads (a 20 us kernel can take
8 ms): the header prints the load average, and --threads N (OMP_NUM_THREADS,
COIL_THREADS and torch.set_num_threads) makes fewer threads wait.
"""

from __future__ import annotations

import os
import sys
import tempfile

_CACHE_VARS = {"COIL_CACHE_DIR": "coil", "TORCHINDUCTOR_CACHE_DIR": "inductor", "TRITON_CACHE_DIR": "triton"}


def _fresh_cache_dirs() -> str:
    """Points every compiler cache at a new empty directory; must run before torch is imported."""
    root = tempfile.mkdtemp(prefix="coil-suite-")
    os.environ["COIL_SUITE_CACHE_ROOT"] = root
    for var, sub in _CACHE_VARS.items():
        os.environ[var] = os.path.join(root, sub)
    return root


def _threads_from_argv(argv: list[str]) -> None:
    """--threads N sets OpenMP's and coil's thread counts, which are read when torch and coil load."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else arg.partition("=")[2] if arg.startswith("--threads=") else None
        if value:
            os.environ["OMP_NUM_THREADS"] = os.environ["COIL_THREADS"] = value


if __name__ == "__main__":
    _threads_from_argv(sys.argv)
    if "--warm-worker" not in sys.argv:
        _fresh_cache_dirs()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any, Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coil  # noqa: E402
from common import (  # noqa: E402
    bias_gelu, copy_bandwidth_gbs, cpu_loop_settings, cpu_timing_loop, cuda_timing_round, nbytes, pointwise_chain, rms_norm, sync, tensors_in,
)

BACKENDS = ("eager", "inductor", "coil")
CUDA_ROUNDS = 5  # do_bench rounds per backend, in turn


# --------------------------------------------------------------------------- models


class Block(nn.Module):
    """A pre-norm (GPT-style) transformer block: causal self-attention and a GELU MLP."""

    def __init__(self, dim: int, heads: int, ffn: int, max_len: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.register_buffer("mask", torch.ones(max_len, max_len, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) * (d // self.heads) ** -0.5
        scores = scores.masked_fill(self.mask[:t, :t], float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + self.proj(attn.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class MLP(nn.Module):
    """Linear-GELU-Linear: two matmuls (extern) with bias and GELU epilogues."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class GPT(nn.Module):
    def __init__(self, vocab: int, dim: int, heads: int, layers: int, length: int):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(length, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, 4 * dim, length) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1], device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def adamw_update(params, grads, exp_avgs, exp_avg_sqs, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    """One AdamW step, in place on the parameter and state lists (torch.optim.AdamW's arithmetic).

    `step` is a 0-d tensor so that calls at different steps share one graph.
    """
    bias1 = 1 - beta1**step
    bias2_sqrt = (1 - beta2**step).sqrt()
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        p.mul_(1 - lr * weight_decay)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        p.sub_(lr * (m / bias1) / (v.sqrt() / bias2_sqrt + eps))


# --------------------------------------------------------------------------- workloads


@dataclasses.dataclass
class Case:
    """One workload, built fresh (same seed) for each backend.

    fn(*args) is what gets compiled. `step`, when set, wraps the (compiled) fn
    into what is timed (the training step). `results(out, args)` lists the
    tensors compared against eager after the first call. `bytes` overrides the
    default count (tensors of args, the module's parameters, and outputs).
    """

    fn: Callable
    args: tuple
    step: Callable[[Callable], Callable] | None = None
    results: Callable[[Any, tuple], list] | None = None
    bytes: int | None = None
    train: bool = False
    tol: float | None = None


def _sizes(device: str, quick: bool, dtype: torch.dtype = torch.float32) -> dict:
    """Workload sizes. On CUDA the memory-bound workloads move as many bytes in
    every dtype: a 2-byte dtype gets twice the rows (n, rows, wide_rows,
    ce_rows; transpose_add twice the columns). Each then stays well above
    the H100's 50 MiB L2, and its %cp compares with the large clone's
    bandwidth on equal terms: with as many elements, a bfloat16 workload moved
    64 MiB, a size at which a plain copy reaches only 81% of that bandwidth.
    The AdamW update (16M parameters) and the matmul workloads keep their
    shapes."""
    if device == "cuda" and not quick:
        scale = max(1, 4 // dtype.itemsize)
        return dict(n=scale << 24, rows=scale * 8192, cols=4096, wide_rows=scale * 1024, ce_rows=scale * 4096,
                    t=4096, t_wide=scale * 4096,
                    adamw=[(1024, 1024)] * 12 + [(4096, 1024)] + [(1024,)] * 8,
                    mlp=(8192, 1024, 4096), block=(8, 1024, 1024, 16),
                    gpt=dict(vocab=32000, dim=512, heads=8, layers=4, length=512, batch=8))
    if quick:
        return dict(n=1 << 14, rows=64, cols=256, wide_rows=4, ce_rows=16, t=128, t_wide=128, adamw=[(256, 256)] * 3 + [(256,)],
                    mlp=(64, 64, 256), block=(2, 32, 64, 4), gpt=dict(vocab=512, dim=64, heads=4, layers=1, length=32, batch=2))
    return dict(n=1 << 20, rows=2048, cols=1024, wide_rows=128, ce_rows=256, t=2048, t_wide=2048,
                adamw=[(1024, 1024)] * 12 + [(4096, 1024)] + [(1024,)] * 8,
                mlp=(1024, 256, 1024), block=(4, 128, 256, 4),
                gpt=dict(vocab=2048, dim=128, heads=4, layers=2, length=64, batch=8))


def workloads(device: str, dtype: torch.dtype, quick: bool) -> dict[str, Callable[[], Case]]:
    """name -> a function that builds the workload's Case (call it after seeding)."""
    s = _sizes(device, quick, dtype)
    rows, cols = s["rows"], s["cols"]

    def randn(*shape):
        return torch.randn(*shape, device=device, dtype=dtype)

    def module(m):
        return m.to(device=device, dtype=dtype).eval()

    def cross_entropy():
        logits = randn(s["ce_rows"], 32000)
        targets = torch.randint(0, 32000, (s["ce_rows"],), device=device)
        return Case(lambda x, y: F.cross_entropy(x, y), (logits, targets))

    def adamw():
        params = [randn(*shape) for shape in s["adamw"]]
        state = [[randn(*shape) for shape in s["adamw"]] for _ in range(2)]
        exp_avg_sqs = [v.abs() for v in state[1]]
        args = (params, [randn(*shape) for shape in s["adamw"]], state[0], exp_avg_sqs,
                torch.tensor(10.0, device=device))
        # Reads p, g, m, v; writes p, m, v.
        return Case(adamw_update, args, results=lambda out, a: a[0] + a[2] + a[3], bytes=7 * nbytes(params))

    def mlp():
        n, dim, hidden = s["mlp"]
        return Case(module(MLP(dim, hidden)), (randn(n, dim),))

    def block():
        b, t, dim, heads = s["block"]
        return Case(module(Block(dim, heads, 4 * dim, t)), (randn(b, t, dim),))

    def train_step():
        g = s["gpt"]
        model = GPT(g["vocab"], g["dim"], g["heads"], g["layers"], g["length"]).to(device=device, dtype=dtype)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True)
        tokens = torch.randint(0, g["vocab"], (g["batch"], g["length"]), device=device)
        targets = torch.randint(0, g["vocab"], (g["batch"], g["length"]), device=device)

        def loss_fn(tokens, targets):
            return F.cross_entropy(model(tokens).flatten(0, 1), targets.flatten())

        def step(loss_fn):
            def run(tokens, targets):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(tokens, targets)
                loss.backward()
                optimizer.step()
                return loss.detach()

            return run

        # The loss and the gradients of the first step (the optimizer has not touched them).
        return Case(loss_fn, (tokens, targets), step=step, train=True,
                    results=lambda out, a: [out] + [p.grad for p in model.parameters()])

    def fn(f, *shapes):
        return lambda: Case(f, tuple(randn(*shape) for shape in shapes))

    return {
        "pointwise_chain": fn(pointwise_chain, (s["n"],)),
        "bias_gelu": fn(bias_gelu, (rows, cols), (cols,)),
        "softmax_rows": fn(lambda x: torch.softmax(x, -1), (2 * rows, cols)),
        "softmax_32000": fn(lambda x: torch.softmax(x, -1), (s["wide_rows"], 32000)),
        "layernorm": lambda: Case(module(nn.LayerNorm(cols)), (randn(rows, cols),)),
        "rms_norm": fn(rms_norm, (rows, cols), (cols,)),
        "sum_rows": fn(lambda x: x.sum(-1), (rows, cols)),
        "sum_cols": fn(lambda x: x.sum(0), (rows, cols)),
        "mean_rows": fn(lambda x: x.mean(-1), (rows, cols)),
        "mean_cols": fn(lambda x: x.mean(0), (rows, cols)),
        "var_rows": fn(lambda x: x.var(-1), (rows, cols)),
        "var_cols": fn(lambda x: x.var(0), (rows, cols)),
        "transpose_add": fn(lambda x, y: x.t() + y, (s["t"], s["t_wide"]), (s["t_wide"], s["t"])),
        "cross_entropy": cross_entropy,
        "adamw_16m": adamw,
        "mlp_block": mlp,
        "transformer_block": block,
        "gpt_train_step": train_step,
    }


# --------------------------------------------------------------------------- running


def _tolerance(case: Case, dtype: torch.dtype) -> float:
    if case.tol is not None:
        return case.tol
    low = dtype in (torch.bfloat16, torch.float16)
    if case.train:
        return 5e-2 if low else 2e-3
    return 5e-2 if low else 1e-3


def _compare(actual: list, expected: list, tol: float) -> tuple[float, bool]:
    """(max |actual - expected|, whether every pair is within tol, relative and absolute)."""
    worst, ok = 0.0, len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if a is None or e is None:
            ok = ok and a is None and e is None
            continue
        a, e = a.detach().to("cpu", torch.float64), e.detach().to("cpu", torch.float64)
        if a.shape != e.shape:
            return math.inf, False
        if a.numel():
            worst = max(worst, (a - e).abs().nan_to_num(math.inf).max().item())
        ok = ok and torch.allclose(a, e, rtol=tol, atol=tol, equal_nan=True)
    return worst, ok


def _build(make: Callable[[], Case]) -> Case:
    torch.manual_seed(0)
    return make()


def _callable(case: Case, backend: str) -> Callable:
    fn = case.fn if backend == "eager" else torch.compile(case.fn, backend=backend)
    return case.step(fn) if case.step else fn


def _first_call(case: Case, run: Callable, device: str) -> tuple[Any, float]:
    sync(device)
    start = time.perf_counter()
    with torch.set_grad_enabled(case.train):
        out = run(*case.args)
    sync(device)
    return out, time.perf_counter() - start


def _results(case: Case, out) -> list:
    tensors = case.results(out, case.args) if case.results else tensors_in(out)
    # Keep the reference off the GPU so that it does not count in later peaks.
    return [None if t is None else t.detach().to("cpu", copy=True) for t in tensors]


def _measure(name: str, make: Callable[[], Case], backend: str, device: str, dtype: torch.dtype,
             quick: bool, expected: list | None) -> tuple[dict, list | None]:
    """Compiles and checks one backend on the workload; on CUDA also its peak memory
    (times are taken afterwards for all backends in turn: _interleaved_times)."""
    from torch._inductor import metrics as inductor_metrics

    row: dict = {"status": "ok"}
    if device == "cuda":
        # Each backend starts from an empty caching allocator: blocks the previous
        # backend left cached would change how this one's requests are split (an
        # allocation served from a larger cached block counts the block's size).
        gc.collect()
        torch.cuda.empty_cache()
    case = _build(make)
    run = _callable(case, backend)
    torch._dynamo.reset()
    coil.metrics.reset()
    inductor_metrics.reset()
    out, first_s = _first_call(case, run, device)
    results = _results(case, out)
    if backend != "eager":
        row["compile_cold_s"] = first_s
    if backend == "inductor":
        row["kernels"] = inductor_metrics.generated_kernel_count
    if backend == "coil":
        stats = coil.metrics.snapshot()
        row["kernels"] = stats["kernels"]
        row["graphs"] = stats["graphs"]
        row["fallbacks"] = stats["fallbacks"]
        row["fallback_ops"] = stats["fallback_ops"]
        row["extern_ops"] = stats["extern_ops"]
        row["planned_peak_bytes"] = sum(stats["planned_peak_bytes"])
        if stats["fallbacks"]:
            row["status"] = f"FALLBACK ({', '.join(stats['fallback_ops']) or stats['fallbacks']})"
    if expected is not None:
        error, ok = _compare(results, expected, _tolerance(case, dtype))
        row["max_abs_err"] = error
        row["matches_eager"] = ok
        if not ok:
            row["status"] = "MISMATCH" if row["status"] == "ok" else row["status"] + ", MISMATCH"
    with torch.set_grad_enabled(case.train):
        if device == "cuda":
            # A second call (the training step's optimizer state exists by now), alone:
            # no other backend's buffers are live, nor do_bench's.
            gc.collect()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            before_requested = torch.cuda.memory_stats().get("requested_bytes.all.current")
            run(*case.args)
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
            row["peak_mib"] = peak / 2**20
            row["peak_over_live_mib"] = (peak - before) / 2**20
            # The bytes the tensors asked for, without the caching allocator's rounding up to
            # the cached block that served them (a block less than 1 MiB larger than a large
            # request is not split, and counts whole in max_memory_allocated).
            peak_requested = torch.cuda.memory_stats().get("requested_bytes.all.peak")
            if peak_requested is not None and before_requested is not None:
                row["peak_requested_mib"] = peak_requested / 2**20
                row["peak_requested_over_live_mib"] = (peak_requested - before_requested) / 2**20
        else:
            row["peak_mib"] = None
    row["bytes"] = case.bytes if case.bytes is not None else (
        None if case.train else nbytes(case.args, out, list(case.fn.parameters()) if isinstance(case.fn, nn.Module) else [],
                                       list(case.fn.buffers()) if isinstance(case.fn, nn.Module) else []))
    del case, run, out
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return row, results


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:400]}"


def _interleaved_times(make: Callable[[], Case], backends: list[str], device: str, quick: bool) -> dict[str, float]:
    """Median ms per call of each backend, their timing rounds taken in turn.

    Every backend is built and compiled (warm: a second compile of the same
    graphs) and called once first; then each round runs one timing of each
    backend: a timeit loop on the CPU, a do_bench (L2 flushed, CUDA events) on
    CUDA. On a machine shared with other tenants the speed drifts by tens of
    percent over seconds: timed one after the other, a backend's ratio to the
    others would measure the drift as much as the backend. On CUDA the host
    drifts so (on one H100 node the bf16 GPT step's host time per step went
    from 12.3 to 6.8 ms between two rounds), which a step that launches more
    work than the GPU runs in the meantime (a training step, AdamW's 84
    tensors) measures directly.
    """
    cases = {b: _build(make) for b in backends}
    runs = {b: _callable(cases[b], b) for b in backends}
    torch._dynamo.reset()
    loop_ms, repeats = cpu_loop_settings(quick)
    loops: dict[str, Callable[[], float]] = {}
    for backend in backends:
        case = cases[backend]
        with torch.set_grad_enabled(case.train):
            runs[backend](*case.args)  # compiles: the loop is sized from the call after
            if device == "cuda":
                loops[backend] = cuda_timing_round(runs[backend], case.args, quick=quick)
            else:
                loops[backend] = cpu_timing_loop(runs[backend], case.args, loop_ms=loop_ms)
    times: dict[str, list[float]] = {b: [] for b in backends}
    rounds = min(repeats, CUDA_ROUNDS) if device == "cuda" else repeats
    for _ in range(rounds):
        for backend in backends:
            with torch.set_grad_enabled(cases[backend].train):
                times[backend].append(loops[backend]())
    del cases, runs, loops
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {b: statistics.median(v) for b, v in times.items()}


def run_workload(name: str, make: Callable[[], Case], device: str, dtype: torch.dtype, quick: bool) -> dict:
    row: dict = {"workload": name, "dtype": str(dtype).removeprefix("torch.")}
    expected = None
    for backend in BACKENDS:
        try:
            result, results = _measure(name, make, backend, device, dtype, quick, expected)
            if backend == "eager":
                expected = results
        except Exception as error:  # noqa: BLE001 - report, and go on with the next backend
            result = {"status": f"failed: {_short(error)}", "traceback": traceback.format_exc(limit=8)}
            torch._dynamo.reset()
            if backend == "eager":
                # Without eager there is nothing to compare with; still try the compilers.
                expected = None
        row[backend] = result
    timed = [b for b in BACKENDS if "bytes" in row[b]]
    if timed:
        try:
            for backend, ms in _interleaved_times(make, timed, device, quick).items():
                row[backend]["ms"] = ms
        except Exception as error:  # noqa: BLE001
            for backend in timed:
                row[backend]["status"] = f"timing failed: {_short(error)}"
    for backend in BACKENDS:
        ms, moved = row[backend].get("ms"), row[backend].get("bytes")
        if ms:
            row[backend]["gbs"] = moved / ms / 1e6 if moved else None
    e, i, c = (row[b].get("ms") for b in BACKENDS)
    for backend in ("inductor", "coil"):
        ms = row[backend].get("ms")
        row[backend]["speedup_vs_eager"] = e / ms if e and ms else None
    row["inductor_over_coil"] = i / c if i and c else None
    return row


def _warm_up_compilers(device: str) -> dict:
    """Pays the one-time costs of each compiler (imports, worker pools) on a trivial graph."""
    seconds = {}
    x = torch.randn(64, device=device)
    for backend in ("inductor", "coil"):
        torch._dynamo.reset()
        start = time.perf_counter()
        torch.compile(lambda t: t * 2 + 1, backend=backend)(x)
        sync(device)
        seconds[backend] = time.perf_counter() - start
    torch._dynamo.reset()
    return seconds


def warm_worker(options) -> int:
    """The second process: compile every workload again with the (now warm) caches."""
    _warm_up_compilers(options.device)
    out = {}
    for dtype_name in options.dtype:
        dtype = getattr(torch, dtype_name)
        table = workloads(options.device, dtype, options.quick)
        for name in options.only or list(table):
            for backend in ("inductor", "coil"):
                key = f"{dtype_name}/{name}/{backend}"
                try:
                    case = _build(table[name])
                    run = _callable(case, backend)
                    torch._dynamo.reset()
                    _, out[key] = _first_call(case, run, options.device)
                    del case, run
                except Exception as error:  # noqa: BLE001
                    out[key] = f"failed: {_short(error)}"
                gc.collect()
    with open(options.json, "w") as f:
        json.dump(out, f)
    return 0


def _warm_compile(options, names: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    command = [sys.executable, os.path.abspath(__file__), "--warm-worker", "--device", options.device,
               "--json", path, "--dtype", *options.dtype,
               *(["--threads", str(options.threads)] if options.threads else []), "--only", *names] + (["--quick"] if options.quick else [])
    try:
        done = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True)
        if done.returncode != 0:
            print(f"warm-compile worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
            return {}
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


# --------------------------------------------------------------------------- reporting


def _geomean(values) -> float | None:
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarize(rows: list[dict]) -> dict:
    out = {}
    for dtype in dict.fromkeys(r["dtype"] for r in rows):
        mine = [r for r in rows if r["dtype"] == dtype]
        both = [r for r in mine if r["inductor_over_coil"]]
        out[dtype] = {
            "inductor_over_coil": _geomean(r["inductor_over_coil"] for r in both),
            "coil_speedup_vs_eager": _geomean(r["coil"].get("speedup_vs_eager") for r in both),
            "inductor_speedup_vs_eager": _geomean(r["inductor"].get("speedup_vs_eager") for r in both),
            "compile_cold_inductor_over_coil": _geomean(
                r["inductor"]["compile_cold_s"] / r["coil"]["compile_cold_s"] for r in both),
            "workloads": len(both),
            "not_ok": sorted(r["workload"] for r in mine if any(r[b]["status"] != "ok" for b in BACKENDS)),
        }
    return out


def _fmt(value, spec: str, width: int) -> str:
    return f"{'-':>{width}s}" if value is None else f"{value:{width}{spec}}"


def print_table(rows: list[dict], copy_gbs: float, device: str) -> None:
    header = (f"{'workload':18s} {'dtype':8s} {'eager ms':>9s} {'ind ms':>9s} {'coil ms':>9s} {'ind/coil':>8s}"
              f" {'ind x':>6s} {'coil x':>6s} {'GB/s e/i/c':>16s} {'coil %cp':>8s} {'%cp=':>8s} {'kern c/i':>9s}"
              f" {'cold c/i s':>11s} {'warm c/i s':>11s}")
    if device == "cuda":
        header += f" {'peak MiB e/i/c':>17s}"
    header += f" {'err c/i':>15s}  status"
    print(header)
    for r in rows:
        e, i, c = (r[b] for b in BACKENDS)

        def gbs(x):
            return "-" if x.get("gbs") is None else f"{x['gbs']:.0f}"

        def num(x, key, spec):
            v = x.get(key)
            return "-" if not isinstance(v, (int, float)) else format(v, spec)

        pct = f"{100 * c['gbs'] / copy_gbs:7.0f}%" if c.get("gbs") else f"{'-':>8s}"
        same = r.get("copy_same_bytes_gbs")
        pct_same = f"{100 * c['gbs'] / same:7.0f}%" if c.get("gbs") and same else f"{'-':>8s}"
        line = (f"{r['workload']:18s} {r['dtype']:8s} {_fmt(e.get('ms'), '.3f', 9)} {_fmt(i.get('ms'), '.3f', 9)}"
                f" {_fmt(c.get('ms'), '.3f', 9)} {_fmt(r['inductor_over_coil'], '.2f', 8)}"
                f" {_fmt(i.get('speedup_vs_eager'), '.2f', 6)} {_fmt(c.get('speedup_vs_eager'), '.2f', 6)}"
                f" {gbs(e) + '/' + gbs(i) + '/' + gbs(c):>16s} {pct} {pct_same}"
                f" {num(c, 'kernels', 'd') + '/' + num(i, 'kernels', 'd'):>9s}"
                f" {num(c, 'compile_cold_s', '.1f') + '/' + num(i, 'compile_cold_s', '.1f'):>11s}"
                f" {num(c, 'compile_warm_s', '.1f') + '/' + num(i, 'compile_warm_s', '.1f'):>11s}")
        if device == "cuda":
            line += f" {'/'.join(num(x, 'peak_mib', '.0f') for x in (e, i, c)):>17s}"
        line += f" {num(c, 'max_abs_err', '.1e') + '/' + num(i, 'max_abs_err', '.1e'):>15s}"
        problems = [f"{b}: {r[b]['status']}" for b in BACKENDS if r[b]["status"] != "ok"]
        line += "  " + ("; ".join(problems) if problems else "ok")
        print(line)


def write_chart(rows: list[dict], path: str, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no chart written to {path} "
              "(pip install matplotlib, or pip install -e '.[bench]')", file=sys.stderr)
        return False
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    fig, axes = plt.subplots(1, len(dtypes), figsize=(7 * len(dtypes), 0.35 * len(rows) / len(dtypes) + 2),
                             squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        mine = [r for r in rows if r["dtype"] == dtype]
        ys = range(len(mine))
        for offset, backend, color in ((-0.2, "inductor", "tab:blue"), (0.2, "coil", "tab:orange")):
            values = [r[backend].get("speedup_vs_eager") or 0.0 for r in mine]
            ax.barh([y + offset for y in ys], values, height=0.4, color=color, label=backend)
            for y, v, r in zip(ys, values, mine):
                if r[backend]["status"] != "ok":
                    ax.text(max(v, 0.01), y + offset, " " + r[backend]["status"].split(":")[0], va="center", fontsize=6)
        ax.axvline(1.0, color="gray", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yticks(list(ys), [r["workload"] for r in mine], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("speedup over eager (higher is faster)")
        ax.set_title(f"{title}, {dtype}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", nargs="+", default=["float32"], choices=["float32", "bfloat16", "float16"],
                        help="one or more dtypes, each run over every workload (geometric means per dtype)")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these workloads")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--chart", default=None, help="write a PNG chart of the speedups over eager to this file")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short timing loops (a smoke run)")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm-compile second process")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for eager, Inductor and coil (default: torch's default, every core)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--warm-worker", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    options = _parser().parse_args(argv)
    if options.threads:
        torch.set_num_threads(options.threads)
    if options.warm_worker:
        return warm_worker(options)
    device = options.device
    if device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is available", file=sys.stderr)
        return 2
    names = list(workloads(device, torch.float32, options.quick))
    if options.list:
        print("\n".join(names))
        return 0
    unknown = sorted(set(options.only or ()) - set(names))
    if unknown:
        print(f"unknown workload(s) {unknown}; the workloads are {names}", file=sys.stderr)
        return 2
    names = [n for n in names if n in set(options.only)] if options.only else names
    cache_root = os.environ.get("COIL_SUITE_CACHE_ROOT")
    fresh = bool(cache_root) and all(os.environ.get(v, "").startswith(cache_root) for v in _CACHE_VARS)

    suite_start = time.perf_counter()
    copy_gbs = copy_bandwidth_gbs(device, quick=options.quick)
    machine = torch.cuda.get_device_name() if device == "cuda" else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"torch {torch.__version__}, {device} ({machine}), {torch.get_num_threads()} threads;"
          + (f" load average {load:.1f};" if load is not None else "")
          +
          f" copy bandwidth {copy_gbs:.1f} GB/s; dtypes {' '.join(options.dtype)}{'; quick' if options.quick else ''}")
    if device == "cpu" and load is not None and load > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} cores: other processes share this machine;"
              " timings are unreliable" + (", and multi-threaded kernels wait for descheduled threads"
                                           " (--threads 1 helps)" if torch.get_num_threads() > 1 else ""),
              file=sys.stderr)
    startup = _warm_up_compilers(device)
    print(f"compiler start-up (trivial graph, not counted below): inductor {startup['inductor']:.1f} s,"
          f" coil {startup['coil']:.1f} s", file=sys.stderr)

    rows = []
    for dtype_name in options.dtype:
        dtype = getattr(torch, dtype_name)
        table = workloads(device, dtype, options.quick)
        for index, name in enumerate(names, 1):
            start = time.perf_counter()
            row = run_workload(name, table[name], device, dtype, options.quick)
            moved = row["coil"].get("bytes")
            if moved:
                row["copy_same_bytes_gbs"] = copy_bandwidth_gbs(device, quick=options.quick, moved_bytes=moved)
            rows.append(row)
            status = "; ".join(f"{b} {row[b]['status']}" for b in BACKENDS if row[b]["status"] != "ok") or "ok"
            print(f"[{dtype_name} {index}/{len(names)}] {name}: ind/coil "
                  f"{_fmt(row['inductor_over_coil'], '.2f', 0)} ({time.perf_counter() - start:.0f} s) {status}",
                  file=sys.stderr, flush=True)

    if not options.no_warm:
        start = time.perf_counter()
        warm = _warm_compile(options, names)
        print(f"warm compiles (second process): {time.perf_counter() - start:.0f} s", file=sys.stderr)
        for row in rows:
            for backend in ("inductor", "coil"):
                value = warm.get(f"{row['dtype']}/{row['workload']}/{backend}")
                if isinstance(value, float):
                    row[backend]["compile_warm_s"] = value
                elif value is not None:
                    row[backend]["compile_warm_error"] = value

    print()
    print_table(rows, copy_gbs, device)
    summary = summarize(rows)
    for dtype, s in summary.items():
        print(f"geomean {dtype} over {s['workloads']} workloads: Inductor/coil time {_fmt(s['inductor_over_coil'], '.3f', 0)}"
              f" (>1: coil faster); speedup over eager: coil {_fmt(s['coil_speedup_vs_eager'], '.2f', 0)},"
              f" inductor {_fmt(s['inductor_speedup_vs_eager'], '.2f', 0)};"
              f" cold compile Inductor/coil {_fmt(s['compile_cold_inductor_over_coil'], '.2f', 0)}"
              + (f"; not ok: {', '.join(s['not_ok'])}" if s["not_ok"] else ""))
    print("columns: ind x / coil x = speedup over eager; GB/s = bytes of inputs+outputs / time;"
          " coil %cp = coil GB/s / copy bandwidth; %cp= = coil GB/s / bandwidth of a clone moving as many bytes;"
          " cold/warm = first-call compile s (coil/inductor);"
          " err = max |backend - eager| (coil/inductor)")
    total_s = time.perf_counter() - suite_start

    if options.json:
        report = {
            "device": device, "machine": machine, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "load_average_at_start": load, "load_average_at_end": os.getloadavg()[0] if load is not None else None,
            "dtypes": options.dtype, "quick": options.quick, "copy_gbs": copy_gbs,
            "timing": "median of triton.testing.do_bench rounds (L2 flushed), backends in turn" if device == "cuda"
                      else "median of timeit loops, backends in turn",
            "compile_cold": "first call in this process with empty cache dirs, after torch._dynamo.reset()"
                            + ("" if fresh else " (WARNING: caches were not fresh: suite.py was imported, not run)"),
            "compile_warm": None if options.no_warm else "first call in a second process with the same (warm) cache dirs",
            "peak_memory": "torch.cuda.max_memory_allocated over one call" if device == "cuda"
                           else "not measured on CPU (coil.planned_peak_bytes is coil's planned peak)",
            "compiler_startup_s": startup, "total_s": total_s, "geomean": summary, "rows": rows,
        }
        with open(options.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    if options.chart:
        if write_chart(rows, options.chart, f"{device} ({machine})"):
            print(f"chart: {options.chart}")
    if cache_root and fresh and not options.warm_worker:
        shutil.rmtree(cache_root, ignore_errors=True)
    print(f"suite time {total_s:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
