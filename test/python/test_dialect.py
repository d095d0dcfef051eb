"""The coil dialect through the Python API: builders, verifiers, round trips.

The lit tests (test/lit/dialect) pin the text of every verifier message; these
check the same invariants from Python, the way passes and the importer meet
them: build ops with the builders, break one invariant through the API, and
`op.verify()` must fail with the right message at the op's location.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from coil.dialects import (
    ALL_OPS,
    ArgOp,
    REDUCTION_RESULT_COUNT,
    REDUCTION_TYPES,
    builders as b,
    make_context,
)
from coil.dialects.builders import i64_array
from coil.mlir import arith, func, ir

LOCATION = ("builders.py", 7, 3)


@pytest.fixture
def context():
    ctx = make_context()
    with ctx, ir.Location.file(*LOCATION):
        yield ctx


def f32() -> ir.Type:
    return ir.F32Type.get()


def i64() -> ir.Type:
    return ir.IntegerType.get_signless(64)


def tensor(shape, element=None) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(shape), element or f32())


def memref(shape, element=None) -> ir.MemRefType:
    return ir.MemRefType.get(list(shape), element or f32())


def in_function(module: ir.Module, name: str, arg_types: list[ir.Type], body: Callable[..., None]) -> func.FuncOp:
    """A `func.func` in `module` whose body `body(*args)` builds (then `return`)."""
    with ir.InsertionPoint(module.body):
        fn = func.FuncOp(name, (arg_types, []))
        block = fn.add_entry_block()
    with ir.InsertionPoint(block):
        body(*block.arguments)
        func.ReturnOp([])
    return fn


def graph_module() -> tuple[ir.Module, dict[str, ir.OpView]]:
    """A module using every graph-level builder; returns it and one op of each kind."""
    module = ir.Module.create()
    ops: dict[str, ir.OpView] = {}

    def body(x, y):
        transposed = b.view(x, ir.AffineMap.get_permutation([1, 0]), [8, 4])
        ops["view"] = transposed.owner
        exp = b.pointwise([8, 4], f32(), lambda idx: _exp(b.load(transposed, idx)))
        ops["pointwise"] = exp.owner
        ops["load"] = _first_op(exp.owner, "coil.load")
        ops["yield"] = _first_op(exp.owner, "coil.yield")
        (total,) = b.reduction([8], [4], "sum", [f32()], lambda i, r: b.load(exp, i + r))
        ops["reduction"] = total.owner
        welford = b.reduction([8], [4], "welford", [f32()] * 3, lambda i, r: b.load(exp, i + r))
        assert len(welford) == 3
        ops["welford"] = welford[0].owner
        b.reduction([8], [4], "argmax", [i64()], lambda i, r: b.load(exp, i + r))
        values, indices = b.extern(
            "aten::max.dim", [x, y], [b.OperandRef(0), 1, False], {"other": b.OperandRef(1)},
            [tensor([4]), tensor([4], i64())],
        )
        ops["extern"] = values.owner.operands[0].owner
        ops["get"] = indices.owner
        ops["arg"] = _first_op(ops["extern"], "coil.arg")

    in_function(module, "graph", [tensor([4, 8]), tensor([4, 8])], body)
    return module, ops


def kernel_module() -> tuple[ir.Module, dict[str, ir.OpView]]:
    """A kernel and a host function using every kernel-level builder."""
    module = ir.Module.create()
    ops: dict[str, ir.OpView] = {}

    def kernel(inp, out):
        def loop_body(i, r):
            value = b.load(inp, i + r)
            (total,) = b.reduce(value, "sum", [f32()])
            ops["reduce"] = total.owner
            ops["store"] = b.store(total, out, i)

        ops["loop_nest"] = b.loop_nest([4], [8], loop_body)

    def host(inp):
        out = b.alloc(memref([4]), "cpu")
        ops["alloc"] = out.owner
        ops["launch"] = b.launch("kernel", [inp, out])
        reused = b.reuse(out, memref([2, 2]))
        ops["reuse"] = reused.owner
        ops["dealloc"] = b.dealloc(reused)

    in_function(module, "kernel", [memref([4, 8]), memref([4])], kernel)
    in_function(module, "host", [memref([4, 8])], host)
    return module, ops


def _exp(value: ir.Value) -> ir.Value:
    from coil.mlir import math

    return math.exp(value)


def _first_op(root: ir.OpView, name: str) -> ir.OpView:
    found = []

    def visit(op):
        if op.name == name and not found:
            found.append(op.opview)
        return ir.WalkResult.ADVANCE

    root.operation.walk(visit)
    return found[0]


def op_names(module: ir.Module) -> list[str]:
    names = []
    module.operation.walk(lambda op: (names.append(op.name), ir.WalkResult.ADVANCE)[1])
    return names


def verify_error(op: ir.OpView) -> tuple[str, str]:
    """The error `op.verify()` reports: (location, message). Fails the test if it verifies."""
    with pytest.raises(ir.MLIRError) as caught:
        op.verify()
    diagnostics = caught.value.error_diagnostics
    assert diagnostics, str(caught.value)
    return str(diagnostics[0].location), diagnostics[0].message


# ---------------------------------------------------------------------------
# Builders


def test_graph_builders_produce_verified_ir(context):
    module, _ = graph_module()
    assert module.operation.verify()
    names = op_names(module)
    assert names.count("coil.view") == 1
    assert names.count("coil.pointwise") == 1
    assert names.count("coil.reduction") == 3
    assert names.count("coil.extern") == 1
    assert names.count("coil.arg") == 2
    assert names.count("coil.get") == 2
    assert names.count("coil.load") == 4


def test_kernel_builders_produce_verified_ir(context):
    module, ops = kernel_module()
    assert module.operation.verify()
    names = op_names(module)
    for name in ("coil.loop_nest", "coil.reduce", "coil.store", "coil.alloc", "coil.launch", "coil.reuse",
                 "coil.dealloc"):
        assert names.count(name) == 1, name
    assert str(ops["launch"].attributes["kernel"]) == "@kernel"


def test_builders_cover_every_op(context):
    """Between them, the two modules use every op of the dialect."""
    graph, _ = graph_module()
    kernel, _ = kernel_module()
    used = set(op_names(graph)) | set(op_names(kernel))
    assert {op.OPERATION_NAME for op in ALL_OPS} <= used


def test_builders_write_no_segment_sizes(context):
    """The builders drop operandSegmentSizes, so built IR prints as hand-written IR reads."""
    module, _ = graph_module()
    assert "SegmentSizes" not in str(module)


def test_extern_arguments_become_attributes(context):
    _, ops = graph_module()
    extern = ops["extern"]
    assert extern.attributes["kernel"].value == "aten::max.dim"
    assert str(extern.attributes["args"]) == "[#coil.operand<0 : i64>, 1, false]"
    assert str(extern.attributes["kwargs"]) == "{other = #coil.operand<1 : i64>}"
    assert str(extern.results[0].type) == "tuple<tensor<4xf32>, tensor<4xi64>>"


# The bindings' ext op builder treats an empty ArrayAttr or DictAttr as a missing
# attribute (`if attr:`); the builders work around it, and these keep it so.
@pytest.mark.parametrize("case", ["extern_without_kwargs", "loop_nest_without_reduction", "pointwise_0d"])
def test_builders_accept_empty_attributes(context, case):
    module = ir.Module.create()

    def body(x, out):
        if case == "extern_without_kwargs":
            b.extern("aten::relu.default", [x], [b.OperandRef(0)], {}, [tensor([4])])
        elif case == "loop_nest_without_reduction":
            b.loop_nest([4], [], lambda i, r: b.store(b.load(out, i), out, i))
        else:
            b.pointwise([], f32(), lambda idx: arith.constant(f32(), 1.0))

    in_function(module, "f", [tensor([4]), memref([4])], body)
    assert module.operation.verify()


# ---------------------------------------------------------------------------
# Round trip


def test_built_module_round_trips_through_text(context):
    for build in (graph_module, kernel_module):
        module, _ = build()
        text = str(module)
        reparsed = ir.Module.parse(text)
        assert reparsed.operation.verify()
        assert str(reparsed) == text
        generic = module.operation.get_asm(print_generic_op_form=True)
        assert str(ir.Module.parse(generic)) == text


# ---------------------------------------------------------------------------
# Reduction types


def test_reduction_type_set():
    assert REDUCTION_TYPES == ("sum", "prod", "max", "min", "argmax", "argmin", "any", "xor_sum", "welford")
    assert REDUCTION_RESULT_COUNT == {t: (3 if t == "welford" else 1) for t in REDUCTION_TYPES}


def _element_types_for(reduction_type: str) -> tuple[ir.Type, list[ir.Type]]:
    """(the type the body yields, the result element types) that make `reduction_type` valid."""
    if reduction_type in ("argmax", "argmin"):
        return f32(), [i64()]
    if reduction_type == "any":
        i1 = ir.IntegerType.get_signless(1)
        return i1, [i1]
    if reduction_type == "xor_sum":
        return i64(), [i64()]
    return f32(), [f32()] * REDUCTION_RESULT_COUNT[reduction_type]


@pytest.mark.parametrize("reduction_type", REDUCTION_TYPES)
def test_every_reduction_type_verifies(context, reduction_type):
    value_type, result_types = _element_types_for(reduction_type)
    module = ir.Module.create()

    def body(x):
        results = b.reduction([4], [8], reduction_type, result_types, lambda i, r: b.load(x, i + r))
        assert len(results) == REDUCTION_RESULT_COUNT[reduction_type]

    in_function(module, "f", [tensor([4, 8], value_type)], body)
    assert module.operation.verify()


def test_unknown_reduction_type_is_rejected(context):
    _, ops = graph_module()
    op = ops["reduction"]
    op.attributes["reduction_type"] = ir.StringAttr.get("mean")
    location, message = verify_error(op)
    assert message == (
        "'coil.reduction' op reduction_type 'mean' is not one of "
        "sum, prod, max, min, argmax, argmin, any, xor_sum, welford"
    )
    assert location == 'loc("builders.py":7:3)'


# ---------------------------------------------------------------------------
# Verifiers: each op, one invariant broken through the API


def _set(name: str, attr: Callable[[], ir.Attribute]):
    def mutate(op):
        op.attributes[name] = attr()

    return mutate


def _retype_result(new_type: Callable[[], ir.Type], index: int = 0):
    def mutate(op):
        op.results[index].set_type(new_type())

    return mutate


def _set_operand(index: int, new_value: Callable[[ir.OpView], ir.Value]):
    def mutate(op):
        op.operands[index] = new_value(op)

    return mutate


def _function_argument(op: ir.OpView, index: int) -> ir.Value:
    parent = op.operation.parent
    while parent.name != "func.func":
        parent = parent.parent
    return parent.regions[0].blocks[0].arguments[index]


def _erase_first(name: str):
    def mutate(op):
        _first_op(op, name).operation.erase()

    return mutate


GRAPH_CASES = [
    ("pointwise", _set("ranges", lambda: i64_array([8])), "'coil.pointwise' op result shape [8, 4] does not match ranges [8]"),
    ("pointwise", _retype_result(lambda: tensor([8, 4], ir.F16Type.get())),
     "'coil.pointwise' op body yields f32 but the result's element type needs f16"),
    ("reduction", _set("reduction_ranges", lambda: i64_array([])), "'coil.reduction' op 'reduction_ranges' must not be empty"),
    ("welford", _set("reduction_type", lambda: ir.StringAttr.get("sum")), "'coil.reduction' op 'sum' produces 1 results, found 3"),
    ("reduction", _retype_result(lambda: tensor([8], i64())),
     "'coil.reduction' op result #0 element type i64 does not match the reduced f32"),
    ("load", _retype_result(lambda: i64()), "'coil.load' op result type i64 must be f32"),
    ("view", _set("map", lambda: ir.AffineMapAttr.get(ir.AffineMap.get_permutation([2, 1, 0]))),
     "'coil.view' op map has 3 dimensions but the result has rank 2"),
    ("view", _retype_result(lambda: tensor([8, 4], ir.F16Type.get())), "'coil.view' op element type changes from f32 to f16"),
    ("extern", _set("kernel", lambda: ir.StringAttr.get("max")),
     "'coil.extern' op kernel 'max' is not an operator name of the form 'namespace::name.overload'"),
    ("extern", _set("kwargs", lambda: ir.DictAttr.get({})), "'coil.extern' op operand #1 is not used by any argument"),
    ("extern", _erase_first("coil.arg"), "'coil.extern' op argument refers to operand #1 but there are 1"),
    ("get", _set("index", lambda: ir.IntegerAttr.get(i64(), 2)), "'coil.get' op index 2 is out of range for a tuple of 2"),
    ("get", _retype_result(lambda: tensor([4])), "'coil.get' op result type tensor<4xf32> must be tensor<4xi64>"),
]
KERNEL_CASES = [
    ("loop_nest", _set("reduction_ranges", lambda: i64_array([8, 2])),
     "'coil.loop_nest' op body must take 3 index arguments, one per range, found 2"),
    ("reduce", _set("reduction_type", lambda: ir.StringAttr.get("argmax")),
     "'coil.reduce' op 'argmax' result must have i64 elements, found f32"),
    ("store", _set_operand(1, lambda op: _function_argument(op, 0)),
     "'coil.store' op expects 2 indices for a rank-2 buffer, found 1"),
    ("alloc", _set("device", lambda: ir.StringAttr.get("")), "'coil.alloc' op device must not be empty"),
    ("alloc", _retype_result(lambda: tensor([4])), "'coil.alloc' op result must be a memref, found tensor<4xf32>"),
    ("reuse", _retype_result(lambda: memref([3])), "'coil.reuse' op cannot reuse a buffer of 4 elements for one of 3"),
    ("launch", _set("kernel", lambda: ir.FlatSymbolRefAttr.get("missing")), "'coil.launch' op kernel '@missing' does not exist"),
    ("launch", _erase_first("coil.arg"),
     "'coil.launch' op arguments (memref<4xf32>) do not match kernel '@kernel' (memref<4x8xf32>, memref<4xf32>)"),
]


def _case_id(case) -> str:
    return f"{case[0]}: {case[2].split(' op ', 1)[1][:40]}"


@pytest.mark.parametrize("case", GRAPH_CASES, ids=_case_id)
def test_graph_verifier_rejects(context, case):
    which, mutate, expected = case
    _, ops = graph_module()
    op = ops[which]
    assert op.verify()
    mutate(op)
    location, message = verify_error(op)
    assert message == expected
    assert location == 'loc("builders.py":7:3)'


@pytest.mark.parametrize("case", KERNEL_CASES, ids=_case_id)
def test_kernel_verifier_rejects(context, case):
    which, mutate, expected = case
    module, ops = kernel_module()
    op = ops[which]
    assert module.operation.verify()
    mutate(op)
    # launch checks its callee, which it finds through the enclosing module.
    location, message = verify_error(module.operation if which == "launch" else op)
    assert message == expected
    assert location == 'loc("builders.py":7:3)'


def test_arg_outside_extern_is_rejected(context):
    module = ir.Module.create()
    in_function(module, "f", [tensor([4])], lambda x: ArgOp(value=x))
    location, message = verify_error(module.operation)
    assert message == "'coil.arg' op must be directly inside 'coil.extern' or 'coil.launch'"


def test_dealloc_of_tensor_is_rejected(context):
    module = ir.Module.create()
    in_function(module, "f", [tensor([4])], lambda x: b.dealloc(x))
    _, message = verify_error(module.operation)
    assert message == "'coil.dealloc' op operand must be a memref, found tensor<4xf32>"


def test_yield_is_a_terminator(context):
    _, ops = graph_module()
    assert ops["yield"].operation.name == "coil.yield"
    block = ops["yield"].operation.block
    assert list(block.operations)[-1].operation.name == "coil.yield"
    # A body whose yield is removed no longer verifies.
    pointwise = ops["pointwise"]
    ops["yield"].operation.erase()
    _, message = verify_error(pointwise)
    assert message == "'coil.pointwise' op body must end in 'coil.yield'"


def test_parse_rejects_with_file_location(context):
    """Parsing runs the verifiers too, and the error points into the parsed file."""
    text = (
        "func.func @f() {\n"
        '  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>\n'
        "  return\n"
        "}\n"
    )
    with pytest.raises(ir.MLIRError) as caught:
        ir.Operation.parse(text, source_name="host.mlir")
    (d,) = caught.value.error_diagnostics
    assert str(d.location) == 'loc("host.mlir":2:8)'
    assert d.message == "'coil.alloc' op device must not be empty"


def test_missing_attribute_is_a_diagnostic(context):
    with pytest.raises(ir.MLIRError):
        ir.Operation.parse('"coil.alloc"() : () -> memref<4xf32>', source_name="a.mlir")


def test_launch_of_non_function_is_a_diagnostic(context):
    text = (
        "module {\n"
        "  memref.global @g : memref<4xf32>\n"
        "  func.func @f(%a: memref<4xf32>) {\n"
        '    "coil.launch"() ({\n'
        '      "coil.arg"(%a) : (memref<4xf32>) -> ()\n'
        '      "coil.yield"() : () -> ()\n'
        "    }) {kernel = @g} : () -> ()\n"
        "    return\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(ir.MLIRError):
        ir.Operation.parse(text, source_name="a.mlir")
