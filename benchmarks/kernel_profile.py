"""Where a suite workload's GPU time goes, kernel by kernel, under coil and Inductor.

    python benchmarks/kernel_profile.py WORKLOAD [--dtype bfloat16] [--top 40] [--steps 5] [--host-top 25] [--json out.json]
    python benchmarks/kernel_profile.py WORKLOAD --autotune [--dtype bfloat16] [--top 40] [--json out.json]

Builds the workload as `suite.py` does (same sizes, same seed), compiles it
with each backend, runs three warm-up calls, then records `--steps` calls
under `torch.profiler` (CUDA activity only) and prints, per backend:

- the kernel time per call (the sum over every GPU kernel and memset), the
  launches per call, and the host time per call (20 calls back to back,
  without waiting for the GPU) next to the wall time (waiting for it): a host
  time at or above the wall time means the call is host-bound;
- the `--top` kernels by time per call, with their launches per call;
- with `--host-top N`, where a host-bound call spends its host time: the N
  Python functions (and C calls) with the most time of their own per call,
  from `cProfile` over 20 calls (the profiler's own cost inflates them
  alike for both backends).

coil's kernels carry profile names that say what they compute
(`coil_<poi|per|red|combo>_<FX ops>_<symbol>`, as Inductor's `triton_*`
names do), so the two lists can be read side by side. Timings are
measurements: run on an otherwise idle GPU.

With `--autotune` it instead compiles the workload with coil's autotuning on
and a fresh autotune cache, so that every kernel times its candidate configs
at its first launch (`runtime.GpuKernel._tune`, which writes the timings to the
debug directory), and prints per kernel the default config's time, the
fastest candidate's time and config, and every candidate's time with
`--verbose`: which kernels a better default would speed up, and by how much.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import glob
import json
import os
import pstats
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import suite  # noqa: E402

BACKENDS = ("coil", "inductor")


def host_functions(run, args, calls: int = 20) -> list[tuple[str, float, float]]:
    """(function, own ms per call, calls per call) over `calls` calls of run(*args), most own time first."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        run(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = []
    for (filename, line, name), (_, ncalls, own, _, _) in stats.items():
        where = f"{os.path.basename(filename)}:{line}({name})" if filename != "~" else name
        rows.append((where, own / calls * 1e3, ncalls / calls))
    return sorted(rows, key=lambda r: -r[1])


def profile_backend(make, backend: str, steps: int, host_top: int = 0) -> dict:
    """Kernel times (us per call), launches, host and wall ms per call of one backend."""
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    torch.cuda.empty_cache()
    torch._dynamo.reset()
    case = suite._build(make)
    run = suite._callable(case, backend)
    with torch.set_grad_enabled(case.train):
        for _ in range(3):
            run(*case.args)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(20):
            run(*case.args)
        issued = time.perf_counter()
        torch.cuda.synchronize()
        done = time.perf_counter()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                run(*case.args)
            torch.cuda.synchronize()
        host = host_functions(run, case.args)[:host_top] if host_top else []
    kernels: dict = collections.defaultdict(lambda: [0.0, 0])
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            kernels[event.name][0] += event.device_time_total
            kernels[event.name][1] += 1
    del case, run, prof
    per_call = {name: (us / steps, count / steps) for name, (us, count) in kernels.items()}
    return {
        "kernel_us": sum(us for us, _ in per_call.values()),
        "launches": sum(n for _, n in per_call.values()),
        "host_ms": (issued - start) / 20 * 1e3,
        "wall_ms": (done - start) / 20 * 1e3,
        "kernels": dict(sorted(per_call.items(), key=lambda kv: -kv[1][0])),
        "host_functions": host,
    }


def autotune_report(make, directory: str) -> list[dict]:
    """Every coil kernel's autotuning timings on one workload, slowest default first:
    {"kernel", "default_ms", "best_ms", "best", "candidates"} (configs as dicts)."""
    import coil

    # A fresh autotune cache: a kernel whose winner is cached on disk is not timed again.
    saved_cache = os.environ.get("COIL_CACHE_DIR")
    os.environ["COIL_CACHE_DIR"] = os.path.join(directory, "cache")
    debug_dir = os.path.join(directory, "debug")
    try:
        torch._dynamo.reset()
        case = suite._build(make)
        with coil.config.patch(autotune=True, debug_dir=debug_dir), torch.set_grad_enabled(case.train):
            suite._callable(case, "coil")(*case.args)
        torch.cuda.synchronize()
    finally:
        if saved_cache is None:
            os.environ.pop("COIL_CACHE_DIR", None)
        else:
            os.environ["COIL_CACHE_DIR"] = saved_cache
    report = []
    for path in glob.glob(os.path.join(debug_dir, "**", "*.autotune.json"), recursive=True):
        with open(path) as f:
            candidates = json.load(f)
        (default,) = [c for c in candidates if c["default"]]
        (best,) = [c for c in candidates if c["chosen"]]  # the tuner's own pick
        report.append({"kernel": os.path.basename(path)[: -len(".autotune.json")], "default_ms": default["ms"],
                       "best_ms": best["ms"], "best": best["config"], "default": default["config"],
                       "candidates": candidates})
    return sorted(report, key=lambda r: -r["default_ms"])


def _config_text(config: dict, default: dict) -> str:
    """The fields where `config` differs from `default` (all of them when it is the default)."""
    changed = {k: v for k, v in config.items() if default.get(k) != v} or config
    return " ".join(f"{k}={v}" for k, v in changed.items())


def print_autotune_report(report: list[dict], top: int, verbose: bool) -> None:
    total_default = sum(r["default_ms"] for r in report)
    total_best = sum(r["best_ms"] for r in report)
    print(f"{len(report)} kernels tuned: defaults {total_default * 1e3:.1f} us, fastest candidates"
          f" {total_best * 1e3:.1f} us ({total_default / total_best:.3f}x)")
    print(f"{'default us':>11} {'best us':>9} {'gain':>6}  kernel: best config (its fields that differ from the default)")
    for r in report[:top]:
        gain = r["default_ms"] / r["best_ms"]
        print(f"{r['default_ms'] * 1e3:11.1f} {r['best_ms'] * 1e3:9.1f} {gain:6.3f}  {r['kernel'][:90]}: "
              f"{'default' if r['best'] == r['default'] else _config_text(r['best'], r['default'])}")
        if verbose:
            for c in r["candidates"]:
                print(f"{'':11} {c['ms'] * 1e3:9.1f}         {_config_text(c['config'], r['default'])}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--host-top", type=int, default=0, help="also list the N functions with the most host time")
    parser.add_argument("--json", default=None, help="also write every kernel's time to this file")
    parser.add_argument("--autotune", action="store_true", help="time every coil kernel's candidate configs instead")
    parser.add_argument("--verbose", action="store_true", help="with --autotune, every candidate's time")
    options = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("kernel_profile: no CUDA device is available", file=sys.stderr)
        return 2
    table = suite.workloads("cuda", getattr(torch, options.dtype), False)
    if options.workload not in table:
        print(f"unknown workload {options.workload}; the workloads are {list(table)}", file=sys.stderr)
        return 2
    if options.autotune:
        with tempfile.TemporaryDirectory(prefix="coil-autotune-") as directory:
            report = autotune_report(table[options.workload], directory)
        print(f"coil autotuning, {options.workload} {options.dtype} on {torch.cuda.get_device_name()}:")
        print_autotune_report(report, options.top, options.verbose)
        if options.json:
            with open(options.json, "w") as f:
                json.dump({"workload": options.workload, "dtype": options.dtype, "device": torch.cuda.get_device_name(),
                           "autotune": report}, f, indent=1)
        return 0
    results = {}
    for backend in BACKENDS:
        r = results[backend] = profile_backend(table[options.workload], backend, options.steps, options.host_top)
        print(f"\n{backend} {options.workload} {options.dtype}: kernels {r['kernel_us'] / 1e3:.3f} ms a call,"
              f" {r['launches']:.0f} launches; host {r['host_ms']:.3f} ms, wall {r['wall_ms']:.3f} ms a call")
        for name, (us, count) in list(r["kernels"].items())[: options.top]:
            print(f"{us:10.1f} us {count:5.0f}x  {name[:120]}")
        if r["host_functions"]:
            print(f"host: the {options.host_top} functions with the most time of their own, ms and calls a call")
            for where, ms, count in r["host_functions"]:
                print(f"{ms:10.3f} ms {count:7.1f}x  {where[:120]}")
    if options.json:
        with open(options.json, "w") as f:
            json.dump({"workload": options.workload, "dtype": options.dtype, "device": torch.cuda.get_device_name(),
                       "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
