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
