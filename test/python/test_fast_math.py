"""coil-expand-math (backends/llvm/fast_math.py): f32 exp, expm1, log, log1p, tanh and erf
written out as vectorizable arithmetic.

Each expansion is JIT-compiled and run over dense samples of the whole f32
range (every 1009th bit pattern of each sign: subnormals, tiny, huge), a dense
grid of [-10, 10] and the special values, and compared with float64 references
in ulp of the correctly rounded f32 result. Then whole models through
`torch.compile(backend="coil")` against eager.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coil.backends.llvm.jit import compile_cpu_kernels
from test_ops_util import check, coil_test_env  # noqa: F401  (the autouse fixture)

# op -> (float64 reference, max ulp error allowed). Measured maxima over every 127th
# bit pattern: exp 0.99, expm1 1.34, log 0.83, log1p 0.86, tanh 1.47, erf 1.47.
FUNCTIONS = {
    "math.exp": (torch.exp, 2.0),
    "math.expm1": (torch.expm1, 2.0),
    "math.log": (torch.log, 2.0),
    "math.log1p": (torch.log1p, 2.0),
    "math.tanh": (torch.tanh, 2.0),
    "math.erf": (torch.erf, 2.0),
}

SPECIALS = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1.0, -1.0, 2.0**-149, -(2.0**-149),
            2.0**-126, 3.4028234663852886e38, -3.4028234663852886e38, 88.72, 88.73, -87.4, -104.0, 9.02,
            3.92, 4.0, 0.55, -0.55, 1e-30, -1e-30, -0.9999999403953552, -1.0000001192092896]


def unary_kernel(op: str, n: int) -> str:
    return f"""
func.func @k(%out: memref<{n}xf32>, %x: memref<{n}xf32>) attributes {{coil.kernel}} {{
  "coil.loop_nest"() ({{
  ^bb0(%i: index):
    %a = "coil.load"(%x, %i) : (memref<{n}xf32>, index) -> f32
    %b = {op} %a : f32
    "coil.store"(%b, %out, %i) : (f32, memref<{n}xf32>, index) -> ()
    "coil.yield"() : () -> ()
  }}) {{ranges = [{n}], reduction_ranges = []}} : () -> ()
  return
}}"""


@pytest.fixture(scope="module")
def samples() -> torch.Tensor:
    positive = np.arange(0, 0x7F800000, 1009, dtype=np.int64).astype(np.int32).view(np.float32)
    grid = np.linspace(-10, 10, 100001, dtype=np.float32)
    x = np.concatenate([np.array(SPECIALS, np.float32), positive, -positive, grid])
    return torch.from_numpy(x)


def ulp_error(out: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """|out - exact| in ulp of the correctly rounded f32 value; 0 where that is not finite."""
    rounded = exact.float()
    ulp = torch.from_numpy(np.spacing(rounded.abs().numpy())).double()
    err = (out.double() - exact).abs() / ulp
    return torch.where(torch.isfinite(rounded), err, torch.zeros((), dtype=torch.float64))


@pytest.mark.parametrize("op", list(FUNCTIONS))
def test_expansion_is_within_ulp_bound_over_f32_range(op, samples, coil_test_env):
    if coil_test_env != "cpu":
        pytest.skip("the JIT runs on the CPU")
    reference, bound = FUNCTIONS[op]
    x = samples
    out = torch.empty_like(x)
    kernels = compile_cpu_kernels(unary_kernel(op, x.numel()), threads=1, check=True)
    next(iter(kernels.values()))(out, x)
    exact = reference(x.double())
    rounded = exact.float()
    err = ulp_error(out, exact)
    worst = int(err.argmax())
    assert err.max() <= bound, f"{op}: {err.max():.3f} ulp at x={x[worst].item()!r}: {out[worst].item()!r}, want {exact[worst].item()!r}"
    # Special values as libm: NaN where NaN, the same infinities, signed zeros kept.
    assert torch.equal(out.isnan(), rounded.isnan())
    infinite = rounded.isinf()
    assert torch.equal(out[infinite], rounded[infinite])
    zero = rounded == 0
    assert torch.equal(out[zero], rounded[zero]) and torch.equal(out[zero].signbit(), rounded[zero].signbit())


def test_small_arguments_keep_their_digits(coil_test_env):
    """expm1 and log1p near 0 must not be exp(x) - 1 or log(1 + x)."""
    if coil_test_env != "cpu":
        pytest.skip("the JIT runs on the CPU")
    x = torch.cat([torch.logspace(-38, -1, 2000), -torch.logspace(-38, -1, 2000)]).float()
    for op, reference in (("math.expm1", torch.expm1), ("math.log1p", torch.log1p), ("math.tanh", torch.tanh),
                          ("math.erf", torch.erf)):
        out = torch.empty_like(x)
        next(iter(compile_cpu_kernels(unary_kernel(op, x.numel()), threads=1).values()))(out, x)
        assert ulp_error(out, reference(x.double())).max() <= 2.0, op


def test_f64_is_left_to_libm():
    from coil.dialects import make_context
    from coil.mlir import ir
    from coil.passes.registry import build_pass_manager

    src = unary_kernel("math.tanh", 8).replace("f32", "f64")
    with make_context():
        module = ir.Module.parse(src)
        build_pass_manager("coil-lower-loop-nests, coil-expand-math").run(module.operation)
        assert "math.tanh" in str(module)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


@pytest.mark.parametrize(
    "fn",
    [F.gelu, gelu_tanh, torch.tanh, lambda x: F.log_softmax(x, -1), torch.erf, torch.log, torch.log1p,
     torch.expm1, lambda x: F.cross_entropy(x, torch.arange(x.shape[0], device=x.device) % x.shape[1])],
    ids=["gelu", "gelu_tanh", "tanh", "log_softmax", "erf", "log", "log1p", "expm1", "cross_entropy"],
)
def test_models_match_eager(fn, coil_test_env):
    x = torch.randn(64, 257) * 4
    x[0, :8] = torch.tensor([0.0, -0.0, 1e-7, -1e-7, 30.0, -30.0, 1e-30, 9.5])
    if fn in (torch.log, torch.log1p):
        x = x.abs()
    check(fn, x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["f32", "f16", "bf16"])
@pytest.mark.parametrize(
    "fn",
    [lambda x: torch.softmax(x, -1), lambda x, b: F.gelu(x + b), lambda x: torch.exp(x), lambda x: torch.erf(x)],
    ids=["softmax", "bias_gelu", "exp", "erf"],
)
def test_exp_and_erf_users_match_eager_in_every_dtype(fn, dtype, coil_test_env):
    """Half-precision kernels compute in f32 through the same expansions; eager's tolerances per dtype."""
    x = torch.randn(48, 333) * 5
    x[0, :6] = torch.tensor([-110.0, -90.0, 88.0, 3.91, 3.93, -1.0])  # exp underflow, erf's branch ends
    args = (x.to(dtype),) if fn.__code__.co_argcount == 1 else (x.to(dtype), torch.randn(333).to(dtype))
    check(fn, *args)


def test_special_values_match_eager(coil_test_env):
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -1.0, -2.0, 1e-45, -1e-45, 1e-20])

    def fn(x):
        return torch.tanh(x), torch.erf(x), torch.log(x), torch.log1p(x), torch.expm1(x), torch.exp(x)

    out = check(fn, x, equal_nan=True)
    assert out[0][4].signbit() and out[1][4].signbit() and out[3][4].signbit() and out[4][4].signbit()
