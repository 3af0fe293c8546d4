"""`voipbill deck check` (SPEC §3 decks, §8 exit codes)."""

from __future__ import annotations

from pathlib import Path

from tests.clirunner import invoke

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "decks"


def test_example_deck_is_valid_and_summarised_on_stdout() -> None:
    result = invoke(
        "deck", "check", str(ROOT / "examples" / "deck.csv"), "--timezone", "America/Toronto"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    for expected in (
        "│ rows              │ 21",
        "1-4 digits",
        "0 - 0.2450",
        "(2026-10-15)",
        "1 row with a fee",
    ):
        assert expected in result.stdout


def test_each_preset_file_checks_clean() -> None:
    for preset in ("ictvoip", "astpp", "magnus"):
        result = invoke("deck", "check", str(DATA / f"{preset}.csv"), "--preset", preset)
        assert result.exit_code == 0, (preset, result.stderr)
        assert f"│ preset            │ {preset} " in result.stdout


def test_broken_deck_lists_every_problem_and_exits_1() -> None:
    result = invoke("deck", "check", str(DATA / "broken.csv"))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 7
    assert result.stdout.startswith("line 3: prefix '1-416' is not 1-15 digits\n")
    assert "refused: 7 problems" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_preset_names_the_missing_column() -> None:
    result = invoke("deck", "check", str(DATA / "voipbill.csv"), "--preset", "astpp")
    assert result.exit_code == 1
    assert "no 'Code' column" in result.stdout
    assert "--preset" in result.stderr  # the hint


def test_missing_file_exits_1_with_one_line(tmp_path: Path) -> None:
    result = invoke("deck", "check", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "cannot read it" in result.stdout
    assert result.stderr.startswith("error: rate deck")


def test_unknown_zone_and_preset_are_usage_errors() -> None:
    deck = str(DATA / "voipbill.csv")
    assert invoke("deck", "check", deck, "--timezone", "Mars/Olympus").exit_code == 2
    assert invoke("deck", "check", deck, "--preset", "telnyx").exit_code == 2
