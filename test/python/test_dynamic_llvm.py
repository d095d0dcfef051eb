"""Symbolic sizes on the CPU backend: one compiled program, run at many sizes.

The module is written by hand in the outlined form of the dynamic-shape
contract (.scratch/dynamic.md, stage 3): a host @graph taking `index`
arguments for Dynamo's symbols, deriving sizes with arith ops, allocating
`?`-sized buffers, and kernels over `?` memrefs whose `coil.loop_nest` ranges
are given by `sizes` operands. Kernels compile once (compile_cpu_kernels) and
the host program (HostCodegen) binds the symbols from its inputs at each call.
"""

from __future__ import annotations

import pytest
import torch

from coil.backends.host_codegen import HostCodegen, OutputBinding, build_host_program
from coil.backends.llvm import jit
from coil.backends.llvm.jit import KernelArgumentError, compile_cpu_kernels
from coil.dialects import make_context
from coil.mlir import ir

DYN = -9223372036854775808

# Placeholders: 0 = s0 (a SymInt), 1 = x f32[s0, s1], 2 = xt f32[s1, s0] (a
# transposed view, strides (1, s1)), 3 = b f32[s1]. s1 is no placeholder: the
# host reads it from x.size(1) (host argument 4, added after the inputs).
#
# Outputs:
#   0: x * 2 + b                    2-D pointwise, symbolic inner dim (vector remainder)
#   1: sum(x, 1)                    row reduction over a symbolic range
#   2: var(x, 1) (welford, biased)  two reduction loops, count from the sizes
#   3: xt + 1                       transposed (strided) input, into a reused buffer
#   4: x.flatten() * 3              derived size s0 * s1, semi-affine index math
#   5: sum(x, 0)                    column reduction (reduction over the outer dim)
#   6: (x * 2 + b).t()              a host view with symbolic sizes
#   7: argmax(x, 1)                 a reduction position over a symbolic range
MODULE = f"""
module {{
func.func @graph(%s0: index {{coil.symbol = "s0", coil.size_hint = 8 : i64}},
                 %x: memref<?x?xf32>, %xt: memref<?x?xf32, strided<[1, ?]>>, %b: memref<?xf32>,
                 %s1: index {{coil.symbol = "s1", coil.size_hint = 16 : i64}})
    -> (memref<?x?xf32>, memref<?xf32>, memref<?xf32>, memref<?x?xf32>, memref<?xf32>, memref<?xf32>,
        memref<?x?xf32, strided<[1, ?]>>, memref<?xi64>)
    attributes {{coil.host, coil.device = "cpu"}} {{
  %n = arith.muli %s0, %s1 : index
  %o0 = "coil.alloc"(%s0, %s1) {{device = "cpu"}} : (index, index) -> memref<?x?xf32>
  "coil.launch"() ({{
    "coil.arg"(%o0) : (memref<?x?xf32>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%b) : (memref<?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @scale_bias}} : () -> ()
  %o1 = "coil.alloc"(%s0) {{device = "cpu"}} : (index) -> memref<?xf32>
  %o2 = "coil.alloc"(%s0) {{device = "cpu"}} : (index) -> memref<?xf32>
  "coil.launch"() ({{
    "coil.arg"(%o1) : (memref<?xf32>) -> ()
    "coil.arg"(%o2) : (memref<?xf32>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @row_stats}} : () -> ()
  %tmp = "coil.alloc"(%s0, %s1) {{device = "cpu"}} : (index, index) -> memref<?x?xf32>
  "coil.launch"() ({{
    "coil.arg"(%tmp) : (memref<?x?xf32>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @copy}} : () -> ()
  %o3 = "coil.reuse"(%tmp, %s1, %s0) : (memref<?x?xf32>, index, index) -> memref<?x?xf32>
  "coil.launch"() ({{
    "coil.arg"(%o3) : (memref<?x?xf32>) -> ()
    "coil.arg"(%xt) : (memref<?x?xf32, strided<[1, ?]>>) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @add_one_strided}} : () -> ()
  %o4 = "coil.alloc"(%n) {{device = "cpu"}} : (index) -> memref<?xf32>
  "coil.launch"() ({{
    "coil.arg"(%o4) : (memref<?xf32>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%n) : (index) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @flatten}} : () -> ()
  %o5 = "coil.alloc"(%s1) {{device = "cpu"}} : (index) -> memref<?xf32>
  "coil.launch"() ({{
    "coil.arg"(%o5) : (memref<?xf32>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @col_sum}} : () -> ()
  %o6 = "coil.view"(%o0) {{map = affine_map<(d0, d1) -> (d1, d0)>}} : (memref<?x?xf32>) -> memref<?x?xf32, strided<[1, ?]>>
  %o7 = "coil.alloc"(%s0) {{device = "cpu"}} : (index) -> memref<?xi64>
  "coil.launch"() ({{
    "coil.arg"(%o7) : (memref<?xi64>) -> ()
    "coil.arg"(%x) : (memref<?x?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }}) {{kernel = @row_argmax}} : () -> ()
  return %o0, %o1, %o2, %o3, %o4, %o5, %o6, %o7
    : memref<?x?xf32>, memref<?xf32>, memref<?xf32>, memref<?x?xf32>, memref<?xf32>, memref<?xf32>,
      memref<?x?xf32, strided<[1, ?]>>, memref<?xi64>
}}

func.func @scale_bias(%out: memref<?x?xf32>, %x: memref<?x?xf32>, %b: memref<?xf32>, %s0: index, %s1: index)
    attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s0, %s1) ({{
  ^bb0(%i: index, %j: index):
    %two = arith.constant 2.0 : f32
    %a = "coil.load"(%x, %i, %j) : (memref<?x?xf32>, index, index) -> f32
    %c = "coil.load"(%b, %j) : (memref<?xf32>, index) -> f32
    %d = arith.mulf %a, %two : f32
    %e = arith.addf %d, %c : f32
    "coil.store"(%e, %out, %i, %j) : (f32, memref<?x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}, {DYN}], reduction_ranges = []}} : (index, index) -> ()
  return
}}

func.func @row_stats(%sum: memref<?xf32>, %var: memref<?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index)
    attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s0, %s1) ({{
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<?x?xf32>, index, index) -> f32
    %s = "coil.reduce"(%a) {{reduction_type = "sum"}} : (f32) -> f32
    %w:3 = "coil.reduce"(%a) {{reduction_type = "welford"}} : (f32) -> (f32, f32, f32)
    %v = arith.divf %w#1, %w#2 : f32
    "coil.store"(%s, %sum, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.store"(%v, %var, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}], reduction_ranges = [{DYN}]}} : (index, index) -> ()
  return
}}

func.func @copy(%out: memref<?x?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s0, %s1) ({{
  ^bb0(%i: index, %j: index):
    %a = "coil.load"(%x, %i, %j) : (memref<?x?xf32>, index, index) -> f32
    "coil.store"(%a, %out, %i, %j) : (f32, memref<?x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}, {DYN}], reduction_ranges = []}} : (index, index) -> ()
  return
}}

func.func @add_one_strided(%out: memref<?x?xf32>, %xt: memref<?x?xf32, strided<[1, ?]>>, %s1: index, %s0: index)
    attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s1, %s0) ({{
  ^bb0(%i: index, %j: index):
    %one = arith.constant 1.0 : f32
    %a = "coil.load"(%xt, %i, %j) : (memref<?x?xf32, strided<[1, ?]>>, index, index) -> f32
    %c = arith.addf %a, %one : f32
    "coil.store"(%c, %out, %i, %j) : (f32, memref<?x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}, {DYN}], reduction_ranges = []}} : (index, index) -> ()
  return
}}

func.func @flatten(%out: memref<?xf32>, %x: memref<?x?xf32>, %n: index, %s1: index) attributes {{coil.kernel}} {{
  "coil.loop_nest"(%n) ({{
  ^bb0(%k: index):
    %three = arith.constant 3.0 : f32
    %i = affine.apply affine_map<(d0)[s0] -> (d0 floordiv s0)>(%k)[%s1]
    %j = affine.apply affine_map<(d0)[s0] -> (d0 mod s0)>(%k)[%s1]
    %a = "coil.load"(%x, %i, %j) : (memref<?x?xf32>, index, index) -> f32
    %c = arith.mulf %a, %three : f32
    "coil.store"(%c, %out, %k) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}], reduction_ranges = []}} : (index) -> ()
  return
}}

func.func @col_sum(%out: memref<?xf32>, %x: memref<?x?xf32>, %s1: index, %s0: index) attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s1, %s0) ({{
  ^bb0(%j: index, %r: index):
    %a = "coil.load"(%x, %r, %j) : (memref<?x?xf32>, index, index) -> f32
    %s = "coil.reduce"(%a) {{reduction_type = "sum"}} : (f32) -> f32
    "coil.store"(%s, %out, %j) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}], reduction_ranges = [{DYN}]}} : (index, index) -> ()
  return
}}

func.func @row_argmax(%out: memref<?xi64>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {{coil.kernel}} {{
  "coil.loop_nest"(%s0, %s1) ({{
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<?x?xf32>, index, index) -> f32
    %m = "coil.reduce"(%a) {{reduction_type = "argmax"}} : (f32) -> i64
    "coil.store"(%m, %out, %i) : (i64, memref<?xi64>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}], reduction_ranges = [{DYN}]}} : (index, index) -> ()
  return
}}
}}
"""

TENSOR_ARGS = {1: 1, 2: 2, 3: 3}  # host argument -> placeholder
SYMBOL_ARGS = {0: ("input", 0), 4: ("size", 1, 1)}
N_OUTPUTS = 8


def build(threads: int | None = 1):
    """Compiles MODULE once: (call(args), host source, kernels)."""
    with make_context():
        module = ir.Module.parse(MODULE)
        kernels = compile_cpu_kernels(module, threads=threads, check=True)
        host = next(op for op in module.body.operations if "coil.host" in op.attributes)
        outputs = [OutputBinding("result", k) for k in range(N_OUTPUTS)]
        source = HostCodegen(host, "cpu", 4, TENSOR_ARGS, outputs, symbol_args=SYMBOL_ARGS).generate()
    call = build_host_program(source, kernels, "<coil test dynamic graph>", [None] * N_OUTPUTS)
    return call, source, kernels


def expected(s0: int, x, xt, b):
    return [
        x * 2 + b,
        x.sum(1),
        x.var(1, unbiased=False),
        xt + 1,
        x.flatten() * 3,
        x.sum(0),
        (x * 2 + b).t(),
        x.argmax(1),
    ]


def inputs(s0: int, s1: int):
    x = torch.randn(s0, s1)
    xt = torch.randn(s0, s1).t()  # [s1, s0], strides (1, s1)
    b = torch.randn(s1)
    return [s0, x, xt, b]


@pytest.fixture(scope="module")
def program():
    return build()


SIZES = [(1, 1), (1, 7), (5, 1), (3, 17), (8, 64), (2, 63), (33, 100), (7, 129)]


@pytest.mark.parametrize("s0,s1", SIZES)
def test_one_program_serves_every_size(program, s0, s1):
    call, _, _ = program
    args = inputs(s0, s1)
    want = expected(*args)
    got = call(list(args))
    assert len(got) == N_OUTPUTS
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {k}"
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4, msg=f"output {k}")
    # The transposed view shares the storage of output 0.
    assert got[6].data_ptr() == got[0].data_ptr() and got[6].stride() == (1, s1)


def test_host_program_binds_symbols(program):
    _, source, _ = program
    assert "s0 = arg0\n" in source
    assert "s1 = arg1.size(1)\n" in source
    assert "empty_strided((s0, s1), (s1, 1)," in source
    assert "size0 = s0 * s1" in source
    assert "flatten(buf" in source and ", size0, s1)" in source
    assert "reinterpret(buf" in source and "(s1, s0), (s0, 1), 0)  # reuse" in source


def test_kernels_compile_once_for_all_sizes():
    jit.clear_cache()
    call, _, kernels = build()
    compiled = jit.cache_stats().compiled
    for s0, s1 in SIZES[:4]:
        call(inputs(s0, s1))
    assert jit.cache_stats().compiled == compiled == len(kernels)


def test_dynamic_kernel_checks_arguments():
    _, _, kernels = build()
    x = torch.randn(4, 5)
    with pytest.raises(KernelArgumentError, match="dtype"):
        kernels["copy"](torch.empty(4, 5, dtype=torch.float64), x, 4, 5)
    with pytest.raises(KernelArgumentError, match="shape"):
        kernels["copy"](torch.empty(4, 5), torch.randn(4), 4, 5)


def test_parallel_slices_follow_the_runtime_sizes(monkeypatch):
    """Large launches split across threads by sizes known only at call time."""
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", 1)
    call, _, kernels = build(threads=4)
    assert kernels["scale_bias"].threads == 4
    for s0, s1 in [(1, 300), (3, 5), (130, 67), (257, 1)]:
        args = inputs(s0, s1)
        want = expected(*args)
        got = call(list(args))
        for k, (g, w) in enumerate(zip(got, want)):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4, msg=f"output {k} at {(s0, s1)}")


def test_column_reduction_with_symbolic_sizes_uses_tiles():
    """A sum over dim 0 keeps the column form (tiles of outputs) with symbolic ranges."""
    from coil.backends.llvm.lower_loops import kernel_functions, lower_kernel

    with make_context():
        module = ir.Module.parse(MODULE)
        fn = next(f for f in kernel_functions(module.operation) if f.attributes["sym_name"].value == "col_sum")
        lower_kernel(fn)
        text = str(fn)
    # (printed generically: the host's launches no longer match the lowered signature)
    assert "memref.alloca" in text and "-> memref<256xf32>" in text


def test_symint_outputs_are_computed_from_this_calls_sizes():
    """A SymInt the forward returns (a size saved for the backward) is this call's
    int, not the compile-time symbol."""
    import sympy
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    env = ShapeEnv()
    s0 = env.create_symintnode(sympy.Symbol("s0", integer=True, positive=True), hint=3)
    s1 = env.create_symintnode(sympy.Symbol("s1", integer=True, positive=True), hint=5)
    saved = [s0, s0 * s1 // 2 + 1]
    with make_context():
        module = ir.Module.parse(MODULE)
        kernels = compile_cpu_kernels(module, threads=1)
        host = next(op for op in module.body.operations if "coil.host" in op.attributes)
        outputs = [OutputBinding("result", 1), OutputBinding("value", value=saved[0]), OutputBinding("value", value=saved[1])]
        source = HostCodegen(host, "cpu", 4, TENSOR_ARGS, outputs, symbol_args=SYMBOL_ARGS).generate()
    call = build_host_program(source, kernels, "<coil test symint outputs>", [None, *saved])
    for s0_, s1_ in [(4, 9), (7, 2)]:
        total, a, b = call(inputs(s0_, s1_))
        assert (a, b) == (s0_, s0_ * s1_ // 2 + 1) and type(a) is int


def test_extent_computed_inside_the_kernel(monkeypatch):
    """A loop size the kernel derives itself (no argument to read it from) still
    bounds the loop: the runtime passes an open slice, the kernel clamps it."""
    monkeypatch.setattr(jit, "PARALLEL_MIN_WORK", 1)
    src = f"""
func.func @flat(%out: memref<?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {{coil.kernel}} {{
  %n = arith.muli %s0, %s1 : index
  "coil.loop_nest"(%n) ({{
  ^bb0(%k: index):
    %i = affine.apply affine_map<(d0)[s0] -> (d0 floordiv s0)>(%k)[%s1]
    %j = affine.apply affine_map<(d0)[s0] -> (d0 mod s0)>(%k)[%s1]
    %a = "coil.load"(%x, %i, %j) : (memref<?x?xf32>, index, index) -> f32
    "coil.store"(%a, %out, %k) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{DYN}], reduction_ranges = []}} : (index) -> ()
  return
}}"""
    kernel = compile_cpu_kernels(src, threads=4, check=True)["flat"]
    for s0, s1 in [(1, 1), (3, 7), (40, 33)]:
        x = torch.randn(s0, s1)
        out = torch.full((s0 * s1 + 5,), -1.0)
        kernel(out[: s0 * s1], x, s0, s1)
        torch.testing.assert_close(out[: s0 * s1], x.flatten())
        assert (out[s0 * s1 :] == -1).all()
