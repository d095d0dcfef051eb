// Input from a file, from stdin (no file, or '-'), output to stdout or -o.
// RUN: %coil-opt < %s | filecheck %s
// RUN: %coil-opt - < %s | filecheck %s
// RUN: %coil-opt %s -o %t && filecheck %s < %t
// RUN: not %coil-opt %s.missing 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: %coil-opt %s --mlir-print-debuginfo | filecheck %s --check-prefix=DEBUG
// RUN: %coil-opt %s --mlir-print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK: func.func @identity(%arg0: tensor<4xf32>) -> tensor<4xf32>
// MISSING: coil-opt: error: could not read input file '{{.*}}io.mlir.missing'
// DEBUG: return %arg0 : tensor<4xf32> loc(#[[RET:loc[0-9]*]])
// DEBUG: #[[RET]] = loc("{{.*}}io.mlir":15:3)
// GENERIC: "func.return"(%arg0) : (tensor<4xf32>) -> ()
func.func @identity(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
