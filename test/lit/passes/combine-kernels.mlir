// RUN: %coil-opt %s --split-input-file --coil-combine-kernels | filecheck %s

// An optimizer-like step over parameters of three shapes: three pointwise
// kernels over different ranges, touching disjoint buffers, all reading the
// step counter %s. They become one combo kernel: each host buffer passed once
// (the shared %s too), the loop nests in launch order, each keeping its ranges
// and its constants; an argument stays noalias only where every kernel taking
// it had it noalias (%s is not, in @vec). The dealloc between two launches
// moves after the combined launch.

func.func @graph(%a: memref<64x64xf32>, %b: memref<256x64xf32>, %c: memref<64xf32>, %s: memref<f32>, %t: memref<16xf32>) attributes {coil.device = "cuda", coil.host} {
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<64x64xf32>) -> ()
    "coil.arg"(%s) : (memref<f32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @mat} : () -> ()
  "coil.dealloc"(%t) : (memref<16xf32>) -> ()
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<256x64xf32>) -> ()
    "coil.arg"(%s) : (memref<f32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @tall} : () -> ()
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<64xf32>) -> ()
    "coil.arg"(%s) : (memref<f32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @vec} : () -> ()
  return
}
func.func @mat(%p: memref<64x64xf32> {coil.noalias}, %s: memref<f32> {coil.noalias}) attributes {coil.kernel} {
  %k = arith.constant 2.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%p, %i, %j) : (memref<64x64xf32>, index, index) -> f32
    %y = "coil.load"(%s) : (memref<f32>) -> f32
    %z = arith.mulf %x, %y : f32
    %w = arith.mulf %z, %k : f32
    "coil.store"(%w, %p, %i, %j) : (f32, memref<64x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64, 64], reduction_ranges = []} : () -> ()
  return
}
func.func @tall(%p: memref<256x64xf32> {coil.noalias}, %s: memref<f32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%p, %i, %j) : (memref<256x64xf32>, index, index) -> f32
    %y = "coil.load"(%s) : (memref<f32>) -> f32
    %z = arith.addf %x, %y : f32
    "coil.store"(%z, %p, %i, %j) : (f32, memref<256x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 64], reduction_ranges = []} : () -> ()
  return
}
func.func @vec(%p: memref<64xf32> {coil.noalias}, %s: memref<f32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %x = "coil.load"(%p, %i) : (memref<64xf32>, index) -> f32
    %y = "coil.load"(%s) : (memref<f32>) -> f32
    %z = arith.subf %x, %y : f32
    "coil.store"(%z, %p, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[A:[^:]*]]: memref<64x64xf32>, %[[B:[^:]*]]: memref<256x64xf32>, %[[C:[^:]*]]: memref<64xf32>, %[[S:[^:]*]]: memref<f32>, %[[T:[^:]*]]: memref<16xf32>)
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[A]])
// CHECK-NEXT: "coil.arg"(%[[S]])
// CHECK-NEXT: "coil.arg"(%[[B]])
// CHECK-NEXT: "coil.arg"(%[[C]])
// CHECK-NEXT: "coil.yield"
// CHECK-NEXT: }) {kernel = @combo_0}
// CHECK-NEXT: "coil.dealloc"(%[[T]])
// CHECK-NEXT: return
// CHECK-NOT: func.func @mat
// CHECK-NOT: func.func @tall
// CHECK-NOT: func.func @vec
// CHECK: func.func @combo_0(%[[P:[^:]*]]: memref<64x64xf32> {coil.noalias}, %[[SK:[^:]*]]: memref<f32>, %[[Q:[^:]*]]: memref<256x64xf32> {coil.noalias}, %[[R:[^:]*]]: memref<64xf32> {coil.noalias}) attributes {coil.combo, coil.kernel}
// CHECK-NEXT: %[[K:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: "coil.loop_nest"() ({
// CHECK: "coil.load"(%[[P]],
// CHECK: "coil.load"(%[[SK]])
// CHECK: arith.mulf %{{.*}}, %[[K]]
// CHECK: "coil.store"(%{{.*}}, %[[P]],
// CHECK: }) {ranges = [64, 64], reduction_ranges = []}
// CHECK-NEXT: "coil.loop_nest"() ({
// CHECK: "coil.store"(%{{.*}}, %[[Q]],
// CHECK: }) {ranges = [256, 64], reduction_ranges = []}
// CHECK-NEXT: "coil.loop_nest"() ({
// CHECK: "coil.store"(%{{.*}}, %[[R]],
// CHECK: }) {ranges = [64], reduction_ranges = []}
// CHECK-NEXT: return

// -----

// A kernel that reads what an earlier one writes (%x) is ordered after it: it
// starts a group of its own, and combines with the next independent one.

func.func @graph(%x: memref<64xf32>, %y: memref<32xf32>, %z: memref<16xf32>) attributes {coil.device = "cuda", coil.host} {
  "coil.launch"() ({
    "coil.arg"(%x) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @write_x} : () -> ()
  "coil.launch"() ({
    "coil.arg"(%y) : (memref<32xf32>) -> ()
    "coil.arg"(%x) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @read_x} : () -> ()
  "coil.launch"() ({
    "coil.arg"(%z) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @write_z} : () -> ()
  return
}
func.func @write_x(%o: memref<64xf32>) attributes {coil.kernel} {
  %one = arith.constant 1.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.store"(%one, %o, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}
func.func @read_x(%o: memref<32xf32>, %x: memref<64xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (memref<64xf32>, index) -> f32
    "coil.store"(%v, %o, %i) : (f32, memref<32xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [32], reduction_ranges = []} : () -> ()
  return
}
func.func @write_z(%o: memref<16xf32>) attributes {coil.kernel} {
  %two = arith.constant 2.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.store"(%two, %o, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-NEXT: "coil.launch"
// CHECK: }) {kernel = @write_x}
// CHECK-NEXT: "coil.launch"
// CHECK: }) {kernel = @combo_0}
// CHECK-NEXT: return
// CHECK: func.func @write_x(
// CHECK: func.func @combo_0({{.*}}) attributes {coil.combo, coil.kernel}

// -----

// What a group may not span or hold: an ATen call between two launches (it may
// read what the first writes), a reduction, a kernel over a symbolic range, one
// reading a buffer whose strides are known only at launch, and an alloc after a
// dealloc inside the group (the free would move past it).

func.func @graph(%x: memref<64xf32>, %y: memref<64xf32>, %n: index, %d: memref<?xf32>, %s: memref<4x16xf32, strided<[?, 1]>>) attributes {coil.device = "cuda", coil.host} {
  "coil.launch"() ({
    "coil.arg"(%x) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill} : () -> ()
  %e = "coil.extern"() ({
    "coil.arg"(%x) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>], kernel = "aten::clone.default", kwargs = {}} : () -> memref<64xf32>
  "coil.launch"() ({
    "coil.arg"(%y) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill} : () -> ()
  "coil.launch"() ({
    "coil.arg"(%s) : (memref<4x16xf32, strided<[?, 1]>>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill_strided} : () -> ()
  %r = "coil.alloc"() {device = "cuda"} : () -> memref<1xf32>
  "coil.launch"() ({
    "coil.arg"(%r) : (memref<1xf32>) -> ()
    "coil.arg"(%e) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @total} : () -> ()
  "coil.launch"() ({
    "coil.arg"(%d) : (memref<?xf32>) -> ()
    "coil.arg"(%n) : (index) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill_dynamic} : () -> ()
  "coil.dealloc"(%r) : (memref<1xf32>) -> ()
  %o = "coil.alloc"() {device = "cuda"} : () -> memref<64xf32>
  "coil.launch"() ({
    "coil.arg"(%o) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill} : () -> ()
  "coil.dealloc"(%e) : (memref<64xf32>) -> ()
  %o2 = "coil.alloc"() {device = "cuda"} : () -> memref<64xf32>
  "coil.launch"() ({
    "coil.arg"(%o2) : (memref<64xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @fill} : () -> ()
  return
}
func.func @fill(%o: memref<64xf32>) attributes {coil.kernel} {
  %one = arith.constant 1.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.store"(%one, %o, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}
func.func @total(%o: memref<1xf32>, %x: memref<64xf32>) attributes {coil.kernel} {
  %c0 = arith.constant 0 : index
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r) : (memref<64xf32>, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %o, %c0) : (f32, memref<1xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [1], reduction_ranges = [64]} : () -> ()
  return
}
func.func @fill_dynamic(%o: memref<?xf32>, %n: index) attributes {coil.kernel} {
  %one = arith.constant 1.0 : f32
  "coil.loop_nest"(%n) ({
  ^bb0(%i: index):
    "coil.store"(%one, %o, %i) : (f32, memref<?xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = []} : (index) -> ()
  return
}
func.func @fill_strided(%o: memref<4x16xf32, strided<[?, 1]>>) attributes {coil.kernel} {
  %one = arith.constant 1.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    "coil.store"(%one, %o, %i, %j) : (f32, memref<4x16xf32, strided<[?, 1]>>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-NOT: coil.combo
// CHECK-NOT: kernel = @combo
// CHECK: func.func @fill(
