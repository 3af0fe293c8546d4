"""`voipbill deck check` (rules §3 decks, §8 exit codes)."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# -- deck check --config FILE --deck NAME -----------------------------------------------------

CONFIG = """
timezone = "America/Toronto"
currency = "CAD"

[decks.carrier]
path = "deck.csv"
preset = "astpp"
{options}

[packages.paygo]
deck = "carrier"
country = "CA"

[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112"
"""
CDRS = (
    "xml_cdr_uuid,extension,direction,start_epoch,billsec,destination_number\n"
    "u1,2112,outbound,1792069200,60,15195550100\n"
)


def configured(tmp_path: Path, deck: str, options: str = "") -> Path:
    (tmp_path / "deck.csv").write_text(deck, encoding="utf-8")
    (tmp_path / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    config = tmp_path / "voipbill.toml"
    config.write_text(CONFIG.format(options=options), encoding="utf-8")
    return config


def test_config_deck_shows_the_column_map_ignored_cells_and_rows_left_out(tmp_path: Path) -> None:
    deck = (DATA / "astpp_export.csv").read_text(encoding="utf-8")
    config = configured(tmp_path, deck)
    result = invoke("deck", "check", "--config", str(config), "--deck", "carrier")
    assert result.exit_code == 0, result.stderr
    for expected in (
        "'Cost / Min (USD)' -> rate",
        "'Connection Cost (USD)' -> connect_fee",
        "'Grace Time' -> included_seconds",
        "'Priority', 'Strip', 'Prepend', 'Trunk', 'Created Date'",
        "1 row inactive (Status): line 4",
        "│ rows              │ 3 ",
    ):
        assert expected in result.stdout, expected


def test_a_misspelt_column_is_listed_as_ignored(tmp_path: Path) -> None:
    config = configured(tmp_path, "Code,Conect Cost,Cost/Min\n1,0.05,0.02\n")
    result = invoke("deck", "check", "--config", str(config), "--deck", "carrier")
    assert result.exit_code == 0, result.stderr
    assert "│ ignored cells     │ 'Conect Cost'" in result.stdout


def test_config_deck_reads_the_decks_options(tmp_path: Path) -> None:
    config = configured(
        tmp_path, "Code,Cost/Min\n201200,0.0001\n", 'prefix_prepend = "1"\nrate_unit = "second"'
    )
    result = invoke("deck", "check", "--config", str(config), "--deck", "carrier")
    assert result.exit_code == 0, result.stderr
    assert "7-7 digits" in result.stdout  # 1201200
    assert "0.0060 - 0.0060" in result.stdout  # 0.0001 × 60


@pytest.mark.parametrize(
    "deck",
    [
        "Code,Cost/Min,Per Minute Cost\n1,0.01,0.02\n",  # ambiguous columns
        "prefix,rateinitial\n1,0.01\n",  # the wrong preset
        "Code,Cost/Min\n1," + "1" * 38 + "\n",  # a 38-digit rate
        "Code,Cost/Min,Status\n1,0.01,Suspended\n",
        "Code,Cost/Min\n61,0.01\n0613,0.02\n",  # a prefix in national form
    ],
)
def test_rates_deck_error_names_a_deck_check_that_reproduces_it(tmp_path: Path, deck: str) -> None:
    config = configured(tmp_path, deck)
    rated = invoke(
        "rate",
        "--config",
        str(config),
        "--cdr-file",
        str(tmp_path / "cdrs.csv"),
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
    )
    assert rated.exit_code == 3
    hint = rated.stderr.split("`")[1]
    assert hint == f"voipbill deck check --config {config} --deck carrier"
    checked = invoke(*hint.split()[1:])
    assert checked.exit_code == 1
    for problem in checked.stdout.splitlines():  # the same problems, every one
        assert problem in rated.stderr


def test_non_zero_disconnect_charge_is_refused(tmp_path: Path) -> None:
    deck = "prefix,rateinitial,disconnectcharge\n1,0.05,0.02\n"
    path = tmp_path / "magnus.csv"
    path.write_text(deck, encoding="utf-8")
    result = invoke("deck", "check", str(path), "--preset", "magnus")
    assert result.exit_code == 1
    assert "line 2: disconnect fee 0.02: voipbill bills no disconnect fee" in result.stdout


def test_path_hint_names_the_preset(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("Code,Cost/Min\n1,x\n", encoding="utf-8")
    from zoneinfo import ZoneInfo

    from voipbill.decks import DeckError, load_deck

    with pytest.raises(DeckError) as caught:
        load_deck(path, preset="astpp", timezone=ZoneInfo("UTC"))
    assert f"`voipbill deck check {path} --preset astpp`" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "args",
    [
        ["--deck", "nosuch"],
        ["--deck", "carrier", "deck.csv"],
        ["--deck", "carrier", "--preset", "astpp"],
        [],
    ],
)
def test_bad_deck_check_arguments_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    config = configured(tmp_path, "Code,Cost/Min\n1,0.01\n")
    result = invoke("deck", "check", "--config", str(config), *args)
    assert result.exit_code == 2, result.stderr


def test_every_example_deck_checks_clean_with_its_preset() -> None:
    decks = sorted((ROOT / "examples" / "decks").glob("*.csv"))
    assert {deck.stem for deck in decks} >= {"voipbill", "ictvoip", "astpp", "magnus", "twilio"}
    for deck in decks:
        preset = (
            deck.stem if deck.stem in {"voipbill", "ictvoip", "astpp", "magnus", "twilio"} else None
        )
        if preset is None:
            continue
        result = invoke("deck", "check", str(deck), "--preset", preset)
        assert result.exit_code == 0, (deck, result.stdout, result.stderr)
        assert "│ ignored cells     │ none" in result.stdout or preset in {"astpp", "twilio"}
