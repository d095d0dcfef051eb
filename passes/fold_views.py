"""coil-fold-views: views fold into loads, as Inductor's views rewrite indices.

`coil.load(coil.view(x, map), idx)` becomes `coil.load(x, map(idx))`, with one
`affine.apply` per source index; chains of views compose. Views left without
users are erased. Views are never copies, so a view read only by loads costs
nothing after this pass.
"""

from __future__ import annotations

from coil.dialects.ops import view_symbols
from coil.mlir import affine, ir

from .registry import register_pass
from .walk import erase_dead, ops_named


def fold_view_into_load(load: ir.OpView) -> ir.OpView | None:
    """Rewrites one load of a view: the load that now reads the view's source, or None if it read no view."""
    source = load.operands[0]
    view = source.owner if isinstance(source, ir.OpResult) else None
    if view is None or view.name != "coil.view":
        return None
    base, symbols = view.operands[0], view_symbols(view)
    amap = view.attributes["map"].value
    indices = list(load.operands)[1:]
    with ir.InsertionPoint(load), load.location:
        new_indices = [
            affine.apply(ir.AffineMap.get(amap.n_dims, amap.n_symbols, [expr]), indices + symbols)
            for expr in amap.results
        ]
    load.operands[0] = base
    # Replace the index operands (positions 1..) by the mapped ones.
    if len(new_indices) == len(indices):
        for i, v in enumerate(new_indices):
            load.operands[1 + i] = v
        return load
    # Rank changed: rebuild the load with the new operand count.
    from coil.dialects.builders import load as build_load

    with ir.InsertionPoint(load), load.location:
        replacement = build_load(base, new_indices)
    load.results[0].replace_all_uses_with(replacement)
    load.erase()
    return replacement.owner


@register_pass("coil-fold-views", "Fold coil.view index maps into the coil.load ops that read them")
def fold_views(module: ir.Operation) -> None:
    # A chain of views folds load by load, so one walk of the module does.
    for load in ops_named(module, "coil.load"):
        while load is not None:
            load = fold_view_into_load(load)
    erase_dead(module, {"coil.view"})
