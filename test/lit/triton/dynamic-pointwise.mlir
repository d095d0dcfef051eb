// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --kernel tiny_block --xblock=64 %s | filecheck %s --check-prefix=BLOCK

// Symbolic sizes (.scratch/dynamic.md): a pointwise over [s0, 64]. The size
// argument is an i64 scalar, the grid is an expression over it evaluated at
// launch, every offset is 64-bit and the flat index is masked against
// s0 * 64 at run time (never dropped, whatever the block). The [?, 64]
// buffers have static strides, so the row-major offset still collapses to
// the flat index (a contiguous access Triton can vectorize).

// CHECK-LABEL: // @square grid=(cdiv(arg2 * 64, 1024), 1, 1) num_warps=4 xblock=1024 yblock=1 rblock=1 persistent=true index_bits=64
// CHECK:       tt.func public @square(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg2: i64) {
// CHECK-DAG:   %[[C64:.+]] = arith.constant 64 : i64
// CHECK-DAG:   %[[R:.+]] = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32>
// CHECK:       %[[R64:.+]] = arith.extsi %[[R]] : tensor<1024xi32> to tensor<1024xi64>
// CHECK:       %[[X:.+]] = arith.addi %{{.+}}, %[[R64]] : tensor<1024xi64>
// CHECK:       %[[P:.+]] = tt.addptr %{{.+}}, %[[X]] : tensor<1024x!tt.ptr<f32>>, tensor<1024xi64>
// CHECK:       %[[N:.+]] = arith.muli %arg2, %[[C64]] : i64
// CHECK:       %[[NS:.+]] = tt.splat %[[N]] : i64 -> tensor<1024xi64>
// CHECK:       %[[MASK:.+]] = arith.cmpi slt, %[[X]], %[[NS]] : tensor<1024xi64>
// CHECK:       %[[V:.+]] = tt.load %[[P]], %[[MASK]] : tensor<1024x!tt.ptr<f32>>
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[MASK]] : tensor<1024x!tt.ptr<f32>>
func.func @square(%arg0: memref<?x64xf32>, %arg1: memref<?x64xf32>, %arg2: index) attributes {coil.kernel} {
  "coil.loop_nest"(%arg2) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%arg1, %i, %j) : (memref<?x64xf32>, index, index) -> f32
    %w = arith.mulf %v, %v : f32
    "coil.store"(%w, %arg0, %i, %j) : (f32, memref<?x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 64], reduction_ranges = []} : (index) -> ()
  return
}

// -----

// A block that divides the static part (64 | 1024 would drop a static mask)
// keeps its mask for a symbolic size, even with a tiny block.

// CHECK-LABEL: // @tiny_block grid=(cdiv(arg2 * 64, 1024), 1, 1)
// BLOCK-LABEL: // @tiny_block grid=(cdiv(arg2 * 64, 64), 1, 1)
// BLOCK:       %[[MASK:.+]] = arith.cmpi slt, %{{.+}}, %{{.+}} : tensor<64xi64>
// BLOCK:       tt.load %{{.+}}, %[[MASK]] : tensor<64x!tt.ptr<f32>>
// BLOCK:       tt.store %{{.+}}, %{{.+}}, %[[MASK]] : tensor<64x!tt.ptr<f32>>
func.func @tiny_block(%arg0: memref<?x64xf32>, %arg1: memref<?x64xf32>, %arg2: index) attributes {coil.kernel} {
  "coil.loop_nest"(%arg2) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%arg1, %i, %j) : (memref<?x64xf32>, index, index) -> f32
    "coil.store"(%v, %arg0, %i, %j) : (f32, memref<?x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 64], reduction_ranges = []} : (index) -> ()
  return
}

// -----

// [s0, s1] with a strided input of symbolic strides and offset: like a memref
// descriptor, the buffer's open strides follow its pointer as i64 parameters
// (the launcher passes t.stride(k); the offset is in the data pointer). The
// identity-layout [?, ?] output has one open stride, stride(0). The flat
// index splits into symbolic digits x // s1 and x % s1 (64-bit divsi/remsi).

// CHECK-LABEL: // @transpose_add grid=(cdiv(arg3 * arg4, 1024), 1, 1)
// CHECK:       tt.func public @transpose_add(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg0_stride0: i64, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1_stride0: i64, %arg1_stride1: i64, %arg2: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg3: i64, %arg4: i64) {
// CHECK-DAG:   %[[S1:.+]] = tt.splat %arg4 : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[J:.+]] = arith.remsi %[[X:.+]], %[[S1]] : tensor<1024xi64>
// CHECK-DAG:   %[[I:.+]] = arith.divsi %[[X]], %[[S1]] : tensor<1024xi64>
// CHECK-DAG:   tt.splat %arg1_stride0 : i64 -> tensor<1024xi64>
// CHECK-DAG:   tt.splat %arg1_stride1 : i64 -> tensor<1024xi64>
// CHECK-DAG:   tt.splat %arg0_stride0 : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[N:.+]] = arith.muli %arg3, %arg4 : i64
// CHECK-DAG:   %[[NS:.+]] = tt.splat %[[N]] : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[MASK:.+]] = arith.cmpi slt, %[[X]], %[[NS]] : tensor<1024xi64>
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[MASK]] : tensor<1024x!tt.ptr<f32>>
func.func @transpose_add(%out: memref<?x?xf32>, %a: memref<?x?xf32, strided<[?, ?], offset: ?>>, %b: memref<?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0, %s1) ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%a, %i, %j) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, index, index) -> f32
    %y = "coil.load"(%b, %j) : (memref<?xf32>, index) -> f32
    %z = arith.addf %x, %y : f32
    "coil.store"(%z, %out, %i, %j) : (f32, memref<?x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, -9223372036854775808], reduction_ranges = []} : (index, index) -> ()
  return
}
