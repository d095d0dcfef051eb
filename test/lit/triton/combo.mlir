// RUN: coil-translate --coil-to-ttir %s | filecheck %s

// A combo kernel (passes/combine_kernels.py): three independent pointwise
// nests, each its own private tt.func over its own program ids, which the
// public entry dispatches to (Triton inlines the calls). The nest with the
// fewest programs (the 64-wide vector, one program) takes the first ids; the
// 64x64 matrix (4 programs of 1024) the next; the transposed copy, tiled 2-D
// (64x64 tiles: 2 along x, 4 along y), the last 8, its relative id split
// into x = pid % 2 and y = pid / 2. One warp count for all (the largest).

// CHECK-LABEL: // @combo_0 grid=(13, 1, 1) num_warps=4 parts=1024x1,64x64,64x1
// CHECK:       tt.func private @combo_0_part0({{.*}}, %pid: i32) attributes {noinline = false} {
// CHECK:         tt.make_range {end = 1024 : i32, start = 0 : i32}
// CHECK:         arith.muli %pid, %{{.*}} : i32
// CHECK-NOT:     tt.get_program_id
// CHECK:         tt.return
// CHECK:       tt.func private @combo_0_part1({{.*}}, %pid: i32) attributes {noinline = false} {
// CHECK:         %[[TWO:.+]] = arith.constant 2 : i32
// CHECK:         arith.remsi %pid, %[[TWO]] : i32
// CHECK:         arith.divsi %pid, %[[TWO]] : i32
// CHECK:         tt.load %{{.*}} : tensor<64x64x!tt.ptr<f32>>
// CHECK:         tt.return
// CHECK:       tt.func private @combo_0_part2({{.*}}, %pid: i32) attributes {noinline = false} {
// CHECK:         tt.make_range {end = 64 : i32, start = 0 : i32}
// CHECK:         tt.return
// CHECK:       tt.func public @combo_0(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg2: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg3: !tt.ptr<f32> {tt.divisibility = 16 : i32}) {
// CHECK-NEXT:    %pid = tt.get_program_id x : i32
// CHECK-NEXT:    %start2 = arith.constant 0 : i32
// CHECK-NEXT:    %end2 = arith.constant 1 : i32
// CHECK:         scf.if %in2 {
// CHECK-NEXT:      %local2 = arith.subi %pid, %start2 : i32
// CHECK-NEXT:      tt.call @combo_0_part2(%arg0, %arg1, %arg2, %arg3, %local2) : (!tt.ptr<f32>, !tt.ptr<f32>, !tt.ptr<f32>, !tt.ptr<f32>, i32) -> ()
// CHECK-NEXT:    }
// CHECK-NEXT:    %start0 = arith.constant 1 : i32
// CHECK-NEXT:    %end0 = arith.constant 5 : i32
// CHECK:         tt.call @combo_0_part0(
// CHECK:         %start1 = arith.constant 5 : i32
// CHECK-NEXT:    %end1 = arith.constant 13 : i32
// CHECK:         tt.call @combo_0_part1(
// CHECK:         tt.return
// CHECK-NOT:   loc(

#t = affine_map<(d0, d1) -> (d1, d0)>
func.func @combo_0(%a: memref<64x64xf32> {coil.noalias}, %b: memref<256x128xf32> {coil.noalias}, %bt: memref<128x256xf32> {coil.noalias}, %c: memref<64xf32> {coil.noalias}) attributes {coil.combo, coil.kernel} {
  %k = arith.constant 2.0 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%a, %i, %j) : (memref<64x64xf32>, index, index) -> f32
    %w = arith.mulf %x, %k : f32
    "coil.store"(%w, %a, %i, %j) : (f32, memref<64x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64, 64], reduction_ranges = []} : () -> ()
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%bt, %j, %i) : (memref<128x256xf32>, index, index) -> f32
    "coil.store"(%x, %b, %i, %j) : (f32, memref<256x128xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [256, 128], reduction_ranges = []} : () -> ()
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %x = "coil.load"(%c, %i) : (memref<64xf32>, index) -> f32
    %y = arith.addf %x, %k : f32
    "coil.store"(%y, %c, %i) : (f32, memref<64xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}
