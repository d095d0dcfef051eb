// RUN: %coil-opt %s --split-input-file --pass-pipeline='builtin.module(coil-lower-loop-nests{outer-slice=true})' | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-convert-kernels-to-llvm=outer-slice=true | filecheck %s --check-prefix=LLVM

// Symbolic sizes: each buffer with `?` sizes or strides becomes a 0-d memref
// (one bare pointer) plus trailing index arguments for its `?` sizes and
// strides, rebuilt by memref.reinterpret_cast at entry. Loops run to the
// kernel's index arguments; the sliced dimension is clamped to its extent.
// CHECK-LABEL: func.func @copy
// CHECK-SAME: (%[[OUT:[^:]*]]: memref<f32>, %[[X:[^:]*]]: memref<f32>, %[[S0:[^:]*]]: index,
// CHECK-SAME: %[[OS0:[^:]*]]: index, %[[XS0:[^:]*]]: index, %[[XST0:[^:]*]]: index, %[[XST1:[^:]*]]: index,
// CHECK-SAME: %[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index)
// CHECK-DAG: %[[OUTV:.*]] = memref.reinterpret_cast %[[OUT]] to offset: [0], sizes: [%[[OS0]], 64], strides: [64, 1] : memref<f32> to memref<?x64xf32>
// CHECK-DAG: %[[XV:.*]] = memref.reinterpret_cast %[[X]] to offset: [%{{.*}}], sizes: [%[[XS0]], 64], strides: [%[[XST0]], %[[XST1]]] : memref<f32> to memref<?x64xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[HI:.*]] = arith.minsi %[[END]], %[[S0]] : index
// CHECK: scf.for %[[I:.*]] = %[[BEGIN]] to %[[HI]]
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %[[C64]]
// CHECK-NEXT: %[[A:.*]] = memref.load %[[XV]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %[[A]], %[[OUTV]][%[[I]], %[[J]]] : memref<?x64xf32>
// LLVM-LABEL: llvm.func @copy
// LLVM-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
func.func @copy(%out: memref<?x64xf32>, %x: memref<?x64xf32, strided<[?, ?], offset: ?>>, %s0: index) attributes {coil.kernel} {
  "coil.loop_nest"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (memref<?x64xf32, strided<[?, ?], offset: ?>>, index, index) -> f32
    "coil.store"(%v, %out, %i, %j) : (f32, memref<?x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 64], reduction_ranges = []} : (index) -> ()
  return
}

// -----

// A symbolic reduction range bounds the reduction loop; welford's count is
// the product of the reduction sizes, converted once before the loops.
// CHECK-LABEL: func.func @row_var
// CHECK-SAME: (%{{[^:]*}}: memref<f32>, %{{[^:]*}}: memref<f32>, %[[N:[^:]*]]: index, %[[M:[^:]*]]: index,
// CHECK: %[[CNT:.*]] = arith.index_cast %[[M]] : index to i64
// CHECK-NEXT: %[[W:.*]] = arith.sitofp %[[CNT]] : i64 to f32
// CHECK: scf.for
// CHECK-NEXT: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %[[M]] step
// CHECK: arith.divf %[[SUM]], %[[W]] : f32
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M]] step
func.func @row_var(%out: memref<?xf32>, %x: memref<?x?xf32>, %n: index, %m: index) attributes {coil.kernel} {
  "coil.loop_nest"(%n, %m) ({
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<?x?xf32>, index, index) -> f32
    %s:3 = "coil.reduce"(%a) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    "coil.store"(%s#1, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808]} : (index, index) -> ()
  return
}

// -----

// Semi-affine index math (floordiv/mod by a size) goes through lower-affine;
// a static leading range of 1 leaves the symbolic one as the sliced dimension.
// CHECK-LABEL: func.func @flatten
// CHECK-SAME: attributes {coil.kernel, coil.slice_dim = 1 : i64}
// CHECK: affine.apply
// LLVM-LABEL: llvm.func @flatten
// LLVM: llvm.sdiv
// LLVM: llvm.srem
func.func @flatten(%out: memref<1x?xf32>, %x: memref<?x?xf32>, %n: index, %s1: index) attributes {coil.kernel} {
  "coil.loop_nest"(%n) ({
  ^bb0(%z: index, %k: index):
    %i = affine.apply affine_map<(d0)[s0] -> (d0 floordiv s0)>(%k)[%s1]
    %j = affine.apply affine_map<(d0)[s0] -> (d0 mod s0)>(%k)[%s1]
    %a = "coil.load"(%x, %i, %j) : (memref<?x?xf32>, index, index) -> f32
    "coil.store"(%a, %out, %z, %k) : (f32, memref<1x?xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [1, -9223372036854775808], reduction_ranges = []} : (index) -> ()
  return
}
