"""coil: a PyTorch compiler built on MLIR.

`torch.compile(model, backend="coil")` works without importing coil (the
backend is registered as a `torch_dynamo_backends` entry point). For explicit
use: `coil.compile(model)`, or `backend=coil.backend`.
"""

from . import config, metrics


def __getattr__(name):
    # torch loads only when the backend is used, so coil-opt starts fast.
    if name in ("backend", "compile"):
        import importlib

        backend_module = importlib.import_module("coil.backend")

        # Importing the submodule bound `coil.backend` to it; bind the public names.
        globals().update(backend=backend_module.coil_backend, compile=backend_module.compile)
        return globals()[name]
    raise AttributeError(f"module 'coil' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = ["backend", "compile", "config", "metrics"]
