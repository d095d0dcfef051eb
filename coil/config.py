"""coil's settings. Change them by assignment (`coil.config.strict = True`) or
per call with `torch.compile(..., backend="coil", options={"strict": True})`.

Environment variables give the defaults, so a setting can be changed without
touching code.
"""

from __future__ import annotations

import contextlib
import os


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


#: Raise instead of falling back to eager when compiling a graph fails (COIL_STRICT).
strict: bool = _env_flag("COIL_STRICT", False)

#: Where to write, per graph, the FX graph, the IR after each stage and the host
#: source (COIL_DEBUG_DIR). None writes nothing.
debug_dir: str | None = os.environ.get("COIL_DEBUG_DIR") or None

#: Threads CPU kernels run on (COIL_THREADS); None: torch.get_num_threads() when they compile.
threads: int | None = int(os.environ["COIL_THREADS"]) if os.environ.get("COIL_THREADS") else None

#: Run the MLIR verifier after every pass (slower; for debugging coil itself).
verify_each: bool = _env_flag("COIL_VERIFY_EACH", False)

#: Fuse: inline pointwise producers into their consumers and merge kernels
#: whose iteration spaces line up (COIL_FUSION=0 turns it off).
fusion: bool = _env_flag("COIL_FUSION", True)

#: Plan host buffers: in-place writes and reuse of freed buffers (COIL_MEMORY_PLANNING=0 turns it off).
memory_planning: bool = _env_flag("COIL_MEMORY_PLANNING", True)

#: ATen ops to run through ATen even when coil has a lowering, e.g. {"aten.exp.default"}.
force_extern: frozenset[str] = frozenset()

#: GPU: benchmark a few tiling configs per kernel on the device at its first
#: launch and keep the fastest (COIL_AUTOTUNE; also `options={"max_autotune": True}`).
#: Off, block sizes come from size heuristics.
autotune: bool = _env_flag("COIL_AUTOTUNE", False)

#: CPU inference graphs reuse the memory of an earlier call's large outputs once
#: nothing holds them (`host_codegen.OutputPool`): cache-warm, no page faults, at
#: the cost of keeping two dead outputs per returned buffer (COIL_CPU_OUTPUT_POOL=0 turns it off).
cpu_output_pool: bool = _env_flag("COIL_CPU_OUTPUT_POOL", True)

#: GPU: run adjacent independent pointwise kernels (an optimizer step's
#: parameter groups) as one launch, each over its own program ids
#: (passes/combine_kernels.py; COIL_COMBO_KERNELS=0 turns it off).
combo_kernels: bool = _env_flag("COIL_COMBO_KERNELS", True)

_FIELDS = (
    "strict",
    "debug_dir",
    "threads",
    "verify_each",
    "fusion",
    "memory_planning",
    "force_extern",
    "autotune",
    "cpu_output_pool",
    "combo_kernels",
)

# Inductor's spellings accepted for coil's settings.
_ALIASES = {"max_autotune": "autotune"}


def snapshot() -> dict:
    """The current settings as a dict."""
    return {name: globals()[name] for name in _FIELDS}


def validate_options(options: dict) -> dict:
    """Checks `options` names against the settings; returns them normalised."""
    options = {_ALIASES.get(name, name): value for name, value in options.items()}
    unknown = sorted(set(options) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown coil option(s) {unknown}; coil's options are {list(_FIELDS)}")
    return options


@contextlib.contextmanager
def patch(**changes):
    """Temporarily changes settings: `with coil.config.patch(strict=True): ...`."""
    changes = validate_options(changes)
    old = {name: globals()[name] for name in changes}
    globals().update(changes)
    try:
        yield
    finally:
        globals().update(old)
