// RUN: %coil-opt %s --split-input-file --coil-inline-producers | filecheck %s

// A pointwise producer read once is inlined at the load, its indices bound to
// the load's, and disappears.

func.func @graph(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<8xf32>, index) -> f32
    %e = math.exp %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [8]} : () -> tensor<8xf32>
  %b = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%a, %i) : (tensor<8xf32>, index) -> f32
    %s = math.sin %v : f32
    "coil.yield"(%s) : (f32) -> ()
  }) {ranges = [8]} : () -> tensor<8xf32>
  return %b : tensor<8xf32>
}

// CHECK-LABEL: func.func @graph
// CHECK-NEXT: %[[B:.*]] = "coil.pointwise"() ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[V:.*]] = "coil.load"(%{{.*}}, %[[I]]) : (tensor<8xf32>, index) -> f32
// CHECK-NEXT: %[[E:.*]] = math.exp %[[V]] : f32
// CHECK-NEXT: %[[S:.*]] = math.sin %[[E]] : f32
// CHECK-NEXT: "coil.yield"(%[[S]]) : (f32) -> ()
// CHECK-NEXT: }) {ranges = [8]} : () -> tensor<8xf32>
// CHECK-NEXT: return %[[B]]

// -----

// A prologue folds into a reduction; a broadcast read of a cheap producer is inlined too.

func.func @graph(%x: tensor<4x8xf32>, %y: tensor<8xf32>) -> tensor<4xf32> {
  %sq = "coil.pointwise"() ({
  ^bb0(%j: index):
    %v = "coil.load"(%y, %j) : (tensor<8xf32>, index) -> f32
    %m = arith.mulf %v, %v : f32
    "coil.yield"(%m) : (f32) -> ()
  }) {ranges = [8]} : () -> tensor<8xf32>
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    %b = "coil.load"(%sq, %r) : (tensor<8xf32>, index) -> f32
    %p = arith.mulf %a, %b : f32
    "coil.yield"(%p) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// CHECK-LABEL: func.func @graph
// CHECK-NEXT: "coil.reduction"() ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[R:.*]]: index):
// CHECK-NEXT: "coil.load"(%{{.*}}, %[[I]], %[[R]])
// CHECK-NEXT: %[[Y:.*]] = "coil.load"(%{{.*}}, %[[R]]) : (tensor<8xf32>, index) -> f32
// CHECK-NEXT: arith.mulf %[[Y]], %[[Y]] : f32
// CHECK: reduction_type = "sum"

// -----

// A non-trivial producer read at many points is realized, not recomputed at each.

func.func @graph(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<8xf32>, index) -> f32
    %e1 = math.exp %v : f32
    %e2 = math.sin %e1 : f32
    %e3 = math.cos %e2 : f32
    %e4 = math.tanh %e3 : f32
    %e5 = math.log %e4 : f32
    "coil.yield"(%e5) : (f32) -> ()
  }) {ranges = [8]} : () -> tensor<8xf32>
  %b = "coil.pointwise"() ({
  ^bb0(%i: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %v0 = "coil.load"(%a, %c0) : (tensor<8xf32>, index) -> f32
    %v1 = "coil.load"(%a, %c1) : (tensor<8xf32>, index) -> f32
    %v2 = "coil.load"(%a, %c2) : (tensor<8xf32>, index) -> f32
    %v3 = "coil.load"(%a, %c3) : (tensor<8xf32>, index) -> f32
    %v4 = "coil.load"(%a, %c4) : (tensor<8xf32>, index) -> f32
    %s1 = arith.addf %v0, %v1 : f32
    %s2 = arith.addf %s1, %v2 : f32
    %s3 = arith.addf %s2, %v3 : f32
    %s4 = arith.addf %s3, %v4 : f32
    "coil.yield"(%s4) : (f32) -> ()
  }) {ranges = [8]} : () -> tensor<8xf32>
  return %b : tensor<8xf32>
}

// CHECK-LABEL: func.func @graph
// CHECK: %[[A:.*]] = "coil.pointwise"()
// CHECK: math.log
// CHECK: "coil.pointwise"()
// CHECK-COUNT-5: "coil.load"(%[[A]]

// -----

// A producer an extern call reads needs a buffer: it stays.

func.func @graph(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %a = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<4x4xf32>, index, index) -> f32
    %e = math.exp %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [4, 4]} : () -> tensor<4x4xf32>
  %m = "coil.extern"() ({
    "coil.arg"(%a) : (tensor<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::mm.default", args = [#coil.operand<0 : i64>, #coil.operand<0 : i64>], kwargs = {}} : () -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @graph
// CHECK: %[[A:.*]] = "coil.pointwise"()
// CHECK: "coil.arg"(%[[A]])

// -----

// A gather (a load at an index loaded from %t) read by a reduction over its
// points is realized: inlined, its loads would run one after another in the
// reduction's programs. Read by a pointwise over the same points, it is
// inlined as any producer.

// CHECK-LABEL: func.func @gather_into_sum
// CHECK:       %[[G:.+]] = "coil.pointwise"
// CHECK:       arith.index_cast
// CHECK:       "coil.reduction"
// CHECK:       "coil.load"(%[[G]]
// CHECK-NOT:   arith.index_cast
// CHECK:       return
func.func @gather_into_sum(%x: tensor<4x8xf32>, %t: tensor<4xi64>) -> tensor<f32> {
  %g = "coil.pointwise"() ({
  ^bb0(%i: index):
    %k = "coil.load"(%t, %i) : (tensor<4xi64>, index) -> i64
    %ki = arith.index_cast %k : i64 to index
    %v = "coil.load"(%x, %i, %ki) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  %s = "coil.reduction"() ({
  ^bb0(%r: index):
    %v = "coil.load"(%g, %r) : (tensor<4xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [], reduction_ranges = [4], reduction_type = "sum"} : () -> tensor<f32>
  return %s : tensor<f32>
}

// CHECK-LABEL: func.func @gather_into_pointwise
// CHECK:       "coil.pointwise"
// CHECK:       arith.index_cast
// CHECK:       math.exp
// CHECK-NOT:   "coil.pointwise"
// CHECK:       return
func.func @gather_into_pointwise(%x: tensor<4x8xf32>, %t: tensor<4xi64>) -> tensor<4xf32> {
  %g = "coil.pointwise"() ({
  ^bb0(%i: index):
    %k = "coil.load"(%t, %i) : (tensor<4xi64>, index) -> i64
    %ki = arith.index_cast %k : i64 to index
    %v = "coil.load"(%x, %i, %ki) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  %e = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%g, %i) : (tensor<4xf32>, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return %e : tensor<4xf32>
}
