"""The ``qntk`` command line run from tests: in this process (the interpreter, JAX and the compiled programs are
shared between tests, so a refusal costs milliseconds) or in a fresh interpreter, as a user runs it.

Imported by name (``from cli_runner import qntk``) like ``dense_reference``: pytest puts ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings

import pytest


def qntk(*args: str) -> subprocess.CompletedProcess:
    """``qntk *args`` in this process: exit status, stdout and stderr as from :func:`qntk_process`."""
    from qntk import cli

    out, err, argv, formatwarning = io.StringIO(), io.StringIO(), sys.argv, warnings.formatwarning
    sys.argv = ["qntk", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
            cli.main()
    finally:
        sys.argv, warnings.formatwarning = argv, formatwarning
    return subprocess.CompletedProcess(["qntk", *args], stop.value.code, out.getvalue(), err.getvalue())


def qntk_process(*args: str) -> subprocess.CompletedProcess:
    """``qntk *args`` as a user runs it: a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "qntk", *args], capture_output=True, text=True, timeout=300)
