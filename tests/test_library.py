"""The README's library example runs exactly as written, so the library surface stays real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def library_example() -> str:
    section = README.split("## Using voipbill as a library", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's library section has no python block"
    return found.group(1)


@pytest.mark.slow  # a new Python process
def test_the_readme_library_example_prints_each_services_total() -> None:
    done = subprocess.run(
        [sys.executable, "-c", library_example()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # the totals of examples/cdrs.csv for October (the `total` rows of `rate --detail summary`)
    assert done.stdout.splitlines() == [
        "mcon 22.2724 CAD",
        "acme 14.1193 CAD",
        "london 28.4019 CAD",
    ]
    assert done.stderr == ""  # the core prints nothing
