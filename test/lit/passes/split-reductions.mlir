// RUN: %coil-opt %s --split-input-file --coil-split-reductions | filecheck %s
// RUN: %coil-opt %s --split-input-file --coil-split-reductions='num-sms=4' | filecheck %s --check-prefix=FEW

// x.sum(0) of 8192x2048: a column reduction, 2048 / 32 = 64 programs, fewer
// than 0.75 per SM of 132: RSPLIT = next_pow2(8 * 132 / 64) = 32 chunks of 256
// rows, the split index first (partial[s, x] stays contiguous along x), then
// a 32-long column reduction. With 4 SMs, 64 programs are plenty: no split.

// CHECK-LABEL: func.func @sum_cols
// CHECK:       %[[P:.+]] = "coil.reduction"() ({
// CHECK-NEXT:  ^bb0(%[[S:.+]]: index, %[[X:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:    %[[R:.+]] = affine.apply #{{.+}}(%[[S]], %[[J]])
// CHECK-NEXT:    %[[V:.+]] = "coil.load"(%arg0, %[[R]], %[[X]])
// CHECK-NEXT:    "coil.yield"(%[[V]]) : (f32) -> ()
// CHECK-NEXT:  }) {ranges = [32, 2048], reduction_ranges = [256], reduction_type = "sum"} : () -> tensor<32x2048xf32>
// CHECK:       %[[F:.+]] = "coil.reduction"() ({
// CHECK-NEXT:  ^bb0(%[[X2:.+]]: index, %[[S2:.+]]: index):
// CHECK-NEXT:    %[[W:.+]] = "coil.load"(%[[P]], %[[S2]], %[[X2]]) : (tensor<32x2048xf32>, index, index) -> f32
// CHECK-NEXT:    "coil.yield"(%[[W]]) : (f32) -> ()
// CHECK-NEXT:  }) {ranges = [2048], reduction_ranges = [32], reduction_type = "sum"} : () -> tensor<2048xf32>
// CHECK:       return %[[F]]
// FEW-LABEL:   func.func @sum_cols
// FEW-COUNT-1: "coil.reduction"
// FEW-NOT:     "coil.reduction"
func.func @sum_cols(%x: tensor<8192x2048xf32> {coil.strides = [2048, 1]}) -> (tensor<2048xf32> {coil.strides = [1]}) attributes {coil.device = "cuda"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r, %i) : (tensor<8192x2048xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [2048], reduction_ranges = [8192], reduction_type = "sum"} : () -> tensor<2048xf32>
  return %s : tensor<2048xf32>
}

// -----

// x.sum(0) of 8192x4096: 128 programs of 32 columns fill 0.97 of the 132 SMs
// (at least column-fill, 0.75): a column reduction stays whole. So does a
// welford one (x.var(0), @welford_cols_filling): the Triton backend reads it
// once, m2 folded into the mean's loop.

// CHECK-LABEL: func.func @sum_cols_filling
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT:     "coil.reduction"
// FEW-LABEL:   func.func @sum_cols_filling
func.func @sum_cols_filling(%x: tensor<8192x4096xf32> {coil.strides = [4096, 1]}) -> (tensor<4096xf32> {coil.strides = [1]}) attributes {coil.device = "cuda"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r, %i) : (tensor<8192x4096xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4096], reduction_ranges = [8192], reduction_type = "sum"} : () -> tensor<4096xf32>
  return %s : tensor<4096xf32>
}

// -----

// x.sum(-1) of 8192x4096: 8192 rows, one a program: never split.

// CHECK-LABEL: func.func @sum_rows
// FEW-LABEL:   func.func @sum_rows
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT:   "coil.reduction"
func.func @sum_rows(%x: tensor<8192x4096xf32> {coil.strides = [4096, 1]}) -> (tensor<8192xf32> {coil.strides = [1]}) attributes {coil.device = "cuda"} {
  %s = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (tensor<8192x4096xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [8192], reduction_ranges = [4096], reduction_type = "sum"} : () -> tensor<8192xf32>
  return %s : tensor<8192xf32>
}

// -----

// max over 1000003 (prime) float16 elements: one program un-split, RSPLIT
// 1024 chunks of 977 (no divisor near it: the last chunk is ragged). The
// index past the end is clamped (no load out of bounds) and contributes
// max's identity, -inf. max is exact: the partials stay float16.

// CHECK-LABEL: func.func @max_ragged
// CHECK:       %[[P:.+]] = "coil.reduction"() ({
// CHECK-NEXT:  ^bb0(%[[S:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:    %[[R:.+]] = affine.apply #{{.+}}(%[[S]], %[[J]])
// CHECK-NEXT:    %[[N:.+]] = arith.constant 1000003 : index
// CHECK-NEXT:    %[[IN:.+]] = arith.cmpi ult, %[[R]], %[[N]] : index
// CHECK-NEXT:    %[[LAST:.+]] = arith.constant 1000002 : index
// CHECK-NEXT:    %[[C:.+]] = arith.minsi %[[R]], %[[LAST]] : index
// CHECK-NEXT:    %[[V:.+]] = "coil.load"(%arg0, %[[C]])
// CHECK-NEXT:    %[[NINF:.+]] = arith.constant 0xFC00 : f16
// CHECK-NEXT:    %[[SEL:.+]] = arith.select %[[IN]], %[[V]], %[[NINF]] : f16
// CHECK-NEXT:    "coil.yield"(%[[SEL]]) : (f16) -> ()
// CHECK-NEXT:  }) {ranges = [1024], reduction_ranges = [977], reduction_type = "max"} : () -> tensor<1024xf16>
// CHECK:       "coil.reduction"
// CHECK:       }) {ranges = [], reduction_ranges = [1024], reduction_type = "max"} : () -> tensor<f16>
func.func @max_ragged(%x: tensor<1000003xf16> {coil.strides = [1]}) -> (tensor<f16> {coil.strides = []}) attributes {coil.device = "cuda"} {
  %m = "coil.reduction"() ({
  ^bb0(%r: index):
    %v = "coil.load"(%x, %r) : (tensor<1000003xf16>, index) -> f16
    "coil.yield"(%v) : (f16) -> ()
  }) {ranges = [], reduction_ranges = [1000003], reduction_type = "max"} : () -> tensor<f16>
  return %m : tensor<f16>
}

// -----

// A float16 product over all of 1024x1024 (split over both reduction dims:
// the flat index's row-major digits): float32 partials, one rounding to
// float16 after the final product.

// CHECK-LABEL: func.func @prod_half
// CHECK:       ^bb0(%[[S:.+]]: index, %[[J:.+]]: index):
// CHECK-NEXT:    %[[R:.+]] = affine.apply #{{.+}}(%[[S]], %[[J]])
// CHECK-NEXT:    %[[R0:.+]] = affine.apply #{{.+}}(%[[R]])
// CHECK-NEXT:    %[[R1:.+]] = affine.apply #{{.+}}(%[[R]])
// CHECK-NEXT:    %[[V:.+]] = "coil.load"(%arg0, %[[R0]], %[[R1]])
// CHECK-NEXT:    %[[W:.+]] = arith.extf %[[V]] : f16 to f32
// CHECK-NEXT:    "coil.yield"(%[[W]]) : (f32) -> ()
// CHECK-NEXT:  }) {ranges = [1024], reduction_ranges = [1024], reduction_type = "prod"} : () -> tensor<1024xf32>
// CHECK:       %[[F:.+]] = "coil.reduction"
// CHECK:       }) {ranges = [], reduction_ranges = [1024], reduction_type = "prod"} : () -> tensor<f32>
// CHECK:       %[[H:.+]] = "coil.pointwise"
// CHECK:         arith.truncf %{{.+}} : f32 to f16
// CHECK:       return %[[H]]
func.func @prod_half(%x: tensor<1024x1024xf16> {coil.strides = [1024, 1]}) -> (tensor<f16> {coil.strides = []}) attributes {coil.device = "cuda"} {
  %p = "coil.reduction"() ({
  ^bb0(%r0: index, %r1: index):
    %v = "coil.load"(%x, %r0, %r1) : (tensor<1024x1024xf16>, index, index) -> f16
    "coil.yield"(%v) : (f16) -> ()
  }) {ranges = [], reduction_ranges = [1024, 1024], reduction_type = "prod"} : () -> tensor<f16>
  return %p : tensor<f16>
}

// -----

// var_mean over dim 0 of 8192x512 (welford): equal chunks only; partial
// (mean_s, m2_s) per chunk of C = 256 rows, then Chan's combination:
// mean = sum(mean_s) / 32, m2 = sum(m2_s + C * (mean_s - mean)^2).

// CHECK-LABEL: func.func @welford_cols
// CHECK:       %[[P:.+]]:3 = "coil.reduction"
// CHECK:       }) {ranges = [32, 512], reduction_ranges = [256], reduction_type = "welford"}
// CHECK:       %[[T:.+]] = "coil.reduction"
// CHECK:         "coil.load"(%[[P]]#0
// CHECK:       }) {ranges = [512], reduction_ranges = [32], reduction_type = "sum"}
// CHECK:       %[[MEAN:.+]] = "coil.pointwise"
// CHECK:         arith.divf
// CHECK:       %[[M2:.+]] = "coil.reduction"
// CHECK:         %[[MS:.+]] = "coil.load"(%[[P]]#0
// CHECK:         %[[MU:.+]] = "coil.load"(%[[MEAN]]
// CHECK:         %[[D:.+]] = arith.subf %[[MS]], %[[MU]]
// CHECK:         %[[D2:.+]] = arith.mulf %[[D]], %[[D]]
// CHECK:         arith.constant 2.560000e+02 : f32
// CHECK:         "coil.load"(%[[P]]#1
// CHECK:         arith.addf
// CHECK:       }) {ranges = [512], reduction_ranges = [32], reduction_type = "sum"}
// CHECK:       return %[[MEAN]], %[[M2]]
func.func @welford_cols(%x: tensor<8192x512xf32> {coil.strides = [512, 1]}) -> (tensor<512xf32> {coil.strides = [1]}, tensor<512xf32> {coil.strides = [1]}) attributes {coil.device = "cuda"} {
  %w:3 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r, %i) : (tensor<8192x512xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [512], reduction_ranges = [8192], reduction_type = "welford"} : () -> (tensor<512xf32>, tensor<512xf32>, tensor<512xf32>)
  return %w#0, %w#1 : tensor<512xf32>, tensor<512xf32>
}

// -----

// CHECK-LABEL: func.func @welford_cols_filling
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT:     "coil.reduction"
func.func @welford_cols_filling(%x: tensor<8192x4096xf32> {coil.strides = [4096, 1]}) -> (tensor<4096xf32> {coil.strides = [1]}, tensor<4096xf32> {coil.strides = [1]}) attributes {coil.device = "cuda"} {
  %r:3 = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %r, %i) : (tensor<8192x4096xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4096], reduction_ranges = [8192], reduction_type = "welford"} : () -> (tensor<4096xf32>, tensor<4096xf32>, tensor<4096xf32>)
  return %r#0, %r#1 : tensor<4096xf32>, tensor<4096xf32>
}

// -----

// argmax is never split (the partials would need (value, index) pairs).

// CHECK-LABEL: func.func @argmax_all
// CHECK-COUNT-1: "coil.reduction"
// CHECK-NOT:   "coil.reduction"
func.func @argmax_all(%x: tensor<1048576xf32> {coil.strides = [1]}) -> (tensor<i64> {coil.strides = []}) attributes {coil.device = "cuda"} {
  %a = "coil.reduction"() ({
  ^bb0(%r: index):
    %v = "coil.load"(%x, %r) : (tensor<1048576xf32>, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [], reduction_ranges = [1048576], reduction_type = "argmax"} : () -> tensor<i64>
  return %a : tensor<i64>
}
