"""The decompositions coil asks AOTAutograd for: PyTorch's core-ATen table plus
the composite ops that coil builds from simpler pieces (softmax, layer norm,
GELU, ...), as Inductor's `select_decomp_table` does."""

from __future__ import annotations

import functools

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
    aten.var_mean,
    aten.full_like,
    aten.glu,
]

# Ops the core table would decompose but coil lowers directly, better.
KEEP = {
    aten.std.correction,
    aten.sum.default,
    aten.all.default,
}


@functools.lru_cache(maxsize=None)
def decomposition_table() -> dict:
    table = dict(core_aten_decompositions())
    table.update(get_decompositions(EXTRA_DECOMPOSITIONS))
    for op in KEEP:
        table.pop(op, None)
    return table
