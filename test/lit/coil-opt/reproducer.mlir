// A failing pass leaves the IR it was given in coil-reproducer-<n>.mlir and
// prints the command that replays the failure; replaying it fails the same way.
// Here one-shot-bufferize fails: it cannot bufferize coil ops.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not %coil-opt %s --coil-fold-views --pass-pipeline='builtin.module(one-shot-bufferize)' --reproducer-dir %t 2>&1 | filecheck %s
// RUN: filecheck %s --check-prefix=REPRO < %t/coil-reproducer-1.mlir
// RUN: not %coil-opt %t/coil-reproducer-1.mlir --pass-pipeline='builtin.module(one-shot-bufferize)' --reproducer-dir %t/replay 2>&1 | filecheck %s --check-prefix=REPLAY
// A second failure does not overwrite the first reproducer.
// RUN: not %coil-opt %s --pass-pipeline='builtin.module(one-shot-bufferize)' --reproducer-dir %t 2>&1 | filecheck %s --check-prefix=SECOND

// CHECK: reproducer.mlir:30:10: error: op was not bufferized
// CHECK: coil-opt: pass 'one-shot-bufferize' failed; its input IR is in {{.*}}coil-reproducer-1.mlir
// CHECK-NEXT: coil-opt: reproduce with: coil-opt {{.*}}coil-reproducer-1.mlir --pass-pipeline='builtin.module(one-shot-bufferize)'

// The reproducer holds the IR after coil-fold-views: no view, an affine.apply.
// REPRO: // coil-opt reproducer: 'one-shot-bufferize' failed on this IR.
// REPRO-NEXT: // Replay: coil-opt {{.*}}coil-reproducer-1.mlir --pass-pipeline='builtin.module(one-shot-bufferize)'
// REPRO-NEXT: // {{.*}}reproducer.mlir:30:10: error: op was not bufferized
// REPRO-NOT: coil.view
// REPRO: affine.apply
// REPRO: "coil.load"

// REPLAY: coil-reproducer-1.mlir:{{[0-9]+}}:{{[0-9]+}}: error: op was not bufferized

// SECOND: coil-opt: pass 'one-shot-bufferize' failed; its input IR is in {{.*}}coil-reproducer-2.mlir
func.func @transpose(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%t, %i, %j) : (tensor<8x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [8, 4]} : () -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
