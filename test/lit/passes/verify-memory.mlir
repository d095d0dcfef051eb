// RUN: %coil-opt %s --split-input-file --verify-diagnostics --coil-verify-memory


// A planted overlap: %b takes %a's storage while %a is still read afterwards.

func.func @graph(%x: memref<16xf32>) -> memref<16xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy} : () -> ()
  // expected-error @+1 {{coil-verify-memory: buffers share storage while both are live}}
  %b = "coil.reuse"(%a) : (memref<16xf32>) -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy} : () -> ()
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<16xf32>) -> ()
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy} : () -> ()
  "coil.dealloc"(%a) : (memref<16xf32>) -> ()
  "coil.dealloc"(%b) : (memref<16xf32>) -> ()
  return %c : memref<16xf32>
}
func.func @copy(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// -----

// An in-place ATen call (index_put_) updates its first argument: that
// argument read after the call sees the update, which the plan forbids.

func.func @graph(%x: memref<16xf32>, %idx: memref<4xi64>, %rows: memref<4xf32>) -> memref<16xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy} : () -> ()
  // expected-error @+1 {{coil-verify-memory: buffers share storage while both are live}}
  %g = "coil.extern"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%idx) : (memref<4xi64>) -> ()
    "coil.arg"(%rows) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, [#coil.operand<1 : i64>], #coil.operand<2 : i64>, true], coil.inplace, kernel = "aten::index_put_.default", kwargs = {}} : () -> memref<16xf32>
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<16xf32>) -> ()
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @copy} : () -> ()
  "coil.dealloc"(%a) : (memref<16xf32>) -> ()
  "coil.dealloc"(%g) : (memref<16xf32>) -> ()
  return %c : memref<16xf32>
}
func.func @copy(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    "coil.store"(%v, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
