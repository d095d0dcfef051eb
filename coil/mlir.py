"""The one module that imports the MLIR Python bindings.

coil takes the upstream MLIR bindings from the `torch-mlir` wheel, where they
live under the `torch_mlir` namespace. Everything else in coil imports `ir`,
`passmanager`, `rewrite`, the dialects and the execution engine from here, so
switching to another distribution of the bindings is a one-file change.
"""

import sys
import types

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



def register_dialect_module(namespace: str, module: types.ModuleType) -> None:
    """Makes `module` the Python module the bindings find for dialect `namespace`.

    Each time an op of a dialect is wrapped in its Python class (`op.opview`,
    walks, `.owner`), the bindings first try to import the dialect's module,
    `torch_mlir.dialects.<namespace>`, and remember only imports that succeed.
    A dialect defined in Python has no such module, so every wrap paid for a
    failed import search of sys.path: about 14 s of a 32 s compile of a small
    GPT training step. Registering the defining module under that name makes
    the first lookup succeed and the rest free.
    """
    sys.modules.setdefault(f"{ir.__name__.rsplit('.', 1)[0]}.dialects.{namespace}", module)


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
    "register_dialect_module",
    "rewrite",
    "scf",
    "tensor",
    "vector",
]
