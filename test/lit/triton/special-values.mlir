// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s

// Float ops whose special values (inf, nan, +-0) follow CUDA eager.

// fmod is libdevice's fmod (exact; fmod(inf, y) and fmod(x, 0) are nan), not
// arith.remf (Triton lowers it as x - trunc(x / y) * y: inf, and inexact).
// remainder is remf with a sign fix in the kernel IR, as ATen computes it.
// CHECK-LABEL: // @fmod_remainder
// CHECK-DAG:   %[[ZERO:.+]] = arith.constant dense<0.0> : tensor<8xf32>
// CHECK:       %[[X:.+]] = tt.load
// CHECK:       %[[Y:.+]] = tt.load
// CHECK:       %[[R:.+]] = tt.extern_elementwise %[[X]], %[[Y]] {libname = "", libpath = "", pure = true, symbol = "__nv_fmodf"} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[R]] : tensor<8x!tt.ptr<f32>>
// CHECK:       %[[NZ:.+]] = arith.cmpf une, %[[R]], %[[ZERO]] : tensor<8xf32>
// CHECK:       %[[FIX:.+]] = arith.addf %[[R]], %[[Y]] : tensor<8xf32>
// CHECK:       arith.select %{{.+}}, %[[FIX]], %[[R]] : tensor<8xi1>, tensor<8xf32>
// CHECK:       %[[X64:.+]] = arith.extf %[[X]] : tensor<8xf32> to tensor<8xf64>
// CHECK:       %[[Y64:.+]] = arith.extf %[[Y]] : tensor<8xf32> to tensor<8xf64>
// CHECK:       tt.extern_elementwise %[[X64]], %[[Y64]] {{.+}} symbol = "__nv_fmod"} : (tensor<8xf64>, tensor<8xf64>) -> tensor<8xf64>
// CHECK-NOT:   arith.remf
func.func @fmod_remainder(%fmod: memref<8xf32>, %rem: memref<8xf32>, %fmod64: memref<8xf64>, %x: memref<8xf32>, %y: memref<8xf32>) attributes {coil.kernel} {
  %zero = arith.constant 0.000000e+00 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xf32>, index) -> f32
    %b = "coil.load"(%y, %i) : (memref<8xf32>, index) -> f32
    %0 = arith.remf %a, %b : f32
    "coil.store"(%0, %fmod, %i) : (f32, memref<8xf32>, index) -> ()
    %1 = arith.cmpf une, %0, %zero : f32
    %2 = arith.cmpf olt, %0, %zero : f32
    %3 = arith.cmpf olt, %b, %zero : f32
    %4 = arith.cmpi ne, %2, %3 : i1
    %5 = arith.andi %1, %4 : i1
    %6 = arith.addf %0, %b : f32
    %7 = arith.select %5, %6, %0 : f32
    "coil.store"(%7, %rem, %i) : (f32, memref<8xf32>, index) -> ()
    %a64 = arith.extf %a : f32 to f64
    %b64 = arith.extf %b : f32 to f64
    %8 = arith.remf %a64, %b64 : f64
    "coil.store"(%8, %fmod64, %i) : (f64, memref<8xf64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}

// -----

// pow with a constant exponent as CUDA eager computes it (ATen's
// pow_tensor_scalar_optimized_kernel): x ** -0.5 is rsqrt (rsqrt(-0) = -inf,
// pow(-0, -0.5) = +inf), 0.5 sqrt, 2 and 3 products, -1 and -2 reciprocals.
// Other exponents call pow. Half precision rounds after each step.
// CHECK-LABEL: // @pow_constant
// CHECK-DAG:   %[[ONE:.+]] = arith.constant dense<1.0> : tensor<8xf32>
// CHECK-DAG:   %[[E:.+]] = arith.constant dense<2.5> : tensor<8xf32>
// CHECK:       %[[X:.+]] = tt.load
// CHECK:       %[[RSQRT:.+]] = tt.extern_elementwise %[[X]] {{.+}} symbol = "__nv_rsqrtf"} : (tensor<8xf32>) -> tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[RSQRT]]
// CHECK:       %[[SQRT:.+]] = tt.precise_sqrt %[[X]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[SQRT]]
// CHECK:       %[[SQ:.+]] = arith.mulf %[[X]], %[[X]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[SQ]]
// CHECK:       %[[CUBE:.+]] = arith.mulf %[[SQ]], %[[X]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[CUBE]]
// CHECK:       %[[INV:.+]] = tt.precise_divf %[[ONE]], %[[X]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[INV]]
// CHECK:       %[[INV2:.+]] = tt.precise_divf %[[ONE]], %[[SQ]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[INV2]]
// CHECK:       %[[POW:.+]] = tt.extern_elementwise %[[X]], %[[E]] {{.+}} symbol = "__nv_powf"}
// CHECK:       tt.store %{{.+}}, %[[POW]]
// CHECK:       %[[H:.+]] = tt.load %{{.+}} : tensor<8x!tt.ptr<f16>>
// CHECK:       %[[HX:.+]] = arith.extf %[[H]] : tensor<8xf16> to tensor<8xf32>
// CHECK:       %[[HSQ:.+]] = arith.mulf %[[HX]], %[[HX]] : tensor<8xf32>
// CHECK:       %[[HSQR:.+]] = arith.truncf %[[HSQ]] : tensor<8xf32> to tensor<8xf16>
// CHECK:       %[[HSQX:.+]] = arith.extf %[[HSQR]] : tensor<8xf16> to tensor<8xf32>
// CHECK:       %[[HCUBE:.+]] = arith.mulf %[[HSQX]], %[[HX]] : tensor<8xf32>
// CHECK:       %[[HOUT:.+]] = arith.truncf %[[HCUBE]] : tensor<8xf32> to tensor<8xf16>
// CHECK:       tt.store %{{.+}}, %[[HOUT]] : tensor<8x!tt.ptr<f16>>
// CHECK:       %[[D:.+]] = tt.load %{{.+}} : tensor<8x!tt.ptr<f64>>
// CHECK:       tt.extern_elementwise %[[D]] {{.+}} symbol = "__nv_rsqrt"} : (tensor<8xf64>) -> tensor<8xf64>
// CHECK:       math.sqrt %[[D]] : tensor<8xf64>
// CHECK-NOT:   math.powf
func.func @pow_constant(%o0: memref<8xf32>, %o1: memref<8xf32>, %o2: memref<8xf32>, %o3: memref<8xf32>, %o4: memref<8xf32>, %o5: memref<8xf32>, %o6: memref<8xf32>, %o7: memref<8xf16>, %o8: memref<8xf64>, %o9: memref<8xf64>, %x: memref<8xf32>, %h: memref<8xf16>, %d: memref<8xf64>) attributes {coil.kernel} {
  %mhalf = arith.constant -5.000000e-01 : f32
  %half = arith.constant 5.000000e-01 : f32
  %two = arith.constant 2.000000e+00 : f32
  %three = arith.constant 3.000000e+00 : f32
  %mone = arith.constant -1.000000e+00 : f32
  %mtwo = arith.constant -2.000000e+00 : f32
  %other = arith.constant 2.500000e+00 : f32
  %three16 = arith.constant 3.000000e+00 : f16
  %mhalf64 = arith.constant -5.000000e-01 : f64
  %half64 = arith.constant 5.000000e-01 : f64
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xf32>, index) -> f32
    %0 = math.powf %a, %mhalf : f32
    "coil.store"(%0, %o0, %i) : (f32, memref<8xf32>, index) -> ()
    %1 = math.powf %a, %half : f32
    "coil.store"(%1, %o1, %i) : (f32, memref<8xf32>, index) -> ()
    %2 = math.powf %a, %two : f32
    "coil.store"(%2, %o2, %i) : (f32, memref<8xf32>, index) -> ()
    %3 = math.powf %a, %three : f32
    "coil.store"(%3, %o3, %i) : (f32, memref<8xf32>, index) -> ()
    %4 = math.powf %a, %mone : f32
    "coil.store"(%4, %o4, %i) : (f32, memref<8xf32>, index) -> ()
    %5 = math.powf %a, %mtwo : f32
    "coil.store"(%5, %o5, %i) : (f32, memref<8xf32>, index) -> ()
    %6 = math.powf %a, %other : f32
    "coil.store"(%6, %o6, %i) : (f32, memref<8xf32>, index) -> ()
    %b = "coil.load"(%h, %i) : (memref<8xf16>, index) -> f16
    %7 = math.powf %b, %three16 : f16
    "coil.store"(%7, %o7, %i) : (f16, memref<8xf16>, index) -> ()
    %c = "coil.load"(%d, %i) : (memref<8xf64>, index) -> f64
    %8 = math.powf %c, %mhalf64 : f64
    "coil.store"(%8, %o8, %i) : (f64, memref<8xf64>, index) -> ()
    %9 = math.powf %c, %half64 : f64
    "coil.store"(%9, %o9, %i) : (f64, memref<8xf64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}

// -----

// f32 division is Triton's fast arith.divf (within 2 ulp, as Inductor divides)
// unless the quotient feeds a floor, comparison or integer conversion, where
// an ulp can change the result: then it is IEEE (tt.precise_divf, as eager).
// A constant power-of-two divisor is a multiplication by its exact reciprocal.
// CHECK-LABEL: // @divide
// CHECK-DAG:   %[[RECIP:.+]] = arith.constant dense<0.000244140625> : tensor<8xf32>
// CHECK-DAG:   %[[THREE:.+]] = arith.constant dense<3.0> : tensor<8xf32>
// CHECK:       %[[X:.+]] = tt.load
// CHECK:       %[[M:.+]] = arith.mulf %[[X]], %[[RECIP]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[M]]
// CHECK:       %[[D:.+]] = arith.divf %[[X]], %[[THREE]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[D]]
// CHECK:       %[[Y:.+]] = tt.load
// CHECK:       %[[V:.+]] = arith.divf %[[X]], %[[Y]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[V]]
// CHECK:       %[[Q:.+]] = tt.precise_divf %[[X]], %[[Y]] : tensor<8xf32>
// CHECK:       %[[F:.+]] = math.floor %[[Q]] : tensor<8xf32>
// CHECK:       tt.store %{{.+}}, %[[F]]
func.func @divide(%o0: memref<8xf32>, %o1: memref<8xf32>, %o2: memref<8xf32>, %o3: memref<8xf32>, %x: memref<8xf32>, %y: memref<8xf32>) attributes {coil.kernel} {
  %n = arith.constant 4.096000e+03 : f32
  %three = arith.constant 3.000000e+00 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xf32>, index) -> f32
    %0 = arith.divf %a, %n : f32
    "coil.store"(%0, %o0, %i) : (f32, memref<8xf32>, index) -> ()
    %1 = arith.divf %a, %three : f32
    "coil.store"(%1, %o1, %i) : (f32, memref<8xf32>, index) -> ()
    %b = "coil.load"(%y, %i) : (memref<8xf32>, index) -> f32
    %2 = arith.divf %a, %b : f32
    "coil.store"(%2, %o2, %i) : (f32, memref<8xf32>, index) -> ()
    %3 = arith.divf %a, %b : f32
    %4 = math.floor %3 : f32
    "coil.store"(%4, %o3, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}

// -----

// A bfloat16 quotient (computed in f32, rounded as eager rounds every op) is
// divided fast too: exact division made a bf16 2048x32000 softmax 24% slower
// on an H100 (0.128 against 0.103 ms).
// CHECK-LABEL: // @divide_half
// CHECK-NOT:   tt.precise_divf
// CHECK:       %[[Q:.+]] = arith.divf %{{.+}}, %{{.+}} : tensor<8xf32>
// CHECK:       arith.truncf %[[Q]] : tensor<8xf32> to tensor<8xbf16>
func.func @divide_half(%o: memref<8xbf16>, %x: memref<8xbf16>, %y: memref<8xbf16>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xbf16>, index) -> bf16
    %b = "coil.load"(%y, %i) : (memref<8xbf16>, index) -> bf16
    %0 = arith.extf %a : bf16 to f32
    %1 = arith.extf %b : bf16 to f32
    %2 = arith.divf %0, %1 : f32
    %3 = arith.truncf %2 : f32 to bf16
    "coil.store"(%3, %o, %i) : (bf16, memref<8xbf16>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}

// -----

// A division marked coil.exact (addcdiv's on CUDA, where eager divides exactly
// before its fma) is tt.precise_divf whatever uses it; the fma stays one op.
// CHECK-LABEL: // @addcdiv_exact
// CHECK:       %[[Q:.+]] = tt.precise_divf %{{.+}}, %{{.+}} : tensor<8xf32>
// CHECK:       math.fma %{{.+}}, %[[Q]], %{{.+}} : tensor<8xf32>
func.func @addcdiv_exact(%o: memref<8xf32>, %x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>) attributes {coil.kernel} {
  %v = arith.constant -0.1 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<8xf32>, index) -> f32
    %b = "coil.load"(%y, %i) : (memref<8xf32>, index) -> f32
    %c = "coil.load"(%z, %i) : (memref<8xf32>, index) -> f32
    %q = arith.divf %b, %c {coil.exact} : f32
    %r = math.fma %v, %q, %a : f32
    "coil.store"(%r, %o, %i) : (f32, memref<8xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [8], reduction_ranges = []} : () -> ()
  return
}
