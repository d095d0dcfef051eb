// RUN: %coil-opt %s --split-input-file --coil-fold-views | filecheck %s

// A view whose map has symbols folds into the load: one affine.apply per
// source index, with the view's symbol operands.

func.func @graph(%x: tensor<?x?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 4 : i64}) -> tensor<?xf32> attributes {coil.device = "cpu"} {
  %n = arith.muli %s0, %s1 : index
  %flat = "coil.view"(%x, %s1) {map = affine_map<(d0)[s0] -> (d0 floordiv s0, d0 mod s0)>} : (tensor<?x?xf32>, index) -> tensor<?xf32>
  %y = "coil.pointwise"(%n) ({
  ^bb0(%i: index):
    %v = "coil.load"(%flat, %i) : (tensor<?xf32>, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808]} : (index) -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// CHECK-DAG: #[[DIV:.*]] = affine_map<(d0)[s0] -> (d0 floordiv s0)>
// CHECK-DAG: #[[MOD:.*]] = affine_map<(d0)[s0] -> (d0 mod s0)>
// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?xf32>, %[[S0:[^:]*]]: index {{.*}}, %[[S1:[^:]*]]: index
// CHECK-NEXT: %[[N:.*]] = arith.muli %[[S0]], %[[S1]] : index
// CHECK-NEXT: "coil.pointwise"(%[[N]]) ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[R:.*]] = affine.apply #[[DIV]](%[[I]])[%[[S1]]]
// CHECK-NEXT: %[[C:.*]] = affine.apply #[[MOD]](%[[I]])[%[[S1]]]
// CHECK-NEXT: "coil.load"(%[[X]], %[[R]], %[[C]]) : (tensor<?x?xf32>, index, index) -> f32
// CHECK-NOT: coil.view

// -----

// A chain: a slice [1:s0] with a symbolic length, then a transpose, folds
// through both views into one load of the source.

func.func @graph(%x: tensor<?x4xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}) -> tensor<4x?xf32> attributes {coil.device = "cpu"} {
  %c1 = arith.constant 1 : index
  %m = arith.subi %s0, %c1 : index
  %sl = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d0 + 1, d1)>} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %t = "coil.view"(%sl) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<?x4xf32>) -> tensor<4x?xf32>
  %y = "coil.pointwise"(%m) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%t, %i, %j) : (tensor<4x?xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4, -9223372036854775808]} : (index) -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x4xf32>
// CHECK: "coil.pointwise"(%{{.*}}) ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: %[[A:.*]] = affine.apply #{{.*}}(%[[I]], %[[J]])
// CHECK-NEXT: %[[B:.*]] = affine.apply #{{.*}}(%[[I]], %[[J]])
// CHECK-NEXT: %[[R:.*]] = affine.apply #{{.*}}(%[[A]], %[[B]])
// CHECK-NEXT: %[[C:.*]] = affine.apply #{{.*}}(%[[A]], %[[B]])
// CHECK-NEXT: "coil.load"(%[[X]], %[[R]], %[[C]])
// CHECK-NOT: coil.view
