"""Triton kernels compiled in the compile pool (backends/triton/compile_pool.py), on the CPU.

Triton compiles for an explicit `GPUTarget("cuda", 90, 32)` without a GPU, so
the pool is checked here for real: workers (other processes, no torch, no
GPU) fill Triton's disk cache, and the parent's own compile of each kernel is
then a cache hit with the same cubin as a serial compile. A pool that cannot
start or loses a worker gives one warning and the parent compiles; a TTIR
that does not compile raises the error it raises in process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import sys
import warnings

import pytest

triton = pytest.importorskip("triton")

from triton.backends.compiler import GPUTarget  # noqa: E402

from coil.backends.triton import compile_pool, runtime  # noqa: E402
from coil.backends.triton.emit import candidate_configs  # noqa: E402
from coil.dialects import make_context  # noqa: E402
from coil.mlir import ir  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
ADD = (pathlib.Path(__file__).parent / "data" / "add_kernel.ttir").read_text()
LIT = pathlib.Path(__file__).resolve().parents[1] / "lit" / "triton"


def kernel_texts(count: int) -> list[str]:
    """`count` different kernels (the add kernel's bound 1000 changed: another cache key each)."""
    assert "dense<1000>" in ADD
    return [ADD.replace("dense<1000>", f"dense<{1000 + i}>") for i in range(count)]


BAD = ADD.replace("tt.load %7, %5", "tt.bogus %7, %5")


@pytest.fixture(scope="module", autouse=True)
def two_workers():
    """One pool of two workers for the module, stopped at its end."""
    saved = os.environ.get("COIL_COMPILE_THREADS")
    os.environ["COIL_COMPILE_THREADS"] = "2"
    compile_pool.shutdown_compile_pool()
    yield
    compile_pool.shutdown_compile_pool()
    if saved is None:
        os.environ.pop("COIL_COMPILE_THREADS", None)
    else:
        os.environ["COIL_COMPILE_THREADS"] = saved


@pytest.fixture(autouse=True)
def fresh_caches(tmp_path, monkeypatch):
    """Empty disk caches and an empty in-process cache; a pool a test broke is replaced after it."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    monkeypatch.setenv("COIL_CACHE_DIR", str(tmp_path / "coil"))
    monkeypatch.setenv("TRITON_DEFAULT_FP_FUSION", "1")
    monkeypatch.setattr(runtime, "_compiled", {})
    yield
    if compile_pool._pool is None:
        compile_pool.shutdown_compile_pool()


@pytest.fixture
def cache_hits(monkeypatch):
    """Whether each of the parent's `triton.compile` calls was a disk-cache hit, in order."""
    if not hasattr(triton.knobs.compilation, "listener"):
        pytest.skip(f"triton {triton.__version__} has no compilation listener")
    hits: list[bool] = []
    monkeypatch.setattr(triton.knobs.compilation, "listener", lambda **info: hits.append(info["cache_hit"]))
    return hits


def cubin_digest(kernel) -> str:
    return hashlib.sha256(kernel.asm["cubin"]).hexdigest()


def test_pool_compiles_what_serial_compiles(tmp_path, monkeypatch, cache_hits):
    """Workers fill the disk cache; the parent's compiles hit it (the same cache key)
    and give the cubins of a serial compile in a fresh cache."""
    jobs = [(text, TARGET, warps) for text in kernel_texts(3) for warps in (4, 8)]
    pooled = runtime.compile_many(jobs)
    assert cache_hits == [True] * len(jobs)

    cache_hits.clear()
    monkeypatch.setattr(runtime, "_compiled", {})
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "serial"))
    monkeypatch.setenv("COIL_COMPILE_THREADS", "1")
    serial = runtime.compile_many(jobs)
    assert cache_hits == [False] * len(jobs)
    assert [cubin_digest(k) for k in pooled] == [cubin_digest(k) for k in serial]
    assert [k.hash for k in pooled] == [k.hash for k in serial]
    # The in-process cache holds them, as compile_ttir's would.
    assert runtime.compile_ttir(*jobs[0]) is serial[0]


def test_jobs_run_in_workers_without_torch_or_gpu():
    fill = compile_pool.CacheFill()
    paths = [runtime.ttir_path(text) for text in kernel_texts(4)]
    for path in paths + paths[:1]:
        fill.add(path, TARGET, 4)
    outcomes = fill.wait()
    pids = {o.pid for o in outcomes}
    assert os.getpid() not in pids and None not in pids
    assert outcomes[0] == outcomes[-1]  # a repeated job is sent once
    assert all(compile_pool.in_triton_cache(path, TARGET, 4) for path in paths)
    assert not compile_pool.in_triton_cache(paths[0], TARGET, 8)
    # Already on disk: not sent again.
    again = compile_pool.CacheFill()
    again.add(paths[0], TARGET, 4)
    assert again.wait() == [None]
    facts = compile_pool.warm_compile_pool().submit(compile_pool._worker_facts).result()
    assert facts["pid"] in pids or len(pids) < 2
    assert facts["torch"] is False and facts["cuda_visible"] == ""


def test_workers_follow_the_parents_triton_settings(tmp_path, monkeypatch, cache_hits):
    """A TRITON_* variable set after the pool started (here the cache directory) reaches the jobs."""
    compile_pool.warm_compile_pool()
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "moved"))
    runtime.compile_many([(text, TARGET, 4) for text in kernel_texts(2)])
    assert cache_hits == [True, True]
    assert any((tmp_path / "moved").iterdir())


def test_a_ptxas_changed_after_triton_read_its_version(tmp_path, monkeypatch, cache_hits):
    """Inductor points TRITON_PTXAS_PATH at torch's ptxas after Triton cached the bundled
    one's version; the parent's keys must follow the ptxas it runs, as the workers' do."""
    nvidia = pytest.importorskip("triton.backends.nvidia.compiler")
    if not hasattr(nvidia, "get_ptxas"):
        pytest.skip(f"triton {triton.__version__} has no get_ptxas(arch)")
    real = nvidia.get_ptxas(TARGET.arch).path
    nvidia.get_ptxas_version.cache_clear()
    monkeypatch.setattr(compile_pool, "_ptxas_checked", {})
    original = nvidia.get_ptxas_version(TARGET.arch)  # cached, as after a first compile
    wrapper = tmp_path / "ptxas"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then {real} --version; echo wrapped; else exec {real} "$@"; fi\n')
    wrapper.chmod(0o755)
    for name in ("TRITON_PTXAS_PATH", "TRITON_PTXAS_BLACKWELL_PATH"):
        monkeypatch.setenv(name, str(wrapper))
    try:
        runtime.compile_many([(text, TARGET, 4) for text in kernel_texts(2)])
        assert cache_hits == [True, True]
        assert nvidia.get_ptxas_version(TARGET.arch) == original + "wrapped\n"
    finally:
        nvidia.get_ptxas_version.cache_clear()


def test_one_kernel_or_one_thread_compiles_in_process(monkeypatch, cache_hits):
    texts = kernel_texts(3)
    runtime.compile_many([(texts[0], TARGET, 4)])
    assert cache_hits == [False]
    monkeypatch.setenv("COIL_COMPILE_THREADS", "1")
    assert compile_pool.warm_compile_pool() is None
    runtime.compile_many([(text, TARGET, 4) for text in texts[1:]])
    assert cache_hits == [False, False, False]


def test_a_bad_kernel_raises_as_in_process():
    good = kernel_texts(2)
    jobs = [(good[0], TARGET, 4), (BAD, TARGET, 4), (good[1], TARGET, 4)]
    fill = compile_pool.CacheFill()
    for text, target, warps in jobs:
        fill.add(runtime.ttir_path(text), target, warps)
    outcomes = fill.wait()
    assert outcomes[0].pid and outcomes[2].pid and "Parse MLIR file failed" in outcomes[1].error

    with pytest.raises(Exception) as pooled:
        runtime.compile_many(jobs)
    with pytest.raises(Exception) as serial:
        runtime.compile_ttir(BAD, TARGET, 4)
    assert type(pooled.value) is type(serial.value) and str(pooled.value) == str(serial.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11's")
def test_a_kernel_that_does_not_compile_is_named(monkeypatch):
    monkeypatch.setattr(runtime, "device_target", lambda device: TARGET)
    module = _module("reduction.mlir")
    with module.context:
        fn = runtime.kernel_functions(module.operation)[0]
        kernel = runtime.GpuKernel(module, fn, "cpu", compile_now=False)
    kernel.default = dataclasses.replace(kernel.default, ttir=BAD)
    with pytest.raises(RuntimeError) as raised:
        kernel.compile()
    assert any("@row_sum" in note for note in getattr(raised.value, "__notes__", []))


def test_a_dead_worker_means_one_warning_and_serial(cache_hits):
    pool = compile_pool.warm_compile_pool()
    for worker in pool.workers:
        worker.process.kill()
    texts = kernel_texts(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = runtime.compile_many([(text, TARGET, 4) for text in texts[:2]])
        second = runtime.compile_many([(text, TARGET, 4) for text in texts[2:]])
    messages = [str(w.message) for w in caught if "in process" in str(w.message)]
    assert len(messages) == 1 and "exited" in messages[0], [str(w.message) for w in caught]
    assert cache_hits == [False] * 4 and all(k.asm["cubin"] for k in first + second)
    assert compile_pool.warm_compile_pool() is None


def test_a_pool_that_cannot_start_means_one_warning_and_serial(monkeypatch, cache_hits):
    compile_pool.shutdown_compile_pool()
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.warns(UserWarning, match="did not start"):
        kernels = runtime.compile_many([(text, TARGET, 4) for text in kernel_texts(2)])
    assert cache_hits == [False, False] and all(k.asm["cubin"] for k in kernels)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_does_not_use_or_stop_its_parents_pool():
    pool = compile_pool.warm_compile_pool()
    child = os.fork()
    if child == 0:  # no pytest here: report through the exit status only
        ok = compile_pool._pool is None
        pool.close()  # as an inherited atexit hook would: must leave the parent's workers alone
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not pool.closed and pool.submit(compile_pool._worker_facts).result()["torch"] is False


# ---------------------------------------------------------------------------
# compile_gpu_kernels: a module's kernels, and autotuning candidates


class _Launch:
    """Stands in for runtime._Launch, which loads the kernel on a GPU."""

    def __init__(self, kernel, compiled, device=None):
        self.kernel, self.compiled = kernel, compiled


def _module(name: str, chunks: slice = slice(None)):
    text = (LIT / name).read_text()
    kernels = [chunk for chunk in text.split("\n// -----\n") if "coil.kernel" in chunk][chunks]
    context = make_context()
    with context:
        return ir.Module.parse("\n".join(kernels), context)


def test_compile_gpu_kernels_through_the_pool(monkeypatch, cache_hits):
    monkeypatch.setattr(runtime, "device_target", lambda device: TARGET)
    monkeypatch.setattr(runtime, "_Launch", _Launch)
    module = _module("reduction.mlir")
    with module.context:
        kernels = runtime.compile_gpu_kernels(module, "cpu")
    assert sorted(kernels) == ["layernorm", "logsumexp", "not_online", "not_variance", "row_sum", "softmax"]
    assert cache_hits == [True] * 6
    for kernel in kernels.values():
        (launch,) = kernel.variants.values()
        assert launch.compiled.asm["cubin"] and launch.kernel is kernel.default


def test_autotune_writes_each_candidates_time_to_the_debug_directory(monkeypatch):
    """`_tune` compiles and times every candidate and keeps the fastest; with a debug
    directory it writes their times, in candidate order, to <kernel>.autotune.json
    (what `kernel_profile.py --autotune` reads). The times are scripted here:
    `do_bench` needs a GPU."""
    import torch
    import triton.testing

    monkeypatch.setattr(runtime, "device_target", lambda device: TARGET)
    monkeypatch.setattr(runtime, "_Launch", _Launch)
    module = _module("reduction.mlir", slice(0, 1))
    written: dict[str, str] = {}
    with module.context:
        (kernel,) = runtime.compile_gpu_kernels(module, "cpu", autotune=True, write_debug=written.__setitem__).values()
        configs = candidate_configs(kernel.fn)
    assert len(configs) > 2
    scripted = [0.5 + 0.1 * i for i in range(len(configs))]
    scripted[1] = 0.25  # the second candidate is the fastest
    times = iter(scripted)
    monkeypatch.setattr(triton.testing, "do_bench", lambda fn, warmup, rep: next(times))
    args = [torch.zeros(8) for _ in kernel.default.arg_kinds]
    assert kernel._tune(frozenset(kernel.buffers), args) == configs[1]
    record = json.loads(written[f"{kernel.name}.autotune.json"])
    assert [r["ms"] for r in record] == scripted
    assert [r["default"] for r in record] == [True] + [False] * (len(configs) - 1)
    assert [r["chosen"] for r in record] == [i == 1 for i in range(len(configs))]
    assert [type(configs[0])(**r["config"]) for r in record] == configs


def test_autotune_candidates_are_compiled_up_front(monkeypatch, cache_hits):
    """With autotuning nothing is compiled in process before the first launch, but every
    candidate is on disk: timing them at the first launch only loads them."""
    monkeypatch.setattr(runtime, "device_target", lambda device: TARGET)
    module = _module("reduction.mlir", slice(0, 2))
    with module.context:
        kernels = runtime.compile_gpu_kernels(module, "cpu", autotune=True)
        assert cache_hits == [] and not runtime._compiled
        for kernel in kernels.values():
            candidates = kernel.upfront()
            assert len(candidates) == len(candidate_configs(kernel.fn)) > 1
            for candidate in candidates:
                runtime.compile_ttir(candidate.ttir, TARGET, candidate.num_warps)
    assert cache_hits and all(cache_hits)
