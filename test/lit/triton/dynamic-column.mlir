// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// Column reductions over symbolic ranges (.scratch/dynamic.md): the loads
// run along the output columns, so the tile is [RBLOCK, XBLOCK] reduced along
// axis 0, as for static sizes; the symbolic reduction range (rows) is looped
// up to its runtime size, masked per row.

// A sum over dim 0 of [s0, 64]: static output (grid fixed), symbolic rows.
// CHECK-LABEL: // @col_sum grid=(2, 1, 1) num_warps=16 xblock=32 yblock=1 rblock=64 persistent=false index_bits=64
// CHECK:       tt.func public @col_sum(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg2: i64) {
// CHECK-DAG:   %[[C0:.+]] = arith.constant 0 : i64
// CHECK-DAG:   %[[STEP:.+]] = arith.constant 64 : i64
// CHECK-DAG:   %[[RN:.+]] = tt.splat %arg2 : i64 -> tensor<64x1xi64>
// CHECK:       %[[SUM:.+]] = scf.for %{{.+}} = %[[C0]] to %arg2 step %[[STEP]] iter_args(%{{.+}} = %{{.+}}) -> (tensor<64x32xf32>) : i64 {
// CHECK:         %[[RMASK:.+]] = arith.cmpi slt, %{{.+}}, %[[RN]] : tensor<64x1xi64>
// CHECK:         %[[MASK:.+]] = tt.broadcast %[[RMASK]] : tensor<64x1xi1> -> tensor<64x32xi1>
// CHECK:         tt.load %{{.+}}, %[[MASK]]{{.*}} : tensor<64x32x!tt.ptr<f32>>
// CHECK:       }
// CHECK:       "tt.reduce"(%[[SUM]]) <{axis = 0 : i32}>
func.func @col_sum(%out: memref<64xf32>, %x: memref<?x64xf32>, %s0: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0) ({
  ^bb0(%j: index, %r: index):
    %v = "coil.load"(%x, %r, %j) : (memref<?x64xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %j) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [-9223372036854775808]} : (index) -> ()
  return
}

// -----

// An amax over dim 0 of [s0, s1]: both symbolic. The output columns are
// masked against s1 (grid cdiv(s1, XBLOCK)), the rows against s0, and the
// row stride is the input's stride(0) parameter.
// CHECK-LABEL: // @col_max grid=(cdiv(arg3, 32), 1, 1) num_warps=16 xblock=32 yblock=1 rblock=64 persistent=false index_bits=64
// CHECK:       tt.func public @col_max(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1_stride0: i64, %arg2: i64, %arg3: i64) {
// CHECK-DAG:   %[[XN:.+]] = tt.splat %arg3 : i64 -> tensor<1x32xi64>
// CHECK-DAG:   %[[XMASK:.+]] = arith.cmpi slt, %{{.+}}, %[[XN]] : tensor<1x32xi64>
// CHECK:       %[[MAX:.+]] = scf.for %{{.+}} = %{{.+}} to %arg2 step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<64x32xf32>) : i64 {
// CHECK:         arith.muli %{{.+}}, %{{.+}} : tensor<64x1xi64>
// CHECK:         arith.maximumf
// CHECK:       }
// CHECK:       "tt.reduce"(%[[MAX]]) <{axis = 0 : i32}>
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[XMASK]] : tensor<1x32x!tt.ptr<f32>>
func.func @col_max(%out: memref<?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s1, %s0) ({
  ^bb0(%j: index, %r: index):
    %v = "coil.load"(%x, %r, %j) : (memref<?x?xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "max"} : (f32) -> f32
    "coil.store"(%s, %out, %j) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808]} : (index, index) -> ()
  return
}
