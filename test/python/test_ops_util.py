"""Shared helpers of the op numerics tests (test_ops_*.py).

`check(fn, *args)` runs `fn` eagerly and through `torch.compile(backend="coil")`
and asserts that coil really generated code for it: kernels were compiled, no
graph fell back to eager, and no op became an ATen extern call (unless the
test names it). Outputs must match eager in dtype, shape, strides and values
(`torch.testing.assert_close` with its default, per-dtype tolerances).

Every test module imports the autouse fixture `coil_test_env`, which turns on
strict mode (internal errors raise instead of falling back), resets Dynamo
and the random seed around each test, and runs each test once per device:
the CPU, and CUDA where a GPU is present (skipped otherwise), by making it the
default device so that inputs and tensors created inside the tested functions
live there.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch._dynamo
import torch.utils._pytree as pytree

import coil
from coil import metrics

FLOAT_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INT_DTYPES = [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + [torch.bool]


def dtype_id(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: GPU numerics run on a GPU machine"),
    ),
]


@contextlib.contextmanager
def strict_on_device(device: str):
    """Strict mode, fresh Dynamo, metrics and seed, with `device` the default
    device for everything the test creates (shared by the device-parametrized
    test modules' fixtures)."""
    torch._dynamo.reset()
    metrics.reset()
    torch.manual_seed(0)
    previous = torch.get_default_device()
    torch.set_default_device(device)
    try:
        with coil.config.patch(strict=True):
            yield device
    finally:
        torch.set_default_device(previous)
        torch._dynamo.reset()


@pytest.fixture(autouse=True, params=DEVICES)
def coil_test_env(request):
    with strict_on_device(request.param) as device:
        yield device


def make(shape, dtype: torch.dtype, low=None, high=None, exclude_zero: bool = False) -> torch.Tensor:
    """A random tensor; `low`/`high` are clamped to the dtype's range by make_tensor."""
    if dtype == torch.uint8 and low is not None and low < 0:
        low = 0
    return torch.testing.make_tensor(
        shape, dtype=dtype, device=torch.get_default_device(), low=low, high=high, exclude_zero=exclude_zero
    )


def special_values(dtype: torch.dtype) -> torch.Tensor:
    """NaN, infinities, signed zeros and a few ordinary values of a float dtype."""
    values = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-3, -7.25]
    return torch.tensor(values, dtype=dtype)


def eager_accepts(fn, *args) -> bool:
    """Whether eager PyTorch runs `fn(*args)`: combinations torch rejects are not tested."""
    try:
        fn(*args)
    except (RuntimeError, TypeError, NotImplementedError, IndexError, ValueError):
        return False
    return True


def _significant_strides(t: torch.Tensor) -> tuple:
    """The strides that address memory: of dims longer than 1, in a non-empty tensor
    (as PyTorch's own stride checks; a size-1 dim's stride is never used)."""
    if t.numel() == 0:
        return ()
    return tuple(s if n > 1 else None for n, s in zip(t.shape, t.stride()))


def _mismatch(actual, expected, equal_nan: bool, rtol, atol) -> str | None:
    """Why `actual` differs from eager's `expected`, or None."""
    if not isinstance(actual, torch.Tensor):
        return f"coil returned {type(actual).__name__}"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, eager {expected.dtype}"
    if actual.shape != expected.shape:
        return f"shape {tuple(actual.shape)}, eager {tuple(expected.shape)}"
    if _significant_strides(actual) != _significant_strides(expected):
        return f"strides {actual.stride()}, eager {expected.stride()}"
    try:
        torch.testing.assert_close(actual, expected, equal_nan=equal_nan, rtol=rtol, atol=atol)
    except AssertionError as error:
        return f"{error}\n  coil:  {actual.flatten()[:16].tolist()}\n  eager: {expected.flatten()[:16].tolist()}"
    return None


def check(fn, *args, names=None, equal_nan: bool = False, extern=(), kernels: bool = True, rtol=None, atol=None):
    """Compiles `fn` with coil, runs it on `args`, and compares with eager.

    names: a label per output (fn returns a tuple), used in failure messages;
    every mismatching output is reported, not only the first. extern: op names
    (as in metrics' `extern_ops`, e.g. "aten.mm.default") that may, and must,
    become extern calls. kernels: whether coil must have generated a kernel.
    Returns the compiled outputs.
    """
    expected = fn(*args)  # the functions tested do not mutate their inputs
    torch._dynamo.reset()
    metrics.reset()
    compiled = torch.compile(fn, backend="coil", dynamic=False)
    actual = compiled(*args)
    snapshot = metrics.snapshot()
    assert snapshot["fallbacks"] == 0, f"fell back to eager: {snapshot['fallback_ops']}"
    if kernels:
        assert snapshot["kernels"] > 0 and snapshot["kernel_launches"] > 0, f"no coil kernel ran: {snapshot}"
    unexpected = set(snapshot["extern_ops"]) - set(extern)
    assert not unexpected, f"ops compiled as ATen extern calls: {snapshot['extern_ops']}"
    missing = set(extern) - set(snapshot["extern_ops"])
    assert not missing, f"expected extern calls of {sorted(missing)}, got {snapshot['extern_ops']}"
    if extern:
        assert snapshot["extern_calls"] > 0, snapshot

    flat_actual, spec_actual = pytree.tree_flatten(actual)
    flat_expected, spec_expected = pytree.tree_flatten(expected)
    assert spec_actual == spec_expected, f"output structure {spec_actual}, eager {spec_expected}"
    if names is not None:
        assert len(names) == len(flat_expected), f"{len(names)} names for {len(flat_expected)} outputs"
    failures = []
    for i, (a, e) in enumerate(zip(flat_actual, flat_expected)):
        name = names[i] if names is not None else f"output {i}"
        if isinstance(e, torch.Tensor):
            why = _mismatch(a, e, equal_nan, rtol, atol)
        else:
            why = None if a == e else f"{a!r}, eager {e!r}"
        if why is not None:
            failures.append(f"[{name}] {why}")
    assert not failures, f"{len(failures)} of {len(flat_expected)} outputs differ from eager:\n" + "\n".join(failures)
    return actual


def check_cases(cases, **kwargs):
    """Compiles one function computing every case: (label, fn, args) -> fn(*args).

    Several cases share one compilation (compiling dominates the suite's time);
    a failure names each mismatching case by its label.
    """
    flat_args, bounds = [], []
    for _, _, args in cases:
        bounds.append((len(flat_args), len(flat_args) + len(args)))
        flat_args.extend(args)
    fns = [fn for _, fn, _ in cases]

    def compute(*xs):
        return tuple(fn(*xs[lo:hi]) for fn, (lo, hi) in zip(fns, bounds))

    names = []
    for label, fn, args in cases:
        leaves = len(pytree.tree_leaves(fn(*args)))
        names += [label] if leaves == 1 else [f"{label} #{k}" for k in range(leaves)]
    return check(compute, *flat_args, names=names, **kwargs)


LAYOUTS = ["contiguous", "transposed", "sliced", "expanded"]


def make_layout(shape, layout: str, fill):
    """A 2-d tensor of `shape` with `layout`: contiguous, transposed, a strided slice, or
    expanded; `fill(base_shape)` makes the tensor it is a view of."""
    rows, cols = shape
    if layout == "contiguous":
        return fill((rows, cols))
    if layout == "transposed":
        return fill((cols, rows)).t()
    if layout == "sliced":
        return fill((2 * rows, cols + 2))[1::2, 1:-1]
    if layout == "expanded":
        return fill((1, cols)).expand(rows, cols)
    raise ValueError(layout)
