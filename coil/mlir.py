"""The one module that imports the MLIR Python bindings.

coil takes the upstream MLIR bindings from the `torch-mlir` wheel, where they
live under the `torch_mlir` namespace. Everything else in coil imports `ir`,
`passmanager`, `rewrite`, the dialects and the execution engine from here, so
switching to another distribution of the bindings is a one-file change.
"""

from torch_mlir import ir, passmanager, rewrite
from torch_mlir.dialects import (
    affine,
    arith,
    ext,
    func,
    math,
    memref,
    scf,
    tensor,
    vector,
)
from torch_mlir.execution_engine import ExecutionEngine

__all__ = [
    "ExecutionEngine",
    "affine",
    "arith",
    "ext",
    "func",
    "ir",
    "math",
    "memref",
    "passmanager",
    "rewrite",
    "scf",
    "tensor",
    "vector",
]
