// RUN: %coil-opt %s --split-input-file --coil-plan-memory --coil-verify-memory | filecheck %s

// index_put (an embedding's backward: accumulate rows into zeros) returns an
// updated copy of its first argument. When that argument is the host's own
// buffer and dies at the call, the call becomes index_put_ on it: no copy,
// and the result takes the zeros' storage (its dealloc goes, the planned
// peak counts the buffer once), which the next kernel may in turn overwrite
// in place: 288 bytes at the peak, against 512 copying.

// CHECK-LABEL: func.func @graph
// CHECK-SAME:    coil.planned_peak_bytes = 288 : i64
// CHECK:         %[[Z:.+]] = "coil.alloc"
// CHECK:         %[[G:.+]] = "coil.extern"
// CHECK:         "coil.arg"(%[[Z]])
// CHECK:         coil.inplace
// CHECK-SAME:    kernel = "aten::index_put_.default"
// CHECK-NOT:     "coil.dealloc"(%[[Z]])
// CHECK:         %[[O:.+]] = "coil.reuse"(%[[G]]) {coil.inplace}
// CHECK:         kernel = @double
// CHECK:         "coil.dealloc"(%[[O]])
func.func @graph(%idx: memref<4xi64>, %rows: memref<4x8xf32>) -> (memref<8xf32>) attributes {coil.device = "cpu", coil.host} {
  %z = "coil.alloc"() {device = "cpu"} : () -> memref<8x8xf32>
  "coil.launch"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @zeros} : () -> ()
  %g = "coil.extern"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.arg"(%idx) : (memref<4xi64>) -> ()
    "coil.arg"(%rows) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, [#coil.operand<1 : i64>], #coil.operand<2 : i64>, true], kernel = "aten::index_put.default", kwargs = {}} : () -> memref<8x8xf32>
  "coil.dealloc"(%z) : (memref<8x8xf32>) -> ()
  %o = "coil.alloc"() {device = "cpu"} : () -> memref<8x8xf32>
  "coil.launch"() ({
    "coil.arg"(%o) : (memref<8x8xf32>) -> ()
    "coil.arg"(%g) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @double} : () -> ()
  "coil.dealloc"(%g) : (memref<8x8xf32>) -> ()
  %s = "coil.alloc"() {device = "cpu"} : () -> memref<8xf32>
  "coil.launch"() ({
    "coil.arg"(%s) : (memref<8xf32>) -> ()
    "coil.arg"(%o) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @rowsum} : () -> ()
  "coil.dealloc"(%o) : (memref<8x8xf32>) -> ()
  return %s : memref<8xf32>
}
func.func @rowsum(%out: memref<8xf32>, %in: memref<8x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<8x8xf32>, index, index) -> f32
    %r = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%r, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [8]} : () -> ()
  return
}
func.func @zeros(%out: memref<8x8xf32>) attributes {coil.kernel} {
  %c0 = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    "coil.store"(%c0, %out, %i, %j) : (f32, memref<8x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 8], reduction_ranges = []} : () -> ()
  return
}
func.func @double(%out: memref<8x8xf32>, %in: memref<8x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<8x8xf32>, index, index) -> f32
    %r = arith.addf %v, %v : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<8x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 8], reduction_ranges = []} : () -> ()
  return
}

// -----

// The first argument is read again after the call (or is a graph input):
// index_put stays a copy.

// CHECK-LABEL: func.func @graph
// CHECK-NOT:     coil.inplace
// CHECK:         kernel = "aten::index_put.default"
// CHECK:         kernel = "aten::index_put.default"
// CHECK-NOT:     coil.inplace
func.func @graph(%idx: memref<4xi64>, %rows: memref<4x8xf32>, %x: memref<8x8xf32>) -> (memref<8x8xf32>, memref<8x8xf32>, memref<8x8xf32>) attributes {coil.device = "cpu", coil.host} {
  %z = "coil.alloc"() {device = "cpu"} : () -> memref<8x8xf32>
  "coil.launch"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @zeros} : () -> ()
  %g = "coil.extern"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.arg"(%idx) : (memref<4xi64>) -> ()
    "coil.arg"(%rows) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, [#coil.operand<1 : i64>], #coil.operand<2 : i64>, true], kernel = "aten::index_put.default", kwargs = {}} : () -> memref<8x8xf32>
  %h = "coil.extern"() ({
    "coil.arg"(%x) : (memref<8x8xf32>) -> ()
    "coil.arg"(%idx) : (memref<4xi64>) -> ()
    "coil.arg"(%rows) : (memref<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, [#coil.operand<1 : i64>], #coil.operand<2 : i64>, true], kernel = "aten::index_put.default", kwargs = {}} : () -> memref<8x8xf32>
  return %z, %g, %h : memref<8x8xf32>, memref<8x8xf32>, memref<8x8xf32>
}
func.func @zeros(%out: memref<8x8xf32>) attributes {coil.kernel} {
  %c0 = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    "coil.store"(%c0, %out, %i, %j) : (f32, memref<8x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 8], reduction_ranges = []} : () -> ()
  return
}

// -----

// The values come from a view of the first argument: an in-place update
// would read rows it has already written. It stays a copy.

// CHECK-LABEL: func.func @graph
// CHECK-NOT:     coil.inplace
// CHECK:         kernel = "aten::index_put.default"
func.func @graph(%idx: memref<4xi64>, %rows: memref<4x8xf32>) -> (memref<8xf32>) attributes {coil.device = "cpu", coil.host} {
  %z = "coil.alloc"() {device = "cpu"} : () -> memref<8x8xf32>
  "coil.launch"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @zeros} : () -> ()
  %top = "coil.view"(%z) {map = affine_map<(d0, d1) -> (d0, d1)>} : (memref<8x8xf32>) -> memref<4x8xf32, strided<[8, 1]>>
  %g = "coil.extern"() ({
    "coil.arg"(%z) : (memref<8x8xf32>) -> ()
    "coil.arg"(%idx) : (memref<4xi64>) -> ()
    "coil.arg"(%top) : (memref<4x8xf32, strided<[8, 1]>>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, [#coil.operand<1 : i64>], #coil.operand<2 : i64>, true], kernel = "aten::index_put.default", kwargs = {}} : () -> memref<8x8xf32>
  "coil.dealloc"(%z) : (memref<8x8xf32>) -> ()
  %s = "coil.alloc"() {device = "cpu"} : () -> memref<8xf32>
  "coil.launch"() ({
    "coil.arg"(%s) : (memref<8xf32>) -> ()
    "coil.arg"(%g) : (memref<8x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @rowsum} : () -> ()
  "coil.dealloc"(%g) : (memref<8x8xf32>) -> ()
  return %s : memref<8xf32>
}
func.func @zeros(%out: memref<8x8xf32>) attributes {coil.kernel} {
  %c0 = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    "coil.store"(%c0, %out, %i, %j) : (f32, memref<8x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 8], reduction_ranges = []} : () -> ()
  return
}
func.func @rowsum(%out: memref<8xf32>, %in: memref<8x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<8x8xf32>, index, index) -> f32
    %r = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%r, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [8]} : () -> ()
  return
}
