// RUN: %coil-opt %s --split-input-file --coil-outline-kernels | filecheck %s

// Symbolic sizes: the host keeps the symbol arguments (with their attributes)
// and the arith ops deriving sizes; allocs list their `?` sizes; each kernel
// takes its buffers, then one index argument per index value it captures (its
// dynamic ranges first, then the symbols its body reads), passed with
// coil.arg; its loop nest's sizes are those arguments.

func.func @graph(%x: tensor<?x4xf32> {coil.strides = [4, 1]}, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}) -> (tensor<?xf32> {coil.strides = [1]}, tensor<?x4xf32> {coil.strides = [4, 1]}) attributes {coil.device = "cpu"} {
  %c1 = arith.constant 1 : index
  %m = arith.subi %s0, %c1 : index
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  %s = "coil.reduction"(%m) ({
  ^bb0(%i: index, %r: index):
    %i1 = affine.apply affine_map<(d0)[s0] -> (s0 - d0)>(%i)[%m]
    %v = "coil.load"(%e, %i1, %r) : (tensor<?x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [4], reduction_type = "sum"} : (index) -> tensor<?xf32>
  return %s, %e : tensor<?xf32>, tensor<?x4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x4xf32>, %[[S0:[^:]*]]: index {coil.size_hint = 8 : i64, coil.symbol = "s0"}) -> (memref<?xf32>, memref<?x4xf32>)
// CHECK-NEXT: %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT: %[[M:.*]] = arith.subi %[[S0]], %[[C1]] : index
// CHECK-NEXT: %[[E:.*]] = "coil.alloc"(%[[S0]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[E]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[X]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[S0]]) : (index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[K0:.*]]} : () -> ()
// CHECK-NEXT: %[[S:.*]] = "coil.alloc"(%[[M]]) {device = "cpu"} : (index) -> memref<?xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[S]]) : (memref<?xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[E]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[M]]) : (index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[K1:.*]]} : () -> ()
// CHECK-NEXT: return %[[S]], %[[E]]

// CHECK: func.func @[[K0]](%[[OUT:.*]]: memref<?x4xf32>, %[[IN:.*]]: memref<?x4xf32>, %[[N:.*]]: index) attributes {coil.kernel}
// CHECK-NEXT: "coil.loop_nest"(%[[N]]) ({
// CHECK: }) {ranges = [-9223372036854775808, 4], reduction_ranges = []} : (index) -> ()

// The size %m is both the reduction's range and a symbol of its body: one argument.
// CHECK: func.func @[[K1]](%[[OUT:.*]]: memref<?xf32>, %[[IN:.*]]: memref<?x4xf32>, %[[N:.*]]: index) attributes {coil.kernel}
// CHECK-NEXT: "coil.loop_nest"(%[[N]]) ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[R:.*]]: index):
// CHECK-NEXT: %[[I1:.*]] = affine.apply #{{.*}}(%[[I]])[%[[N]]]
// CHECK-NEXT: "coil.load"(%[[IN]], %[[I1]], %[[R]])
// CHECK: }) {ranges = [-9223372036854775808], reduction_ranges = [4]} : (index) -> ()

// -----

// Host views of buffers with `?` dims: a transpose of a row-major ?x4 buffer
// has static strides [1, 4]; flattening it stays row-major (identity layout);
// a strided read of an input has strides [4, 2]. No copies.

func.func @graph(%x: tensor<?x4xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}) -> (tensor<4x?xf32>, tensor<?xf32>, tensor<?x2xf32>) attributes {coil.device = "cpu"} {
  %c4 = arith.constant 4 : index
  %n = arith.muli %s0, %c4 : index
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  %t = "coil.view"(%e) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<?x4xf32>) -> tensor<4x?xf32>
  %f = "coil.view"(%e) {map = affine_map<(d0) -> (d0 floordiv 4, d0 mod 4)>} : (tensor<?x4xf32>) -> tensor<?xf32>
  %u = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d0, d1 * 2)>} : (tensor<?x4xf32>) -> tensor<?x2xf32>
  return %t, %f, %u : tensor<4x?xf32>, tensor<?xf32>, tensor<?x2xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: -> (memref<4x?xf32, strided<[1, 4]>>, memref<?xf32>, memref<?x2xf32, strided<[4, 2]>>)
// CHECK: %[[E:.*]] = "coil.alloc"
// CHECK: "coil.view"(%[[E]]) {map = #{{.*}}} : (memref<?x4xf32>) -> memref<4x?xf32, strided<[1, 4]>>
// CHECK-NEXT: "coil.view"(%[[E]]) {map = #{{.*}}} : (memref<?x4xf32>) -> memref<?xf32>
// CHECK-NEXT: "coil.view"(%arg0) {map = #{{.*}}} : (memref<?x4xf32>) -> memref<?x2xf32, strided<[4, 2]>>
// CHECK-NOT: coil.launch
// CHECK: return

// -----

// A view with a symbol on the host: flattening a row-major [s0, s1] buffer
// (sizes named by its alloc) is row-major. Input strides [?, 1] do not prove
// an input contiguous, so it keeps a strided layout, and its transpose has
// strides [1, ?], which the backends read from the tensor at run time.

func.func @graph(%x: tensor<?x?xf32> {coil.strides = [-9223372036854775808, 1]}, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 4 : i64}) -> (tensor<?xf32>, tensor<?x?xf32>) attributes {coil.device = "cpu"} {
  %e = "coil.pointwise"(%s0, %s1) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x?xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
  %f = "coil.view"(%e, %s1) {map = affine_map<(d0)[s0] -> (d0 floordiv s0, d0 mod s0)>} : (tensor<?x?xf32>, index) -> tensor<?xf32>
  %g = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %f, %g : tensor<?xf32>, tensor<?x?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x?xf32, strided<[?, 1]>>, %[[S0:[^:]*]]: index {{.*}}, %[[S1:[^:]*]]: index {{.*}}) -> (memref<?xf32>, memref<?x?xf32, strided<[1, ?]>>)
// CHECK: %[[E:.*]] = "coil.alloc"(%[[S0]], %[[S1]]) {device = "cpu"} : (index, index) -> memref<?x?xf32>
// CHECK: "coil.view"(%[[E]], %[[S1]]) {map = #{{.*}}} : (memref<?x?xf32>, index) -> memref<?xf32>
// CHECK-NEXT: "coil.view"(%[[X]]) {map = #{{.*}}} : (memref<?x?xf32, strided<[?, 1]>>) -> memref<?x?xf32, strided<[1, ?]>>
