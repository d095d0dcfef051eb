// RUN: %coil-opt %s --split-input-file --coil-outline-kernels --coil-fuse-kernels | filecheck %s

// A pointwise epilogue over a reduction's output ranges joins the reduction
// kernel; the reduced value is forwarded and its buffer disappears.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}) -> (tensor<4xf32> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %q = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%s, %i) : (tensor<4xf32>, index) -> f32
    %r = math.sqrt %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return %q : tensor<4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[OUT:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[OUT]]) : (memref<4xf32>) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[FUSED:.*]]} : () -> ()
// CHECK-NEXT: return %[[OUT]]
// CHECK: func.func @[[FUSED]](%[[X:.*]]: memref<4x8xf32>, %[[O:.*]]: memref<4xf32>) attributes {coil.kernel}
// CHECK: ^bb0(%[[I:.*]]: index, %[[R:.*]]: index):
// CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[X]], %[[I]], %[[R]])
// CHECK-NEXT: %[[SUM:.*]] = "coil.reduce"(%[[V]]) {reduction_type = "sum"} : (f32) -> f32
// CHECK-NEXT: %[[ROOT:.*]] = math.sqrt %[[SUM]] : f32
// CHECK-NEXT: "coil.store"(%[[ROOT]], %[[O]], %[[I]]) : (f32, memref<4xf32>, index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {ranges = [4], reduction_ranges = [8]} : () -> ()

// -----

// Illegal: the consumer reads the reduction's output at another row
// (out[i] = s[3 - i]), which the fused kernel would not have computed yet.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}) -> (tensor<4xf32> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %q = "coil.pointwise"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> (3 - d0)>(%i)
    %v = "coil.load"(%s, %j) : (tensor<4xf32>, index) -> f32
    %r = math.sqrt %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return %q : tensor<4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[S:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
// CHECK: "coil.launch"()
// CHECK: }) {kernel = @kernel_0} : () -> ()
// CHECK: "coil.launch"()
// CHECK: "coil.arg"(%[[S]])
// CHECK: }) {kernel = @kernel_1} : () -> ()
// CHECK: func.func @kernel_0
// CHECK: func.func @kernel_1

// -----

// Sibling reductions over the same input and ranges share one kernel.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}) -> (tensor<4xf32> {coil.strides = [1]}, tensor<4xf32> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %m = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "max"} : () -> tensor<4xf32>
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  return %m, %s : tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-COUNT-1: "coil.launch"()
// CHECK-NOT: "coil.launch"()
// CHECK: func.func @fused_0
// CHECK: reduction_type = "max"
// CHECK: reduction_type = "sum"

// -----

// A cross-entropy's shape: a row max over [4, 1] x [8], then the gather of
// each row's target logit minus the max over [4] (size-1 ranges aside, the
// row reduction's output points), then the mean over the rows. The gather
// joins the row kernel as an epilogue (out[i] = x[i, t[i]] - m[i, 0], the
// max forwarded, its buffer gone) and is not pulled into the final sum, where
// the four gathers would run one after another in its single program.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}, %t: tensor<4xi64> {coil.strides = [1]}) -> (tensor<f32> {coil.strides = []}) attributes {coil.device = "cpu"} {
  %c0 = arith.constant 0 : index
  %m = "coil.reduction"() ({
  ^bb0(%i: index, %j: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4, 1], reduction_ranges = [8], reduction_type = "max"} : () -> tensor<4x1xf32>
  %g = "coil.pointwise"() ({
  ^bb0(%i: index):
    %k = "coil.load"(%t, %i) : (tensor<4xi64>, index) -> i64
    %ki = arith.index_cast %k : i64 to index
    %v = "coil.load"(%x, %i, %ki) : (tensor<4x8xf32>, index, index) -> f32
    %mx = "coil.load"(%m, %i, %c0) : (tensor<4x1xf32>, index, index) -> f32
    %d = arith.subf %v, %mx : f32
    "coil.yield"(%d) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  %s = "coil.reduction"() ({
  ^bb0(%r: index):
    %v = "coil.load"(%g, %r) : (tensor<4xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [], reduction_ranges = [4], reduction_type = "sum"} : () -> tensor<f32>
  return %s : tensor<f32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-COUNT-2: "coil.launch"
// CHECK-NOT:     "coil.launch"
// CHECK:       func.func @{{.+}}(%{{.+}}: memref<f32>, %[[G2:.+]]: memref<4xf32>) attributes {coil.kernel}
// CHECK-NEXT:    "coil.loop_nest"
// CHECK-NEXT:    ^bb0(%[[P:.+]]: index):
// CHECK-NEXT:    "coil.load"(%[[G2]], %[[P]])
// CHECK-NEXT:    "coil.reduce"
// CHECK:       }) {ranges = [], reduction_ranges = [4]}
// CHECK:       func.func @{{.+}}(%[[X:.+]]: memref<4x8xf32>, %[[G:.+]]: memref<4xf32>, %[[T:.+]]: memref<4xi64>) attributes {coil.kernel}
// CHECK:         ^bb0(%[[I:.+]]: index, %[[J:.+]]: index, %[[R:.+]]: index):
// CHECK:         %[[MAX:.+]] = "coil.reduce"
// CHECK:         %[[K:.+]] = "coil.load"(%[[T]], %[[I]])
// CHECK:         %[[KI:.+]] = arith.index_cast %[[K]]
// CHECK:         %[[V:.+]] = "coil.load"(%[[X]], %[[I]], %[[KI]])
// CHECK:         %[[D:.+]] = arith.subf %[[V]], %[[MAX]] : f32
// CHECK:         "coil.store"(%[[D]], %[[G]], %[[I]])
// CHECK:       }) {ranges = [4, 1], reduction_ranges = [8]}
