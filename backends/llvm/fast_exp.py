"""coil-expand-exp, kept for its name: f32 `math.exp` as arithmetic.

The expansion now lives in `fast_math.py` with those of expm1, log, log1p,
tanh and erf (`coil-expand-math`, which the CPU pipeline runs);
`coil-expand-exp` expands exp alone.
"""

from __future__ import annotations

from .fast_math import expand_exp, expand_exp_f32

__all__ = ["expand_exp", "expand_exp_f32"]
