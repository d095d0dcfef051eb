// RUN: %coil-opt %s --split-input-file --coil-plan-memory --coil-verify-memory | filecheck %s

// Symbolic sizes: a freed buffer of ?x4 elements is reused for a new ?x4
// buffer of the same size value (the reuse lists its `?` size), and its
// in-place twin too; a buffer of another symbol's size is never reused, even
// if the hints agree. Byte counts use the hints: 8 x 4 x 4 bytes a buffer.

func.func @graph(%x: memref<?x4xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 8 : i64}) -> (memref<?x4xf32>, memref<?x4xf32>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<?x4xf32>) -> ()
    "coil.arg"(%x) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  %b = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<?x4xf32>) -> ()
    "coil.arg"(%a) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  "coil.dealloc"(%a) : (memref<?x4xf32>) -> ()
  %c = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<?x4xf32>) -> ()
    "coil.arg"(%b) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  "coil.dealloc"(%b) : (memref<?x4xf32>) -> ()
  %d = "coil.alloc"(%s1) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%d) : (memref<?x4xf32>) -> ()
    "coil.arg"(%x) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s1) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  %e = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<?x4xf32>) -> ()
    "coil.arg"(%c) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @exp} : () -> ()
  "coil.dealloc"(%c) : (memref<?x4xf32>) -> ()
  %f = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?x4xf32>
  "coil.launch"() ({
    "coil.arg"(%f) : (memref<?x4xf32>) -> ()
    "coil.arg"(%e) : (memref<?x4xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  "coil.dealloc"(%e) : (memref<?x4xf32>) -> ()
  return %d, %f : memref<?x4xf32>, memref<?x4xf32>
}
func.func @shift(%out: memref<?x4xf32>, %in: memref<?x4xf32>, %n: index) attributes {coil.kernel} {
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index, %j: index):
    %c1 = arith.constant 1 : index
    %k = arith.subi %n, %c1 : index
    %i1 = arith.minsi %i, %k : index
    %v = "coil.load"(%in, %i1, %j) : (memref<?x4xf32>, index, index) -> f32
    "coil.store"(%v, %out, %i, %j) : (f32, memref<?x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 4], reduction_ranges = []} : (index) -> ()
  return
}
func.func @exp(%out: memref<?x4xf32>, %in: memref<?x4xf32>, %n: index) attributes {coil.kernel} {
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<?x4xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<?x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808, 4], reduction_ranges = []} : (index) -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x4xf32>, %[[S0:[^:]*]]: index {{.*}}, %[[S1:[^:]*]]: index
// CHECK-SAME: coil.planned_peak_bytes = 384 : i64
// CHECK-SAME: coil.unplanned_bytes = 768 : i64
// CHECK: %[[A:.*]] = "coil.alloc"(%[[S0]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK: %[[B:.*]] = "coil.alloc"(%[[S0]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK: %[[C:.*]] = "coil.reuse"(%[[A]], %[[S0]]) : (memref<?x4xf32>, index) -> memref<?x4xf32>
// CHECK: %[[D:.*]] = "coil.alloc"(%[[S1]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK: %[[E:.*]] = "coil.reuse"(%[[C]], %[[S0]]) {coil.inplace} : (memref<?x4xf32>, index) -> memref<?x4xf32>
// CHECK: %[[F:.*]] = "coil.reuse"(%[[B]], %[[S0]]) : (memref<?x4xf32>, index) -> memref<?x4xf32>
// CHECK-NOT: "coil.dealloc"(%[[A]])
// CHECK-NOT: "coil.dealloc"(%[[B]])
// CHECK: "coil.dealloc"(%[[E]])
// CHECK-NEXT: return %[[D]], %[[F]]

// -----

// An extern result's `?` size has no name, so it is not reused: its element
// count cannot be proven equal to the new buffer's. Its bytes count at the
// fallback hint of 8192 elements.

func.func @graph(%x: memref<?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}) -> memref<?xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.extern"() ({
    "coil.arg"(%x) : (memref<?xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::nonzero.default", args = [#coil.operand<0 : i64>], kwargs = {}} : () -> memref<?xf32>
  %b = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<?xf32>) -> ()
    "coil.arg"(%x) : (memref<?xf32>) -> ()
    "coil.arg"(%a) : (memref<?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @first} : () -> ()
  "coil.dealloc"(%a) : (memref<?xf32>) -> ()
  %c = "coil.alloc"(%s0) {device = "cpu"} : (index) -> memref<?xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<?xf32>) -> ()
    "coil.arg"(%b) : (memref<?xf32>) -> ()
    "coil.arg"(%b) : (memref<?xf32>) -> ()
    "coil.arg"(%s0) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @first} : () -> ()
  "coil.dealloc"(%b) : (memref<?xf32>) -> ()
  return %c : memref<?xf32>
}
func.func @first(%out: memref<?xf32>, %in: memref<?xf32>, %other: memref<?xf32>, %n: index) attributes {coil.kernel} {
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index):
    %c0 = arith.constant 0 : index
    %v = "coil.load"(%in, %i) : (memref<?xf32>, index) -> f32
    %w = "coil.load"(%other, %c0) : (memref<?xf32>, index) -> f32
    %r = arith.addf %v, %w : f32
    "coil.store"(%r, %out, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = []} : (index) -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: coil.planned_peak_bytes = 32800 : i64
// CHECK-SAME: coil.unplanned_bytes = 32832 : i64
// CHECK: %[[A:.*]] = "coil.extern"
// CHECK: %[[B:.*]] = "coil.alloc"
// CHECK: "coil.dealloc"(%[[A]])
// CHECK: %[[C:.*]] = "coil.alloc"
// CHECK: "coil.dealloc"(%[[B]])
