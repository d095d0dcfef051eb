"""Counters that show what coil did: graphs compiled, kernels generated and
run, extern (ATen) calls, and fallbacks to eager.

A backend that silently ran eager would show zero kernels here; tests assert
on these counts.
"""

from __future__ import annotations

import collections
import threading

_lock = threading.Lock()
_counters: collections.Counter = collections.Counter()
_fallback_ops: collections.Counter = collections.Counter()
_extern_ops: collections.Counter = collections.Counter()
_peak_memory: list[int] = []


def reset() -> None:
    """Zeroes every counter."""
    with _lock:
        _counters.clear()
        _fallback_ops.clear()
        _extern_ops.clear()
        _peak_memory.clear()


def increment(name: str, amount: int = 1) -> None:
    with _lock:
        _counters[name] += amount


def record_extern(op_name: str) -> None:
    """An op that coil compiled into a `coil.extern` call to ATen."""
    with _lock:
        _extern_ops[op_name] += 1


def record_fallback(op_name: str) -> None:
    """A graph that fell back to eager because compiling `op_name` failed."""
    with _lock:
        _counters["fallbacks"] += 1
        _fallback_ops[op_name] += 1


def record_memory_plan(planned_peak_bytes: int, unplanned_bytes: int) -> None:
    """A compiled graph's planned peak of live buffers and the sum of all its buffers."""
    with _lock:
        _peak_memory.append((planned_peak_bytes, unplanned_bytes))


def snapshot() -> dict:
    """The counters as a plain dict.

    graphs: graphs compiled; kernels: kernels generated (compiled) by coil;
    kernel_launches: kernel calls at run time; extern_calls: extern calls at
    run time; extern_ops: ops compiled as extern calls, by op; fallbacks and
    fallback_ops: graphs that fell back to eager, by the op that failed;
    specialized_graphs: graphs with symbolic sizes that coil could not keep
    symbolic, compiled per concrete size instead (each size compiled adds to
    graphs);
    planned_peak_bytes / unplanned_bytes: per compiled graph, the peak of
    simultaneously live buffers after memory planning, and the sum of every
    buffer it allocates.
    """
    with _lock:
        return {
            "graphs": _counters["graphs"],
            "kernels": _counters["kernels"],
            "kernel_launches": _counters["kernel_launches"],
            "extern_calls": _counters["extern_calls"],
            "extern_ops": dict(_extern_ops),
            "fallbacks": _counters["fallbacks"],
            "specialized_graphs": _counters["specialized_graphs"],
            "fallback_ops": dict(_fallback_ops),
            "planned_peak_bytes": [p for p, _ in _peak_memory],
            "unplanned_bytes": [u for _, u in _peak_memory],
        }
