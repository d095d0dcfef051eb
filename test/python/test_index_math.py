"""passes/index_math.py on affine expressions built with the bindings' operators.

`a + b`, `a * c`, `AffineExpr.get_add`, `get_floor_div`, ... return the Python
class of the operation even when MLIR simplified the result to another kind of
expression: `d0 + 0` is an `AffineAddExpr` object wrapping the dim `d0`, and
reading its `.lhs` reads a dim expression as a binary one (garbage, or a
segfault). Each case runs in a subprocess so that a crash fails the case
instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_PRELUDE = textwrap.dedent(
    """
    import json
    from coil.mlir import ir
    from coil.passes.index_math import evaluate, is_linear, linear_form, linear_offset, python_expression, strided_view_layout

    def c(v):
        return ir.AffineConstantExpr.get(v)

    fd, cd, mod = ir.AffineExpr.get_floor_div, ir.AffineExpr.get_ceil_div, ir.AffineExpr.get_mod

    def amap(n_dims, results, n_symbols=0):
        return ir.AffineMap.get(n_dims, n_symbols, results)

    def plain(x):
        if isinstance(x, tuple):
            return [plain(y) for y in x]
        return x

    with ir.Context():
        d0, d1, d2, d3 = (ir.AffineDimExpr.get(k) for k in range(4))
        s0 = ir.AffineSymbolExpr.get(0)
        print(json.dumps(plain(CALL)))
    """
)


def _run(call: str):
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE.replace("CALL", call)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"{call} exited with {proc.returncode}:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


CASES = [
    # evaluate: operator results that simplified to another kind.
    ("evaluate(d0 + 0, [5])", 5),
    ("evaluate(c(0) * d1, [5, 7])", 0),
    ("evaluate(d0 * 1, [5])", 5),
    ("evaluate(c(2) * 3, [])", 6),
    ("evaluate(c(2) + c(3), [])", 5),
    ("evaluate(fd(d0, 1), [5])", 5),
    ("evaluate(cd(d0, 1), [5])", 5),
    ("evaluate(mod(d0, 1), [5])", 0),
    ("evaluate((d0 + 1) + 2, [5])", 8),
    ("evaluate(d0 - d0, [5])", 0),
    ("evaluate(s0 + 0, [], [3])", 3),
    ("evaluate((d0 + s0) * 1, [5], [3])", 8),
    ("evaluate(ir.AffineExpr.get_add(d1, c(0)), [5, 7])", 7),
    # evaluate: unsimplified expressions, as before.
    ("evaluate(d0 * 3 + d1, [5, 7])", 22),
    ("evaluate(fd(d0 + 3, 4) + mod(d1, 3) * 2, [5, 7])", 4),
    ("evaluate(cd(d0, 4), [5])", 2),
    ("evaluate(d0 + s0 * 2, [5], [3])", 11),
    # python_expression: the source the host program and launch code run,
    # evaluated here at d0 = -7, d1 = 5, s0 = 3 (Python floors as affine maps do).
    ("python_expression(d0 + 0, ['d0'])", "d0"),
    ("python_expression(c(2) * 3, [])", "6"),
    ("eval(python_expression(fd(d0, 2) + mod(d0, 3) * d1, ['d0', 'd1']), {'d0': -7, 'd1': 5})", -4 + 2 * 5),
    ("eval(python_expression(cd(d0, 4) + s0, ['d0'], ['s0']), {'d0': -7, 's0': 3})", -1 + 3),
    ("eval(python_expression(cd(d1 * 3 + 1, 4), ['d0', 'd1']), {'d1': 5})", 4),
    # is_linear
    ("is_linear(d0 + 0)", True),
    ("is_linear(d0 * 1)", True),
    ("is_linear(c(2) * 3)", True),
    ("is_linear(fd(d0, 1))", True),
    ("is_linear(mod(d0, 1))", True),
    ("is_linear(mod(d0, 4) + 0)", False),
    ("is_linear(fd(d0, 4) * 1)", False),
    ("is_linear(s0 + 0)", False),
    ("is_linear(d0 * 2 + d1 + 3)", True),
    ("is_linear(d0 * s0)", False),
    # linear_form
    ("linear_form(d0 + 0, 2)", [0, [1, 0]]),
    ("linear_form(c(0) * d1, 2)", [0, [0, 0]]),
    ("linear_form(c(2) + c(3), 1)", [5, [0]]),
    ("linear_form(mod(d0, 4) + 0, 1)", None),
    ("linear_form(d0 * 3 + d1 + 2, 2)", [2, [3, 1]]),
    # linear_offset: simplified sums and products
    ("linear_offset(d0 + 0, 1)", [0, [1]]),
    ("linear_offset(d0 * 1, 1)", [0, [1]]),
    ("linear_offset(c(0) * d1, 2)", [0, [0, 0]]),
    ("linear_offset(c(2) * 3, 0)", [6, []]),
    ("linear_offset(c(2) + c(3), 2)", [5, [0, 0]]),
    ("linear_offset(fd(d0, 1), 1)", [0, [1]]),
    ("linear_offset(cd(d0, 1), 1)", [0, [1]]),
    ("linear_offset(mod(d0, 1), 1)", [0, [0]]),
    ("linear_offset(mod(d0, 4) + 0, 1)", None),
    ("linear_offset(fd(d0, 4) + 0, 1)", None),
    ("linear_offset(fd(d0, 4) * 1, 1)", None),
    ("linear_offset(mod(d0, 4) * 1, 1)", None),
    ("linear_offset(((d0 + 1) + 2) * 4 + 0, 1)", [12, [4]]),
    ("linear_offset(d0 * 2 - d0 * 2, 1)", [0, [0]]),
    # symbols are not linear in the loop indices, unless they fold away
    ("linear_offset(d0 + s0, 1)", None),
    ("linear_offset(s0 + 0, 1)", None),
    ("linear_offset(d0 * s0, 1)", None),
    ("linear_offset(s0 * 0 + d0, 1)", [0, [1]]),
    # linearized multi-dim storage offsets, built as plan_memory.storage_offset
    # builds them: offset + sum(index_k * stride_k), from the constant offset.
    # [b*h, t, t] loaded at (d0*h + d1, d2, d3) vs [b, h, t, t] at (d0, d1, d2, d3)
    ("linear_offset(c(0) + (d0 * 4 + d1) * 256 + d2 * 16 + d3 * 1, 4)", [0, [1024, 256, 16, 1]]),
    ("linear_offset(c(0) + d0 * 1024 + d1 * 256 + d2 * 16 + d3 * 1, 4)", [0, [1024, 256, 16, 1]]),
    ("linear_offset(c(7) + d0 * 0 + d1 * 1, 2)", [7, [0, 1]]),
    ("linear_offset(c(0) + c(3) * 16 + d1 * 1, 2)", [48, [0, 1]]),
    ("linear_offset(c(0) + d0 * 1, 1)", [0, [1]]),
    # mixed-radix digits of a reshape merge back into the linear index
    ("linear_offset(c(0) + fd(d0, 4) * 4 + mod(d0, 4) * 1, 1)", [0, [1]]),
    ("linear_offset(fd(d0, 20) * 20 + mod(fd(d0, 5), 4) * 5 + mod(d0, 5), 1)", [0, [1]]),
    ("linear_offset(c(0) + fd(d0 * 8 + d1, 4) * 4 + mod(d0 * 8 + d1, 4), 2)", [0, [8, 1]]),
    ("linear_offset(fd(d0, 4) * 8 + mod(d0, 4), 1)", None),
    ("linear_offset(fd(d0, 4) * 4 + mod(d0, 3), 1)", None),
    # strided_view_layout: flatten and split of contiguous dims
    ("strided_view_layout(amap(1, [fd(d0, 4), mod(d0, 4)]), [4, 1], 0)", [[1], 0]),
    ("strided_view_layout(amap(2, [fd(d0, 4), mod(d0, 4), d1]), [20, 5, 1], 3)", [[5, 1], 3]),
    ("strided_view_layout(amap(2, [d0 * 4 + d1]), [1], 0)", [[4, 1], 0]),
    ("strided_view_layout(amap(1, [fd(d0, 4), mod(d0, 4), c(0)]), [4, 1, 7], 0)", [[1], 0]),
    ("strided_view_layout(amap(1, [fd(d0, 4), mod(d0, 4)]), [8, 1], 0)", None),
    # a non-linear result next to a constant one: the running sum simplifies
    ("strided_view_layout(amap(1, [mod(d0, 4), c(0)]), [1, 8], 0)", None),
    ("strided_view_layout(amap(1, [c(0), mod(d0, 4)]), [5, 1], 0)", None),
    ("strided_view_layout(amap(1, [mod(d0, 4), c(2)]), [0, 3], 1)", [[0], 7]),
    ("strided_view_layout(amap(1, [fd(d0, 4), c(2)]), [0, 1], 0)", [[0], 2]),
    ("strided_view_layout(amap(1, [c(1), mod(d0, 4)]), [3, 0], 0)", [[0], 3]),
]


@pytest.mark.parametrize("call,expected", CASES, ids=[c for c, _ in CASES])
def test_index_math(call, expected):
    assert _run(call) == expected
