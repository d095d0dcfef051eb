"""Smoke test of benchmarks/suite.py: its CPU path, --quick, on a few tiny workloads.

Checks that the suite runs end to end in a subprocess (fresh caches, the
warm-compile second process) and that its JSON has every field; it asserts
nothing about timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SUITE = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "suite.py")
WORKLOADS = ["pointwise_chain", "layernorm", "sum_cols"]


def test_suite_quick_cpu_json(tmp_path):
    out, chart = tmp_path / "suite.json", tmp_path / "suite.png"
    done = subprocess.run(
        [sys.executable, SUITE, "--device", "cpu", "--quick", "--only", *WORKLOADS,
         "--json", str(out), "--chart", str(chart)],
        capture_output=True, text=True, timeout=300,
        # One Inductor compile thread: no worker pool to start and stop, a good part of a tiny run.
        env={**os.environ, "COIL_STRICT": "0", "TORCHINDUCTOR_COMPILE_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The printed table has one line per workload.
    for name in WORKLOADS:
        assert any(line.startswith(name) for line in done.stdout.splitlines()), done.stdout

    report = json.loads(out.read_text())
    for key in ("device", "machine", "torch", "dtypes", "quick", "copy_gbs", "timing", "compile_cold",
                "compile_warm", "peak_memory", "geomean", "rows"):
        assert key in report, key
    assert report["device"] == "cpu" and report["quick"] is True and report["copy_gbs"] > 0
    assert "WARNING" not in report["compile_cold"]  # the suite ran on fresh cache directories

    assert [row["workload"] for row in report["rows"]] == WORKLOADS
    for row in report["rows"]:
        assert row["dtype"] == "float32"
        assert "inductor_over_coil" in row
        for backend in ("eager", "inductor", "coil"):
            result = row[backend]
            assert "status" in result, (row["workload"], backend, result)
            if result["status"].startswith("failed"):
                continue  # reported as failed; the suite went on
            for key in ("ms", "bytes", "gbs", "peak_mib"):
                assert key in result, (row["workload"], backend, key)
            assert result["ms"] > 0
            if backend != "eager":
                for key in ("compile_cold_s", "compile_warm_s", "kernels", "max_abs_err", "matches_eager",
                            "speedup_vs_eager"):
                    assert key in result, (row["workload"], backend, key)
        if not row["coil"]["status"].startswith("failed"):
            assert "planned_peak_bytes" in row["coil"] and "fallbacks" in row["coil"]

    summary = report["geomean"]["float32"]
    for key in ("inductor_over_coil", "coil_speedup_vs_eager", "inductor_speedup_vs_eager",
                "compile_cold_inductor_over_coil", "workloads"):
        assert key in summary

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in done.stderr
    else:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kernel_profile_lists_both_backends_kernels():
    """benchmarks/kernel_profile.py: per-kernel GPU times of a workload under coil and
    Inductor; without a GPU it says so and exits 2."""
    import torch

    script = os.path.join(os.path.dirname(SUITE), "kernel_profile.py")
    result = subprocess.run([sys.executable, script, "sum_rows", "--top", "3", "--host-top", "5"],
                            capture_output=True, text=True, timeout=600)
    if not torch.cuda.is_available():
        assert result.returncode == 2 and "no CUDA device" in result.stderr, result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "coil sum_rows float32: kernels" in result.stdout and "inductor sum_rows float32: kernels" in result.stdout
    assert "coil_red_sum" in result.stdout or "coil_per_sum" in result.stdout, result.stdout
    assert result.stdout.count("host: the 5 functions") == 2, result.stdout


def test_kernel_profile_autotune_times_each_kernels_candidates():
    """kernel_profile.py --autotune: every coil kernel of the workload times its candidate
    configs (a fresh autotune cache), reported per kernel with its default's time;
    without a GPU it exits 2."""
    import torch

    script = os.path.join(os.path.dirname(SUITE), "kernel_profile.py")
    result = subprocess.run([sys.executable, script, "softmax_rows", "--autotune", "--verbose"],
                            capture_output=True, text=True, timeout=600)
    if not torch.cuda.is_available():
        assert result.returncode == 2 and "no CUDA device" in result.stderr, result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "coil autotuning, softmax_rows float32" in result.stdout, result.stdout
    tuned = int(result.stdout.split(" kernels tuned")[0].split()[-1])
    assert tuned >= 1 and "coil_per_" in result.stdout, result.stdout


def test_kernel_profile_autotune_report_prints_the_fastest_candidate(capsys):
    """print_autotune_report: per kernel the default's and the fastest candidate's time,
    the fastest named by the fields where it differs from the default."""
    sys.path.insert(0, os.path.dirname(SUITE))
    from kernel_profile import print_autotune_report

    default = {"xblock": 1, "rblock": 4096, "num_warps": 8, "persistent": True}
    faster = dict(default, num_warps=16)
    report = [{"kernel": "coil_per_softmax_0", "default_ms": 0.2, "best_ms": 0.1, "default": default, "best": faster,
               "candidates": [{"ms": 0.2, "default": True, "chosen": False, "config": default},
                              {"ms": 0.1, "default": False, "chosen": True, "config": faster}]},
              {"kernel": "coil_poi_add_1", "default_ms": 0.05, "best_ms": 0.05, "default": default, "best": default,
               "candidates": [{"ms": 0.05, "default": True, "chosen": True, "config": default}]}]
    print_autotune_report(report, top=10, verbose=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2 kernels tuned: defaults 250.0 us, fastest candidates 150.0 us (1.667x)"
    assert lines[2].split() == ["200.0", "100.0", "2.000", "coil_per_softmax_0:", "num_warps=16"]
    assert lines[3].split() == ["50.0", "50.0", "1.000", "coil_poi_add_1:", "default"]


def test_kernel_profile_host_functions_count_own_time_per_call():
    """kernel_profile.host_functions: each function's own time and calls per call of the profiled step."""
    sys.path.insert(0, os.path.dirname(SUITE))
    from kernel_profile import host_functions

    def helper(n):
        return sum(range(n))

    def step(n):
        return helper(n) + helper(n)

    rows = host_functions(step, (20000,), calls=10)
    by_name = {where.split("(")[-1].rstrip(")"): (ms, count) for where, ms, count in rows}
    assert by_name["helper"][1] == 2 and by_name["step"][1] == 1
    assert by_name["helper"][0] > 0 and rows == sorted(rows, key=lambda r: -r[1])
