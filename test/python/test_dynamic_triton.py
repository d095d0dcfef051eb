"""Triton kernels over symbolic sizes (.scratch/dynamic.md, the GPU backend's part).

On the CPU: every kernel of test/lit/triton/dynamic*.mlir, under its default
config, the other reduction form and every autotuning candidate, compiles to
a cubin for sm_90 (`GPUTarget("cuda", 90, 32)`); the launch interface (grid
expressions over the index arguments, open strides passed after the
pointer, empty grids skipped) is checked with a stand-in for Triton's
launcher. On a GPU: the kernels run through `runtime.compile_gpu_kernels`
at several sizes, one compiled kernel for all of them, against torch.
"""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

triton = pytest.importorskip("triton")

import torch  # noqa: E402
from test_triton_ttir import check_compiles, variants  # noqa: E402

from coil.backends.triton import runtime  # noqa: E402
from coil.backends.triton.emit import (  # noqa: E402
    TritonConfig,
    TritonLoweringError,
    candidate_configs,
    default_config,
    emit_kernel,
    kernel_functions,
)
from coil.dialects import make_context  # noqa: E402
from coil.mlir import ir  # noqa: E402

LIT_DIR = pathlib.Path(__file__).resolve().parents[1] / "lit" / "triton"
DYNAMIC = -9223372036854775808


def _chunks():
    for path in sorted(LIT_DIR.glob("dynamic*.mlir")):
        for i, chunk in enumerate(path.read_text().split("\n// -----\n")):
            if "coil.kernel" in chunk:
                yield pytest.param(chunk, id=f"{path.stem}-{i}")


def _module(text: str):
    context = make_context()
    with context:
        return ir.Module.parse(text, context)


def _all_kernels() -> dict:
    """Every kernel function of the dynamic lit inputs, by name, in one module."""
    text = "\n".join(chunk.values[0] for chunk in _chunks())
    module = _module(text)
    return module, {fn.attributes["sym_name"].value: fn for fn in kernel_functions(module.operation)}


@pytest.mark.parametrize("text", list(_chunks()))
def test_dynamic_kernels_compile(text):
    """Default config, the other reduction form and every candidate: each compiles to a cubin."""
    module = _module(text)
    with module.context:
        kernels = []
        for fn in kernel_functions(module.operation):
            candidates = candidate_configs(fn)
            assert candidates[0] == default_config(fn) and len(set(candidates)) == len(candidates) <= 6
            kernels += [emit_kernel(fn, c) for c in candidates + variants(fn)]
        for k in kernels:
            assert k.index_bits == 64, k.name
            assert k.grid_fn is not None or all(isinstance(g, int) for g in k.grid)
        check_compiles(kernels)


# ---------------------------------------------------------------------------
# real graphs, traced with symbolic sizes (frontend.trace_to_coil(dynamic=True))

GRAPHS = {
    "pointwise": (lambda x, b: torch.sigmoid(x * 2.0 + b) - torch.tanh(x), torch.randn(8, 24), torch.randn(24)),
    "reductions": (lambda x: (torch.softmax(x, -1), x.sum(-1), x.amax(0), x.var(-1), x.mean()), torch.randn(6, 11)),
    "layer_norm": (lambda x: torch.nn.functional.layer_norm(x, (32,)) * 2, torch.randn(2, 5, 32)),
    "views": (
        lambda x, y: (
            x.reshape(-1).sum() + x.transpose(0, 1).contiguous().view(x.shape[1], -1).sum(0).sum(),
            torch.cat([x[1:], y], 0),
            x[:, :3].unsqueeze(0).expand(2, -1, -1) * 3,
        ),
        torch.randn(6, 9),
        torch.randn(2, 9),
    ),
    "transpose": (lambda a: a.t() * 2 + 1, torch.randn(5, 7)),
    "attention": (lambda q, k: torch.softmax(q @ k.transpose(-1, -2) / 8.0, -1), torch.randn(2, 6, 16), torch.randn(2, 6, 16)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_dynamic_graph_kernels_compile(name):
    """The kernels compile_fx outlines from a symbolic graph: every candidate compiles, sizes are launch-time."""
    from coil.compile_fx import FUSED_OUTLINE_PIPELINE, FUSED_SIMPLIFY_PIPELINE, PLAN_PIPELINE
    from coil.frontend.trace import trace_to_coil
    from coil.passes.registry import build_pass_manager

    fn, *inputs = GRAPHS[name]
    graph = trace_to_coil(fn, *inputs, dynamic=True)
    with graph.context:
        for pipeline in (FUSED_SIMPLIFY_PIPELINE, FUSED_OUTLINE_PIPELINE, PLAN_PIPELINE):
            build_pass_manager(pipeline).run(graph.module.operation)
        kernels = []
        for f in kernel_functions(graph.module.operation):
            kernels += [emit_kernel(f, c) for c in candidate_configs(f)]
    assert any(k.grid_fn is not None for k in kernels), "no kernel over a symbolic range"
    check_compiles(kernels)


# ---------------------------------------------------------------------------
# the emitter's interface


def test_symbolic_reductions_are_persistent_only_under_a_launch_bound():
    """Without a call's bound a symbolic reduction range is looped; with ("rnumel", 2^k), the
    bound covers the call's range, the static heuristics pick the config (persistent where they
    would be) and the reduction lanes stay masked against the runtime size."""
    module, fns = _all_kernels()
    with module.context:
        for name in ("row_sum", "softmax", "col_sum", "col_max"):
            fn = fns[name]
            assert not default_config(fn).persistent, name
            assert not any(c.persistent for c in candidate_configs(fn)), name
            forced = emit_kernel(fn, TritonConfig(xblock=1, rblock=4096, num_warps=8, persistent=True))
            assert not forced.config.persistent and "scf.for" in forced.ttir, name
        # A static reduction range over symbolic rows may stay persistent.
        assert default_config(fns["mean_rows"]).persistent
        for s1, persistent, rblock in ((5, True, 8), (128, True, 128), (1000, True, 1024), (4096, False, 2048), (10**6, False, 2048)):
            args = [torch.empty(7, device="meta"), torch.empty(7, s1, device="meta"), 7, s1]
            hints = emit_kernel(fns["row_sum"]).hint_fn(*args)
            kernel = emit_kernel(fns["row_sum"], hints=hints)
            assert (kernel.config.persistent, kernel.config.rblock) == (persistent, rblock), s1
            if persistent:
                assert "scf.for" not in kernel.ttir and "tt.splat %arg3 : i64" in kernel.ttir  # the r mask: r < s1
                # The launch bound is a power of two covering the size: a wrong one is never made persistent.
                assert kernel.config.rblock >= s1
            check_compiles([kernel, emit_kernel(fns["softmax"], hints=hints)])
        # A persistent config asked for above the last bucket is looped.
        huge = frozenset({("rnumel", 1 << 17)})
        forced = emit_kernel(fns["row_sum"], TritonConfig(xblock=1, rblock=4096, num_warps=8, persistent=True), hints=huge)
        assert not forced.config.persistent
        assert all(not c.persistent for c in candidate_configs(fns["softmax"], huge))
        assert any(c.persistent for c in candidate_configs(fns["softmax"], frozenset({("rnumel", 256)})))
        for name in ("row_sum", "softmax", "col_sum", "col_max"):
            fn = fns[name]
            assert not default_config(fn).persistent, name
            assert not any(c.persistent for c in candidate_configs(fn)), name
            forced = emit_kernel(fn, TritonConfig(xblock=1, rblock=4096, num_warps=8, persistent=True))
            assert not forced.config.persistent and "scf.for" in forced.ttir, name
        # A static reduction range over symbolic rows may stay persistent.
        assert default_config(fns["mean_rows"]).persistent


def test_params_and_grid_expressions():
    module, fns = _all_kernels()
    with module.context:
        square = emit_kernel(fns["square"])
        assert square.params == [("arg", 0), ("arg", 1), ("arg", 2)] and not square.expands_args
        assert square.grid == ("cdiv(arg2 * 64, 1024)", "1", "1")
        assert square.launch_grid([None, None, 0]) == (0, 1, 1)
        assert square.launch_grid([None, None, 17]) == (2, 1, 1)  # 17 * 64 = 1088 points

        add = emit_kernel(fns["transpose_add"])
        assert add.params == [
            ("arg", 0), ("stride", 0, 0), ("arg", 1), ("stride", 1, 0), ("stride", 1, 1), ("arg", 2), ("arg", 3), ("arg", 4)
        ]
        assert add.expands_args
        assert add.launch_grid([None] * 3 + [3, 1000]) == (3, 1, 1)

        row_sum = emit_kernel(fns["row_sum"])
        assert row_sum.launch_grid([None, None, 7, 100000]) == (7, 1, 1)
        # A static output range keeps a static grid, whatever the reduction range.
        assert emit_kernel(fns["col_sum"]).grid == (2, 1, 1)
        # A derived size computed before the loop nest (s0 * s1) is evaluated at launch.
        flatten = emit_kernel(fns["flatten"])
        assert flatten.launch_grid([None, None, 0, 40, 30]) == (2, 1, 1)

        with pytest.raises(TritonLoweringError, match="exceeds CUDA's limits"):
            row_sum.launch_grid([None, None, 1 << 31, 1])


def test_derived_sizes_and_prelude_arith():
    """Sizes computed before the nest with floordivsi / ceildivsi / maxsi: the grid evaluates them exactly."""
    text = """
    func.func @k(%out: memref<?xf32>, %x: memref<?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
      %c1 = arith.constant 1 : index
      %c3 = arith.constant 3 : index
      %a = arith.subi %s0, %c1 : index
      %b = arith.ceildivsi %a, %c3 : index
      %c = arith.floordivsi %s1, %c3 : index
      %n = arith.maxsi %b, %c : index
      "coil.loop_nest"(%n) ({
      ^bb0(%i: index):
        %v = "coil.load"(%x, %i) : (memref<?xf32>, index) -> f32
        "coil.store"(%v, %out, %i) : (f32, memref<?xf32>, index) -> ()
        "coil.yield"() : () -> ()
      }) {ranges = [-9223372036854775808], reduction_ranges = []} : (index) -> ()
      return
    }
    """
    module = _module(text)
    with module.context:
        (fn,) = kernel_functions(module.operation)
        kernel = emit_kernel(fn, TritonConfig(xblock=4, num_warps=1))
        for s0, s1 in ((1, 0), (10, 2), (2, 100), (101, 7)):
            n = max(-(-(s0 - 1) // 3), s1 // 3)
            assert kernel.launch_grid([None, None, s0, s1]) == (-(-n // 4), 1, 1)
        check_compiles([kernel])


def test_two_d_tiling_is_refused_for_symbolic_sizes():
    module, fns = _all_kernels()
    with module.context:
        with pytest.raises(TritonLoweringError, match="yblock must be 1"):
            emit_kernel(fns["transpose_add"], TritonConfig(xblock=32, yblock=32))


def _specialized(fn, args):
    kernel = emit_kernel(fn)
    hints = kernel.hint_fn(*args)
    return hints, emit_kernel(fn, hints=hints)


def test_launch_hints_specialize_like_tritons_jit():
    """Sizes and strides divisible by 16 get tt.divisibility; a stride of 1 or one equal to the
    loop's row-major stride (or to a size argument) is replaced, so offsets merge into the flat index."""
    module, fns = _all_kernels()
    with module.context:
        out, a, b = torch.empty(32, 64), torch.empty(32, 64), torch.empty(64)
        hints, kernel = _specialized(fns["transpose_add"], [out, a, b, 32, 64])
        assert ("div16", ("arg", 3)) in hints and ("div16", ("arg", 4)) in hints
        assert ("one", 1, 1) in hints and ("eq", 0, 0, 0) in hints and ("eq", 1, 0, 0) in hints
        assert "%arg3: i64 {tt.divisibility = 16 : i32}" in kernel.ttir
        # out and a are read at the flat index (no row division left); b[j] keeps x % s1.
        assert "divsi" not in kernel.ttir and kernel.ttir.count("arith.remsi") == 1
        # A transposed view: its strides are (1, 32), not the loop's; only what holds is used.
        hints, kernel = _specialized(fns["transpose_add"], [out, torch.empty(64, 32).t(), b, 32, 64])
        assert ("one", 1, 0) in hints and ("eq", 1, 0, 0) not in hints
        assert "arith.divsi" in kernel.ttir
        # Odd sizes: no divisibility, the equalities still hold.
        hints, kernel = _specialized(fns["transpose_add"], [torch.empty(3, 5), torch.empty(3, 5), torch.empty(5), 3, 5])
        assert not any(h[0] == "div16" for h in hints) and ("eq", 0, 0, 0) in hints
        # A row reduction's row base: stride0 == s1, divisible by 16.
        hints, kernel = _specialized(fns["row_sum"], [torch.empty(8), torch.empty(8, 4096), 8, 4096])
        assert hints == {("div16", ("arg", 3)), ("div16", ("stride", 1, 0)), ("eq", 1, 0, 0), ("rnumel", 4096)}
        assert "arith.muli %arg3, %" in kernel.ttir and "%arg1_stride0, %" not in kernel.ttir
        # A flatten (d0 floordiv s1, d0 mod s1) of a contiguous input: the row stride equals s1.
        hints, kernel = _specialized(fns["flatten"], [torch.empty(12), torch.empty(3, 4), 0, 3, 4])
        assert ("eq", 1, 0, 2) in hints and "divsi" not in kernel.ttir
        check_compiles([kernel] + [_specialized(fns[n], args)[1] for n, args in (
            ("transpose_add", [out, a, b, 32, 64]),
            ("row_sum", [torch.empty(8), torch.empty(8, 4096), 8, 4096]),
            ("col_max", [torch.empty(64), torch.empty(32, 64), 32, 64]),
            ("softmax", [torch.empty(32, 64), torch.empty(32, 64), 32, 64]),
        )])
        # Static kernels have no hints.
        assert emit_kernel(fns["col_sum"]).hint_fn is None or emit_kernel(fns["col_sum"]).grid_fn is None


class _FakeCompiled:
    """Triton's CompiledKernel as `_Launch` uses it: `compiled[grid](*args)`."""

    def __init__(self):
        self.calls = []

    def __getitem__(self, grid):
        return lambda *args: self.calls.append((tuple(grid), args))


def test_launch_expands_strides_and_computes_the_grid():
    module, fns = _all_kernels()
    with module.context:
        kernel = emit_kernel(fns["transpose_add"])
    compiled = _FakeCompiled()
    launch = runtime._Launch(kernel, compiled)
    out, b = torch.empty(3, 1000), torch.empty(1000)
    a = torch.empty(1000, 3).t()  # strides (1, 3)
    launch([out, a, b, 3, 1000])
    ((grid, args),) = compiled.calls
    assert grid == (3, 1, 1)
    assert args == (out, 1000, a, 1, 3, b, 3, 1000)
    # An empty size launches nothing.
    launch([torch.empty(0, 1000), torch.empty(1000, 0).t(), b, 0, 1000])
    assert len(compiled.calls) == 1


def test_gpu_kernel_specializes_per_call_without_a_gpu(monkeypatch):
    """GpuKernel's plumbing, Triton's compiler and launcher stubbed: each call's hints pick (and
    cache) a variant emitted for them, launched with the expanded arguments and the call's grid."""
    compiled = {}

    def fake_compile(ttir, target, num_warps):
        return compiled.setdefault(ttir, _FakeCompiled())

    monkeypatch.setattr(runtime, "compile_ttir", fake_compile)
    monkeypatch.setattr(runtime, "device_target", lambda device: None)
    module, fns = _all_kernels()
    with module.context:
        kernel = runtime.GpuKernel(module, fns["softmax"], torch.device("cpu"))
    for s0, s1 in ((8, 128), (3, 100), (8, 128), (2, 40000)):
        x, y = torch.empty(s0, s1), torch.empty(s0, s1)
        kernel(y, x, s0, s1)
    # One variant per distinct hint set (the repeated size reuses its own), plus the default.
    assert len(kernel.variants) == 4
    texts = [t for t, c in compiled.items() if c.calls]
    assert len(texts) == 3
    persistent = [t for t in texts if "scf.for" not in t]
    assert len(persistent) == 2  # rows of 128 and of 100 (both bucket 128, other hints); 40000: looped
    (calls,) = [c.calls for t, c in compiled.items() if "scf.for" in t and c.calls]
    ((grid, args),) = calls
    assert grid == (2, 1, 1) and args[1] == 40000 and args[3:] == (40000, 2, 40000)  # strides of y and x, s0, s1


# ---------------------------------------------------------------------------
# GPU numerics


def _cuda_or_skip() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the symbolic-size kernels run on the GPU machines")
    return torch.device("cuda")


@pytest.fixture(scope="module")
def gpu_kernels():
    device = _cuda_or_skip()
    module, _ = _all_kernels()
    with module.context:
        kernels = runtime.compile_gpu_kernels(module, device)
    return module, kernels, device


SIZES = [(1, 1), (3, 5), (17, 1000), (64, 3000), (5, 70000), (1000, 3)]


def _close(actual, expected, **kw):
    torch.testing.assert_close(actual, expected, **kw)


def test_gpu_pointwise(gpu_kernels):
    _, k, dev = gpu_kernels
    for s0, _ in SIZES + [(0, 0), (40000, 0)]:
        x = torch.randn(s0, 64, device=dev)
        out = torch.empty_like(x)
        k["square"](out, x, s0)
        _close(out, x * x)
        out = torch.empty_like(x)
        k["tiny_block"](out, x, s0)
        _close(out, x)


def test_gpu_strided_and_offset_views(gpu_kernels):
    """Open strides come from the actual tensors; a view's offset is in its pointer (unaligned too)."""
    _, k, dev = gpu_kernels
    for s0, s1 in SIZES + [(0, 4)]:
        base = torch.randn(s1 + 1, s0 + 2, device=dev)
        a = base[1:, 2:].t()  # [s0, s1], strides (1, s0 + 2), storage offset s0 + 4
        b = torch.randn(s1, device=dev)
        out = torch.empty(s0, s1, device=dev)
        k["transpose_add"](out, a, b, s0, s1)
        _close(out, a + b)
        flat = torch.empty(s0 * s1, device=dev)
        k["flatten"](flat, a, 0, s0, s1)
        _close(flat, a.reshape(-1))


def test_gpu_slice_tail(gpu_kernels):
    _, k, dev = gpu_kernels
    for s0, s1 in ((1, 3), (4, 7), (100, 1000)):
        x = torch.randn(s0 + 1, s1, device=dev)  # the floordiv term reads row i + (s1 - 3 + j) // s1 = i
        out = torch.empty(s0, 3, device=dev)
        k["slice_tail"](out, x, s0, s1)
        _close(out, x[:s0, s1 - 3 :])


def test_gpu_row_reductions(gpu_kernels):
    _, k, dev = gpu_kernels
    for s0, s1 in SIZES + [(4, 0)]:
        x = torch.randn(s0, s1, device=dev)
        out = torch.empty(s0, device=dev)
        k["row_sum"](out, x, s0, s1)
        _close(out, x.sum(1), atol=1e-4 * max(s1, 1) ** 0.5, rtol=1e-4)
        y = torch.empty_like(x)
        k["softmax"](y, x, s0, s1)
        _close(y, torch.softmax(x, 1))
    for s0 in (1, 9, 1000):
        x = torch.randn(s0, 128, device=dev)
        out = torch.empty(s0, device=dev)
        k["mean_rows"](out, x, s0)
        _close(out, x.mean(1))


def test_gpu_column_reductions(gpu_kernels):
    _, k, dev = gpu_kernels
    for s0, s1 in SIZES:
        x = torch.randn(s0, 64, device=dev)
        out = torch.empty(64, device=dev)
        k["col_sum"](out, x, s0)
        _close(out, x.sum(0), atol=1e-4 * s0 ** 0.5, rtol=1e-4)
        x = torch.randn(s0, s1, device=dev)
        out = torch.empty(s1, device=dev)
        k["col_max"](out, x, s0, s1)
        _close(out, x.amax(0))


def test_gpu_autotune_serves_every_size(tmp_path, monkeypatch):
    """Autotuning times the candidates at the first call's sizes; the winner is right at others."""
    device = _cuda_or_skip()
    monkeypatch.setenv("COIL_CACHE_DIR", str(tmp_path))
    module, fns = _all_kernels()
    with module.context:
        tuned = runtime.GpuKernel(module, fns["softmax"], device, autotune=True)
    for s0, s1 in ((64, 3000), (3, 5), (17, 70000)):
        x = torch.randn(s0, s1, device=device)
        y = torch.empty_like(x)
        tuned(y, x, s0, s1)
        _close(y, torch.softmax(x, 1))
    # Tuned once per reduction-size bucket: 4096, 8, 131072 (everything above 65536).
    assert set(tuned.tuned_for) == {("rnumel", 4096), ("rnumel", 8), ("rnumel", 1 << 17)}
    assert not tuned.tuned_for[("rnumel", 1 << 17)].persistent
    assert dataclasses.asdict(tuned.tuned)
