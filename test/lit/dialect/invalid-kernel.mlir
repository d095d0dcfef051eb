// Every verifier error of the kernel- and host-level coil ops, one chunk each.
// RUN: %coil-opt %s --split-input-file --verify-diagnostics

func.func @loop_nest_ranges_not_integers() {
  // expected-error @+1 {{'coil.loop_nest' op 'ranges' and 'reduction_ranges' must be arrays of integers}}
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = ["x"]} : () -> ()
  return
}

// -----

func.func @loop_nest_two_blocks() {
  // expected-error @+1 {{'coil.loop_nest' op body must have exactly one block, found 2}}
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.yield"() : () -> ()
  ^bb1:
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

func.func @loop_nest_index_count() {
  // expected-error @+1 {{'coil.loop_nest' op body must take 2 index arguments, one per range, found 1}}
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @loop_nest_index_type() {
  // expected-error @+1 {{'coil.loop_nest' op body argument #0 must be an index, found i32}}
  "coil.loop_nest"() ({
  ^bb0(%i: i32):
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

func.func @loop_nest_no_yield(%out: memref<4xf32>, %c: f32) {
  // expected-error @+1 {{'coil.loop_nest' op body must end in 'coil.yield'}}
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.store"(%c, %out, %i) : (f32, memref<4xf32>, index) -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

func.func @loop_nest_yields_value(%c: f32) {
  // expected-error @+1 {{'coil.loop_nest' op body must yield no values: it writes with 'coil.store'}}
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    "coil.yield"(%c) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

func.func @reduce_unknown_type(%c: f32) {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    // expected-error @+1 {{'coil.reduce' op reduction_type 'average' is not one of sum, prod, max, min, argmax, argmin, any, xor_sum, welford}}
    %s = "coil.reduce"(%c) {reduction_type = "average"} : (f32) -> f32
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @reduce_result_count(%c: f32) {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    // expected-error @+1 {{'coil.reduce' op 'welford' produces 3 results, found 1}}
    %s = "coil.reduce"(%c) {reduction_type = "welford"} : (f32) -> f32
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @reduce_outside_loop_nest(%c: f32) {
  // expected-error @+1 {{'coil.reduce' op must be inside a 'coil.loop_nest'}}
  %s = "coil.reduce"(%c) {reduction_type = "sum"} : (f32) -> f32
  return
}

// -----

func.func @reduce_without_reduction_ranges(%c: f32) {
  "coil.loop_nest"() ({
  ^bb0(%i: index):
    // expected-error @+1 {{'coil.reduce' op enclosing 'coil.loop_nest' has no reduction ranges}}
    %s = "coil.reduce"(%c) {reduction_type = "sum"} : (f32) -> f32
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = []} : () -> ()
  return
}

// -----

func.func @reduce_argmin_not_i64(%c: f32) {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    // expected-error @+1 {{'coil.reduce' op 'argmin' result must have i64 elements, found f32}}
    %s = "coil.reduce"(%c) {reduction_type = "argmin"} : (f32) -> f32
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @reduce_any_not_i1(%c: i1) {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    // expected-error @+1 {{'coil.reduce' op 'any' result must have i1 elements, found i32}}
    %s = "coil.reduce"(%c) {reduction_type = "any"} : (i1) -> i32
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @reduce_element_type(%c: f32) {
  "coil.loop_nest"() ({
  ^bb0(%i: index, %r: index):
    // expected-error @+1 {{'coil.reduce' op result #2 element type f64 does not match the reduced f32}}
    %s:3 = "coil.reduce"(%c) {reduction_type = "welford"} : (f32) -> (f32, f32, f64)
    "coil.yield"() : () -> ()
  }) {ranges = [4], reduction_ranges = [8]} : () -> ()
  return
}

// -----

func.func @store_into_tensor(%x: tensor<4xf32>, %c: f32, %i: index) {
  // expected-error @+1 {{'coil.store' op destination must be a memref, found tensor<4xf32>}}
  "coil.store"(%c, %x, %i) : (f32, tensor<4xf32>, index) -> ()
  return
}

// -----

func.func @store_index_count(%out: memref<4x8xf32>, %c: f32, %i: index) {
  // expected-error @+1 {{'coil.store' op expects 2 indices for a rank-2 buffer, found 1}}
  "coil.store"(%c, %out, %i) : (f32, memref<4x8xf32>, index) -> ()
  return
}

// -----

func.func @store_value_type(%out: memref<4xf32>, %c: f64, %i: index) {
  // expected-error @+1 {{'coil.store' op stores f64 into a buffer of f32}}
  "coil.store"(%c, %out, %i) : (f64, memref<4xf32>, index) -> ()
  return
}

// -----

func.func @alloc_tensor() {
  // expected-error @+1 {{'coil.alloc' op result must be a memref, found tensor<4xf32>}}
  %0 = "coil.alloc"() {device = "cpu"} : () -> tensor<4xf32>
  return
}

// -----

func.func @alloc_no_device() {
  // expected-error @+1 {{'coil.alloc' op device must not be empty}}
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}

// -----

func.func @dealloc_tensor(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.dealloc' op operand must be a memref, found tensor<4xf32>}}
  "coil.dealloc"(%x) : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @reuse_tensor(%x: tensor<4xf32>) {
  // expected-error @+1 {{'coil.reuse' op source and result must be memrefs}}
  %0 = "coil.reuse"(%x) : (tensor<4xf32>) -> memref<4xf32>
  return
}

// -----

func.func @reuse_element_type(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.reuse' op cannot reuse a buffer of f32 for i32}}
  %0 = "coil.reuse"(%b) : (memref<4xf32>) -> memref<4xi32>
  return
}

// -----

func.func @reuse_size(%b: memref<4x2xf32>) {
  // expected-error @+1 {{'coil.reuse' op cannot reuse a buffer of 8 elements for one of 6}}
  %0 = "coil.reuse"(%b) : (memref<4x2xf32>) -> memref<2x3xf32>
  return
}

// -----

func.func @kernel(%b: memref<4xf32>) {
  return
}
func.func @launch_no_block() {
  // expected-error @+1 {{'coil.launch' op argument region must have exactly one block, found 0}}
  "coil.launch"() ({
  }) {kernel = @kernel} : () -> ()
  return
}

// -----

func.func @kernel(%b: memref<4xf32>) {
  return
}
func.func @launch_block_arguments(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.launch' op argument region must take no block arguments}}
  "coil.launch"() ({
  ^bb0(%i: index):
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @kernel} : () -> ()
  return
}

// -----

func.func @kernel(%b: memref<4xf32>) {
  return
}
func.func @launch_yield_values(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.launch' op argument region must end in a 'coil.yield' with no values}}
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.yield"(%b) : (memref<4xf32>) -> ()
  }) {kernel = @kernel} : () -> ()
  return
}

// -----

func.func @kernel(%b: memref<4xf32>) {
  return
}
func.func @launch_other_op(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.launch' op argument region may hold only 'coil.arg', found 'coil.alloc'}}
  "coil.launch"() ({
    %0 = "coil.alloc"() {device = "cpu"} : () -> memref<4xf32>
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @kernel} : () -> ()
  return
}

// -----

func.func @launch_missing_kernel(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.launch' op kernel '@missing' does not exist}}
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @missing} : () -> ()
  return
}

// -----

func.func @kernel(%in: memref<4x8xf32>, %out: memref<4xf32>) {
  return
}
func.func @launch_argument_types(%b: memref<4xf32>) {
  // expected-error @+1 {{'coil.launch' op arguments (memref<4xf32>) do not match kernel '@kernel' (memref<4x8xf32>, memref<4xf32>)}}
  "coil.launch"() ({
    "coil.arg"(%b) : (memref<4xf32>) -> ()
    "coil.yield"() : () -> ()
  }) {kernel = @kernel} : () -> ()
  return
}
