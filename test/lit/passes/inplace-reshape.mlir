// RUN: %coil-opt %s --split-input-file --coil-plan-memory --coil-verify-memory | filecheck %s

// In place across a reshape: a kernel reads a dying buffer of one shape and
// writes another shape with as many elements of the same type, each load at
// the storage offset its iteration stores to.

// A softmax over a batched matmul's [b*h, t, t] scores writing [b, h, t, t]
// (transformer attention): the scores are read at (2*b + h, r), the storage
// offset of the store at (b, h, r), in all three reduction passes.
// CHECK-LABEL: func.func @softmax_over_bmm
// CHECK:         %[[S:.+]] = "coil.extern"()
// CHECK:         %[[P:.+]] = "coil.reuse"(%[[S]]) {coil.inplace} : (memref<4x8xf32>) -> memref<2x2x8xf32>
// CHECK-NEXT:    "coil.launch"() ({
// CHECK-NEXT:      "coil.arg"(%[[P]])
// CHECK-NEXT:      "coil.arg"(%[[S]])
// CHECK-NOT:     "coil.dealloc"(%[[S]])
// CHECK:         "coil.dealloc"(%[[P]])
func.func @softmax_over_bmm(%q: memref<4x8xf32>, %k: memref<4x8x8xf32>, %v: memref<2x2x8xf32>) -> memref<2x2x8xf32> attributes {coil.device = "cpu", coil.host} {
  %s = "coil.extern"() ({
    "coil.arg"(%q) : (memref<4x8xf32>) -> ()
    "coil.arg"(%k) : (memref<4x8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::bmm.default", kwargs = {}} : () -> memref<4x8xf32>
  %p = "coil.alloc"() {device = "cpu"} : () -> memref<2x2x8xf32>
  "coil.launch"() ({
    "coil.arg"(%p) : (memref<2x2x8xf32>) -> ()
    "coil.arg"(%s) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @softmax} : () -> ()
  "coil.dealloc"(%s) : (memref<4x8xf32>) -> ()
  %out = "coil.alloc"() {device = "cpu"} : () -> memref<2x2x8xf32>
  "coil.launch"() ({
    "coil.arg"(%out) : (memref<2x2x8xf32>) -> ()
    "coil.arg"(%p) : (memref<2x2x8xf32>) -> ()
    "coil.arg"(%v) : (memref<2x2x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @mul} : () -> ()
  "coil.dealloc"(%p) : (memref<2x2x8xf32>) -> ()
  return %out : memref<2x2x8xf32>
}
func.func @softmax(%out: memref<2x2x8xf32>, %x: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%b: index, %h: index, %one: index, %r: index):
    %row = affine.apply affine_map<(d0, d1) -> (d0 * 2 + d1)>(%b, %h)
    %0 = "coil.load"(%x, %row, %r) : (memref<4x8xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %row, %r) : (memref<4x8xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %row, %r) : (memref<4x8xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %b, %h, %r) : (f32, memref<2x2x8xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 1], reduction_ranges = [8]} : () -> ()
  return
}
func.func @mul(%out: memref<2x2x8xf32>, %x: memref<2x2x8xf32>, %y: memref<2x2x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %0 = "coil.load"(%x, %i, %j, %k) : (memref<2x2x8xf32>, index, index, index) -> f32
    %1 = "coil.load"(%y, %i, %j, %k) : (memref<2x2x8xf32>, index, index, index) -> f32
    %2 = arith.mulf %0, %1 : f32
    "coil.store"(%2, %out, %i, %j, %k) : (f32, memref<2x2x8xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 8], reduction_ranges = []} : () -> ()
  return
}

// -----

// Both directions of a reshape of dense buffers: a GELU over addmm's [b*t, n]
// writing [b, t, n], and a kernel reading [b, t, n] through a flatten's
// (i floordiv 3, i mod 3, j) writing [b*t, n].
// CHECK-LABEL: func.func @gelu_over_addmm
// CHECK:         %[[H:.+]] = "coil.extern"()
// CHECK:         %[[G:.+]] = "coil.reuse"(%[[H]]) {coil.inplace} : (memref<6x4xf32>) -> memref<2x3x4xf32>
// CHECK:         %[[F:.+]] = "coil.reuse"(%[[G]]) {coil.inplace} : (memref<2x3x4xf32>) -> memref<6x4xf32>
// CHECK-NOT:     "coil.alloc"
// CHECK:         "coil.dealloc"(%[[F]])
func.func @gelu_over_addmm(%b: memref<4xf32>, %x: memref<6x4xf32>, %w: memref<4x4xf32>) attributes {coil.device = "cpu", coil.host} {
  %h = "coil.extern"() ({
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.arg"(%x) : (memref<6x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>, #coil.operand<2 : i64>], kernel = "aten::addmm.default", kwargs = {}} : () -> memref<6x4xf32>
  %g = "coil.alloc"() {device = "cpu"} : () -> memref<2x3x4xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<2x3x4xf32>) -> ()
    "coil.arg"(%h) : (memref<6x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @gelu} : () -> ()
  "coil.dealloc"(%h) : (memref<6x4xf32>) -> ()
  %f = "coil.alloc"() {device = "cpu"} : () -> memref<6x4xf32>
  "coil.launch"() ({
    "coil.arg"(%f) : (memref<6x4xf32>) -> ()
    "coil.arg"(%g) : (memref<2x3x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @flatten_exp} : () -> ()
  "coil.dealloc"(%g) : (memref<2x3x4xf32>) -> ()
  "coil.dealloc"(%f) : (memref<6x4xf32>) -> ()
  return
}
func.func @gelu(%out: memref<2x3x4xf32>, %x: memref<6x4xf32>) attributes {coil.kernel} {
  %half = arith.constant 0.5 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %row = affine.apply affine_map<(d0, d1) -> (d0 * 3 + d1)>(%i, %j)
    %0 = "coil.load"(%x, %row, %k) : (memref<6x4xf32>, index, index) -> f32
    %1 = math.erf %0 : f32
    %2 = arith.mulf %1, %half : f32
    "coil.store"(%2, %out, %i, %j, %k) : (f32, memref<2x3x4xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 3, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @flatten_exp(%out: memref<6x4xf32>, %x: memref<2x3x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %b = affine.apply affine_map<(d0) -> (d0 floordiv 3)>(%i)
    %t = affine.apply affine_map<(d0) -> (d0 mod 3)>(%i)
    %0 = "coil.load"(%x, %b, %t, %j) : (memref<2x3x4xf32>, index, index, index) -> f32
    %1 = math.exp %0 : f32
    "coil.store"(%1, %out, %i, %j) : (f32, memref<6x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [6, 4], reduction_ranges = []} : () -> ()
  return
}

// -----

// Not in place: a transposed read (element (j, i) of [4, 6] for the store at
// (i, j) of [6, 4]: the same count, other offsets), a broadcast read (the
// first row of [2, 4] for every row), and a store that iteration %k repeats
// (ranges [2, 2, 2], stored at (i, j) only: the second k would read what the
// first wrote).
// CHECK-LABEL: func.func @not_in_place
// CHECK-NOT:     coil.inplace
// CHECK:         return
func.func @not_in_place(%x: memref<4x6xf32>, %y: memref<2x4xf32>, %z: memref<4xf32>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<4x6xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<4x6xf32>) -> ()
    "coil.arg"(%x) : (memref<4x6xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy_4x6} : () -> ()
  %t = "coil.alloc"() {device = "cpu"} : () -> memref<6x4xf32>
  "coil.launch"() ({
    "coil.arg"(%t) : (memref<6x4xf32>) -> ()
    "coil.arg"(%a) : (memref<4x6xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @transpose} : () -> ()
  "coil.dealloc"(%a) : (memref<4x6xf32>) -> ()
  "coil.dealloc"(%t) : (memref<6x4xf32>) -> ()
  %b = "coil.alloc"() {device = "cpu"} : () -> memref<8xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<8xf32>) -> ()
    "coil.arg"(%y) : (memref<2x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @flatten} : () -> ()
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<2x4xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<2x4xf32>) -> ()
    "coil.arg"(%b) : (memref<8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @broadcast} : () -> ()
  "coil.dealloc"(%b) : (memref<8xf32>) -> ()
  "coil.dealloc"(%c) : (memref<2x4xf32>) -> ()
  %d = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
  "coil.launch"() ({
    "coil.arg"(%d) : (memref<4xf32>) -> ()
    "coil.arg"(%z) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy_4} : () -> ()
  %e = "coil.alloc"() {device = "cpu"} : () -> memref<2x2xf32>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<2x2xf32>) -> ()
    "coil.arg"(%d) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @repeated} : () -> ()
  "coil.dealloc"(%d) : (memref<4xf32>) -> ()
  "coil.dealloc"(%e) : (memref<2x2xf32>) -> ()
  return
}
func.func @copy_4x6(%out: memref<4x6xf32>, %x: memref<4x6xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%x, %i, %j) : (memref<4x6xf32>, index, index) -> f32
    "coil.store"(%0, %out, %i, %j) : (f32, memref<4x6xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 6], reduction_ranges = []} : () -> ()
  return
}
func.func @transpose(%out: memref<6x4xf32>, %x: memref<4x6xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%x, %j, %i) : (memref<4x6xf32>, index, index) -> f32
    "coil.store"(%0, %out, %i, %j) : (f32, memref<6x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [6, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @flatten(%out: memref<8xf32>, %x: memref<2x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %r = affine.apply affine_map<(d0) -> (d0 floordiv 4)>(%i)
    %c = affine.apply affine_map<(d0) -> (d0 mod 4)>(%i)
    %0 = "coil.load"(%x, %r, %c) : (memref<2x4xf32>, index, index) -> f32
    "coil.store"(%0, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}
func.func @broadcast(%out: memref<2x4xf32>, %x: memref<8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%x, %j) : (memref<8xf32>, index) -> f32
    "coil.store"(%0, %out, %i, %j) : (f32, memref<2x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @copy_4(%out: memref<4xf32>, %x: memref<4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %0 = "coil.load"(%x, %i) : (memref<4xf32>, index) -> f32
    "coil.store"(%0, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}
func.func @repeated(%out: memref<2x2xf32>, %x: memref<4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %f = affine.apply affine_map<(d0, d1) -> (d0 * 2 + d1)>(%i, %j)
    %0 = "coil.load"(%x, %f) : (memref<4xf32>, index) -> f32
    %1 = math.exp %0 : f32
    "coil.store"(%1, %out, %i, %j) : (f32, memref<2x2xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 2], reduction_ranges = []} : () -> ()
  return
}

// -----

// Not in place: elements of another size (f32 read at the offset an f16 is
// written, and the other way round), although the element counts are equal.
// CHECK-LABEL: func.func @element_size
// CHECK-NOT:     coil.inplace
// CHECK:         return
func.func @element_size(%x: memref<2x4xf32>, %y: memref<2x4xf16>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<2x4xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<2x4xf32>) -> ()
    "coil.arg"(%x) : (memref<2x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy_f32} : () -> ()
  %h = "coil.alloc"() {device = "cpu"} : () -> memref<8xf16>
  "coil.launch"() ({
    "coil.arg"(%h) : (memref<8xf16>) -> ()
    "coil.arg"(%a) : (memref<2x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @narrow} : () -> ()
  "coil.dealloc"(%a) : (memref<2x4xf32>) -> ()
  %w = "coil.alloc"() {device = "cpu"} : () -> memref<2x4xf32>
  "coil.launch"() ({
    "coil.arg"(%w) : (memref<2x4xf32>) -> ()
    "coil.arg"(%h) : (memref<8xf16>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @widen} : () -> ()
  "coil.dealloc"(%h) : (memref<8xf16>) -> ()
  "coil.dealloc"(%w) : (memref<2x4xf32>) -> ()
  return
}
func.func @copy_f32(%out: memref<2x4xf32>, %x: memref<2x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %0 = "coil.load"(%x, %i, %j) : (memref<2x4xf32>, index, index) -> f32
    "coil.store"(%0, %out, %i, %j) : (f32, memref<2x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @narrow(%out: memref<8xf16>, %x: memref<2x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %r = affine.apply affine_map<(d0) -> (d0 floordiv 4)>(%i)
    %c = affine.apply affine_map<(d0) -> (d0 mod 4)>(%i)
    %0 = "coil.load"(%x, %r, %c) : (memref<2x4xf32>, index, index) -> f32
    %1 = arith.truncf %0 : f32 to f16
    "coil.store"(%1, %out, %i) : (f16, memref<8xf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}
func.func @widen(%out: memref<2x4xf32>, %x: memref<8xf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %f = affine.apply affine_map<(d0, d1) -> (d0 * 4 + d1)>(%i, %j)
    %0 = "coil.load"(%x, %f) : (memref<8xf16>, index) -> f16
    %1 = arith.extf %0 : f16 to f32
    "coil.store"(%1, %out, %i, %j) : (f32, memref<2x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 4], reduction_ranges = []} : () -> ()
  return
}

// -----

// Kernel fusion can merge a buffer's last reader into an earlier launch after
// outlining placed its dealloc: planning frees %qkv right after its last use
// (@shift, not @add), so @add's result can take its storage.
// CHECK-LABEL: func.func @late_dealloc
// CHECK:         %[[QKV:.+]] = "coil.alloc"()
// CHECK:         {kernel = @shift}
// CHECK:         {kernel = @shift}
// CHECK-NEXT:    %[[E:.+]] = "coil.reuse"(%[[QKV]]) : (memref<16xf32>) -> memref<16xf32>
// CHECK:         {kernel = @add}
// CHECK-NOT:     "coil.dealloc"
// CHECK:         return
func.func @late_dealloc(%x: memref<16xf32>, %y: memref<16xf32>) -> (memref<16xf32>, memref<16xf32>) attributes {coil.device = "cpu", coil.host} {
  %qkv = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%qkv) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  %q = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%q) : (memref<16xf32>) -> ()
    "coil.arg"(%qkv) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  %e = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<16xf32>) -> ()
    "coil.arg"(%q) : (memref<16xf32>) -> ()
    "coil.arg"(%y) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @add} : () -> ()
  "coil.dealloc"(%qkv) : (memref<16xf32>) -> ()
  return %q, %e : memref<16xf32>, memref<16xf32>
}
func.func @shift(%out: memref<16xf32>, %x: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> ((d0 + 1) mod 16)>(%i)
    %0 = "coil.load"(%x, %j) : (memref<16xf32>, index) -> f32
    "coil.store"(%0, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
func.func @add(%out: memref<16xf32>, %x: memref<16xf32>, %y: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %0 = "coil.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %1 = "coil.load"(%y, %i) : (memref<16xf32>, index) -> f32
    %2 = arith.addf %0, %1 : f32
    "coil.store"(%2, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
