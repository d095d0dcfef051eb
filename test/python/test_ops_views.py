"""Numerics of coil's view and data-movement lowerings (frontend/lower_views.py) and
creation ops (frontend/lower_creation.py) against eager.

A view alone compiles to nothing (AOTAutograd replays views of inputs), so
every case computes something: a view of an input feeding a kernel (the view
folds into the kernel's loads), or a view of a computed tensor returned as an
output (its strides must match eager's).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_ops_util import (  # noqa: F401  (coil_test_env is an autouse fixture)
    ALL_DTYPES,

    check,
    check_cases,
    coil_test_env,
    dtype_id,
    make,
)

# name -> a view of a (4, 5, 6) tensor.
VIEWS = {
    "view_merge": lambda x: x.view(4, 30),
    "view_split": lambda x: x.view(2, 2, 5, 3, 2),
    "view_regroup": lambda x: x.view(10, 12),  # dims that merge and split at once
    "view_minus_one": lambda x: x.view(-1, 6),
    "view_size_one": lambda x: x.view(4, 1, 30, 1),
    "flatten": lambda x: x.flatten(),
    "flatten_inner": lambda x: x.flatten(1),
    "reshape_permuted": lambda x: x.permute(2, 0, 1).reshape(6, 20),  # not a view: copies
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_negative": lambda x: x.transpose(-1, -2),
    "t": lambda x: x[0].t(),
    "expand": lambda x: x[:, :1, :].expand(4, 5, 6),
    "expand_new_dims": lambda x: x[0, 0].expand(3, 2, 6),
    "slice_step": lambda x: x[:, 1::2, ::3],
    "slice_negative": lambda x: x[:, -3:-1, -4:],
    "slice_clamped": lambda x: x[1:100, -100:3],
    "slice_empty": lambda x: x[3:3],
    "narrow": lambda x: x.narrow(2, 1, 3),
    "select": lambda x: x[:, -1],
    "select_first": lambda x: x[2],
    "squeeze_all": lambda x: x[:, :1, :, None].squeeze(),
    "squeeze_dim": lambda x: x[:, :1].squeeze(1),
    "squeeze_dims": lambda x: x[:1, :1].squeeze((0, 1)),
    "squeeze_noop": lambda x: x.squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(-1),
    "unsqueeze_front": lambda x: x.unsqueeze(0),
    "as_strided": lambda x: torch.as_strided(x, (3, 4), (2, 5), 1),
    "as_strided_overlapping": lambda x: torch.as_strided(x, (5, 4), (1, 1)),
    "as_strided_offset": lambda x: torch.as_strided(x, (2, 3, 2), (1, 2, 12), 7),
    "split": lambda x: torch.split(x, 4, dim=2),
    "split_with_sizes": lambda x: torch.split(x, [1, 3, 1], dim=1),
    "unbind": lambda x: torch.unbind(x, 1),
    "chunk": lambda x: torch.chunk(x, 2, dim=0),
    "diagonal": lambda x: x[0, :5, :5].diagonal(),
    "diagonal_offset": lambda x: torch.diagonal(x, -1, 2, 0),
    "unfold": lambda x: x.unfold(2, 3, 2),
}

# How each dtype's case uses the view: `into` a kernel, or `of` a computed tensor.
def _compute(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.bool:
        return torch.logical_not(x)
    return x * 2


def _map(fn, out):
    return tuple(fn(o) for o in out) if isinstance(out, (tuple, list)) else fn(out)


# Views do not look at values: each view gets three cases, in three dtypes that
# rotate through the dtypes over the table.


@pytest.mark.parametrize("name", list(VIEWS))
def test_view(name):
    view = VIEWS[name]
    k = list(VIEWS).index(name)
    into, of, clone = (ALL_DTYPES[(3 * k + j) % len(ALL_DTYPES)] for j in range(3))
    permuted = make((6, 4, 5), into).permute(1, 2, 0)
    cases = [
        (f"{dtype_id(into)} view of a permuted input into a kernel", lambda x: _map(_compute, view(x.contiguous() if name.startswith("view") else x)), (permuted,)),
        (f"{dtype_id(of)} view of a computed tensor", lambda x: view(_compute(x)), (make((4, 5, 6), of),)),
        (f"{dtype_id(clone)} clone of a view", lambda x: _map(torch.clone, view(x)), (make((4, 5, 6), clone),)),
    ]
    check_cases(cases)


def test_views_chained():
    """Several views in a row fold into one index map."""
    x = make((4, 5, 6), torch.float32)

    def f(x):
        y = x.permute(2, 0, 1)[1:, ::2].reshape(10, 5)
        z = y.t().unsqueeze(1)[..., 1:].squeeze(1)
        return z * 3, (x + 1).view(20, 6).t()[2:, 1::3], x.expand(2, 4, 5, 6).flatten(0, 1)[1::3] + 1

    check(f, x)


# ---------------------------------------------------------------------------
# Data movement


def _cat_cases(dtypes, extras: bool) -> list:
    cases = []
    for i, dtype in enumerate(dtypes):
        a, b, c = make((2, 3, 4), dtype), make((2, 5, 4), dtype), make((4, 3, 2), dtype).transpose(0, 2)
        other = ALL_DTYPES[(ALL_DTYPES.index(dtype) + 3) % len(ALL_DTYPES)]
        d = make((2, 2, 4), other)
        cases += [
            (f"{dtype_id(dtype)} dim 1", lambda a, b: torch.cat([a, b, a], 1), (a, b)),
            (f"{dtype_id(dtype)} transposed part, dim -1", lambda a, c: torch.cat([a, c], -1), (a, c)),
            (f"{dtype_id(dtype)} with {dtype_id(other)} (promotes)", lambda a, d: torch.cat([a, d], 1), (a, d)),
        ]
        if i == 0:
            empty = make((0, 3, 4), dtype)
            legacy = torch.tensor([], dtype=dtype)
            cases += [
                (f"{dtype_id(dtype)} empty parts", lambda a, e, l: torch.cat([e, a, e, l, a], 0), (a, empty, legacy)),
                (f"{dtype_id(dtype)} dim 0", lambda a, b: torch.cat([a, a * 1, a[:1]], 0), (a, b)),
                (f"{dtype_id(dtype)} only empty parts", lambda e: torch.cat([e, e], 1), (empty,)),
                (f"{dtype_id(dtype)} 1-d", lambda a: torch.cat([a.flatten(), a[0, 0]]), (a,)),
            ]
    return cases


def test_cat():
    check_cases(_cat_cases(ALL_DTYPES, extras=True))


def _constant_pad_nd_cases(dtypes, extras: bool) -> list:
    pads = [
        ((1, 2), 0),
        ((1, 1, 2, 0), 3),
        ((-1, 2), 0),
        ((-2, -1, 1, -1), 1),
        ((0, 0, 0, 0, 1, 1), 2),
        ((2, -3, 0, 1), 0),
    ]
    cases = []
    for i, dtype in enumerate(dtypes):
        x = make((3, 4, 5), dtype)
        for j in range(2 if len(dtypes) > 1 else len(pads)):
            pad, value = pads[(2 * i + j) % len(pads)]
            value = bool(value) if dtype == torch.bool else value
            cases.append((f"{dtype_id(dtype)} pad={pad} value={value}", lambda x, pad=pad, value=value: F.pad(x, pad, value=value), (x,)))
    if extras:
        x = make((3, 4, 5), torch.float32)
        cases += [
            ("float32 transposed input", lambda x: F.pad(x.transpose(0, 2), (1, -1, 2, 2)), (x,)),
            ("float32 float value", lambda x: F.pad(x, (1, 1), value=-2.5), (x,)),
            ("int64 float value", lambda x: F.pad(x, (1, 1), value=7), (x.to(torch.int64),)),
            ("float32 empty input", lambda x: F.pad(x[:, :0], (1, 1, 1, 1)), (x,)),
        ]
    return cases


def test_constant_pad_nd():
    check_cases(_constant_pad_nd_cases(ALL_DTYPES, extras=True))


def _gather_cases(dtypes, extras: bool) -> list:
    cases = []
    for i, dtype in enumerate(dtypes):
        x = make((4, 5, 6), dtype)
        dim = [0, 1, -1][i % 3]
        size = x.shape[dim]
        index = torch.randint(0, size, (3, 4, 5))
        cases.append((f"{dtype_id(dtype)} dim={dim}", lambda x, index, dim=dim: torch.gather(x, dim, index), (x, index)))
    if extras:
        x = make((4, 5, 6), torch.float32)
        cases += [
            ("int32 index, transposed input", lambda x, i: torch.gather(x.transpose(0, 2), 1, i), (x, torch.randint(0, 5, (6, 2, 4), dtype=torch.int32))),
            ("1-d", lambda x, i: torch.gather(x.flatten(), 0, i), (x, torch.randint(0, 120, (17,)))),
            ("expanded index", lambda x, i: torch.gather(x, 2, i.expand(4, 5, 3)), (x, torch.randint(0, 6, (1, 1, 3)))),
        ]
    return cases


def test_gather():
    check_cases(_gather_cases(ALL_DTYPES, extras=True))


INDEXING = {
    "one index": (lambda x, i, j: x[i], lambda: (torch.tensor([0, 3, -1, 2, -4, 0]), None)),
    "second dim": (lambda x, i, j: x[:, i], lambda: (torch.tensor([[4, -5], [1, 2], [0, 0]]), None)),
    "adjacent pair": (lambda x, i, j: x[i, j], lambda: (torch.tensor([0, 1, 3, -2]), torch.tensor([4, -1, 0, 2]))),
    "adjacent pair after slice": (lambda x, i, j: x[:, i, j], lambda: (torch.tensor([[0], [4]]), torch.tensor([[1, 5, -6]]))),
    "non-adjacent pair": (lambda x, i, j: x[i, :, j], lambda: (torch.tensor([3, 0, -1]), torch.tensor([0, 5, -2]))),
    "broadcast indices": (lambda x, i, j: x[i, j], lambda: (torch.tensor([[0], [2], [-1]]), torch.tensor([[1, 2, 3, -5]]))),
    "int32 indices": (lambda x, i, j: x[i, :, j], lambda: (torch.tensor([1, 2], dtype=torch.int32), torch.tensor([3, -3], dtype=torch.int32))),
}


def _index_cases(dtypes, extras: bool) -> list:
    cases = []
    names = list(INDEXING)
    for i, dtype in enumerate(dtypes):
        x = make((4, 5, 6), dtype)
        for j in range(2 if len(dtypes) > 1 else len(names)):
            name = names[(2 * i + j) % len(names)]
            fn, make_indices = INDEXING[name]
            idx, jdx = make_indices()
            args = (x, idx) if jdx is None else (x, idx, jdx)
            f = (lambda fn: lambda x, i, j=None: fn(x, i, j))(fn)
            cases.append((f"{dtype_id(dtype)} {name}", f, args))
    if extras:
        x = make((6, 4, 5), torch.float32).permute(1, 2, 0)
        i = torch.tensor([2, -1, 0])
        cases += [
            ("float32 permuted input", lambda x, i: x[i, :, i], (x, i)),
            ("float32 index of a computed tensor", lambda x, i: (x * 2)[:, i] + 1, (x, i)),
            ("float32 empty index", lambda x, i: x[i[:0]], (x, i)),
        ]
    return cases


def test_index():
    check_cases(_index_cases(ALL_DTYPES, extras=True))


def _index_select_and_embedding_cases(dtypes, extras: bool) -> list:
    cases = []
    for i, dtype in enumerate(dtypes):
        x = make((5, 6), dtype)
        dim = i % 2
        idx = torch.randint(0, x.shape[dim], (7,))
        cases.append((f"{dtype_id(dtype)} index_select dim={dim}", lambda x, idx, dim=dim: torch.index_select(x, dim, idx), (x, idx)))
        if dtype.is_floating_point:
            ids = torch.randint(0, 5, (3, 4))
            cases.append((f"{dtype_id(dtype)} embedding", F.embedding, (ids, x)))
    if extras:
        x = make((6, 5), torch.float32)
        cases += [
            ("index_select of a transposed input", lambda x, i: torch.index_select(x.t(), 1, i), (x, torch.tensor([5, 0, 0, 2]))),
            ("index_select 1-d, int32 index", lambda x, i: torch.index_select(x.flatten(), 0, i), (x, torch.tensor([29, 3, 7], dtype=torch.int32))),
            ("embedding, 1-d ids", lambda i, w: F.embedding(i, w * 2), (torch.tensor([0, 5, 2, 2]), x)),
        ]
    return cases


def test_index_select_and_embedding():
    check_cases(_index_select_and_embedding_cases(ALL_DTYPES, extras=True))


# ---------------------------------------------------------------------------
# Creation ops


def _creation_options(dtype: torch.dtype) -> list:
    # Factory calls name x's device: Dynamo traces them on the CPU otherwise,
    # whatever the default device (the tests also run on CUDA).
    value = True if dtype == torch.bool else 3
    cases = [
        ("full", lambda x: torch.full((2, 3), value, dtype=dtype, device=x.device) + x[:2, :3]),
        ("zeros", lambda x: torch.zeros(3, 4, dtype=dtype, device=x.device) + x),
        ("ones", lambda x: torch.ones(4, dtype=dtype, device=x.device) + x),
        ("zeros_like", lambda x: torch.zeros_like(x) + x),
        ("ones_like to float32", lambda x: torch.ones_like(x, dtype=torch.float32) * 2),
        ("full_like", lambda x: torch.full_like(x, value) + x),
        ("new_full", lambda x: x.new_full((2, 2), value) + x[0, :2]),
        ("scalar_tensor", lambda x: torch.scalar_tensor(value, dtype=dtype, device=x.device) + x),
        ("empty, filled", lambda x: torch.empty(2, 3, dtype=dtype, device=x.device).fill_(value) + x[:2, :3]),
        ("new_zeros, empty", lambda x: x.new_zeros(0, 4) + x[:0]),
    ]
    if dtype != torch.bool:
        cases += [
            ("arange", lambda x: torch.arange(5, dtype=dtype, device=x.device) + x[0, 0]),
            ("arange start, step", lambda x: torch.arange(1, 9, 3, dtype=dtype, device=x.device) + x[0, 0]),
            ("arange negative step", lambda x: torch.arange(10, 1, -3, dtype=dtype, device=x.device) + x[0, 0]),
        ]
    return cases


def _creation_cases(dtypes, extras: bool) -> list:
    """Each dtype gets five creation ops, in turn (every op in several dtypes)."""
    cases = []
    for i, dtype in enumerate(dtypes):
        x = make((3, 4), dtype)
        options = _creation_options(dtype)
        for j in range(5 if len(dtypes) > 1 else len(options)):
            label, f = options[(5 * i + j) % len(options)]
            cases.append((f"{dtype_id(dtype)} {label}", f, (x,)))
    return cases


def test_creation():
    check_cases(_creation_cases(ALL_DTYPES, extras=True))


def test_arange_and_full_inferred_dtypes():
    x = make((4,), torch.float32)

    def f(x):
        return (
            torch.arange(6, device=x.device) + 1,  # int64
            torch.arange(0.5, 3.0, 0.25, device=x.device) * x[0],  # float32, fractional steps
            torch.arange(-3, 3, 0.5, dtype=torch.float64, device=x.device) * 2,
            torch.arange(5, dtype=torch.float16, device=x.device) / 3,
            torch.arange(0, 1, 0.1, dtype=torch.bfloat16, device=x.device) + 1,
            torch.full((2, 2), 1.5, device=x.device) + x[:2],
            torch.full((3,), 7, device=x.device) + 1,  # int64
            torch.full((2,), float("inf"), device=x.device) * x[:2],
            torch.zeros((), device=x.device) + x[0],
            torch.ones(2, 3, dtype=torch.float64, device=x.device).t() * 2,
            torch.arange(24, device=x.device).view(2, 3, 4).permute(2, 0, 1) + 0,
            x + torch.tensor([1.0, -2.0, 3.5, 0.25], device=x.device),  # a constant made in the function
            x.detach() * 2,
            torch.empty_strided((2, 2), (1, 2), device=x.device).fill_(1.5) + x[:2],
        )

    check(f, x)
