"""coil-translate: kernel-level coil IR to another language, mlir-translate style.

    coil-translate --coil-to-ttir kernels.mlir
    coil-translate --coil-to-ttir --persistent=false --rblock=64 kernels.mlir
    coil-translate --coil-to-ttir --split-input-file tests.mlir
    coil-translate --coil-to-ttir --report dbg/graph_1/05_combine.mlir

`--coil-to-ttir` reads IR after `coil-outline-kernels` and prints, for every
`coil.kernel` function, one Triton TTIR module (what `triton.compile` takes),
each after a comment line with its grid and config; modules are separated by
`// -----`. With `--report` it compiles each for an H100 (sm_90, no GPU
needed) and prints, instead of the TTIR, the bytes its buffers hold, its
registers a thread, the bytes ptxas spilled and the warps an SM holds. The tiling options override the default config of every kernel.
Bad input and kernels the emitter cannot lower are reported as diagnostics
(exit 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from coil.dialects import make_context
from coil.mlir import ir

from .diagnostics import DiagnosticCollector, fix_columns, format_diagnostic
from .source import SPLIT_MARKER, ParseFailure, parse_module, split_input

PROG = "coil-translate"


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "on", "yes"):
        return True
    if lowered in ("0", "false", "off", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, found '{text}'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Translate kernel-level coil IR.")
    parser.add_argument("input", nargs="?", default="-", help="input .mlir file ('-' for stdin)")
    parser.add_argument("-o", dest="output", default="-", help="output file ('-' for stdout)")
    parser.add_argument("--coil-to-ttir", action="store_true", help="print one Triton TTIR module per coil.kernel")
    parser.add_argument("--split-input-file", action="store_true", help="translate each '// -----' chunk separately")
    parser.add_argument("--kernel", help="translate only the kernel with this symbol name")
    parser.add_argument(
        "--report",
        action="store_true",
        help="compile each kernel for sm_90 (no GPU needed) and print its grid, config, bytes, registers, "
        "spilled bytes and warps per SM instead of its TTIR",
    )
    tiling = parser.add_argument_group("tiling (override the default config)")
    tiling.add_argument("--xblock", type=int)
    tiling.add_argument("--yblock", type=int)
    tiling.add_argument("--rblock", type=int)
    tiling.add_argument("--num-warps", type=int)
    tiling.add_argument("--persistent", type=_bool, metavar="BOOL")
    tiling.add_argument(
        "--prefetch", type=_bool, metavar="BOOL", help="looped reductions: load the next chunk while computing on this one"
    )
    tiling.add_argument(
        "--unaligned", default="", metavar="I,J", help="buffer arguments whose pointers are not 16-byte aligned"
    )
    return parser


def _config(fn, args):
    """The default config with the command line's overrides; reduction options apply to reductions only."""
    from coil.backends.triton.emit import ComboConfig, default_config

    base = default_config(fn)
    if isinstance(base, ComboConfig):
        return None  # each loop nest of a combo takes its own default
    nests = [op for op in fn.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest"]
    is_reduction = any(len(nest.attributes["reduction_ranges"]) for nest in nests)
    fields = ("xblock", "num_warps") + (("rblock", "persistent", "prefetch") if is_reduction else ("yblock",))
    overrides = {field: getattr(args, field) for field in fields if getattr(args, field) is not None}
    if not overrides:
        return None
    if overrides.get("persistent") is False and "rblock" not in overrides and base.persistent:
        overrides["rblock"] = min(base.rblock, 1024)
    return dataclasses.replace(base, **overrides)


def _translate(module: ir.Operation, args) -> list[str]:
    from coil.backends.triton.emit import emit_kernel, kernel_functions

    out = []
    for fn in kernel_functions(module):
        name = fn.attributes["sym_name"].value
        if args.kernel and name != args.kernel:
            continue
        aligned = None
        if args.unaligned:
            unaligned = {int(i) for i in args.unaligned.split(",")}
            aligned = frozenset(i for i in range(len(fn.regions[0].blocks[0].arguments)) if i not in unaligned)
        kernel = emit_kernel(fn, _config(fn, args), aligned)
        c = kernel.config
        header = f"// @{kernel.name} grid=({', '.join(map(str, kernel.grid))}) num_warps={kernel.num_warps} "
        if hasattr(c, "parts"):
            header += "parts=" + ",".join(f"{p.xblock}x{p.yblock}" for p in c.parts)
        else:
            header += (
                f"xblock={c.xblock} yblock={c.yblock} rblock={c.rblock} persistent={str(c.persistent).lower()} "
                f"index_bits={kernel.index_bits}" + (" prefetch=true" if c.prefetch else "")
            )
        out.append(header + (_report(fn, kernel) if args.report else "\n" + kernel.ttir))
    return out


def _report(fn, kernel) -> str:
    """Resources of `kernel` compiled for an H100 (`backends/triton/resources.py`)."""
    from coil.backends.triton.resources import h100_resources
    from coil.passes.plan_memory import buffer_bytes

    used = h100_resources(kernel.ttir, kernel.num_warps)
    moved = sum(buffer_bytes(arg) for arg in fn.regions[0].blocks[0].arguments)
    return (
        f" bytes={moved} registers={used.registers} spilled={used.frame_bytes} shared={used.shared_bytes}"
        f" warps_per_sm={used.warps_per_sm}\n"
    )


def run(argv: list[str] | None = None) -> int:
    from coil.passes.registry import PassFailure

    args = build_parser().parse_args(argv)
    if not args.coil_to_ttir:
        print(f"{PROG}: choose a translation (--coil-to-ttir)", file=sys.stderr)
        return 1
    source_name = "<stdin>" if args.input == "-" else args.input
    text = sys.stdin.read() if args.input == "-" else open(args.input).read()
    source_lines = text.splitlines()
    outputs, failed = [], False
    for chunk in split_input(text, args.split_input_file):
        context = make_context()
        collector = DiagnosticCollector(context)
        try:
            with context:
                parsed = parse_module(chunk.text, source_name, context)
                outputs.extend(_translate(parsed.module, args))
        except ParseFailure as failure:
            collector.add_error(failure.error)
            fix_columns(collector.diagnostics, source_name, failure.shifted_line, failure.column_shift)
            failed = True
        except PassFailure as failure:
            with context:
                (failure.location or ir.Location.unknown()).emit_error(failure.message)
            failed = True
        for d in collector.diagnostics:
            print(format_diagnostic(d, source_name, source_lines), file=sys.stderr)
    result = f"\n{SPLIT_MARKER}\n".join(outputs)
    if args.output == "-":
        sys.stdout.write(result)
    else:
        with open(args.output, "w") as f:
            f.write(result)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """The `coil-translate` console script: 0 ok, 1 bad input or an unsupported kernel, 2 a coil bug."""
    try:
        return run(argv)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BrokenPipeError:
        return 1
    except Exception as error:  # never a traceback
        print(f"{PROG}: internal error (a bug in coil, please report it): {type(error).__name__}: {error}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
