// RUN: %coil-opt %s --coil-plan-memory --coil-verify-memory | filecheck %s

// A matmul's result is a tensor of its own: the bias-GELU epilogue, which
// reads it only at the points it writes, overwrites it in place. A view
// returned by an extern call (aten::t) may alias its argument: never.

// CHECK-LABEL: func.func @graph
// CHECK:         %[[MM:.+]] = "coil.extern"
// CHECK:         "coil.reuse"(%[[MM]]) {coil.inplace}
// CHECK:         %[[T:.+]] = "coil.extern"
// CHECK-NOT:     "coil.reuse"(%[[T]])
// CHECK:         return
func.func @graph(%x: memref<4x8xf32>, %w: memref<8x8xf32>) -> (memref<4x8xf32>, memref<8x8xf32>) attributes {coil.device = "cpu", coil.host} {
  %mm = "coil.extern"() ({
    "coil.arg"(%x) : (memref<4x8xf32>) -> ()
    "coil.arg"(%w) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> memref<4x8xf32>
  %g = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<4x8xf32>) -> ()
    "coil.arg"(%mm) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @exp} : () -> ()
  "coil.dealloc"(%mm) : (memref<4x8xf32>) -> ()
  %h = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%h) : (memref<4x8xf32>) -> ()
    "coil.arg"(%g) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  "coil.dealloc"(%g) : (memref<4x8xf32>) -> ()
  %t = "coil.extern"() ({
    "coil.arg"(%w) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>], kernel = "aten::t.default", kwargs = {}} : () -> memref<8x8xf32>
  %e = "coil.alloc"() {device = "cpu"} : () -> memref<8x8xf32>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<8x8xf32>) -> ()
    "coil.arg"(%t) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @exp8} : () -> ()
  "coil.dealloc"(%t) : (memref<8x8xf32>) -> ()
  return %h, %e : memref<4x8xf32>, memref<8x8xf32>
}
func.func @exp(%out: memref<4x8xf32>, %in: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<4x8xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 8], reduction_ranges = []} : () -> ()
  return
}
func.func @shift(%out: memref<4x8xf32>, %in: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %k = affine.apply affine_map<(d0) -> ((d0 + 1) mod 8)>(%j)
    %v = "coil.load"(%in, %i, %k) : (memref<4x8xf32>, index, index) -> f32
    "coil.store"(%v, %out, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 8], reduction_ranges = []} : () -> ()
  return
}
func.func @exp8(%out: memref<8x8xf32>, %in: memref<8x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<8x8xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<8x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 8], reduction_ranges = []} : () -> ()
  return
}
