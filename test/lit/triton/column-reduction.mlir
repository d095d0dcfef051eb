// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// x.sum(0) of a row-major 8192x4096 matrix: the loads are contiguous along the
// output index, so the tile is [RBLOCK, XBLOCK] with the output columns on the
// fast (last) axis of Triton's layout: each row of the tile is one coalesced
// segment. The loop walks the rows RBLOCK at a time into a [RBLOCK, XBLOCK]
// accumulator, reduced along axis 0 once at the end and stored as [1, XBLOCK].
// 4096 columns give 64 programs at XBLOCK 64, fewer than two per SM of an
// H100: XBLOCK drops to 32 (128 programs; splitting the reduction is
// coil-split-reductions' job). 16 warps: 4 elements a thread in flight.

// CHECK-LABEL: // @sum_cols grid=(128, 1, 1) num_warps=16 xblock=32 yblock=1 rblock=64 persistent=false
// CHECK-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<64x32xf32>
// CHECK-DAG:   %[[STRIDE:.+]] = arith.constant dense<4096> : tensor<64x1xi32>
// CHECK:       %[[R:.+]] = tt.expand_dims %{{.+}} {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
// CHECK:       tt.expand_dims %{{.+}} {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
// CHECK:       tt.get_program_id x : i32
// CHECK:       %[[X:.+]] = arith.addi %{{.+}}, %{{.+}} : tensor<1x32xi32>
// CHECK:       %[[ACC:.+]] = scf.for %[[IV:.+]] = %{{.+}} iter_args(%[[A:.+]] = %[[ZERO]]) -> (tensor<64x32xf32>) : i32 {
// CHECK:         %[[ROW:.+]] = arith.addi %{{.+}}, %[[R]] : tensor<64x1xi32>
// CHECK:         arith.muli %[[ROW]], %[[STRIDE]] : tensor<64x1xi32>
// CHECK:         %[[V:.+]] = tt.load %{{.+}}{{.*}} : tensor<64x32x!tt.ptr<f32>>
// CHECK:         %[[S:.+]] = arith.addf %[[A]], %[[V]] : tensor<64x32xf32>
// CHECK:         scf.yield %[[S]] : tensor<64x32xf32>
// CHECK:       %[[RED:.+]] = "tt.reduce"(%[[ACC]]) <{axis = 0 : i32}>
// CHECK:       }) : (tensor<64x32xf32>) -> tensor<32xf32>
// CHECK:       %[[OUT:.+]] = tt.expand_dims %[[RED]] {axis = 0 : i32} : tensor<32xf32> -> tensor<1x32xf32>
// CHECK:       %[[P:.+]] = tt.addptr %{{.+}}, %[[X]] : tensor<1x32x!tt.ptr<f32>>, tensor<1x32xi32>
// CHECK:       tt.store %[[P]], %[[OUT]] : tensor<1x32x!tt.ptr<f32>>
func.func @sum_cols(%out: memref<4096xf32>, %a: memref<8192x4096xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%a, %r, %i) : (memref<8192x4096xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<4096xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4096], reduction_ranges = [8192]} : () -> ()
  return
}

// -----

// A wide output (the partial step of a split reduction): still XBLOCK 32,
// RBLOCK 64 (2048-element tiles, 16 warps): 2048 programs.

// CHECK-LABEL: // @sum_cols_wide grid=(2048, 1, 1) num_warps=16 xblock=32 yblock=1 rblock=64 persistent=false
// CHECK:       scf.for
// CHECK:         tt.load %{{.+}}{{.*}} : tensor<64x32x!tt.ptr<f32>>
// CHECK:       "tt.reduce"(%{{.+}}) <{axis = 0 : i32}>
// CHECK:       tt.store %{{.+}}, %{{.+}} : tensor<1x32x!tt.ptr<f32>>
func.func @sum_cols_wide(%out: memref<65536xf32>, %a: memref<256x65536xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%a, %r, %i) : (memref<256x65536xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<65536xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [65536], reduction_ranges = [256]} : () -> ()
  return
}

// -----

// A short column range (the final step of a split reduction: 32 partials a
// column) is persistent: one [32, XBLOCK] tile masked along the 1000 columns
// (the row range is exactly 32: no row mask), max with the NaN-propagating
// combiner.

// CHECK-LABEL: // @max_cols_short grid=(32, 1, 1) num_warps=4 xblock=32 yblock=1 rblock=32 persistent=true
// CHECK:       %[[M:.+]] = arith.cmpi slt, %{{.+}}, %{{.+}} : tensor<1x32xi32>
// CHECK:       %[[MB:.+]] = tt.broadcast %[[M]] : tensor<1x32xi1> -> tensor<32x32xi1>
// CHECK:       %[[V:.+]] = tt.load %{{.+}}, %[[MB]]{{.*}} : tensor<32x32x!tt.ptr<f32>>
// CHECK:       "tt.reduce"(%[[V]]) <{axis = 0 : i32}>
// CHECK:         arith.maximumf
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[M]] : tensor<1x32x!tt.ptr<f32>>
func.func @max_cols_short(%out: memref<1000xf32>, %a: memref<32x1000xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%a, %r, %i) : (memref<32x1000xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "max"} : (f32) -> f32
    "coil.store"(%1, %out, %i) : (f32, memref<1000xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [1000], reduction_ranges = [32]} : () -> ()
  return
}

// -----

// The partial step of a split variance over dim 0 (chunks of 512 rows): the
// looped form would read the chunk once for the mean and again for m2, so
// the whole [512, 32] chunk stays in registers (persistent, 8 warps) and both
// levels reduce it along axis 0; no loop.

// CHECK-LABEL: // @var_cols_partial grid=(2048, 1, 1) num_warps=8 xblock=32 yblock=1 rblock=512 persistent=true
// CHECK-NOT:   scf.for
// CHECK:       tt.load %{{.+}}{{.*}} : tensor<512x32x!tt.ptr<f32>>
// CHECK:       "tt.reduce"(%{{.+}}) <{axis = 0 : i32}>
// CHECK:       "tt.reduce"(%{{.+}}) <{axis = 0 : i32}>
// CHECK-NOT:   scf.for
func.func @var_cols_partial(%mean: memref<16x4096xf32>, %m2: memref<16x4096xf32>, %a: memref<8192x4096xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%s: index, %i: index, %r: index):
    %row = affine.apply affine_map<(d0, d1) -> (d0 * 512 + d1)>(%s, %r)
    %0 = "coil.load"(%a, %row, %i) : (memref<8192x4096xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %n = arith.constant 512.0 : f32
    %2 = arith.divf %1, %n : f32
    %3 = arith.subf %0, %2 : f32
    %4 = arith.mulf %3, %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%2, %mean, %s, %i) : (f32, memref<16x4096xf32>, index, index) -> ()
    "coil.store"(%5, %m2, %s, %i) : (f32, memref<16x4096xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [16, 4096], reduction_ranges = [512]} : () -> ()
  return
}

// -----

// The whole variance over dim 0 (not split: 128 programs fill the SMs):
// looped [512, 32] tiles (FOLDED_COLUMN_RBLOCK: taller than a sum's [64, 32],
// since every step merges its tile into the running mean and m2), m2 folded
// into the mean's pass (one-pass Welford). 8192 rows are a whole number of
// 512-row steps, so every lane has seen as many points: 1/count is one
// scalar a step (RBLOCK / (iv + RBLOCK)), and the lanes (16 points each)
// merge in one three-operand tt.reduce.

// CHECK-LABEL: // @var_cols grid=(128, 1, 1) num_warps=16 xblock=32 yblock=1 rblock=512 persistent=false
// CHECK-DAG:   %[[STEPS:.+]] = arith.constant dense<16.0> : tensor<512x32xf32>
// CHECK:       %[[ACC:.+]]:3 = scf.for %[[IV:.+]] = %{{.+}} iter_args({{.+}}) -> (tensor<512x32xf32>, tensor<512x32xf32>, tensor<512x32xf32>) : i32 {
// CHECK:         %[[SEEN:.+]] = arith.sitofp %{{.+}} : i32 to f32
// CHECK:         arith.divf %{{.+}}, %[[SEEN]] : f32
// CHECK:         scf.yield
// CHECK-NOT:   scf.for
// CHECK:       "tt.reduce"(%[[ACC]]#1, %[[ACC]]#2, %[[STEPS]]) <{axis = 0 : i32}>
// CHECK:       tt.store
func.func @var_cols(%var: memref<4096xf32>, %a: memref<8192x4096xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %0 = "coil.load"(%a, %r, %i) : (memref<8192x4096xf32>, index, index) -> f32
    %1 = "coil.reduce"(%0) {reduction_type = "sum"} : (f32) -> f32
    %n = arith.constant 8192.0 : f32
    %2 = arith.divf %1, %n : f32
    %3 = arith.subf %0, %2 : f32
    %4 = arith.mulf %3, %3 : f32
    %5 = "coil.reduce"(%4) {reduction_type = "sum"} : (f32) -> f32
    %d = arith.constant 8191.0 : f32
    %6 = arith.divf %5, %d : f32
    "coil.store"(%6, %var, %i) : (f32, memref<4096xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4096], reduction_ranges = [8192]} : () -> ()
  return
}
