// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --rblock=64 %s | filecheck %s --check-prefix=LOOPED

// Reductions over an empty range (rnumel == 0) still have output points: the
// kernel launches (the grid comes from the output rows alone) and stores the
// reduction's initial value through the epilogue. RBLOCK is next_pow2(0) = 1,
// so the [XBLOCK, 1] epilogue has the reduction tile's shape: only values
// inside a reduction pass take the (all-false) reduction mask, never the
// epilogue's stores.

// x.sum(), x.mean(), x.prod() and x.all() of a (0, 5) tensor: one program.
// CHECK-LABEL: // @empty_all grid=(1, 1, 1)
// CHECK-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<1x1xf32>
// CHECK-DAG:   %[[ONE:.+]] = arith.constant dense<1.0> : tensor<1x1xf32>
// CHECK-DAG:   %[[TRUE:.+]] = arith.constant dense<true> : tensor<1x1xi1>
// CHECK-DAG:   %[[RN:.+]] = arith.constant dense<0> : tensor<1x1xi32>
// CHECK:       %[[RMASK:.+]] = arith.cmpi slt, %{{.+}}, %[[RN]] : tensor<1x1xi32>
// CHECK:       %[[V:.+]] = tt.load %{{.+}}, %[[RMASK]]{{.*}} : tensor<1x1x!tt.ptr<f32>>
// CHECK-DAG:   %[[S:.+]] = arith.select %[[RMASK]], %[[V]], %[[ZERO]]
// CHECK-DAG:   %[[P:.+]] = arith.select %[[RMASK]], %[[V]], %[[ONE]]
// CHECK:       %[[SUMR:.+]] = "tt.reduce"(%[[S]])
// CHECK:       %[[SUM:.+]] = tt.expand_dims %[[SUMR]]
// CHECK:       %[[PRODR:.+]] = "tt.reduce"(%[[P]])
// CHECK:       %[[PROD:.+]] = tt.expand_dims %[[PRODR]]
// The stores are unmasked: the one output point exists.
// CHECK:       tt.store %{{.+}}, %[[SUM]] : tensor<1x1x!tt.ptr<f32>>
// sum / 0 = 0 / 0 = nan, eager's mean of nothing.
// CHECK:       %[[MEAN:.+]] = arith.divf %[[SUM]], %[[ZERO]] : tensor<1x1xf32>
// CHECK:       tt.store %{{.+}}, %[[MEAN]] : tensor<1x1x!tt.ptr<f32>>
// CHECK:       tt.store %{{.+}}, %[[PROD]] : tensor<1x1x!tt.ptr<f32>>
// all = not any(not x): any of nothing is false, so all stores true.
// CHECK:       %[[ALL:.+]] = arith.xori %{{.+}}, %[[TRUE]] : tensor<1x1xi1>
// CHECK:       %[[B:.+]] = arith.extui %[[ALL]] : tensor<1x1xi1> to tensor<1x1xi8>
// CHECK:       tt.store %{{.+}}, %[[B]] : tensor<1x1x!tt.ptr<i8>>
// CHECK-NOT:   tt.store

// Looped: the loop runs no iteration, its accumulators keep the initial values.
// LOOPED-LABEL: // @empty_all grid=(1, 1, 1)
// LOOPED:       scf.for
// LOOPED:       tt.store %{{.+}}, %{{.+}} : tensor<1x1x!tt.ptr<f32>>
// LOOPED:       arith.divf
// LOOPED:       tt.store %{{.+}}, %{{.+}} : tensor<1x1x!tt.ptr<f32>>
// LOOPED:       tt.store %{{.+}}, %{{.+}} : tensor<1x1x!tt.ptr<f32>>
// LOOPED:       tt.store %{{.+}}, %{{.+}} : tensor<1x1x!tt.ptr<i8>>
func.func @empty_all(%sum: memref<f32>, %x: memref<0x5xf32>, %mean: memref<f32>, %prod: memref<f32>, %all: memref<i1>) attributes {coil.kernel} {
  %zero = arith.constant 0.000000e+00 : f32
  %true = arith.constant true
  "coil.loop_nest"() ({
  ^bb0(%r0: index, %r1: index):
    %0 = "coil.load"(%x, %r0, %r1) : (memref<0x5xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %sum) : (f32, memref<f32>) -> ()
    %2 = arith.divf %1, %zero : f32
    "coil.store"(%2, %mean) : (f32, memref<f32>) -> ()
    %3 = "coil.reduce"(%0) {reduction_type = "prod"} : (f32) -> f32
    "coil.store"(%3, %prod) : (f32, memref<f32>) -> ()
    %4 = arith.cmpf ogt, %0, %zero : f32
    %5 = arith.xori %4, %true : i1
    %6 = "coil.reduce"(%5) {reduction_type = "any"} : (i1) -> i1
    %7 = arith.xori %6, %true : i1
    "coil.store"(%7, %all) : (i1, memref<i1>) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [], reduction_ranges = [0, 5]} : () -> ()
  return
}

// -----

// x.sum(0) of a (0, 5) tensor: five output points, masked by the row mask
// only (xnumel 5 < XBLOCK 8), each storing 0.

// CHECK-LABEL: // @empty_dim0 grid=(1, 1, 1) num_warps=1 xblock=8 yblock=1 rblock=1 persistent=true
// CHECK-DAG:   %[[XN:.+]] = arith.constant dense<5> : tensor<8x1xi32>
// CHECK:       %[[XMASK:.+]] = arith.cmpi slt, %[[X:.+]], %[[XN]] : tensor<8x1xi32>
// CHECK:       %[[RED:.+]] = "tt.reduce"
// CHECK:       %[[ROW:.+]] = tt.expand_dims %[[RED]] {axis = 1 : i32} : tensor<8xf32> -> tensor<8x1xf32>
// CHECK:       tt.store %{{.+}}, %[[ROW]], %[[XMASK]] : tensor<8x1x!tt.ptr<f32>>

// LOOPED-LABEL: // @empty_dim0 grid=(1, 1, 1)
// LOOPED:       %[[XMASK:.+]] = arith.cmpi slt, %{{.+}}, %{{.+}} : tensor<8x1xi32>
// LOOPED:       scf.for
// LOOPED:       "tt.reduce"
// LOOPED:       tt.store %{{.+}}, %{{.+}}, %[[XMASK]] : tensor<8x1x!tt.ptr<f32>>
func.func @empty_dim0(%out: memref<5xf32>, %x: memref<0x5xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %r, %i) : (memref<0x5xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<5xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [5], reduction_ranges = [0]} : () -> ()
  return
}

// -----

// No output points (a (0, 5) tensor summed over dim 1): grid 0, no launch.
// CHECK-LABEL: // @no_points grid=(0, 1, 1)
func.func @no_points(%out: memref<0xf32>, %x: memref<0x5xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<0x5xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<0xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [0], reduction_ranges = [5]} : () -> ()
  return
}
