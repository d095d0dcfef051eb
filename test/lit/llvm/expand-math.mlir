// RUN: %coil-opt %s --split-input-file --coil-expand-math | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-expand-math | filecheck %s --check-prefix=OPS
// RUN: %coil-opt %s --split-input-file --coil-convert-kernels-to-llvm | filecheck %s --check-prefix=LLVM
// RUN: %coil-opt %s --split-input-file --coil-expand-exp | filecheck %s --check-prefix=EXP

// coil-expand-math writes f32 exp, expm1, log, log1p, tanh and erf out as
// arith/math ops that LLVM vectorizes: no libm call is left in the lowered
// kernel, and no math op but roundeven, absf and copysign (intrinsics that
// lower to vector instructions). f64 is left to libm.
// CHECK-LABEL: func.func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK-NOT: call
// CHECK: "coil.store"
// OPS-LABEL: func.func @f32
// OPS: math.roundeven
// OPS: arith.bitcast {{.*}} : f32 to i32
// OPS: arith.mulf {{.*}} fastmath<contract>
// OPS: math.copysign
// LLVM-NOT: llvm.func @{{(expf|expm1f|logf|log1pf|tanhf|erff)}}(
// LLVM-LABEL: llvm.func @f32
// LLVM-NOT: llvm.call
// LLVM-NOT: llvm.intr.exp
// LLVM-NOT: llvm.intr.log
// LLVM-NOT: llvm.intr.tanh
// LLVM: llvm.intr.roundeven
// LLVM: llvm.intr.copysign
// LLVM-NOT: llvm.call
// LLVM: llvm.return
// EXP-LABEL: func.func @f32
// EXP-NOT: math.exp %
// EXP: math.expm1
// EXP: math.log
// EXP: math.log1p
// EXP: math.tanh
// EXP: math.erf
func.func @f32(%out: memref<64xf32>, %x: memref<64xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<64xf32>, index) -> f32
    %b = math.exp %a : f32
    %c = math.expm1 %b : f32
    %d = math.log %c : f32
    %e = math.log1p %d : f32
    %f = math.tanh %e : f32
    %g = math.erf %f : f32
    "coil.store"(%g, %out, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}

// -----

// f64 stays as it is: libm computes it (LLVM's tanh and log intrinsics are libm calls too).
// CHECK-LABEL: func.func @f64
// CHECK: math.tanh {{.*}} : f64
// CHECK: math.erf {{.*}} : f64
// CHECK: math.log {{.*}} : f64
// CHECK: math.log1p {{.*}} : f64
// LLVM-DAG: llvm.func @erf(f64) -> f64
// LLVM-DAG: llvm.func @log1p(f64) -> f64
// LLVM-LABEL: llvm.func @f64
// LLVM: llvm.intr.tanh({{.*}}) : (f64) -> f64
// LLVM: llvm.call @erf
// LLVM: llvm.intr.log
// LLVM: llvm.call @log1p
// EXP-LABEL: func.func @f64
func.func @f64(%out: memref<64xf64>, %x: memref<64xf64>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<64xf64>, index) -> f64
    %b = math.tanh %a : f64
    %c = math.erf %b : f64
    %d = math.log %c : f64
    %e = math.log1p %d : f64
    "coil.store"(%e, %out, %i) : (f64, memref<64xf64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}
