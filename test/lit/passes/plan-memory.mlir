// RUN: %coil-opt %s --coil-plan-memory --coil-verify-memory | filecheck %s

// exp(exp(x)) writes its second result in place of the first, which dies at
// that launch; @repeat's output reuses that storage once @even has read it;
// @shift reads its input at other points, so it can be neither.
func.func @graph(%x: memref<16xf32>) -> memref<16xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @exp} : () -> ()
  %b = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @exp} : () -> ()
  "coil.dealloc"(%a) : (memref<16xf32>) -> ()
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<8xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<8xf32>) -> ()
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @even} : () -> ()
  "coil.dealloc"(%b) : (memref<16xf32>) -> ()
  %d = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%d) : (memref<16xf32>) -> ()
    "coil.arg"(%c) : (memref<8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @repeat} : () -> ()
  "coil.dealloc"(%c) : (memref<8xf32>) -> ()
  %e = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<16xf32>) -> ()
    "coil.arg"(%d) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @shift} : () -> ()
  "coil.dealloc"(%d) : (memref<16xf32>) -> ()
  return %e : memref<16xf32>
}
func.func @exp(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    %r = math.exp %v : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
func.func @even(%out: memref<8xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> (d0 * 2)>(%i)
    %v = "coil.load"(%in, %j) : (memref<16xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}
func.func @repeat(%out: memref<16xf32>, %in: memref<8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> (d0 floordiv 2)>(%i)
    %v = "coil.load"(%in, %j) : (memref<8xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
func.func @shift(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> ((d0 + 1) mod 16)>(%i)
    %v = "coil.load"(%in, %j) : (memref<16xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph
// CHECK-SAME: coil.planned_peak_bytes = 128 : i64, coil.unplanned_bytes = 288 : i64
// CHECK: %[[A:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
// CHECK: %[[B:.*]] = "coil.reuse"(%[[A]]) {coil.inplace} : (memref<16xf32>) -> memref<16xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[B]])
// CHECK-NEXT: "coil.arg"(%[[A]])
// CHECK: %[[C:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<8xf32>
// CHECK: %[[D:.*]] = "coil.reuse"(%[[B]]) : (memref<16xf32>) -> memref<16xf32>
// CHECK: "coil.dealloc"(%[[C]])
// CHECK-NEXT: %[[E:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
// CHECK: "coil.dealloc"(%[[D]])
// CHECK-NEXT: return %[[E]]

