"""The decompositions coil asks AOTAutograd for: PyTorch's core-ATen table plus
the composite ops that coil builds from simpler pieces (softmax, layer norm,
GELU, ...), as Inductor's `select_decomp_table` does."""

from __future__ import annotations

import functools
import math

import torch
from torch._decomp import core_aten_decompositions, get_decompositions

aten = torch.ops.aten

# Ops PyTorch keeps in core ATen that coil rather builds from pointwise and
# reduction pieces, so fusion can later see through them.
EXTRA_DECOMPOSITIONS = [
    aten._softmax,
    aten._log_softmax,
    aten.native_layer_norm,
    aten.native_group_norm,
    aten.native_batch_norm,
    aten._native_batch_norm_legit,
    aten._native_batch_norm_legit_no_training,
    aten._native_batch_norm_legit_functional,
    aten.gelu,
    aten.hardtanh,
    aten.leaky_relu,
    aten.elu,
    aten.embedding,
    aten.index_select,
    aten.full_like,
    aten.glu,
]

# Ops the core table would decompose but coil lowers directly, better.
KEEP = {
    aten.addcmul.default,
    aten.addcmul_.default,
    aten.addcdiv.default,
    aten.addcdiv_.default,
    aten.lerp.Scalar,
    aten.lerp.Tensor,
    aten.lerp_.Scalar,
    aten.lerp_.Tensor,
    aten.std.correction,
    aten.sum.default,
    aten.all.default,
}


def transformer_encoder_layer_fwd(
    src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu, norm_first, eps,
    norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2,
    mask=None, mask_type=None,
):
    """nn.TransformerEncoderLayer's inference fast path, in pieces coil compiles.

    Eager runs one fused kernel when gradients are off; decomposed, its
    layer norms, softmax and activations become coil kernels and only the
    matrix products stay ATen calls.
    """
    if mask is not None or src.dim() != 3:
        return NotImplemented
    F = torch.nn.functional
    batch, length, dim = src.shape
    head_dim = dim // num_heads

    def attention(x):
        q, k, v = F.linear(x, qkv_weight, qkv_bias).split(dim, dim=-1)
        q, k, v = (t.reshape(batch, length, num_heads, head_dim).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax((q @ k.transpose(-2, -1)) / math.sqrt(head_dim), dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
        return F.linear(out, proj_weight, proj_bias)

    def feed_forward(x):
        hidden = F.linear(x, ffn_weight_1, ffn_bias_1)
        hidden = F.gelu(hidden) if use_gelu else F.relu(hidden)
        return F.linear(hidden, ffn_weight_2, ffn_bias_2)

    def norm1(x):
        return F.layer_norm(x, (dim,), norm_weight_1, norm_bias_1, eps)

    def norm2(x):
        return F.layer_norm(x, (dim,), norm_weight_2, norm_bias_2, eps)

    if norm_first:
        x = src + attention(norm1(src))
        return x + feed_forward(norm2(x))
    x = norm1(src + attention(src))
    return norm2(x + feed_forward(x))


def log_softmax(x, dim, half_to_float):
    """aten._log_softmax with the roundings of ATen's CPU kernel.

    Over the last dim (the kernel ATen picks when every dim after `dim` has size
    1), a float16 or bfloat16 input's sum of exponentials is stored in the input
    dtype, and so is its log: both are rounded before the subtraction.
    Elsewhere, and on CUDA, the computation is float32 throughout, as PyTorch's
    decomposition.
    """
    from torch._decomp.decompositions import _log_softmax as reference

    dim = dim % max(x.dim(), 1)
    inner = math.prod(x.shape[dim + 1 :])
    if (
        x.device.type != "cpu"
        or x.dtype not in (torch.float16, torch.bfloat16)
        or half_to_float
        or inner != 1
        or x.numel() == 0
    ):
        return reference(x, dim, half_to_float)
    xf = x.contiguous().float()
    shifted = xf - torch.amax(xf, dim, keepdim=True)
    total = torch.sum(torch.exp(shifted), dim, keepdim=True).to(x.dtype).float()
    log_total = torch.log(total).to(x.dtype).float()
    return (shifted - log_total).to(x.dtype)


def flash_attention_for_cpu(query, key, value, dropout_p=0.0, is_causal=False, *, attn_mask=None, scale=None):
    """aten._scaled_dot_product_flash_attention_for_cpu as matrix products, a masked
    scale, and the softmax written with its log-sum-exp.

    PyTorch's own decomposition returns the attention weights where the op
    returns the log-sum-exp, which is right only when nothing reads it; the
    backward (`_scaled_dot_product_flash_attention_for_cpu_backward`, an ATen
    call) does. Here the second result is the row-wise log-sum-exp of the
    scaled scores, in float32, as the kernel computes it.
    """
    if dropout_p != 0.0 or query.dtype not in (torch.float32, torch.float64) or query.size(1) != key.size(1):
        return NotImplemented
    scale = scale if scale is not None else 1.0 / math.sqrt(query.size(-1))
    scores = torch.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        keep = torch.ones(query.size(-2), key.size(-2), dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    log_sum_exp = torch.logsumexp(scores, dim=-1)
    # A row masked out entirely has no weights (and a log-sum-exp of -inf).
    finite = torch.where(torch.isinf(log_sum_exp), torch.zeros_like(log_sum_exp), log_sum_exp)
    weights = torch.exp(scores - finite.unsqueeze(-1))
    output = torch.matmul(weights, value)
    return output, log_sum_exp.to(torch.float32)


# Foreach ops whose trailing scalar is the per-tensor op's keyword `value`.
_FOREACH_VALUE_KEYWORD = {"addcdiv", "addcmul"}


# Overloads that do not map argument-for-argument onto the per-tensor op: a
# tensor of per-element scalars (it would need `.item()`), and norm's
# keyword-only dtype. They stay ATen calls.
_FOREACH_SKIPPED = {
    ("_foreach_addcdiv", "Tensor"),
    ("_foreach_addcmul", "Tensor"),
    ("_foreach_norm", "Scalar"),
}


def _foreach_decomposition(name: str):
    """`aten._foreach_<name>` as the per-tensor op on each list element.

    CUDA optimizers (the default `foreach` implementation) update all
    parameters with one foreach call per step; Inductor lowers these to
    pointwise kernels, and so does coil once they are split per tensor.
    Arguments that are lists are indexed; single tensors and scalars are shared.
    """
    base = getattr(aten, name)

    def decompose(*args, **kwargs):
        count = len(next(a for a in args if isinstance(a, (list, tuple))))

        def element(a, i):
            return a[i] if isinstance(a, (list, tuple)) else a

        results = []
        for i in range(count):
            items = [element(a, i) for a in args]
            keywords = dict(kwargs)
            if name in _FOREACH_VALUE_KEYWORD and len(items) == 4:
                keywords["value"] = items.pop()
            results.append(base(*items, **keywords))
        return results

    return decompose


def foreach_decompositions() -> dict:
    """Decompositions of every functional `aten._foreach_*` overload that has a
    per-tensor counterpart (`_foreach_pow.ScalarAndTensor` too: its list comes second)."""
    table = {}
    names = {s.name.removeprefix("aten::") for s in torch._C._jit_get_all_schemas() if s.name.startswith("aten::_foreach_")}
    for packet_name in sorted(names):
        if packet_name.endswith("_"):
            continue
        name = packet_name.removeprefix("_foreach_")
        if not hasattr(aten, name):
            continue
        packet = getattr(aten, packet_name)
        for overload_name in packet.overloads():
            overload = getattr(packet, overload_name)
            arguments = overload._schema.arguments
            if overload_name == "out" or not any(str(a.type) == "List[Tensor]" for a in arguments[:2]):
                continue
            if len(overload._schema.returns) != 1 or (packet_name, overload_name) in _FOREACH_SKIPPED:
                continue
            table[overload] = _foreach_decomposition(name)
    return table


@functools.lru_cache(maxsize=None)
def decomposition_table() -> dict:
    table = dict(core_aten_decompositions())
    table.update(foreach_decompositions())
    table.update(get_decompositions(EXTRA_DECOMPOSITIONS))
    table[aten._transformer_encoder_layer_fwd.default] = transformer_encoder_layer_fwd
    table[aten._log_softmax.default] = log_softmax
    table[aten._scaled_dot_product_flash_attention_for_cpu.default] = flash_attention_for_cpu
    for op in KEEP:
        table.pop(op, None)
    return table
