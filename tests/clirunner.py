"""Run the real command line in-process, through the same error boundary users get."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass

from voipbill.cli import run


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, stdin: str = "") -> Result:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args))
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())
