"""Errors coil raises, each naming what failed: the op, the FX node or the IR location."""

from __future__ import annotations


class CoilError(Exception):
    """Base class of coil's errors."""


class LoweringError(CoilError):
    """Importing or lowering one FX node failed."""

    def __init__(self, message: str, node=None, op_name: str | None = None):
        self.node = node
        self.op_name = op_name or (str(node.target) if node is not None else None)
        where = ""
        if node is not None:
            where = f" (FX node '{node.name}', op {self.op_name})"
            stack = node.meta.get("stack_trace") if hasattr(node, "meta") else None
            if stack:
                last = [line for line in stack.strip().splitlines() if line.strip()][-2:]
                where += "\n  from user code:\n    " + "\n    ".join(s.strip() for s in last)
        super().__init__(message + where)
        self.message = message


class CompilationError(CoilError):
    """A pass or a backend failed on the IR of a graph."""
