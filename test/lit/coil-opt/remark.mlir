// Remarks (here from the transform interpreter) are printed, and matched by
// expected-remark; two annotations can name the same line.
// RUN: %coil-opt %s --pass-pipeline='builtin.module(transform-interpreter)' --verify-diagnostics
// RUN: %coil-opt %s --pass-pipeline='builtin.module(transform-interpreter)' 2>&1 >/dev/null | filecheck %s

// CHECK: remark.mlir:12:8: remark: found a constant
// CHECK: remark.mlir:12:36: remark: found a constant
// CHECK-NOT: remark:
func.func @two_constants_on_one_line() -> (i32, i32) {
  // expected-remark @below {{found a constant}}
  // expected-remark @+1 {{found a constant}}
  %a = arith.constant 1 : i32 %b = arith.constant 2 : i32
  return %a, %b : i32, i32
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %c = transform.structured.match ops{["arith.constant"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.debug.emit_remark_at %c, "found a constant" : !transform.any_op
    transform.yield
  }
}
