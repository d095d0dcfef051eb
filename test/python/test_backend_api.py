"""The torch.compile backend's contract: registration, options, metrics, debug
output, failure policy and symbolic sizes."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings

import pytest
import torch

import coil
from coil.frontend.lowering import LOWERINGS

aten = torch.ops.aten


@pytest.fixture(autouse=True)
def fresh_state():
    torch._dynamo.reset()
    coil.metrics.reset()
    yield
    torch._dynamo.reset()


def test_backend_registered_without_import():
    code = (
        "import sys, torch\n"
        "f = torch.compile(lambda x: torch.relu(x) * 2, backend='coil')\n"
        "x = torch.randn(16)\n"
        "torch.testing.assert_close(f(x), torch.relu(x) * 2)\n"
        "assert 'coil' in sys.modules\n"
        "import coil\n"
        "assert coil.metrics.snapshot()['kernels'] > 0\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "coil" in torch._dynamo.list_backends()


def test_explicit_api_and_metrics():
    f = coil.compile(lambda x, y: (x + y).sum(1))
    x, y = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(f(x, y), (x + y).sum(1))
    stats = coil.metrics.snapshot()
    # x + y is inlined into the row sum: one kernel (two with fusion off).
    assert stats["graphs"] == 1 and stats["kernels"] == 1 and stats["kernel_launches"] == 1
    assert stats["fallbacks"] == 0 and stats["fallback_ops"] == {}
    coil.metrics.reset()
    assert coil.metrics.snapshot()["kernels"] == 0
    g = torch.compile(lambda x: x.exp(), backend=coil.backend)
    torch.testing.assert_close(g(x), x.exp())


def test_fusion_can_be_turned_off():
    f = torch.compile(lambda x, y: (x + y).sum(1), backend="coil", options={"fusion": False})
    x, y = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(f(x, y), (x + y).sum(1))
    assert coil.metrics.snapshot()["kernels"] == 2


def test_options_are_validated():
    f = torch.compile(lambda x: x + 1, backend="coil", options={"no_such_option": 1})
    with pytest.raises(Exception, match="no_such_option"):
        f(torch.randn(3))


def test_debug_dir_writes_every_stage(tmp_path):
    f = torch.compile(lambda x: torch.softmax(x, -1), backend="coil", options={"debug_dir": str(tmp_path)})
    f(torch.randn(4, 8))
    (graph_dir,) = list(tmp_path.iterdir())
    names = sorted(p.name for p in graph_dir.iterdir())
    assert names == ["01_import.mlir", "02_simplify.mlir", "03_outline.mlir", "04_plan_memory.mlir", "fx_graph.py", "host.py"]
    assert '"coil.reduction"' in (graph_dir / "01_import.mlir").read_text()
    assert '"coil.launch"' in (graph_dir / "03_outline.mlir").read_text()
    assert "def call(args):" in (graph_dir / "host.py").read_text()


def test_host_program_drops_arguments_and_views_after_last_use(tmp_path):
    """A view keeps its root's storage alive, and so does the host's name for an
    argument (in a backward, the only reference to a saved activation once
    `args.clear()` ran): both are deleted with the root, at its last use."""
    import re

    def f(x, w):
        h = (x + 1).t() @ w  # a host view of an arg-sized buffer, then an extern matmul
        return (h.relu() * 2).sum(0)

    g = torch.compile(f, backend="coil", options={"debug_dir": str(tmp_path)})
    x, w = torch.randn(16, 8), torch.randn(16, 4)
    torch.testing.assert_close(g(x, w), f(x, w))
    (graph_dir,) = list(tmp_path.iterdir())
    lines = (graph_dir / "host.py").read_text().splitlines()
    deleted = {}
    for k, line in enumerate(lines):
        if line.strip().startswith("del "):
            for name in line.strip()[4:].split(", "):
                deleted[name] = k
    mm = next(k for k, line in enumerate(lines) if "aten.mm" in line)
    # Both arguments are dead after the matmul; their names go before the next launch.
    for arg in ("arg0", "arg1"):
        assert arg in deleted and deleted[arg] < len(lines) - 1, lines
    assert deleted["arg1"] == mm + 1, lines
    # Every view of a deleted buffer goes in the same statement as its root.
    for line in lines:
        view = re.match(r"\s*(buf\d+) = reinterpret\((\w+),", line)
        if view and view.group(2) in deleted:
            assert deleted.get(view.group(1)) == deleted[view.group(2)], (view.group(0), lines)


def test_host_program_makes_views_only_where_a_tensor_is_needed(tmp_path):
    """Kernels take data pointers: a view or reused buffer that only kernels read
    (or that has its root's own layout) is not made anew on every call; each
    `reinterpret` left is read by an extern call, a return or a symbolic view."""
    import re

    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.LayerNorm(32), torch.nn.Linear(32, 8))
    reference = copy.deepcopy(model)
    g = torch.compile(model, backend="coil", options={"debug_dir": str(tmp_path)})
    x = torch.randn(4, 6, 16)
    g(x).square().sum().backward()
    reference(x).square().sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
    sources = [p.read_text() for p in sorted(tmp_path.glob("graph_*/host.py"))]
    assert len(sources) == 2  # forward and backward
    launch = re.compile(r"\s*(fused|kernel)_\d+\(")
    views = 0
    for source in sources:
        lines = source.splitlines()
        for k, line in enumerate(lines):
            view = re.match(r"\s*(buf\d+) = reinterpret\(", line)
            if not view:
                continue
            views += 1
            name = re.compile(rf"\b{view.group(1)}\b")
            readers = [
                later for later in lines[k + 1 :]
                if name.search(later) and not later.strip().startswith("del ") and not launch.match(later)
            ]
            assert readers, f"{view.group(0)} is only launched or deleted:\n{source}"
    assert views  # the matmuls read transposed views of their operands


def _broken_sin(ctx, x):
    raise RuntimeError("planted failure")


def test_internal_failure_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setitem(LOWERINGS, aten.sin.default, _broken_sin)
    f = torch.compile(lambda x: torch.sin(x) + 1, backend="coil")
    x = torch.randn(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(x)
    torch.testing.assert_close(out, torch.sin(x) + 1)
    ours = [w for w in caught if "coil" in str(w.message)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "aten.sin.default" in message and "sin" in message and "planted failure" in message
    stats = coil.metrics.snapshot()
    assert stats["fallbacks"] == 1 and stats["fallback_ops"] == {"aten.sin.default": 1}
    assert stats["kernels"] == 0


def test_strict_mode_raises_naming_the_node(monkeypatch):
    monkeypatch.setitem(LOWERINGS, aten.sin.default, _broken_sin)
    f = torch.compile(lambda x: torch.sin(x) + 1, backend="coil", options={"strict": True})
    with pytest.raises(Exception, match=r"FX node 'sin'.*aten\.sin\.default"):
        f(torch.randn(8))


def test_unsupported_op_becomes_extern_call():
    f = torch.compile(lambda a, b: torch.relu(a @ b), backend="coil", options={"strict": True})
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    torch.testing.assert_close(f(a, b), torch.relu(a @ b))
    stats = coil.metrics.snapshot()
    assert stats["extern_ops"] == {"aten.mm.default": 1}
    assert stats["extern_calls"] == 1 and stats["kernel_launches"] == 1


def test_symbolic_sizes_compile_once():
    from torch._dynamo.testing import CompileCounterWithBackend

    counter = CompileCounterWithBackend("coil")
    f = torch.compile(lambda x: torch.softmax(x * 2, dim=-1), backend=counter, dynamic=True)
    for rows in (3, 5, 9, 5):
        x = torch.randn(rows, 16)
        torch.testing.assert_close(f(x), torch.softmax(x * 2, dim=-1))
    assert counter.frame_count == 1  # one Dynamo graph serves every size
    stats = coil.metrics.snapshot()
    assert stats["graphs"] == 1 and stats["specialized_graphs"] == 0  # and one coil program, sizes as arguments
    assert stats["fallbacks"] == 0


def test_recompile_after_size_change_uses_symbolic_graph():
    f = torch.compile(lambda x: (x.exp() + 1).sum(0), backend="coil")
    for rows in (4, 6, 8):
        x = torch.randn(rows, 3)
        torch.testing.assert_close(f(x), (x.exp() + 1).sum(0))
    assert coil.metrics.snapshot()["fallbacks"] == 0
    assert coil.metrics.snapshot()["kernel_launches"] >= 3


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_option_runs_and_matches(threads):
    f = torch.compile(lambda x: (x * 3).sum(-1), backend="coil", options={"threads": threads})
    x = torch.randn(512, 1024)
    # Rows of 1024 floats: compare with a float64 reference, since eager's own
    # float32 summation order differs from coil's as much as from the exact sum.
    torch.testing.assert_close(f(x).double(), (x.double() * 3).sum(-1), rtol=1e-5, atol=1e-4)
    assert coil.metrics.snapshot()["kernel_launches"] == 1  # x * 3 fused into the row sum
