// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s

// Softmax as fusion leaves it: x[i, r] loaded once per consumer and
// exp(x - max) written twice. The copies become one value (common
// subexpressions of the body), so exp is computed once, in the sum's loop, and
// the store's loop reads it back. The output is coil.noalias and never read, so
// exp(x - max) is kept in the output row itself (no stack buffer), which the
// last loop scales in place.
// CHECK-LABEL: func.func @fused_softmax
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<4x16xf32> {llvm.noalias}) attributes
// CHECK-NOT: memref.alloca
// CHECK: scf.for %[[I:[a-z0-9]+]] =
// CHECK: scf.for %[[R:[a-z0-9]+]] =
// CHECK: math.exp
// CHECK-NEXT: memref.store %{{.*}}, %[[OUT]][%[[I]], %[[R]]]
// CHECK: scf.for %[[R3:[a-z0-9]+]] =
// CHECK-NEXT: memref.load %[[OUT]][%[[I]], %[[R3]]]
// CHECK-NOT: math.exp
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[I]], %[[R3]]]
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

// A bf16 output cannot hold the f32 exp(x - max) without rounding it: the row
// stays in an f32 stack buffer.
// CHECK-LABEL: func.func @softmax_bf16_out
// CHECK: %[[ROW:.*]] = memref.alloca() : memref<16xf32>
// CHECK: math.exp
// CHECK-NEXT: memref.store %{{.*}}, %[[ROW]]
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[ROW]]
// CHECK: return
func.func @softmax_bf16_out(%x: memref<4x16xf32> {coil.noalias}, %out: memref<4x16xbf16> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %3 = arith.subf %0, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %9 = arith.divf %4, %5 : f32
    %10 = arith.truncf %9 : f32 to bf16
    "coil.store"(%10, %out, %i, %r) : (bf16, memref<4x16xbf16>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [16]} : () -> ()
  return
}

// -----

// An output that may overlap the input (no coil.noalias) is written only by
// the last loop: the row stays on the stack.
// CHECK-LABEL: func.func @softmax_may_alias
// CHECK: %[[ROW:.*]] = memref.alloca() : memref<16xf32>
// CHECK: math.exp
// CHECK-NEXT: memref.store %{{.*}}, %[[ROW]]
// CHECK: return
func.func @softmax_may_alias(%x: memref<4x16xf32> {coil.noalias}, %out: memref<4x16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<4x16xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %3 = arith.subf %0, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %9 = arith.divf %4, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<4x16xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [16]} : () -> ()
  return
}

// -----

// A row of 1024 points: the reduction loops carry hints that keep them loops
// (no full unrolling) with four vector accumulators; short rows carry none.
// CHECK: #[[IL:.*]] = #llvm.loop_interleave<count = 4 : i64>
// CHECK: #[[UNROLL:.*]] = #llvm.loop_unroll<disable = true>
// CHECK: #[[HINT:.*]] = #llvm.loop_annotation<interleave = #[[IL]], unroll = #[[UNROLL]]>
// CHECK-LABEL: func.func @layernorm_row
// CHECK-COUNT-3: } {llvm.loop_annotation = #[[HINT]]}
// CHECK-NOT: llvm.loop_annotation
// CHECK: return
func.func @layernorm_row(%x: memref<8x1024xf32> {coil.noalias}, %out: memref<8x1024xf32> {coil.noalias}) attributes {coil.kernel} {
  %n = arith.constant 1024.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x1024xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %m = arith.divf %1, %n : f32
    %d = arith.subf %0, %m : f32
    %q = arith.mulf %d, %d : f32
    %2 = "coil.reduce"(%q) {reduction_type = "sum"} : (f32) -> f32
    %3 = arith.mulf %d, %2 : f32
    "coil.store"(%3, %out, %i, %r) : (f32, memref<8x1024xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [1024]} : () -> ()
  return
}

// CHECK-LABEL: func.func @short_row
// CHECK-NOT: llvm.loop_annotation
// CHECK: return
func.func @short_row(%x: memref<8x64xf32> {coil.noalias}, %out: memref<8xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x64xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [64]} : () -> ()
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
