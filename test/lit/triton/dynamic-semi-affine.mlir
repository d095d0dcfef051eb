// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// Index expressions over symbols (.scratch/dynamic.md): a flatten of
// [s0, s1] folds into `affine_map<(d0)[s0] -> (d0 floordiv s0, d0 mod s0)>`
// with the size as the map's symbol. Division by a symbol is semi-affine;
// the emitter keeps it as a 64-bit divsi/remsi of the flat index by the
// size argument (floor semantics: the index is nonnegative).

// CHECK-LABEL: // @flatten grid=(cdiv((arg3 * arg4), 1024), 1, 1)
// CHECK:       tt.func public @flatten(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1_stride0: i64, %arg1_stride1: i64, %arg2: i64, %arg3: i64, %arg4: i64) {
// CHECK-DAG:   %[[S:.+]] = tt.splat %arg4 : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[COL:.+]] = arith.remsi %[[X:.+]], %[[S]] : tensor<1024xi64>
// CHECK-DAG:   %[[ROW:.+]] = arith.divsi %[[X]], %[[S]] : tensor<1024xi64>
// CHECK-DAG:   %[[ST1:.+]] = tt.splat %arg1_stride1 : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[ST0:.+]] = tt.splat %arg1_stride0 : i64 -> tensor<1024xi64>
// CHECK-DAG:   arith.muli %[[COL]], %[[ST1]] : tensor<1024xi64>
// CHECK-DAG:   arith.muli %[[ROW]], %[[ST0]] : tensor<1024xi64>
// CHECK-DAG:   %[[N:.+]] = arith.muli %arg3, %arg4 : i64
// CHECK-DAG:   %[[NS:.+]] = tt.splat %[[N]] : i64 -> tensor<1024xi64>
// CHECK-DAG:   %[[MASK:.+]] = arith.cmpi slt, %[[X]], %[[NS]] : tensor<1024xi64>
// CHECK:       tt.load %{{.+}}, %[[MASK]] : tensor<1024x!tt.ptr<f32>>
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[MASK]] : tensor<1024x!tt.ptr<f32>>
func.func @flatten(%out: memref<?xf32>, %x: memref<?x?xf32, strided<[?, ?], offset: ?>>, %s2: index, %s0: index, %s1: index) attributes {coil.kernel} {
  %n = arith.muli %s0, %s1 : index
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index):
    %a = affine.apply affine_map<(d0)[s0] -> (d0 floordiv s0)>(%i)[%s1]
    %b = affine.apply affine_map<(d0)[s0] -> (d0 mod s0)>(%i)[%s1]
    %v = "coil.load"(%x, %a, %b) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, index, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = []} : (index) -> ()
  return
}

// -----

// arith on symbols in the body: a slice x[:, s1 - 3:] (start s1 - 3) of an
// [s0, s1] buffer, and a floordivsi by a symbol (exact semantics: an i64
// arith.floordivsi, since the divisor's sign is not known). The loop range
// is the derived size computed before the nest; the grid evaluates it.
// CHECK-LABEL: // @slice_tail grid=(cdiv(arg2 * 3, 1024), 1, 1)
// CHECK:       tt.func public @slice_tail(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1_stride0: i64, %arg2: i64, %arg3: i64) {
// CHECK:       %[[MINUS3:.+]] = arith.constant dense<-3> : tensor<1024xi64>
// CHECK:       %[[J:.+]] = arith.remsi %[[X:.+]], %{{.+}} : tensor<1024xi64>
// CHECK-NEXT:  %[[S1:.+]] = tt.splat %arg3 : i64 -> tensor<1024xi64>
// CHECK:       %[[JS:.+]] = arith.addi %[[J]], %[[S1]] : tensor<1024xi64>
// CHECK-NEXT:  %[[COL:.+]] = arith.addi %[[JS]], %[[MINUS3]] : tensor<1024xi64>
// CHECK-NEXT:  arith.floordivsi %[[COL]], %[[S1]] : tensor<1024xi64>
// CHECK:       %[[N:.+]] = arith.muli %arg2, %{{.+}} : i64
// CHECK-NEXT:  %[[NS:.+]] = tt.splat %[[N]] : i64 -> tensor<1024xi64>
// CHECK-NEXT:  %[[MASK:.+]] = arith.cmpi slt, %[[X]], %[[NS]] : tensor<1024xi64>
// CHECK-NEXT:  tt.load %{{.+}}, %[[MASK]] : tensor<1024x!tt.ptr<f32>>
func.func @slice_tail(%out: memref<?x3xf32>, %x: memref<?x?xf32>, %s0: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0) ({
  ^bb0(%i: index, %j: index):
    %c3 = arith.constant 3 : index
    %start = arith.subi %s1, %c3 : index
    %col = arith.addi %start, %j : index
    %q = arith.floordivsi %col, %s1 : index
    %row = arith.addi %i, %q : index
    %v = "coil.load"(%x, %row, %col) : (memref<?x?xf32>, index, index) -> f32
    "coil.store"(%v, %out, %i, %j) : (f32, memref<?x3xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 3], reduction_ranges = []} : (index) -> ()
  return
}
