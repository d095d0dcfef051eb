// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --xblock=1 --rblock=64 --prefetch=true %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --xblock=1 --rblock=64 %s | filecheck %s --check-prefix=PLAIN

// Prefetched loops (TritonConfig.prefetch): the first chunk of the row is
// loaded before the loop and carried in; each iteration issues the next
// chunk's load first, then computes on the chunk it carries, and yields the
// next one. Triton's pipeliner stages only loads that feed a dot, so without
// this a program waits for every chunk before its math.
//
// A row RBLOCK divides (256 = 4 x 64) has no lane mask: the next chunk's load
// is masked by a scalar test, off past the last chunk.
// CHECK-LABEL: // @row_sum grid=(8, 1, 1) num_warps=4 xblock=1 yblock=1 rblock=64 persistent=false index_bits=32 prefetch=true
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : i32
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : i32
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : i32
// CHECK:         %[[FIRST:.+]] = tt.load %{{[^,]+}} {{.*}}: tensor<1x64x!tt.ptr<f32>>
// CHECK-NEXT:    %[[LOOP:.+]]:2 = scf.for %[[IV:.+]] = %[[C0]] to %[[C256]] step %[[C64]] iter_args(%[[ACC:.+]] = %{{.+}}, %[[CUR:.+]] = %[[FIRST]]) -> (tensor<1x64xf32>, tensor<1x64xf32>) : i32 {
// CHECK-NEXT:      %[[NEXT:.+]] = arith.addi %[[IV]], %[[C64]] : i32
// CHECK:           %[[MORE:.+]] = arith.cmpi slt, %[[NEXT]], %[[C256]] : i32
// CHECK:           %[[MASK:.+]] = tt.splat %[[MORE]] : i1 -> tensor<1x64xi1>
// CHECK-NEXT:      %[[LOADED:.+]] = tt.load %{{.+}}, %[[MASK]] {{.*}}: tensor<1x64x!tt.ptr<f32>>
// CHECK-NEXT:      %[[SUM:.+]] = arith.addf %[[ACC]], %[[CUR]] : tensor<1x64xf32>
// CHECK-NEXT:      scf.yield %[[SUM]], %[[LOADED]] : tensor<1x64xf32>, tensor<1x64xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    "tt.reduce"(%[[LOOP]]#0)

// PLAIN-LABEL: // @row_sum
// PLAIN-SAME:    persistent=false index_bits=32{{$}}
// PLAIN:         scf.for %{{.+}} iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<1x64xf32>) : i32 {
// PLAIN:           %[[X:.+]] = tt.load
// PLAIN-NEXT:      arith.addf %[[ACC]], %[[X]]
func.func @row_sum(%out: memref<8xf32>, %x: memref<8x256xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<8x256xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [256]} : () -> ()
  return
}

// -----

// A bf16 row of 200, masked: the lane mask of the next chunk's offsets turns
// its lanes off past the row (no scalar test). The loop carries the chunk as
// loaded (bf16) and widens it where it computes. Both loads of x (fusion
// leaves one per consumer) are one carried tile.
// CHECK-LABEL: // @lse
// CHECK:         %[[FIRST:.+]] = tt.load %{{.+}}, %{{.+}} : tensor<1x64x!tt.ptr<bf16>>
// CHECK-NEXT:    %{{.+}}:3 = scf.for %[[IV:.+]] = {{.+}} iter_args(%[[M:.+]] = %{{.+}}, %[[S:.+]] = %{{.+}}, %[[CUR:.+]] = %[[FIRST]]) -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xbf16>) : i32 {
// CHECK-NOT:       arith.cmpi slt, %{{.+}} : i32
// CHECK:           %[[LOADED:.+]] = tt.load %{{.+}}, %{{.+}} : tensor<1x64x!tt.ptr<bf16>>
// CHECK-NOT:       tt.load
// CHECK:           %[[X:.+]] = arith.extf %[[CUR]] : tensor<1x64xbf16> to tensor<1x64xf32>
// CHECK:           arith.maximumf %[[M]], %[[X]]
// CHECK:           scf.yield %{{.+}}, %{{.+}}, %[[LOADED]] : tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xbf16>
func.func @lse(%out: memref<4xf32>, %x: memref<4x200xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<4x200xbf16>, index, index) -> bf16
    %w = arith.extf %v : bf16 to f32
    %m = "coil.reduce"(%w) {reduction_type = "max"} : (f32) -> f32
    %v2 = "coil.load"(%x, %i, %r) : (memref<4x200xbf16>, index, index) -> bf16
    %w2 = arith.extf %v2 : bf16 to f32
    %d = arith.subf %w2, %m : f32
    %e = math.exp %d : f32
    %s = "coil.reduce"(%e) {reduction_type = "sum"} : (f32) -> f32
    %l = math.log %s : f32
    %y = arith.addf %l, %m : f32
    "coil.store"(%y, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [200]} : () -> ()
  return
}

// -----

// A gather: the load of x at a loaded index waits for the index, so only the
// index load is prefetched; x is loaded in the iteration that uses it.
// CHECK-LABEL: // @gather_sum
// CHECK:         %[[FIRST:.+]] = tt.load %{{.+}} : tensor<1x64x!tt.ptr<i64>>
// CHECK:         scf.for {{.+}} iter_args(%{{.+}} = %{{.+}}, %[[IDX:.+]] = %[[FIRST]]) -> (tensor<1x64xf32>, tensor<1x64xi64>) : i32 {
// CHECK:           %[[NEXTIDX:.+]] = tt.load %{{.+}}, %{{.+}} : tensor<1x64x!tt.ptr<i64>>
// CHECK:           tt.load %{{.+}} : tensor<1x64x!tt.ptr<f32>>
// CHECK:           scf.yield %{{.+}}, %[[NEXTIDX]] : tensor<1x64xf32>, tensor<1x64xi64>
func.func @gather_sum(%out: memref<8xf32>, %x: memref<8x1000xf32>, %idx: memref<256xi64>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %k = "coil.load"(%idx, %r) : (memref<256xi64>, index) -> i64
    %j = arith.index_cast %k : i64 to index
    %v = "coil.load"(%x, %i, %j) : (memref<8x1000xf32>, index, index) -> f32
    %s = "coil.reduce"(%v) {reduction_type = "sum"} : (f32) -> f32
    "coil.store"(%s, %out, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = [256]} : () -> ()
  return
}
