// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s

// A row of 1024 f32 is a 4 KiB page: hardware prefetchers stop at its end, so
// the next point's row is prefetched a cache line (16 f32) at a time. With
// several reduction loops, the prefetch runs after the first one (which reads
// the row from memory), while the later loops work on the row in L1. The next
// row index is clamped to the last row; the weight, the same for every row, is
// not prefetched.
// CHECK-LABEL: func.func @layer_norm_like
// CHECK-SAME: (%[[X:[a-z0-9]+]]: memref<64x1024xf32>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.for %[[I:[a-z0-9]+]] = %{{.*}} to %[[C64]] step %[[C1]]
// CHECK: scf.for
// CHECK: memref.load %[[X]][%[[I]],
// CHECK: scf.yield
// CHECK: %[[LAST:.*]] = arith.subi %[[C64]], %[[C1]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[I]], %[[C1]]
// CHECK: %[[ROW:.*]] = arith.minsi %[[NEXT]], %[[LAST]]
// CHECK: scf.for %[[P:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %[[C16]]
// CHECK-NEXT: memref.prefetch %[[X]][%[[ROW]], %[[P]]], read, locality<3>, data
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @layer_norm_like(%x: memref<64x1024xf32> {coil.noalias}, %w: memref<1024xf32> {coil.noalias}, %out: memref<64x1024xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x1024xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %2 = arith.subf %0, %1 : f32
    %3 = arith.mulf %2, %2 : f32
    %4 = "coil.reduce"(%3) {reduction_type = "sum"} : (f32) -> f32
    %5 = arith.mulf %2, %4 : f32
    %6 = "coil.load"(%w, %r) : (memref<1024xf32>, index) -> f32
    %7 = arith.mulf %5, %6 : f32
    "coil.store"(%7, %out, %i, %r) : (f32, memref<64x1024xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [1024]} : () -> ()
  return
}

// -----

// In bf16 a cache line holds 32 elements. The output point [i, 0] moves along
// range 0 (range 1 has one point).
// CHECK-LABEL: func.func @row_variance_bf16
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: scf.for %[[I:[a-z0-9]+]] =
// CHECK: memref.load
// CHECK: arith.addi %[[I]]
// CHECK: scf.for %{{.*}} step %[[C32]]
// CHECK-NEXT: memref.prefetch
// CHECK: scf.for
// CHECK: memref.load
func.func @row_variance_bf16(%x: memref<8x512xbf16> {coil.noalias}, %out: memref<8x1xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x512xbf16>, index, index) -> bf16
    %1 = arith.extf %0 : bf16 to f32
    %2 = "coil.reduce"(%1) {reduction_type = "sum"} : (f32) -> f32
    %3 = arith.subf %1, %2 : f32
    %4 = arith.mulf %3, %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%5, %out, %i, %j) : (f32, memref<8x1xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 1], reduction_ranges = [512]} : () -> ()
  return
}

// -----

// One reduction loop (a row sum) has no later loop to hide a prefetch behind:
// the next row would be fetched while this one is read. None.
// CHECK-LABEL: func.func @row_sum
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @row_sum(%x: memref<64x1024xf32> {coil.noalias}, %out: memref<64xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x1024xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [1024]} : () -> ()
  return
}

// -----

// Rows under 1 KiB share pages, which the hardware prefetcher follows: no prefetch.
// CHECK-LABEL: func.func @short_rows
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @short_rows(%x: memref<64x128xf32> {coil.noalias}, %out: memref<64xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x128xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [128]} : () -> ()
  return
}

// -----

// Rows of 16 to 256 KiB (here 32 KiB): the first loop streams the row from
// memory unprefetched, and the second loop, which reads it from cache and
// computes exp, runs in chunks of 512 points, each starting with the prefetch
// of its cache lines of the next row (clamped to the last): the next point's
// first loop then reads cache. The sum is carried through both loops.
// CHECK-LABEL: func.func @softmax_like
// CHECK-SAME: (%[[X:[a-z0-9]+]]: memref<16x8192xf32>
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK-DAG: %[[C8192:.*]] = arith.constant 8192 : index
// CHECK: scf.for %[[I:[a-z0-9]+]] =
// CHECK-NOT: memref.prefetch
// CHECK: arith.maximumf
// CHECK: %[[ROW:.*]] = arith.minsi
// CHECK: %[[SUM:.*]] = scf.for %[[C:[a-z0-9]+]] = %{{.*}} to %[[C8192]] step %[[C512]] iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK: %[[STOP:.*]] = arith.addi %[[C]], %[[C512]]
// CHECK: %[[END:.*]] = arith.minsi %[[STOP]], %[[C8192]]
// CHECK: scf.for %[[P:[a-z0-9]+]] = %[[C]] to %[[END]] step %[[C16]]
// CHECK-NEXT: memref.prefetch %[[X]][%[[ROW]], %[[P]]], read, locality<3>, data
// CHECK: %[[PART:.*]] = scf.for %{{.*}} = %[[C]] to %[[END]] step %{{.*}} iter_args(%{{.*}} = %[[ACC]])
// CHECK: math.exp
// CHECK: scf.yield %[[PART]]
// CHECK-NOT: memref.prefetch
// CHECK: arith.divf %{{.*}}, %[[SUM]]
// CHECK: return
func.func @softmax_like(%x: memref<16x8192xf32> {coil.noalias}, %out: memref<16x8192xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<16x8192xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = arith.subf %0, %1 : f32
    %3 = math.exp %2 : f32
    %4 = "coil.reduce"(%3) {reduction_type = "sum"} : (f32) -> f32
    %5 = arith.divf %3, %4 : f32
    "coil.store"(%5, %out, %i, %r) : (f32, memref<16x8192xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = [8192]} : () -> ()
  return
}
