"""The TTIR emitter's output compiles to a cubin, on CPU, for sm_90.

Every kernel of the lit inputs (test/lit/triton) and of a set of real graphs
(traced, fused and outlined as compile_fx does) is emitted with its default
config and, for reductions, also in looped form; each unique TTIR text is
compiled once with `triton.compile(..., target=GPUTarget("cuda", 90, 32))`.
Compiling needs no GPU; running the kernels is the GPU numerics suite's job.

Set COIL_TRITON_PYTHONS to extra interpreters (colon-separated) with another
Triton installed (the GPU machines run 3.6) to compile the same texts there.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

triton = pytest.importorskip("triton")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

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
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

_compiled: dict[str, str | None] = {}  # TTIR text -> None (ok) or the error


def compile_ttir(text: str, num_warps: int) -> str | None:
    """None when `text` compiles to a cubin, else the error (each text compiled once)."""
    if text in _compiled:
        return _compiled[text]
    from triton.backends.compiler import GPUTarget

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernel.ttir")
        with open(path, "w") as f:
            f.write(text)
        try:
            kernel = triton.compile(path, target=GPUTarget("cuda", 90, 32), options={"num_warps": num_warps})
            error = None if kernel.asm.get("cubin") else "no cubin"
        except Exception as exc:  # noqa: BLE001 - report what Triton said
            error = f"{type(exc).__name__}: {exc}"
    _compiled[text] = error
    return error


def variants(fn) -> list[TritonConfig | None]:
    """The default config, and for reductions the other form (looped or persistent)."""
    default = default_config(fn)
    configs = [None]
    loop_nest = next(op for op in fn.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest")
    if len(loop_nest.attributes["reduction_ranges"]):
        if default.persistent:
            configs.append(dataclasses.replace(default, persistent=False, rblock=min(default.rblock, 64), xblock=min(default.xblock, 4)))
        else:
            configs.append(dataclasses.replace(default, xblock=min(default.xblock, 8), rblock=256))
    return configs


def emit_all(module) -> list:
    kernels = []
    for fn in kernel_functions(module):
        for config in variants(fn):
            kernels.append(emit_kernel(fn, config))
    return kernels


def check_compiles(kernels) -> None:
    assert kernels
    failures = []
    for kernel in kernels:
        assert "loc(" not in kernel.ttir
        error = compile_ttir(kernel.ttir, kernel.num_warps)
        if error:
            failures.append(f"@{kernel.name} {kernel.config}: {error}\n{kernel.ttir}")
    assert not failures, "\n\n".join(failures)


# ---------------------------------------------------------------------------
# lit inputs


def _lit_chunks():
    for path in sorted(LIT_DIR.glob("*.mlir")):
        if path.stem == "errors":
            continue
        for i, chunk in enumerate(path.read_text().split("\n// -----\n")):
            if "coil.kernel" in chunk:
                yield pytest.param(chunk, id=f"{path.stem}-{i}")


@pytest.mark.parametrize("text", list(_lit_chunks()))
def test_lit_input_compiles(text):
    with make_context() as context:
        module = ir.Module.parse(text, context)
        check_compiles(emit_all(module.operation))


# ---------------------------------------------------------------------------
# real graphs


def outlined(fn, *inputs, split: str | None = None):
    """The module compile_fx hands to a backend: imported, fused, outlined, memory planned.

    `split`: a `coil-split-reductions{...}` element to run before outlining, as for CUDA graphs.
    """
    from coil.frontend.trace import trace_to_coil

    return _through_planning(trace_to_coil(fn, *inputs), split)


def _through_planning(graph, split: str | None = None):
    """An imported graph fused, outlined and memory planned, as compile_fx does (see `outlined`)."""
    from coil.compile_fx import FUSED_OUTLINE_PIPELINE, FUSED_SIMPLIFY_PIPELINE, PLAN_PIPELINE
    from coil.passes.registry import build_pass_manager

    with graph.context:
        pipelines = [FUSED_SIMPLIFY_PIPELINE, FUSED_OUTLINE_PIPELINE, PLAN_PIPELINE]
        if split:
            pipelines.insert(1, f"builtin.module({split})")
        for pipeline in pipelines:
            build_pass_manager(pipeline).run(graph.module.operation)
    return graph


def _mlp(x):
    torch.manual_seed(0)
    fc1, norm, fc2 = torch.nn.Linear(64, 256), torch.nn.LayerNorm(256), torch.nn.Linear(256, 64)
    return fc2(F.gelu(norm(fc1(x))))


def _attention(x):
    heads = 4
    torch.manual_seed(0)
    qkv_proj, out_proj = torch.nn.Linear(64, 192), torch.nn.Linear(64, 64)
    batch, length, dim = x.shape
    q, k, v = qkv_proj(x).split(dim, dim=-1)
    q, k, v = (t.view(batch, length, heads, dim // heads).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-1, -2) / (dim // heads) ** 0.5, dim=-1)
    return out_proj((weights @ v).transpose(1, 2).reshape(batch, length, dim))


x = torch.randn(4, 8)
GRAPHS = {
    "pointwise_f32": (lambda a: torch.sigmoid(a) * a.exp() - a.abs().sqrt() / (a * a + 1), x),
    "pointwise_f16": (lambda a: torch.tanh(a) * 2 + a.erf(), x.half()),
    "pointwise_bf16": (lambda a: torch.sigmoid(a) + a.log1p().expm1(), x.bfloat16()),
    "pointwise_f64": (lambda a: torch.erf(a).log1p() + a.pow(3.5).atan2(a), x.double()),
    "pointwise_bool": (lambda a, m: ((a > 0) & (a < 1)) | m, x, x > 0.5),
    "pointwise_int": (lambda a, b: (a * b + 3) // 2 % 5 - (a >> 1), torch.randint(-9, 9, (6, 5)), torch.randint(1, 9, (6, 5))),
    "pointwise_uint8": (lambda a: (a >> 1) + a.max(), torch.randint(0, 255, (6, 5), dtype=torch.uint8)),
    "where": (lambda a, m: torch.where(m, a, 0.0).round().floor() + a.trunc(), x, x > 0),
    "softmax_small": (lambda a: torch.softmax(a, -1), torch.randn(16, 100)),
    "softmax_wide": (lambda a: torch.softmax(a, -1), torch.randn(4, 32000)),
    "softmax_half": (lambda a: torch.softmax(a, -1), torch.randn(8, 64).half()),
    "layernorm": (lambda a: F.layer_norm(a, (8,)), x),
    "var_mean": (lambda a: torch.var_mean(a, dim=1), x),
    "argmax": (lambda a: a.argmax(dim=1), x),
    "argmin_dim0_int": (lambda a: a.argmin(dim=0), torch.randint(0, 9, (5, 7))),
    "argmax_bool": (lambda a: (a > 0).to(torch.uint8).argmax(dim=1), x),
    "sum_dim0": (lambda a: a.sum(0), torch.randn(300, 70)),
    "sum_dim1": (lambda a: a.sum(1), x),
    "sum_all": (lambda a: a.sum(), torch.randn(3, 5, 7)),
    "sum_half": (lambda a: a.sum(1), x.half()),
    "prod_min_max": (lambda a: a.prod(1) + a.amin(1) * a.amax(1), x),
    "any_all": (lambda a: (a > 0).any(1) & (a < 2).all(1), x),
    "transpose_add": (lambda a, b: a.t() + b, torch.randn(8, 4), x),
    "permute3": (lambda a: a.permute(0, 2, 1).contiguous() * 2, torch.randn(2, 16, 32)),
    "gather": (lambda a, i: a[i], x, torch.tensor([1, 2, 0])),
    "index_select_negative": (lambda a, i: a[:, i] * 2, x, torch.tensor([-1, 3, 0])),
    "cat": (lambda a, b: torch.cat([a, b], 1), x, x),
    "empty_reductions": (
        lambda a: (a.sum(), a.mean(), a.prod(), a.var(), torch.var_mean(a), (a > 0).all(), a.sum(0)),
        torch.randn(0, 5),
    ),
    "fmod_remainder": (lambda a, b: (torch.fmod(a, b), torch.remainder(a, b), torch.fmod(a.double(), b)), x, x + 1),
    "pow_constant": (lambda a: (a ** -0.5, a ** 0.5, a ** 3, a ** -2, a.half() ** 2, a ** 2.5), x),
    "mlp": (_mlp, torch.randn(8, 64)),
    "attention": (_attention, torch.randn(2, 16, 64)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_kernels_compile(name):
    fn, *inputs = GRAPHS[name]
    graph = outlined(fn, *inputs)
    with graph.context:
        check_compiles(emit_all(graph.module.operation))


@pytest.mark.parametrize(
    "name, libdevice",
    [
        ("softmax_small", False),  # exp(x - max(x)) <= 0: Triton's exp
        ("softmax_wide", False),
        ("cross_entropy", False),
        ("sigmoid_silu", False),  # 1 / (1 + exp(-x))
        ("sigmoid_bf16", False),
        ("exp_plus_one", True),  # exp(x) of any x: libdevice's expf, as accurate as eager's
        ("exp_times_two", True),
    ],
)
def test_exp_is_libdevice_unless_native_suffices(name, libdevice):
    graphs = dict(GRAPHS)
    graphs["cross_entropy"] = (lambda a, t: F.cross_entropy(a, t), torch.randn(16, 100), torch.randint(0, 100, (16,)))
    graphs["sigmoid_silu"] = (lambda a: torch.sigmoid(a * 1.5) - F.silu(a), x)
    graphs["sigmoid_bf16"] = (lambda a: torch.sigmoid(a * 1.5 + 0.25) - torch.tanh(a), x.bfloat16())
    graphs["exp_plus_one"] = (lambda a: a.exp() + 1, x)
    graphs["exp_times_two"] = (lambda a: 1 / (a.exp() * 2), x)
    fn, *inputs = graphs[name]
    graph = outlined(fn, *inputs)
    with graph.context:
        texts = "\n".join(k.ttir for k in emit_all(graph.module.operation))
    assert ('symbol = "__nv_expf"' in texts) == libdevice
    assert ("math.exp " in texts) != libdevice


# ---------------------------------------------------------------------------
# the emitter's interface


def test_interface_and_candidates():
    graph = outlined(lambda a: torch.softmax(a, -1), torch.randn(16, 100))
    with graph.context:
        (fn,) = kernel_functions(graph.module.operation)
        candidates = candidate_configs(fn)
        assert 3 <= len(candidates) <= 6 and candidates[0] == default_config(fn)
        assert len(set(candidates)) == len(candidates)
        kernel = emit_kernel(fn, aligned=frozenset())
        assert kernel.arg_kinds == ["buffer", "buffer"]
        assert "tt.divisibility" not in kernel.ttir
        assert kernel.config.persistent and kernel.config.rblock == 128
        assert kernel.grid == (16 // kernel.config.xblock, 1, 1)
        # The same kernel and config give the same text (Triton's cache key).
        assert emit_kernel(fn).ttir == emit_kernel(fn).ttir
        # A persistent config covers the whole reduction, whatever rblock it names.
        assert emit_kernel(fn, TritonConfig(xblock=2, rblock=16)).config.rblock == 128
        # The caller's module is not changed.
        assert "welford" not in str(graph.module)



FLAT_WARPS = {
    # 2-byte elements: 4 a thread (8 warps over XBLOCK 1024)...
    "bf16_chain": (lambda a: torch.sigmoid(a * 1.5) - torch.tanh(a), (torch.randn(1 << 16, dtype=torch.bfloat16),), 8),
    # ...also beside a 0-d float32 operand (AdamW's step), read once and not walked...
    "bf16_with_f32_scalar": (lambda p, g, s: p - 0.01 * g / (1 - 0.9**s),
                             (torch.randn(512, 512, dtype=torch.bfloat16), torch.randn(512, 512, dtype=torch.bfloat16),
                              torch.tensor(3.0)), 8),
    # ...but 8 a thread where a row is broadcast over the matrix (bias+GELU), and in float32.
    "bf16_bias_gelu": (lambda a, b: F.gelu(a + b), (torch.randn(256, 1024, dtype=torch.bfloat16),
                                                     torch.randn(1024, dtype=torch.bfloat16)), 4),
    "f32_chain": (lambda a: torch.sigmoid(a * 1.5) - torch.tanh(a), (torch.randn(1 << 16),), 4),
}


@pytest.mark.parametrize("name", list(FLAT_WARPS))
def test_flat_pointwise_warps_follow_element_width_and_broadcasts(name):
    fn, inputs, warps = FLAT_WARPS[name]
    graph = outlined(fn, *inputs)
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        config = default_config(kernel)
        assert (config.xblock, config.yblock, config.num_warps) == (1024, 1, warps)
        check_compiles([emit_kernel(kernel)])


WIDE = {
    "sum_rows": (lambda a: a.sum(-1), torch.randn(4, 4096)),
    "var_mean": (lambda a: torch.var_mean(a, -1), torch.randn(4, 4096)),
    "softmax_8192": (lambda a: torch.softmax(a, -1), torch.randn(4, 8192)),
    "softmax_32000": (lambda a: torch.softmax(a, -1), torch.randn(4, 32000)),
}


def _candidate_kernels(fn, *inputs, also=None) -> list:
    """Every autotuning candidate of every kernel of fn's graph (default config first, no repeats)."""
    graph = outlined(fn, *inputs)
    with graph.context:
        kernels = []
        for f in kernel_functions(graph.module.operation):
            candidates = candidate_configs(f)
            assert candidates[0] == default_config(f) and len(set(candidates)) == len(candidates) <= 6
            kernels += [emit_kernel(f, c) for c in candidates]
            if also is not None:
                kernels += also(f)
    return kernels


@pytest.mark.parametrize("name", list(WIDE))
def test_wide_row_candidates_compile(name):
    """Every autotuning candidate of the wide-row reductions compiles (16 and 32 warps included)."""
    check_compiles(_candidate_kernels(*WIDE[name]))


def _cross_entropy_backward(logits, lse, target, g):
    """Cross-entropy's gradient as its decomposition computes it: a sum over a one-hot
    row (only indices and per-row scalars), then one pass over the logits row."""
    onehot = (torch.arange(logits.shape[1]) == target[:, None]) * -g
    return onehot - torch.exp(logits - lse) * onehot.sum(-1, keepdim=True)


def _softmax_backward(y, grad):
    return y * (grad - (grad * y).sum(-1, keepdim=True))


@pytest.mark.parametrize(
    "fn, persistent",
    [(_cross_entropy_backward, False), (_softmax_backward, True)],
    ids=["one_hot_sum_then_row", "two_row_reads"],
)
def test_a_wide_row_read_once_when_looped_is_looped(fn, persistent):
    """A 32000-wide row stays persistent (in registers) when the looped form would read it
    twice (softmax's backward: sum(grad * y), then the row again); a kernel whose
    first level loads nothing along the row (cross-entropy's backward: the one-hot
    sum) reads it once either way and loops, in small tiles (the persistent row took
    all 128 registers a thread of its 16 warps, one program an SM)."""
    rows, width = 4, 32000
    if fn is _cross_entropy_backward:
        inputs = (torch.randn(rows, width), torch.randn(rows, 1), torch.randint(0, width, (rows,)), torch.tensor(0.5))
    else:
        inputs = (torch.randn(rows, width).softmax(-1), torch.randn(rows, width))
    graph = outlined(fn, *inputs)
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        config = default_config(kernel)
        assert config.persistent == persistent and (config.rblock == 32768) == persistent, config
        check_compiles([emit_kernel(kernel)])



def _row_kernel_resources(fn, *inputs):
    """The one kernel of fn's graph reducing 32000-wide rows: (TTIR, resources compiled for sm_90)."""
    from coil.backends.triton.resources import h100_resources

    graph = outlined(fn, *inputs)
    with graph.context:
        (kernel,) = [emit_kernel(f) for f in kernel_functions(graph.module.operation) if default_config(f).rblock == 32768]
    return kernel, h100_resources(kernel.ttir, kernel.num_warps)


def test_a_half_precision_row_max_stays_half_precision():
    """Cross-entropy's persistent 32000-wide row takes its max in bfloat16 (exact) and
    keeps the row in registers as loaded, two elements a register: fewer registers
    than the float32 row's (64 against 78 with Triton 3.6), and more warps an SM.
    The float32 row is unchanged."""
    rows, width = 8, 32000
    target = torch.randint(0, width, (rows,))
    resources = {}
    for dtype, elem in ((torch.bfloat16, "bf16"), (torch.float32, "f32")):
        kernel, resources[elem] = _row_kernel_resources(
            lambda x, y: F.cross_entropy(x, y), torch.randn(rows, width, dtype=dtype), target
        )
        assert re.search(rf"arith.maximumf %\S+, %\S+ : {elem}\n", kernel.ttir), kernel.ttir
    assert resources["bf16"].registers < resources["f32"].registers, resources
    assert resources["bf16"].warps_per_sm > resources["f32"].warps_per_sm, resources


def _run_on_cpu(fn, *inputs):
    """fn's graph run on the CPU: its host function's allocations and launches in order,
    each kernel program by program (`ttir_eval`). (output or tuple of outputs, kernels)."""
    return run_graph_on_cpu(outlined(fn, *inputs), inputs)


def run_graph_on_cpu(graph, inputs, config_for=None):
    """`_run_on_cpu` of an outlined graph (after any further passes); `config_for(fn)`,
    when given, picks each kernel's config (None: its default)."""
    import numpy as np
    from ttir_eval import buffer_of, run_kernel

    from coil.passes.plan_memory import host_functions

    with graph.context:
        kernels = {
            f.attributes["sym_name"].value: emit_kernel(f, config_for(f) if config_for else None)
            for f in kernel_functions(graph.module.operation)
        }
        (host,) = host_functions(graph.module.operation)
        values = {}
        for a, x in zip(host.regions[0].blocks[0].arguments, inputs):
            values[a] = buffer_of(x.contiguous().flatten())
        out = None
        for op in host.regions[0].blocks[0].operations:
            name = op.operation.name
            if name == "coil.alloc":
                t = ir.MemRefType(op.results[0].type)
                floating = not isinstance(t.element_type, ir.IntegerType)
                values[op.results[0]] = np.full(math.prod(t.shape), np.nan if floating else 0, np.float32 if floating else np.int64)
            elif name == "coil.reuse":
                values[op.results[0]] = values[op.operands[0]]
            elif name == "coil.launch":
                kernel = kernels[ir.FlatSymbolRefAttr(op.attributes["kernel"]).value]
                args = [a.operands[0] for a in op.regions[0].blocks[0].operations if a.operation.name == "coil.arg"]
                run_kernel(kernel.ttir, kernel.grid, [values[a] for a in args])
            elif name == "func.return":
                outs = [_as_laid_out(values[v], ir.MemRefType(v.type)) for v in op.operands]
                out = outs[0] if len(outs) == 1 else tuple(outs)
            elif name != "coil.dealloc":
                raise NotImplementedError(f"_run_on_cpu: host op {name}")
    return out, list(kernels.values())


def _as_laid_out(flat, t: ir.MemRefType) -> torch.Tensor:
    """A buffer's flat storage as the tensor its memref layout describes (an output may
    keep an input's strides, as eager's does: `a.t() + b` is column-major)."""
    shape = list(t.shape)
    strides = [math.prod(shape[k + 1:]) for k in range(len(shape))]
    offset = 0
    if isinstance(t.layout, ir.StridedLayoutAttr):
        strides, offset = list(t.layout.strides), t.layout.offset
    return torch.from_numpy(flat).as_strided(shape, strides, offset)


def _qkv_grad_cat(dq, dk, dv):
    """The GPT backward's cat of the q, k and v gradients, each [b, h, t, dh] back to [b, t, h*dh]."""
    b, h, t, dh = dq.shape
    return torch.cat([z.transpose(1, 2).reshape(b, t, h * dh) for z in (dq, dk, dv)], -1)


def _qkv_grad_cat_transposed_k(dq, dkt, dv):
    """As the GPT backward has it: the k gradient comes from a bmm as [b*h, dh, t]."""
    b, h, t, dh = 2, 4, 64, 32
    k = dkt.view(b, h, dh, t).transpose(2, 3)
    return _qkv_grad_cat(dq.view(b, h, t, dh), k, dv.view(b, h, t, dh))


GUARDED = {
    "qkv_grad_cat": (_qkv_grad_cat, [torch.randn(2, 4, 64, 32, dtype=torch.bfloat16) for _ in range(3)]),
    "qkv_grad_cat_transposed_k": (
        _qkv_grad_cat_transposed_k,
        [torch.randn(8, 64, 32, dtype=torch.bfloat16), torch.randn(8, 32, 64, dtype=torch.bfloat16),
         torch.randn(8, 64, 32, dtype=torch.bfloat16)],
    ),
    "cat_rows": (lambda a, b: torch.cat([a, b]), [torch.randn(48, 40), torch.randn(16, 40)]),
    "pad": (lambda a: F.pad(a, (3, 5, 2, 0)), [torch.randn(30, 64)]),
}


@pytest.mark.parametrize("name", list(GUARDED))
def test_select_guarded_loads_read_each_element_once(name):
    """A cat's parts and a pad's source are loads only a select on the loop indices keeps:
    each is masked by the conditions that keep it, and its clamped index, now in bounds
    wherever the mask holds, is linear again. Run on the CPU (`ttir_eval`: unmasked lanes
    must be in bounds), the kernel gives eager's result, with no clamp left in its TTIR."""
    fn, inputs = GUARDED[name]
    out, (kernel,) = _run_on_cpu(fn, *inputs)
    expected = fn(*inputs).float()
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert "arith.maxsi" not in kernel.ttir and "arith.minsi" not in kernel.ttir, kernel.ttir
    masked = re.findall(r"tt.load %\w+, %\w+", kernel.ttir)
    assert len(masked) == len(inputs), kernel.ttir


def test_index_digits_keep_the_form_triton_follows():
    """(e % m) // d becomes (e // d) % (m // d), and adjacent digits of one index merge:
    c*((x // c) % m) + x % c == x % (c*m)."""
    from coil.backends.triton.indexing import IndexSpace, Var, atom

    space = IndexSpace({"x": (0, (1 << 20) - 1)})
    x = atom(Var("x"))
    digit = space.floordiv(space.mod(x, 512), 64)
    assert digit == space.mod(space.floordiv(x, 64), 8)
    assert space.add(space.scale(digit, 64), space.mod(x, 64)) == space.mod(x, 512)
    assert space.add(space.scale(digit, 128), space.scale(space.mod(x, 64), 2)) == space.scale(space.mod(x, 512), 2)
    assert space.floordiv(space.mod(x, 500), 64).terms[0][0].den == 64  # 64 does not divide 500: kept

def test_transposed_copy_and_cat_parts_load_whole_vectors():
    """A [b, h, t, dh] -> [b, t, h*dh] copy reads runs of dh contiguous elements; its index
    is `(x // dh) % h`, not `(x % (h*dh)) // dh`, which Triton's axis analysis cannot
    follow: compiled for sm_90, both it and the qkv-gradient cat (masked parts) load 16
    bytes at a time, where they loaded bf16 elements one by one."""
    import collections

    from coil.backends.triton.resources import compile_for_h100

    parts = [torch.randn(8, 8, 512, 64, dtype=torch.bfloat16) for _ in range(3)]

    def transposed_k(dq, dkt, dv):
        k = dkt.view(8, 8, 64, 512).transpose(2, 3)
        return _qkv_grad_cat(dq.view(8, 8, 512, 64), k, dv.view(8, 8, 512, 64))

    cases = {
        "transpose": (lambda z: z.transpose(1, 2).reshape(8, 512, 512) * 2, parts[:1]),
        "qkv_grad_cat": (_qkv_grad_cat, parts),
        # A [YBLOCK, XBLOCK] tile: the k part reads along t, the others along h*dh.
        "qkv_grad_cat_transposed_k": (
            transposed_k,
            [parts[0].view(64, 512, 64), parts[1].view(64, 64, 512), parts[2].view(64, 512, 64)],
        ),
    }
    for name, (fn, inputs) in cases.items():
        graph = outlined(fn, *inputs)
        with graph.context:
            (kernel,) = [emit_kernel(f) for f in kernel_functions(graph.module.operation)]
        ptx = compile_for_h100(kernel.ttir, kernel.num_warps).asm["ptx"]
        loads = collections.Counter(re.findall(r"ld\.global[.\w]*", ptx))
        assert set(loads) == {"ld.global.v4.b32"}, (name, loads)
        per_part = kernel.config.xblock * kernel.config.yblock // (32 * kernel.num_warps) // 8  # 8 bf16 a load
        assert loads["ld.global.v4.b32"] == len(inputs) * per_part, (name, loads, kernel.config)
        assert (kernel.config.yblock > 1) == name.endswith("transposed_k"), (name, kernel.config)


@pytest.mark.parametrize("name", ["cross_entropy_rows", "cross_entropy_mean", "softmax"])
def test_half_precision_row_kernels_match_eager_on_the_cpu(name):
    """The bf16 32000-wide row kernels (a max in bf16, `_narrow_extremum_operand`), run
    on the CPU by `ttir_eval`, give eager's values; a row with a NaN gives NaN."""
    x = torch.randn(6, 32000, dtype=torch.bfloat16) * 4
    x[2, 123] = float("nan")
    target = torch.randint(0, 32000, (6,))
    fn, inputs = {
        "cross_entropy_rows": (lambda a, b: F.cross_entropy(a, b, reduction="none"), (x, target)),
        "cross_entropy_mean": (lambda a, b: F.cross_entropy(a, b), (x.nan_to_num(0.0), target)),
        "softmax": (lambda a: torch.softmax(a, -1), (x,)),
    }[name]
    out, kernels = _run_on_cpu(fn, *inputs)
    assert any(re.search(r"arith.maximumf %\S+, %\S+ : bf16\n", k.ttir) for k in kernels)
    expected = fn(*inputs).float()
    torch.testing.assert_close(out, expected, rtol=1.6e-2, atol=1e-5, equal_nan=True)


LOOPED = {  # name -> (fn, a function making its inputs)
    "sum_wide_rows": (lambda a: a.sum(-1), lambda: (torch.randn(3, 10000),)),
    "online_softmax": (lambda a: torch.softmax(a, -1), lambda: (torch.randn(2, 70000),)),
    "column_variance": (lambda a: a.var(0), lambda: (torch.randn(4096, 64),)),
    "column_sum": (lambda a: a.sum(0), lambda: (torch.randn(3000, 96),)),
    "cross_entropy_backward": (
        _cross_entropy_backward,
        lambda: (torch.randn(3, 32000), torch.randn(3, 1), torch.randint(0, 32000, (3,)), torch.tensor(0.5)),
    ),
}


@pytest.mark.parametrize("name", list(LOOPED))
def test_looped_reduction_kernels_match_eager_on_the_cpu(name):
    """Looped reductions (`scf.for` with carried accumulators: a wide row, the online
    softmax, the one-pass Welford column variance, a column sum, cross-entropy's
    backward row), run on the CPU by `ttir_eval`, give eager's values (up to the
    order of a sum over thousands of terms)."""
    fn, make = LOOPED[name]
    torch.manual_seed(0)
    inputs = make()
    out, kernels = _run_on_cpu(fn, *inputs)
    assert any("scf.for" in k.ttir for k in kernels)
    expected = fn(*inputs)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-4)


def _special_rows(rows: int, width: int, dtype=torch.float32) -> torch.Tensor:
    """Rows with a NaN, a +inf, a row of -inf and large values (online rescaling)."""
    x = torch.randn(rows, width) * 8
    x[0, 7] = float("nan")
    x[1, 5] = float("inf")
    x[2, :] = float("-inf")
    x[3, ::3] = -30.0
    return x.to(dtype)


PREFETCHED = {  # name -> (fn, inputs)
    "cross_entropy_rows": (
        lambda a, b: F.cross_entropy(a, b, reduction="none"),
        (_special_rows(5, 32000), torch.tensor([1, 2, 3, 31999, -100])),
    ),
    "cross_entropy_rows_bf16": (
        lambda a, b: F.cross_entropy(a, b, reduction="none"),
        (_special_rows(5, 3000, torch.bfloat16), torch.tensor([1, 2, 3, 2999, 0])),
    ),
    "softmax": (lambda a: torch.softmax(a, -1), (_special_rows(5, 5000),)),
    "sum_rows_rblock_divides": (lambda a: a.sum(-1), (torch.randn(3, 4096),)),
    "var_rows": (lambda a: a.var(-1), (torch.randn(3, 3000),)),
    "column_sum": (lambda a: a.sum(0), (torch.randn(3000, 96),)),
}


@pytest.mark.parametrize("prefetch", [False, True], ids=["plain", "prefetch"])
@pytest.mark.parametrize("name", list(PREFETCHED))
def test_looped_reductions_with_prefetch_match_eager_on_the_cpu(name, prefetch):
    """Every reduction of these graphs looped over 1024-element chunks (rows) or its
    default chunk (columns), with and without `prefetch` (the next chunk loaded
    while the loop computes on the one it carries), run by `ttir_eval`: eager's
    values, NaN, +inf and rows of -inf included (the online softmax's one-exp
    update). The prefetched kernels compile for sm_90."""
    fn, inputs = PREFETCHED[name]

    def looped(f):
        config = default_config(f)
        if config.rblock == 1:
            return None
        rblock = config.rblock if config.xblock > 1 else min(config.rblock, 1024)
        return dataclasses.replace(config, rblock=rblock, persistent=False, prefetch=prefetch)

    out, kernels = run_graph_on_cpu(outlined(fn, *inputs), inputs, config_for=looped)
    assert any("scf.for" in k.ttir for k in kernels)
    assert all(k.config.prefetch == prefetch for k in kernels if "scf.for" in k.ttir)
    if prefetch:
        check_compiles(kernels)
    expected = fn(*inputs)
    low = inputs[0].dtype == torch.bfloat16
    torch.testing.assert_close(
        out, expected.float(), rtol=1.6e-2 if low else 1e-5, atol=1e-5 if low else 1e-4, equal_nan=True
    )


def test_looped_reductions_offer_a_prefetched_candidate():
    """Autotuning times the first looped candidate with its loads double-buffered
    (`prefetch`), second after the default; a reduction with only persistent
    candidates (a column sum over 32 rows) offers none."""
    for fn, x, offered in ((lambda a: a.sum(-1), torch.randn(8, 4096), True), (lambda a: a.sum(0), torch.randn(32, 4096), False)):
        graph = outlined(fn, x)
        with graph.context:
            (f,) = kernel_functions(graph.module.operation)
            candidates = candidate_configs(f)
        prefetched = [c for c in candidates if c.prefetch]
        if offered:
            first_looped = next(c for c in candidates if not c.persistent and not c.prefetch)
            assert candidates[1] == dataclasses.replace(first_looped, prefetch=True)
        else:
            assert not prefetched


# GRAPHS whose host programs call ATen (`coil.extern`: matmuls, integer floor division)
# ttir_eval cannot run, and empty_reductions, whose graph returns one buffer for
# several equal outputs (the compiled call maps them back); every other graph runs whole.
_NOT_RUN_ON_CPU = ("pointwise_int", "pointwise_uint8", "mlp", "attention", "empty_reductions")


@pytest.mark.parametrize("name", [n for n in GRAPHS if n not in _NOT_RUN_ON_CPU] + [f"wide_{n}" for n in WIDE])
def test_graph_kernels_match_eager_on_the_cpu(name):
    """Every kernel of the graphs above (pointwise in each dtype, reductions of every
    kind, views, gathers, cats, wide rows), run on the CPU by `ttir_eval`, gives
    eager's values: the Triton lowering checked without a GPU."""
    fn, *inputs = WIDE[name[5:]] if name.startswith("wide_") else GRAPHS[name]
    out, _ = _run_on_cpu(fn, *inputs)
    expected = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    expected = list(torch.utils._pytree.tree_leaves(expected))
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        e = e.double() if e.is_floating_point() else e.long()
        low = e.dtype == torch.double and any(x.dtype in (torch.half, torch.bfloat16) for x in inputs)
        torch.testing.assert_close(o.to(e.dtype), e, rtol=2e-2 if low else 1e-5, atol=1e-3 if low else 1e-5, equal_nan=True)

COLUMNS = {
    "sum_cols": (lambda a: a.sum(0), torch.randn(512, 4096)),
    "sum_cols_half": (lambda a: a.sum(0), torch.randn(512, 300).half()),
    "var_mean_cols": (lambda a: torch.var_mean(a, 0), torch.randn(1024, 256)),
    "softmax_cols": (lambda a: torch.softmax(a, 0), torch.randn(1024, 256)),
    "argmax_cols": (lambda a: a.argmax(0), torch.randn(1024, 256)),
    "amax_dims_0_1": (lambda a: a.amax((0, 1)), torch.randn(64, 32, 128)),
    "any_cols": (lambda a: (a > 2).any(0), torch.randn(256, 200)),
    "sum_cols_short": (lambda a: a.sum(0), torch.randn(24, 1000)),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_column_reduction_candidates_compile(name):
    """Column reductions are tiled [RBLOCK, XBLOCK] (reduced along axis 0); every candidate compiles."""
    kernels = _candidate_kernels(*COLUMNS[name], also=emit_all_for)
    assert any("<{axis = 0 : i32}>" in k.ttir for k in kernels)
    check_compiles(kernels)


# Split reductions (coil-split-reductions, as CUDA graphs run it): partial and final kernels.
SPLIT = {
    "sum_cols_8192x2048": (lambda a: a.sum(0), torch.empty(8192, 2048), "coil-split-reductions"),
    "sum_all_16M": (lambda a: a.sum(), torch.empty(1 << 24), "coil-split-reductions"),
    "var_mean_cols": (lambda a: torch.var_mean(a, 0), torch.empty(8192, 1024), "coil-split-reductions"),
    "ragged_cols": (lambda a: (a.amax(0), a.sum(0)), torch.empty(8191, 1024), "coil-split-reductions"),
    "mixed_small": (
        lambda a: (a.half().prod(), (a > 0).any(), a.amin((0, 2)), a.mean((0, 1)), torch.var_mean(a, (0, 2))),
        torch.randn(64, 6, 48),
        "coil-split-reductions{min-numel=1024 num-sms=16 min-chunk=16}",
    ),
}


@pytest.mark.parametrize("name", list(SPLIT))
def test_split_reduction_kernels_compile(name):
    fn, x, split = SPLIT[name]
    graph = outlined(fn, x, split=split)
    with graph.context:
        functions = kernel_functions(graph.module.operation)
        assert len(functions) >= 2
        kernels = []
        for f in functions:
            kernels += [emit_kernel(f, c) for c in candidate_configs(f)] + emit_all_for(f)
        check_compiles(kernels)


def test_split_column_partials_stay_coalesced():
    """The partial kernel of a split column sum (ragged or not) is a column reduction: [RBLOCK, XBLOCK] tiles."""
    for rows in (8192, 8191):
        graph = outlined(lambda a: a.sum(0), torch.empty(rows, 2048), split="coil-split-reductions")
        with graph.context:
            partial, final = (emit_kernel(f) for f in kernel_functions(graph.module.operation))
        assert partial.config.xblock == 32 and partial.grid[0] >= 2 * 132, partial.config
        assert "<{axis = 0 : i32}>" in partial.ttir and "tensor<64x32xf32>" in partial.ttir
        assert final.config.persistent and "<{axis = 0 : i32}>" in final.ttir


def test_layernorm_weight_grad_is_a_column_reduction():
    """LayerNorm's weight gradient, `(dy * (x - mean) * rstd).sum(0)`, reads one mean and
    rstd per row, along the reduction: those loads are the same for every column of a
    program and do not make it a row reduction. Whole or split, it is tiled
    [RBLOCK, XBLOCK] and reads dy and x along the columns."""
    def weight_grad(dy, x, mean, rstd):
        return (dy * ((x - mean) * rstd)).sum(0)

    args = (torch.randn(4096, 512), torch.randn(4096, 512), torch.randn(4096, 1), torch.randn(4096, 1))
    for split in (None, "coil-split-reductions"):
        graph = outlined(weight_grad, *args, split=split)
        with graph.context:
            first = emit_kernel(kernel_functions(graph.module.operation)[0])
        assert first.config.xblock == 32, (split, first.config)
        assert "<{axis = 0 : i32}>" in first.ttir
        if split:
            assert first.grid[0] * first.grid[1] * first.grid[2] >= 132, first.grid
        ran, _ = run_graph_on_cpu(graph, args)
        torch.testing.assert_close(ran, weight_grad(*args), rtol=1e-4, atol=1e-3)


def emit_all_for(fn) -> list:
    return [emit_kernel(fn, config) for config in variants(fn)]


def test_unsupported_op_names_kernel_and_op():
    text = """
    func.func @k(%out: memref<4xf32>, %x: memref<4xf32>) attributes {coil.kernel} {
      "coil.loop_nest"() ({
      ^bb0(%i: index):
        %v = "coil.load"(%x, %i) : (memref<4xf32>, index) -> f32
        %c = arith.constant 3 : i32
        %p = math.fpowi %v, %c : f32, i32
        "coil.store"(%p, %out, %i) : (f32, memref<4xf32>, index) -> ()
        "coil.yield"() : () -> ()
      }) {ranges = [4], reduction_ranges = []} : () -> ()
      return
    }
    """
    with make_context() as context:
        module = ir.Module.parse(text, context)
        (fn,) = kernel_functions(module.operation)
        with pytest.raises(TritonLoweringError, match=r"@k.*math.fpowi"):
            emit_kernel(fn)


# ---------------------------------------------------------------------------
# other Triton versions


def test_other_triton_versions_compile_the_same_texts():
    pythons = [p for p in os.environ.get("COIL_TRITON_PYTHONS", "").split(":") if p]
    if not pythons:
        pytest.skip("COIL_TRITON_PYTHONS names no other interpreter")
    if not _compiled:
        pytest.skip("run with the compile tests")
    script = (
        "import sys, os\n"
        "os.environ.setdefault('TRITON_DEFAULT_FP_FUSION', '1')\n"
        "import triton\nfrom triton.backends.compiler import GPUTarget\n"
        "bad = []\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        k = triton.compile(path, target=GPUTarget('cuda', 90, 32), options={'num_warps': 4})\n"
        "        assert k.asm['cubin']\n"
        "    except Exception as e:\n"
        "        bad.append(f'{path}: {e}')\n"
        "print(triton.__version__, len(sys.argv) - 1, 'compiled;', len(bad), 'failed')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, text in enumerate(t for t, error in _compiled.items() if error is None):
            path = os.path.join(tmp, f"k{i}.ttir")
            with open(path, "w") as f:
                f.write(text)
            paths.append(path)
        for python in pythons:
            done = subprocess.run([python, "-c", script, *paths], capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]


def test_static_launcher_parameter_codes():
    """The static CUDA launcher's argument codes come from the TTIR signature: a
    pointer per buffer, then i64 strides and sizes where the kernel takes them."""
    from coil.backends.triton.runtime import _parameter_codes

    ttir = (
        "module {\n  tt.func public @k(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, "
        "%arg0_stride0: i64, %arg1: !tt.ptr<bf16>, %arg2: i32, %arg3: f32) {\n    tt.return\n  }\n}\n"
    )
    assert _parameter_codes(ttir) == "OlOif"
    assert _parameter_codes("module {\n  tt.func public @k() {\n    tt.return\n  }\n}\n") == ""
    assert _parameter_codes("module {\n  tt.func public @k(%arg0: !tt.tensordesc<f32>) {\n  }\n}\n") is None


def _load_store_lines(ttir: str) -> tuple[list[int], list[int]]:
    lines = ttir.splitlines()
    return [i for i, l in enumerate(lines) if "tt.load" in l], [i for i, l in enumerate(lines) if "tt.store" in l]


@pytest.mark.parametrize("n, loads_first", [(1024, True), (1 << 20, False)])
def test_small_pointwise_grid_issues_its_loads_first(n, loads_first):
    """A horizontally fused pointwise kernel of a few programs loads every input before
    its first store (one memory round trip, not one per output); a large grid,
    whose warps hide each other's latency, keeps the body's order."""

    def f(a, b, c, d):
        return a.exp() + b, (a * c).sin(), c * d - b

    graph = outlined(f, *(torch.randn(n) for _ in range(4)))
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        emitted = emit_kernel(kernel)
        loads, stores = _load_store_lines(emitted.ttir)
        assert len(loads) == 4 and len(stores) == 3, emitted.ttir
        assert (max(loads) < min(stores)) == loads_first, emitted.ttir
        check_compiles([emitted])


def test_profile_names_say_what_a_kernel_computes():
    """Kernels reach profilers as `coil_<kind>_<FX ops>_<symbol>` (Inductor's
    `triton_<kind>_fused_<ops>_<n>`): a forward and a backward `fused_2` differ."""
    from coil.backends.triton.emit import profile_name
    from coil.backends.triton.runtime import _parameter_codes

    cases = [
        (lambda a: a.exp() + 1, (torch.randn(4096),), "coil_poi_add_exp_"),
        (lambda a: torch.softmax(a, -1), (torch.randn(8, 1000),), "coil_per_amax_div_exp_sub_sum_"),
        (_cross_entropy_backward, (torch.randn(4, 32000), torch.randn(4, 1), torch.randint(0, 32000, (4,)), torch.tensor(0.5)),
         "coil_red_arange_eq_exp_mul_neg_sub_sum_"),
    ]
    for fn, inputs, prefix in cases:
        graph = outlined(fn, *inputs)
        with graph.context:
            (kernel,) = kernel_functions(graph.module.operation)
            emitted = emit_kernel(kernel, profile_names=True)
            name = profile_name(kernel, emitted.config)
            assert name.startswith(prefix) and name.endswith(kernel.attributes["sym_name"].value), name
            assert f"tt.func public @{name}(" in emitted.ttir and emitted.name == kernel.attributes["sym_name"].value
            assert _parameter_codes(emitted.ttir), emitted.ttir
            check_compiles([emitted])

    def many_ops(a):  # a long chain: the name keeps its first ops, within MAX_NAMED_CHARS
        return (a.exp().sin().cos().tanh().sigmoid().sqrt().abs().neg().reciprocal().log1p().expm1() * 2).erf()

    graph = outlined(many_ops, torch.rand(1024))
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        emitted = emit_kernel(kernel, profile_names=True)
        name = profile_name(kernel, emitted.config)
        assert name.startswith("coil_poi_abs_cos_") and len(name) <= 64 + len("coil_poi__") + len(emitted.name), name


def test_translate_report_reads_registers_and_spills_from_the_cubin(tmp_path, capsys):
    """`coil-translate --coil-to-ttir --report`: each kernel compiled for sm_90 without a GPU,
    its registers, spilled bytes and occupancy read from the cubin; an 8192-wide
    softmax row held by one warp (256 floats a thread, across both reductions) spills."""
    import re

    from coil.tools.translate import run

    graph = outlined(lambda a: torch.softmax(a, -1), torch.randn(64, 8192))
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        name = kernel.attributes["sym_name"].value
        path = tmp_path / "softmax.mlir"
        path.write_text(str(graph.module))
    fields = {}
    for label, extra in (("default", []), ("one_warp", ["--persistent=true", "--rblock=8192", "--num-warps=1"])):
        assert run(["--coil-to-ttir", "--report", *extra, str(path)]) == 0
        line = capsys.readouterr().out.strip()
        assert line.startswith(f"// @{name} grid=(64, 1, 1)") and "tt.func" not in line, line
        fields[label] = {k: int(v) for k, v in re.findall(r"(bytes|registers|spilled|warps_per_sm)=(\d+)", line)}
    assert fields["default"]["bytes"] == 2 * 64 * 8192 * 4
    assert 0 < fields["default"]["registers"] <= 255 and fields["default"]["spilled"] == 0, fields
    assert fields["one_warp"]["spilled"] > 0 and fields["one_warp"]["warps_per_sm"] <= 32, fields


def test_cuda_graphs_take_eager_cudas_order_for_addcmul_addcdiv_and_lerp():
    """Traced for CUDA (fake CUDA tensors, no GPU): addcdiv is fma(value, t1 / t2,
    self) with the quotient exactly divided (`coil.exact` -> tt.precise_divf,
    where other bf16 quotients divide fast), addcmul fma(value, t1 * t2, self),
    lerp one fma from the nearer end; the kernel compiles for sm_90."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.proxy_tensor import make_fx

    from coil.frontend.decompositions import decomposition_table
    from coil.frontend.importer import GraphImporter

    def fn(a, b, c):
        return torch.addcdiv(a, b, c, value=-0.1), torch.addcmul(a, b, c, value=0.1), torch.lerp(a, b, 0.7)

    with FakeTensorMode():
        inputs = [torch.empty(64, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
        gm = make_fx(fn, decomposition_table=decomposition_table())(*inputs)
        graph = _through_planning(GraphImporter(gm, inputs).run())
    with graph.context:
        (kernel,) = kernel_functions(graph.module.operation)
        emitted = emit_kernel(kernel)
    body = [line.strip() for line in emitted.ttir.splitlines()]
    (quotient,) = [line.split(" = ")[0] for line in body if "tt.precise_divf" in line]
    (product,) = [line.split(" = ")[0] for line in body if line.split(" = ")[-1].startswith("arith.mulf")]
    fmas = [line for line in body if "math.fma" in line]
    assert len(fmas) == 3 and not any("arith.divf" in line for line in body), emitted.ttir
    assert any(f", {quotient}," in line for line in fmas), fmas
    assert any(f", {product}," in line for line in fmas), fmas
    check_compiles([emitted])
