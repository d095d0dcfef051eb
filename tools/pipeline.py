"""Running a pass pipeline one element at a time, for coil-opt.

The bindings' PassManager prints IR dumps and timing reports from C++ straight
to the process's stderr, which Python can neither redirect reliably nor test.
Running each top-level element of the pipeline as a pass manager of its own
gives the same results and lets coil-opt print IR before and after each
element, time it, and, when one fails, know which element failed and what IR
it was given, for the reproducer.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coil.mlir import ir
from coil.passes.registry import build_pass_manager, pipeline_elements


def check_pipeline(elements: list[str], context: ir.Context) -> None:
    """Builds every element once, so a misspelled pass fails before any input is read.

    Raises ValueError naming the element.
    """
    for element in elements:
        build_pass_manager([element], context)


def split_elements(pipeline: str) -> list[str]:
    """The top-level elements of a `--pass-pipeline` value."""
    return pipeline_elements(pipeline)


@dataclass
class Timings:
    """Wall time per pipeline element (and per phase such as parsing), summed over chunks."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, elapsed: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    def report(self) -> str:
        """A table in the shape of mlir-opt's `--mlir-timing` report."""
        total = sum(self.seconds.values())
        rule = "===" + "-" * 73 + "==="
        lines = [
            rule,
            "Execution time report".center(79).rstrip(),
            rule,
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for name, elapsed in self.seconds.items():
            lines.append(f"  {elapsed:8.4f} ({_percent(elapsed, total):5.1f}%)  {name}")
        lines.append(f"  {total:8.4f} (100.0%)  Total")
        return "\n".join(lines) + "\n"


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass
class PipelineFailure:
    """The element that failed and the IR it was given (kept to write a reproducer)."""

    element: str
    input_ir: str


@dataclass
class PipelineOptions:
    print_before: bool = False
    print_after: bool = False
    debug_info: bool = False
    dump: Callable[[str], None] = field(default=lambda text: sys.stderr.write(text))


def module_text(module: ir.Operation, debug_info: bool = False, generic: bool = False) -> str:
    return module.get_asm(enable_debug_info=debug_info, print_generic_op_form=generic)


def _dump(options: PipelineOptions, when: str, element: str, module: ir.Operation, generic: bool = False) -> None:
    options.dump(f"// -----// IR Dump {when} {element} //----- //\n")
    options.dump(module_text(module, options.debug_info, generic))
    options.dump("\n")


def run_pipeline(
    module: ir.Operation,
    elements: list[str],
    context: ir.Context,
    on_error: Callable[[ir.MLIRError], None],
    options: PipelineOptions,
    timings: Timings | None = None,
) -> PipelineFailure | None:
    """Runs `elements` in order on `module`; stops at the first that fails.

    The failing element's errors go to `on_error`. The IR each element is given
    is kept (as a clone) until the element has succeeded, so a failure can be
    replayed from exactly that input.
    """
    for element in elements:
        pm = build_pass_manager([element], context)
        if options.print_before:
            _dump(options, "Before", element, module)
        before = module.clone()
        start = time.perf_counter()
        try:
            pm.run(module)
        except ir.MLIRError as error:
            if timings is not None:
                timings.add(element, time.perf_counter() - start)
            if options.print_after:
                _dump(options, "After", element + " Failed", module, generic=True)
            on_error(error)
            failure = PipelineFailure(element, module_text(before))
            before.erase()
            return failure
        if timings is not None:
            timings.add(element, time.perf_counter() - start)
        before.erase()
        if options.print_after:
            _dump(options, "After", element, module)
    return None


def write_reproducer(
    failure: PipelineFailure, directory: str, extra_flags: list[str], header: list[str]
) -> tuple[str, str]:
    """Writes the failing element's input to `coil-reproducer-<n>.mlir` in `directory`.

    Returns the file's path and the coil-opt command line that replays the
    failure. `header` lines (the errors) go at the top of the file as comments,
    so the file explains itself.
    """
    os.makedirs(directory, exist_ok=True)
    n = 1
    while os.path.exists(os.path.join(directory, f"coil-reproducer-{n}.mlir")):
        n += 1
    path = os.path.normpath(os.path.join(directory, f"coil-reproducer-{n}.mlir"))
    pipeline = f"builtin.module({failure.element})"
    command = " ".join(["coil-opt", shlex.quote(path), *extra_flags, f"--pass-pipeline={shlex.quote(pipeline)}"])
    with open(path, "x", encoding="utf-8") as f:
        f.write(f"// coil-opt reproducer: '{failure.element}' failed on this IR.\n")
        f.write(f"// Replay: {command}\n")
        for line in header:
            for part in line.splitlines():
                f.write(f"// {part}\n")
        f.write(failure.input_ir)
        if not failure.input_ir.endswith("\n"):
            f.write("\n")
    return path, command
