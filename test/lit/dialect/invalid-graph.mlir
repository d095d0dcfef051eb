// Every verifier error of the graph-level coil ops, one chunk each.
// RUN: %coil-opt %s --split-input-file --verify-diagnostics

func.func @pointwise_ranges_not_integers(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op 'ranges' must be an array of integers}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = ["four"]} : () -> tensor<4xf32>
  return
}

// -----

func.func @pointwise_result_not_shaped(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op result must be a ranked tensor or memref, found tensor<*xf32>}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<*xf32>
  return
}

// -----

func.func @pointwise_shape_mismatch(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op result shape [8] does not match ranges [4]}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<8xf32>
  return
}

// -----

func.func @pointwise_two_blocks(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op body must have exactly one block, found 2}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  ^bb1:
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return
}

// -----

func.func @pointwise_index_count(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op body must take 2 index arguments, one per range, found 1}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4, 2]} : () -> tensor<4x2xf32>
  return
}

// -----

func.func @pointwise_index_type(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op body argument #1 must be an index, found i64}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: i64):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4, 2]} : () -> tensor<4x2xf32>
  return
}

// -----

func.func @pointwise_no_yield(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op body must end in 'coil.yield'}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    %d = arith.addf %c, %c : f32
  }) {ranges = [4]} : () -> tensor<4xf32>
  return
}

// -----

func.func @pointwise_yields_two(%c: f32) {
  // expected-error @+1 {{'coil.pointwise' op body must yield exactly one value, found 2}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c, %c) : (f32, f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return
}

// -----

func.func @pointwise_yield_type(%c: f16) {
  // expected-error @+1 {{'coil.pointwise' op body yields f16 but the result's element type needs f32}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f16) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return
}

// -----

// Unsigned tensors are computed with signless scalars.
func.func @pointwise_unsigned_needs_signless(%c: ui8) {
  // expected-error @+1 {{'coil.pointwise' op body yields ui8 but the result's element type needs i8}}
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (ui8) -> ()
  }) {ranges = [4]} : () -> tensor<4xui8>
  return
}

// -----

func.func @reduction_unknown_type(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op reduction_type 'mean' is not one of sum, prod, max, min, argmax, argmin, any, xor_sum, welford}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "mean"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_ranges_not_integers(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op 'ranges' and 'reduction_ranges' must be arrays of integers}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8.0], reduction_type = "sum"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_no_reduction_ranges(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op 'reduction_ranges' must not be empty}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [], reduction_type = "sum"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_welford_one_result(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op 'welford' produces 3 results, found 1}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "welford"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_sum_two_results(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op 'sum' produces 1 results, found 2}}
  %0:2 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @reduction_result_shape(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op result #1 shape [2] does not match ranges [4]}}
  %0:3 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "welford"} : () -> (tensor<4xf32>, tensor<2xf32>, tensor<4xf32>)
  return
}

// -----

func.func @reduction_result_not_shaped(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op result #0 must be a ranked tensor or memref, found f32}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [], reduction_ranges = [8], reduction_type = "sum"} : () -> f32
  return
}

// -----

func.func @reduction_index_count(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op body must take 3 index arguments, one per range, found 2}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [2, 4], reduction_type = "sum"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_no_yield(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op body must end in 'coil.yield'}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %d = arith.addf %c, %c : f32
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_yields_none() {
  // expected-error @+1 {{'coil.reduction' op body must yield exactly one value, found 0}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  return
}

// -----

func.func @reduction_argmax_not_i64(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op 'argmax' result must have i64 elements, found i32}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "argmax"} : () -> tensor<4xi32>
  return
}

// -----

func.func @reduction_any_not_i1(%c: i1) {
  // expected-error @+1 {{'coil.reduction' op 'any' result must have i1 elements, found i8}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (i1) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "any"} : () -> tensor<4xi8>
  return
}

// -----

func.func @reduction_element_type(%c: f32) {
  // expected-error @+1 {{'coil.reduction' op result #0 element type f16 does not match the reduced f32}}
  %0 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "max"} : () -> tensor<4xf16>
  return
}

// -----

func.func @load_not_shaped(%c: f32, %i: index) {
  // expected-error @+1 {{'coil.load' op source must be a ranked tensor or memref, found f32}}
  %0 = "coil.load"(%c, %i) : (f32, index) -> f32
  return
}

// -----

func.func @load_index_count(%x: tensor<4x8xf32>, %i: index) {
  // expected-error @+1 {{'coil.load' op expects 2 indices for a rank-2 source, found 1}}
  %0 = "coil.load"(%x, %i) : (tensor<4x8xf32>, index) -> f32
  return
}

// -----

func.func @load_result_type(%x: tensor<4xui8>, %i: index) {
  // expected-error @+1 {{'coil.load' op result type ui8 must be i8}}
  %0 = "coil.load"(%x, %i) : (tensor<4xui8>, index) -> ui8
  return
}

// -----

func.func @view_not_shaped(%x: tensor<*xf32>) {
  // expected-error @+1 {{'coil.view' op source and result must be ranked tensors or memrefs}}
  %0 = "coil.view"(%x) {map = affine_map<(d0) -> (d0)>} : (tensor<*xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @view_element_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.view' op element type changes from f32 to f16}}
  %0 = "coil.view"(%x) {map = affine_map<(d0) -> (d0)>} : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

func.func @view_map_dims(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'coil.view' op map has 2 dimensions but the result has rank 1}}
  %0 = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @view_map_results(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'coil.view' op map has 1 results but the source has rank 2}}
  %0 = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d0)>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @view_map_symbols(%x: tensor<16xf32>) {
  // expected-error @+1 {{'coil.view' op map has 1 symbols and the result 0 dynamic sizes, but 0 index operands are given}}
  %0 = "coil.view"(%x) {map = affine_map<(d0)[s0] -> (d0 + s0)>} : (tensor<16xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @arg_outside_region(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.arg' op must be directly inside 'coil.extern' or 'coil.launch'}}
  "coil.arg"(%x) : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @arg_nested_too_deep(%x: tensor<4xf32>, %c: f32) {
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    // expected-error @+1 {{'coil.arg' op must be directly inside 'coil.extern' or 'coil.launch'}}
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_kernel_name(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op kernel 'torch.relu' is not an operator name of the form 'namespace::name.overload'}}
  %0 = "coil.extern"() ({
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "torch.relu", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_no_block() {
  // expected-error @+1 {{'coil.extern' op argument region must have exactly one block, found 0}}
  %0 = "coil.extern"() ({
  }) {kernel = "aten::rand.default", args = [], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_block_arguments(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op argument region must take no block arguments}}
  %0 = "coil.extern"() ({
  ^bb0(%i: index):
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::relu.default", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_yield_values(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op argument region must end in a 'coil.yield' with no values}}
  %0 = "coil.extern"() ({
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"(%x) : (tensor<4xf32>) -> ()
  }) {kernel = "aten::relu.default", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_other_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op argument region may hold only 'coil.arg', found 'arith.constant'}}
  %0 = "coil.extern"() ({
    %c = arith.constant 1 : i64
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::relu.default", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_operand_out_of_range(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op argument refers to operand #1 but there are 1}}
  %0 = "coil.extern"() ({
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::add.Tensor", args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

// Operand references in keyword arguments count too.
func.func @extern_kwarg_out_of_range(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op argument refers to operand #3 but there are 1}}
  %0 = "coil.extern"() ({
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::add.Tensor", args = [#coil.operand<0 : i64>], kwargs = {other = #coil.operand<3 : i64>}} : () -> tensor<4xf32>
  return
}

// -----

func.func @extern_unused_operand(%x: tensor<4xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'coil.extern' op operand #1 is not used by any argument}}
  %0 = "coil.extern"() ({
    "coil.arg"(%x) : (tensor<4xf32>) -> ()
    "coil.arg"(%y) : (tensor<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::relu.default", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4xf32>
  return
}

// -----

func.func @get_not_tuple(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.get' op source must be a tuple, found tensor<4xf32>}}
  %0 = "coil.get"(%x) {index = 0 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @get_out_of_range(%t: tuple<tensor<4xf32>, tensor<4xi64>>) {
  // expected-error @+1 {{'coil.get' op index 2 is out of range for a tuple of 2}}
  %0 = "coil.get"(%t) {index = 2 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xf32>
  return
}

// -----

func.func @get_result_type(%t: tuple<tensor<4xf32>, tensor<4xi64>>) {
  // expected-error @+1 {{'coil.get' op result type tensor<4xf32> must be tensor<4xi64>}}
  %0 = "coil.get"(%t) {index = 1 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xf32>
  return
}
