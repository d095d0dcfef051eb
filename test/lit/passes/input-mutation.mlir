// RUN: %coil-opt %s --split-input-file --coil-outline-kernels | filecheck %s --check-prefix=OUTLINE
// RUN: %coil-opt %s --split-input-file --coil-outline-kernels --coil-plan-memory --coil-verify-memory | filecheck %s --check-prefix=PLAN

// x.add_(y); return x * 2. The new value of %x is a result marked
// `coil.mutates = 0`: outlining writes it back into the argument with a copy
// kernel after everything else, and returns only the real result. Memory
// planning then has the kernel computing x + y store into %x directly: it reads
// %x only at the points it stores, and nothing reads %x after it.

func.func @graph(%x: tensor<16xf32> {coil.strides = [1]}, %y: tensor<16xf32> {coil.strides = [1]}) -> (tensor<16xf32> {coil.strides = [1]}, tensor<16xf32> {coil.strides = [1], coil.mutates = 0 : i64}) attributes {coil.device = "cpu"} {
  %sum = "coil.pointwise"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (tensor<16xf32>, index) -> f32
    %b = "coil.load"(%y, %i) : (tensor<16xf32>, index) -> f32
    %r = arith.addf %a, %b : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  %twice = "coil.pointwise"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%sum, %i) : (tensor<16xf32>, index) -> f32
    %r = arith.addf %a, %a : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  return %twice, %sum : tensor<16xf32>, tensor<16xf32>
}

// OUTLINE-LABEL: func.func @graph(
// OUTLINE-SAME: %[[X:.*]]: memref<16xf32>, %[[Y:.*]]: memref<16xf32>) -> memref<16xf32>
// OUTLINE: %[[SUM:.*]] = "coil.alloc"()
// OUTLINE: }) {kernel = @kernel_0}
// OUTLINE: %[[TWICE:.*]] = "coil.alloc"()
// OUTLINE: }) {kernel = @kernel_1}
// OUTLINE-NEXT: "coil.launch"() ({
// OUTLINE-NEXT: "coil.arg"(%[[X]]) : (memref<16xf32>) -> ()
// OUTLINE-NEXT: "coil.arg"(%[[SUM]]) : (memref<16xf32>) -> ()
// OUTLINE-NEXT: "coil.yield"() : () -> ()
// OUTLINE-NEXT: }) {coil.writeback, kernel = @kernel_2} : () -> ()
// OUTLINE: return %[[TWICE]] : memref<16xf32>
// OUTLINE: func.func @kernel_2(%[[OUT:.*]]: memref<16xf32>, %[[IN:.*]]: memref<16xf32>) attributes {coil.kernel}
// OUTLINE: %[[V:.*]] = "coil.load"(%[[IN]]
// OUTLINE-NEXT: "coil.store"(%[[V]], %[[OUT]]

// PLAN-LABEL: func.func @graph(
// PLAN-SAME: %[[X:.*]]: memref<16xf32>, %[[Y:.*]]: memref<16xf32>) -> memref<16xf32>
// PLAN-NOT: coil.writeback
// PLAN: "coil.launch"() ({
// PLAN-NEXT: "coil.arg"(%[[X]]) : (memref<16xf32>) -> ()
// PLAN-NEXT: "coil.arg"(%[[X]]) : (memref<16xf32>) -> ()
// PLAN-NEXT: "coil.arg"(%[[Y]]) : (memref<16xf32>) -> ()
// PLAN-NEXT: "coil.yield"() : () -> ()
// PLAN-NEXT: }) {kernel = @kernel_0} : () -> ()
// PLAN: }) {kernel = @kernel_1} : () -> ()
// PLAN-NOT: coil.launch
// PLAN: return
// PLAN-NOT: func.func @kernel_2

// -----

// old = flip(x); x.mul_(2); return old + x. The kernel reading the old %x
// (reversed) runs after the one computing the new value, so the write-back
// stays: storing into %x early would change what @kernel_1 reads.

func.func @graph(%x: tensor<16xf32> {coil.strides = [1]}) -> (tensor<16xf32> {coil.strides = [1]}, tensor<16xf32> {coil.strides = [1], coil.mutates = 0 : i64}) attributes {coil.device = "cpu"} {
  %new = "coil.pointwise"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (tensor<16xf32>, index) -> f32
    %r = arith.addf %a, %a : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  %out = "coil.pointwise"() ({
  ^bb0(%i: index):
    %j = affine.apply affine_map<(d0) -> (15 - d0)>(%i)
    %a = "coil.load"(%x, %j) : (tensor<16xf32>, index) -> f32
    %b = "coil.load"(%new, %i) : (tensor<16xf32>, index) -> f32
    %r = arith.addf %a, %b : f32
    "coil.yield"(%r) : (f32) -> ()
  }) {ranges = [16]} : () -> tensor<16xf32>
  return %out, %new : tensor<16xf32>, tensor<16xf32>
}

// PLAN-LABEL: func.func @graph(
// PLAN-SAME: %[[X:.*]]: memref<16xf32>) -> memref<16xf32>
// PLAN: %[[NEW:.*]] = "coil.alloc"()
// PLAN: }) {kernel = @kernel_1} : () -> ()
// PLAN-NEXT: "coil.launch"() ({
// PLAN-NEXT: "coil.arg"(%[[X]]) : (memref<16xf32>) -> ()
// PLAN-NEXT: "coil.arg"(%[[NEW]]) : (memref<16xf32>) -> ()
// PLAN-NEXT: "coil.yield"() : () -> ()
// PLAN-NEXT: }) {coil.writeback, kernel = @kernel_2} : () -> ()
// PLAN-NEXT: "coil.dealloc"(%[[NEW]])
