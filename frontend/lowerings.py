"""Imports every module of lowering rules, which fills `lowering.LOWERINGS`."""

from . import lower_creation, lower_pointwise, lower_reductions, lower_views  # noqa: F401
