// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// Default configs for rows wider than 1024 (one row a program, XBLOCK 1,
// Inductor's RBLOCK // 128 warps, at most 16):
//  - one pass over the row (a row sum): looped, RBLOCK 2048, 16 warps
//    (Inductor's contiguous reduction config); the loop is the only read;
//  - several passes (var_mean's two levels, softmax, layer norm): persistent
//    up to RBLOCK 32768 (32 warps at 16384 and 32768), so the row is read
//    once into registers; so is a log-sum-exp, whose looped form (one online
//    pass) measured slower;
//  - wider rows with several passes: looped, RBLOCK 2048, 16 warps, softmax
//    online (two reads of the row, not three);
//  - rows of 2-byte elements: half the warps up to 4096 (at most 8).

// CHECK-LABEL: // @sum_rows grid=(64, 1, 1) num_warps=16 xblock=1 yblock=1 rblock=2048 persistent=false
// CHECK:       %[[ACC:.+]] = scf.for
// CHECK:         tt.load %{{.+}}evict_first{{.*}} : tensor<1x2048x!tt.ptr<f32>>
// CHECK:       "tt.reduce"(%[[ACC]])
func.func @sum_rows(%out: memref<64xf32>, %x: memref<64x4096xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<64x4096xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [4096]} : () -> ()
  return
}

// -----

// var_mean: two levels (mean, then squared deviations), one read.
// CHECK-LABEL: // @var_mean grid=(64, 1, 1) num_warps=16 xblock=1 yblock=1 rblock=4096 persistent=true
// CHECK-COUNT-1: tt.load
// CHECK-NOT:     tt.load
// CHECK-NOT:     scf.for
func.func @var_mean(%var: memref<64xf32>, %mean: memref<64xf32>, %x: memref<64x4096xf32>) attributes {coil.kernel} {
  %n = arith.constant 4.095000e+03 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x4096xf32>, index, index) -> f32
    %1:3 = "coil.reduce"(%0) {reduction_type = "welford"} : (f32) -> (f32, f32, f32)
    %2 = arith.divf %1#1, %n : f32
    "coil.store"(%2, %var, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.store"(%1#0, %mean, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [4096]} : () -> ()
  return
}

// -----

// softmax over 8192: persistent, 16 warps (16 floats a thread).
// CHECK-LABEL: // @softmax_8192 grid=(16, 1, 1) num_warps=16 xblock=1 yblock=1 rblock=8192 persistent=true
// CHECK-COUNT-1: tt.load
// CHECK-NOT:     tt.load
func.func @softmax_8192(%out: memref<16x8192xf32>, %x: memref<16x8192xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<16x8192xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = arith.subf %0, %1 : f32
    %3 = math.exp %2 : f32
    %4 = "coil.reduce"(%3) {reduction_type = "sum"} : (f32) -> f32
    %5 = arith.divf %3, %4 : f32
    "coil.store"(%5, %out, %i, %r) : (f32, memref<16x8192xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = [8192]} : () -> ()
  return
}

// -----

// softmax over 32000: one persistent row of 32768 with 32 warps (read once).
// CHECK-LABEL: // @softmax_32000 grid=(16, 1, 1) num_warps=32 xblock=1 yblock=1 rblock=32768 persistent=true
// CHECK-NOT:   scf.for
// CHECK:       "tt.reduce"
// CHECK:       tt.store
func.func @softmax_32000(%out: memref<16x32000xf32>, %x: memref<16x32000xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<16x32000xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<16x32000xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %i, %r) : (memref<16x32000xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<16x32000xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = [32000]} : () -> ()
  return
}

// -----

// softmax over 40000 (wider than the persistent limit): looped and online:
// one loop for max and sum, one for the output. The first loop's load keeps
// the row in cache for the second (evict_last); the second's is the row's
// last read (evict_first).
// CHECK-LABEL: // @softmax_40000 grid=(16, 1, 1) num_warps=16 xblock=1 yblock=1 rblock=2048 persistent=false
// CHECK:       scf.for {{.+}} -> (tensor<1x2048xf32>, tensor<1x2048xf32>)
// CHECK:         tt.load {{.+}}evict_last
// CHECK:         arith.maximumf
// CHECK:         math.exp
// CHECK:       scf.for
// CHECK:         tt.load {{.+}}evict_first
// CHECK:         tt.store
// CHECK-NOT:   scf.for
func.func @softmax_40000(%out: memref<16x40000xf32>, %x: memref<16x40000xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<16x40000xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    %2 = "coil.load"(%x, %i, %r) : (memref<16x40000xf32>, index, index) -> f32
    %3 = arith.subf %2, %1 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = "coil.load"(%x, %i, %r) : (memref<16x40000xf32>, index, index) -> f32
    %7 = arith.subf %6, %1 : f32
    %8 = math.exp %7 : f32
    %9 = arith.divf %8, %5 : f32
    "coil.store"(%9, %out, %i, %r) : (f32, memref<16x40000xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = [40000]} : () -> ()
  return
}

// -----

// A bf16 row sum: 8 warps (RBLOCK // 256), not 16.
// CHECK-LABEL: // @sum_rows_bf16 grid=(64, 1, 1) num_warps=8 xblock=1 yblock=1 rblock=2048 persistent=false
func.func @sum_rows_bf16(%out: memref<64xbf16>, %x: memref<64x4096xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x4096xbf16>, index, index) -> bf16
    %1 = arith.extf %0 : bf16 to f32
    %2 = "coil.reduce"(%1) {reduction_type = "sum"} : (f32) -> f32
    %3 = arith.truncf %2 : f32 to bf16
    "coil.store"(%3, %out, %i) : (bf16, memref<64xbf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [4096]} : () -> ()
  return
}

// -----

// log-sum-exp over 32000 (cross-entropy's): looped it would be one online
// pass (max and sum of exp together), which an H100 ran slower than the
// persistent row at every chunk and warp count tried (bf16 8192x32000: 196 us
// at best against 181 persistent with 32 warps).
// CHECK-LABEL: // @logsumexp_32000 grid=(16, 1, 1) num_warps=32 xblock=1 yblock=1 rblock=32768 persistent=true
// CHECK-NOT:   scf.for
// CHECK-COUNT-1: math.exp
// CHECK:       math.log
func.func @logsumexp_32000(%out: memref<16xf32>, %x: memref<16x32000xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<16x32000xbf16>, index, index) -> bf16
    %1 = arith.extf %0 : bf16 to f32
    %2 = "coil.reduce"(%1) {reduction_type = "max"} : (f32) -> f32
    %3 = arith.subf %1, %2 : f32
    %4 = math.exp %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %6 = math.log %5 : f32
    %7 = arith.addf %6, %2 : f32
    "coil.store"(%7, %out, %i) : (f32, memref<16xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16], reduction_ranges = [32000]} : () -> ()
  return
}

// -----

// A bf16 row mean and variance stored as float32: the streamed row is bf16,
// so 8 warps (RBLOCK // 256), whatever the width of the outputs.
// CHECK-LABEL: // @var_mean_bf16 grid=(64, 1, 1) num_warps=8 xblock=1 yblock=1 rblock=4096 persistent=true
func.func @var_mean_bf16(%mean: memref<64xf32>, %var: memref<64xf32>, %x: memref<64x4096xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%x, %i, %r) : (memref<64x4096xbf16>, index, index) -> bf16
    %1 = arith.extf %0 : bf16 to f32
    %2 = "coil.reduce"(%1) {reduction_type = "sum"} : (f32) -> f32
    %n = arith.constant 4096.0 : f32
    %3 = arith.divf %2, %n : f32
    %4 = arith.subf %1, %3 : f32
    %5 = arith.mulf %4, %4 : f32
    %6 = "coil.reduce"(%5) {reduction_type = "sum"} : (f32) -> f32
    %7 = arith.divf %6, %n : f32
    "coil.store"(%3, %mean, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.store"(%7, %var, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = [4096]} : () -> ()
  return
}
