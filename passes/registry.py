"""One table of coil passes, shared by the compiler and `coil-opt`.

A pass is a function `run(module, **options)` over a `builtin.module`
operation, registered with `@register_pass`. Pass modules are imported lazily,
the first time the table is read, so the command line starts fast; a module
added to `PASS_MODULES` shows up in the compiler and in `coil-opt --help` with
no other wiring.

`build_pass_manager` turns a textual pipeline such as
`builtin.module(coil-fold-views, canonicalize, func.func(cse))` into an MLIR
PassManager: coil passes become Python passes, everything else is handed to
MLIR's own pipeline parser.
"""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from coil.mlir import ir, passmanager

# Modules that define passes. Later stages (backends) register their lowering
# passes here by name; they are imported only when the table is read.
PASS_MODULES = (
    "coil.passes.fold_views",
    "coil.passes.inline_producers",
    "coil.passes.outline_kernels",
    "coil.passes.fuse_kernels",
    "coil.passes.split_reductions",
    "coil.passes.plan_memory",
    "coil.passes.kernel_args",
    "coil.passes.combine_kernels",
    "coil.backends.llvm.lower_loops",
)


class PassFailure(Exception):
    """Raised by a pass to fail with a diagnostic at `location`."""

    def __init__(self, message: str, location: ir.Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location


@dataclass(frozen=True)
class PassInfo:
    name: str
    description: str
    run: Callable[..., None]
    options: dict[str, str] = field(default_factory=dict)


_PASSES: dict[str, PassInfo] = {}
_loaded = False


def register_pass(name: str, description: str, options: dict[str, str] | None = None):
    """Decorator: registers `run(module, **options)` as coil pass `name`."""

    def decorate(run):
        if name in _PASSES and _PASSES[name].run is not run:
            raise ValueError(f"coil pass '{name}' is registered twice")
        _PASSES[name] = PassInfo(name, description, run, dict(options or {}))
        return run

    return decorate


def registered_passes() -> dict[str, PassInfo]:
    """Every registered coil pass, by name, sorted."""
    global _loaded
    if not _loaded:
        for module in PASS_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(sorted(_PASSES.items()))


def get_pass(name: str) -> PassInfo:
    passes = registered_passes()
    if name not in passes:
        raise KeyError(name)
    return passes[name]


def _python_pass(info: PassInfo, options: dict[str, str]):
    def run(op, pass_):
        try:
            # Passes build IR: give them the op's context and location as defaults.
            with op.context, op.location:
                info.run(op, **options)
        except PassFailure as failure:
            location = failure.location or op.location
            location.emit_error(f"{info.name}: {failure.message}")
            pass_.signal_pass_failure()
        except Exception as error:  # an internal error: report it as a diagnostic
            op.location.emit_error(
                f"{info.name}: internal error: {type(error).__name__}: {error}\n"
                + "".join(traceback.format_exception(error)).rstrip()
            )
            pass_.signal_pass_failure()

    run.__name__ = info.name.replace("-", "_")
    return run


def split_pipeline(text: str) -> list[str]:
    """Splits `a, b{x=1}, func.func(c, d)` at top-level commas."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    if last:
        items.append(last)
    return [item for item in items if item]


_ELEMENT = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(\{(.*)\})?$", re.S)


def parse_options(info: PassInfo, text: str) -> dict[str, str]:
    """`key=value key2=value2` -> a dict, checked against the pass's options."""
    options = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"option '{item}' of pass '{info.name}' must be written key=value")
        if key not in info.options:
            known = ", ".join(info.options) or "none"
            raise ValueError(f"pass '{info.name}' has no option '{key}' (options: {known})")
        options[key.replace("-", "_")] = value
    return options


def pipeline_elements(pipeline: str) -> list[str]:
    """The elements of `builtin.module(...)`, or of a bare comma-separated list."""
    text = pipeline.strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        text = text[len("builtin.module(") : -1]
    return split_pipeline(text)


def build_pass_manager(pipeline: str | list[str], context: ir.Context | None = None) -> passmanager.PassManager:
    """A PassManager on `builtin.module` running `pipeline`.

    Raises ValueError naming the element that is neither a coil pass nor a
    pipeline element MLIR can parse.
    """
    elements = pipeline_elements(pipeline) if isinstance(pipeline, str) else list(pipeline)
    passes = registered_passes()
    pm = passmanager.PassManager("builtin.module", context=context)
    for element in elements:
        match = _ELEMENT.match(element)
        name = match.group(1) if match else None
        if name in passes:
            info = passes[name]
            options = parse_options(info, match.group(3) or "")
            pm.add(_python_pass(info, options), name=info.name, argument=info.name, description=info.description)
            continue
        try:
            pm.add(element)
        except ValueError as error:
            raise ValueError(f"unknown pass or pipeline element '{element}': {error}") from None
    return pm
