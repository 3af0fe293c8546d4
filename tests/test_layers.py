"""The CLI uses only the public names of the core: no `_private` name, and only names in a
module's `__all__` where it has one (a walk over the CLI's imports).

Which package may import which (the layers, typer and rich in the CLI only, the CLI through the
billing, ledger and report packages) are import-linter contracts in pyproject.toml, checked by
`lint-imports` in the README's test command and here, so a plain `pytest` run catches a broken
one too; import-linter sees modules, not the names imported from them, hence the walk below."""

from __future__ import annotations

import ast
import importlib
import logging
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "voipbill"
PYPROJECT = PACKAGE.parent / "pyproject.toml"
# packages whose public face is their __init__'s __all__ (the CLI never reaches past it: a
# contract of pyproject.toml)
FACADES = ("voipbill.billing", "voipbill.ledger", "voipbill.report")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for each `import module` (name None) and `from module import name`."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.extend((node.module, alias.name) for alias in node.names)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def public_names(module: str) -> set[str] | None:
    exported = getattr(importlib.import_module(module), "__all__", None)
    return None if exported is None else set(exported)


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("voipbill.cli")])
def test_the_cli_imports_only_public_names_of_the_core(name: str) -> None:
    bad = []
    for module, imported in imports(MODULES[name]):
        if not module.startswith("voipbill") or module.startswith("voipbill.cli"):
            continue
        if module in MODULES and imported in MODULES:
            continue  # `from voipbill import billing`: the module itself
        full = module if imported is None else f"{module}.{imported}"
        if any(_private(part) for part in full.split(".")):
            bad.append(full)
        elif (
            imported is not None
            and (exported := public_names(module)) is not None
            and imported not in exported
            and f"{module}.{imported}" not in MODULES
        ):
            bad.append(f"{full} (not in {module}.__all__)")
    assert bad == [], f"{name} reaches past the core's public names: {bad}"


@pytest.mark.parametrize("facade", FACADES)
def test_each_facade_exports_only_names_it_has(facade: str) -> None:
    module = importlib.import_module(facade)
    assert all(hasattr(module, name) for name in module.__all__)


def test_the_walk_finds_each_imported_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import voipbill.money\nfrom voipbill.periods import _private, Period\n")
    assert imports(sample) == [
        ("voipbill.money", None),
        ("voipbill.periods", "_private"),
        ("voipbill.periods", "Period"),
    ]


def test_the_import_contracts_of_pyproject_hold() -> None:
    lint = pytest.importorskip("importlinter.cli")
    # import-linter configures logging with disable_existing_loggers: every logger made before
    # it (voipbill's) would stay disabled for the tests that run after this one in the process
    loggers = logging.root.manager.loggerDict
    enabled = [v for v in loggers.values() if isinstance(v, logging.Logger) and not v.disabled]
    try:
        code = lint.lint_imports(config_filename=str(PYPROJECT), no_cache=True)
    finally:
        for logger in enabled:
            logger.disabled = False
    assert code == 0, "lint-imports"
