"""Numerics of coil's reduction lowerings (frontend/lower_reductions.py) against eager.

Each op runs over every dtype eager accepts for it: full reductions, one dim,
several dims, keepdim, negative dims, on contiguous and permuted or sliced
inputs; then 0-d inputs, empty inputs and reduction dims, and NaN/inf inputs.
"""

from __future__ import annotations

import pytest
import torch
from test_ops_util import (  # noqa: F401  (coil_test_env is an autouse fixture)
    ALL_DTYPES,

    check,
    check_cases,
    coil_test_env,
    dtype_id,
    eager_accepts,
    make,
)

# name -> fn(x, dim, keepdim); dim None reduces everything.
REDUCTIONS = {
    "sum": lambda x, d, k: x.sum() if d is None else x.sum(d, keepdim=k),
    "sum_dtype": lambda x, d, k: x.sum(dtype=torch.float64) if d is None else x.sum(d, keepdim=k, dtype=torch.float32),
    "prod": lambda x, d, k: x.prod() if d is None else x.prod(d if isinstance(d, int) else d[0], keepdim=k),
    "mean": lambda x, d, k: x.mean() if d is None else x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax() if d is None else x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin() if d is None else x.amin(d, keepdim=k),
    "max": lambda x, d, k: x.max() if d is None else x.max(d if isinstance(d, int) else d[0], keepdim=k),
    "min": lambda x, d, k: x.min() if d is None else x.min(d if isinstance(d, int) else d[0], keepdim=k),
    "argmax": lambda x, d, k: x.argmax() if d is None else x.argmax(d if isinstance(d, int) else d[0], keepdim=k),
    "argmin": lambda x, d, k: x.argmin() if d is None else x.argmin(d if isinstance(d, int) else d[0], keepdim=k),
    "any": lambda x, d, k: x.any() if d is None else x.any(d, keepdim=k),
    "all": lambda x, d, k: x.all() if d is None else x.all(d, keepdim=k),
    "var": lambda x, d, k: x.var() if d is None else x.var(d, keepdim=k),
    "var_correction0": lambda x, d, k: x.var(correction=0) if d is None else x.var(d, correction=0, keepdim=k),
    "std": lambda x, d, k: x.std() if d is None else x.std(d, keepdim=k),
    "std_correction0": lambda x, d, k: x.std(correction=0) if d is None else x.std(d, correction=0, keepdim=k),
    "var_mean": lambda x, d, k: torch.var_mean(x) if d is None else torch.var_mean(x, d, keepdim=k),
    "var_mean_correction0": lambda x, d, k: torch.var_mean(x, d, correction=0, keepdim=k),
    "softmax": lambda x, d, k: torch.softmax(x, -1 if d is None else (d if isinstance(d, int) else d[0])),
    "log_softmax": lambda x, d, k: torch.log_softmax(x, -1 if d is None else (d if isinstance(d, int) else d[0])),
}

SHAPE = (4, 5, 6)
# (dim, keepdim) of the cases each dtype gets in turn; float32 gets them all.
DIM_CASES = [(None, False), (1, False), (-1, True), ((0, 2), False), ((0, -1), True), (0, True)]


def _fill(name: str, dtype: torch.dtype):
    """Values per op: products stay small, and integer maxima repeat (ties pick the first)."""

    def fill(shape):
        if name == "prod":
            if dtype in (torch.float16, torch.bfloat16):
                # Half-precision products round at every step, in an order that
                # depends on ATen's vectorization; products of powers of two are
                # exact in any order (test_prod_half_precision covers rounding).
                choices = torch.tensor([1.0, 1.0, -1.0, 0.5, 2.0], dtype=dtype)
                return choices[torch.randint(0, 5, shape)]
            if dtype.is_floating_point:
                return make(shape, dtype, 0.5, 1.5)
            return make(shape, dtype, -2, 3)
        if dtype.is_floating_point or dtype == torch.bool:
            return make(shape, dtype)
        return make(shape, dtype, -4, 4)

    return fill


def _accepts(name: str, dtype: torch.dtype) -> bool:
    return eager_accepts(REDUCTIONS[name], _fill(name, dtype)((2, 3)), 1, False)


def _layouts(fill):
    """A contiguous (4, 5, 6) tensor, a permuted one, and a strided slice of one."""
    return [
        ("contiguous", fill(SHAPE)),
        ("permuted", fill((6, 4, 5)).permute(1, 2, 0)),
        ("sliced", fill((8, 5, 7))[::2, :, 1:]),
    ]


def _reduction_cases(name: str, dtypes, extras: bool) -> list:
    """float32 gets every (dim, keepdim) case, other dtypes one each, in turn, in a
    rotating layout; `extras` adds 0-d and empty inputs."""
    fn = REDUCTIONS[name]
    cases = []
    for i, dtype in enumerate(ALL_DTYPES):
        if dtype not in dtypes or not _accepts(name, dtype):
            continue
        layouts = _layouts(_fill(name, dtype))
        if dtype == torch.float32:
            chosen = [(dim, keepdim, layouts[j % 3]) for j, (dim, keepdim) in enumerate(DIM_CASES)]
        else:
            chosen = [(*DIM_CASES[i % len(DIM_CASES)], layouts[i % 3])]
        for dim, keepdim, (layout, x) in chosen:
            f = (lambda dim, keepdim: lambda x: fn(x, dim, keepdim))(dim, keepdim)
            if name == "var_mean_correction0" and dim is None:
                f = lambda x: torch.var_mean(x, correction=0)  # noqa: E731
            cases.append((f"{name} {dtype_id(dtype)} {layout} dim={dim} keepdim={keepdim}", f, (x,)))
    if extras:
        dtype = next(d for d in [torch.float32] + ALL_DTYPES if _accepts(name, d))
        x = _fill(name, dtype)((3, 4))
        candidates = [
            ("0-d input", lambda x: fn(x, None, False), x[1, 2].clone()),
            ("0-d input, dim=-1, keepdim", lambda x: fn(x, -1, True), x[1, 2].clone()),
            ("empty input, all dims", lambda x: fn(x, None, False), x[:0]),
            ("empty reduction dim", lambda x: fn(x, 0, False), x[:0]),
        ]
        for label, f, arg in candidates:
            if eager_accepts(f, arg):
                cases.append((f"{name} {dtype_id(dtype)} {label}", f, (arg,)))
    return cases


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction(name):
    check_cases(_reduction_cases(name, ALL_DTYPES, extras=True), equal_nan=True)


def test_prod_half_precision():
    """ATen multiplies float16 and bfloat16 in their own precision, rounding every
    partial product, in order along the reduced dim."""
    cases = []
    for dtype in (torch.float16, torch.bfloat16):
        x = make((4, 6, 30), dtype, 0.5, 1.5)
        cases += [
            (f"{dtype_id(dtype)} dim=-1 (contiguous)", lambda x: x.prod(-1), (x,)),
            (f"{dtype_id(dtype)} dim=1", lambda x: x.prod(1), (x,)),
            (f"{dtype_id(dtype)} dim=0, keepdim", lambda x: x.prod(0, keepdim=True), (x,)),
        ]
    check_cases(cases)


# NaN and infinities: NaN wins max/min/argmax/argmin and poisons sums; +-inf
# compete with ordinary values; a row of only -inf has max -inf.
SPECIAL_OPS = {
    "max.dim": lambda x: x.max(1),
    "min.dim": lambda x: x.min(1),
    "max": lambda x: x.max(),
    "min": lambda x: x.min(),
    "maximum": lambda x: torch.maximum(x[:, 1:], x[:, :-1]),
    "minimum": lambda x: torch.minimum(x[1:], x[:-1]),
    "amax": lambda x: x.amax(1),
    "amin": lambda x: x.amin(0),
    "argmax": lambda x: x.argmax(1),
    "argmin": lambda x: x.argmin(1),
    "argmax_all": lambda x: x.argmax(),
    "sum": lambda x: x.sum(1),
    "sum_all": lambda x: x.sum(),
    "prod": lambda x: x.prod(1),
    "mean": lambda x: x.mean(1),
    "var": lambda x: x.var(1),
    "softmax": lambda x: torch.softmax(x, 1),
    "log_softmax": lambda x: torch.log_softmax(x, 1),
    "any": lambda x: x.any(1),
    "all": lambda x: x.all(1),
}


def _special_rows(dtype: torch.dtype) -> torch.Tensor:
    nan, inf = float("nan"), float("inf")
    rows = [
        [1.0, nan, 3.0, -2.0, 0.5],
        [nan, 1.0, nan, 2.0, -1.0],
        [1.0, 2.0, 3.0, 4.0, nan],
        [inf, 1.0, 2.0, -inf, 0.0],
        [-inf, -inf, -inf, -inf, -inf],
        [inf, inf, 1.0, inf, 2.0],
        [1.0, 5.0, 5.0, -3.0, 5.0],  # ties: the first index wins
        [-0.0, 0.0, -1.0, 2.0, 2.0],
    ]
    return torch.tensor(rows, dtype=dtype)


@pytest.mark.parametrize("name", list(SPECIAL_OPS))
def test_special_values(name):
    dtypes = [torch.float32, torch.float16, torch.bfloat16]
    cases = [(dtype_id(dtype), SPECIAL_OPS[name], (_special_rows(dtype),)) for dtype in dtypes]
    cases.append(("float32 transposed", SPECIAL_OPS[name], (_special_rows(torch.float32).t().contiguous().t(),)))
    check_cases(cases, equal_nan=True)


def test_reductions_fused_with_pointwise():
    """Reductions of computed values and computations on reduced values, in one graph."""
    x = make((6, 9), torch.float32)
    y = make((9,), torch.float32)

    def f(x, y):
        centered = x - x.mean(1, keepdim=True)
        return (
            (x * y).sum(1),
            centered / (centered.var(1, keepdim=True, correction=0) + 1e-5).sqrt(),
            torch.softmax(x * 0.5 + y, -1).amax(0),
            (x > 0).sum(0),
            x.abs().argmax(1) + 1,
        )

    check_cases([("fused", f, (x, y))])


def test_uint8_extremes_compare_unsigned():
    # Values above 127 would compare as negative if kernels compared uint8 as signed.
    x = torch.tensor([[3, 200, 7, 0], [250, 1, 128, 255]], dtype=torch.uint8)
    check(
        lambda x: (x.amax(1), x.amin(1), x.argmax(1), x.argmin(1), x.max(0).values, x.max(0).indices, x.max()),
        x,
        names=["amax", "amin", "argmax", "argmin", "max.values", "max.indices", "max"],
    )


def test_long_variances():
    """Variances over long ranges, which a looped GPU kernel reduces in one pass
    (per-lane Welford merged by Chan's formula): columns of a uniform length
    (every lane counts alike), a ragged one (masked lanes), wide rows, layer
    norm over wide rows, and a split column reduction; values offset far from
    zero, where a sum-of-squares formula would lose the variance. float32
    sums of 1000-70000 values in another order than eager's differ by a few
    ulps times sqrt(n), beyond the elementwise 1.3e-6: rtol 2e-5 there."""

    def offset(shape, dtype, center):
        return (make(shape, torch.float32) + center).to(dtype)

    def cases(dtype):
        return [
            (f"var_mean cols 1000x96 {dtype_id(dtype)}", lambda x: torch.var_mean(x, 0), (offset((1000, 96), dtype, 100.0),)),
            (f"var cols 4096x64 {dtype_id(dtype)}", lambda x: x.var(0), (offset((4096, 64), dtype, -30.0),)),
        ]

    wide = [
        ("var_mean rows 4x70000", lambda x: torch.var_mean(x, 1, correction=0), (offset((4, 70000), torch.float32, 1000.0),)),
        ("var dims (0, 2) 300x4x40", lambda x: x.var((0, 2)), (offset((300, 4, 40), torch.float32, 10.0),)),
        (
            "layer_norm rows 3x40000",
            lambda x, w: torch.nn.functional.layer_norm(x, (40000,), w),
            (offset((3, 40000), torch.float32, 50.0), make((40000,), torch.float32)),
        ),
    ]
    check_cases(cases(torch.float32) + wide, rtol=2e-5, atol=1e-3)
    check_cases(cases(torch.bfloat16))
