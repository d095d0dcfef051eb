// RUN: %coil-opt %s --split-input-file --coil-convert-kernels-to-llvm | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-precise-math-to-libm | filecheck %s --check-prefix=LIBM

// Buffers are bare pointers (static shapes and strides); with outer-slice the
// JIT's kernels add two i64 slice bounds. f64 erf goes to libm, f64 expm1 too
// (not exp(x) - 1), sqrt stays an intrinsic. (f32 erf and expm1 are written out
// as arithmetic by coil-expand-math: see expand-math.mlir.)
// CHECK-DAG: llvm.func @erf(f64) -> f64
// CHECK-DAG: llvm.func @expm1(f64) -> f64
// CHECK-LABEL: llvm.func @math
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) attributes {coil.kernel}
// CHECK-DAG: llvm.call @erf
// CHECK-DAG: llvm.call @expm1
// CHECK-DAG: llvm.intr.sqrt
// CHECK-NOT: llvm.intr.exp
// LIBM-LABEL: func.func private @expm1(f64) -> f64
// LIBM-LABEL: func.func @math
// LIBM: = func.call @expm1(%{{.*}}) : (f64) -> f64
// LIBM-NOT: math.expm1
func.func @math(%out: memref<64xf64>, %x: memref<64xf64>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<64xf64>, index) -> f64
    %b = math.erf %a : f64
    %c = math.expm1 %b : f64
    %d = math.sqrt %c : f64
    "coil.store"(%d, %out, %i) : (f64, memref<64xf64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}

// -----

// bf16 conversions become integer arithmetic (the JIT has no __truncsfbf2):
// no fptrunc/fpext to or from bf16 is left. Strided buffers are bare pointers too.
// CHECK-LABEL: llvm.func @bf16
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT: llvm.fptrunc {{.*}} to bf16
// CHECK-NOT: llvm.fpext {{.*}} : bf16
// CHECK: llvm.return
// LIBM-LABEL: func.func @bf16
func.func @bf16(%out: memref<8xbf16>, %x: memref<8x2xbf16, strided<[2, 1]>>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %c0 = arith.constant 0 : index
    %a = "coil.load"(%x, %i, %c0) : (memref<8x2xbf16, strided<[2, 1]>>, index, index) -> bf16
    %w = arith.extf %a : bf16 to f32
    %e = math.exp %w : f32
    %n = arith.truncf %e : f32 to bf16
    "coil.store"(%n, %out, %i) : (bf16, memref<8xbf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}

// -----

// f32 exp becomes arithmetic (coil-expand-math): a clamp, a multiply-add that
// rounds to an integer, a polynomial and an exponent-field scaling by shifts of
// that sum's bits, nothing LLVM would call libm for and no conversion, so the
// loop vectorizes. f64 exp stays the intrinsic (a libm call).
// CHECK-LABEL: llvm.func @exp
// CHECK-NOT: llvm.intr.exp({{.*}}) : (f32)
// CHECK: llvm.intr.minimum({{.*}}) : (f32, f32) -> f32
// CHECK-NEXT: llvm.intr.maximum({{.*}}) : (f32, f32) -> f32
// CHECK-NOT: llvm.intr.roundeven
// CHECK-NOT: llvm.fptosi
// CHECK: %[[BITS:.*]] = llvm.bitcast {{.*}} : f32 to i32
// CHECK-NEXT: %[[HALF:.*]] = llvm.ashr %[[BITS]], {{.*}} : i32
// CHECK-NEXT: %[[LOW:.*]] = llvm.shl %[[HALF]], {{.*}} : i32
// CHECK-NEXT: llvm.bitcast %[[LOW]] : i32 to f32
// CHECK-NEXT: %[[REST:.*]] = llvm.sub %[[BITS]], %[[HALF]] : i32
// CHECK-NEXT: %[[HIGH:.*]] = llvm.shl %[[REST]], {{.*}} : i32
// CHECK-NEXT: llvm.bitcast %[[HIGH]] : i32 to f32
// CHECK-NOT: llvm.select
// CHECK: llvm.intr.exp({{.*}}) : (f64) -> f64
// LIBM-LABEL: func.func @exp
func.func @exp(%out: memref<8xf32>, %out64: memref<8xf64>, %x: memref<8xf32>, %y: memref<8xf64>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xf32>, index) -> f32
    %e = math.exp %a : f32
    "coil.store"(%e, %out, %i) : (f32, memref<8xf32>, index) -> ()
    %b = "coil.load"(%y, %i) : (memref<8xf64>, index) -> f64
    %f = math.exp %b : f64
    "coil.store"(%f, %out64, %i) : (f64, memref<8xf64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}
