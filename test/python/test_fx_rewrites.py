"""frontend/fx_rewrites.py: Dynamo's split addcmul_/addcdiv_ put back before import."""

from __future__ import annotations

import torch
import torch._inductor.inductor_prims  # noqa: F401  (registers prims.fma)
from torch.fx.experimental.proxy_tensor import make_fx

from coil.frontend.fx_rewrites import restore_fused_updates

aten = torch.ops.aten


def _calls(gm) -> list:
    return [(n.target, n.kwargs) for n in gm.graph.nodes if n.op == "call_function"]


def test_product_and_fma_become_addcmul_and_quotient_and_fma_addcdiv():
    """As Dynamo writes `a.addcmul_(b, c, value=0.1)` and `a.addcdiv_(b, c, value=-2)`."""
    a, b, c = (torch.randn(8, dtype=torch.bfloat16) for _ in range(3))

    def f(a, b, c):
        return torch.ops.prims.fma(b * c, 0.1, a), torch.ops.prims.fma(b / c, -2, a)

    gm = make_fx(f)(a, b, c)
    assert restore_fused_updates(gm) == 2
    assert _calls(gm) == [(aten.addcmul.default, {"value": 0.1}), (aten.addcdiv.default, {"value": -2})]
    expected = (torch.addcmul(a, b, c, value=0.1), torch.addcdiv(a, b, c, value=-2))
    for got, want in zip(gm(a, b, c), expected):
        assert torch.equal(got, want)


def test_a_product_with_other_users_a_tensor_value_or_integer_quotient_stays():
    a, b, c = (torch.randn(8) for _ in range(3))
    i, j = torch.arange(1, 9), torch.arange(2, 10)

    def shared(a, b, c):
        p = b * c
        return torch.ops.prims.fma(p, 0.1, a), p

    def tensor_value(a, b, c):
        return torch.ops.prims.fma(b * c, c[0], a)

    def integers(a, i, j):
        return torch.ops.prims.fma(i / j, 0.5, a)

    for fn, args in ((shared, (a, b, c)), (tensor_value, (a, b, c)), (integers, (a, i, j))):
        gm = make_fx(fn)(*args)
        before = _calls(gm)
        assert restore_fused_updates(gm) == 0 and _calls(gm) == before, fn.__name__


def test_dynamos_foreach_lerp_becomes_lerp_for_small_weights():
    """Dynamo's foreach lerp polyfill for |w| < 0.5: d = y - x, addcmul(x, full_like(d, w), d)."""
    x, y = torch.randn(8, dtype=torch.bfloat16), torch.randn(8, dtype=torch.bfloat16)

    def polyfill(x, y, w):
        d = y - x
        return torch.addcmul(x, torch.full_like(d, w), d)

    gm = make_fx(lambda x, y: polyfill(x, y, 0.1))(x, y)
    assert restore_fused_updates(gm) == 1
    assert _calls(gm) == [(aten.lerp.Scalar, {})]
    assert torch.equal(gm(x, y), torch.lerp(x, y, 0.1))
    large = make_fx(lambda x, y: polyfill(x, y, 0.7))(x, y)
    assert restore_fused_updates(large) == 0
