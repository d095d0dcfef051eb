"""The torch.compile backend: `torch.compile(model, backend="coil")`.

Registered through the `torch_dynamo_backends` entry point, so no import is
needed. Dynamo hands the backend an FX graph of torch-level ops; AOTAutograd
functionalizes it, decomposes it to core ATen with coil's decomposition
table, and calls coil's compiler on the forward graph (and on the backward
graph when gradients are needed).

Training graphs are split as Inductor splits them: the joint forward+backward
graph goes through `min_cut_rematerialization_partition`, which saves few
activations and recomputes cheap pointwise ones in the backward graph (they
fuse into the backward's kernels). The backward compiler gets the same coil
settings as the forward one, and AOTAutograd's donated buffers: saved
activations only the backward holds, which its memory plan may free at their
last use, overwrite in place and reuse (as Inductor's DonatedBuffer).

Input mutations stay in the graph (`keep_inference_input_mutations`): a graph
that updates an input in place (`x.add_(y)`, an optimizer step, BatchNorm's
running statistics) ends in `copy_(input, new_value)`, which coil compiles
into a kernel storing into the input's storage.
"""

from __future__ import annotations

import functools

import torch

from coil import config


def coil_backend(gm: torch.fx.GraphModule, example_inputs: list, options: dict | None = None, **kwargs):
    """A Dynamo backend; `options` are coil.config settings for this compilation."""
    from functorch.compile import min_cut_rematerialization_partition
    from torch._dynamo.backends.common import aot_autograd

    from coil.compile_fx import compile_fx
    from coil.frontend.decompositions import decomposition_table

    settings = config.validate_options(dict(options or {}, **kwargs))
    compiler = functools.partial(compile_fx, settings=settings)
    backend = aot_autograd(
        fw_compiler=compiler,
        bw_compiler=functools.partial(compile_fx, settings=settings, backward=True),
        inference_compiler=functools.partial(compile_fx, settings=settings, inference=True),
        partition_fn=functools.partial(min_cut_rematerialization_partition, compiler="inductor"),
        decompositions=decomposition_table(),
        keep_inference_input_mutations=True,
    )
    return backend(gm, example_inputs)


def compile(model=None, **kwargs):
    """`torch.compile(model, backend="coil", **kwargs)`."""
    return torch.compile(model, backend="coil", **kwargs)
