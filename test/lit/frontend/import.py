# RUN: %python %s | filecheck %s
# Import of representative graphs: the coil IR the FX importer builds.

import torch

from coil.frontend.trace import trace_to_coil


def run(fn):
    print(f"// TEST: {fn.__name__}")
    fn()
    return fn


# CHECK-LABEL: // TEST: broadcast_add
# CHECK: func.func @graph(%[[X:.*]]: tensor<4x8xf32> {coil.strides = [8, 1]}, %[[Y:.*]]: tensor<8xf32> {coil.strides = [1]}) -> (tensor<4x8xf32> {coil.strides = [8, 1]})
# CHECK: "coil.pointwise"() ({
# CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
# CHECK-NEXT: %[[A:.*]] = "coil.load"(%[[X]], %[[I]], %[[J]]) : (tensor<4x8xf32>, index, index) -> f32
# CHECK-NEXT: %[[B:.*]] = "coil.load"(%[[Y]], %[[J]]) : (tensor<8xf32>, index) -> f32
# CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
# CHECK-NEXT: "coil.yield"(%[[S]]) : (f32) -> ()
# CHECK-NEXT: }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
@run
def broadcast_add():
    print(trace_to_coil(lambda x, y: x + y, torch.randn(4, 8), torch.randn(8)).module)


# CHECK-LABEL: // TEST: half_precision_computes_in_f32
# CHECK: "coil.load"({{.*}}) : (tensor<16xf16>, index) -> f16
# CHECK-NEXT: arith.extf {{.*}} : f16 to f32
# CHECK-NEXT: math.exp {{.*}} : f32
# CHECK-NEXT: arith.truncf {{.*}} : f32 to f16
# CHECK-NEXT: "coil.yield"({{.*}}) : (f16) -> ()
@run
def half_precision_computes_in_f32():
    print(trace_to_coil(torch.exp, torch.randn(16, dtype=torch.float16)).module)


# CHECK-LABEL: // TEST: softmax
# CHECK: "coil.reduction"() ({
# CHECK: }) {ranges = [4, 1], reduction_ranges = [8], reduction_type = "max"} : () -> tensor<4x1xf32>
# CHECK: math.exp
# CHECK: "coil.reduction"() ({
# CHECK: }) {ranges = [4, 1], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4x1xf32>
# CHECK: arith.divf
@run
def softmax():
    print(trace_to_coil(lambda x: torch.softmax(x, -1), torch.randn(4, 8)).module)


# CHECK-LABEL: // TEST: views
# CHECK: "coil.view"(%{{.*}}) {map = #{{.*}}} : (tensor<4x6xf32>) -> tensor<6x4xf32>
# CHECK: "coil.view"(%{{.*}}) {map = #{{.*}}} : (tensor<6x4xf32>) -> tensor<2x12xf32>
@run
def views():
    print(trace_to_coil(lambda x: x.t().reshape(2, 12) * 2, torch.randn(4, 6)).module)


# CHECK-LABEL: // TEST: unsupported_op_is_extern
# CHECK: "coil.extern"() ({
# CHECK-NEXT: "coil.arg"(%{{.*}}) : (tensor<4x8xf32>) -> ()
# CHECK-NEXT: "coil.arg"(%{{.*}}) : (tensor<8x3xf32>) -> ()
# CHECK-NEXT: "coil.yield"() : () -> ()
# CHECK-NEXT: }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], coil.result_strides = {{\[\[}}3, 1]], kernel = "aten::mm.default", kwargs = {}} : () -> tensor<4x3xf32>
@run
def unsupported_op_is_extern():
    print(trace_to_coil(torch.mm, torch.randn(4, 8), torch.randn(8, 3)).module)


# CHECK-LABEL: // TEST: argmax_and_indirect_load
# CHECK: reduction_type = "argmax"} : () -> tensor<4xi64>
# CHECK: arith.index_cast %{{.*}} : i64 to index
# CHECK: "coil.load"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<10x3xf32>, index, index) -> f32
@run
def argmax_and_indirect_load():
    table = torch.randn(10, 3)
    print(trace_to_coil(lambda x, t: (x.argmax(1), t[x.argmax(1)]), torch.randn(4, 10), table).module)
