// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=true --rblock=256 %s | filecheck %s --check-prefix=FORCED

// Reductions over symbolic ranges (.scratch/dynamic.md). A symbolic
// reduction range is always looped: no RBLOCK covers every size, so even a
// config that asks for a persistent reduction loops (FORCED). The scf.for
// runs from 0 to the runtime size in RBLOCK steps, in i64; the reduction
// lanes are masked against the size, and the output rows against theirs.

// A row sum of an [s0, s1] buffer: one row a program (grid = s0), the row's
// stride an i64 parameter after the pointer.
// CHECK-LABEL: // @row_sum grid=(arg2, 1, 1) num_warps=8 xblock=1 yblock=1 rblock=1024 persistent=false index_bits=64
// CHECK:       tt.func public @row_sum(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1_stride0: i64, %arg2: i64, %arg3: i64) {
// CHECK-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<1x1024xf32>
// CHECK-DAG:   %[[C0:.+]] = arith.constant 0 : i64
// CHECK-DAG:   %[[STEP:.+]] = arith.constant 1024 : i64
// CHECK-DAG:   %[[RN:.+]] = tt.splat %arg3 : i64 -> tensor<1x1024xi64>
// CHECK-DAG:   %[[ROW:.+]] = arith.extsi %{{.+}} : i32 to i64
// CHECK-DAG:   %[[BASE:.+]] = arith.muli %arg1_stride0, %[[ROW]] : i64
// CHECK-DAG:   %[[XMASK:.+]] = arith.cmpi slt, %[[ROW]], %arg2 : i64
// CHECK:       %[[SUM:.+]] = scf.for %[[IV:.+]] = %[[C0]] to %arg3 step %[[STEP]] iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (tensor<1x1024xf32>) : i64 {
// CHECK:         %[[R:.+]] = arith.addi %{{.+}}, %{{.+}} : tensor<1x1024xi64>
// CHECK-NEXT:    %[[RMASK:.+]] = arith.cmpi slt, %[[R]], %[[RN]] : tensor<1x1024xi64>
// CHECK:         %[[MASK:.+]] = arith.andi %{{.+}}, %[[RMASK]] : tensor<1x1024xi1>
// CHECK-NEXT:    %[[V:.+]] = tt.load %{{.+}}, %[[MASK]]{{.*}} : tensor<1x1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[ADD:.+]] = arith.addf %[[ACC]], %[[V]] : tensor<1x1024xf32>
// CHECK-NEXT:    %[[KEEP:.+]] = arith.select %[[RMASK]], %[[ADD]], %[[ACC]] : tensor<1x1024xi1>, tensor<1x1024xf32>
// CHECK-NEXT:    scf.yield %[[KEEP]] : tensor<1x1024xf32>
// CHECK-NEXT:  }
// CHECK:       "tt.reduce"(%[[SUM]]) <{axis = 1 : i32}>
// CHECK:       %[[SMASK:.+]] = tt.splat %[[XMASK]] : i1 -> tensor<1x1xi1>
// CHECK-NEXT:  tt.store %{{.+}}, %{{.+}}, %[[SMASK]] : tensor<1x1x!tt.ptr<f32>>
// FORCED-LABEL: // @row_sum grid=(arg2, 1, 1) num_warps=8 xblock=1 yblock=1 rblock=256 persistent=false index_bits=64
// FORCED:       scf.for %{{.+}} = %{{.+}} to %arg3 step %{{.+}} iter_args
func.func @row_sum(%out: memref<?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0, %s1) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<?x?xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808]} : (index, index) -> ()
  return
}

// -----

// softmax over a symbolic row: looped, online (max and rescaled sum in one
// pass, then the output pass), both loops bounded by the runtime width. A
// row of -inf sums to nan only when the row is not empty (s1 > 0 at run time).
// CHECK-LABEL: // @softmax grid=(arg2, 1, 1)
// CHECK:       scf.for %{{.+}} = %{{.+}} to %arg3 step %{{.+}} iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<1x1024xf32>, tensor<1x1024xf32>) : i64 {
// CHECK:         arith.maximumf
// CHECK:         math.exp
// CHECK:       }
// CHECK:       %[[NONEMPTY:.+]] = arith.cmpi sgt, %arg3, %{{.+}} : i64
// CHECK:       scf.for %{{.+}} = %{{.+}} to %arg3 step %{{.+}} : i64 {
// CHECK:         arith.divf
// CHECK:         tt.store
// CHECK:       }
// CHECK-NOT:   scf.for
func.func @softmax(%out: memref<?x?xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0, %s1) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<?x?xf32>, index, index) -> f32
    %m = "coil.reduce"(%v) {reduction_type = "max"} : (f32) -> f32
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    %s = "coil.reduce"(%e) {reduction_type = "sum"} : (f32) -> f32
    %y = arith.divf %e, %s : f32
    "coil.store"(%y, %out, %i, %r) : (f32, memref<?x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808]} : (index, index) -> ()
  return
}

// -----

// Symbolic rows, a static 128-wide reduction: the reduction range is static,
// so it may stay persistent (RBLOCK 128 covers it, unmasked); the rows are
// masked against s0 and the grid is cdiv(s0, XBLOCK).
// CHECK-LABEL: // @mean_rows grid=(cdiv(arg2, 8), 1, 1) num_warps=4 xblock=8 yblock=1 rblock=128 persistent=true index_bits=64
// CHECK:       %[[XMASK:.+]] = arith.cmpi slt, %{{.+}}, %{{.+}} : tensor<8x1xi64>
// CHECK:       %[[M:.+]] = tt.broadcast %[[XMASK]] : tensor<8x1xi1> -> tensor<8x128xi1>
// CHECK:       tt.load %{{.+}}, %[[M]]{{.*}} : tensor<8x128x!tt.ptr<f32>>
// CHECK-NOT:   scf.for
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[XMASK]] : tensor<8x1x!tt.ptr<f32>>
// FORCED-LABEL: // @mean_rows grid=(cdiv(arg2, 8), 1, 1) num_warps=4 xblock=8 yblock=1 rblock=128 persistent=true
func.func @mean_rows(%out: memref<?xf32>, %x: memref<?x128xf32>, %s0: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<?x128xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    %c = arith.constant 1.280000e+02 : f32
    %m = arith.divf %s, %c : f32
    "coil.store"(%m, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [128]} : (index) -> ()
  return
}
