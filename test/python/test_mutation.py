"""Mutation and aliasing through torch.compile(backend="coil") on CPU, as eager does it.

AOTAutograd functionalizes a graph and, with `keep_inference_input_mutations`,
ends it with `copy_(input, new_value)` for every input mutated in place. coil
writes the new value into the input's storage: when nothing reads the old value
later, the kernel computing it stores into the input buffer directly (one
kernel for `x.add_(y)`), otherwise a copy kernel writes it back at the end.
Outputs that are views of inputs keep eager's strides and storage offset and
share the input's storage.

Every case checks the inputs (values, identity of their storage) and the
outputs against eager, and that no graph fell back to eager.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

import coil
from coil import metrics
from test_ops_util import DEVICES, strict_on_device


@pytest.fixture(autouse=True, params=DEVICES)
def fresh_state(request):
    """Each test runs once per device (CUDA skipped without a GPU)."""
    with strict_on_device(request.param) as device:
        yield device


def _run(fn, make_args, extern=()):
    """Runs `fn` eagerly and compiled on two copies of `make_args()`; compares
    the mutated inputs and the outputs (values, strides, storage offsets).

    `make_args` builds fresh arguments from one seed, so inputs that alias each
    other alias in both runs. Returns (compiled outputs, compiled args, stats).
    """
    torch.manual_seed(0)
    expected_args = make_args()
    torch.manual_seed(0)
    args = make_args()
    pointers = [a.data_ptr() for a in args]
    expected = fn(*expected_args)
    metrics.reset()
    actual = torch.compile(fn, backend="coil", dynamic=False)(*args)
    stats = metrics.snapshot()
    assert stats["fallbacks"] == 0, stats["fallback_ops"]
    assert set(stats["extern_ops"]) == set(extern), stats["extern_ops"]
    assert [a.data_ptr() for a in args] == pointers
    for a, e in zip(args, expected_args):
        torch.testing.assert_close(a, e)
    outs = actual if isinstance(actual, tuple) else (actual,)
    exps = expected if isinstance(expected, tuple) else (expected,)
    for o, e in zip(outs, exps):
        if e is None:
            assert o is None
            continue
        torch.testing.assert_close(o, e)
        assert o.stride() == e.stride() and o.storage_offset() == e.storage_offset()
    return actual, args, stats


def test_add_inplace_stores_into_the_input():
    def fn(x, y):
        x.add_(y)
        return x * 2

    _, _, stats = _run(fn, lambda: (torch.randn(8, 16), torch.randn(8, 16)))
    # One kernel computes x + y into x's storage and x * 2 into the output:
    # no separate write-back kernel, no ATen copy_.
    assert stats["kernels"] == 1 and stats["kernel_launches"] == 1


def test_mutated_input_returned_is_the_input():
    def fn(x):
        x.mul_(3).add_(1)
        return x

    out, (x,), stats = _run(fn, lambda: (torch.randn(5, 7),))
    assert out is x
    assert stats["kernels"] == 1


def test_outputs_that_are_views_of_inputs():
    def fn(x):
        return x.t(), x[1:, 2:], x.view(-1), x.unsqueeze(0)[:, 2]

    outs, (x,), _ = _run(fn, lambda: (torch.randn(4, 6),))
    for out in outs:
        assert out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()


def test_mutation_then_view_output():
    def fn(x):
        x.mul_(2)
        return x[1:]

    out, (x,), _ = _run(fn, lambda: (torch.randn(4, 5),))
    assert out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    out.fill_(0)
    assert (x[1:] == 0).all()


@pytest.mark.parametrize("layout", ["transposed", "offset"])
def test_mutate_strided_input(layout):
    def fn(x, y):
        x.mul_(y.sigmoid())

    def make():
        if layout == "transposed":
            return torch.randn(6, 5).t(), torch.randn(5, 6)
        return torch.randn(40)[3:33].view(5, 6), torch.randn(5, 6)

    _, (x, _), stats = _run(fn, make)
    assert stats["kernels"] == 1
    if layout == "offset":
        assert x.storage_offset() == 3


def test_copy_into_input_broadcasts_and_casts():
    def fn(x, y):
        x.copy_(y)

    _run(fn, lambda: (torch.randn(3, 4, dtype=torch.float64), torch.randn(4)))


def test_old_value_read_after_the_new_one_is_computed():
    # The transposed read of the old x must not see the new values.
    def fn(x):
        old = x.t() * 1
        x.mul_(2)
        return old + x.sum()

    _run(fn, lambda: (torch.randn(6, 6),))


def test_reduction_then_mutation():
    def fn(x):
        s = x.sum(0)
        x.add_(s)
        return s

    _run(fn, lambda: (torch.randn(5, 5),))


def test_several_inputs_mutated_and_swapped():
    def update(x, y):
        x.add_(y)
        y.mul_(x)

    def swap(x, y):
        t = x.clone()
        x.copy_(y)
        y.copy_(t)

    _run(update, lambda: (torch.randn(16), torch.randn(16)))
    torch._dynamo.reset()
    _run(swap, lambda: (torch.randn(16), torch.randn(16)))


def test_setitem_slice_and_row_are_kernels():
    def fn(x, v, r):
        x[1:7:2] = v
        x[0] = r
        return x * 2

    _, _, stats = _run(fn, lambda: (torch.randn(8, 3), torch.randn(3, 3), torch.randn(3)))
    assert stats["kernels"] > 0


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_(accumulate):
    def fn(x, i, v):
        x.index_put_((i,), v, accumulate=accumulate)
        return x.sum(1)

    def make():
        return torch.randn(6, 3), torch.tensor([0, 2, 2 if accumulate else 5]), torch.randn(3, 3)

    # The scatter itself is an ATen call; the write into x is coil's.
    _, _, stats = _run(fn, make, extern={"aten.index_put.default"})
    assert stats["kernels"] > 0


def test_inputs_that_are_the_same_tensor():
    def fn(a, b):
        a.add_(1)
        return b * 2

    def make():
        x = torch.randn(6)
        return x, x

    _, (a, b), _ = _run(fn, make)
    assert a is b


def test_inputs_that_overlap():
    def fn(a, b):
        a.add_(1)
        return b * 2

    def make():
        base = torch.randn(6)
        return base[:4], base[2:]

    # AOTAutograd passes one base and writes the views back through
    # as_strided_scatter, an ATen call.
    _, (a, b), _ = _run(fn, make, extern={"aten.as_strided_scatter.default"})
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def test_batchnorm_running_stats_in_training_mode():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(4).train()
    reference = copy.deepcopy(bn)
    compiled = torch.compile(bn, backend="coil")
    buffers = [b.data_ptr() for b in bn.buffers()]
    for step in range(2):
        x = torch.randn(3, 4, 5, 5)
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), reference(x))
        for name, b in reference.named_buffers():
            torch.testing.assert_close(dict(bn.named_buffers())[name], b, msg=f"{name} after step {step}")
    assert [b.data_ptr() for b in bn.buffers()] == buffers
    stats = metrics.snapshot()
    assert stats["fallbacks"] == 0 and not stats["extern_ops"], stats


def test_writeback_without_memory_planning():
    def fn(x, y):
        x.add_(y)
        return x * 2

    with coil.config.patch(memory_planning=False):
        _, _, stats = _run(fn, lambda: (torch.randn(8, 16), torch.randn(8, 16)))
    # Without the planner the new value is written back by a copy kernel.
    assert stats["kernels"] == 2


# -- the functional ops AOTAutograd turns in-place writes into ---------------------


def test_scatter_ops_are_kernels():
    from test_ops_util import check_cases

    x = torch.randn(7, 5)
    cases = [
        ("slice_scatter step 2", lambda x, s: torch.slice_scatter(x, s, 1, 1, 5, 2), (x, torch.randn(7, 2))),
        ("slice_scatter negative start", lambda x, s: torch.slice_scatter(x, s, 0, -3), (x, torch.randn(3, 5))),
        ("select_scatter", lambda x, r: torch.select_scatter(x, r, 1, -2), (x, torch.randn(7))),
        ("scatter value (one-hot)", lambda x, i: torch.scatter(x, 1, i, -1.0), (x, torch.randint(0, 5, (7, 1)))),
        # Distinct indices per column: with repeats, which write wins is unspecified (CUDA differs).
        ("scatter src", lambda x, i, s: torch.scatter(x, 0, i, s), (x, torch.rand(7, 5).argsort(0)[:3], torch.randn(4, 6))),
    ]
    check_cases(cases)


def test_fma_rounds_as_eager():
    from test_ops_util import check

    # Inductor's prims.fma (in decomposed optimizer updates) runs eagerly as a * b + c.
    import torch._inductor.inductor_prims  # noqa: F401  (defines prims.fma)

    a, b, c = torch.randn(64), torch.randn(64), torch.randn(64)
    check(lambda a, b, c: (torch.ops.prims.fma(a, b, c), torch.ops.prims.fma(a, 0.3, c)), a, b, c)
