"""A graph's Triton kernels compiled concurrently, in a pool of worker processes.

Why: `triton.compile` takes tens to hundreds of ms of CPU a kernel, and a
training step has a hundred kernels or more; compiled one after another in the main process,
they were most of coil's cold compile time (Inductor compiles in worker
processes started ahead of time). Emitting TTIR stays in the parent (it needs
the MLIR module, and takes a few ms a kernel).

How:
- A worker fills Triton's on-disk cache: it calls `triton.compile` on the same
  TTIR file, for the same `GPUTarget` and options as the parent, under the
  parent's Triton settings (every TRITON_* variable and Triton's
  cache-invalidating ones, sent with each job since the parent may change them
  after the pool started). The parent then compiles every kernel itself, which
  is a cache hit (a few ms: parse the TTIR, hash, read the cubin). Nothing
  compiled comes back over the pipe: a `CompiledKernel` is a view of files in
  Triton's cache, and rebuilding one from bytes would lean on more of Triton's
  internals; and the cache hit is itself the check that the worker compiled
  exactly what the parent asks for. A mismatch costs a compile in process,
  never a wrong kernel.
- Only TTIR that Triton's cache lacks goes to the pool (`in_triton_cache`
  computes Triton's cache key as `triton.compile` does), so a warm process
  never waits for a worker.
- Workers are `python -c` subprocesses that import this module and Triton, no
  torch, and see no GPU (CUDA_VISIBLE_DEVICES is empty): not `fork` (the parent
  has CUDA and torch's threads), and not multiprocessing's spawn or forkserver
  either, which import the user's `__main__` again in every worker (an
  unguarded training script would start over). Jobs and replies are pickles
  on the worker's stdin and on a copy of its stdout; its fd 1 and 2 go to a
  temporary log, so Triton's prints cannot corrupt the replies, and the log's
  tail explains a worker that died.
- One pool a process, started by the first kernel Triton's cache lacks, or
  earlier by `warm_compile_pool()`. Starting returns at once; the workers
  import Triton and hash its installation (what a process's first compile
  pays, 0.4 s here) while the parent goes on emitting. The parent sends each
  kernel as soon as it is emitted, so emitting overlaps compiling. A process
  whose kernels are all on disk starts no pool.
- Size: COIL_COMPILE_THREADS, else the usable CPUs up to 32 (as Inductor);
  1 compiles in process, without a pool, as does a single kernel.
- Failures: a pool that cannot start or a worker that dies gives one warning,
  and the process compiles in process from then on. A TTIR that fails in a
  worker is compiled again in the parent, which raises Triton's error as it
  always did.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass

# Most workers a pool starts, whatever the machine (Inductor's bound too).
MAX_COMPILE_THREADS = 32


def compile_threads() -> int:
    """Worker processes to compile with: COIL_COMPILE_THREADS, else the usable CPUs up to 32."""
    value = os.environ.get("COIL_COMPILE_THREADS", "")
    if value.strip().isdigit():
        return max(1, int(value))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, MAX_COMPILE_THREADS))


# ---------------------------------------------------------------------------
# the worker process


def _serve() -> None:
    """A worker's loop: unpickle (function, args) from stdin, pickle back (ok, result or error)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints go to the log, not into the replies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the pool
    warnings.simplefilter("ignore")  # the parent shows Triton's warnings when it compiles
    _warm_up()
    requests = sys.stdin.buffer
    while True:
        try:
            function, args = pickle.load(requests)
        except EOFError:
            return  # the parent closed the pool, or exited
        try:
            reply = (True, function(*args))
        except Exception as error:  # noqa: BLE001 - reported to the parent, which compiles again
            reply = (False, f"{type(error).__name__}: {error}")
        pickle.dump(reply, replies)
        replies.flush()


def _warm_up() -> None:
    """What every first compile pays: importing the compiler and hashing Triton's installation."""
    try:
        import triton.compiler.compiler  # noqa: F401
        from triton.runtime.cache import triton_key

        triton_key()
    except Exception:  # noqa: BLE001 - the first job reports what is wrong
        pass


def _compile(path: str, target, num_warps: int, environment: dict[str, str | None]) -> int:
    """In a worker: compile one TTIR file into Triton's cache; returns this worker's pid."""
    import triton

    for name in [n for n in os.environ if n.startswith("TRITON_") and n not in environment]:
        del os.environ[name]
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    sync_ptxas_version(target)  # the parent's may have moved since this worker's first compile
    triton.compile(path, target=target, options={"num_warps": num_warps})
    return os.getpid()


def _worker_facts() -> dict:
    """In a worker: what the tests check of it."""
    return {"pid": os.getpid(), "torch": "torch" in sys.modules, "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES")}


# ---------------------------------------------------------------------------
# the parent's side


class WorkerDied(RuntimeError):
    """A compile worker exited (or never started) while the parent waited on it."""


class CompileFailed(RuntimeError):
    """A job raised in its worker (the message is the worker's error)."""


class _Worker:
    """One worker process, and the thread that feeds it jobs from its pool's queue."""

    def __init__(self, pool: _Pool):
        self.log = tempfile.TemporaryFile()
        boot = f"import sys; sys.path[:] = {sys.path!r}; from {__name__} import _serve; _serve()"
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env
        )
        threading.Thread(target=self._feed, args=(pool,), name="coil-compile", daemon=True).start()

    def _feed(self, pool: _Pool) -> None:
        try:
            while (job := pool.jobs.get()) is not None:
                future, function, args = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(self._call(function, args))
                except WorkerDied as died:
                    future.set_exception(died)
                    _pool_failed(pool, str(died))
                    return
                except BaseException as error:  # noqa: BLE001 - the job's own failure, for its waiter
                    future.set_exception(error)
        finally:
            for stream in (self.process.stdin, self.process.stdout, self.log):
                try:
                    stream.close()
                except OSError:  # a request the dead worker never read
                    pass

    def _call(self, function, args):
        request = pickle.dumps((function, args))
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
            ok, result = pickle.load(self.process.stdout)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            raise WorkerDied(f"compile worker {self.process.pid} exited: {self._log_tail()}") from None
        if not ok:
            raise CompileFailed(result)
        return result

    def _log_tail(self, size: int = 2000) -> str:
        try:
            self.process.wait(timeout=1)
            self.log.seek(0)
            text = self.log.read().decode(errors="replace").strip()
        except (OSError, ValueError, subprocess.TimeoutExpired):
            text = ""
        return f"exit status {self.process.returncode}" + (f", its log ends: {text[-size:]}" if text else "")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _Pool:
    """Worker processes taking jobs from one queue; `submit` returns a Future."""

    def __init__(self, size: int):
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.closed = False
        self.workers: list[_Worker] = []
        try:
            for _ in range(size):
                self.workers.append(_Worker(self))
        except BaseException:
            self.close()
            raise

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        with self.lock:
            if self.closed:
                future.set_exception(WorkerDied("the compile pool is closed"))
            else:
                self.jobs.put((future, function, args))
        return future

    def close(self) -> None:
        """Stops every worker; jobs not done fail with WorkerDied."""
        if os.getpid() != self.pid:
            return  # a forked child's copy (at its exit): the workers are the parent's
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for worker in self.workers:
            worker.stop()
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and job[0].set_running_or_notify_cancel():
                job[0].set_exception(WorkerDied("the compile pool closed"))
        for _ in self.workers:
            self.jobs.put(None)  # feeders waiting for a job return


_pool: _Pool | None = None
_pool_lock = threading.Lock()
_pool_broken: str | None = None  # why this process compiles in process from now on
_warned = False


def warm_compile_pool() -> _Pool | None:
    """The process's compile pool, started now if it is not yet (returns at once); None
    where kernels compile in process (COIL_COMPILE_THREADS=1, or the pool failed)."""
    global _pool, _pool_broken
    size = compile_threads()
    if size <= 1:
        return None
    with _pool_lock:
        if _pool is None and _pool_broken is None:
            try:
                _pool = _Pool(size)
                atexit.register(_pool.close)
            except OSError as error:
                _pool_broken = f"the compile pool did not start: {error}"
        pool = _pool
    _warn_once()
    return pool


def _pool_failed(pool: _Pool, reason: str) -> None:
    """Closes `pool`; if it is the process's pool, kernels compile in process from now on.
    Any thread may call this; the warning is given by the thread that waits for the kernels."""
    global _pool, _pool_broken
    with _pool_lock:
        if _pool is pool:
            _pool, _pool_broken = None, reason
    pool.close()


def _warn_once() -> None:
    global _warned
    if _pool_broken is not None and not _warned:
        _warned = True
        warnings.warn(f"coil: compiling Triton kernels in process from now on ({_pool_broken})", stacklevel=3)


def _forget_pool() -> None:
    """In a forked child: the pool's workers and feeder threads are the parent's."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def shutdown_compile_pool() -> None:
    """Stops the process's pool (a later use starts a new one) and forgets an earlier failure."""
    global _pool, _pool_broken, _warned
    with _pool_lock:
        pool, _pool, _pool_broken, _warned = _pool, None, None, False
    if pool is not None:
        pool.close()


def _triton_environment() -> dict[str, str | None]:
    """The parent's settings that a worker's compile must share: TRITON_* and Triton's
    cache-invalidating variables (None: unset)."""
    names = {n for n in os.environ if n.startswith("TRITON_")}
    try:
        from triton._C.libtriton import get_cache_invalidating_env_vars

        names |= set(get_cache_invalidating_env_vars())
    except ImportError:
        pass
    return {name: os.environ.get(name) for name in sorted(names)}


def _in_process_only() -> str | None:
    """Why kernels must compile in the parent, where a setting of Triton's is not in the environment."""
    try:
        from triton import knobs
    except ImportError:
        return None
    if getattr(knobs.runtime, "add_stages_inspection_hook", None) is not None:
        return "a stages inspection hook changes Triton's cache key"
    if knobs.compilation.always_compile:
        return "TRITON_ALWAYS_COMPILE"
    return None


_ptxas_checked: dict = {}  # arch -> the ptxas path whose version Triton's cached one is known to be
_ptxas_lock = threading.Lock()


def sync_ptxas_version(target) -> None:
    """Makes Triton's cached `ptxas --version` (part of every CUDA cache key) that of the ptxas it runs now.

    Triton reads the version once a process (`get_ptxas_version`, an
    lru_cache), but the ptxas it runs follows TRITON_PTXAS_PATH at each
    compile. Inductor points that variable at torch's own ptxas when it first
    compiles, after Triton may have cached the bundled ptxas's version: this
    process's keys then name a ptxas it no longer runs, and miss every kernel
    that a compile worker (a fresh process, which reads the new one's version)
    put in the cache. On an H100 a GPT training step compiled after any
    Inductor compile in the process recompiled its 121 kernels in process:
    24 s against 10 s. So where the cached version is not the current ptxas's,
    the cache is cleared (one `ptxas --version` per path a process), in the
    parent and in each worker (a worker started before the change has cached
    the old one too)."""
    arch = getattr(target, "arch", None)
    if getattr(target, "backend", None) != "cuda" or not isinstance(arch, int):
        return
    try:
        from triton.backends.nvidia import compiler as nvidia
    except ImportError:
        return
    cached = getattr(nvidia, "get_ptxas_version", None)
    if cached is None or not hasattr(cached, "cache_clear"):
        return
    try:
        if hasattr(nvidia, "get_ptxas"):
            path = nvidia.get_ptxas(arch).path
        else:
            from triton import knobs

            path = knobs.nvidia.ptxas.path
    except Exception:  # noqa: BLE001 - another Triton: leave its cache alone
        return
    with _ptxas_lock:
        if _ptxas_checked.get(arch) == path:
            return
        if cached.cache_info().currsize:
            try:
                current = subprocess.check_output([path, "--version"]).decode("utf-8")
                try:
                    stale = cached(arch) != current
                except TypeError:  # a Triton whose get_ptxas_version takes no arch
                    stale = cached() != current
            except Exception:  # noqa: BLE001 - no ptxas to ask: Triton's compile will say so
                return
            if stale:
                cached.cache_clear()
        _ptxas_checked[arch] = path


def in_triton_cache(path: str, target, num_warps: int) -> bool:
    """Whether `triton.compile(path, target, {"num_warps": num_warps})` would be a cache
    hit: Triton's cache key computed as `triton.compile` computes it (False if unsure)."""
    import hashlib

    try:
        from triton._C.libtriton import get_cache_invalidating_env_vars, ir
        from triton.compiler.compiler import IRSource, make_backend
        from triton.runtime.cache import get_cache_key, get_cache_manager

        backend = make_backend(target)
        source = IRSource(path, ir.context(), backend)
        options = backend.parse_options(dict({"num_warps": num_warps}, **source.parse_options()))
        key = get_cache_key(source, backend, options, env_vars=get_cache_invalidating_env_vars())
        manager = get_cache_manager(hashlib.sha256(key.encode()).hexdigest())
        return manager.get_group(f"{source.name[:150]}.json") is not None
    except Exception:  # noqa: BLE001 - another Triton, or a TTIR it cannot parse (its compile says why)
        return False


@dataclass(frozen=True)
class Outcome:
    """What became of one job sent to the pool: the worker's pid, or its error."""

    pid: int | None = None
    error: str | None = None


class CacheFill:
    """TTIR files compiled into Triton's disk cache in the pool, sent as they are added.

    `add(path, target, num_warps)` sends a job unless Triton's cache has it
    (the first job sent starts the pool, if `warm_compile_pool` did not);
    `wait()` returns when every job is done, one `Outcome` (or None: not sent)
    per `add`. Without a pool (`use_pool` False, COIL_COMPILE_THREADS=1, a
    failed pool) nothing is sent and the parent compiles everything itself.
    """

    def __init__(self, use_pool: bool = True):
        self.use_pool = use_pool and compile_threads() > 1 and _in_process_only() is None
        self.pool: _Pool | None = None
        self.environment: dict[str, str | None] = {}
        self.sent: dict[tuple, Future] = {}
        self.futures: list[Future | None] = []

    def add(self, path: str, target, num_warps: int) -> None:
        sync_ptxas_version(target)
        key = (path, repr(target), num_warps)
        if key not in self.sent and self.use_pool and not in_triton_cache(path, target, num_warps):
            pool = self._pool()
            if pool is not None:
                self.sent[key] = pool.submit(_compile, path, target, num_warps, self.environment)
        self.futures.append(self.sent.get(key))

    def _pool(self) -> _Pool | None:
        if self.pool is None:
            self.pool = warm_compile_pool()
            self.environment = _triton_environment()
        if self.pool is None or self.pool.closed:
            self.use_pool = False  # it failed: the parent compiles the rest
            return None
        return self.pool

    def wait(self) -> list[Outcome | None]:
        outcomes = []
        for future in self.futures:
            if future is None:
                outcomes.append(None)
                continue
            try:
                outcomes.append(Outcome(pid=future.result()))
            except CompileFailed as failed:
                outcomes.append(Outcome(error=str(failed)))
            except WorkerDied as died:
                _pool_failed(self.pool, str(died))  # its feeder may have done so already
                _warn_once()
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - the pool only saves time; the parent compiles anyway
                outcomes.append(Outcome(error=f"{type(error).__name__}: {error}"))
        return outcomes
