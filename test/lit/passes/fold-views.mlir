// RUN: %coil-opt %s --split-input-file --coil-fold-views | filecheck %s
// RUN: %coil-opt %s --split-input-file --pass-pipeline='builtin.module(coil-fold-views, canonicalize)' | filecheck %s --check-prefix=CANON

// A transpose view folds into the load: the load reads the source with the
// indices swapped, and the view is gone.
// CHECK-DAG: #[[D1:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[D0:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: coil.view
// CHECK: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: %[[A:.*]] = affine.apply #[[D1]](%[[I]], %[[J]])
// CHECK-NEXT: %[[B:.*]] = affine.apply #[[D0]](%[[I]], %[[J]])
// CHECK-NEXT: "coil.load"(%[[X]], %[[A]], %[[B]]) : (tensor<4x8xf32>, index, index) -> f32
// CHECK-NOT: coil.view
// CANON-LABEL: func.func @transpose
// CANON-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CANON: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CANON-NEXT: "coil.load"(%[[X]], %[[J]], %[[I]]) : (tensor<4x8xf32>, index, index) -> f32
func.func @transpose(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%t, %i, %j) : (tensor<8x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [8, 4]} : () -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// An expand (broadcast) view maps its first index to the constant 0; after
// canonicalize the load reads row 0 of the source.
// CHECK-DAG: #[[ZERO:.*]] = affine_map<(d0, d1) -> (0)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @expand
// CHECK-SAME: (%[[X:.*]]: tensor<1x8xf32>)
// CHECK-NOT: coil.view
// CHECK: %[[ROW:.*]] = affine.apply #[[ZERO]](%[[I:.*]], %[[J:.*]])
// CHECK-NEXT: %[[COLUMN:.*]] = affine.apply #[[COL]](%[[I]], %[[J]])
// CHECK-NEXT: "coil.load"(%[[X]], %[[ROW]], %[[COLUMN]]) : (tensor<1x8xf32>, index, index) -> f32
// CANON-LABEL: func.func @expand
// CANON-SAME: (%[[X:.*]]: tensor<1x8xf32>)
// CANON: %[[C0:.*]] = arith.constant 0 : index
// CANON: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CANON-NEXT: "coil.load"(%[[X]], %[[C0]], %[[J]]) : (tensor<1x8xf32>, index, index) -> f32
func.func @expand(%x: tensor<1x8xf32>) -> tensor<4x8xf32> {
  %e = "coil.view"(%x) {map = affine_map<(d0, d1) -> (0, d1)>} : (tensor<1x8xf32>) -> tensor<4x8xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%e, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A chain of two views (a slice of a transpose) folds all the way to the
// source, and both views are erased.
// CHECK-LABEL: func.func @chain
// CHECK-NOT: coil.view
// CHECK: "coil.load"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<4x8xf32>, index, index) -> f32
// CHECK-NOT: coil.view
// CANON-DAG: #[[PLUS2:.*]] = affine_map<(d0) -> (d0 + 2)>
// CANON-LABEL: func.func @chain
// CANON-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CANON-NOT: coil.view
// CANON: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CANON-NEXT: %[[ROW:.*]] = affine.apply #[[PLUS2]](%[[I]])
// CANON-NEXT: "coil.load"(%[[X]], %[[J]], %[[ROW]]) : (tensor<4x8xf32>, index, index) -> f32
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %s = "coil.view"(%t) {map = affine_map<(d0, d1) -> (d0 + 2, d1)>} : (tensor<8x4xf32>) -> tensor<4x4xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%s, %i, %j) : (tensor<4x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4, 4]} : () -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// A view with no users left is erased; one that is still used (here returned)
// stays.
// CHECK-LABEL: func.func @dead_and_live
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[LIVE:.*]] = "coil.view"(%[[X]]) {map = #{{.*}}} : (tensor<4x8xf32>) -> tensor<32xf32>
// CHECK-NOT: coil.view
// CHECK: return %[[LIVE]] : tensor<32xf32>
// CANON-LABEL: func.func @dead_and_live
func.func @dead_and_live(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %dead = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %live = "coil.view"(%x) {map = affine_map<(d0) -> (d0 floordiv 8, d0 mod 8)>} : (tensor<4x8xf32>) -> tensor<32xf32>
  return %live : tensor<32xf32>
}

// -----

// A reshape view changes the rank: the load is rebuilt with one index per
// source dimension.
// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: coil.view
// CHECK: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[ROW:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK-NEXT: %[[COLUMN:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK-NEXT: "coil.load"(%[[X]], %[[ROW]], %[[COLUMN]]) : (tensor<4x8xf32>, index, index) -> f32
// CANON-LABEL: func.func @reshape
func.func @reshape(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %r = "coil.view"(%x) {map = affine_map<(d0) -> (d0 floordiv 8, d0 mod 8)>} : (tensor<4x8xf32>) -> tensor<32xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%r, %i) : (tensor<32xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [32]} : () -> tensor<32xf32>
  return %0 : tensor<32xf32>
}
