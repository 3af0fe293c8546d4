"""The command line: a thin layer over the core, with one error boundary."""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence

from voipbill.errors import ExitCode, Reported, VoipbillError

# Options accepted before the command name and after it (rules §2: `--config`), moved to
# the front so the top-level callback sees them wherever they were written.
_GLOBAL_FLAGS = {"-q", "--quiet", "--debug", "-v", "--verbose", "--no-color"}
_GLOBAL_WITH_VALUE = {"--config", "-c", "--log-file"}


def hoist_global_options(args: Sequence[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in _GLOBAL_FLAGS or (arg.split("=", 1)[0] in _GLOBAL_WITH_VALUE and "=" in arg):
            front.append(arg)
        elif arg in _GLOBAL_WITH_VALUE and index + 1 < len(args):
            front.extend(args[index : index + 2])
            index += 1
        elif (
            arg.startswith("-")
            and not arg.startswith("--")
            and len(arg) > 2
            and set(arg[1:]) <= {"q", "v"}
        ):
            front.append(arg)  # -qq, -vv
        else:
            rest.append(arg)
        index += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run one command and exit with its rules §8 code."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


def run(args: list[str]) -> int:
    """Run one command; the single place where errors become messages and exit codes."""
    import typer.main

    from voipbill.cli import logs, output
    from voipbill.cli.app import app

    debug = "--debug" in args
    try:
        # Standalone mode: typer prints usage errors itself and exits 2 (rules §8).
        typer.main.get_command(app).main(
            args=hoist_global_options(args), prog_name="voipbill", standalone_mode=True
        )
    except SystemExit as exc:
        code = exc.code
        code = code if isinstance(code, int) else (0 if code is None else 1)
        if not _flush_stdout() and code == 0:
            code = int(ExitCode.USAGE)
        logs.ROOT.info("exit %d", code)
        return code
    except VoipbillError as exc:
        logs.ROOT.debug("error (exit %d)", int(exc.exit_code), exc_info=True)
        if isinstance(exc, Reported):  # the command has said it all already
            _flush_stdout(report=False)
            return int(exc.exit_code)
        if debug:
            traceback.print_exc()
        output.error(exc.message, hint=exc.hint)
        _flush_stdout(report=False)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        logs.ROOT.debug("interrupted", exc_info=True)
        output.error("interrupted")
        return 130
    except Exception as exc:
        if isinstance(exc, OSError) and _failed_printing(exc):
            # a write that no guarded stream saw (typer printing --help into a full disk)
            logs.ROOT.debug("output cannot be written", exc_info=True)
            output.error(f"cannot write the output: {exc.strerror or exc}")
            _flush_stdout(report=False)
            return int(ExitCode.USAGE)
        logs.ROOT.debug("internal error", exc_info=True)
        if debug:
            traceback.print_exc()
        output.error(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="this is a bug in voipbill; rerun with --debug and report the traceback",
        )
        return int(ExitCode.INTERNAL)
    finally:
        logs.stop()
    return 0


# what writing to a full disk, a closed pipe or a failing device raises
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EPIPE, errno.EIO}


def _failed_printing(exc: OSError) -> bool:
    """The error of a write inside rich or typer printing (help, a usage box)."""
    if exc.errno not in _WRITE_ERRORS:
        return False
    innermost = exc.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    module = "" if innermost is None else str(innermost.tb_frame.f_globals.get("__name__", ""))
    return module.startswith(("rich.", "typer."))


def _flush_stdout(*, report: bool = True) -> bool:
    """Flush the data still buffered for stdout; False (and said on stderr) when it fails.

    A full disk or a closed pipe under stdout is an output that cannot be written (exit 2),
    not a bug; stdout is then pointed at /dev/null so Python's own flush at exit is quiet.
    """
    from voipbill.cli import output

    try:
        sys.stdout.flush()
        return True
    except OSError as exc:
        if report:
            output.error(f"cannot write to standard output: {exc.strerror or exc}")
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass  # not a real descriptor (a test's StringIO): nothing left to flush at exit
        return False
