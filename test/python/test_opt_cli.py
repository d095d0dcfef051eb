"""coil-opt as a user runs it: a subprocess, exit codes, stdout and stderr; and main() in-process.

In-process runs can register a throwaway pass that fails, to check the
reproducer, which no registered pass does on valid input.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coil.passes import registry
from coil.passes.registry import PassFailure, register_pass
from coil.tools import opt
from coil.tools.diagnostics import Diagnostic, parse_expectations, verify_expected
from coil.tools.source import split_input, wrap_in_module

TRANSPOSE = """\
func.func @transpose(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = "coil.view"(%x) {map = affine_map<(d0, d1) -> (d1, d0)>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  %0 = "coil.pointwise"() ({
  ^bb0(%i: index, %j: index):
    %v = "coil.load"(%t, %i, %j) : (tensor<8x4xf32>, index, index) -> f32
    "coil.yield"(%v) : (f32) -> ()
  }) {ranges = [8, 4]} : () -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
"""

INVALID = """\
func.func @f() {
  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>
  return
}
"""


def coil_opt(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs coil-opt as a separate process, with the interpreter running the tests."""
    return subprocess.run(
        [sys.executable, "-m", "coil.tools.opt", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120,
    )


def run_main(capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Runs `opt.main` in this process; returns (status, stdout, stderr)."""
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = opt.main(list(args))
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def write(tmp_path):
    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write_file


@pytest.fixture
def failing_pass():
    """A coil pass that always fails with a diagnostic, registered for one test only."""
    name = "test-always-fails"

    @register_pass(name, "Fails on purpose (test only)")
    def always_fails(module):
        raise PassFailure("this pass always fails", module.location)

    registry.registered_passes()
    yield name
    registry._PASSES.pop(name, None)


# ---------------------------------------------------------------------------
# Input and output


def test_file_in_stdout_out(write):
    result = coil_opt(str(write("t.mlir", TRANSPOSE)), "--coil-fold-views")
    assert result.returncode == 0, result.stderr
    assert "coil.view" not in result.stdout
    assert re.search(r'"coil.load"\(%arg0, %\d+, %\d+\) : \(tensor<4x8xf32>, index, index\) -> f32', result.stdout)
    assert result.stderr == ""


@pytest.mark.parametrize("args", [(), ("-",)], ids=["no file", "dash"])
def test_stdin(args):
    result = coil_opt(*args, "--coil-fold-views", "--canonicalize", stdin=TRANSPOSE)
    assert result.returncode == 0, result.stderr
    assert '"coil.load"(%arg0, %arg2, %arg1)' in result.stdout


def test_output_file(write, tmp_path):
    out = tmp_path / "out.mlir"
    result = coil_opt(str(write("t.mlir", TRANSPOSE)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "func.func @transpose" in out.read_text()


def test_output_file_not_written_on_failure(write, tmp_path):
    out = tmp_path / "out.mlir"
    result = coil_opt(str(write("bad.mlir", INVALID)), "-o", str(out))
    assert result.returncode == 1
    assert not out.exists()


def test_console_script_is_installed(write):
    """The `coil-opt` script next to this interpreter (what pip installs) runs main()."""
    script = shutil.which("coil-opt", path=os.path.dirname(sys.executable)) or shutil.which("coil-opt")
    assert script, "coil-opt is not installed: pip install -e ."
    result = subprocess.run([script, str(write("t.mlir", TRANSPOSE))], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "func.func @transpose" in result.stdout


def test_missing_input_file(capsys, tmp_path):
    status, _, err = run_main(capsys, str(tmp_path / "nope.mlir"))
    assert status == 1
    assert err.startswith(f"coil-opt: error: could not read input file '{tmp_path / 'nope.mlir'}'")


# ---------------------------------------------------------------------------
# Invalid IR


def test_invalid_ir_is_a_located_diagnostic(write):
    path = write("bad.mlir", INVALID)
    result = coil_opt(str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == f"{path}:2:8: error: 'coil.alloc' op device must not be empty"
    assert "Traceback" not in result.stderr


def test_syntax_error_is_a_located_diagnostic(capsys):
    status, _, err = run_main(capsys, stdin="func.func @f( {\n")
    assert status == 1
    assert err.startswith("<stdin>:1:14: error: expected non-function type\nfunc.func @f( {\n             ^\n")


def test_custom_form_coil_op_is_located(capsys):
    """The bindings' parser rejects coil ops in custom form silently; coil-opt says where and why."""
    status, _, err = run_main(capsys, stdin='func.func @f() {\n  %0 = coil.alloc {device = "cpu"} : memref<4xf32>\n  return\n}\n')
    assert status == 1
    assert err.startswith(
        "<stdin>:2:8: error: custom op 'coil.alloc' cannot be parsed: coil ops have only the generic form"
    )


def test_internal_error_is_one_line_and_exit_2(capsys, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(opt, "parse_module", crash)
    status, out, err = run_main(capsys, "-", stdin=TRANSPOSE)
    assert status == 2
    assert err == (
        "coil-opt: internal error while processing <stdin> (a bug in coil, please report it): "
        "RuntimeError: simulated bug\n"
    )


def test_unknown_pass(capsys):
    status, _, err = run_main(capsys, "--pass-pipeline=builtin.module(no-such-pass)", stdin=TRANSPOSE)
    assert status == 1
    assert err.startswith("coil-opt: error: unknown pass or pipeline element 'no-such-pass'")


def test_bad_flag_is_a_usage_error(capsys):
    status, _, err = run_main(capsys, "--no-such-flag")
    assert status == 2
    assert "unrecognized arguments: --no-such-flag" in err


# ---------------------------------------------------------------------------
# --split-input-file


SPLIT = TRANSPOSE + "\n// -----\n\n" + INVALID + "\n// -----\n" + "func.func @g() {\n  return\n}\n"


def test_split_input_file(capsys, write):
    path = write("split.mlir", SPLIT)
    status, out, err = run_main(capsys, str(path), "--split-input-file", "--coil-fold-views")
    assert status == 1  # the middle chunk is invalid
    chunks = out.split("// -----\n")
    assert len(chunks) == 3
    assert "func.func @transpose" in chunks[0] and "coil.view" not in chunks[0]
    assert chunks[1] == ""
    assert "func.func @g()" in chunks[2]
    # The error carries the line of the whole file, not of its chunk.
    line = SPLIT.splitlines().index('  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>') + 1
    assert err.splitlines()[0] == f"{path}:{line}:8: error: 'coil.alloc' op device must not be empty"


def test_split_input_pads_chunks_to_their_lines():
    chunks = split_input("a\n// -----\nb\nc\n// -----\nd", split=True)
    assert [c.first_line for c in chunks] == [1, 3, 6]
    assert chunks[1].text.splitlines() == ["", "", "b", "c"]
    assert chunks[2].text.splitlines()[5] == "d"
    assert len(split_input("a\n// -----\nb", split=False)) == 1


def test_wrap_in_module_keeps_lines():
    text = "#map = affine_map<(d0) -> (d0)>\n\nfunc.func @f() {\n  return\n}\n"
    wrapped, shifted_line, shift = wrap_in_module(text)
    assert wrapped.splitlines()[:5] == [
        "#map = affine_map<(d0) -> (d0)>", "module {", "func.func @f() {", "  return", "}"
    ]
    assert (shifted_line, shift) == (None, 0)
    wrapped, shifted_line, shift = wrap_in_module("func.func @f() {\n  return\n}\n")
    assert wrapped.splitlines()[0] == "module { func.func @f() {"
    assert (shifted_line, shift) == (1, len("module { "))


def test_column_of_first_line_is_not_shifted(capsys):
    """A file whose first line is an op gets `module {` on that line; columns stay the user's."""
    status, _, err = run_main(capsys, stdin='func.func @f() { %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>\n return\n}\n')
    assert status == 1
    assert err.startswith("<stdin>:1:23: error: 'coil.alloc' op device must not be empty")


# ---------------------------------------------------------------------------
# --verify-diagnostics


def test_verify_diagnostics_success(capsys, write):
    text = (
        "func.func @f() {\n"
        "  // expected-error @+1 {{device must not be empty}}\n"
        '  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>\n'
        "  return\n"
        "}\n"
    )
    status, _, err = run_main(capsys, str(write("v.mlir", text)), "--verify-diagnostics")
    assert status == 0, err
    assert err == ""


def test_verify_diagnostics_mismatch(capsys, write):
    text = (
        "func.func @f() {\n"
        "  // expected-error @+1 {{device must be set}}\n"
        '  %0 = "coil.alloc"() {device = ""} : () -> memref<4xf32>\n'
        "  return\n"
        "}\n"
    )
    path = write("v.mlir", text)
    status, _, err = run_main(capsys, str(path), "--verify-diagnostics")
    assert status == 1
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert errors == [
        f"{path}:3:8: error: unexpected error: 'coil.alloc' op device must not be empty",
        f'{path}:2:6: error: expected error "device must be set" was not produced',
    ]


def test_verify_diagnostics_on_valid_input_without_expectations(capsys, write):
    status, out, _ = run_main(capsys, str(write("t.mlir", TRANSPOSE)), "--verify-diagnostics")
    assert status == 0
    assert "func.func @transpose" in out


def test_expectation_designators():
    text = "\n".join([
        "op1",                                           # 1
        "// expected-error @above {{a}}",                # 2 -> 1
        "// expected-error @above {{a2}}",               # 3 -> 1: line 2 holds an annotation
        "// expected-warning @below {{b}}",              # 4 -> 7: 5 and 6 hold annotations
        "// expected-note @+2 {{c}}",                    # 5 -> 7
        "op2 // expected-remark {{d}}",                  # 6 -> 6
        "op3",                                           # 7
        "// expected-error @-5 {{e}}",                   # 8 -> 3
        "// expected-error @unknown {{f}}",              # 9 -> None
        "// expected-error-re @+1 {{x {{[0-9]+}} y}}",   # 10 -> 11
    ])
    found = [(e.severity, e.text, e.line, e.is_regex) for e in parse_expectations(text)]
    assert found == [
        ("error", "a", 1, False),
        ("error", "a2", 1, False),
        ("warning", "b", 7, False),
        ("note", "c", 7, False),
        ("remark", "d", 6, False),
        ("error", "e", 3, False),
        ("error", "f", None, False),
        ("error", "x {{[0-9]+}} y", 11, True),
    ]


def test_verify_expected_matches_severity_line_and_text():
    expectations = parse_expectations(
        "op // expected-warning {{slow}}\n"
        "op // expected-remark {{fused 2}}\n"
        "op // expected-error-re {{size {{[0-9]+}} too big}}\n"
    )
    diagnostics = [
        Diagnostic("warning", "this is slow", "f.mlir", 1, 1),
        Diagnostic("remark", "fused 2 kernels", "f.mlir", 2, 1),
        Diagnostic("error", "size 128 too big", "f.mlir", 3, 1),
    ]
    assert verify_expected(diagnostics, expectations, "f.mlir") == []

    wrong_severity = parse_expectations("op // expected-warning {{slow}}\n")
    problems = verify_expected([Diagnostic("error", "slow", "f.mlir", 1, 1)], wrong_severity, "f.mlir")
    assert [p.message for p in problems] == ["'error' diagnostic emitted when expecting a 'warning': slow"]

    unknown = parse_expectations("// expected-error @unknown {{lost}}\n")
    assert verify_expected([Diagnostic("error", "lost it")], unknown, "f.mlir") == []
    problems = verify_expected([Diagnostic("error", "lost it")], [], "f.mlir")
    assert [p.message for p in problems] == ["unexpected error: lost it"]


def test_two_expectations_need_two_diagnostics():
    expectations = parse_expectations("op // expected-error {{boom}} expected-error {{boom}}\n")
    assert len(expectations) == 1  # one per line with text to the end of the line
    expectations = parse_expectations("// expected-error @below {{boom}}\n// expected-error @below {{boom}}\nop\n")
    problems = verify_expected([Diagnostic("error", "boom", "f.mlir", 3, 1)], expectations, "f.mlir")
    assert [p.message for p in problems] == ['expected error "boom" was not produced']
    both = [Diagnostic("error", "boom", "f.mlir", 3, 1), Diagnostic("error", "boom", "f.mlir", 3, 5)]
    assert verify_expected(both, parse_expectations(
        "// expected-error @below {{boom}}\n// expected-error @below {{boom}}\nop\n"), "f.mlir") == []


# ---------------------------------------------------------------------------
# Passes on the command line


def test_help_lists_every_registered_pass(capsys):
    status, out, _ = run_main(capsys, "--help")
    assert status == 0
    for name, info in registry.registered_passes().items():
        assert re.search(rf"^  --{re.escape(name)}(\[='key=value \.\.\.'\])? +{re.escape(info.description)}$", out, re.M), name
    assert "--coil-fold-views" in out
    assert "\nPasses: " in out


def test_a_newly_registered_pass_gets_a_flag(capsys, failing_pass):
    status, out, _ = run_main(capsys, "--help")
    assert status == 0
    assert re.search(rf"^  --{failing_pass} +Fails on purpose \(test only\)$", out, re.M)


def test_flags_run_in_command_line_order(capsys, write):
    path = str(write("t.mlir", TRANSPOSE))
    status, folded_then_canonical, _ = run_main(capsys, path, "--coil-fold-views", "--canonicalize")
    assert status == 0
    assert "affine.apply" not in folded_then_canonical
    status, canonical_then_folded, _ = run_main(capsys, path, "--canonicalize", "--coil-fold-views")
    assert status == 0
    assert "affine.apply" in canonical_then_folded


def test_pass_pipeline_mixes_coil_and_upstream_passes(capsys, write):
    status, out, _ = run_main(
        capsys, str(write("t.mlir", TRANSPOSE)),
        "--pass-pipeline=builtin.module(coil-fold-views, func.func(canonicalize, cse))",
    )
    assert status == 0
    assert "coil.view" not in out and "affine.apply" not in out
    assert '"coil.load"(%arg0, %arg2, %arg1)' in out


def test_print_ir_before_and_after(capsys, write):
    status, _, err = run_main(
        capsys, str(write("t.mlir", TRANSPOSE)), "--coil-fold-views", "--canonicalize",
        "--print-ir-before-all", "--print-ir-after-all",
    )
    assert status == 0
    headers = re.findall(r"^// -----// IR Dump (.*) //----- //$", err, re.M)
    assert headers == [
        "Before coil-fold-views", "After coil-fold-views", "Before canonicalize", "After canonicalize",
    ]
    after_fold = err.split("IR Dump After coil-fold-views")[1].split("IR Dump Before canonicalize")[0]
    assert "coil.view" not in after_fold and "affine.apply" in after_fold


def test_timing_prints_a_table(write):
    result = coil_opt(str(write("t.mlir", TRANSPOSE)), "--coil-fold-views", "--canonicalize", "--timing")
    assert result.returncode == 0
    assert "Execution time report" in result.stderr
    rows = re.findall(r"^\s+([0-9.]+) \(\s*([0-9.]+)%\)  (.+)$", result.stderr, re.M)
    assert [name for _, _, name in rows] == ["Parser", "coil-fold-views", "canonicalize", "Output", "Total"]
    total = float(rows[-1][0])
    assert abs(sum(float(seconds) for seconds, _, _ in rows[:-1]) - total) < 1e-3
    assert "func.func @transpose" in result.stdout  # timing goes to stderr only


# ---------------------------------------------------------------------------
# Reproducers


def test_failing_pass_writes_a_reproducer(capsys, write, tmp_path, failing_pass):
    path = write("t.mlir", TRANSPOSE)
    repro_dir = tmp_path / "repro"
    status, out, err = run_main(
        capsys, str(path), "--coil-fold-views", f"--{failing_pass}", "--reproducer-dir", str(repro_dir)
    )
    assert status == 1
    assert out == ""
    assert f"{path}:1:1: error: {failing_pass}: this pass always fails" in err
    reproducer = repro_dir / "coil-reproducer-1.mlir"
    assert reproducer.exists()
    command = f"coil-opt {reproducer} --pass-pipeline='builtin.module({failing_pass})'"
    assert f"coil-opt: reproduce with: {command}" in err
    # The reproducer holds the failing pass's input: coil-fold-views has run.
    text = reproducer.read_text()
    assert "coil.view" not in text and "affine.apply" in text

    # Replaying the printed command fails the same way, on the reproducer.
    status, _, replay_err = run_main(capsys, *shlex.split(command)[1:], "--reproducer-dir", str(tmp_path / "again"))
    assert status == 1
    assert f"error: {failing_pass}: this pass always fails" in replay_err
    assert replay_err.startswith(str(reproducer))


def test_reproducer_goes_to_the_current_directory(capsys, write, tmp_path, monkeypatch, failing_pass):
    path = write("t.mlir", TRANSPOSE)
    monkeypatch.chdir(tmp_path)
    for n in (1, 2):
        status, _, err = run_main(capsys, str(path), f"--{failing_pass}")
        assert status == 1
        assert f"reproduce with: coil-opt coil-reproducer-{n}.mlir --pass-pipeline=" in err
    assert sorted(p.name for p in tmp_path.glob("coil-reproducer-*.mlir")) == [
        "coil-reproducer-1.mlir", "coil-reproducer-2.mlir"
    ]


def test_upstream_pass_failure_writes_a_reproducer(write, tmp_path):
    """one-shot-bufferize cannot bufferize coil ops: an upstream pass failing, in a subprocess."""
    result = coil_opt(
        str(write("t.mlir", TRANSPOSE)), "--pass-pipeline=builtin.module(one-shot-bufferize)",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "error: op was not bufferized" in result.stderr
    assert (
        "coil-opt: reproduce with: coil-opt coil-reproducer-1.mlir "
        "--pass-pipeline='builtin.module(one-shot-bufferize)'" in result.stderr
    )
    assert (tmp_path / "coil-reproducer-1.mlir").exists()
    assert "Traceback" not in result.stderr


def test_verify_diagnostics_writes_no_reproducer(capsys, write, tmp_path, monkeypatch, failing_pass):
    # The pass fails at the module, which starts on the line before the function.
    text = f"// expected-error {{{{{failing_pass}: this pass always fails}}}}\n" + TRANSPOSE
    monkeypatch.chdir(tmp_path)
    status, _, err = run_main(capsys, str(write("v.mlir", text)), f"--{failing_pass}", "--verify-diagnostics")
    assert status == 0, err
    assert list(tmp_path.glob("coil-reproducer-*")) == []


def test_pass_options_attach_with_equals(capsys, write):
    """`--<pass>='k=v'` passes options; a bare `--<pass>` never swallows the input file."""
    seen = []

    @register_pass("test-with-options", "Records its options (test only)", {"factor": "a number"})
    def record(module, factor="1"):
        seen.append(factor)

    try:
        path = str(write("t.mlir", TRANSPOSE))
        status, _, err = run_main(capsys, path, "--test-with-options=factor=3", "--test-with-options")
        assert status == 0, err
        assert seen == ["3", "1"]
        status, _, err = run_main(capsys, "--test-with-options", path)
        assert status == 0, err
        status, _, err = run_main(capsys, path, "--test-with-options=size=3")
        assert status == 1
        assert "pass 'test-with-options' has no option 'size' (options: factor)" in err
    finally:
        registry._PASSES.pop("test-with-options", None)


def test_readme_try_it_output_is_what_coil_opt_prints(capsys):
    """The README shows the output of its coil-opt example; it must stay the real output."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    section = readme.split("## Look at the IR", 1)[1].split("\n## ", 1)[0]
    command = re.search(r"```sh\n(.*?)\n```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    coil_opt_args = shlex.split(command.split("coil-opt ", 1)[1])
    assert coil_opt_args[0] == "examples/softmax.mlir"
    status, out, err = run_main(capsys, str(root / coil_opt_args[0]), *coil_opt_args[1:])
    assert status == 0, err
    assert out == shown
