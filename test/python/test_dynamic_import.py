"""Import of graphs with symbolic sizes (torch.compile(dynamic=True)).

Each test captures the ATen graphs AOTAutograd hands a backend, with
FakeTensor inputs whose sizes are SymInts and SymInt placeholders, imports
them with `GraphImporter`, and checks that

  - the IR verifies and keeps the symbolic dims as `?`;
  - each Dynamo symbol is an `index` argument of @graph (coil.symbol);
  - the import specialized no symbol (no `Eq(s, n)` guard, no replacement);
  - the graph-level simplification pipeline (fold views, canonicalize, cse) runs.
"""

from __future__ import annotations

import re

import pytest
import sympy
import torch
import torch._dynamo
import torch.nn as nn
import torch.nn.functional as F
from torch._dynamo.backends.common import aot_autograd
from torch._guards import detect_fake_mode

from coil.compile_fx import SIMPLIFY_PIPELINE, _run_pipeline
from coil.errors import LoweringError
from coil.frontend.decompositions import decomposition_table
from coil.frontend.importer import GraphImporter
from coil.frontend.trace import trace_to_coil


def capture(fn, *inputs, training=False):
    """The forward graphs (and their example inputs) of fn under dynamic=True."""
    graphs = []

    def compiler(gm, example_inputs):
        graphs.append((gm, list(example_inputs)))
        return gm

    torch._dynamo.reset()
    backend = aot_autograd(
        fw_compiler=compiler,
        bw_compiler=compiler,
        decompositions=decomposition_table(),
        keep_inference_input_mutations=True,
    )
    compiled = torch.compile(fn, backend=backend, dynamic=True)
    with torch.set_grad_enabled(training):
        compiled(*inputs)
    assert graphs, "nothing was compiled"
    return graphs


def import_graph(gm, inputs):
    """Imports and checks one graph; returns (text after import, text after simplify)."""
    shape_env = detect_fake_mode(inputs).shape_env
    guards_before = len(shape_env.guards)
    replacements_before = dict(shape_env.replacements)
    imported = GraphImporter(gm, inputs).run()
    with imported.context:
        assert imported.module.operation.verify()
        text = str(imported.module)
        _run_pipeline(imported.module, imported.context, SIMPLIFY_PIPELINE, "simplify")
        assert imported.module.operation.verify()
        simplified = str(imported.module)
    for guard in shape_env.guards[guards_before:]:
        assert not (isinstance(guard.expr, sympy.Eq) and any(a.is_Integer for a in guard.expr.args)), (
            f"the import specialized a size: {guard.expr}"
        )
    assert dict(shape_env.replacements) == replacements_before, "the import specialized a symbol"
    # Every SymInt placeholder with a plain symbol is an index argument.
    symbols = {str(x.node.expr) for x in inputs if isinstance(x, torch.SymInt) and isinstance(x.node.expr, sympy.Symbol)}
    for name in symbols:
        assert re.search(rf'index {{coil.size_hint = \d+ : i64, coil.symbol = "{name}"}}', text), name
    for index, spec in enumerate(imported.inputs):
        if spec.kind == "symbol":
            assert imported.symbols[spec.arg_index] == ("input", index)
    return imported, text, simplified


def import_all(fn, *inputs, training=False):
    results = [import_graph(gm, ins) for gm, ins in capture(fn, *inputs, training=training)]
    assert any("?" in text for _, text, _ in results), "no symbolic dims"
    return results


def test_mlp_linear_gelu():
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8))
    ((imported, text, simplified),) = import_all(model, torch.randn(6, 16))
    assert "aten::addmm.default" in text
    assert re.search(r'"coil.extern".*-> tensor<\?x32xf32>', text, re.S)
    assert "math.erf" in text
    # The pointwise ops run over the symbolic batch.
    assert re.search(r'"coil.pointwise"\(%arg\d+\) .*ranges = \[-9223372036854775808, 32\]', text, re.S)
    assert "tensor<?x8xf32>" in simplified


def test_softmax():
    ((_, text, _),) = import_all(lambda x: torch.softmax(x, -1), torch.randn(4, 10))
    assert text.count('"coil.reduction"') == 2
    assert 'reduction_ranges = [-9223372036854775808], reduction_type = "max"' in text
    assert 'reduction_ranges = [-9223372036854775808], reduction_type = "sum"' in text
    assert "tensor<?x1xf32>" in text


def test_log_softmax():
    ((_, text, _),) = import_all(lambda x: F.log_softmax(x, 1), torch.randn(4, 10))
    assert "math.log" in text and "tensor<?x?xf32>" in text


def test_layer_norm():
    norm = nn.LayerNorm(12)
    ((_, text, _),) = import_all(norm, torch.randn(3, 5, 12))
    assert "tensor<?x?x12xf32>" in text
    assert 'reduction_type = "welford"' in text or 'reduction_type = "sum"' in text
    assert "math.rsqrt" in text


def test_reshape_two_symbolic_dims():
    ((_, text, simplified),) = import_all(lambda x: (x.reshape(-1) * 2, x.flatten(1) + 1), torch.randn(4, 6, 3))
    # [s0, s1, 3] flattened: delinearized with the symbolic sizes as map symbols.
    assert re.search(r"affine_map<\(d0\)\[s0\] -> \(d0 floordiv s0, \(d0 floordiv 3\) mod", text) or "floordiv" in text
    assert re.search(r'"coil.view"\(%\w+(, %\w+)+\)', text), "view without symbol operands"
    assert "arith.muli" in text
    assert "affine.apply" in simplified


def test_slice_from_one():
    ((_, text, _),) = import_all(lambda x: x[1:] * 2, torch.randn(8, 4))
    assert "arith.subi" in text  # s0 - 1
    assert re.search(r"-> \(d0 \+ 1, d1\)", text)


def test_slice_symbolic_end():
    def fn(x, y):
        return x[: y.shape[0]] + y

    ((_, text, _),) = import_all(fn, torch.randn(9, 4), torch.randn(5, 4))
    assert "tensor<?x?xf32>" in text


def test_cat():
    ((_, text, _),) = import_all(lambda x, y: torch.cat([x, y], 0) * 2, torch.randn(5, 4), torch.randn(3, 4))
    assert "arith.addi" in text  # s0 + s1
    assert "arith.cmpi slt" in text


def test_mean():
    ((_, text, _),) = import_all(lambda x: x.mean(0), torch.randn(7, 3))
    assert "arith.sitofp" in text  # the symbolic count as a float divisor
    assert 'reduction_type = "sum"' in text


def test_var_std():
    ((_, text, _),) = import_all(lambda x: (x.var(1), x.std(0)), torch.randn(7, 5))
    assert "arith.maxsi" in text or "arith.subi" in text


def test_bmm_and_expand():
    def fn(a, b):
        return torch.bmm(a, b).sum(-1) + a.expand(2, -1, -1, -1).sum(0).sum(-1)

    ((_, text, _),) = import_all(fn, torch.randn(3, 4, 5), torch.randn(3, 5, 6))
    assert "aten::bmm.default" in text
    assert "tensor<?x?x?xf32>" in text


def test_creation_ops():
    def fn(x):
        n = x.shape[0]
        return x + torch.arange(n, dtype=torch.float32)[:, None] + torch.zeros(n, x.shape[1]) + torch.full((n, 1), 2.0)

    ((_, text, _),) = import_all(fn, torch.randn(6, 5))
    assert "arith.index_cast" in text


def test_size_arithmetic():
    def fn(x):
        n = x.shape[0]
        return x.view(n // 2, 2, -1).sum(1), x[: n - 1] * n

    ((_, text, _),) = import_all(fn, torch.randn(8, 3))
    assert "arith.floordivsi" in text


def test_pointwise_broadcast_permute_transpose():
    def fn(x, b):
        return (x * b).t().unsqueeze(0).squeeze(0).permute(1, 0).relu()

    ((_, text, _),) = import_all(fn, torch.randn(5, 7), torch.randn(7))
    assert "tensor<?x?xf32>" in text


def test_select_and_unsqueeze():
    ((_, text, _),) = import_all(lambda x: x[:, -1].unsqueeze(1) * x, torch.randn(5, 7))
    assert '"coil.view"' in text


def test_training_graphs():
    model = nn.Sequential(nn.Linear(12, 32), nn.LayerNorm(32), nn.GELU(), nn.Linear(32, 4))

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    forward, backward = import_all(step, torch.randn(6, 12), torch.randint(0, 4, (6,)), training=True)
    # The forward returns the batch size for the backward: a "symbol" output.
    imported = forward[0]
    (symbol,) = [o for o in imported.outputs if o.kind == "symbol"]
    assert imported.inputs[[i for i, s in enumerate(imported.inputs) if s.kind == "symbol"][0]].arg_index == symbol.index
    assert "tensor<?x32xf32>" in backward[1]


def test_contiguous_symbolic_strides():
    ((imported, text, _),) = import_all(lambda x, y: (x * 2, y.t() * 2), torch.randn(4, 6), torch.randn(5, 7))
    # x: [s0, s1] strides (s1, 1) is row-major; y.t() * 2 keeps eager's transposed layout.
    assert re.search(r"tensor<\?x\?xf32> \{coil.contiguous, coil.strides = \[-9223372036854775808, 1\]\}", text)
    assert "coil.strides = [1, -9223372036854775808]" in text


def test_unbacked_symbol_is_an_error():
    def fn(x):
        return x.nonzero() * 2

    torch._dynamo.config.capture_dynamic_output_shape_ops = True
    try:
        graphs = capture(fn, torch.randn(6) > 0)
    finally:
        torch._dynamo.config.capture_dynamic_output_shape_ops = False
    (gm, inputs), *_ = graphs
    with pytest.raises(LoweringError, match="not bound to a graph input"):
        GraphImporter(gm, inputs).run()


def test_symbols_read_from_input_shapes():
    """make_fx's symbolic tracing passes no SymInt placeholders: the symbols
    become trailing index arguments bound to input sizes (and strides)."""
    imported = trace_to_coil(lambda x, y: x.t() @ y + x.sum(), torch.randn(5, 3), torch.randn(5, 2), dynamic=True)
    with imported.context:
        assert imported.module.operation.verify()
        text = str(imported.module)
    assert sorted(imported.symbols.values()) == [("size", 0, 0), ("size", 0, 1), ("size", 1, 1)]
    for arg in imported.symbols:
        assert re.search(rf"%arg{arg}: index {{coil.size_hint = \d+ : i64, coil.symbol", text)


def test_size_materializer_arith():
    """Each kind of size expression becomes index arith, built once per expression."""
    from torch.utils._sympy import functions as symfn

    from coil.dialects import make_context
    from coil.frontend.sizes import SizeMaterializer
    from coil.mlir import func, ir

    s0, s1 = sympy.symbols("s0 s1", integer=True, positive=True)
    exprs = {
        "arith.addi": s0 + s1,
        "arith.subi": s0 - 1,
        "arith.muli": 2 * s0 * s1,
        "arith.floordivsi": symfn.FloorDiv(s0, 2),
        "arith.remsi": symfn.ModularIndexing(s0, 2, 4),
        "arith.maxsi": symfn.Max(s0, s1),
        "arith.minsi": symfn.Min(s0, 3),
    }
    with make_context(), ir.Location.unknown():
        module = ir.Module.create()
        index = ir.IndexType.get()
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("graph", ir.FunctionType.get([index, index], []))
            entry = fn.add_entry_block()
        with ir.InsertionPoint(entry):
            func.ReturnOp([])
        sizes = SizeMaterializer(entry, {s0: entry.arguments[0], s1: entry.arguments[1]})
        values = {name: sizes.size(e) for name, e in exprs.items()}
        # CeilDiv rewrites itself to FloorDiv(a + b - 1, b).
        assert sizes.size(symfn.CeilDiv(s0, s1)).owner.name in ("arith.ceildivsi", "arith.floordivsi")
        assert sizes.size(sympy.Integer(7)) == 7 and sizes.size(5) == 5
        assert sizes.size(s0) == entry.arguments[0]
        assert sizes.size(s0 + s1) == values["arith.addi"]  # memoized
        with pytest.raises(LoweringError, match="TruncToInt"):
            sizes.size(symfn.TruncToInt(symfn.ToFloat(s0)))
        with pytest.raises(LoweringError, match="not bound"):
            sizes.size(sympy.Symbol("u0", integer=True) + 1)
        assert module.operation.verify()
        ops = [op.name for op in entry.operations]
    for name, value in values.items():
        assert value.owner.name == name, (name, value.owner.name)
    # All size ops precede the graph's own ops (here: the return).
    assert ops[-1] == "func.return" and all(name.startswith("arith.") for name in ops[:-1])
