// Every form of expected-* annotation that --verify-diagnostics accepts.
// RUN: %coil-opt %s --split-input-file --verify-diagnostics | filecheck %s

// A chunk without diagnostics is printed as usual; failing chunks print nothing.
// CHECK: func.func @fine
// CHECK-NEXT: return
// CHECK: // -----
// CHECK-NOT: func.func
func.func @fine() {
  return
}

// -----

func.func @next_line() {
  // expected-error @+1 {{'coil.alloc' op device must not be empty}}
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

func.func @same_line() {
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32> // expected-error {{device must not be empty}}
  return
}

// -----

func.func @previous_line() {
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  // expected-error @-1 {{device must not be empty}}
  return
}

// -----

func.func @further_lines() {
  // expected-error @+3 {{device must not be empty}}

  // A comment between the annotation and its line.
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

// @above names the nearest line above that has no annotation on it.
func.func @above() {
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  // expected-error @above {{device must not be empty}}
  return
}

// -----

// @below names the nearest line below that has no annotation on it.
func.func @below(%x: tensor<4xf32>) {
  // expected-error @below {{'coil.get' op source must be a tuple, found tensor<4xf32>}}
  %0 = "coil.get"(%x) {index = 0 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// Notes are matched as diagnostics of their own, at their own location.
func.func @note() {
  // expected-note @+1 {{previously defined here}}
  %0 = arith.constant 1 : i32
  // expected-error @+1 {{redefinition of SSA value '%0'}}
  %0 = arith.constant 2 : i32
  return
}

// -----

// -re: the parts in {{...}} are regular expressions.
func.func @regex() {
  // expected-error-re @+1 {{'coil.alloc' op result must be a memref, found tensor<{{[0-9]+}}xf32>}}
  %0 = "coil.alloc"() {device = "cpu"} : () -> tensor<16xf32>
  return
}

// -----

// A parse error, not only a verifier error.
func.func @syntax() {
  // expected-error @+1 {{use of undeclared SSA value name}}
  "coil.dealloc"(%undefined) : (memref<4xf32>) -> ()
  return
}

// -----

// A coil op in custom form: the parser says nothing, coil-opt says where and why.
func.func @custom_form() {
  // expected-error @+1 {{custom op 'coil.alloc' cannot be parsed: coil ops have only the generic form}}
  %0 = coil.alloc {device = "cpu"} : memref<4xf32>
  return
}
