"""coil-apply-loop-annotations: loop hints set on scf.for reach LLVM's loop passes.

coil-lower-loop-nests puts an `llvm.loop_annotation` attribute on the reduction
loops it emits (see lower_loops.REDUCTION_LOOP_HINT). convert-scf-to-cf copies
it onto the loop's back-edge branch, and convert-to-llvm keeps it there as a
discardable attribute, which the translation to LLVM IR ignores: the branch's
own `loop_annotation` (its property) is what becomes `!llvm.loop` metadata.
This pass moves the one into the other. Run it after convert-to-llvm.
"""

from __future__ import annotations

from coil.mlir import ir
from coil.passes.registry import register_pass

DISCARDABLE_NAME = "llvm.loop_annotation"


@register_pass(
    "coil-apply-loop-annotations",
    "Move the llvm.loop_annotation attribute of llvm.br back-edges (from scf.for) into their loop_annotation",
)
def apply_loop_annotations(module: ir.Operation) -> None:
    def visit(op):
        if op.name == "llvm.br" and DISCARDABLE_NAME in op.attributes:
            annotation = op.attributes[DISCARDABLE_NAME]
            del op.attributes[DISCARDABLE_NAME]
            op.attributes["loop_annotation"] = annotation
        return ir.WalkResult.ADVANCE

    module.walk(visit)


__all__ = ["apply_loop_annotations"]
