"""GPU benchmark: eager vs Inductor vs coil on memory-bound workloads, in one run.

    python benchmarks/gpu_workloads.py [--dtype float32|bfloat16] [--only NAME ...] [--autotune]

For each workload: the median time per call of each backend (CUDA events via
`triton.testing.do_bench`, which flushes the L2 cache between calls), the
achieved bandwidth (bytes of the inputs and outputs over the time) next to the
device's measured copy bandwidth, the kernels each compiler generated, and
compile times. Timings are measurements, not tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn as nn

import coil
from common import bias_gelu, copy_bandwidth_gbs, cuda_time_ms, nbytes, pointwise_chain, rms_norm


def _shapes(dtype):
    def randn(*shape):
        return torch.randn(*shape, device="cuda", dtype=dtype)

    return {
        "pointwise_chain": (lambda: pointwise_chain, lambda: (randn(1 << 24),)),
        "bias_gelu": (lambda: bias_gelu, lambda: (randn(8192, 4096), randn(4096))),
        "softmax_1024": (lambda: (lambda x: torch.softmax(x, -1)), lambda: (randn(16384, 1024),)),
        "softmax_32000": (lambda: (lambda x: torch.softmax(x, -1)), lambda: (randn(1024, 32000),)),
        "layernorm": (lambda: nn.LayerNorm(4096, device="cuda", dtype=dtype).eval(), lambda: (randn(8192, 4096),)),
        "rms_norm": (lambda: rms_norm, lambda: (randn(8192, 4096), randn(4096))),
        "sum_rows": (lambda: (lambda x: x.sum(-1)), lambda: (randn(8192, 4096),)),
        "sum_cols": (lambda: (lambda x: x.sum(0)), lambda: (randn(8192, 4096),)),
        "var_mean": (lambda: (lambda x: torch.var_mean(x, -1)), lambda: (randn(8192, 4096),)),
        "transpose_add": (lambda: (lambda x, y: x.t() + y), lambda: (randn(4096, 4096), randn(4096, 4096))),
    }


def _bytes(args, out) -> int:
    return nbytes(args, out)


def _time_ms(fn, args) -> float:
    with torch.no_grad():
        return cuda_time_ms(fn, args)


def run(name: str, workloads: dict) -> dict:
    from torch._inductor import config as inductor_config
    from torch._inductor import metrics as inductor_metrics

    inductor_config.fx_graph_cache = False
    make_fn, make_args = workloads[name]
    torch.manual_seed(0)
    fn, args = make_fn(), make_args()
    with torch.no_grad():
        expected = fn(*args)
    row = {"workload": name, "bytes": _bytes(args, expected)}
    row["eager_ms"] = _time_ms(fn, args)

    torch._dynamo.reset()
    inductor_metrics.reset()
    compiled = torch.compile(fn, backend="inductor")
    start = time.perf_counter()
    with torch.no_grad():
        compiled(*args)
    torch.cuda.synchronize()
    row["inductor_compile_s"] = time.perf_counter() - start
    row["inductor_kernels"] = inductor_metrics.generated_kernel_count
    row["inductor_ms"] = _time_ms(compiled, args)

    torch._dynamo.reset()
    coil.metrics.reset()
    compiled = torch.compile(fn, backend="coil")
    start = time.perf_counter()
    with torch.no_grad():
        actual = compiled(*args)
    torch.cuda.synchronize()
    row["coil_compile_s"] = time.perf_counter() - start
    # Loose enough for reductions summed in another order than eager's.
    tolerance = 2e-2 if args[0].dtype in (torch.bfloat16, torch.float16) else 1e-3
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance)
    stats = coil.metrics.snapshot()
    row["coil_kernels"] = stats["kernels"]
    row["coil_fallbacks"] = stats["fallbacks"]
    row["coil_ms"] = _time_ms(compiled, args)
    for backend in ("eager", "inductor", "coil"):
        row[f"{backend}_gbs"] = row["bytes"] / row[f"{backend}_ms"] / 1e6
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--autotune", action="store_true", help="coil.config.autotune for coil's kernels")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    options = parser.parse_args(argv)
    coil.config.autotune = options.autotune
    workloads = _shapes(getattr(torch, options.dtype))
    names = options.only or list(workloads)
    copy = copy_bandwidth_gbs()
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, {options.dtype}; copy bandwidth {copy:.0f} GB/s")
    print(
        f"{'workload':16s} {'eager ms':>9s} {'ind ms':>8s} {'coil ms':>8s} {'ind/coil':>8s} {'eager/coil':>10s}"
        f" {'GB/s e/i/c':>16s} {'coil %copy':>10s} {'kernels c/i':>11s} {'compile c/i s':>14s}"
    )
    rows = []
    for name in names:
        try:
            r = run(name, workloads)
        except Exception as error:  # noqa: BLE001 - report and go on to the next workload
            print(f"{name:16s} failed: {type(error).__name__}: {str(error)[:300]}")
            continue
        rows.append(r)
        print(
            f"{name:16s} {r['eager_ms']:9.3f} {r['inductor_ms']:8.3f} {r['coil_ms']:8.3f}"
            f" {r['inductor_ms'] / r['coil_ms']:8.2f} {r['eager_ms'] / r['coil_ms']:10.2f}"
            f" {r['eager_gbs']:5.0f}/{r['inductor_gbs']:4.0f}/{r['coil_gbs']:<5.0f}"
            f" {100 * r['coil_gbs'] / copy:9.0f}%"
            f" {r['coil_kernels']:>5d}/{r['inductor_kernels']:<5d}"
            f" {r['coil_compile_s']:6.1f}/{r['inductor_compile_s']:<6.1f}"
        )
        sys.stdout.flush()
    if options.json:
        with open(options.json, "w") as f:
            json.dump({"copy_gbs": copy, "dtype": options.dtype, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
