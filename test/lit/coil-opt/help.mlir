// --help lists every registered pass with its description, and the options.
// RUN: %coil-opt --help | filecheck %s

// CHECK: usage: coil-opt
// CHECK-DAG: --pass-pipeline
// CHECK-DAG: --split-input-file
// CHECK-DAG: --verify-diagnostics
// CHECK-DAG: --print-ir-before-all
// CHECK-DAG: --print-ir-after-all
// CHECK-DAG: --timing
// CHECK-DAG: --allow-unregistered-dialect
// CHECK: Passes: each flag adds one pass
// CHECK: --coil-fold-views {{ *}}Fold coil.view index maps into the coil.load ops that read them
// CHECK: --canonicalize
