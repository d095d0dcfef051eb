"""Combo kernels: adjacent independent pointwise launches run as one GPU launch.

coil-combine-kernels (passes/combine_kernels.py) groups them into a
`coil.combo` kernel; the Triton backend gives each loop nest its own range of
program ids. The TTIR is compiled for sm_90 on the CPU; the numerics run where
a GPU is present.
"""

from __future__ import annotations

import pytest
import torch

triton = pytest.importorskip("triton")

import coil  # noqa: E402
from coil import metrics  # noqa: E402
from coil.backends.triton.emit import ComboConfig, emit_kernel, kernel_functions  # noqa: E402
from coil.passes.registry import build_pass_manager  # noqa: E402

from test_llvm_backend import _adamw  # noqa: E402  (torch.optim.AdamW's arithmetic, in place on the lists)
from test_triton_ttir import _load_store_lines, check_compiles, outlined, run_graph_on_cpu  # noqa: E402

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: GPU numerics run on a GPU machine")


def _scale_each(a0, a1, b, c0, c1, step):
    """Parameters of three shapes, all scaled by one 0-d step (an optimizer's pattern)."""
    return a0 * step + 1, a1 * step - 1, b * step, c0 / step, c1.exp() * step


def _combined(n: int):
    inputs = [torch.randn(n, n), torch.randn(n, n), torch.randn(4 * n, n), torch.randn(n), torch.randn(n), torch.tensor(3.0)]
    graph = outlined(_scale_each, *inputs)
    with graph.context:
        build_pass_manager("builtin.module(coil-combine-kernels)").run(graph.module.operation)
    return graph


def _launches(graph) -> list[str]:
    host = next(op for op in graph.module.body.operations if "coil.host" in op.attributes)
    return [op.attributes["kernel"].value for op in host.regions[0].blocks[0].operations if op.operation.name == "coil.launch"]


def test_independent_launches_become_one_combo_that_compiles():
    graph = _combined(64)
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        assert "coil.combo" in kernel.attributes
        nests = [op for op in kernel.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest"]
        # The two 64x64 scalings fused horizontally (they share the step), as did the two vectors.
        assert len(nests) == 3, str(kernel)
        assert _launches(graph) == [kernel.attributes["sym_name"].value]
        emitted = emit_kernel(kernel)
        assert isinstance(emitted.config, ComboConfig) and len(emitted.config.parts) == 3
        # 4096 points in 1024-element blocks, 16384 likewise, 64 in one block.
        assert emitted.grid == (4 + 16 + 1, 1, 1), emitted.grid
        assert emitted.ttir.count("tt.call @") == 3 and emitted.ttir.count("tt.get_program_id") == 1
        check_compiles([emitted])
        named = emit_kernel(kernel, profile_names=True)
        assert "tt.func public @coil_combo_" in named.ttir and "tt.call @combo_" in named.ttir


def test_combo_matches_eager_on_the_cpu():
    """The combo kernel (its parts dispatched on ranges of program ids), run on the CPU
    by `ttir_eval`, gives eager's five results."""
    torch.manual_seed(0)
    n = 32
    inputs = [torch.randn(n, n), torch.randn(n, n), torch.randn(4 * n, n), torch.randn(n), torch.randn(n), torch.tensor(3.0)]
    graph = outlined(_scale_each, *inputs)
    with graph.context:
        build_pass_manager("builtin.module(coil-combine-kernels)").run(graph.module.operation)
    outs, kernels = run_graph_on_cpu(graph, inputs)
    assert len(kernels) == 1 and "tt.call @" in kernels[0].ttir
    for out, expected in zip(outs, _scale_each(*inputs), strict=True):
        torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("n, loads_first", [(64, True), (1024, False)])
def test_a_small_part_issues_its_loads_first_only_in_a_small_combo(n, loads_first):
    """In a combo of few programs, the one-program vector part loads both vectors before
    its first store (`_loads_first`); beside a large part, whose programs hide its
    latency and whose occupancy its registers would cut, it keeps the body's order."""
    graph = _combined(n)
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        nests = [op for op in kernel.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest"]
        (k,) = [k for k, nest in enumerate(nests) if len(nest.attributes["ranges"]) == 1]
        emitted = emit_kernel(kernel)
    name = kernel.attributes["sym_name"].value
    vector = emitted.ttir.split(f"tt.func private @{name}_part{k}(")[1].split("tt.return")[0]
    assert vector.count("tt.store") == 2, vector
    loads, stores = _load_store_lines(vector)
    assert (max(loads) < min(stores)) == loads_first, vector
    check_compiles([emitted])


@requires_cuda
@pytest.mark.parametrize("combo", [True, False], ids=["combo", "separate"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_adamw_over_three_shapes_is_one_launch_matching_eager(dtype, combo):
    """Three groups of parameters (matrices, a taller matrix, vectors): one launch a step
    with combo kernels, three without, the same state as eager either way."""
    shapes = [(256, 256)] * 3 + [(1024, 256)] + [(256,)] * 2

    def state():
        torch.manual_seed(0)
        make = lambda s: torch.randn(*s, device="cuda", dtype=dtype)  # noqa: E731
        return ([make(s) for s in shapes], [make(s) for s in shapes], [make(s) for s in shapes],
                [make(s).abs() for s in shapes], torch.tensor(3.0, device="cuda"))

    expected, actual = state(), state()
    torch._dynamo.reset()
    metrics.reset()
    with coil.config.patch(strict=True, combo_kernels=combo):
        compiled = torch.compile(_adamw, backend="coil")
        for _ in range(2):
            _adamw(*expected)
            compiled(*actual)
    stats = metrics.snapshot()
    assert stats["fallbacks"] == 0 and stats["extern_calls"] == 0, stats
    assert stats["kernel_launches"] == (2 if combo else 6), stats
    for want, got in zip(expected[:4], actual[:4]):
        for w, g in zip(want, got):
            torch.testing.assert_close(g, w)
