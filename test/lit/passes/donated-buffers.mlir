// RUN: %coil-opt %s --coil-plan-memory --coil-verify-memory | filecheck %s

// A backward's donated argument (%logits: only the backward holds it) is freed
// after its last use. The softmax-style kernel's one store depends on both of
// its reductions, so it writes its gradient in place of %logits; %w is not
// donated and is never written or freed; %tmp's storage then comes from the
// donated %h, freed at its last use.

// CHECK-LABEL: func.func @graph
// CHECK:         %[[G:.+]] = "coil.reuse"(%arg0) {coil.inplace} : (memref<4x8xf32>) -> memref<4x8xf32>
// CHECK:         "coil.arg"(%[[G]])
// CHECK-NEXT:    "coil.arg"(%arg0)
// CHECK:         "coil.reuse"(%arg2) : (memref<4x8xf32>) -> memref<4x8xf32>
// CHECK-NOT:     "coil.dealloc"(%arg1)
// CHECK:         return
func.func @graph(%logits: memref<4x8xf32>, %w: memref<4x8xf32>, %h: memref<4x8xf32>) -> (memref<4x8xf32>, memref<4x8xf32>)
    attributes {coil.device = "cpu", coil.host, arg_attrs = [{coil.donated}, {}, {coil.donated}]} {
  %g = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<4x8xf32>) -> ()
    "coil.arg"(%logits) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @softmax} : () -> ()
  %u = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%u) : (memref<4x8xf32>) -> ()
    "coil.arg"(%g) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shifted} : () -> ()
  "coil.dealloc"(%g) : (memref<4x8xf32>) -> ()
  %s = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%s) : (memref<4x8xf32>) -> ()
    "coil.arg"(%h) : (memref<4x8xf32>) -> ()
    "coil.arg"(%w) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shifted_add} : () -> ()
  %tmp = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%tmp) : (memref<4x8xf32>) -> ()
    "coil.arg"(%s) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shifted} : () -> ()
  "coil.dealloc"(%s) : (memref<4x8xf32>) -> ()
  %out = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
  "coil.launch"() ({
    "coil.arg"(%out) : (memref<4x8xf32>) -> ()
    "coil.arg"(%tmp) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shifted} : () -> ()
  "coil.dealloc"(%tmp) : (memref<4x8xf32>) -> ()
  return %u, %out : memref<4x8xf32>, memref<4x8xf32>
}
func.func @softmax(%out: memref<4x8xf32>, %x: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<4x8xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = arith.subf %0, %1 : f32
    %3 = math.exp %2 : f32
    %4 = "coil.reduce"(%3) {reduction_type = "sum"} : (f32) -> f32
    %5 = arith.divf %3, %4 : f32
    "coil.store"(%5, %out, %i, %r) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}
func.func @shifted_add(%out: memref<4x8xf32>, %a: memref<4x8xf32>, %b: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %k = affine.apply affine_map<(d0) -> ((d0 + 1) mod 8)>(%j)
    %0 = "coil.load"(%a, %i, %k) : (memref<4x8xf32>, index, index) -> f32
    %1 = "coil.load"(%b, %i, %k) : (memref<4x8xf32>, index, index) -> f32
    %2 = arith.addf %0, %1 : f32
    "coil.store"(%2, %out, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 8], reduction_ranges = []} : () -> ()
  return
}
func.func @shifted(%out: memref<4x8xf32>, %a: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %k = affine.apply affine_map<(d0) -> ((d0 + 1) mod 8)>(%j)
    %0 = "coil.load"(%a, %i, %k) : (memref<4x8xf32>, index, index) -> f32
    "coil.store"(%0, %out, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 8], reduction_ranges = []} : () -> ()
  return
}
