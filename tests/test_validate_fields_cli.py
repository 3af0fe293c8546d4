"""`voipbill validate-fields` as a user runs it: exit codes 0/1/2, table and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirunner import invoke
from voipbill.cli import init

TENANT = "mcon.wat5.ictvoip.ca | 5192229000"
EXTENSIONS = "2112 | 2113 | 2114 | 2115 | 2216"


def test_valid_fields_print_what_was_understood_and_exit_0() -> None:
    result = invoke("validate-fields", TENANT, EXTENSIONS)
    assert result.exit_code == 0
    assert "mcon.wat5.ictvoip.ca" in result.stdout
    assert "+15192229000" in result.stdout
    assert "2112 2113 2114 2115 2216" in result.stdout
    assert "valid" in result.stdout
    assert result.stderr.strip() == "valid"


def test_invalid_fields_list_every_problem_on_stdout_and_exit_1() -> None:
    result = invoke("validate-fields", TENANT, "2112 | 2113 | 21a3 ||")
    assert result.exit_code == 1
    assert "extensions, segment 3: '21a3' is not an extension (2-7 digits)" in result.stdout
    assert "extensions, segment 4: empty segment between two '|'" in result.stdout
    assert "3 problems" in result.stderr  # segment 5: the empty one after the last "|"
    assert "Traceback" not in result.stderr


def test_json_has_version_and_the_understood_values() -> None:
    result = invoke("validate-fields", TENANT, EXTENSIONS, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["valid"] is True
    assert document["country"] == "CA"
    (item,) = document["results"]
    assert item["tenant"] == {
        "domain": "mcon.wat5.ictvoip.ca",
        "dids": ["+15192229000"],
        "extension": None,
        "peer_id": None,
    }
    assert item["extensions"] == ["2112", "2113", "2114", "2115", "2216"]
    assert item["problems"] == []


def test_json_problems_carry_field_segment_text_and_message() -> None:
    result = invoke("validate-fields", "mcon | 5192229000", "21a3", "-f", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    (item,) = json.loads(result.stdout)["results"]
    assert item["valid"] is False
    assert item["tenant"] is None
    assert [(p["field"], p["segment"], p["text"]) for p in item["problems"]] == [
        ("tenant", 1, "mcon"),
        ("extensions", 1, "21a3"),
    ]


def test_extensions_are_optional() -> None:
    result = invoke("validate-fields", TENANT)
    assert result.exit_code == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if "mcon.wat5.ictvoip.ca" in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["mcon.wat5.ictvoip.ca", "+15192229000", "", "valid"]  # no extensions
    assert result.stderr.strip() == "valid"
    document = json.loads(invoke("validate-fields", TENANT, "-f", "json").stdout)
    assert document["valid"] is True
    [item] = document["results"]
    assert item["tenant"]["domain"] == "mcon.wat5.ictvoip.ca"
    assert item["tenant"]["dids"] == ["+15192229000"]
    assert item["extensions"] == [] and item["problems"] == []


def test_vodia_and_lesnet_forms() -> None:
    vodia = invoke("validate-fields", "pbx.example.net | 5192229000 | 200", "--pbx", "vodia")
    assert vodia.exit_code == 0
    assert "200" in vodia.stdout
    lesnet = invoke("validate-fields", "ABCDEF12 | 5192229000", "--pbx", "lesnet", "-f", "json")
    assert lesnet.exit_code == 0
    assert json.loads(lesnet.stdout)["results"][0]["tenant"]["peer_id"] == "ABCDEF12"


def test_country_and_ext_digits_options() -> None:
    assert (
        invoke("validate-fields", "a.example.net | 02071838750", "--country", "gb").exit_code == 0
    )
    assert invoke("validate-fields", TENANT, "21", "--ext-digits", "3-4").exit_code == 1
    assert invoke("validate-fields", TENANT, "2", "--ext-digits", "1-4").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        [TENANT, "--pbx", "asterisk"],
        [TENANT, "--country", "XX"],
        [TENANT, "--ext-digits", "7-2"],
        [TENANT, "--ext-digits", "two"],
        [TENANT, "--format", "csv"],
        ["--file", "no-such-file.csv"],
        [TENANT, "--file", "x.csv"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = invoke("validate-fields", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "services.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_prints_one_result_per_row_and_exits_1_for_a_bad_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "service,tenant,extensions\n"
        f"mcon,{TENANT},{EXTENSIONS}\n"
        "acme,acme.example.net | 519222900,2112 | 2112\n",
    )
    result = invoke("validate-fields", "--file", str(path), "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["valid"] is False
    good, bad = document["results"]
    assert (good["service"], good["line"], good["valid"]) == ("mcon", 2, True)
    assert (bad["service"], bad["line"], bad["valid"]) == ("acme", 3, False)
    assert [(p["field"], p["segment"]) for p in bad["problems"]] == [
        ("tenant", 2),
        ("extensions", 2),
    ]
    table = invoke("validate-fields", "--file", str(path))
    assert table.exit_code == 1
    assert "line 3 (acme): extensions, segment 2: '2112' repeats segment 1" in table.stdout
    assert "2 services: 1 valid, 1 invalid" in table.stderr


def test_file_with_only_good_rows_exits_0(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"Service;Tenant;Extensions\nmcon;{TENANT};{EXTENSIONS}\n")
    assert invoke("validate-fields", "--file", str(path)).exit_code == 0


@pytest.mark.parametrize("text", ["", "service,tenant\nmcon,x\n", "service,tenant,extensions\n"])
def test_file_with_bad_header_or_no_rows_exits_2(tmp_path: Path, text: str) -> None:
    result = invoke("validate-fields", "--file", str(write_csv(tmp_path, text)))
    assert result.exit_code == 2
    assert "--file" in result.stderr


def test_file_from_stdin(tmp_path: Path) -> None:
    stdin = f"service,tenant,extensions\nmcon,{TENANT},{EXTENSIONS}\n"
    result = invoke("validate-fields", "--file", "-", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if " mcon " in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == [
        "2",  # the line of the file: the header is line 1
        "mcon",
        "mcon.wat5.ictvoip.ca",
        "+15192229000",
        "2112 2113 2114 2115 2216",
        "valid",
    ]
    document = json.loads(
        invoke("validate-fields", "--file", "-", "-f", "json", stdin=stdin).stdout
    )
    [item] = document["results"]
    assert (item["service"], item["line"], item["valid"]) == ("mcon", 2, True)
    assert item["extensions"] == ["2112", "2113", "2114", "2115", "2216"]


def starter_config(tmp_path: Path, extensions: str = "2001 | 2002") -> Path:
    path = tmp_path / "voipbill.toml"
    path.write_text(init.starter_text().replace('"2001 | 2002"', f'"{extensions}"'))
    return path


def test_service_fields_come_from_the_config(tmp_path: Path) -> None:
    path = starter_config(tmp_path)
    result = invoke("validate-fields", "--service", "example", "--config", str(path), "-f", "json")
    assert result.exit_code == 0
    (item,) = json.loads(result.stdout)["results"]
    assert item["service"] == "example"
    assert item["extensions"] == ["2001", "2002"]


def test_service_with_bad_fields_lists_them_instead_of_a_config_error(tmp_path: Path) -> None:
    path = starter_config(tmp_path, "2001 | 20x2 | 2001")
    result = invoke("validate-fields", "--service", "example", "--config", str(path))
    assert result.exit_code == 1
    assert "example: extensions, segment 2: '20x2' is not an extension" in result.stdout
    assert "example: extensions, segment 3: '2001' repeats segment 1" in result.stdout


def test_service_country_comes_from_the_package(tmp_path: Path) -> None:
    path = starter_config(tmp_path)
    path.write_text(path.read_text().replace('country = "CA"', 'country = "GB"'))
    result = invoke("validate-fields", "--service", "example", "--config", str(path))
    assert result.exit_code == 1  # the starter's 519 number is not a GB DID
    assert "'5192229000' is not a valid GB phone number" in result.stdout
    explicit = invoke("validate-fields", "-s", "example", "--country", "CA", "--config", str(path))
    assert explicit.exit_code == 0


def test_unknown_service_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(
        "validate-fields", "--service", "nope", "--config", str(starter_config(tmp_path))
    )
    assert result.exit_code == 2
    assert "no service named 'nope'" in result.stderr
