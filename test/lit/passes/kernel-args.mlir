// RUN: %coil-opt %s --split-input-file --coil-kernel-args | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-kernel-args --coil-verify-memory | filecheck %s --check-prefix=VERIFY

// An in-place update of two graph inputs (AdamW's m.lerp_(g)): the kernel
// stores into %m, which it also reads through a second argument, the same host
// value. The two arguments become one, and every buffer is noalias: a mutated
// input never overlaps another input (AOTAutograd's contract).

func.func @graph(%m: memref<16xf32>, %g: memref<16xf32>) attributes {coil.device = "cpu", coil.host} {
  "coil.launch"() ({
    "coil.arg"(%m) : (memref<16xf32>) -> ()
    "coil.arg"(%g) : (memref<16xf32>) -> ()
    "coil.arg"(%m) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @lerp} : () -> ()
  return
}
func.func @lerp(%out: memref<16xf32>, %g: memref<16xf32>, %m: memref<16xf32>) attributes {coil.kernel} {
  %w = arith.constant 0.1 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%m, %i) : (memref<16xf32>, index) -> f32
    %b = "coil.load"(%g, %i) : (memref<16xf32>, index) -> f32
    %d = arith.subf %b, %a : f32
    %e = arith.mulf %d, %w : f32
    %r = arith.addf %a, %e : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[M:.*]]: memref<16xf32>, %[[G:.*]]: memref<16xf32>)
// CHECK: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[M]])
// CHECK-NEXT: "coil.arg"(%[[G]])
// CHECK-NEXT: "coil.yield"
// CHECK-NEXT: }) {kernel = @lerp}
// CHECK: func.func @lerp(%[[OUT:.*]]: memref<16xf32> {coil.noalias}, %[[GK:.*]]: memref<16xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK: "coil.load"(%[[OUT]], %{{.*}})
// CHECK: "coil.load"(%[[GK]], %{{.*}})
// CHECK: "coil.store"(%{{.*}}, %[[OUT]], %{{.*}})

// -----

// A kernel writing in place of the buffer it reads (an in-place `coil.reuse`):
// one argument, passed the reuse's result; the pair still verifies.

func.func @graph(%x: memref<16xf32>) -> memref<16xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @double} : () -> ()
  %b = "coil.reuse"(%a) {coil.inplace} : (memref<16xf32>) -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @double} : () -> ()
  return %b : memref<16xf32>
}
func.func @double(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    %r = arith.addf %v, %v : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// @double is launched twice, once out of place: its arguments stay apart,
// and the in-place launch makes them overlap, so neither is noalias.
// CHECK-LABEL: func.func @graph(
// CHECK: %[[B:.*]] = "coil.reuse"(%[[A:.*]]) {coil.inplace}
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[B]])
// CHECK-NEXT: "coil.arg"(%[[A]])
// CHECK: func.func @double(%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>) attributes {coil.kernel}

// VERIFY: "coil.reuse"{{.*}}coil.inplace

// -----

// The same, with a kernel of its own for the in-place launch: merged.

func.func @graph(%x: memref<16xf32>) -> memref<16xf32> attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @double} : () -> ()
  %b = "coil.reuse"(%a) {coil.inplace} : (memref<16xf32>) -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @add} : () -> ()
  return %b : memref<16xf32>
}
func.func @double(%out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    %r = arith.addf %v, %v : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}
func.func @add(%x: memref<16xf32>, %out: memref<16xf32>, %in: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%in, %i) : (memref<16xf32>, index) -> f32
    %w = "coil.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %r = arith.addf %v, %w : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[X:.*]]: memref<16xf32>)
// CHECK: %[[B:.*]] = "coil.reuse"(%{{.*}}) {coil.inplace}
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[X]])
// CHECK-NEXT: "coil.arg"(%[[B]])
// CHECK-NEXT: "coil.yield"
// CHECK-NEXT: }) {kernel = @add}
// CHECK: func.func @double(%{{.*}}: memref<16xf32> {coil.noalias}, %{{.*}}: memref<16xf32> {coil.noalias})
// CHECK: func.func @add(%[[AX:.*]]: memref<16xf32> {coil.noalias}, %[[AOUT:.*]]: memref<16xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK: "coil.load"(%[[AOUT]], %{{.*}})
// CHECK: "coil.load"(%[[AX]], %{{.*}})
// CHECK: "coil.store"(%{{.*}}, %[[AOUT]], %{{.*}})

// VERIFY: "coil.reuse"{{.*}}coil.inplace

// -----

// Overlap through a view and through an ATen call: a written buffer passed
// with a view of itself, or with an extern result that may be a view of it,
// is not noalias, and neither is the other argument; a buffer of its own is.
// Two read-only arguments may overlap (a transposed input and the input).

#t = affine_map<(d0, d1) -> (d1, d0)>
func.func @graph(%x: memref<4x4xf32>, %y: memref<4x4xf32>) -> (memref<4x4xf32>, memref<4x4xf32>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<4x4xf32>
  %v = "coil.view"(%a) {map = #t} : (memref<4x4xf32>) -> memref<4x4xf32, strided<[1, 4]>>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<4x4xf32>) -> ()
    "coil.arg"(%v) : (memref<4x4xf32, strided<[1, 4]>>) -> ()
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @viewed} : () -> ()
  %e = "coil.extern"() ({
    "coil.arg"(%a) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>], kernel = "aten::alias.default", kwargs = {}} : () -> memref<4x4xf32>
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<4x4xf32>
  %xt = "coil.view"(%x) {map = #t} : (memref<4x4xf32>) -> memref<4x4xf32, strided<[1, 4]>>
  "coil.launch"() ({
    "coil.arg"(%e) : (memref<4x4xf32>) -> ()
    "coil.arg"(%a) : (memref<4x4xf32>) -> ()
    "coil.arg"(%c) : (memref<4x4xf32>) -> ()
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.arg"(%xt) : (memref<4x4xf32, strided<[1, 4]>>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @through_extern} : () -> ()
  return %a, %c : memref<4x4xf32>, memref<4x4xf32>
}
func.func @viewed(%out: memref<4x4xf32>, %t: memref<4x4xf32, strided<[1, 4]>>, %x: memref<4x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %p = "coil.load"(%t, %i, %j) : (memref<4x4xf32, strided<[1, 4]>>, index, index) -> f32
    %q = "coil.load"(%x, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %r = arith.addf %p, %q : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @through_extern(%e: memref<4x4xf32>, %out: memref<4x4xf32>, %c: memref<4x4xf32>, %x: memref<4x4xf32>, %xt: memref<4x4xf32, strided<[1, 4]>>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %p = "coil.load"(%e, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %q = "coil.load"(%x, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %s = "coil.load"(%xt, %i, %j) : (memref<4x4xf32, strided<[1, 4]>>, index, index) -> f32
    %r = arith.addf %p, %q : f32
    %u = arith.addf %r, %s : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.store"(%u, %c, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @viewed(
// CHECK-SAME: %{{[^:]*}}: memref<4x4xf32>, %{{[^:]*}}: memref<4x4xf32, strided<[1, 4]>>, %{{[^:]*}}: memref<4x4xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK-LABEL: func.func @through_extern(
// CHECK-SAME: %{{[^:]*}}: memref<4x4xf32>, %{{[^:]*}}: memref<4x4xf32>, %{{[^:]*}}: memref<4x4xf32> {coil.noalias}, %{{[^:]*}}: memref<4x4xf32> {coil.noalias}, %{{[^:]*}}: memref<4x4xf32, strided<[1, 4]>> {coil.noalias}) attributes {coil.kernel}

// -----

// A kernel launched with the same value twice by one launch but not by
// another keeps both arguments.

func.func @graph(%x: memref<16xf32>, %y: memref<16xf32>) -> (memref<16xf32>, memref<16xf32>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @add} : () -> ()
  %b = "coil.alloc"() {device = "cpu"} : () -> memref<16xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<16xf32>) -> ()
    "coil.arg"(%x) : (memref<16xf32>) -> ()
    "coil.arg"(%y) : (memref<16xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @add} : () -> ()
  return %a, %b : memref<16xf32>, memref<16xf32>
}
func.func @add(%out: memref<16xf32>, %p: memref<16xf32>, %q: memref<16xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %v = "coil.load"(%p, %i) : (memref<16xf32>, index) -> f32
    %w = "coil.load"(%q, %i) : (memref<16xf32>, index) -> f32
    %r = arith.addf %v, %w : f32
    "coil.store"(%r, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK: "coil.arg"(%{{.*}})
// CHECK-NEXT: "coil.arg"(%{{.*}})
// CHECK-NEXT: "coil.arg"(%{{.*}})
// CHECK-NEXT: "coil.yield"
// CHECK: func.func @add(%{{[^:]*}}: memref<16xf32> {coil.noalias}, %{{[^:]*}}: memref<16xf32> {coil.noalias}, %{{[^:]*}}: memref<16xf32> {coil.noalias})

// -----

// In place across a reshape (a GELU over addmm): the kernel writes its
// [2, 4, 4] output over the [8, 4] matmul result it reads, and each load of
// the input reads the storage offset the store writes ((2*i + j)*4 + k ==
// 16*i + 4*j + k). The load becomes a load of the output at the store's
// indices, the input argument goes away, and the one pointer left is noalias.

#rows = affine_map<(d0, d1) -> (d0 * 4 + d1)>
func.func @graph(%x: memref<8x4xf32>, %w: memref<4x4xf32>) -> memref<2x4x4xf32> attributes {coil.device = "cpu", coil.host} {
  %m = "coil.extern"() ({
    "coil.arg"(%x) : (memref<8x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> memref<8x4xf32>
  %g = "coil.reuse"(%m) {coil.inplace} : (memref<8x4xf32>) -> memref<2x4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<2x4x4xf32>) -> ()
    "coil.arg"(%m) : (memref<8x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @gelu} : () -> ()
  return %g : memref<2x4x4xf32>
}
func.func @gelu(%out: memref<2x4x4xf32>, %in: memref<8x4xf32>) attributes {coil.kernel} {
  %h = arith.constant 0.5 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %r = affine.apply #rows(%i, %j)
    %v = "coil.load"(%in, %r, %k) : (memref<8x4xf32>, index, index) -> f32
    %e = math.erf %v : f32
    %u = "coil.load"(%in, %r, %k) : (memref<8x4xf32>, index, index) -> f32
    %p = arith.mulf %u, %e : f32
    %q = arith.mulf %p, %h : f32
    "coil.store"(%q, %out, %i, %j, %k) : (f32, memref<2x4x4xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 4, 4], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[G:.*]] = "coil.reuse"(%{{.*}}) {coil.inplace} : (memref<8x4xf32>) -> memref<2x4x4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%[[G]])
// CHECK-NEXT: "coil.yield"
// CHECK-NEXT: }) {kernel = @gelu}
// CHECK: func.func @gelu(%[[OUT:[^:]*]]: memref<2x4x4xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK-NOT: affine.apply
// CHECK: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index, %[[K:.*]]: index):
// CHECK-NEXT: "coil.load"(%[[OUT]], %[[I]], %[[J]], %[[K]]) : (memref<2x4x4xf32>, index, index, index) -> f32
// CHECK: "coil.load"(%[[OUT]], %[[I]], %[[J]], %[[K]]) : (memref<2x4x4xf32>, index, index, index) -> f32
// CHECK: "coil.store"(%{{.*}}, %[[OUT]], %[[I]], %[[J]], %[[K]])

// VERIFY: "coil.reuse"{{.*}}coil.inplace

// -----

// A softmax over batched-matmul scores: [4, 4, 4] read, [2, 2, 4, 4] written
// in place after both reductions. The loads of every pass (max, sum, the
// normalization) read the offset the store writes: all become loads of the
// output, and the mask, another buffer, stays noalias beside it.

#bh = affine_map<(d0, d1) -> (d0 * 2 + d1)>
func.func @graph(%q: memref<4x4x2xf32>, %k: memref<4x2x4xf32>, %mask: memref<4x4xi1>) -> memref<2x2x4x4xf32> attributes {coil.device = "cpu", coil.host} {
  %s = "coil.extern"() ({
    "coil.arg"(%q) : (memref<4x4x2xf32>) -> ()
    "coil.arg"(%k) : (memref<4x2x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::bmm.default", kwargs = {}} : () -> memref<4x4x4xf32>
  %p = "coil.reuse"(%s) {coil.inplace} : (memref<4x4x4xf32>) -> memref<2x2x4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%mask) : (memref<4x4xi1>) -> ()
    "coil.arg"(%s) : (memref<4x4x4xf32>) -> ()
    "coil.arg"(%p) : (memref<2x2x4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @softmax} : () -> ()
  return %p : memref<2x2x4x4xf32>
}
func.func @softmax(%mask: memref<4x4xi1>, %scores: memref<4x4x4xf32>, %out: memref<2x2x4x4xf32>) attributes {coil.kernel} {
  %ninf = arith.constant 0xFF800000 : f32
  "coil.loop_nest"() ({
  ^bb0(%b: index, %h: index, %t: index, %one: index, %r: index):
    %m0 = "coil.load"(%mask, %t, %r) : (memref<4x4xi1>, index, index) -> i1
    %i0 = affine.apply #bh(%b, %h)
    %s0 = "coil.load"(%scores, %i0, %t, %r) : (memref<4x4x4xf32>, index, index, index) -> f32
    %x0 = arith.select %m0, %ninf, %s0 : f32
    %max = "coil.reduce"(%x0) {reduction_type = "max"} : (f32) -> f32
    %i1 = affine.apply #bh(%b, %h)
    %s1 = "coil.load"(%scores, %i1, %t, %r) : (memref<4x4x4xf32>, index, index, index) -> f32
    %x1 = arith.select %m0, %ninf, %s1 : f32
    %d1 = arith.subf %x1, %max : f32
    %e1 = math.exp %d1 : f32
    %sum = "coil.reduce"(%e1) {reduction_type = "sum"} : (f32) -> f32
    %i2 = affine.apply #bh(%b, %h)
    %s2 = "coil.load"(%scores, %i2, %t, %r) : (memref<4x4x4xf32>, index, index, index) -> f32
    %x2 = arith.select %m0, %ninf, %s2 : f32
    %d2 = arith.subf %x2, %max : f32
    %e2 = math.exp %d2 : f32
    %y = arith.divf %e2, %sum : f32
    "coil.store"(%y, %out, %b, %h, %t, %r) : (f32, memref<2x2x4x4xf32>, index, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 4, 1], reduction_ranges = [4]} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK: %[[P:.*]] = "coil.reuse"(%{{.*}}) {coil.inplace} : (memref<4x4x4xf32>) -> memref<2x2x4x4xf32>
// CHECK-NEXT: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x4xi1>)
// CHECK-NEXT: "coil.arg"(%[[P]])
// CHECK-NEXT: "coil.yield"
// CHECK-NEXT: }) {kernel = @softmax}
// CHECK: func.func @softmax(%{{[^:]*}}: memref<4x4xi1> {coil.noalias}, %[[OUT:[^:]*]]: memref<2x2x4x4xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK: ^bb0(%[[B:[^:]*]]: index, %[[H:[^:]*]]: index, %[[T:[^:]*]]: index, %{{[^:]*}}: index, %[[R:[^:]*]]: index):
// CHECK-COUNT-3: "coil.load"(%[[OUT]], %[[B]], %[[H]], %[[T]], %[[R]])
// CHECK: "coil.store"(%{{.*}}, %[[OUT]], %[[B]], %[[H]], %[[T]], %[[R]])

// -----

// Negative: the same reshape pair, but the kernel reads the input transposed
// in its two leading dims ((2*j + i)*4 + k is not the stored 8*i + 4*j + k,
// though the pair is an in-place reuse): the arguments stay apart, unchanged,
// and neither is noalias. The matmul's other input is.

#swapped = affine_map<(d0, d1) -> (d1 * 2 + d0)>
func.func @graph(%x: memref<4x4xf32>, %w: memref<4x4xf32>) -> memref<2x2x4xf32> attributes {coil.device = "cpu", coil.host} {
  %m = "coil.extern"() ({
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> memref<4x4xf32>
  %g = "coil.reuse"(%m) {coil.inplace} : (memref<4x4xf32>) -> memref<2x2x4xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<2x2x4xf32>) -> ()
    "coil.arg"(%m) : (memref<4x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @transposed} : () -> ()
  return %g : memref<2x2x4xf32>
}
func.func @transposed(%out: memref<2x2x4xf32>, %in: memref<4x4xf32>, %w: memref<4x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %r = affine.apply #swapped(%i, %j)
    %v = "coil.load"(%in, %r, %k) : (memref<4x4xf32>, index, index) -> f32
    %u = "coil.load"(%w, %r, %k) : (memref<4x4xf32>, index, index) -> f32
    %s = arith.addf %v, %u : f32
    "coil.store"(%s, %out, %i, %j, %k) : (f32, memref<2x2x4xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 4], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<2x2x4xf32>)
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x4xf32>)
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x4xf32>)
// CHECK-NEXT: "coil.yield"
// CHECK: func.func @transposed(%{{[^:]*}}: memref<2x2x4xf32>, %[[IN:[^:]*]]: memref<4x4xf32>, %{{[^:]*}}: memref<4x4xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK: %[[ROW:.*]] = affine.apply
// CHECK-NEXT: "coil.load"(%[[IN]], %[[ROW]], %{{.*}})

// -----

// Negative: the load reads the row's next element (a rotate, (k + 1) mod 4),
// which another iteration stores: not merged, and neither is noalias.

#row = affine_map<(d0, d1) -> (d0 * 2 + d1)>
#next = affine_map<(d0) -> ((d0 + 1) mod 4)>
func.func @graph(%x: memref<4x4xf32>, %w: memref<4x4xf32>) -> memref<2x2x4xf32> attributes {coil.device = "cpu", coil.host} {
  %m = "coil.extern"() ({
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> memref<4x4xf32>
  %g = "coil.reuse"(%m) {coil.inplace} : (memref<4x4xf32>) -> memref<2x2x4xf32>
  "coil.launch"() ({
    "coil.arg"(%g) : (memref<2x2x4xf32>) -> ()
    "coil.arg"(%m) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @rotate} : () -> ()
  return %g : memref<2x2x4xf32>
}
func.func @rotate(%out: memref<2x2x4xf32>, %in: memref<4x4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index, %k: index):
    %r = affine.apply #row(%i, %j)
    %c = affine.apply #next(%k)
    %v = "coil.load"(%in, %r, %c) : (memref<4x4xf32>, index, index) -> f32
    "coil.store"(%v, %out, %i, %j, %k) : (f32, memref<2x2x4xf32>, index, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [2, 2, 4], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @graph(
// CHECK: "coil.launch"() ({
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<2x2x4xf32>)
// CHECK-NEXT: "coil.arg"(%{{.*}}) : (memref<4x4xf32>)
// CHECK-NEXT: "coil.yield"
// CHECK: func.func @rotate(%{{[^:]*}}: memref<2x2x4xf32>, %{{[^:]*}}: memref<4x4xf32>) attributes {coil.kernel}

// -----

// A buffer that takes over the storage a matrix product read (a reuse, not in
// place): `aten::mm` returns a tensor of its own (FRESH_EXTERN_KERNELS), so a
// kernel writing the new buffer from the product's result has two disjoint
// buffers, both noalias. An ATen call that may return a view of its argument
// (`aten::alias`) in the same place keeps the pair from noalias.

func.func @graph(%x: memref<4x4xf32>, %w: memref<4x4xf32>) -> (memref<4x4xf32>, memref<4x4xf32>) attributes {coil.device = "cpu", coil.host} {
  %a = "coil.alloc"() {device = "cpu"} : () -> memref<4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%a) : (memref<4x4xf32>) -> ()
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @relu} : () -> ()
  %m = "coil.extern"() ({
    "coil.arg"(%a) : (memref<4x4xf32>) -> ()
    "coil.arg"(%w) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>, #coil.operand<1 : i64>], kernel = "aten::mm.default", kwargs = {}} : () -> memref<4x4xf32>
  %b = "coil.reuse"(%a) : (memref<4x4xf32>) -> memref<4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<4x4xf32>) -> ()
    "coil.arg"(%m) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @relu_of_mm} : () -> ()
  "coil.dealloc"(%m) : (memref<4x4xf32>) -> ()
  %c = "coil.alloc"() {device = "cpu"} : () -> memref<4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%c) : (memref<4x4xf32>) -> ()
    "coil.arg"(%x) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @relu_again} : () -> ()
  %e = "coil.extern"() ({
    "coil.arg"(%c) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {args = [#coil.operand<0 : i64>], kernel = "aten::alias.default", kwargs = {}} : () -> memref<4x4xf32>
  %d = "coil.reuse"(%c) : (memref<4x4xf32>) -> memref<4x4xf32>
  "coil.launch"() ({
    "coil.arg"(%d) : (memref<4x4xf32>) -> ()
    "coil.arg"(%e) : (memref<4x4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @relu_of_alias} : () -> ()
  return %b, %d : memref<4x4xf32>, memref<4x4xf32>
}
func.func @relu(%out: memref<4x4xf32>, %in: memref<4x4xf32>) attributes {coil.kernel} {
  %z = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %r = arith.maximumf %v, %z : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @relu_of_mm(%out: memref<4x4xf32>, %in: memref<4x4xf32>) attributes {coil.kernel} {
  %z = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %r = arith.maximumf %v, %z : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @relu_again(%out: memref<4x4xf32>, %in: memref<4x4xf32>) attributes {coil.kernel} {
  %z = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %r = arith.maximumf %v, %z : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}
func.func @relu_of_alias(%out: memref<4x4xf32>, %in: memref<4x4xf32>) attributes {coil.kernel} {
  %z = arith.constant 0.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%in, %i, %j) : (memref<4x4xf32>, index, index) -> f32
    %r = arith.maximumf %v, %z : f32
    "coil.store"(%r, %out, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 4], reduction_ranges = []} : () -> ()
  return
}

// CHECK-LABEL: func.func @relu_of_mm(
// CHECK-SAME: %{{[^:]*}}: memref<4x4xf32> {coil.noalias}, %{{[^:]*}}: memref<4x4xf32> {coil.noalias}) attributes {coil.kernel}
// CHECK-LABEL: func.func @relu_of_alias(
// CHECK-SAME: %{{[^:]*}}: memref<4x4xf32>, %{{[^:]*}}: memref<4x4xf32>) attributes {coil.kernel}
