// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s --check-prefix=PERSISTENT
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --xblock=2 --rblock=64 %s | filecheck %s --check-prefix=LOOPED

// A row sum. Persistent: the rows are one [XBLOCK, RBLOCK] tile (RBLOCK =
// next_pow2(200) = 256, masked to 200) and one tt.reduce on axis 1. Looped:
// an scf.for over the reduction range in RBLOCK chunks accumulates into a
// [XBLOCK, RBLOCK] tile, masked lanes keep the accumulator, and one tt.reduce
// follows the loop.

// PERSISTENT-LABEL: // @row_sum grid=(2, 1, 1) num_warps=4 xblock=4 yblock=1 rblock=256 persistent=true
// PERSISTENT-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<4x256xf32>
// PERSISTENT-DAG:   %[[RN:.+]] = arith.constant dense<200> : tensor<1x256xi32>
// PERSISTENT:       %[[R:.+]] = tt.expand_dims %{{.+}} {axis = 0 : i32} : tensor<256xi32> -> tensor<1x256xi32>
// PERSISTENT:       %[[RMASK:.+]] = arith.cmpi slt, %[[R]], %[[RN]] : tensor<1x256xi32>
// PERSISTENT:       %[[MASK:.+]] = tt.broadcast %[[RMASK]] : tensor<1x256xi1> -> tensor<4x256xi1>
// PERSISTENT:       %[[V:.+]] = tt.load %{{.+}}, %[[MASK]]{{.*}} : tensor<4x256x!tt.ptr<f32>>
// PERSISTENT:       %[[SEL:.+]] = arith.select %[[MASK]], %[[V]], %[[ZERO]] : tensor<4x256xi1>, tensor<4x256xf32>
// PERSISTENT:       %[[RED:.+]] = "tt.reduce"(%[[SEL]]) <{axis = 1 : i32}> ({
// PERSISTENT-NEXT:  ^bb0(%[[A:.+]]: f32, %[[B:.+]]: f32):
// PERSISTENT-NEXT:    %[[S:.+]] = arith.addf %[[A]], %[[B]] : f32
// PERSISTENT-NEXT:    tt.reduce.return %[[S]] : f32
// PERSISTENT-NEXT:  }) : (tensor<4x256xf32>) -> tensor<4xf32>
// PERSISTENT:       %[[ROW:.+]] = tt.expand_dims %[[RED]] {axis = 1 : i32} : tensor<4xf32> -> tensor<4x1xf32>
// PERSISTENT:       tt.store %{{.+}}, %[[ROW]] : tensor<4x1x!tt.ptr<f32>>
// PERSISTENT-NOT:   scf.for

// LOOPED-LABEL: // @row_sum grid=(4, 1, 1) num_warps=4 xblock=2 yblock=1 rblock=64 persistent=false
// LOOPED-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<2x64xf32>
// LOOPED-DAG:   %[[C0:.+]] = arith.constant 0 : i32
// LOOPED-DAG:   %[[C200:.+]] = arith.constant 200 : i32
// LOOPED-DAG:   %[[C64:.+]] = arith.constant 64 : i32
// LOOPED:       %[[SUM:.+]] = scf.for %[[IV:.+]] = %[[C0]] to %[[C200]] step %[[C64]] iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (tensor<2x64xf32>) : i32 {
// LOOPED:         %[[V:.+]] = tt.load %{{.+}}, %[[MASK:[^ ]+]]{{.*}} : tensor<2x64x!tt.ptr<f32>>
// LOOPED-NEXT:    %[[ADD:.+]] = arith.addf %[[ACC]], %[[V]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[KEEP:.+]] = arith.select %[[MASK]], %[[ADD]], %[[ACC]] : tensor<2x64xi1>, tensor<2x64xf32>
// LOOPED-NEXT:    scf.yield %[[KEEP]] : tensor<2x64xf32>
// LOOPED-NEXT:  }
// LOOPED-NEXT:  %[[RED:.+]] = "tt.reduce"(%[[SUM]]) <{axis = 1 : i32}> ({
// LOOPED:       }) : (tensor<2x64xf32>) -> tensor<2xf32>
// LOOPED:       tt.store
func.func @row_sum(%out: memref<8xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// softmax: max, then sum(exp(x - max)), then x / sum stored per element.
// Persistent: the row is loaded once and every level reuses its registers.
// Looped: one loop per level; the third stores in the reduction domain.

// PERSISTENT-LABEL: // @softmax
// PERSISTENT:       %[[X:.+]] = tt.load
// PERSISTENT:       "tt.reduce"
// PERSISTENT:       arith.maximumf
// PERSISTENT:       %[[MAX:.+]] = tt.expand_dims
// PERSISTENT:       %[[MAXB:.+]] = tt.broadcast %[[MAX]] : tensor<4x1xf32> -> tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[D:.+]] = arith.subf %[[X]], %[[MAXB]] : tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[E:.+]] = math.exp %[[D]] : tensor<4x256xf32>
// PERSISTENT:       "tt.reduce"
// PERSISTENT:       arith.addf
// PERSISTENT:       %[[SUM:.+]] = tt.expand_dims
// PERSISTENT:       %[[SUMB:.+]] = tt.broadcast %[[SUM]] : tensor<4x1xf32> -> tensor<4x256xf32>
// PERSISTENT-NEXT:  %[[Y:.+]] = arith.divf %[[E]], %[[SUMB]] : tensor<4x256xf32>
// PERSISTENT:       tt.store %{{.+}}, %[[Y]], %{{.+}} : tensor<4x256x!tt.ptr<f32>>
// PERSISTENT-NOT:   tt.load

// Looped: online softmax. The max pass also keeps a running sum per lane,
// rescaled when the lane's max grows ((m, s) -> (m', s * exp(m - m') +
// exp(x - m'))), so the row is read twice (max and sum, then the output)
// instead of three times. One of the two exponents is 0, so one exp serves:
// e = exp(min(m, x) - m'), then s * e + 1 where x raised the max, else s + e.
// Across lanes: M = max(m), S = sum(s * exp(m - M)).
// A lane that has seen only -inf keeps s = 0; a row of -inf gets S = nan,
// as eager's exp(-inf - -inf) sums to.
// LOOPED-LABEL: // @softmax
// LOOPED-DAG:     %[[NINF:.+]] = arith.constant dense<0xFF800000> : tensor<2x64xf32>
// LOOPED-DAG:     %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<2x64xf32>
// LOOPED-DAG:     %[[ONE:.+]] = arith.constant dense<1.0> : tensor<2x64xf32>
// LOOPED-DAG:     %[[NINF1:.+]] = arith.constant dense<0xFF800000> : tensor<2x1xf32>
// LOOPED-DAG:     %[[NAN:.+]] = arith.constant dense<0x7FC00000> : tensor<2x1xf32>
// LOOPED:         %[[LOOP:.+]]:2 = scf.for %{{.+}} iter_args(%[[M:.+]] = %[[NINF]], %[[S:.+]] = %[[ZERO]]) -> (tensor<2x64xf32>, tensor<2x64xf32>) : i32 {
// LOOPED:           %[[X:.+]] = tt.load %{{.+}}, %[[MASK:[^ ]+]]{{.*}} : tensor<2x64x!tt.ptr<f32>>
// LOOPED-NEXT:      %[[MNEW:.+]] = arith.maximumf %[[M]], %[[X]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[MKEEP:.+]] = arith.select %[[MASK]], %[[MNEW]], %[[M]]
// LOOPED-NEXT:      %[[LO:.+]] = arith.minimumf %[[M]], %[[X]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[D:.+]] = arith.subf %[[LO]], %[[MNEW]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[E:.+]] = math.exp %[[D]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[RAISED:.+]] = arith.cmpf ogt, %[[X]], %[[M]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[RS:.+]] = arith.mulf %[[S]], %[[E]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[RS1:.+]] = arith.addf %[[RS]], %[[ONE]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[SE:.+]] = arith.addf %[[S]], %[[E]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[SNEW:.+]] = arith.select %[[RAISED]], %[[RS1]], %[[SE]]
// LOOPED-NEXT:      %[[ALLNINF:.+]] = arith.cmpf oeq, %[[MNEW]], %[[NINF]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[SGUARD:.+]] = arith.select %[[ALLNINF]], %[[S]], %[[SNEW]]
// LOOPED-NEXT:      %[[SKEEP:.+]] = arith.select %[[MASK]], %[[SGUARD]], %[[S]]
// LOOPED-NEXT:      scf.yield %[[MKEEP]], %[[SKEEP]] : tensor<2x64xf32>, tensor<2x64xf32>
// LOOPED-NEXT:    }
// LOOPED-NEXT:    %[[MAXR:.+]] = "tt.reduce"(%[[LOOP]]#0) <{axis = 1 : i32}> ({
// LOOPED:           arith.maximumf
// LOOPED:         %[[ROWMAX:.+]] = tt.expand_dims %[[MAXR]] {axis = 1 : i32} : tensor<2xf32> -> tensor<2x1xf32>
// LOOPED-NEXT:    %[[ROWMAXB:.+]] = tt.broadcast %[[ROWMAX]] : tensor<2x1xf32> -> tensor<2x64xf32>
// LOOPED-NEXT:    %[[D3:.+]] = arith.subf %[[LOOP]]#0, %[[ROWMAXB]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[LSCALE:.+]] = math.exp %[[D3]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[LSUM:.+]] = arith.mulf %[[LOOP]]#1, %[[LSCALE]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[LNINF:.+]] = arith.cmpf oeq, %[[LOOP]]#0, %[[NINF]] : tensor<2x64xf32>
// LOOPED-NEXT:    %[[LGUARD:.+]] = arith.select %[[LNINF]], %[[ZERO]], %[[LSUM]]
// LOOPED-NEXT:    %[[SUMR:.+]] = "tt.reduce"(%[[LGUARD]]) <{axis = 1 : i32}> ({
// LOOPED:           arith.addf
// LOOPED:         %[[ROWSUM:.+]] = tt.expand_dims %[[SUMR]] {axis = 1 : i32} : tensor<2xf32> -> tensor<2x1xf32>
// LOOPED-NEXT:    %[[ROWNINF:.+]] = arith.cmpf oeq, %[[ROWMAX]], %[[NINF1]] : tensor<2x1xf32>
// LOOPED-NEXT:    %[[TOTAL:.+]] = arith.select %[[ROWNINF]], %[[NAN]], %[[ROWSUM]] : tensor<2x1xi1>, tensor<2x1xf32>
// LOOPED-NEXT:    %[[TOTALB:.+]] = tt.broadcast %[[TOTAL]] : tensor<2x1xf32> -> tensor<2x64xf32>
// LOOPED:         scf.for
// LOOPED:           %[[Y:.+]] = tt.load
// LOOPED-NEXT:      %[[E0:.+]] = arith.subf %[[Y]], %[[ROWMAXB]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[E:.+]] = math.exp %[[E0]] : tensor<2x64xf32>
// LOOPED-NEXT:      %[[OUT:.+]] = arith.divf %[[E]], %[[TOTALB]] : tensor<2x64xf32>
// LOOPED:           tt.store %{{.+}}, %[[OUT]], %{{.+}} : tensor<2x64x!tt.ptr<f32>>
// LOOPED-NEXT:    }
// LOOPED-NEXT:    tt.return
func.func @softmax(%out: memref<8x200xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<8x200xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// layer norm: welford is two sum levels (mean, then squared deviations); the
// epilogue normalizes per element in a further pass. Looped, the squared
// deviations fold into the mean's pass (one-pass Welford): per lane the sum,
// a running mean, m2 and, the 200-wide row being ragged at RBLOCK 64, a
// count (mean += (x - mean) / count); the lanes merge in one three-operand
// tt.reduce (Chan's formula), and the epilogue loops again.

// PERSISTENT-LABEL: // @layernorm
// PERSISTENT-COUNT-2: "tt.reduce"
// PERSISTENT-NOT:     "tt.reduce"
// PERSISTENT:         symbol = "__nv_rsqrtf"
// PERSISTENT:         tt.store

// LOOPED-LABEL: // @layernorm
// LOOPED:       scf.for {{.+}} -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>)
// LOOPED:         arith.divf %{{.+}}, %{{.+}} : tensor<2x64xf32>
// LOOPED:       "tt.reduce"(%{{.+}}) <{axis = 1 : i32}>
// LOOPED:       "tt.reduce"(%{{.+}}, %{{.+}}, %{{.+}}) <{axis = 1 : i32}>
// LOOPED:         tt.reduce.return %{{.+}}, %{{.+}}, %{{.+}} : f32, f32, f32
// LOOPED:       scf.for
// LOOPED:         tt.store
// LOOPED-NOT:   scf.for
func.func @layernorm(%out: memref<8x200xf32>, %x: memref<8x200xf32>, %w: memref<200xf32>) attributes {coil.kernel} {
  %n = arith.constant 2.000000e+02 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1:3 = "coil.reduce"(%0) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    %2 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1#0 : f32
    %4 = arith.divf %1#1, %n : f32
    %5 = arith.addf %4, %eps : f32
    %6 = math.rsqrt %5 : f32
    %7 = arith.mulf %3, %6 : f32
    %8 = "coil.load"(%w, %r) : (memref<200xf32>, index) -> f32
    %9 = arith.mulf %7, %8 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<8x200xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// Not online softmax: the sum's exp argument subtracts the max from another
// value (y, not the x the max is of), so the sum keeps a pass of its own.
// PERSISTENT-LABEL: // @not_online
// LOOPED-LABEL: // @not_online
// LOOPED-COUNT-2: scf.for
// LOOPED-NOT:     scf.for
func.func @not_online(%out: memref<8xf32>, %x: memref<8x200xf32>, %y: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%y, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%5, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// log-softmax's normalizer, stored per row: max and sum of exp(x - max) in
// one loop, then log(S) + M; no further pass.
// LOOPED-LABEL: // @logsumexp
// LOOPED-COUNT-1: scf.for
// LOOPED-NOT:     scf.for
// LOOPED:         math.log
// LOOPED:         tt.store
func.func @logsumexp(%out: memref<8xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = math.log %5 : f32
    %7 = arith.addf %6, %1 : f32
    "coil.store"(%7, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// Not a variance: the squared deviations are from sum / 100 over a 200-wide
// row (not the mean), so one-pass Welford would be wrong: the m2 level keeps a
// pass of its own.
// PERSISTENT-LABEL: // @not_variance
// LOOPED-LABEL: // @not_variance
// LOOPED-COUNT-2: scf.for
// LOOPED-NOT:     scf.for
func.func @not_variance(%out: memref<8xf32>, %x: memref<8x200xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<8x200xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %n = arith.constant 1.000000e+02 : f32
    %2 = arith.divf %1, %n : f32
    %3 = arith.subf %0, %2 : f32
    %4 = arith.mulf %3, %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%5, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [200]} : () -> ()
  return
}
