// RUN: %coil-opt %s --verify-diagnostics --coil-verify-memory


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
