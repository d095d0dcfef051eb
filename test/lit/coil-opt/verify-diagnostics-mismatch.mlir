// --verify-diagnostics fails, naming each mismatch, when a diagnostic was not
// expected or an expected one did not come.
// RUN: not %coil-opt %s --split-input-file --verify-diagnostics 2>&1 | filecheck %s

// CHECK: verify-diagnostics-mismatch.mlir:7:6: error: expected error "device must not be empty" was not produced
func.func @not_produced() {
  // expected-error @+1 {{device must not be empty}}
  %0 = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
  return
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:16:8: error: unexpected error: 'coil.alloc' op device must not be empty
func.func @unexpected() {
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:26:8: error: unexpected error: 'coil.alloc' op device must not be empty
// CHECK: verify-diagnostics-mismatch.mlir:25:6: error: expected error "device must be set" was not produced
func.func @wrong_text() {
  // expected-error @+1 {{device must be set}}
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:36:8: error: unexpected error: 'coil.alloc' op device must not be empty
// CHECK: verify-diagnostics-mismatch.mlir:35:6: error: expected error "device must not be empty" was not produced
func.func @wrong_line() {
  // expected-error @+2 {{device must not be empty}}
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:45:8: error: 'error' diagnostic emitted when expecting a 'warning': 'coil.alloc' op device must not be empty
func.func @wrong_severity() {
  // expected-warning @+1 {{device must not be empty}}
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:53:3: error: unexpected note: previously defined here
func.func @unexpected_note() {
  %0 = arith.constant 1 : i32
  // expected-error @+1 {{redefinition of SSA value}}
  %0 = arith.constant 2 : i32
  return
}
