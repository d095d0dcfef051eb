// RUN: %coil-opt %s --split-input-file --coil-outline-kernels | filecheck %s

// Each pointwise/reduction becomes a kernel function over memrefs; the host
// allocates, launches, calls ATen and keeps linear views as strided buffers.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}, %w: tensor<8x3xf32> {coil.strides = [3, 1]}) -> (tensor<4xf32> {coil.strides = [1]}, tensor<4x3xf32> {coil.strides = [3, 1]}, tensor<8x4xf32> {coil.strides = [1, 8]}) attributes {coil.device = "cpu"} {
  %c0 = arith.constant 0 : index
  %e = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    %r = math.exp %v : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%e, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %m = "coil.extern"() ({
    "coil.arg"(%e) : (tensor<4x8xf32>) -> ()
    "coil.arg"(%w) : (tensor<8x3xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = "aten::mm.default", args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kwargs = {}, coil.result_strides = [[3, 1]]} : () -> tensor<4x3xf32>
  %t = "coil.view"(%e) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return %s, %m, %t : tensor<4xf32>, tensor<4x3xf32>, tensor<8x4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[W:.*]]: memref<8x3xf32>) -> (memref<4xf32>, memref<4x3xf32>, memref<8x4xf32, strided<[1, 8]>>) attributes {coil.device = "cpu", coil.host}
// CHECK: %[[E:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4x8xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[E]]) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[X]]) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {kernel = @[[K0:.*]]} : () -> ()
// CHECK-NEXT: %[[S:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
// CHECK: }) {kernel = @[[K1:.*]]} : () -> ()
// CHECK-NEXT: %[[M:.*]] = "coil.extern"() ({
// CHECK-NEXT: "coil.arg"(%[[E]]) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[W]]) : (memref<8x3xf32>) -> ()
// CHECK: kernel = "aten::mm.default"
// CHECK-SAME: () -> memref<4x3xf32>
// CHECK-NEXT: %[[T:.*]] = "coil.view"(%[[E]]) {map = #{{.*}}} : (memref<4x8xf32>) -> memref<8x4xf32, strided<[1, 8]>>
// CHECK-NEXT: return %[[S]], %[[M]], %[[T]]

// CHECK: func.func @[[K0]](%[[OUT:.*]]: memref<4x8xf32>, %[[IN:.*]]: memref<4x8xf32>) attributes {coil.kernel}
// CHECK-NEXT: "coil.loop_nest"() ({
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[IN]], %[[I]], %[[J]])
// CHECK-NEXT: %[[R:.*]] = math.exp %[[V]] : f32
// CHECK-NEXT: "coil.store"(%[[R]], %[[OUT]], %[[I]], %[[J]]) : (f32, memref<4x8xf32>, index, index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()
// CHECK-NEXT: }) {ranges = [4, 8], reduction_ranges = []} : () -> ()

// CHECK: func.func @[[K1]](%[[OUT:.*]]: memref<4xf32>, %[[IN:.*]]: memref<4x8xf32>) attributes {coil.kernel}
// CHECK: %[[V:.*]] = "coil.load"(%[[IN]], %[[I:.*]], %[[R:.*]]) : (memref<4x8xf32>, index, index) -> f32
// CHECK-NEXT: %[[SUM:.*]] = "coil.reduce"(%[[V]]) {reduction_type = "sum"} : (f32) -> f32
// CHECK-NEXT: "coil.store"(%[[SUM]], %[[OUT]], %[[I]]) : (f32, memref<4xf32>, index) -> ()
// CHECK: }) {ranges = [4], reduction_ranges = [8]} : () -> ()

// -----

// Flattening a dense buffer is a strided view (no copy); flattening its
// transpose is not linear in the storage and is copied. Intermediates are freed
// right after their last use; a uint8 buffer is seen by kernels as i8.

func.func @graph(%x: tensor<4x8xui8> {coil.strides = [8, 1]}) -> (tensor<32xui8> {coil.strides = [1]}, tensor<32xui8> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %a = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %j, %i) : (tensor<4x8xui8>, index, index) -> i8
    "coil.yield"(%v) : (i8) -> ()
  }) {ranges = [8, 4]} : () -> tensor<8x4xui8>
  %dense = "coil.view"(%a) {map = affine_map<(d0) -> (d0 floordiv 4, d0 mod 4)>} : (tensor<8x4xui8>) -> tensor<32xui8>
  %t = "coil.view"(%a) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<8x4xui8>) -> tensor<4x8xui8>
  %flat = "coil.view"(%t) {map = affine_map<(d0) -> (d0 floordiv 8, d0 mod 8)>} : (tensor<4x8xui8>) -> tensor<32xui8>
  return %dense, %flat : tensor<32xui8>, tensor<32xui8>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:.*]]: memref<4x8xui8>) -> (memref<32xui8>, memref<32xui8>)
// CHECK: %[[A:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<8x4xui8>
// CHECK: %[[DENSE:.*]] = "coil.view"(%[[A]]) {map = #{{.*}}} : (memref<8x4xui8>) -> memref<32xui8>
// CHECK-NEXT: %[[T:.*]] = "coil.view"(%[[A]]) {map = #{{.*}}} : (memref<8x4xui8>) -> memref<4x8xui8, strided<[1, 4]>>
// CHECK-NEXT: %[[FLAT:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<32xui8>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[FLAT]]) : (memref<32xui8>) -> ()
// CHECK-NEXT: "coil.arg"(%[[T]]) : (memref<4x8xui8, strided<[1, 4]>>) -> ()
// CHECK: }) {kernel = @[[COPY:.*]]} : () -> ()
// CHECK-NEXT: return %[[DENSE]], %[[FLAT]] : memref<32xui8>, memref<32xui8>
// CHECK: func.func @{{.*}}(%{{.*}}: memref<8x4xi8>, %{{.*}}: memref<4x8xi8>) attributes {coil.kernel}
// CHECK: func.func @[[COPY]](%[[OUT:.*]]: memref<32xi8>, %[[IN:.*]]: memref<4x8xi8, strided<[1, 4]>>) attributes {coil.kernel}
// CHECK: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[ROW:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK-NEXT: %[[COL:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK-NEXT: %[[V:.*]] = "coil.load"(%[[IN]], %[[ROW]], %[[COL]]) : (memref<4x8xi8, strided<[1, 4]>>, index, index) -> i8
// CHECK-NEXT: "coil.store"(%[[V]], %[[OUT]], %[[I]]) : (i8, memref<32xi8>, index) -> ()

// -----

// An intermediate is freed right after its last use.

func.func @graph(%x: tensor<16xf32> {coil.strides = [1]}) -> (tensor<16xf32> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %a = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%x, %i) : (tensor<16xf32>, index) -> f32
    %e = math.exp %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  %b = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%a, %i) : (tensor<16xf32>, index) -> f32
    %e = math.sin %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  %c = "coil.pointwise"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%b, %i) : (tensor<16xf32>, index) -> f32
    %e = math.cos %v : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  return %c : tensor<16xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[A:.*]] = "coil.alloc"()
// CHECK: %[[B:.*]] = "coil.alloc"()
// CHECK: "coil.launch"()
// CHECK: "coil.dealloc"(%[[A]]) : (memref<16xf32>) -> ()
// CHECK-NEXT: %[[C:.*]] = "coil.alloc"()
// CHECK: "coil.launch"()
// CHECK: "coil.dealloc"(%[[B]]) : (memref<16xf32>) -> ()
// CHECK-NEXT: return %[[C]]

// -----

// A reduction result nothing reads gets no buffer and no store: layernorm uses
// welford's mean and variance, not its count.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}) -> (tensor<4xf32> {coil.strides = [1]}) attributes {coil.device = "cpu"} {
  %w:3 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "welford"} : () -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  %y = "coil.pointwise"() ({
  ^bb0(%i: index):
    %m = "coil.load"(%w#0, %i) : (tensor<4xf32>, index) -> f32
    %s = "coil.load"(%w#1, %i) : (tensor<4xf32>, index) -> f32
    %a = arith.addf %m, %s : f32
    "coil.yield"(%a) : (f32) -> ()
  }) {ranges = [4]} : () -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-NEXT: %[[MEAN:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
// CHECK-NEXT: %[[M2:.*]] = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[MEAN]]) : (memref<4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%[[M2]]) : (memref<4xf32>) -> ()
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()

// CHECK: func.func @{{.*}}(%[[OUT0:.*]]: memref<4xf32>, %[[OUT1:.*]]: memref<4xf32>, %{{.*}}: memref<4x8xf32>) attributes {coil.kernel}
// CHECK: %[[W:.*]]:3 = "coil.reduce"(%{{.*}}) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
// CHECK-NEXT: "coil.store"(%[[W]]#0, %[[OUT0]], %{{.*}}) : (f32, memref<4xf32>, index) -> ()
// CHECK-NEXT: "coil.store"(%[[W]]#1, %[[OUT1]], %{{.*}}) : (f32, memref<4xf32>, index) -> ()
// CHECK-NEXT: "coil.yield"() : () -> ()

// -----

// A reduction whose results are all unused is not computed.

func.func @graph(%x: tensor<4x8xf32> {coil.strides = [8, 1]}) -> (tensor<4x8xf32> {coil.strides = [8, 1]}) attributes {coil.device = "cpu"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %y = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%x, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-NOT: coil.reduce
// CHECK: func.func @
// CHECK-NOT: coil.reduce
