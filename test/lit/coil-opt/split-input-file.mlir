// --split-input-file processes each chunk on its own, in a fresh context, and
// joins the outputs with `// -----`. Without it, the two @f clash.
// RUN: %coil-opt %s --split-input-file | filecheck %s
// RUN: not %coil-opt %s 2>&1 | filecheck %s --check-prefix=WHOLE

// CHECK: module {
// CHECK-NEXT: func.func @f() -> i32 {
// CHECK-NEXT: %{{.*}} = arith.constant 1 : i32
// CHECK: // -----
// CHECK-NEXT: module {
// CHECK-NEXT: func.func @f() -> i32 {
// CHECK-NEXT: %{{.*}} = arith.constant 2 : i32
// CHECK-NOT: // -----
func.func @f() -> i32 {
  %0 = arith.constant 1 : i32
  return %0 : i32
}

// -----

// WHOLE: split-input-file.mlir:22:1: error: redefinition of symbol named 'f'
func.func @f() -> i32 {
  %0 = arith.constant 2 : i32
  return %0 : i32
}
