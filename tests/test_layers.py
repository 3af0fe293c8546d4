"""The layers hold: the core imports no typer, rich or voipbill.cli, and the CLI uses only the
public names of the core (a walk over every module's imports)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "voipbill"
# packages whose public face is their __init__'s __all__: the CLI never reaches past it
FACADES = ("voipbill.billing", "voipbill.ledger", "voipbill.report")
UI_MODULES = ("typer", "rich", "click", "voipbill.cli")


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


def is_ui(module: str) -> bool:
    return any(module == ui or module.startswith(ui + ".") for ui in UI_MODULES)


CORE = [n for n in MODULES if not n.startswith("voipbill.cli") and n != "voipbill.__main__"]


@pytest.mark.parametrize("name", CORE)
def test_no_core_module_imports_typer_rich_or_the_cli(name: str) -> None:
    offending = [module for module, _ in imports(MODULES[name]) if is_ui(module)]
    assert offending == [], f"{name} imports {offending}"


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
        facade = next((f for f in FACADES if module.startswith(f + ".")), None)
        if facade is not None:
            bad.append(f"{full} (use {facade})")
        elif any(_private(part) for part in full.split(".")):
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


def test_the_walk_catches_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import rich.table\nfrom voipbill.billing.scope import RatingRun\n")
    assert [module for module, _ in imports(sample) if is_ui(module)] == ["rich.table"]
    assert ("voipbill.billing.scope", "RatingRun") in imports(sample)
