// RUN: %coil-opt %s --split-input-file --coil-lower-loop-nests | filecheck %s
// RUN: %coil-opt %s --split-input-file --pass-pipeline='builtin.module(coil-lower-loop-nests{outer-slice=true})' | filecheck %s --check-prefix=SLICE

// A pointwise kernel: one scf.for per range, the innermost range innermost;
// the constant captured from the function body stays where it is, the one in
// the body moves out of the loops.
// CHECK-LABEL: func.func @pointwise
// CHECK-SAME: (%[[OUT:.*]]: memref<4x8xf32>, %[[X:.*]]: memref<4x8xf32, strided<[1, 4]>>)
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: scf.for %[[I:.*]] = %[[C0]] to %[[C4]]
// CHECK-NEXT: scf.for %[[J:.*]] = %[[C0]] to %[[C8]]
// CHECK-NEXT: %[[A:.*]] = memref.load %[[X]][%[[I]], %[[J]]] : memref<4x8xf32, strided<[1, 4]>>
// CHECK-NEXT: %[[B:.*]] = arith.mulf %[[A]], %[[TWO]] : f32
// CHECK-NEXT: %[[C:.*]] = arith.addf %[[B]], %[[ONE]] : f32
// CHECK-NEXT: memref.store %[[C]], %[[OUT]][%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NOT: coil.
// With outer-slice, the first range is bounded by two new index arguments.
// SLICE-LABEL: func.func @pointwise
// SLICE-SAME: %[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index) attributes {coil.kernel, coil.slice_dim = 0 : i64}
// SLICE: scf.for %{{.*}} = %[[BEGIN]] to %[[END]]
func.func @pointwise(%out: memref<4x8xf32>, %x: memref<4x8xf32, strided<[1, 4]>>) attributes {coil.kernel} {
  %two = arith.constant 2.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %one = arith.constant 1.0 : f32
    %a = "coil.load"(%x, %i, %j) : (memref<4x8xf32, strided<[1, 4]>>, index, index) -> f32
    %b = arith.mulf %a, %two : f32
    %c = arith.addf %b, %one : f32
    "coil.store"(%c, %out, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4, 8], reduction_ranges = []} : () -> ()
  return
}

// -----

// A reduction with an epilogue: the load that needs only %i is hoisted out of
// the reduction loop, the sum is an iter_arg with reassociation allowed (so
// LLVM vectorizes it), sqrt and the store run once per row after the loop.
// CHECK-LABEL: func.func @sum_sqrt
// CHECK-SAME: (%[[OUT:.*]]: memref<4xf32>, %[[X:.*]]: memref<4x8xf32>, %[[S:.*]]: memref<4xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: %[[SCALE:.*]] = memref.load %[[S]][%[[I]]]
// CHECK-NEXT: %[[SUM:.*]] = scf.for %[[R:.*]] = %{{.*}} to %[[C8]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT: %[[A:.*]] = memref.load %[[X]][%[[I]], %[[R]]]
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[A]], %[[SCALE]] : f32
// CHECK-NEXT: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[M]] fastmath<reassoc> : f32
// CHECK-NEXT: scf.yield %[[NEXT]] : f32
// CHECK-NEXT: }
// CHECK-NEXT: %[[ROOT:.*]] = math.sqrt %[[SUM]] : f32
// CHECK-NEXT: memref.store %[[ROOT]], %[[OUT]][%[[I]]] : memref<4xf32>
func.func @sum_sqrt(%out: memref<4xf32>, %x: memref<4x8xf32>, %s: memref<4xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<4x8xf32>, index, index) -> f32
    %scale = "coil.load"(%s, %i) : (memref<4xf32>, index) -> f32
    %m = arith.mulf %a, %scale : f32
    %sum = "coil.reduce"(%m) {reduction_type = "sum"} : (f32) -> f32
    %t = math.sqrt %sum : f32
    "coil.store"(%t, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

// argmax carries (value, position); the position is row-major over the two
// reduction indices; a larger value or the first NaN replaces the accumulator.
// CHECK-LABEL: func.func @argmax
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ZERO64:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: %[[RES:.*]]:2 = scf.for %[[R0:.*]] = {{.*}} iter_args(%[[V0:.*]] = %[[NEGINF]], %[[P0:.*]] = %[[ZERO64]]) -> (f32, i64)
// CHECK-NEXT: %[[IN:.*]]:2 = scf.for %[[R1:.*]] = {{.*}} iter_args(%[[V:.*]] = %[[V0]], %[[P:.*]] = %[[P0]]) -> (f32, i64)
// CHECK-NEXT: %[[A:.*]] = memref.load %{{.*}}[%[[I]], %[[R0]], %[[R1]]]
// CHECK-NEXT: %[[ROW:.*]] = arith.muli %[[R0]], %[[C3]] : index
// CHECK-NEXT: %[[FLAT:.*]] = arith.addi %[[R1]], %[[ROW]] : index
// CHECK-NEXT: %[[POS:.*]] = arith.index_cast %[[FLAT]] : index to i64
// CHECK-NEXT: %[[GT:.*]] = arith.cmpf ogt, %[[A]], %[[V]] : f32
// CHECK-NEXT: %[[NAN:.*]] = arith.cmpf uno, %[[A]], %[[A]] : f32
// CHECK-NEXT: %[[ACCOK:.*]] = arith.cmpf ord, %[[V]], %[[V]] : f32
// CHECK-NEXT: %[[NEWNAN:.*]] = arith.andi %[[NAN]], %[[ACCOK]] : i1
// CHECK-NEXT: %[[TAKE:.*]] = arith.ori %[[GT]], %[[NEWNAN]] : i1
// CHECK-NEXT: %[[NV:.*]] = arith.select %[[TAKE]], %[[A]], %[[V]] : f32
// CHECK-NEXT: %[[NP:.*]] = arith.select %[[TAKE]], %[[POS]], %[[P]] : i64
// CHECK-NEXT: scf.yield %[[NV]], %[[NP]] : f32, i64
// CHECK: scf.yield %[[IN]]#0, %[[IN]]#1 : f32, i64
// CHECK: memref.store %[[RES]]#1, %{{.*}}[%[[I]]] : memref<4xi64>
func.func @argmax(%out: memref<4xi64>, %x: memref<4x2x3xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r0: index, %r1: index):
    %a = "coil.load"(%x, %i, %r0, %r1) : (memref<4x2x3xf32>, index, index, index) -> f32
    %m = "coil.reduce"(%a) {reduction_type = "argmax"} : (f32) -> i64
    "coil.store"(%m, %out, %i) : (i64, memref<4xi64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [2, 3]} : () -> ()
  return
}

// -----

// Softmax: the sum depends on the max, so it needs a second pass over the row,
// and the normalized store a third. exp(x - max), computed in the second pass,
// goes to a row buffer on the stack that the third pass reads back (instead
// of reloading x and computing exp again); the division by the row's sum is a
// multiplication by its reciprocal. max propagates NaN (maximumf, not maxnumf).
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[OUT:.*]]: memref<4x8xf32>, %[[X:.*]]: memref<4x8xf32>)
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ROW:.*]] = memref.alloca() : memref<8xf32>
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: %[[MAX:.*]] = scf.for %[[R:.*]] = {{.*}} iter_args(%[[M:.*]] = %[[NEGINF]]) -> (f32) {
// CHECK-NEXT: %[[A:.*]] = memref.load %[[X]][%[[I]], %[[R]]]
// CHECK-NEXT: %[[NM:.*]] = arith.maximumf %[[M]], %[[A]] : f32
// CHECK-NEXT: scf.yield %[[NM]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[SUM:.*]] = scf.for %[[R2:.*]] = {{.*}} iter_args(%[[S:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT: %[[A2:.*]] = memref.load %[[X]][%[[I]], %[[R2]]]
// CHECK-NEXT: %[[D2:.*]] = arith.subf %[[A2]], %[[MAX]] : f32
// CHECK-NEXT: %[[E2:.*]] = math.exp %[[D2]] : f32
// CHECK-NEXT: memref.store %[[E2]], %[[ROW]][%[[R2]]]
// CHECK-NEXT: %[[NS:.*]] = arith.addf %[[S]], %[[E2]] fastmath<reassoc> : f32
// CHECK-NEXT: scf.yield %[[NS]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.for %[[R3:.*]] =
// CHECK-NEXT: %[[E3:.*]] = memref.load %[[ROW]][%[[R3]]]
// CHECK-NEXT: %[[RCP:.*]] = arith.divf %[[ONE]], %[[SUM]] : f32
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[E3]], %[[RCP]] : f32
// CHECK-NEXT: memref.store %[[Y]], %[[OUT]][%[[I]], %[[R3]]]
// CHECK-NOT: scf.for
// CHECK: return
func.func @softmax(%out: memref<4x8xf32>, %x: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<4x8xf32>, index, index) -> f32
    %m = "coil.reduce"(%a) {reduction_type = "max"} : (f32) -> f32
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %s = "coil.reduce"(%e) {reduction_type = "sum"} : (f32) -> f32
    %y = arith.divf %e, %s : f32
    "coil.store"(%y, %out, %i, %r) : (f32, memref<4x8xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

// welford is two sums: mean = sum(x) / n, then m2 = sum((x - mean)^2); the
// weight is the constant n, stored before any reduction loop.
// CHECK-LABEL: func.func @welford
// CHECK-SAME: (%[[MEAN_OUT:.*]]: memref<4xf32>, %[[M2_OUT:.*]]: memref<4xf32>, %[[W_OUT:.*]]: memref<4xf32>, %[[X:.*]]: memref<4x8xf32>)
// CHECK-DAG: %[[N:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: memref.store %[[N]], %[[W_OUT]][%[[I]]]
// CHECK-NEXT: %[[SUM:.*]] = scf.for
// CHECK-NEXT: memref.load %[[X]]
// CHECK-NEXT: arith.addf {{.*}} fastmath<reassoc>
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUM]], %[[N]] : f32
// CHECK-NEXT: memref.store %[[MEAN]], %[[MEAN_OUT]][%[[I]]]
// CHECK-NEXT: %[[M2:.*]] = scf.for
// CHECK-NEXT: %[[A:.*]] = memref.load %[[X]]
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[A]], %[[MEAN]] : f32
// CHECK-NEXT: %[[SQ:.*]] = arith.mulf %[[D]], %[[D]] : f32
// CHECK-NEXT: arith.addf {{.*}}, %[[SQ]] fastmath<reassoc>
// CHECK: memref.store %[[M2]], %[[M2_OUT]][%[[I]]]
func.func @welford(%mean: memref<4xf32>, %m2: memref<4xf32>, %w: memref<4xf32>, %x: memref<4x8xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %a = "coil.load"(%x, %i, %r) : (memref<4x8xf32>, index, index) -> f32
    %m, %s, %n = "coil.reduce"(%a) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    "coil.store"(%m, %mean, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.store"(%s, %m2, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.store"(%n, %w, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

// Bool buffers hold a byte per element: the argument becomes i8, a load
// compares with zero, a store zero-extends. A 0-d kernel has no loops.
// CHECK-LABEL: func.func @bools
// CHECK-SAME: (%[[OUT:.*]]: memref<i8>, %[[X:.*]]: memref<i8>)
// CHECK-NOT: scf.for
// CHECK: %[[B:.*]] = memref.load %[[X]][] : memref<i8>
// CHECK: %[[V:.*]] = arith.cmpi ne, %[[B]], %{{.*}} : i8
// CHECK-NEXT: %[[N:.*]] = arith.xori %[[V]], %{{.*}} : i1
// CHECK-NEXT: %[[W:.*]] = arith.extui %[[N]] : i1 to i8
// CHECK-NEXT: memref.store %[[W]], %[[OUT]][] : memref<i8>
func.func @bools(%out: memref<i1>, %x: memref<i1>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0:
    %t = arith.constant true
    %a = "coil.load"(%x) : (memref<i1>) -> i1
    %n = arith.xori %a, %t : i1
    "coil.store"(%n, %out) : (i1, memref<i1>) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [], reduction_ranges = []} : () -> ()
  return
}

// -----

// A reduction down the columns (x[r, j], unit stride along j) is lowered in
// column form: tiles of 256 output points whose accumulators live in a stack
// buffer, the reduction loop outside a contiguous loop over the tile, then an
// epilogue loop over the tile that reloads the accumulator.
// CHECK-LABEL: func.func @column_sum
// CHECK-SAME: (%[[OUT:.*]]: memref<300xf32>, %[[X:.*]]: memref<5x300xf32>)
// CHECK-DAG: %[[ACC:.*]] = memref.alloca() : memref<256xf32>
// CHECK-DAG: %[[TILE:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %[[N:.*]] step %[[TILE]] {
// CHECK-NEXT: %[[LEFT:.*]] = arith.subi %[[N]], %[[J0]] : index
// CHECK-NEXT: %[[WIDTH:.*]] = arith.minsi %[[TILE]], %[[LEFT]] : index
// CHECK-NEXT: scf.for %[[JJ:.*]] = %{{.*}} to %[[WIDTH]]
// CHECK: memref.store %[[ZERO]], %[[ACC]][%[[JJ]]]
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NEXT: scf.for %[[JJ2:.*]] = %{{.*}} to %[[WIDTH]]
// CHECK-NEXT: %[[J:.*]] = arith.addi %[[J0]], %[[JJ2]] : index
// CHECK-NEXT: %[[A:.*]] = memref.load %[[X]][%[[R]], %[[J]]]
// CHECK-NEXT: %[[OLD:.*]] = memref.load %[[ACC]][%[[JJ2]]]
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[OLD]], %[[A]] fastmath<reassoc> : f32
// CHECK-NEXT: memref.store %[[NEW]], %[[ACC]][%[[JJ2]]]
// CHECK: scf.for %[[JJ3:.*]] = %{{.*}} to %[[WIDTH]]
// CHECK-NEXT: %[[J3:.*]] = arith.addi %[[J0]], %[[JJ3]] : index
// CHECK-NEXT: %[[S:.*]] = memref.load %[[ACC]][%[[JJ3]]]
// CHECK-NEXT: %[[ROOT:.*]] = math.sqrt %[[S]] : f32
// CHECK-NEXT: memref.store %[[ROOT]], %[[OUT]][%[[J3]]]
func.func @column_sum(%out: memref<300xf32>, %x: memref<5x300xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%j: index, %r: index):
    %a = "coil.load"(%x, %r, %j) : (memref<5x300xf32>, index, index) -> f32
    %s = "coil.reduce"(%a) {reduction_type = "sum"} : (f32) -> f32
    %t = math.sqrt %s : f32
    "coil.store"(%t, %out, %j) : (f32, memref<300xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [300], reduction_ranges = [5]} : () -> ()
  return
}
