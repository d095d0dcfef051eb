"""coil-opt: parse `.mlir`, run coil and MLIR passes, print the result; mlir-opt's conventions.

    coil-opt input.mlir --coil-fold-views --canonicalize
    coil-opt input.mlir --pass-pipeline='builtin.module(coil-fold-views, func.func(cse))'
    coil-opt bad.mlir --split-input-file --verify-diagnostics

Every pass in coil's registry gets a flag of its own, so a pass added to the
registry is on the command line and in `--help` with no change here. Pass
flags and `--pass-pipeline` elements run in command-line order.

Bad input is the user's problem, reported as MLIR diagnostics
(`file:line:col: error: ...`, exit 1); a failing pass also leaves a reproducer
file and the command that replays it. Only a bug in coil itself exits 2, with
one line saying so; no Python traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from coil.dialects import make_context
from coil.mlir import ir
from coil.passes.registry import PassInfo, registered_passes

from .diagnostics import (
    Diagnostic,
    DiagnosticCollector,
    drop_current_operation_notes,
    fix_columns,
    format_diagnostic,
    parse_expectations,
    verify_expected,
)
from .pipeline import (
    PipelineOptions,
    Timings,
    check_pipeline,
    run_pipeline,
    split_elements,
    write_reproducer,
)
from .source import SPLIT_MARKER, Chunk, ParseFailure, find_custom_form_coil_op, parse_module, split_input

PROG = "coil-opt"

# Upstream passes common enough in coil pipelines to deserve a flag of their
# own; every other MLIR pass is reachable through --pass-pipeline.
UPSTREAM_PASS_FLAGS = {
    "canonicalize": "Canonicalize operations (MLIR)",
    "cse": "Eliminate common sub-expressions (MLIR)",
    "sccp": "Sparse conditional constant propagation (MLIR)",
    "symbol-dce": "Eliminate dead symbols (MLIR)",
    "inline": "Inline function calls (MLIR)",
    "loop-invariant-code-motion": "Hoist loop invariant instructions outside of the loop (MLIR)",
}


# ---------------------------------------------------------------------------
# Command line


class _AppendPipeline(argparse.Action):
    """Appends the elements of a `--pass-pipeline` value to the one ordered pipeline."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            elements = split_elements(values)
        except Exception as error:  # a malformed pipeline string is a usage error
            parser.error(f"invalid --pass-pipeline '{values}': {error}")
        namespace.pipeline = [*namespace.pipeline, *elements]


class _AppendPass(argparse.Action):
    """`--<pass>`: one pipeline element."""

    def __init__(self, option_strings, dest, pass_name: str, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.pass_name = pass_name

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.pipeline = [*namespace.pipeline, self.pass_name]


def _pass_options_as_pipeline(argv: list[str], passes: dict[str, PassInfo]) -> list[str]:
    """`--<pass>='k=v ...'` becomes `--pass-pipeline=builtin.module(<pass>{k=v ...})`, in place.

    Options are taken only when attached with `=`: a flag that took an optional
    value would swallow the input file in `coil-opt --pass in.mlir`.
    """
    out = []
    for arg in argv:
        name, sep, options = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if sep and name in passes:
            arg = f"--pass-pipeline=builtin.module({name}{{{options}}})"
        out.append(arg)
    return out


def _epilog(passes: dict[str, PassInfo]) -> str:
    """The "Passes:" section of --help: one line per pass, never wrapped, so each is easy to find."""
    upstream = {name: text for name, text in UPSTREAM_PASS_FLAGS.items() if name not in passes}
    flags = {info.name: f"--{info.name}" + ("[='key=value ...']" if info.options else "") for info in passes.values()}
    width = max(len(flag) for flag in [*flags.values(), *("--" + name for name in upstream)])
    lines = ["Passes: each flag adds one pass; passes run in command-line order."]
    for info in passes.values():
        lines.append(f"  {flags[info.name]:<{width}}  {info.description}")
        for option, text in info.options.items():
            lines.append(f"  {'':<{width}}    {option}: {text}")
    for name, text in upstream.items():
        lines.append(f"  {'--' + name:<{width}}  {text}")
    lines += [
        "",
        "Any other MLIR pass runs by name in --pass-pipeline, e.g.",
        "  coil-opt in.mlir --pass-pipeline='builtin.module(coil-fold-views, func.func(cse), symbol-dce)'",
        "Exit status: 0 success, 1 invalid input or a failing pass, 2 an internal error in coil.",
    ]
    return "\n".join(lines)


def build_parser(passes: dict[str, PassInfo]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Parse MLIR in the coil dialect, run coil and MLIR passes on it, print the result.",
        epilog=_epilog(passes),
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=34, width=100),
    )
    parser.set_defaults(pipeline=[])
    parser.add_argument("input", nargs="?", default="-", help="input .mlir file ('-' or none: stdin)")
    parser.add_argument("-o", dest="output", default="-", metavar="FILE", help="output file (default: stdout)")
    parser.add_argument(
        "--pass-pipeline",
        action=_AppendPipeline,
        metavar="PIPELINE",
        help="a textual pipeline, e.g. 'builtin.module(coil-fold-views, canonicalize)'",
    )
    parser.add_argument("--split-input-file", action="store_true",
                        help="process each chunk between '// -----' lines on its own")
    parser.add_argument("--verify-diagnostics", action="store_true",
                        help="check diagnostics against expected-error/warning/note/remark annotations")
    parser.add_argument("--print-ir-before-all", action="store_true", help="print the IR before each pass (stderr)")
    parser.add_argument("--print-ir-after-all", action="store_true", help="print the IR after each pass (stderr)")
    parser.add_argument("--timing", "--mlir-timing", dest="timing", action="store_true",
                        help="print the wall time of each pass (stderr)")
    parser.add_argument("--mlir-print-debuginfo", action="store_true", help="print locations in the output")
    parser.add_argument("--mlir-print-op-generic", action="store_true", help="print every op in generic form")
    parser.add_argument("--allow-unregistered-dialect", action="store_true", help="accept ops of unknown dialects")
    parser.add_argument("--reproducer-dir", default=".", metavar="DIR",
                        help="where a failing pass writes coil-reproducer-<n>.mlir (default: .)")

    # The pass flags are listed in the epilog, one line each, not among the options.
    for info in passes.values():
        parser.add_argument(f"--{info.name}", action=_AppendPass, pass_name=info.name, nargs=0, help=argparse.SUPPRESS)
    for name in UPSTREAM_PASS_FLAGS:
        if name not in passes:
            parser.add_argument(f"--{name}", action=_AppendPass, pass_name=name, nargs=0, help=argparse.SUPPRESS)
    return parser


# ---------------------------------------------------------------------------
# One chunk of input


class InternalError(Exception):
    """A coil bug hit while processing some input; the cause is chained."""


@dataclass
class ChunkResult:
    ok: bool
    output: str  # the printed module, or "" when the chunk failed


class Driver:
    """Processes chunks with the options of one coil-opt invocation."""

    def __init__(self, args: argparse.Namespace, source_name: str, source_text: str):
        self.args = args
        self.source_name = source_name
        self.source_lines = source_text.splitlines()
        self.timings = Timings() if args.timing else None
        self.pipeline_options = PipelineOptions(
            print_before=args.print_ir_before_all,
            print_after=args.print_ir_after_all,
            debug_info=args.mlir_print_debuginfo,
        )

    def _time(self, name: str, start: float) -> None:
        if self.timings is not None:
            self.timings.add(name, time.perf_counter() - start)

    def run_chunk(self, chunk: Chunk) -> ChunkResult:
        """Parses, runs the pipeline, and reports; each chunk gets a fresh context, as in mlir-opt.

        A Python exception escaping from here (a verifier hook or the bindings
        raising) is a coil bug; it is re-raised naming the input it broke on.
        """
        try:
            return self._run_chunk(chunk)
        except Exception as error:
            where = self.source_name if chunk.first_line == 1 else f"{self.source_name}:{chunk.first_line}"
            raise InternalError(f"while processing {where}") from error

    def _run_chunk(self, chunk: Chunk) -> ChunkResult:
        context = make_context()
        context.allow_unregistered_dialects = self.args.allow_unregistered_dialect
        collector = DiagnosticCollector(context)
        with context, ir.Location.unknown(context):
            start = time.perf_counter()
            try:
                parsed = parse_module(chunk.text, self.source_name, context)
            except ParseFailure as bad_input:
                collector.add_error(bad_input.error)
                self._explain_silent_parse_failure(collector, bad_input, chunk)
                fix_columns(collector.diagnostics, self.source_name, bad_input.shifted_line, bad_input.column_shift)
                parsed = None
            self._time("Parser", start)

            failure = None
            if parsed is not None:
                failure = run_pipeline(
                    parsed.module, self.args.pipeline, context, collector.add_error, self.pipeline_options,
                    self.timings,
                )
                fix_columns(collector.diagnostics, self.source_name, parsed.shifted_line, parsed.column_shift)

            if self.args.verify_diagnostics:
                # Failing is what such a test is about: it passes when the diagnostics are as expected.
                ok = self._verify(collector.diagnostics, chunk)
            else:
                ok = parsed is not None and failure is None
                self._report(collector.diagnostics, failure)

            output = ""
            if parsed is not None and failure is None:
                start = time.perf_counter()
                output = parsed.module.get_asm(
                    enable_debug_info=self.args.mlir_print_debuginfo,
                    print_generic_op_form=self.args.mlir_print_op_generic,
                )
                self._time("Output", start)
            return ChunkResult(ok, output)

    def _explain_silent_parse_failure(self, collector: DiagnosticCollector, bad_input: ParseFailure,
                                      chunk: Chunk) -> None:
        """Gives a location and a reason to a parse failure that came without a diagnostic.

        The bindings' parser fails silently on a coil op written in custom form;
        the one error it leaves ("Unable to parse operation assembly") has no
        location, so it is replaced by one at the offending op.
        """
        if bad_input.error.error_diagnostics:
            return
        found = find_custom_form_coil_op(chunk.text)
        if found is None:
            return
        line, column, name = found
        collector.diagnostics[-1] = Diagnostic(
            "error",
            f"custom op '{name}' cannot be parsed: coil ops have only the generic form, "
            f"'\"{name}\"(operands) {{attributes}} : (operand types) -> result types'",
            self.source_name, line, column,
        )

    def _verify(self, diagnostics: list[Diagnostic], chunk: Chunk) -> bool:
        """--verify-diagnostics: report mismatches like mlir-opt; True when there are none."""
        drop_current_operation_notes(diagnostics)
        problems = verify_expected(diagnostics, parse_expectations(chunk.text), self.source_name)
        for problem in problems:
            print(format_diagnostic(problem, self.source_name, self.source_lines), file=sys.stderr)
        return not problems

    def _report(self, diagnostics: list[Diagnostic], failure) -> None:
        """Prints diagnostics; after a failing pass, writes the reproducer and says how to replay it.

        A message of several lines (an internal error's traceback) is cut to its
        first line on stderr; the whole of it goes into the reproducer.
        """
        cut = False
        for d in diagnostics:
            short, was_cut = _first_line(d)
            cut |= was_cut
            print(format_diagnostic(short, self.source_name, self.source_lines), file=sys.stderr)
        if failure is None:
            return
        header = [format_diagnostic(d, self.source_name) for d in diagnostics]
        flags = ["--allow-unregistered-dialect"] if self.args.allow_unregistered_dialect else []
        try:
            path, command = write_reproducer(failure, self.args.reproducer_dir, flags, header)
        except OSError as error:
            print(f"{PROG}: error: could not write a reproducer: {error}", file=sys.stderr)
            return
        more = " (the full error message is in it)" if cut else ""
        print(f"{PROG}: pass '{failure.element}' failed; its input IR is in {path}{more}", file=sys.stderr)
        print(f"{PROG}: reproduce with: {command}", file=sys.stderr)


def _first_line(d: Diagnostic) -> tuple[Diagnostic, bool]:
    lines = d.message.splitlines() or [""]
    if len(lines) == 1:
        return d, False
    return Diagnostic(d.severity, lines[0], d.filename, d.line, d.column, d.notes), True


# ---------------------------------------------------------------------------
# Entry point


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def _write_output(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(argv: list[str] | None) -> int:
    """coil-opt, raising on internal errors (main turns those into one line and exit 2)."""
    passes = registered_passes()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(passes).parse_args(_pass_options_as_pipeline(argv, passes))

    try:
        check_pipeline(args.pipeline, make_context())
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    try:
        text = _read_input(args.input)
    except (OSError, UnicodeDecodeError) as error:
        print(f"{PROG}: error: could not read input file '{args.input}': {error}", file=sys.stderr)
        return 1

    source_name = "<stdin>" if args.input == "-" else args.input
    driver = Driver(args, source_name, text)
    results = [driver.run_chunk(chunk) for chunk in split_input(text, args.split_input_file)]
    ok = all(r.ok for r in results)

    output = (SPLIT_MARKER + "\n").join(_ends_in_newline(r.output) for r in results)
    # Like mlir-opt, a file named with -o is written only when everything succeeded.
    if ok or args.output == "-":
        try:
            _write_output(args.output, output)
        except OSError as error:
            print(f"{PROG}: error: could not write output file '{args.output}': {error}", file=sys.stderr)
            return 1
    if driver.timings is not None:
        sys.stderr.write(driver.timings.report())
    return 0 if ok else 1


def _ends_in_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def main(argv: list[str] | None = None) -> int:
    """The `coil-opt` console script. Returns the exit status: 0 ok, 1 bad input or failing pass, 2 a coil bug."""
    try:
        return run(argv)
    except SystemExit as exit_:  # argparse: --help, or a usage error
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`coil-opt big.mlir | head`); nothing more to say.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except Exception as error:  # never a traceback: one line, and a distinct exit status
        where = ""
        if isinstance(error, InternalError) and error.__cause__ is not None:
            where, error = f" {error}", error.__cause__
        print(f"{PROG}: internal error{where} (a bug in coil, please report it): {type(error).__name__}: {error}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
