"""Ops coil does not lower run as `coil.extern` calls to ATen, inside compiled graphs.

Each case must match eager, be counted in `extern_ops`, make extern calls at
run time, and never fall back to eager; the pointwise work around each call
still compiles to coil kernels.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_ops_util import check, coil_test_env, make  # noqa: F401  (coil_test_env is an autouse fixture)

EXTERN_CASES = {
    "mm": (
        "aten.mm.default",
        lambda x, y: torch.mm(x * 2, y).relu(),
        lambda: (make((6, 5), torch.float32), make((5, 7), torch.float32)),
    ),
    "sort": (
        "aten.sort.default",
        lambda x, y: tuple(t + 1 for t in torch.sort(x - y[:, :5], dim=1, descending=True)),
        lambda: (make((6, 5), torch.float32), make((6, 7), torch.float32)),
    ),
    "cumsum": (
        "aten.cumsum.default",
        lambda x, y: torch.cumsum(x.t() + 1, dim=0) * y[0, 0],
        lambda: (make((6, 5), torch.float32), make((5, 7), torch.float32)),
    ),
    "conv2d": (
        "aten.convolution.default",
        lambda x, w: F.conv2d(x.sigmoid(), w, padding=1) - 0.5,
        lambda: (make((2, 3, 6, 6), torch.float32), make((4, 3, 3, 3), torch.float32)),
    ),
    "cumsum int64": (
        "aten.cumsum.default",
        lambda x, y: torch.cumsum(x, dim=1) // 2,
        lambda: (make((4, 6), torch.int64), make((1,), torch.int64)),
    ),
}


@pytest.mark.parametrize("name", list(EXTERN_CASES))
def test_extern(name):
    op, fn, make_inputs = EXTERN_CASES[name]
    check(fn, *make_inputs(), extern=[op])


def test_extern_only_graph():
    """A graph of nothing but an extern call compiles to no kernel, and still runs."""
    x, y = make((3, 4), torch.float32), make((4, 2), torch.float32)
    check(torch.mm, x, y, extern=["aten.mm.default"], kernels=False)
