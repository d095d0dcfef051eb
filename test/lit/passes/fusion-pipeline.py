# RUN: %python %s | filecheck %s
# Fusion on real graphs: the kernels left after coil-inline-producers and
# coil-fuse-kernels, for graphs traced from PyTorch.

import torch

from coil.frontend.trace import trace_to_coil
from coil.passes.registry import build_pass_manager

PIPELINE = (
    "builtin.module(coil-fold-views, canonicalize, cse, coil-inline-producers, canonicalize, cse, "
    "coil-outline-kernels, coil-fuse-kernels)"
)


def kernels(fn, *args):
    graph = trace_to_coil(fn, *args)
    with graph.context:
        build_pass_manager(PIPELINE).run(graph.module.operation)
    return graph.module


def run(fn):
    print(f"// TEST: {fn.__name__}")
    fn()
    return fn


def chain_of_ten(x):
    for i in range(10):
        x = torch.sin(x) if i % 2 else x * 1.5 + 1
    return x


# A chain of 10 pointwise ops is one kernel.
# CHECK-LABEL: // TEST: pointwise_chain
# CHECK: func.func @graph
# CHECK-COUNT-1: attributes {coil.kernel}
# CHECK-NOT: attributes {coil.kernel}
# CHECK: // END
@run
def pointwise_chain():
    print(kernels(chain_of_ten, torch.randn(64)))
    print("// END")


# softmax: max, sum of exp and the division in one kernel, three passes over a row.
# CHECK-LABEL: // TEST: softmax
# CHECK: func.func @graph
# CHECK: attributes {coil.kernel}
# CHECK: "coil.reduce"({{.*}}) {reduction_type = "max"}
# CHECK: "coil.reduce"({{.*}}) {reduction_type = "sum"}
# CHECK: arith.divf
# CHECK-NOT: attributes {coil.kernel}
# CHECK: // END
@run
def softmax():
    print(kernels(lambda x: torch.softmax(x, -1), torch.randn(8, 32)))
    print("// END")


# layer norm: one welford reduction and the normalization in one kernel.
# CHECK-LABEL: // TEST: layer_norm
# CHECK: func.func @graph
# CHECK: attributes {coil.kernel}
# CHECK: reduction_type = "welford"
# CHECK: math.rsqrt
# CHECK-NOT: attributes {coil.kernel}
# CHECK: // END
@run
def layer_norm():
    w, b = torch.randn(32), torch.randn(32)
    print(kernels(lambda x: torch.nn.functional.layer_norm(x, (32,), w, b), torch.randn(8, 32)))
    print("// END")


# A reduction's output read at another row cannot be forwarded: two kernels.
# CHECK-LABEL: // TEST: shifted_read_is_not_fused
# CHECK: func.func @graph
# CHECK-COUNT-2: attributes {coil.kernel}
# CHECK-NOT: attributes {coil.kernel}
# CHECK: // END
@run
def shifted_read_is_not_fused():
    print(kernels(lambda x: x.sum(-1).roll(1, 0) * 2, torch.randn(8, 32)))
    print("// END")
