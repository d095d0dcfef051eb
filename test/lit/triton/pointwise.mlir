// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --kernel=half --unaligned=1 %s | filecheck %s --check-prefix=UNALIGNED

// A contiguous 2-D add: the two loop dimensions merge, so every access is
// `base + x` (Triton sees it as contiguous and vectorizes), and 4096 % 1024 == 0
// leaves no mask. Constants come first; every pointer is 16-byte aligned.

// CHECK-LABEL: // @add grid=(4, 1, 1) num_warps=4 xblock=1024 yblock=1 rblock=1
// CHECK:       tt.func public @add(%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f32> {tt.divisibility = 16 : i32}, %arg2: !tt.ptr<f32> {tt.divisibility = 16 : i32}) {
// CHECK-NEXT:    %[[BLOCK:.+]] = arith.constant 1024 : i32
// CHECK-NEXT:    %[[RANGE:.+]] = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32>
// CHECK-NEXT:    %[[PID:.+]] = tt.get_program_id x : i32
// CHECK-NEXT:    %[[OFF:.+]] = arith.muli %[[PID]], %[[BLOCK]] : i32
// CHECK-NEXT:    %[[SPLAT:.+]] = tt.splat %[[OFF]] : i32 -> tensor<1024xi32>
// CHECK-NEXT:    %[[X:.+]] = arith.addi %[[SPLAT]], %[[RANGE]] : tensor<1024xi32>
// CHECK-NEXT:    %[[P1:.+]] = tt.splat %arg1 : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[A1:.+]] = tt.addptr %[[P1]], %[[X]] : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
// CHECK-NEXT:    %[[L1:.+]] = tt.load %[[A1]] : tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[P2:.+]] = tt.splat %arg2 : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[A2:.+]] = tt.addptr %[[P2]], %[[X]] : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
// CHECK-NEXT:    %[[L2:.+]] = tt.load %[[A2]] : tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[SUM:.+]] = arith.addf %[[L1]], %[[L2]] : tensor<1024xf32>
// CHECK-NEXT:    %[[P0:.+]] = tt.splat %arg0 : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    %[[A0:.+]] = tt.addptr %[[P0]], %[[X]] : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
// CHECK-NEXT:    tt.store %[[A0]], %[[SUM]] : tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    tt.return
// CHECK-NOT:   loc(
func.func @add(%arg0: memref<64x64xf32>, %arg1: memref<64x64xf32>, %arg2: memref<64x64xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %a = "coil.load"(%arg1, %i, %j) : (memref<64x64xf32>, index, index) -> f32
    %b = "coil.load"(%arg2, %i, %j) : (memref<64x64xf32>, index, index) -> f32
    %s = arith.addf %a, %b : f32
    "coil.store"(%s, %arg0, %i, %j) : (f32, memref<64x64xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64, 64], reduction_ranges = []} : () -> ()
  return
}

// -----

// A ragged size is masked; a broadcast row reads `x % 100` and the reads
// of the same element share one load. Math that Triton has no native lowering
// for calls libdevice.

// CHECK-LABEL: // @bias_tanh grid=(1, 1, 1) num_warps=2 xblock=512
// CHECK-DAG:   %[[N:.+]] = arith.constant dense<300> : tensor<512xi32>
// CHECK-DAG:   %[[C100:.+]] = arith.constant dense<100> : tensor<512xi32>
// CHECK:       %[[X:.+]] = arith.addi
// CHECK:       %[[MASK:.+]] = arith.cmpi slt, %[[X]], %[[N]] : tensor<512xi32>
// CHECK:       %[[V:.+]] = tt.load %{{.+}}, %[[MASK]] : tensor<512x!tt.ptr<f32>>
// CHECK:       %[[COL:.+]] = arith.remsi %[[X]], %[[C100]] : tensor<512xi32>
// CHECK:       %[[B:.+]] = tt.load %{{.+}}, %[[MASK]] : tensor<512x!tt.ptr<f32>>
// CHECK:       %[[S:.+]] = arith.addf %[[V]], %[[B]]
// CHECK:       tt.extern_elementwise %[[S]] {libname = "", libpath = "", pure = true, symbol = "__nv_tanhf"} : (tensor<512xf32>) -> tensor<512xf32>
// CHECK:       tt.store %{{.+}}, %{{.+}}, %[[MASK]] : tensor<512x!tt.ptr<f32>>
// CHECK-NOT:   tt.load
func.func @bias_tanh(%out: memref<3x100xf32>, %x: memref<3x100xf32>, %bias: memref<100xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %a = "coil.load"(%x, %i, %j) : (memref<3x100xf32>, index, index) -> f32
    %b = "coil.load"(%bias, %j) : (memref<100xf32>, index) -> f32
    %b2 = "coil.load"(%bias, %j) : (memref<100xf32>, index) -> f32
    %s = arith.addf %a, %b : f32
    %t = math.tanh %s : f32
    %u = arith.addf %t, %b2 : f32
    "coil.store"(%u, %out, %i, %j) : (f32, memref<3x100xf32>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [3, 100], reduction_ranges = []} : () -> ()
  return
}

// -----

// float16 is loaded and stored as f16 and computed in f32, rounded back to f16
// after each op whose result the body types as f16. `--unaligned` drops the
// divisibility hint of a pointer the runtime found misaligned. An exp of any
// argument is libdevice's (accurate for large ones, as eager's expf).

// CHECK-LABEL: // @half
// CHECK:       tt.func public @half(%arg0: !tt.ptr<f16> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f16> {tt.divisibility = 16 : i32}) {
// UNALIGNED:   tt.func public @half(%arg0: !tt.ptr<f16> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<f16>) {
// CHECK:       %[[H:.+]] = tt.load %{{.+}} : tensor<64x!tt.ptr<f16>>
// CHECK-NEXT:  %[[F:.+]] = arith.extf %[[H]] : tensor<64xf16> to tensor<64xf32>
// CHECK-NEXT:  %[[M:.+]] = arith.mulf %[[F]], %[[F]] : tensor<64xf32>
// CHECK-NEXT:  %[[R:.+]] = arith.truncf %[[M]] : tensor<64xf32> to tensor<64xf16>
// CHECK-NEXT:  %[[W:.+]] = arith.extf %[[R]] : tensor<64xf16> to tensor<64xf32>
// CHECK-NEXT:  %[[E:.+]] = tt.extern_elementwise %[[W]] {{.+}} symbol = "__nv_expf"} : (tensor<64xf32>) -> tensor<64xf32>
// CHECK-NEXT:  %[[T:.+]] = arith.truncf %[[E]] : tensor<64xf32> to tensor<64xf16>
// CHECK:       tt.store %{{.+}}, %[[T]] : tensor<64x!tt.ptr<f16>>
func.func @half(%out: memref<64xf16>, %x: memref<64xf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<64xf16>, index) -> f16
    %m = arith.mulf %a, %a : f16
    %w = arith.extf %m : f16 to f32
    %e = math.exp %w : f32
    %h = arith.truncf %e : f32 to f16
    "coil.store"(%h, %out, %i) : (f16, memref<64xf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [64], reduction_ranges = []} : () -> ()
  return
}

// -----

// A buffer of 2^31 elements or more needs 64-bit offsets.

// CHECK-LABEL: // @big {{.*}} index_bits=64
// CHECK:       %[[PID:.+]] = tt.get_program_id x : i32
// CHECK-NEXT:  %[[WIDE:.+]] = arith.extsi %[[PID]] : i32 to i64
// CHECK:       tt.addptr %{{.+}}, %{{.+}} : tensor<1024x!tt.ptr<i8>>, tensor<1024xi64>
func.func @big(%out: memref<3221225472xi8>) attributes {coil.kernel} {
  %c = arith.constant 7 : i8
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.store"(%c, %out, %i) : (i8, memref<3221225472xi8>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [3221225472], reduction_ranges = []} : () -> ()
  return
}

// -----

// A pointwise kernel over 2-byte elements reads 4 of them a thread: XBLOCK
// 1024 over 8 warps (16 a thread slowed compute-bound kernels, 8 the AdamW
// update and the pointwise chain).

// CHECK-LABEL: // @add_bf16 grid=(8, 1, 1) num_warps=8 xblock=1024 yblock=1 rblock=1
func.func @add_bf16(%out: memref<8192xbf16>, %a: memref<8192xbf16>, %b: memref<8192xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %x = "coil.load"(%a, %i) : (memref<8192xbf16>, index) -> bf16
    %y = "coil.load"(%b, %i) : (memref<8192xbf16>, index) -> bf16
    %s = arith.addf %x, %y : bf16
    "coil.store"(%s, %out, %i) : (bf16, memref<8192xbf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8192], reduction_ranges = []} : () -> ()
  return
}

// -----

// One that adds a row broadcast over a matrix (bias+GELU) keeps 8 a thread, 4 warps.

// CHECK-LABEL: // @add_row_bf16 grid=(8, 1, 1) num_warps=4 xblock=1024 yblock=1 rblock=1
func.func @add_row_bf16(%out: memref<8x1024xbf16>, %a: memref<8x1024xbf16>, %b: memref<1024xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %j: index):
    %x = "coil.load"(%a, %i, %j) : (memref<8x1024xbf16>, index, index) -> bf16
    %y = "coil.load"(%b, %j) : (memref<1024xbf16>, index) -> bf16
    %s = arith.addf %x, %y : bf16
    "coil.store"(%s, %out, %i, %j) : (bf16, memref<8x1024xbf16>, index, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8, 1024], reduction_ranges = []} : () -> ()
  return
}

// -----

// A grid of one program (fewer than 132): every load whose buffer no earlier
// store may write (coil.noalias, not stored before it) is issued first, so the
// thread waits on memory once, not once per output. The load of %arg1 after
// the store into %arg1 keeps its place.

// CHECK-LABEL: // @loads_first grid=(1, 1, 1)
// CHECK:       tt.func public @loads_first
// CHECK:         %[[A:.+]] = tt.load {{.*}} : tensor<1024x!tt.ptr<f32>>
// CHECK:         %[[B:.+]] = tt.load {{.*}} : tensor<1024x!tt.ptr<f32>>
// CHECK-NOT:     tt.load
// CHECK:         tt.store
// CHECK:         tt.load
// CHECK:         tt.store
// CHECK:         tt.return
func.func @loads_first(%arg0: memref<1024xf32> {coil.noalias}, %arg1: memref<1024xf32> {coil.noalias}, %arg2: memref<1024xf32> {coil.noalias}) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%arg0, %i) : (memref<1024xf32>, index) -> f32
    %e = math.exp %a : f32
    "coil.store"(%e, %arg1, %i) : (f32, memref<1024xf32>, index) -> ()
    %b = "coil.load"(%arg2, %i) : (memref<1024xf32>, index) -> f32
    %c = "coil.load"(%arg1, %i) : (memref<1024xf32>, index) -> f32
    %s = arith.addf %b, %c : f32
    "coil.store"(%s, %arg2, %i) : (f32, memref<1024xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [1024], reduction_ranges = []} : () -> ()
  return
}
