// RUN: %coil-opt %s --split-input-file --coil-outline-kernels --coil-fuse-kernels | filecheck %s

// Symbolic ranges fuse only when provably equal: exp then sin over [s0, 4]
// become one kernel, its range the one index argument; cos over [s1, 4] stays
// alone even though both symbols have the same hint (they may differ at run
// time).

func.func @graph(%x: tensor<?x4xf32> {coil.strides = [4, 1]}, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 8 : i64}) -> (tensor<?x4xf32>, tensor<?x4xf32>) attributes {coil.device = "cpu"} {
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  %f = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%e, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.sin %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  %g = "coil.pointwise"(%s1) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.cos %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  return %f, %g : tensor<?x4xf32>, tensor<?x4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x4xf32>, %[[S0:[^:]*]]: index {{.*}}, %[[S1:[^:]*]]: index
// CHECK-NEXT: %[[F:.*]] = "coil.alloc"(%[[S0]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[X]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[F]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[S0]]) : (index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[FUSED:fused_.*]]} : () -> ()
// CHECK-NEXT: %[[G:.*]] = "coil.alloc"(%[[S1]]) {device = "cpu"} : (index) -> memref<?x4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[G]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[X]]) : (memref<?x4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[S1]]) : (index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[K:kernel_.*]]} : () -> ()
// CHECK-NEXT: return %[[F]], %[[G]]

// CHECK: func.func @[[FUSED]](%[[IN:.*]]: memref<?x4xf32>, %[[OUT:.*]]: memref<?x4xf32>, %[[N:.*]]: index) attributes {coil.kernel}
// CHECK: "coil.loop_nest"(%[[N]]) ({
// CHECK: math.exp
// CHECK-NEXT: math.sin
// CHECK-NEXT: "coil.store"
// CHECK: }) {ranges = [-9223372036854775808, 4], reduction_ranges = []} : (index) -> ()

// -----

// A reduction over [s0] x [s1] and its epilogue over [s0] fuse; a softmax-like
// division over [s0, s1] runs in the reduction's domain, in the same kernel.

func.func @graph(%x: tensor<?x?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 64 : i64}) -> tensor<?x?xf32> attributes {coil.device = "cpu"} {
  %m = "coil.reduction"(%s0, %s1) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<?x?xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808], reduction_type = "sum"} : (index, index) -> tensor<?xf32>
  %d = "coil.pointwise"(%s0, %s1) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<?x?xf32>, index, index) -> f32
    %w = "coil.load"(%m, %i) : (tensor<?xf32>, index) -> f32
    %r = arith.divf %v, %w : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
  return %d : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x?xf32>, %[[S0:[^:]*]]: index {{.*}}, %[[S1:[^:]*]]: index
// CHECK-NOT: memref<?xf32>
// CHECK: %[[D:.*]] = "coil.alloc"(%[[S0]], %[[S1]]) {device = "cpu"} : (index, index) -> memref<?x?xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[X]]) : (memref<?x?xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[D]]) : (memref<?x?xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[S0]]) : (index) -> ()
// CHECK-NEXT: "coil.arg"(%[[S1]]) : (index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[FUSED:fused_.*]]} : () -> ()
// CHECK-NEXT: return %[[D]]
// CHECK: func.func @[[FUSED]](%{{.*}}: memref<?x?xf32>, %{{.*}}: memref<?x?xf32>, %[[N0:.*]]: index, %[[N1:.*]]: index) attributes {coil.kernel}
// CHECK: "coil.loop_nest"(%[[N0]], %[[N1]]) ({
// CHECK: "coil.reduce"
// CHECK: arith.divf
// CHECK: }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808]} : (index, index) -> ()

// -----

// Reduction ranges of different symbols do not fuse.

func.func @graph(%x: tensor<?x?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 8 : i64}) -> (tensor<?xf32>, tensor<?xf32>) attributes {coil.device = "cpu"} {
  %a = "coil.reduction"(%s0, %s1) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<?x?xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808], reduction_type = "sum"} : (index, index) -> tensor<?xf32>
  %b = "coil.reduction"(%s0, %s0) ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<?x?xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808], reduction_ranges = [-9223372036854775808], reduction_type = "max"} : (index, index) -> tensor<?xf32>
  return %a, %b : tensor<?xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK: kernel = @kernel_0
// CHECK: kernel = @kernel_1
// CHECK-NOT: fused
