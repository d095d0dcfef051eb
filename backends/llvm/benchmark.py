"""CPU kernels against eager PyTorch: `python -m coil.backends.llvm.benchmark`.

Each case is a hand-written kernel (the form the outlining pass produces) and
the eager PyTorch code computing the same thing into a preallocated output.
Prints median times over many runs, for 1 thread and for every core. Timings
live here, never in pass/fail tests.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .jit import compile_cpu_kernels


@dataclass
class Case:
    name: str
    source: str
    make_args: Callable[[], tuple]  # (kernel args, eager callable)


def _pointwise(n: int) -> Case:
    src = f"""
func.func @k(%out: memref<{n}xf32>, %x: memref<{n}xf32>) attributes {{coil.kernel}} {{
  %two = arith.constant 2.0 : f32
  %one = arith.constant 1.0 : f32
  "coil.loop_nest"() ({{
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<{n}xf32>, index) -> f32
    %b = arith.mulf %a, %two : f32
    %c = arith.addf %b, %one : f32
    "coil.store"(%c, %out, %i) : (f32, memref<{n}xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{n}], reduction_ranges = []}} : () -> ()
  return
}}"""

    def make():
        x, y = torch.randn(n), torch.empty(n)
        return (y, x), lambda: torch.add(torch.mul(x, 2, out=y), 1, out=y)

    return Case(f"y = x*2+1, {n} f32", src, make)


def _row_sum(rows: int, cols: int) -> Case:
    src = f"""
func.func @k(%out: memref<{rows}xf32>, %x: memref<{rows}x{cols}xf32>) attributes {{coil.kernel}} {{
  "coil.loop_nest"() ({{
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<{rows}x{cols}xf32>, index, index) -> f32
    %s = "coil.reduce"(%a) {{reduction_type = "sum"}} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<{rows}xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{rows}], reduction_ranges = [{cols}]}} : () -> ()
  return
}}"""

    def make():
        x, y = torch.randn(rows, cols), torch.empty(rows)
        return (y, x), lambda: torch.sum(x, 1, out=y)

    return Case(f"row sum {rows}x{cols} f32", src, make)


def _column_sum(rows: int, cols: int) -> Case:
    """Reduction over the outer (strided) dimension: out[j] = sum_i x[i, j]."""
    src = f"""
func.func @k(%out: memref<{cols}xf32>, %x: memref<{rows}x{cols}xf32>) attributes {{coil.kernel}} {{
  "coil.loop_nest"() ({{
  ^bb0(%j: index, %r: index):
    %a = "coil.load"(%x, %r, %j) : (memref<{rows}x{cols}xf32>, index, index) -> f32
    %s = "coil.reduce"(%a) {{reduction_type = "sum"}} : (f32) -> f32
    "coil.store"(%s, %out, %j) : (f32, memref<{cols}xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{cols}], reduction_ranges = [{rows}]}} : () -> ()
  return
}}"""

    def make():
        x, y = torch.randn(rows, cols), torch.empty(cols)
        return (y, x), lambda: torch.sum(x, 0, out=y)

    return Case(f"column sum {rows}x{cols} f32", src, make)


def _softmax(rows: int, cols: int) -> Case:
    t = f"memref<{rows}x{cols}xf32>"
    src = f"""
func.func @k(%out: {t}, %x: {t}) attributes {{coil.kernel}} {{
  "coil.loop_nest"() ({{
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : ({t}, index, index) -> f32
    %m = "coil.reduce"(%a) {{reduction_type = "max"}} : (f32) -> f32
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %s = "coil.reduce"(%e) {{reduction_type = "sum"}} : (f32) -> f32
    %y = arith.divf %e, %s : f32
    "coil.store"(%y, %out, %i, %r) : (f32, {t}, index, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{rows}], reduction_ranges = [{cols}]}} : () -> ()
  return
}}"""

    def make():
        x, y = torch.randn(rows, cols), torch.empty(rows, cols)
        return (y, x), lambda: torch.ops.aten._softmax.out(x, 1, False, out=y)

    return Case(f"softmax {rows}x{cols} f32", src, make)


def _tiny() -> Case:
    src = """
func.func @k(%out: memref<16xf32>, %x: memref<16xf32>) attributes {coil.kernel} {
  %two = arith.constant 2.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %b = arith.mulf %a, %two : f32
    "coil.store"(%b, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}"""

    def make():
        x, y = torch.randn(16), torch.empty(16)
        return (y, x), lambda: torch.mul(x, 2, out=y)

    return Case("launch overhead: y = x*2, 16 f32", src, make)


CASES = {
    "pointwise": lambda: _pointwise(1 << 22),
    "rowsum": lambda: _row_sum(4096, 1024),
    "colsum": lambda: _column_sum(4096, 1024),
    "softmax": lambda: _softmax(4096, 1024),
    "tiny": _tiny,
}


def median_us(fn: Callable[[], object], runs: int) -> float:
    for _ in range(max(3, runs // 10)):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e6


def run(cases: list[str], thread_counts: list[int], runs: int, repeats: int) -> None:
    print(f"{'case':44} {'threads':>7} {'slices':>6} {'coil us':>10} {'eager us':>10} {'eager/coil':>10}")
    for name in cases:
        case = CASES[name]()
        start = time.perf_counter()
        kernels = compile_cpu_kernels(case.source, threads=thread_counts[0])
        compile_ms = (time.perf_counter() - start) * 1e3
        for threads in thread_counts:
            kernel = compile_cpu_kernels(case.source, threads=threads)["k"]
            args, eager = case.make_args()
            torch.set_num_threads(threads)
            # Interleave the two so that load from elsewhere hits both alike; keep the best median.
            coil_us = eager_us = float("inf")
            for _ in range(repeats):
                coil_us = min(coil_us, median_us(lambda: kernel(*args), runs))
                eager_us = min(eager_us, median_us(eager, runs))
            print(
                f"{case.name:44} {threads:>7} {kernel.threads:>6} {coil_us:>10.1f} {eager_us:>10.1f} "
                f"{eager_us / coil_us:>10.2f}"
            )
        del kernels
        print(f"{'':44} compile {compile_ms:.0f} ms (first kernel in the process pays LLVM's start-up)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=f"some of {', '.join(CASES)}")
    parser.add_argument("--threads", type=int, nargs="*", default=sorted({1, os.cpu_count() or 1}))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; the cases are {list(CASES)}")
    run(args.cases, args.threads, args.runs, args.repeats)


if __name__ == "__main__":
    main()
