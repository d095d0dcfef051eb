// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// A transpose: the store is contiguous along dim 0 of the ranges, a load along
// dim 1, so the kernel gets a [YBLOCK, XBLOCK] tile over program ids (x, y):
// the store and the transposed load read `x + 256*y`, the other load `y + 256*x`.
// The tile holds 16 KiB of its widest element: [64, 64] floats, [128, 64]
// bf16 (@transpose_add_bf16), 4 warps.

// CHECK-LABEL: // @transpose_add grid=(4, 4, 1) num_warps=4 xblock=64 yblock=64 rblock=1
// CHECK-DAG:   %[[C256X:.+]] = arith.constant dense<256> : tensor<1x64xi32>
// CHECK-DAG:   %[[C256Y:.+]] = arith.constant dense<256> : tensor<64x1xi32>
// CHECK:       tt.get_program_id x : i32
// CHECK:       %[[X:.+]] = arith.addi %{{.+}}, %{{.+}} : tensor<1x64xi32>
// CHECK:       tt.get_program_id y : i32
// CHECK:       %[[Y:.+]] = arith.addi %{{.+}}, %{{.+}} : tensor<64x1xi32>
// CHECK:       %[[YS:.+]] = arith.muli %[[Y]], %[[C256Y]] : tensor<64x1xi32>
// CHECK:       %[[XB:.+]] = tt.broadcast %[[X]] : tensor<1x64xi32> -> tensor<64x64xi32>
// CHECK:       %[[YSB:.+]] = tt.broadcast %[[YS]] : tensor<64x1xi32> -> tensor<64x64xi32>
// CHECK:       %[[T:.+]] = arith.addi %[[XB]], %[[YSB]] : tensor<64x64xi32>
// CHECK:       tt.addptr %{{.+}}, %[[T]] : tensor<64x64x!tt.ptr<f32>>, tensor<64x64xi32>
// CHECK:       tt.load %{{.+}} : tensor<64x64x!tt.ptr<f32>>
// CHECK:       %[[XS:.+]] = arith.muli %[[X]], %[[C256X]] : tensor<1x64xi32>
// CHECK:       tt.load %{{.+}} : tensor<64x64x!tt.ptr<f32>>
// CHECK:       %[[OUT:.+]] = tt.addptr %{{.+}}, %[[T]] : tensor<64x64x!tt.ptr<f32>>, tensor<64x64xi32>
// CHECK:       tt.store %[[OUT]], %{{.+}} : tensor<64x64x!tt.ptr<f32>>
func.func @transpose_add(%out: memref<256x256xf32, strided<[1, 256]>>, %a: memref<256x256xf32>, %b: memref<256x256xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%a, %j, %i) : (memref<256x256xf32>, index, index) -> f32
    %1 = "coil.load"(%b, %i, %j) : (memref<256x256xf32>, index, index) -> f32
    %2 = arith.addf %0, %1 : f32
    "coil.store"(%2, %out, %i, %j) : (f32, memref<256x256xf32, strided<[1, 256]>>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 256], reduction_ranges = []} : () -> ()
  return
}

// -----

// CHECK-LABEL: // @transpose_add_bf16 grid=(4, 2, 1) num_warps=4 xblock=64 yblock=128 rblock=1
// CHECK:       tt.load %{{.+}} : tensor<128x64x!tt.ptr<bf16>>
func.func @transpose_add_bf16(%out: memref<256x256xbf16, strided<[1, 256]>>, %a: memref<256x256xbf16>, %b: memref<256x256xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%a, %j, %i) : (memref<256x256xbf16>, index, index) -> bf16
    %1 = "coil.load"(%b, %i, %j) : (memref<256x256xbf16>, index, index) -> bf16
    %2 = arith.addf %0, %1 : bf16
    "coil.store"(%2, %out, %i, %j) : (bf16, memref<256x256xbf16, strided<[1, 256]>>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 256], reduction_ranges = []} : () -> ()
  return
}

// -----

// A reshape read back as digits of the flat index merges back into `x`.

// CHECK-LABEL: // @reshape
// CHECK-NOT:   arith.divsi
// CHECK-NOT:   arith.remsi
// CHECK:       tt.return
#map = affine_map<(d0, d1, d2) -> (d0 * 12 + d1 * 4 + d2)>
func.func @reshape(%out: memref<2x3x4xf32>, %x: memref<24xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %flat = affine.apply #map(%i, %j, %k)
    %v = "coil.load"(%x, %flat) : (memref<24xf32>, index) -> f32
    "coil.store"(%v, %out, %i, %j, %k) : (f32, memref<2x3x4xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 3, 4], reduction_ranges = []} : () -> ()
  return
}

// -----

// Indirect load (x[idx]): the index is loaded, wrapped if negative, and
// addresses the gathered load in 64 bits; both loads are masked.

// CHECK-LABEL: // @gather
// CHECK:       %[[MASK:.+]] = arith.cmpi slt
// CHECK:       %[[IDX:.+]] = tt.load %{{.+}}, %[[MASK]] : tensor<{{.+}}x!tt.ptr<i64>>
// CHECK:       %[[NEG:.+]] = arith.cmpi slt, %[[IDX]], %{{.+}} : tensor<{{.+}}xi64>
// CHECK:       %[[WRAP:.+]] = arith.addi %[[IDX]], %{{.+}} : tensor<{{.+}}xi64>
// CHECK:       %[[SEL:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[IDX]]
// CHECK:       %[[ROW:.+]] = arith.muli %[[SEL]], %{{.+}} : tensor<{{.+}}xi64>
// CHECK:       tt.addptr %{{.+}}, %{{.+}} : tensor<{{.+}}x!tt.ptr<f32>>, tensor<{{.+}}xi64>
// CHECK:       tt.load %{{.+}}, %{{.+}} : tensor<{{.+}}x!tt.ptr<f32>>
func.func @gather(%out: memref<3x8xf32>, %idx: memref<3xi64>, %x: memref<4x8xf32>) attributes {coil.kernel} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%idx, %i) : (memref<3xi64>, index) -> i64
    %1 = arith.index_cast %0 : i64 to index
    %2 = arith.cmpi slt, %1, %c0 : index
    %3 = arith.addi %1, %c4 : index
    %4 = arith.select %2, %3, %1 : index
    %5 = "coil.load"(%x, %4, %j) : (memref<4x8xf32>, index, index) -> f32
    "coil.store"(%5, %out, %i, %j) : (f32, memref<3x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [3, 8], reduction_ranges = []} : () -> ()
  return
}

// -----

// A kernel taking a size as an `index` argument gets it as an i64 scalar.

// CHECK-LABEL: // @shifted
// CHECK:       tt.func public @shifted(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg2: i64) {
// CHECK:       tt.splat %arg2 : i64 -> tensor<16xi64>
func.func @shifted(%out: memref<16xf32>, %x: memref<64xf32>, %n: index) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %j = arith.addi %i, %n : index
    %v = "coil.load"(%x, %j) : (memref<64xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
