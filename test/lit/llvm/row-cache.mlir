// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s

// Softmax as fusion leaves it: x[i, r] loaded once per consumer and
// exp(x - max) written twice. The copies become one value (common
// subexpressions of the body), so exp is computed once, in the sum's loop, and
// the store's loop reads it back from the row buffer.
// CHECK-LABEL: func.func @fused_softmax
// CHECK: %[[ROW:.*]] = memref.alloca() : memref<16xf32>
// CHECK: math.exp
// CHECK-NEXT: memref.store %{{.*}}, %[[ROW]]
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[ROW]]
// CHECK-NOT: math.exp
// CHECK: return
func.func @fused_softmax(%x: memref<4x16xf32> {coil.noalias}, %out: memref<4x16xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<4x16xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [16]} : () -> ()
  return
}

// -----

// A load after a store that may write the same element (no coil.noalias)
// stays a load of its own; a cheap value (x - mean) is recomputed in each loop
// rather than kept in a row buffer.
// CHECK-LABEL: func.func @store_between
// CHECK-NOT: memref.alloca
// CHECK: scf.for
// CHECK: memref.load %[[X:.*]][
// CHECK: memref.store
// CHECK-NEXT: memref.load %[[X]][
func.func @store_between(%x: memref<16xf32>, %y: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %0 = "coil.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %1 = arith.addf %0, %0 : f32
    "coil.store"(%1, %y, %i) : (f32, memref<16xf32>, index) -> ()
    %2 = "coil.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %3 = arith.mulf %2, %2 : f32
    "coil.store"(%3, %x, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// -----

// CHECK-LABEL: func.func @centered
// CHECK-NOT: memref.alloca
// CHECK: arith.subf
// CHECK: arith.subf
func.func @centered(%x: memref<4x16xf32> {coil.noalias}, %out: memref<4x16xf32> {coil.noalias}) attributes {coil.kernel} {
  %n = arith.constant 16.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %m = arith.divf %1, %n : f32
    %d = arith.subf %0, %m : f32
    %q = arith.mulf %d, %d : f32
    %2 = "coil.reduce"(%q) {reduction_type = "sum"} : (f32) -> f32
    %3 = arith.mulf %d, %2 : f32
    "coil.store"(%3, %out, %i, %r) : (f32, memref<4x16xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [16]} : () -> ()
  return
}
