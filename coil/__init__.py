"""coil: a PyTorch compiler built on MLIR.

`torch.compile(model, backend="coil")` works without importing coil (the
backend is registered as a `torch_dynamo_backends` entry point). For explicit
use: `coil.compile(model)`, or `backend=coil.backend`.
"""

from . import config, metrics
from .backend import coil_backend as backend
from .backend import compile

__version__ = "0.1.0"

__all__ = ["backend", "compile", "config", "metrics"]
