// Pass flags and --pass-pipeline elements run in command-line order; the IR
// printers show each step.
// RUN: %coil-opt %s --coil-fold-views --canonicalize --print-ir-after-all -o %t 2>&1 | filecheck %s --check-prefix=AFTER
// RUN: %coil-opt %s --canonicalize --coil-fold-views | filecheck %s --check-prefix=REVERSED
// RUN: %coil-opt %s --pass-pipeline='builtin.module(coil-fold-views)' --canonicalize --print-ir-before-all -o %t 2>&1 | filecheck %s --check-prefix=BEFORE
// RUN: %coil-opt %s --pass-pipeline='builtin.module(coil-fold-views, func.func(canonicalize, cse))' | filecheck %s --check-prefix=NESTED
// RUN: not %coil-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | filecheck %s --check-prefix=UNKNOWN

// AFTER: // -----// IR Dump After coil-fold-views //----- //
// AFTER-NOT: coil.view
// AFTER: affine.apply
// AFTER: // -----// IR Dump After canonicalize //----- //
// AFTER-NOT: affine.apply
// AFTER: "coil.load"(%arg0, %arg2, %arg1)

// Canonicalize first has nothing to fold yet: the maps stay.
// REVERSED-NOT: coil.view
// REVERSED: affine.apply

// BEFORE: // -----// IR Dump Before coil-fold-views //----- //
// BEFORE-NEXT: #map = affine_map<(d0, d1) -> (d1, d0)>
// BEFORE: "coil.view"
// BEFORE: // -----// IR Dump Before canonicalize //----- //
// BEFORE-NOT: "coil.view"
// BEFORE: affine.apply

// NESTED-NOT: affine.apply
// NESTED: "coil.load"(%arg0, %arg2, %arg1)

// UNKNOWN: coil-opt: error: unknown pass or pipeline element 'no-such-pass'
func.func @transpose(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%t, %i, %j) : (tensor<8x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [8, 4]} : () -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
