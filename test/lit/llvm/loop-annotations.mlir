// RUN: %coil-opt %s --coil-convert-kernels-to-llvm | filecheck %s

// The hint coil-lower-loop-nests puts on a long reduction loop reaches the
// loop's back edge in the LLVM dialect as the branch's own loop_annotation
// (what becomes !llvm.loop metadata), not as a discardable attribute.
// CHECK: #[[HINT:.*]] = #llvm.loop_annotation<interleave = #{{.*}}, unroll = #{{.*}}>
// CHECK-LABEL: llvm.func @row_sum
// CHECK: llvm.br ^{{.*}} {loop_annotation = #[[HINT]]}
// CHECK-NOT: llvm.loop_annotation
// CHECK: llvm.return
func.func @row_sum(%x: memref<8x1024xf32> {coil.noalias}, %out: memref<8xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x1024xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [1024]} : () -> ()
  return
}
