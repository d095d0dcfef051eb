// RUN: %coil-opt %s --split-input-file --coil-split-reductions | filecheck %s

// A reduction with a symbolic range is left whole: the split factor and the
// chunk length would depend on the size. (Static, x.sum() of 2^20 elements
// splits; see split-reductions.mlir.)

func.func @graph(%x: tensor<?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 1048576 : i64}) -> tensor<1xf32> attributes {coil.device = "cuda"} {
  %s = "coil.reduction"(%s0) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r) : (tensor<?xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [1], reduction_ranges = [-9223372036854775808], reduction_type = "sum"} : (index) -> tensor<1xf32>
  return %s : tensor<1xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT: "coil.reduction"
// CHECK: reduction_ranges = [-9223372036854775808], reduction_type = "sum"

// -----

// A symbolic output size (few rows of a long static range) is left whole too.

func.func @graph(%x: tensor<?x1048576xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 2 : i64}) -> tensor<?xf32> attributes {coil.device = "cuda"} {
  %s = "coil.reduction"(%s0) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<?x1048576xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [1048576], reduction_type = "max"} : (index) -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT: "coil.reduction"
// CHECK: reduction_ranges = [1048576], reduction_type = "max"
