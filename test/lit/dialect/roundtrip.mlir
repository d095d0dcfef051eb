// Every coil op prints and parses back unchanged: print, parse the printout
// again, check; and the same through MLIR's generic form.
// RUN: %roundtrip | filecheck %s
// RUN: %coil-opt %s --mlir-print-op-generic | %coil-opt | filecheck %s

// The views' maps are printed as aliases at the top.
// CHECK-DAG: #[[PERM:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[SLICE:.*]] = affine_map<(d0)[s0] -> (d0 + s0)>

// CHECK-LABEL: func.func @pointwise_yield_load
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
func.func @pointwise_yield_load(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: "coil.pointwise"() ({
  // CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
  // CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[X]], %[[I]], %[[J]]) : (tensor<4x8xf32>, index, index) -> f32
  // CHECK-NEXT: %[[E:.*]] = math.exp %[[V]] : f32
  // CHECK-NEXT: "coil.yield"(%[[E]]) : (f32) -> ()
  // CHECK-NEXT: }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    %e = math.exp %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// A uint8 tensor is read as a signless i8 scalar.
// CHECK-LABEL: func.func @load_unsigned
// CHECK: "coil.load"(%{{.*}}, %{{.*}}) : (tensor<16xui8>, index) -> i8
// CHECK: {ranges = [16]} : () -> tensor<16xui8>
func.func @load_unsigned(%x: tensor<16xui8>) -> tensor<16xui8> {
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<16xui8>, index) -> i8
    "coil.yield"(%v) : (i8) -> ()
  }) {ranges = [16]} : () -> tensor<16xui8>
  return %0 : tensor<16xui8>
}

// One result (sum), an i64 result (argmax), an i1 result (any), three results (welford).
// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<4x8xf32>, %b: tensor<4x8xi1>) -> (tensor<4xf32>, tensor<4xi64>, tensor<4xi1>, tensor<4xf32>) {
  // CHECK: %[[SUM:.*]] = "coil.reduction"() ({
  // CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[R:.*]]: index):
  // CHECK-NEXT: "coil.load"(%{{.*}}, %[[I]], %[[R]])
  // CHECK: }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %sum = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  // CHECK: %[[ARG:.*]] = "coil.reduction"()
  // CHECK: {ranges = [4], reduction_ranges = [8], reduction_type = "argmax"} : () -> tensor<4xi64>
  %argmax = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "argmax"} : () -> tensor<4xi64>
  // CHECK: %[[ANY:.*]] = "coil.reduction"()
  // CHECK: {ranges = [4], reduction_ranges = [8], reduction_type = "any"} : () -> tensor<4xi1>
  %any = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%b, %i, %r) : (tensor<4x8xi1>, index, index) -> i1
    "coil.yield"(%v) : (i1) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "any"} : () -> tensor<4xi1>
  // CHECK: %[[W:.*]]:3 = "coil.reduction"()
  // CHECK: {ranges = [4], reduction_ranges = [2, 4], reduction_type = "welford"} : () -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  %w:3 = "coil.reduction"() ({
  ^bb0(%i: index, %r0: index, %r1: index):
    %c4 = arith.constant 4 : index
    %k = arith.muli %r0, %c4 : index
    %r = arith.addi %k, %r1 : index
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [2, 4], reduction_type = "welford"} : () -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  // CHECK: return %[[SUM]], %[[ARG]], %[[ANY]], %[[W]]#1
  return %sum, %argmax, %any, %w#1 : tensor<4xf32>, tensor<4xi64>, tensor<4xi1>, tensor<4xf32>
}

// A permute view, and a slice view whose offset is a symbolic size.
// CHECK-LABEL: func.func @views
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[Y:.*]]: tensor<16xf32>, %[[N:.*]]: index)
func.func @views(%x: tensor<4x8xf32>, %y: tensor<16xf32>, %n: index) -> (tensor<8x4xf32>, tensor<8xf32>) {
  // CHECK: "coil.view"(%[[X]]) {map = #[[PERM]]} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  // CHECK: "coil.view"(%[[Y]], %[[N]]) {map = #[[SLICE]]} : (tensor<16xf32>, index) -> tensor<8xf32>
  %s = "coil.view"(%y, %n) {map = affine_map<(d0)[s0] -> (d0 + s0)>} : (tensor<16xf32>, index) -> tensor<8xf32>
  return %t, %s : tensor<8x4xf32>, tensor<8xf32>
}

// extern with one result, with a tuple of results unpacked by get, and with
// every kind of argument attribute.
// CHECK-LABEL: func.func @externs
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8x2xf32>)
func.func @externs(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>) -> (tensor<4x2xf32>, tensor<4xf32>, tensor<4xi64>) {
  // CHECK: "coil.extern"() ({
  // CHECK-NEXT: "coil.arg"(%[[A]]) : (tensor<4x8xf32>) -> ()
  // CHECK-NEXT: "coil.arg"(%[[B]]) : (tensor<8x2xf32>) -> ()
  // CHECK-NEXT: "coil.yield"() : () -> ()
  // CHECK-NEXT: }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> tensor<4x2xf32>
  %mm = "coil.extern"() ({
    "coil.arg"(%a) : (tensor<4x8xf32>) -> ()
    "coil.arg"(%b) : (tensor<8x2xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::mm.default", args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kwargs = {}} : () -> tensor<4x2xf32>
  // CHECK: %[[T:.*]] = "coil.extern"() ({
  // CHECK-NEXT: "coil.arg"(%[[A]]) : (tensor<4x8xf32>) -> ()
  // CHECK-NEXT: "coil.yield"() : () -> ()
  // CHECK-NEXT: }) {args = [#coil.operand<0 : i64>, 1, false, unit, 1.500000e+00, "name"], kernel = "aten::max.dim", kwargs = {dtype = #coil.torch<"torch.float32">, out}} : () -> tuple<tensor<4xf32>, tensor<4xi64>>
  %t = "coil.extern"() ({
    "coil.arg"(%a) : (tensor<4x8xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::max.dim", args = [#coil.operand<0 : i64>, 1, false, unit, 1.5 : f64, "name"], kwargs = {dtype = #coil.torch<"torch.float32">, out = unit}} : () -> tuple<tensor<4xf32>, tensor<4xi64>>
  // CHECK-NEXT: "coil.get"(%[[T]]) {index = 0 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xf32>
  // CHECK-NEXT: "coil.get"(%[[T]]) {index = 1 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xi64>
  %values = "coil.get"(%t) {index = 0 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xf32>
  %indices = "coil.get"(%t) {index = 1 : i64} : (tuple<tensor<4xf32>, tensor<4xi64>>) -> tensor<4xi64>
  return %mm, %values, %indices : tensor<4x2xf32>, tensor<4xf32>, tensor<4xi64>
}

// A kernel over buffers: loop_nest, load, reduce (one and three results), store.
// CHECK-LABEL: func.func @kernel
// CHECK-SAME: (%[[IN:.*]]: memref<4x8xf32>, %[[OUT:.*]]: memref<4xf32>, %[[VAR:.*]]: memref<4xf32>)
func.func @kernel(%in: memref<4x8xf32>, %out: memref<4xf32>, %var: memref<4xf32>) {
  // CHECK: "coil.loop_nest"() ({
  // CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[R:.*]]: index):
  // CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[IN]], %[[I]], %[[R]]) : (memref<4x8xf32>, index, index) -> f32
  // CHECK-NEXT: %[[S:.*]] = "coil.reduce"(%[[V]]) {reduction_type = "sum"} : (f32) -> f32
  // CHECK-NEXT: %[[W:.*]]:3 = "coil.reduce"(%[[V]]) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
  // CHECK-NEXT: "coil.store"(%[[S]], %[[OUT]], %[[I]]) : (f32, memref<4xf32>, index) -> ()
  // CHECK-NEXT: "coil.store"(%[[W]]#1, %[[VAR]], %[[I]]) : (f32, memref<4xf32>, index) -> ()
  // CHECK-NEXT: "coil.yield"() : () -> ()
  // CHECK-NEXT: }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%in, %i, %r) : (memref<4x8xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    %w:3 = "coil.reduce"(%v) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    "coil.store"(%s, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.store"(%w#1, %var, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// The host program: alloc, launch, reuse, dealloc.
// CHECK-LABEL: func.func @host
// CHECK-SAME: (%[[IN:.*]]: memref<4x8xf32>)
func.func @host(%in: memref<4x8xf32>) {
  // CHECK: %[[OUT:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
  // CHECK-NEXT: %[[VAR:.*]] = "coil.alloc"() {device = "cuda:0"} : () -> memref<4xf32>
  // CHECK-NEXT: "coil.launch"() ({
  // CHECK-NEXT: "coil.arg"(%[[IN]]) : (memref<4x8xf32>) -> ()
  // CHECK-NEXT: "coil.arg"(%[[OUT]]) : (memref<4xf32>) -> ()
  // CHECK-NEXT: "coil.arg"(%[[VAR]]) : (memref<4xf32>) -> ()
  // CHECK-NEXT: "coil.yield"() : () -> ()
  // CHECK-NEXT: }) {kernel = @kernel} : () -> ()
  // CHECK-NEXT: %[[R:.*]] = "coil.reuse"(%[[OUT]]) : (memref<4xf32>) -> memref<2x2xf32>
  // CHECK-NEXT: "coil.dealloc"(%[[R]]) : (memref<2x2xf32>) -> ()
  // CHECK-NEXT: "coil.dealloc"(%[[VAR]]) : (memref<4xf32>) -> ()
  %out = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
  %var = "coil.alloc"() {device = "cuda:0"} : () -> memref<4xf32>
  "coil.launch"() ({
    "coil.arg"(%in) : (memref<4x8xf32>) -> ()
    "coil.arg"(%out) : (memref<4xf32>) -> ()
    "coil.arg"(%var) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @kernel} : () -> ()
  %r = "coil.reuse"(%out) : (memref<4xf32>) -> memref<2x2xf32>
  "coil.dealloc"(%r) : (memref<2x2xf32>) -> ()
  "coil.dealloc"(%var) : (memref<4xf32>) -> ()
  return
}
