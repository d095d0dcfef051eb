// RUN: %coil-opt %s --coil-lower-loop-nests | filecheck %s

// An in-place update reading a 0-d step count (AdamW's bias correction): the
// one-element load and the powf computed from it move out of the loop, so the
// loop body only streams the big buffer. A load of the big buffer stays inside.
// CHECK-LABEL: func.func @scaled_update
// CHECK-SAME: (%[[P:.*]]: memref<64xf32>, %[[STEP:.*]]: memref<f32>)
// CHECK: %[[S:.*]] = memref.load %[[STEP]][] : memref<f32>
// CHECK: %[[POW:.*]] = math.powf %{{.*}}, %[[S]] : f32
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: %[[X:.*]] = memref.load %[[P]][%[[I]]] : memref<64xf32>
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[X]], %[[POW]] : f32
// CHECK-NEXT: memref.store %[[Y]], %[[P]][%[[I]]] : memref<64xf32>
func.func @scaled_update(%p: memref<64xf32>, %step: memref<f32>) attributes {coil.kernel} {
  %beta = arith.constant 0.9 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %s = "coil.load"(%step) : (memref<f32>) -> f32
    %b = math.powf %beta, %s : f32
    %x = "coil.load"(%p, %i) : (memref<64xf32>, index) -> f32
    %y = arith.mulf %x, %b : f32
    "coil.store"(%y, %p, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}
