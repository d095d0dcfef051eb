# -*- Python -*-
"""lit configuration for coil's FileCheck tests: `lit -v test/lit`.

A plain config, no CMake site file: the tools are the `coil-opt` and
`filecheck` console scripts of the Python environment lit runs in (or on PATH).
RUN lines use `%coil-opt`, which carries the per-test time limit when lit
cannot enforce one itself, `%roundtrip`, which prints a file and parses the
printout back, and `%python`, the interpreter lit runs in.
"""

import os
import shutil
import sys
import tempfile

import lit.formats

config.name = "coil"
# lit's internal shell (pipes, &&, `not`, redirections). `ShTest(True)`, the
# external bash, is refused by lit 23 ("deprecated, removed in LLVM 24").
config.test_format = lit.formats.ShTest(execute_external=False)
# .py tests drive the importer from Python: `# RUN: %python %s | filecheck %s`.
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))

# Scratch files (%t) go outside the source tree, in a folder of this run's
# own, so two lit runs in one checkout never share a %t.
config.test_exec_root = tempfile.mkdtemp(prefix="coil-lit-")

# The scripts installed next to the interpreter running lit come first, so an
# unactivated virtual environment (`.venv/bin/lit test/lit`) still finds its tools.
_bin = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])

for tool in ("coil-opt", "filecheck"):
    if shutil.which(tool, path=config.environment["PATH"]) is None:
        lit_config.fatal(f"'{tool}' is not on PATH: install coil with `pip install -e \".[test]\"`")

# A test that hangs must fail, not stall the suite. lit enforces its own limit
# only with psutil installed; without it, coreutils' `timeout` bounds each
# coil-opt run instead (filecheck stops when its input ends).
TEST_TIME_LIMIT_S = 60
coil_opt = "coil-opt"
_supported, _why = lit_config.maxIndividualTestTimeIsSupported
if _supported:
    config.maxIndividualTestTime = TEST_TIME_LIMIT_S
elif shutil.which("timeout"):
    coil_opt = f"timeout {TEST_TIME_LIMIT_S} coil-opt"
    lit_config.note(f"psutil is missing ({_why}); coil-opt runs under `timeout {TEST_TIME_LIMIT_S}` instead")
else:
    lit_config.warning(f"no per-test time limit: psutil and coreutils' timeout are both missing")

# lit applies a config's substitutions before its own (%s, %t), so the %s that
# %roundtrip puts in is expanded too.
config.substitutions.append(("%roundtrip", f"{coil_opt} %s | {coil_opt}"))
config.substitutions.append(("%coil-opt", coil_opt))
config.substitutions.append(("%python", f'"{sys.executable}"'))
config.substitutions.append(("%python", coil_opt.replace("coil-opt", sys.executable)))
