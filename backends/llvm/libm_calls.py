"""coil-precise-math-to-libm: expm1 and log1p become libm calls before LLVM lowering.

`convert-math-to-llvm` lowers `math.expm1` to `exp(x) - 1` (and, by default,
`math.log1p` to `log(1 + x)`), which loses every significant digit for small
x: `torch.expm1(1e-6)` would come out as 9.5e-7. This pass calls libm's
`expm1f`/`expm1` and `log1pf`/`log1p` instead; the JIT resolves them in the
process's libm. Run it after `math-extend-to-supported-types`, so only f32 and
f64 are left.
"""

from __future__ import annotations

from coil.mlir import func, ir
from coil.passes.registry import PassFailure, register_pass
from coil.passes.walk import ops_named

_LIBM_NAMES = {
    "math.expm1": {"f32": "expm1f", "f64": "expm1"},
    "math.log1p": {"f32": "log1pf", "f64": "log1p"},
}


def _declare(module: ir.Operation, name: str, t: ir.Type) -> None:
    body = module.regions[0].blocks[0]
    for op in body.operations:
        if op.operation.name == "func.func" and op.attributes["sym_name"].value == name:
            return
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        decl = func.FuncOp(name, ir.FunctionType.get([t], [t]), visibility="private")
        decl.attributes["llvm.readnone"] = ir.UnitAttr.get()


@register_pass(
    "coil-precise-math-to-libm",
    "Call libm for math.expm1 and math.log1p, which convert-math-to-llvm lowers imprecisely",
)
def precise_math_to_libm(module: ir.Operation) -> None:
    for op in ops_named(module, *_LIBM_NAMES):
        t = op.results[0].type
        name = _LIBM_NAMES[op.operation.name].get(str(t))
        if name is None:
            raise PassFailure(f"no libm function for '{op.operation.name}' on {t}", op.location)
        _declare(module, name, t)
        with ir.InsertionPoint(op), op.location:
            call = func.CallOp([t], ir.FlatSymbolRefAttr.get(name), [op.operands[0]])
        op.results[0].replace_all_uses_with(call.results[0])
        op.erase()
