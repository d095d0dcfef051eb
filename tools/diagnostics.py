"""MLIR diagnostics for coil-opt: collect them, print them like mlir-opt, verify them.

The bindings hand diagnostics over by two roads: errors raised during parsing,
verification or a pass pipeline arrive inside `ir.MLIRError`, while warnings,
remarks and notes emitted outside of those go to the context's handler. A
`DiagnosticCollector` gathers both into plain `Diagnostic` records, so printing
and `--verify-diagnostics` never deal with binding objects.

`--verify-diagnostics` follows mlir-opt: `// expected-error @+1 {{text}}`
annotations in the input (error, warning, note, remark; `@+N`, `@-N`,
`@above`, `@below`, `@unknown`; `-re` for `{{regex}}` parts) must each be
matched by a diagnostic on that line whose message contains the text, and
every diagnostic must be expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coil.mlir import ir

_FILE_LOCATION = re.compile(r'"((?:[^"\\]|\\.)*)":(\d+):(\d+)')

_SEVERITY_NAMES = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.NOTE: "note",
    ir.DiagnosticSeverity.REMARK: "remark",
}

# The note MLIR attaches to op verifier errors. mlir-opt turns it off under
# --verify-diagnostics (printOpOnDiagnostic); the bindings cannot, so it is
# dropped there instead, or every test would have to expect it.
_CURRENT_OPERATION_NOTE = "see current operation:"


@dataclass
class Diagnostic:
    """One diagnostic, with its location split into file, line and column when it has them."""

    severity: str  # "error", "warning", "note" or "remark"
    message: str
    filename: str | None = None
    line: int | None = None
    column: int | None = None
    notes: list[Diagnostic] = field(default_factory=list)

    def flattened(self) -> list[Diagnostic]:
        """This diagnostic, then its notes, each as a diagnostic of its own (as mlir-opt matches them)."""
        return [self] + [d for note in self.notes for d in note.flattened()]


def _from_binding(d, severity: str | None = None) -> Diagnostic:
    """A `Diagnostic` from the bindings' `Diagnostic` or `DiagnosticInfo`."""
    match = _FILE_LOCATION.search(str(d.location))
    filename, line, column = (match.group(1), int(match.group(2)), int(match.group(3))) if match else (None, None, None)
    return Diagnostic(
        severity=severity or _SEVERITY_NAMES.get(d.severity, "error"),
        message=str(d.message),
        filename=filename,
        line=line,
        column=column,
        notes=[_from_binding(n) for n in d.notes],
    )


class DiagnosticCollector:
    """Every diagnostic emitted in one context, in a list, whichever road it took."""

    def __init__(self, context: ir.Context):
        self.diagnostics: list[Diagnostic] = []
        context.attach_diagnostic_handler(self._handle)

    def _handle(self, d) -> bool:
        self.diagnostics.append(_from_binding(d))
        return True  # handled: the bindings must not print it to stderr as well

    def add_error(self, error: ir.MLIRError) -> None:
        """Records the errors an `ir.MLIRError` carries (or its message, if it carries none)."""
        found = list(getattr(error, "error_diagnostics", []) or [])
        if not found:
            self.diagnostics.append(Diagnostic("error", str(error)))
        for d in found:
            self.diagnostics.append(_from_binding(d, "error"))


def fix_columns(diagnostics: list[Diagnostic], filename: str, line: int | None, shift: int) -> None:
    """Undo a column shift on `line` of `filename` (where `module {` was put before an op)."""
    if line is None or not shift:
        return
    for top in diagnostics:
        for d in top.flattened():
            if d.filename == filename and d.line == line and d.column is not None and d.column > shift:
                d.column -= shift


def drop_current_operation_notes(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        d.notes = [n for n in d.notes if not n.message.startswith(_CURRENT_OPERATION_NOTE)]
        drop_current_operation_notes(d.notes)


def format_diagnostic(d: Diagnostic, source_name: str, source_lines: list[str] | None = None) -> str:
    """`file:line:col: error: message`, the source line and a caret, then the notes the same way.

    The source line is shown only for locations in the input file, whose text
    is `source_lines`.
    """
    if d.filename is not None:
        where = f"{d.filename}:{d.line}:{d.column}"
    else:
        where = source_name
    out = [f"{where}: {d.severity}: {d.message}"]
    if source_lines is not None and d.filename == source_name and d.line and 0 < d.line <= len(source_lines):
        text = source_lines[d.line - 1].rstrip("\n")
        out.append(text)
        out.append(" " * max(0, (d.column or 1) - 1) + "^")
    for note in d.notes:
        out.append(format_diagnostic(note, source_name, source_lines))
    return "\n".join(out)


# ---------------------------------------------------------------------------
# --verify-diagnostics

_EXPECTED = re.compile(
    r"expected-(error|warning|note|remark)(-re)? *(@([+-][0-9]+|above|below|unknown))? *\{\{(.*)\}\}\s*$"
)


@dataclass
class Expectation:
    """One `expected-<severity> {{text}}` annotation and the line it is about."""

    severity: str
    text: str
    is_regex: bool
    line: int | None  # None for @unknown
    annotation_line: int
    annotation_column: int
    matched: bool = False

    def matches(self, message: str) -> bool:
        if not self.is_regex:
            return self.text in message
        return re.search(_regex_from_annotation(self.text), message) is not None


def _regex_from_annotation(text: str) -> str:
    """`-re` text: `{{...}}` parts are regular expressions, the rest is literal."""
    parts, pos = [], 0
    for m in re.finditer(r"\{\{(.*?)\}\}", text):
        parts.append(re.escape(text[pos : m.start()]))
        parts.append(f"(?:{m.group(1)})")
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return "".join(parts)


def parse_expectations(text: str) -> list[Expectation]:
    """The `expected-*` annotations of `text`, with the line each refers to.

    `@above` refers to the nearest line above with no annotation on it,
    `@below` to the nearest one below, as in mlir-opt.
    """
    expectations: list[Expectation] = []
    pending_below: list[Expectation] = []
    last_plain_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        found = False
        for m in _EXPECTED.finditer(line):
            found = True
            offset = m.group(4)
            if offset is None:
                target: int | None = number
            elif offset == "unknown":
                target = None
            elif offset == "above":
                target = last_plain_line
            elif offset == "below":
                target = -1  # resolved at the next line without annotations
            else:
                target = number + int(offset)
            e = Expectation(m.group(1), m.group(5), bool(m.group(2)), target, number, m.start() + 1)
            expectations.append(e)
            if target == -1:
                pending_below.append(e)
        if not found:
            last_plain_line = number
            for e in pending_below:
                e.line = number
            pending_below.clear()
    return expectations


def verify_expected(
    diagnostics: list[Diagnostic], expectations: list[Expectation], source_name: str
) -> list[Diagnostic]:
    """Matches diagnostics against expectations; returns the mismatches as error diagnostics.

    An empty list means every diagnostic was expected and every expectation met.
    """
    problems: list[Diagnostic] = []
    for d in (flat for top in diagnostics for flat in top.flattened()):
        in_file = d.filename == source_name
        line = d.line if in_file else None
        if d.filename is not None and not in_file:
            problems.append(_at(d, f"unexpected {d.severity}: {d.message}"))
            continue
        candidates = [e for e in expectations if e.line == line and e.matches(d.message)]
        same_kind = [e for e in candidates if e.severity == d.severity]
        # Prefer an annotation not matched yet, so two similar ones on a line both count.
        chosen = next((e for e in same_kind if not e.matched), same_kind[0] if same_kind else None)
        if chosen is not None:
            chosen.matched = True
        elif candidates:
            near = candidates[0]
            near.matched = True
            problems.append(
                _at(d, f"'{d.severity}' diagnostic emitted when expecting a '{near.severity}': {d.message}")
            )
        else:
            problems.append(_at(d, f"unexpected {d.severity}: {d.message}"))
    for e in expectations:
        if not e.matched:
            what = "expected " + e.severity + ("-re" if e.is_regex else "")
            problems.append(
                Diagnostic("error", f'{what} "{e.text}" was not produced', source_name, e.annotation_line,
                           e.annotation_column)
            )
    return problems


def _at(d: Diagnostic, message: str) -> Diagnostic:
    return Diagnostic("error", message, d.filename, d.line, d.column)
