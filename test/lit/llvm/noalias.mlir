// RUN: %coil-opt %s --split-input-file --coil-convert-kernels-to-llvm=outer-slice=true | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s --check-prefix=LOOPS

// Buffers marked `coil.noalias` (by coil-kernel-args) become `llvm.noalias`
// pointers, so that LLVM vectorizes an in-place update without runtime overlap
// checks; unmarked buffers and the slice bounds get no attribute.
// CHECK-LABEL: llvm.func @update
// CHECK-SAME: (%{{[^:]*}}: !llvm.ptr {llvm.noalias}, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr {llvm.noalias}, %{{[^:]*}}: i64, %{{[^:]*}}: i64)
// LOOPS-LABEL: func.func @update
// LOOPS-SAME: (%{{[^:]*}}: memref<64xf32> {llvm.noalias}, %{{[^:]*}}: memref<64xf32>, %{{[^:]*}}: memref<64xf32> {llvm.noalias})
// LOOPS-NOT: coil.noalias
func.func @update(%p: memref<64xf32> {coil.noalias}, %g: memref<64xf32>, %m: memref<64xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%p, %i) : (memref<64xf32>, index) -> f32
    %b = "coil.load"(%g, %i) : (memref<64xf32>, index) -> f32
    %c = arith.addf %a, %b : f32
    "coil.store"(%c, %p, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.store"(%b, %m, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}

// -----

// A buffer with a symbolic size is a bare pointer plus its size: the pointer
// keeps its attribute; its size (and the slice bounds) get none.
// CHECK-LABEL: llvm.func @dynamic
// CHECK-SAME: (%{{[^:]*}}: !llvm.ptr {llvm.noalias}, %{{[^:]*}}: i64, %{{[^:]*}}: !llvm.ptr {llvm.noalias}, %{{[^:]*}}: i64, %{{[^:]*}}: i64, %{{[^:]*}}: i64, %{{[^:]*}}: i64)
func.func @dynamic(%out: memref<?xf32> {coil.noalias}, %n: index, %x: memref<?xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<?xf32>, index) -> f32
    %b = arith.addf %a, %a : f32
    "coil.store"(%b, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = []} : (index) -> ()
  return
}
