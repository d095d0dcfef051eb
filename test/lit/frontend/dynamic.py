# RUN: %python %s | filecheck %s
# Import of graphs with symbolic sizes: what torch.compile(dynamic=True) hands
# coil (FakeTensors with SymInt sizes, SymInt placeholders) becomes @graph with
# `index` arguments for Dynamo's symbols, `?` dims, derived sizes built once
# with arith at the top, and `sizes` operands on pointwise and reduction ops.

import torch
import torch._dynamo
from torch._dynamo.backends.common import aot_autograd

from coil.frontend.decompositions import decomposition_table
from coil.frontend.importer import GraphImporter
from coil.frontend.trace import trace_to_coil


def run(fn):
    print(f"// TEST: {fn.__name__}")
    fn()
    return fn


def show(fn, *inputs):
    """Prints the import of each forward graph of fn compiled with dynamic=True."""
    graphs = []

    def compiler(gm, example_inputs):
        graphs.append((gm, list(example_inputs)))
        return gm

    torch._dynamo.reset()
    backend = aot_autograd(fw_compiler=compiler, decompositions=decomposition_table())
    with torch.no_grad():
        torch.compile(fn, backend=backend, dynamic=True)(*inputs)
    for gm, example_inputs in graphs:
        imported = GraphImporter(gm, example_inputs).run()
        with imported.context:
            print(imported.module)
        print("// symbols:", imported.symbols)


# CHECK-LABEL: // TEST: broadcast_add
# Symbolic strides that are the row-major ones of the symbolic shape: coil.contiguous.
# CHECK: func.func @graph(%[[N:.*]]: index {coil.size_hint = 4 : i64, coil.symbol = "[[S:s[0-9]+]]"}, %[[M:.*]]: index {coil.size_hint = 8 : i64, coil.symbol = "s{{[0-9]+}}"}, %[[X:.*]]: tensor<?x?xf32> {coil.contiguous, coil.strides = [-9223372036854775808, 1]}, %[[Y:.*]]: tensor<?xf32> {coil.strides = [1]}) -> (tensor<?x?xf32> {coil.contiguous, coil.strides = [-9223372036854775808, 1]})
# CHECK: "coil.pointwise"(%[[N]], %[[M]]) ({
# CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
# CHECK-NEXT: "coil.load"(%[[X]], %[[I]], %[[J]]) : (tensor<?x?xf32>, index, index) -> f32
# CHECK-NEXT: "coil.load"(%[[Y]], %[[J]]) : (tensor<?xf32>, index) -> f32
# CHECK: }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
# CHECK: // symbols: {0: ('input', 0), 1: ('input', 1)}
@run
def broadcast_add():
    show(lambda x, y: x + y, torch.randn(4, 8), torch.randn(8))


# CHECK-LABEL: // TEST: softmax_static_row
# CHECK: func.func @graph(%[[N:.*]]: index {{{.*}}coil.symbol = "s{{[0-9]+}}"}, %{{.*}}: tensor<?x10xf32>
# CHECK: "coil.reduction"(%[[N]]) ({
# CHECK: }) {ranges = [-9223372036854775808, 1], reduction_ranges = [10], reduction_type = "max"} : (index) -> tensor<?x1xf32>
# CHECK: math.exp
# CHECK: "coil.reduction"(%[[N]]) ({
# CHECK: }) {ranges = [-9223372036854775808, 1], reduction_ranges = [10], reduction_type = "sum"} : (index) -> tensor<?x1xf32>
@run
def softmax_static_row():
    x = torch.randn(4, 10)
    torch._dynamo.mark_static(x, 1)
    show(lambda x: torch.softmax(x, -1), x)


# Derived sizes: built once at the top of @graph from the symbol arguments.
# CHECK-LABEL: // TEST: flatten_and_slice
# CHECK: #[[FLAT:.*]] = affine_map<(d0)[s0] -> (d0 floordiv s0, d0 mod s0)>
# CHECK: #[[SLICE:.*]] = affine_map<(d0, d1) -> (d0 + 1, d1)>
# CHECK: func.func @graph(%[[N:.*]]: index {{.*}}, %[[M:.*]]: index {{.*}}, %[[X:.*]]: tensor<?x?xf32>
# CHECK-NEXT: %[[NM:.*]] = arith.muli %[[M]], %[[N]] : index
# CHECK-NEXT: %[[C1:.*]] = arith.constant 1 : index
# CHECK-NEXT: %[[NM1:.*]] = arith.subi %[[N]], %[[C1]] : index
# CHECK: "coil.view"(%[[X]], %[[M]], %[[NM]]) {map = #[[FLAT]]} : (tensor<?x?xf32>, index, index) -> tensor<?xf32>
# CHECK: "coil.pointwise"(%[[NM]]) ({
# CHECK: "coil.view"(%[[X]], %[[NM1]], %[[M]]) {map = #[[SLICE]]} : (tensor<?x?xf32>, index, index) -> tensor<?x?xf32>
# CHECK: "coil.pointwise"(%[[NM1]], %[[M]]) ({
@run
def flatten_and_slice():
    show(lambda x: (x.flatten() * 2, x[1:] * 3), torch.randn(6, 5))


# CHECK-LABEL: // TEST: mean_divides_by_symbolic_count
# CHECK: func.func @graph(%[[N:.*]]: index {{.*}}, %[[M:.*]]: index {{.*}}, %[[X:.*]]: tensor<?x?xf32>
# CHECK: "coil.reduction"(%[[M]], %[[N]]) ({
# CHECK: }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808], reduction_type = "sum"} : (index, index) -> tensor<?xf32>
# CHECK: "coil.pointwise"(%[[M]]) ({
# CHECK: %[[I:.*]] = arith.index_cast %[[N]] : index to i64
# CHECK-NEXT: %[[F:.*]] = arith.sitofp %[[I]] : i64 to f32
# CHECK-NEXT: arith.divf %{{.*}}, %[[F]] : f32
@run
def mean_divides_by_symbolic_count():
    show(lambda x: x.mean(0), torch.randn(7, 3))


# CHECK-LABEL: // TEST: cat_and_matmul
# CHECK: func.func @graph(%[[N:.*]]: index {{.*}}, %[[K:.*]]: index {{.*}}, %[[X:.*]]: tensor<?x?xf32> {{.*}}, %[[M:.*]]: index {{.*}}, %[[Y:.*]]: tensor<?x?xf32>
# CHECK: %[[TOTAL:.*]] = arith.addi %[[M]], %[[N]] : index
# CHECK: "coil.pointwise"(%[[TOTAL]], %[[K]]) ({
# CHECK: arith.cmpi slt, %{{.*}}, %[[N]] : index
# CHECK: }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
# CHECK: "coil.extern"() ({
# CHECK: coil.result_contiguous = [true], coil.result_strides = {{\[\[}}-9223372036854775808, 1]], kernel = "aten::mm.default"{{.*}} : () -> tensor<?x?xf32>
@run
def cat_and_matmul():
    show(lambda x, y: (torch.cat([x, y]) * 2, x @ y.t()), torch.randn(5, 4), torch.randn(3, 4))


# Symbols that only input shapes carry (make_fx's symbolic tracing has no SymInt
# placeholders): trailing index arguments, read from the tensors' sizes.
# CHECK-LABEL: // TEST: symbols_from_input_shapes
# CHECK: func.func @graph(%[[X:.*]]: tensor<?x?xf32> {coil.contiguous, coil.strides = [-9223372036854775808, 1]}, %[[Y:.*]]: tensor<?xf32> {coil.strides = [1]}, %[[N:.*]]: index {coil.size_hint = 4 : i64, coil.symbol = "s{{[0-9]+}}"}, %[[M:.*]]: index {coil.size_hint = 8 : i64, coil.symbol = "s{{[0-9]+}}"}) -> (tensor<?xf32> {coil.strides = [1]})
# CHECK: "coil.reduction"(%[[N]], %[[M]]) ({
# CHECK: }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808], reduction_type = "sum"} : (index, index) -> tensor<?xf32>
# CHECK: // symbols: {2: ('size', 0, 0), 3: ('size', 0, 1)}
@run
def symbols_from_input_shapes():
    imported = trace_to_coil(lambda x, y: (x + y).sum(1), torch.randn(4, 8), torch.randn(8), dynamic=True)
    with imported.context:
        print(imported.module)
    print("// symbols:", imported.symbols)
