"""Running one kernel launch on several cores.

A kernel compiled with `outer-slice` takes `[begin, end)` bounds on its
parallel dimension. A large launch is split into one slice per thread:

- through the OpenMP runtime torch already loaded (libgomp, or LLVM's libomp,
  which exports the same `GOMP_parallel` entry): the JIT module gets a small
  LLVM function per kernel, `slice_body_text`, that reads the kernel's
  arguments from an int64 array, picks its slice from `omp_get_thread_num()`
  and calls the kernel. Python calls `GOMP_parallel(body, args, n, 0)` once;
  the team is torch's own OpenMP pool, whose threads spin for a while after
  each region, so back-to-back launches do not pay a wake-up each.
- otherwise through Python threads (`Workers`), each making a ctypes call
  with the GIL released.

Both split the same way (`slice_bounds`), so results do not depend on which
one ran.
"""

from __future__ import annotations

import ctypes
import queue
import threading


def slice_bounds(extent: int, align: int, n: int, k: int) -> tuple[int, int]:
    """Slice k of n of range(extent), cut at multiples of `align` (as the OpenMP body computes it)."""
    units = -(-extent // align)
    return min(extent, units * k // n * align), min(extent, units * (k + 1) // n * align)


_openmp: list = []


def openmp_parallel():
    """`GOMP_parallel` of the OpenMP runtime in this process as a ctypes function, or None.

    torch loads its OpenMP runtime globally, so once torch is imported the JIT
    resolves `omp_get_thread_num` as well.
    """
    if not _openmp:
        process = ctypes.CDLL(None)
        try:
            entry = process.GOMP_parallel
            process.omp_get_thread_num  # noqa: B018  (the body calls them)
            process.omp_get_num_threads  # noqa: B018
        except AttributeError:
            return None  # look again later: torch may not be imported yet
        entry.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        entry.restype = None
        _openmp.append(entry)
    return _openmp[0]


OPENMP_DECLARATIONS = """
llvm.func @omp_get_thread_num() -> i32
llvm.func @omp_get_num_threads() -> i32
"""


def slice_body_text(body: str, kernel: str, kinds: tuple[str, ...]) -> str:
    """An LLVM-dialect function `@body(ptr)` running this thread's slice of `@kernel`.

    The pointer is an int64 array: the kernel's arguments (buffer addresses
    and index values, in order), then the extent and alignment of the
    parallel dimension.
    """
    n = len(kinds)
    lines = [f"llvm.func @{body}(%ctx: !llvm.ptr) {{"]
    args, types = [], []
    for i, kind in enumerate(kinds):
        t = "!llvm.ptr" if kind == "buffer" else "i64"
        lines.append(f"  %p{i} = llvm.getelementptr %ctx[{i}] : (!llvm.ptr) -> !llvm.ptr, i64")
        lines.append(f"  %a{i} = llvm.load %p{i} : !llvm.ptr -> {t}")
        args.append(f"%a{i}")
        types.append(t)
    lines += [
        f"  %pe = llvm.getelementptr %ctx[{n}] : (!llvm.ptr) -> !llvm.ptr, i64",
        "  %extent = llvm.load %pe : !llvm.ptr -> i64",
        f"  %pa = llvm.getelementptr %ctx[{n + 1}] : (!llvm.ptr) -> !llvm.ptr, i64",
        "  %align = llvm.load %pa : !llvm.ptr -> i64",
        "  %tid32 = llvm.call @omp_get_thread_num() : () -> i32",
        "  %nt32 = llvm.call @omp_get_num_threads() : () -> i32",
        "  %tid = llvm.sext %tid32 : i32 to i64",
        "  %nt = llvm.sext %nt32 : i32 to i64",
        "  %one = llvm.mlir.constant(1 : i64) : i64",
        "  %align_m1 = llvm.sub %align, %one : i64",
        "  %padded = llvm.add %extent, %align_m1 : i64",
        "  %units = llvm.udiv %padded, %align : i64",
        "  %lo_units = llvm.mul %units, %tid : i64",
        "  %lo_share = llvm.udiv %lo_units, %nt : i64",
        "  %lo = llvm.mul %lo_share, %align : i64",
        "  %next = llvm.add %tid, %one : i64",
        "  %hi_units = llvm.mul %units, %next : i64",
        "  %hi_share = llvm.udiv %hi_units, %nt : i64",
        "  %hi = llvm.mul %hi_share, %align : i64",
        "  %begin = llvm.intr.umin(%lo, %extent) : (i64, i64) -> i64",
        "  %end = llvm.intr.umin(%hi, %extent) : (i64, i64) -> i64",
        '  %nonempty = llvm.icmp "ult" %begin, %end : i64',
        "  llvm.cond_br %nonempty, ^run, ^done",
        "^run:",
        f"  llvm.call @{kernel}({', '.join(args + ['%begin', '%end'])}) : "
        f"({', '.join(types + ['i64', 'i64'])}) -> ()",
        "  llvm.br ^done",
        "^done:",
        "  llvm.return",
        "}",
    ]
    return "\n".join(lines) + "\n"


class Workers:
    """Daemon threads that run kernel calls; ctypes releases the GIL during each call."""

    def __init__(self):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def ensure(self, n: int) -> None:
        if self._count >= n:
            return
        with self._lock:
            while self._count < n:
                threading.Thread(target=self._loop, name=f"coil-cpu-{self._count}", daemon=True).start()
                self._count += 1

    def _loop(self) -> None:
        while True:
            fn, args, done = self._tasks.get()
            try:
                fn(*args)
            finally:
                done.put(None)

    def run(self, fn, values: tuple, slices: list[tuple[int, int]]) -> None:
        """fn(*values, begin, end) for every slice, the first on the calling thread."""
        self.ensure(len(slices) - 1)
        done: queue.SimpleQueue = queue.SimpleQueue()
        for begin, end in slices[1:]:
            self._tasks.put((fn, values + (begin, end), done))
        fn(*values, *slices[0])
        for _ in range(len(slices) - 1):
            done.get()


workers = Workers()
