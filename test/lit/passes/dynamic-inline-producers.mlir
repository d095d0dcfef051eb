// RUN: %coil-opt %s --split-input-file --coil-inline-producers | filecheck %s

// A pointwise producer over [s0, 4] read once is inlined into its consumer;
// the symbols its body uses are @graph values, visible in the consumer too.

func.func @graph(%x: tensor<?x4xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}) -> tensor<?x4xf32> attributes {coil.device = "cpu"} {
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %k = affine.apply affine_map<(d0)[s0] -> (s0 - d0 - 1)>(%i)[%s0]
    %v = "coil.load"(%x, %k, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  %f = "coil.pointwise"(%s0) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%e, %i, %j) : (tensor<?x4xf32>, index, index) -> f32
    %r = math.sin %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808, 4]} : (index) -> tensor<?x4xf32>
  return %f : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x4xf32>, %[[S0:[^:]*]]: index
// CHECK-NEXT: "coil.pointwise"(%[[S0]]) ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: %[[K:.*]] = affine.apply #{{.*}}(%[[I]])[%[[S0]]]
// CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[X]], %[[K]], %[[J]])
// CHECK-NEXT: %[[E:.*]] = math.exp %[[V]] : f32
// CHECK-NEXT: math.sin %[[E]] : f32
// CHECK: ranges = [-9223372036854775808, 4]
// CHECK-NOT: "coil.pointwise"

// -----

// The broadcast check counts symbolic ranges at their hints: a non-trivial
// producer over [s0] read by a consumer over [s0, s1] (hint 1024 x the
// producer's points) is realized; the same read with s1's hint 1 is inlined.

func.func @graph(%x: tensor<?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 1024 : i64}) -> tensor<?x?xf32> attributes {coil.device = "cpu"} {
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<?xf32>, index) -> f32
    %a = math.exp %v : f32
    %b = math.sin %a : f32
    %c = math.cos %b : f32
    %d = math.tanh %c : f32
    %r = math.log %d : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808]} : (index) -> tensor<?xf32>
  %f = "coil.pointwise"(%s0, %s1) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%e, %i) : (tensor<?xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
  return %f : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[E:.*]] = "coil.pointwise"
// CHECK: math.log
// CHECK: "coil.pointwise"
// CHECK: "coil.load"(%[[E]]

// -----

func.func @graph(%x: tensor<?xf32>, %s0: index {coil.symbol = "s0", coil.size_hint = 8 : i64}, %s1: index {coil.symbol = "s1", coil.size_hint = 1 : i64}) -> tensor<?x?xf32> attributes {coil.device = "cpu"} {
  %e = "coil.pointwise"(%s0) ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<?xf32>, index) -> f32
    %a = math.exp %v : f32
    %b = math.sin %a : f32
    %c = math.cos %b : f32
    %d = math.tanh %c : f32
    %r = math.log %d : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [-9223372036854775808]} : (index) -> tensor<?xf32>
  %f = "coil.pointwise"(%s0, %s1) ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%e, %i) : (tensor<?xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [-9223372036854775808, -9223372036854775808]} : (index, index) -> tensor<?x?xf32>
  return %f : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?xf32>
// CHECK-NEXT: "coil.pointwise"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: "coil.load"(%[[X]]
// CHECK-NOT: "coil.pointwise"
