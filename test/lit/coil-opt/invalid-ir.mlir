// Invalid IR: an MLIR diagnostic with the file's line and column, the source
// line and a caret; exit status 1; never a Python traceback. Each chunk keeps
// the line numbers of the whole file, and the valid chunk is still printed.
// RUN: not %coil-opt %s --split-input-file 2>%t.err | filecheck %s --check-prefix=OUT
// RUN: filecheck %s < %t.err
// RUN: filecheck %s --check-prefix=NOTRACE < %t.err

// NOTRACE-NOT: Traceback
// NOTRACE-NOT: internal error

// CHECK: invalid-ir.mlir:15:8: error: 'coil.pointwise' op body must take 2 index arguments, one per range, found 1
// CHECK-NEXT: {{^}}  %0 = "coil.pointwise"() ({
// CHECK-NEXT: {{^}}       ^
func.func @verifier_error(%c: f32) {
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4, 2]} : () -> tensor<4x2xf32>
  return
}

// -----

// CHECK: invalid-ir.mlir:26:18: error: use of undeclared SSA value name
func.func @parse_error() {
  "coil.dealloc"(%undefined) : (memref<4xf32>) -> ()
  return
}

// -----

// CHECK: invalid-ir.mlir:36:3: error: redefinition of SSA value '%0'
// CHECK: invalid-ir.mlir:35:3: note: previously defined here
func.func @with_note() {
  %0 = arith.constant 1 : i32
  %0 = arith.constant 2 : i32
  return
}

// -----

// OUT-NOT: func.func @verifier_error
// OUT: // -----
// OUT: // -----
// OUT: // -----
// OUT: func.func @valid
func.func @valid() {
  return
}
