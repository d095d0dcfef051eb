"""The CPU output pool (host_codegen.OutputPool): an inference graph reuses the
memory of an earlier call's output only when nothing of the caller's reaches it."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import coil
from coil.backends.host_codegen import POOLED_OUTPUT_MIN_BYTES

ROWS, COLS = 256, 512  # 512 KiB of float32: above POOLED_OUTPUT_MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_state():
    torch._dynamo.reset()
    coil.metrics.reset()
    with coil.config.patch(strict=True, cpu_output_pool=True):
        yield
    torch._dynamo.reset()


def scaled_softmax(x):
    return torch.softmax(x * 2.0, dim=-1)


def _compiled(fn=scaled_softmax, **kwargs):
    return torch.compile(fn, backend="coil", **kwargs)


def _host_sources(tmp_path) -> list[str]:
    return [p.read_text() for p in sorted(tmp_path.glob("graph_*/host.py"))]


def test_a_dropped_output_is_reused_and_the_result_is_eager_s():
    assert ROWS * COLS * 4 >= POOLED_OUTPUT_MIN_BYTES
    f = _compiled()
    x, y = torch.randn(ROWS, COLS), torch.randn(ROWS, COLS)
    with torch.no_grad():
        first = f(x)
        address = first.data_ptr()
        del first
        second = f(y)
    assert second.data_ptr() == address
    assert_close(second, scaled_softmax(y))
    assert coil.metrics.snapshot()["kernel_launches"] >= 2


@pytest.mark.parametrize("hold", ["tensor", "view", "numpy", "storage", "clone_of_view"])
def test_what_the_caller_still_reaches_is_never_overwritten(hold):
    f = _compiled()
    x, y = torch.randn(ROWS, COLS), torch.randn(ROWS, COLS)
    with torch.no_grad():
        out = f(x)
        expected = scaled_softmax(x)
        if hold == "tensor":
            kept, read = out, lambda k: k
        elif hold == "view":
            kept, read = out[1:], lambda k: k
            expected = expected[1:]
        elif hold == "numpy":
            kept, read = out.numpy(), torch.from_numpy
        elif hold == "storage":
            kept = out.untyped_storage()
            read = lambda k: torch.empty(0).set_(k, 0, (ROWS, COLS), (COLS, 1))  # noqa: E731
        else:
            kept, read = out[1:].clone(), lambda k: k  # owns its memory: the pool may reuse out's
            expected = expected[1:]
        address = out.data_ptr()
        del out
        for _ in range(3):
            again = f(y)
            if hold != "clone_of_view":
                assert again.data_ptr() != address
            del again
    assert_close(read(kept), expected)


def test_x_equals_f_of_x_alternates_between_two_buffers():
    f = _compiled()
    x = torch.randn(ROWS, COLS)
    expected = x
    addresses = []
    with torch.no_grad():
        for _ in range(6):
            x = f(x)
            expected = scaled_softmax(expected)
            addresses.append(x.data_ptr())
            assert_close(x, expected)
    assert len(set(addresses[1:])) == 2


def test_training_graphs_and_small_outputs_do_not_use_the_pool(tmp_path):
    x = torch.randn(ROWS, COLS, requires_grad=True)
    with coil.config.patch(debug_dir=str(tmp_path)):
        out = _compiled()(x)
        out.sum().backward()
        torch._dynamo.reset()
        with torch.no_grad():
            _compiled()(torch.randn(8, 8))
    sources = _host_sources(tmp_path)
    assert len(sources) == 3  # forward, backward, small inference
    assert not any("output_pool.take" in s for s in sources)
    assert_close(x.grad, torch.zeros_like(x), atol=1e-5, rtol=0)  # softmax rows sum to 1


def test_the_pool_can_be_turned_off(tmp_path):
    with coil.config.patch(debug_dir=str(tmp_path), cpu_output_pool=False), torch.no_grad():
        _compiled()(torch.randn(ROWS, COLS))
    (source,) = _host_sources(tmp_path)
    assert "output_pool" not in source and "empty_strided" in source


def test_an_inference_graph_takes_its_output_from_the_pool(tmp_path):
    with coil.config.patch(debug_dir=str(tmp_path)), torch.no_grad():
        _compiled()(torch.randn(ROWS, COLS))
    (source,) = _host_sources(tmp_path)
    assert f"output_pool.take(0, ({ROWS}, {COLS}), ({COLS}, 1), torch.float32)" in source


def test_symbolic_sizes_grow_and_shrink():
    f = _compiled(lambda x, b: F.layer_norm(x, (COLS,), None, b), dynamic=True)
    b = torch.randn(COLS)
    with torch.no_grad():
        for rows in (128, 300, 64, 300, 512):
            x = torch.randn(rows, COLS)
            assert_close(f(x, b), F.layer_norm(x, (COLS,), None, b))


def test_concurrent_callers_get_their_own_outputs():
    f = _compiled()
    inputs = [torch.randn(ROWS, COLS) for _ in range(4)]
    expected = [scaled_softmax(x) for x in inputs]
    with torch.no_grad():
        f(inputs[0])  # compile once, before the threads
    failures = []

    def worker(k):
        with torch.no_grad():
            for _ in range(20):
                out = f(inputs[k])
                if not torch.allclose(out, expected[k], atol=1e-6, rtol=1e-5):
                    failures.append(k)
                del out

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
