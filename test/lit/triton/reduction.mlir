// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s --check-prefix=PERSISTENT
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --xblock=2 --rblock=64 %s | filecheck %s --check-prefix=LOOPED

// A row sum. Persistent: the rows are one [XBLOCK, RBLOCK] tile (RBLOCK =
// next_pow2(200) = 256, masked to 200) and one tt.reduce on axis 1. Looped:
// an scf.for over the reduction range in RBLOCK chunks accumulates into a
// [XBLOCK, RBLOCK] tile, masked lanes keep the accumulator, and one tt.reduce
// follows the loop.

// PERSISTENT-LABEL: // @row_sum grid=(2, 1, 1) num_warps=4 xblock=4 yblock=1 rblock=256 persistent=true
// PERSISTENT-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<4x256xf32>
// PERSISTENT-DAG:   %[[RN:.+]] = arith.constant dense<200> : tensor<1x256xi32>
// PERSISTENT:       %[[R:.+]] = tt.expand_dims %{{.+}} {axis = 0 : i32} : tensor<256xi32> -> tensor<1x256xi32>
// PERSISTENT:       %[[RMASK:.+]] = arith.cmpi slt, %[[R]], %[[RN]] : tensor<1x256xi32>
// PERSISTENT:       %[[MASK:.+]] = tt.broadcast %[[RMASK]] : tensor<1x256xi1> -> tensor<4x256xi1>
// PERSISTENT:       %[[V:.+]] = tt.load %{{.+}}, %[[MASK]] : tensor<4x256x!tt.ptr<f32>>
// PERSISTENT:       %[[SEL:.+]] = arith.select %[[MASK]], %[[V]], %[[ZERO]] : tensor<4x256xi1>, tensor<4x256xf32>
// PERSISTENT:       %[[RED:.+]] = "tt.reduce"(%[[SEL]]) <{axis = 1 : i32}> ({
// PERSISTENT-NEXT:  ^bb0(%[[A:.+]]: f32, %[[B:.+]]: f32):
// PERSISTENT-NEXT:    %[[S:.+]] = arith.addf %[[A]], %[[B]] : f32
// PERSISTENT-NEXT:    tt.reduce.return %[[S]] : f32
// PERSISTENT-NEXT:  }) : (tensor<4x256xf32>) -> tensor<4xf32>
// PERSISTENT:       %[[ROW:.+]] = tt.expand_dims %[[RED]] {axis = 1 : i32} : tensor<4xf32> -> tensor<4x1xf32>
// PERSISTENT:       tt.store %{{.+}}, %[[ROW]] : tensor<4x1x!tt.ptr<f32>>
// PERSISTENT-NOT:   scf.for

// LOOPED-LABEL: // @row_sum grid=(4, 1, 1) num_warps=4 xblock=2 yblock=1 rblock=64 persistent=false
// LOOPED-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<2x64xf32>
// LOOPED-DAG:   %[[C0:.+]] = arith.constant 0 : i32
// LOOPED-DAG:   %[[C200:.+]] = arith.constant 200 : i32
// LOOPED-DAG:   %[[C64:.+]] = arith.constant 64 : i32
// LOOPED:       %[[SUM:.+]] = scf.for %[[IV:.+]] = %[[C0]] to %[[C200]] step %[[C64]] iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (tensor<2x64xf32>) : i32 {
// LOOPED:         %[[V:.+]] = tt.load %{{.+}}, %[[MASK:.+]] : tensor<2x64x!tt.ptr<f32>>
// LOOPED-NEXT:    %[[ADD:.+]] = arith.addf %[[ACC]], %[[V]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[KEEP:.+]] = arith.select %[[MASK]], %[[ADD]], %[[ACC]] : tensor<2x64xi1>, tensor<2x64xf32>
// LOOPED-NEXT:    scf.yield %[[KEEP]] : tensor<2x64xf32>
// LOOPED-NEXT:  }
// LOOPED-NEXT:  %[[RED:.+]] = "tt.reduce"(%[[SUM]]) <{axis = 1 : i32}> ({
// LOOPED:       }) : (tensor<2x64xf32>) -> tensor<2xf32>
// LOOPED:       tt.store
func.func @row_sum(%out: memref<8xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// softmax: max, then sum(exp(x - max)), then x / sum stored per element.
// Persistent: the row is loaded once and every level reuses its registers.
// Looped: one loop per level; the third stores in the reduction domain.

// PERSISTENT-LABEL: // @softmax
// PERSISTENT:       %[[X:.+]] = tt.load
// PERSISTENT:       "tt.reduce"
// PERSISTENT:       arith.maximumf
// PERSISTENT:       %[[MAX:.+]] = tt.expand_dims
// PERSISTENT:       %[[MAXB:.+]] = tt.broadcast %[[MAX]] : tensor<4x1xf32> -> tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[D:.+]] = arith.subf %[[X]], %[[MAXB]] : tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[E:.+]] = math.exp %[[D]] : tensor<4x256xf32>
// PERSISTENT:       "tt.reduce"
// PERSISTENT:       arith.addf
// PERSISTENT:       %[[SUM:.+]] = tt.expand_dims
// PERSISTENT:       %[[SUMB:.+]] = tt.broadcast %[[SUM]] : tensor<4x1xf32> -> tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[Y:.+]] = tt.precise_divf %[[E]], %[[SUMB]] : tensor<4x256xf32>
// PERSISTENT:       tt.store %{{.+}}, %[[Y]], %{{.+}} : tensor<4x256x!tt.ptr<f32>>
// PERSISTENT-NOT:   tt.load

// LOOPED-LABEL: // @softmax
// LOOPED-COUNT-3: scf.for
// LOOPED-NOT:     scf.for
// LOOPED:         tt.store %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x64x!tt.ptr<f32>>
// LOOPED-NEXT:    }
// LOOPED-NEXT:    tt.return
func.func @softmax(%out: memref<8x200xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<8x200xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// layer norm: welford is two sum levels (mean, then squared deviations); the
// epilogue normalizes per element in a third pass.

// PERSISTENT-LABEL: // @layernorm
// PERSISTENT-COUNT-2: "tt.reduce"
// PERSISTENT-NOT:     "tt.reduce"
// PERSISTENT:         symbol = "__nv_rsqrtf"
// PERSISTENT:         tt.store

// LOOPED-LABEL: // @layernorm
// LOOPED-COUNT-3: scf.for
// LOOPED-NOT:     scf.for
func.func @layernorm(%out: memref<8x200xf32>, %x: memref<8x200xf32>, %w: memref<200xf32>) attributes {coil.kernel} {
  %n = arith.constant 2.000000e+02 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1:3 = "coil.reduce"(%0) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    %2 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1#0 : f32
    %4 = arith.divf %1#1, %n : f32
    %5 = arith.addf %4, %eps : f32
    %6 = math.rsqrt %5 : f32
    %7 = arith.mulf %3, %6 : f32
    %8 = "coil.load"(%w, %r) : (memref<200xf32>, index) -> f32
    %9 = arith.mulf %7, %8 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<8x200xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}
