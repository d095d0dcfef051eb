"""Reading `.mlir` input the way mlir-opt does: split it into chunks, parse each into a module.

Line numbers matter more than anything here: diagnostics and
`expected-error @+1` annotations refer to lines of the file the user wrote, so
every transformation of the text (splitting, wrapping in a module) keeps each
line where it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coil.mlir import ir

# mlir-opt's chunk separator: a line holding only `// -----`.
SPLIT_MARKER = "// -----"
_SPLIT_LINE = re.compile(r"^[ \t]*// -----[ \t]*$")

_SINGLE_TOP_LEVEL = "source must contain a single top-level operation"
_MODULE_PREFIX = "module {"


@dataclass(frozen=True)
class Chunk:
    """One `// -----` chunk; `text` has blank lines in front so its line numbers are the file's."""

    text: str
    first_line: int  # 1-based line of the chunk's first line in the file


@dataclass(frozen=True)
class ParsedInput:
    """A parsed chunk. When the text had to be wrapped in `module {` on a line with
    an op on it, columns on `shifted_line` are off by `column_shift`."""

    module: ir.Operation
    shifted_line: int | None = None
    column_shift: int = 0


class ParseFailure(Exception):
    """The parser's or verifier's `ir.MLIRError`, with the column shift of the text it parsed."""

    def __init__(self, error: ir.MLIRError, shifted_line: int | None = None, column_shift: int = 0):
        super().__init__(str(error))
        self.error = error
        self.shifted_line = shifted_line
        self.column_shift = column_shift


def split_input(text: str, split: bool) -> list[Chunk]:
    """The chunks of `text`: one when not splitting, else one per `// -----` section.

    Each chunk is padded with as many blank lines as precede it in the file, so
    that the parser reports the file's line numbers.
    """
    if not split:
        return [Chunk(text, 1)]
    chunks: list[Chunk] = []
    lines = text.splitlines(keepends=True)
    start = 0
    for i, line in enumerate(lines + [None]):
        if line is None or _SPLIT_LINE.match(line):
            body = "".join(lines[start:i])
            chunks.append(Chunk("\n" * start + body, start + 1))
            start = i + 1
    return chunks


def _starts_operation(line: str) -> bool:
    """Whether a top-level line begins an op, rather than an alias, a comment or nothing."""
    stripped = line.lstrip()
    if not stripped or stripped.startswith(("//", "#", "!", "{-#")):
        return False
    return stripped[0] in '%"' or stripped[0].isalpha() or stripped[0] == "_"


def wrap_in_module(text: str) -> tuple[str, int | None, int]:
    """`text` with its top-level ops wrapped in `module { ... }`, every line kept in place.

    `module {` goes at the start of the blank or comment line just before the
    first op when there is one (so no column moves); otherwise at the start of
    the op's own line. Attribute and type aliases before the first op stay
    outside the module, where MLIR wants them. Returns the new text and the
    1-based line whose columns moved, with by how much (None, 0 if none did).
    """
    lines = text.splitlines(keepends=True)
    first_op = next((i for i, line in enumerate(lines) if _starts_operation(line)), None)
    if first_op is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + "module {\n}\n", None, 0
    before = lines[first_op - 1] if first_op > 0 else None
    if before is not None and (not before.strip() or before.lstrip().startswith("//")):
        lines[first_op - 1] = _MODULE_PREFIX + before
        shifted, shift = None, 0
    else:
        lines[first_op] = _MODULE_PREFIX + " " + lines[first_op]
        shifted, shift = first_op + 1, len(_MODULE_PREFIX) + 1
    body = "".join(lines)
    if not body.endswith("\n"):
        body += "\n"
    return body + "}\n", shifted, shift


# An op of the coil dialect written in a custom form (`%0 = coil.alloc ...`)
# rather than the generic one (`%0 = "coil.alloc"() ...`), outside comments.
_CUSTOM_FORM_COIL_OP = re.compile(r"^(?P<lead>\s*(?:%[^=\"]*=\s*)?)(?P<name>coil\.[A-Za-z_][A-Za-z0-9_]*)\b")


def find_custom_form_coil_op(text: str) -> tuple[int, int, str] | None:
    """(line, column, op name) of the first coil op written in custom form, if any.

    coil ops parse only in the generic form, and the bindings' parser rejects
    the custom form without a diagnostic or a location; this finds the likely
    culprit so the user is told where and why.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        match = _CUSTOM_FORM_COIL_OP.match(line.split("//", 1)[0])
        if match:
            return number, len(match.group("lead")) + 1, match.group("name")
    return None


def _first_op_is_module(text: str) -> bool:
    first = next((line for line in text.splitlines() if _starts_operation(line)), "")
    return first.lstrip().startswith(("module", '"builtin.module"', "builtin.module"))


def parse_module(text: str, source_name: str, context: ir.Context) -> ParsedInput:
    """Parses `text` into a `builtin.module`, wrapping top-level ops in one as mlir-opt does.

    Text that starts with a module is parsed as it is; anything else (one
    function, several top-level ops, nothing) is parsed inside a module, so
    that module-level verifiers (symbol uses, kernel launches) see the ops
    together. Raises `ParseFailure` with the parser's or verifier's diagnostics.
    """
    if _first_op_is_module(text):
        try:
            return ParsedInput(ir.Operation.parse(text, source_name=source_name, context=context).operation)
        except ir.MLIRError as error:
            # `module {} func.func ...`: more than one top-level op; wrap them all.
            if _SINGLE_TOP_LEVEL not in str(error):
                raise ParseFailure(error) from None
    wrapped, shifted_line, shift = wrap_in_module(text)
    try:
        op = ir.Operation.parse(wrapped, source_name=source_name, context=context)
    except ir.MLIRError as error:
        raise ParseFailure(error, shifted_line, shift) from None
    return ParsedInput(op.operation, shifted_line, shift)
