// RUN: rm -rf %t && mkdir -p %t
// RUN: not %coil-opt %s --coil-convert-kernels-to-llvm --reproducer-dir %t 2>&1 | filecheck %s

// The LLVM pipeline lowers modules of kernels; a host function is refused
// with a diagnostic at its location rather than half-converted.
// CHECK: convert-kernels-to-llvm-host.mlir:[[# @LINE + 1]]:1: error: coil-convert-kernels-to-llvm: @graph is not a coil.kernel function
func.func @graph(%x: memref<4xf32>) -> memref<4xf32> attributes {coil.host} {
  return %x : memref<4xf32>
}

func.func @kernel_0(%out: memref<4xf32>, %x: memref<4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<4xf32>, index) -> f32
    "coil.store"(%a, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}
