// RUN: coil-translate --coil-to-ttir --split-input-file %s | filecheck %s
// RUN: coil-translate --coil-to-ttir --split-input-file --persistent=false --xblock=1 --rblock=16 %s | filecheck %s --check-prefix=LOOPED

// argmax reduces (value, position) pairs: the larger value wins, a NaN counts
// as the largest, and of equal values the smaller position (the first) wins.
// The position is the flat reduction index, stored as i64.

// CHECK-LABEL: // @argmax
// CHECK:       %[[R:.+]] = tt.broadcast %{{.+}} : tensor<1x64xi32> -> tensor<{{.+}}x64xi32>
// CHECK:       %[[RED:.+]]:2 = "tt.reduce"(%{{.+}}, %[[R]]) <{axis = 1 : i32}> ({
// CHECK-NEXT:  ^bb0(%[[A:.+]]: f32, %[[AI:.+]]: i32, %[[B:.+]]: f32, %[[BI:.+]]: i32):
// CHECK-NEXT:    %[[GT:.+]] = arith.cmpf ogt, %[[B]], %[[A]] : f32
// CHECK-NEXT:    %[[EQ:.+]] = arith.cmpf oeq, %[[A]], %[[B]] : f32
// CHECK-NEXT:    %[[ANAN:.+]] = arith.cmpf uno, %[[A]], %[[A]] : f32
// CHECK-NEXT:    %[[BNAN:.+]] = arith.cmpf uno, %[[B]], %[[B]] : f32
// CHECK-NEXT:    %[[AORD:.+]] = arith.cmpf ord, %[[A]], %[[A]] : f32
// CHECK-NEXT:    %[[NANWINS:.+]] = arith.andi %[[BNAN]], %[[AORD]] : i1
// CHECK-NEXT:    %[[BETTER:.+]] = arith.ori %[[GT]], %[[NANWINS]] : i1
// CHECK-NEXT:    %[[BOTHNAN:.+]] = arith.andi %[[ANAN]], %[[BNAN]] : i1
// CHECK-NEXT:    %[[TIE:.+]] = arith.ori %[[EQ]], %[[BOTHNAN]] : i1
// CHECK-NEXT:    %[[FIRST:.+]] = arith.cmpi slt, %[[BI]], %[[AI]] : i32
// CHECK-NEXT:    %[[TIEFIRST:.+]] = arith.andi %[[TIE]], %[[FIRST]] : i1
// CHECK-NEXT:    %[[TAKE:.+]] = arith.ori %[[BETTER]], %[[TIEFIRST]] : i1
// CHECK-NEXT:    %[[V:.+]] = arith.select %[[TAKE]], %[[B]], %[[A]] : f32
// CHECK-NEXT:    %[[I:.+]] = arith.select %[[TAKE]], %[[BI]], %[[AI]] : i32
// CHECK-NEXT:    tt.reduce.return %[[V]], %[[I]] : f32, i32
// CHECK-NEXT:  })
// CHECK:       %[[POS:.+]] = tt.expand_dims %[[RED]]#1 {axis = 1 : i32}
// CHECK-NEXT:  %[[POS64:.+]] = arith.extsi %[[POS]] : tensor<{{.+}}x1xi32> to tensor<{{.+}}x1xi64>
// CHECK:       tt.store %{{.+}}, %[[POS64]] : tensor<{{.+}}x1x!tt.ptr<i64>>

// Looped, the pairs accumulate per lane with the same combine and the loop's
// position is the chunk offset plus the lane.
// LOOPED-LABEL: // @argmax
// LOOPED:       %{{.+}}:2 = scf.for %[[IV:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %{{.+}}, %[[ACCI:.+]] = %{{.+}}) -> (tensor<1x16xf32>, tensor<1x16xi32>) : i32 {
// LOOPED:         %[[OFF:.+]] = tt.splat %[[IV]] : i32 -> tensor<1x16xi32>
// LOOPED:         %[[POS:.+]] = arith.addi %[[OFF]], %{{.+}} : tensor<1x16xi32>
// LOOPED:         arith.cmpf ogt, %{{.+}}, %[[ACC]] : tensor<1x16xf32>
// LOOPED:         arith.cmpi slt, %[[POS]], %[[ACCI]] : tensor<1x16xi32>
// LOOPED:         scf.yield
// LOOPED:       "tt.reduce"
func.func @argmax(%out: memref<4xi64>, %x: memref<4x64xf32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<4x64xf32>, index, index) -> f32
    %p = "coil.reduce"(%v) {reduction_type = "argmax"} : (f32) -> i64
    "coil.store"(%p, %out, %i) : (i64, memref<4xi64>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [64]} : () -> ()
  return
}

// -----

// bool: i1 buffers are bytes (load compares with 0, store zero-extends), and
// `any` reduces bytes with ori.

// CHECK-LABEL: // @any_positive
// CHECK:       tt.func public @any_positive(%arg0: !tt.ptr<i8> {tt.divisibility = 16 : i32}, %arg1: !tt.ptr<i8> {tt.divisibility = 16 : i32}, %arg2: !tt.ptr<f32> {tt.divisibility = 16 : i32})
// CHECK:       %[[BYTE:.+]] = tt.load %{{.+}}{{.*}} : tensor<{{.+}}x!tt.ptr<i8>>
// CHECK-NEXT:  %[[FLAG:.+]] = arith.cmpi ne, %[[BYTE]], %{{.+}} : tensor<{{.+}}xi8>
// CHECK:       %[[POS:.+]] = arith.cmpf ogt
// CHECK:       %[[AND:.+]] = arith.andi %[[FLAG]], %[[POS]] : tensor<{{.+}}xi1>
// CHECK:       %[[WIDE:.+]] = arith.extui %[[AND]] : tensor<{{.+}}xi1> to tensor<{{.+}}xi8>
// CHECK:       "tt.reduce"(%[[WIDE]])
// CHECK:       arith.ori %{{.+}}, %{{.+}} : i8
// CHECK:       %[[RES:.+]] = arith.cmpi ne, %{{.+}}, %{{.+}} : tensor<{{.+}}x1xi8>
// CHECK-NEXT:  %[[OUT:.+]] = arith.extui %[[RES]] : tensor<{{.+}}x1xi1> to tensor<{{.+}}x1xi8>
// CHECK:       tt.store %{{.+}}, %[[OUT]] : tensor<{{.+}}x1x!tt.ptr<i8>>
func.func @any_positive(%out: memref<4xi1>, %m: memref<4x32xi1>, %x: memref<4x32xf32>) attributes {coil.kernel} {
  %zero = arith.constant 0.000000e+00 : f32
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %f = "coil.load"(%m, %i, %r) : (memref<4x32xi1>, index, index) -> i1
    %v = "coil.load"(%x, %i, %r) : (memref<4x32xf32>, index, index) -> f32
    %p = arith.cmpf ogt, %v, %zero : f32
    %b = arith.andi %f, %p : i1
    %a = "coil.reduce"(%b) {reduction_type = "any"} : (i1) -> i1
    "coil.store"(%a, %out, %i) : (i1, memref<4xi1>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [32]} : () -> ()
  return
}

// -----

// Sibling reductions share one pass: min (NaN-propagating minimumf), prod,
// and integer max/xor_sum; looped, all four accumulate in one scf.for.

// CHECK-LABEL: // @siblings
// CHECK:       arith.minimumf %{{.+}}, %{{.+}} : f32
// CHECK:       arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK:       arith.maxsi %{{.+}}, %{{.+}} : i32
// CHECK:       arith.xori %{{.+}}, %{{.+}} : i32

// LOOPED-LABEL: // @siblings
// LOOPED:       scf.for {{.+}} -> (tensor<1x16xf32>, tensor<1x16xf32>, tensor<1x16xi32>, tensor<1x16xi32>) : i32 {
// LOOPED-NOT:   scf.for
func.func @siblings(%o1: memref<4xf32>, %o2: memref<4xf32>, %o3: memref<4xi32>, %o4: memref<4xi32>, %x: memref<4x40xf32>, %n: memref<4x40xi32>) attributes {coil.kernel} {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%x, %i, %r) : (memref<4x40xf32>, index, index) -> f32
    %k = "coil.load"(%n, %i, %r) : (memref<4x40xi32>, index, index) -> i32
    %a = "coil.reduce"(%v) {reduction_type = "min"} : (f32) -> f32
    %b = "coil.reduce"(%v) {reduction_type = "prod"} : (f32) -> f32
    %c = "coil.reduce"(%k) {reduction_type = "max"} : (i32) -> i32
    %d = "coil.reduce"(%k) {reduction_type = "xor_sum"} : (i32) -> i32
    "coil.store"(%a, %o1, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.store"(%b, %o2, %i) : (f32, memref<4xf32>, index) -> ()
    "coil.store"(%c, %o3, %i) : (i32, memref<4xi32>, index) -> ()
    "coil.store"(%d, %o4, %i) : (i32, memref<4xi32>, index) -> ()
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [40]} : () -> ()
  return
}
