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
        with gm.graph.inserting_before(node):
            op = gm.graph.call_function(_RESTORED[inner.target], (self_, *inner.args), {"value": value})
        op.meta = dict(node.meta)
        node.replace_all_uses_with(op)
        gm.graph.erase_node(node)
        gm.graph.erase_node(inner)
        restored += 1
    if restored:
        gm.recompile()
    return restored
