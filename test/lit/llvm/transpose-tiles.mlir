// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s

// out = x.t() + y with out and x.t() column-major (eager's layout): the
// innermost loop walks the stores' contiguous range (dim 0), and since y is
// contiguous along dim 1, the two ranges are tiled, 16 points of dim 1 by 16
// of dim 0. A whole tile reads y 16 x 16 at a time (16 vector loads along its
// rows, 4 rounds of 16 shuffles, 16 vector stores into the tile buffer); a
// partial one copies element by element. The tile's loops then read the
// buffer, contiguous along dim 0: in a whole tile from 0 to the constant
// extents (trip counts LLVM knows), the rows' loop kept out of LLVM's
// vectorizer (no gathers across rows).
// CHECK-LABEL: func.func @transpose_add
// CHECK-SAME: (%[[OUT:[^:]*]]: memref<256x256xf32, strided<[1, 256]>> {llvm.noalias}, %[[X:[^:]*]]: memref<256x256xf32> {llvm.noalias}, %[[Y:[^:]*]]: memref<256x256xf32> {llvm.noalias})
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[TILE:.*]] = memref.alloca() : memref<16x16xf32>
// CHECK: scf.for %[[T0:.*]] = %{{.*}} to %{{.*}} step %[[C16]]
// CHECK-NEXT: scf.for %[[I0:.*]] = %{{.*}} to %{{.*}} step %[[C16]]
// CHECK: scf.if
// CHECK-COUNT-16: vector.load %[[Y]]
// CHECK-COUNT-64: vector.shuffle
// CHECK-COUNT-16: vector.store %{{.*}}, %[[TILE]]
// CHECK: scf.for %[[T:.*]] = %[[C0:.*]] to %[[C16]] step %[[C1:[^ ]*]] {
// CHECK-NEXT: scf.for %[[I:.*]] = %[[C0]] to %[[C16]] step %[[C1]] {
// CHECK: memref.load %[[TILE]][%[[T]], %[[I]]]
// CHECK-NEXT: memref.load %[[X]]
// CHECK-NEXT: arith.addf
// CHECK-NEXT: memref.store %{{.*}}, %[[OUT]]
// CHECK: } else {
// CHECK: memref.load %[[Y]]
// CHECK: memref.store %{{.*}}, %[[TILE]]
// CHECK: memref.load %[[TILE]]
func.func @transpose_add(%out: memref<256x256xf32, strided<[1, 256]>> {coil.noalias}, %x: memref<256x256xf32> {coil.noalias}, %y: memref<256x256xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %t: index):
    %0 = "coil.load"(%x, %t, %i) : (memref<256x256xf32>, index, index) -> f32
    %1 = "coil.load"(%y, %i, %t) : (memref<256x256xf32>, index, index) -> f32
    %2 = arith.addf %0, %1 : f32
    "coil.store"(%2, %out, %i, %t) : (f32, memref<256x256xf32, strided<[1, 256]>>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 256], reduction_ranges = []} : () -> ()
  return
}

// -----

// Without coil.noalias a store may change y, so y is not read ahead: the
// ranges are still tiled, and the loads stay in the tile's loops.
// CHECK-LABEL: func.func @maybe_aliased
// CHECK-NOT: memref.alloca
// CHECK-NOT: vector.
// CHECK: scf.for {{.*}} step %c16
// CHECK-NEXT: scf.for {{.*}} step %c16
// CHECK: memref.load %arg1
// CHECK: memref.load %arg2
func.func @maybe_aliased(%out: memref<256x256xf32, strided<[1, 256]>>, %x: memref<256x256xf32>, %y: memref<256x256xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %t: index):
    %0 = "coil.load"(%x, %t, %i) : (memref<256x256xf32>, index, index) -> f32
    %1 = "coil.load"(%y, %i, %t) : (memref<256x256xf32>, index, index) -> f32
    %2 = arith.addf %0, %1 : f32
    "coil.store"(%2, %out, %i, %t) : (f32, memref<256x256xf32, strided<[1, 256]>>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 256], reduction_ranges = []} : () -> ()
  return
}
