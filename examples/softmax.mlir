// Softmax over the rows of x^T, as the coil importer would write it for
// `torch.softmax(x.t(), dim=1)`: a transpose view, a max reduction, a pointwise
// exp, a sum reduction and a pointwise divide. coil-fold-views folds the view
// into the loads that read it; canonicalize then cleans up the index maps.
#transpose = affine_map<(d0, d1) -> (d1, d0)>
func.func @softmax(%x: tensor<8x4xf32>) -> tensor<4x8xf32> {
  %xt = "coil.view"(%x) {map = #transpose} : (tensor<8x4xf32>) -> tensor<4x8xf32>
  %max = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%xt, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "max"} : () -> tensor<4xf32>
  %exp = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%xt, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    %m = "coil.load"(%max, %i) : (tensor<4xf32>, index) -> f32
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    "coil.yield"(%e) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  %sum = "coil.reduction"() ({
  ^bb0(%i: index, %r: index):
    %v = "coil.load"(%exp, %i, %r) : (tensor<4x8xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [4], reduction_ranges = [8], reduction_type = "sum"} : () -> tensor<4xf32>
  %out = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %e = "coil.load"(%exp, %i, %j) : (tensor<4x8xf32>, index, index) -> f32
    %s = "coil.load"(%sum, %i) : (tensor<4xf32>, index) -> f32
    %q = arith.divf %e, %s : f32
    "coil.yield"(%q) : (f32) -> ()
  }) {ranges = [4, 8]} : () -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}
