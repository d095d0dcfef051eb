"""Rewrites of the ATen graph before import: ops Dynamo split apart, put back.

Dynamo traces `t.addcmul_(t1, t2, value=v)` as `torch.mul(t1, t2)` and
Inductor's `prims.fma(product, v, t)` (and `addcdiv_` with `torch.div`), to
avoid a graph break on `value`. Inductor keeps a fused kernel's intermediates
in float32, so for it that is still eager CUDA's fma(v, t1 * t2, t). coil
rounds every ATen op's result to its dtype, as eager does, so a bfloat16
product would be rounded before the fma, which eager never does: one ulp in
an optimizer's second moment moves a small parameter's update by percents.
`restore_fused_updates` turns the pair back into the `aten.addcmul` or
`aten.addcdiv` the user called, which coil lowers in the device's eager order.

Likewise Dynamo compiles `torch._foreach_lerp_(xs, ys, w)` (|w| < 0.5, as
optimizers' first moments use it) as d = y - x, then addcmul(x, full_like(d,
w), d): in half precision the difference and the weight would each be
rounded to the dtype, where eager's lerp computes in float32 and rounds
once. That triple is put back as `aten.lerp.Scalar(x, y, w)`.
"""

from __future__ import annotations

import torch
import torch.fx

aten = torch.ops.aten
# Inductor registers prims.fma when torch._inductor.inductor_prims is imported: compared by name.
_FMA = "prims.fma.default"

_RESTORED = {aten.mul.Tensor: aten.addcmul.default, aten.div.Tensor: aten.addcdiv.default}


def _floating(node) -> bool:
    value = node.meta.get("val") if isinstance(node, torch.fx.Node) else None
    return isinstance(value, torch.Tensor) and value.dtype.is_floating_point


def _replace(gm: torch.fx.GraphModule, node, target, args: tuple, kwargs: dict, dead: list) -> None:
    """`node` -> target(*args, **kwargs) (same metadata); then `node` and the `dead`
    nodes it leaves without users are erased, in that order."""
    with gm.graph.inserting_before(node):
        op = gm.graph.call_function(target, args, kwargs)
    op.meta = dict(node.meta)
    node.replace_all_uses_with(op)
    for erased in [node, *dead]:
        gm.graph.erase_node(erased)


def restore_fused_updates(gm: torch.fx.GraphModule) -> int:
    """fma(t1 * t2, value, self) -> addcmul(self, t1, t2, value=value), and with
    t1 / t2 -> addcdiv, where the product (quotient) has no other user and
    `value` is a Python number. Returns how many it restored."""
    restored = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or str(node.target) != _FMA or len(node.args) != 3:
            continue
        inner, value, self_ = node.args
        if not isinstance(inner, torch.fx.Node) or inner.target not in _RESTORED or len(inner.users) != 1:
            continue
        if inner.kwargs or len(inner.args) != 2 or not all(isinstance(a, torch.fx.Node) for a in inner.args):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(self_, torch.fx.Node):
            continue
        if inner.target is aten.div.Tensor and not all(_floating(a) for a in inner.args):
            continue  # integer addcdiv is an error in eager
        _replace(gm, node, _RESTORED[inner.target], (self_, *inner.args), {"value": value}, dead=[inner])
        restored += 1
    restored += _restore_lerps(gm)
    if restored:
        gm.recompile()
    return restored


def _restore_lerps(gm: torch.fx.GraphModule) -> int:
    """addcmul(x, full_like(d, w), d) with d = y - x, value 1 and |w| < 0.5, the
    difference and the weights used by nothing else -> lerp(x, y, w)."""
    restored = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not aten.addcmul.default or node.kwargs.get("value", 1) != 1:
            continue
        if len(node.args) != 3 or not all(isinstance(a, torch.fx.Node) for a in node.args):
            continue
        x, weights, diff = node.args
        if weights.target is not aten.full_like.default or diff.target is not aten.sub.Tensor:
            continue
        if weights.args[0] is not diff or set(weights.users) != {node} or set(diff.users) != {node, weights}:
            continue
        w = weights.args[1]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not abs(w) < 0.5:
            continue
        if set(weights.kwargs) - {"pin_memory"} or diff.kwargs or len(diff.args) != 2 or diff.args[1] is not x:
            continue
        _replace(gm, node, aten.lerp.Scalar, (x, diff.args[0], w), {}, dead=[weights, diff])
        restored += 1
    return restored
