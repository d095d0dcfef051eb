"""Trace a Python function straight to the coil dialect, without Dynamo.

For tests and for looking at what coil makes of a piece of PyTorch:
`print(trace_to_coil(fn, x, y).module)` shows the graph-level IR. The
function is traced to ATen with make_fx and coil's decomposition table, as
AOTAutograd would do for torch.compile.
"""

from __future__ import annotations

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from .decompositions import decomposition_table
from .importer import GraphImporter, ImportedGraph


def trace_to_coil(fn, *inputs: torch.Tensor, dynamic: bool = False) -> ImportedGraph:
    """`dynamic=True` traces with symbolic sizes (make_fx's "symbolic" mode):
    every input size becomes a symbol, read by @graph from the tensors."""
    if not dynamic:
        gm = make_fx(fn, decomposition_table=decomposition_table())(*inputs)
        return GraphImporter(gm, list(inputs)).run()
    gm = make_fx(fn, decomposition_table=decomposition_table(), tracing_mode="symbolic")(*inputs)
    fakes = [n.meta["val"] for n in gm.graph.nodes if n.op == "placeholder"]
    return GraphImporter(gm, fakes).run()
