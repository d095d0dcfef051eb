// RUN: not coil-translate --coil-to-ttir --split-input-file %s 2>&1 | filecheck %s

// An op without a TTIR lowering is reported at its location, naming the kernel.

// CHECK: errors.mlir:[[# @LINE + 6]]:10: error: cannot lower kernel '@fpowi' to TTIR at 'math.fpowi': no TTIR lowering for this op
func.func @fpowi(%out: memref<4xf32>, %x: memref<4xf32>, %n: memref<4xi32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (memref<4xf32>, index) -> f32
    %k = "coil.load"(%n, %i) : (memref<4xi32>, index) -> i32
    %p = math.fpowi %v, %k : f32, i32
    "coil.store"(%p, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

// A config must use power-of-two blocks.
// RUN: not coil-translate --coil-to-ttir --xblock=48 --kernel=copy %s 2>&1 | filecheck %s --check-prefix=CONFIG
// CONFIG: error: cannot lower kernel '@copy' to TTIR: xblock must be a power of two, found 48
func.func @copy(%out: memref<4xf32>, %x: memref<4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (memref<4xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}
