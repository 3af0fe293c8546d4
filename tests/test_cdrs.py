"""Reading FusionPBX CDR exports: by header name, through the quoting bug, loudly on junk."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakepbx import ADMIN_KEY, DOMAIN, EXPORT_PATH, FakeFusionPBX
from voipbill.cdrs import (
    REQUIRED_COLUMNS,
    CdrFormatError,
    CdrProblem,
    CdrRecord,
    header_columns,
    read_cdr_file,
    read_cdrs,
)
from voipbill.errors import ExitCode, UsageError

DATA = Path(__file__).parent / "data" / "fusionpbx"
HEADER = (
    '"xml_cdr_uuid","start_epoch","billsec","direction","leg","extension","caller_id_name",'
    '"caller_id_number","caller_destination","destination_number","status"'
)


def fusionpbx_line(*values: str) -> str:
    """A row as FusionPBX writes it: every value quoted, none escaped (docs/fusionpbx.md §2)."""
    return ",".join(f'"{value}"' for value in values)


def row(
    uuid: str = "u1",
    epoch: str = "1710079200",
    billsec: str = "65",
    direction: str = "outbound",
    leg: str = "a",
    extension: str = "1001",
    name: str = "Alice",
    number: str = "1001",
    status: str = "answered",
) -> str:
    return fusionpbx_line(
        uuid, epoch, billsec, direction, leg, extension, name, number, "15551234567",
        "15551234567", status,
    )  # fmt: skip


def read(text: str, source: str = "export") -> tuple[list[CdrRecord], list[CdrProblem]]:
    problems: list[CdrProblem] = []
    records = list(read_cdrs(io.StringIO(text, newline="\n"), source=source, problems=problems))
    return records, problems


def read_sample(name: str) -> tuple[list[CdrRecord], list[CdrProblem]]:
    problems: list[CdrProblem] = []
    return list(read_cdr_file(DATA / name, problems=problems)), problems


def test_superadmin_sample_gives_every_row_including_the_b_leg() -> None:
    records, problems = read_sample("55_export_superadmin.csv")
    assert problems == []
    assert [r.xml_cdr_uuid[-3:] for r in records] == ["004", "003", "002", "001", "001"]
    assert [r.leg for r in records] == ["a", "a", "a", "a", "b"]
    assert records[3] == CdrRecord(
        line=5,
        xml_cdr_uuid="aaaaaaaa-0000-4000-8000-000000000001",
        start_epoch=1710079200,
        billsec=65,
        direction="outbound",
        leg="a",
        extension="1001",
        caller_id_number="1001",
        caller_destination="15551234567",
        destination_number="15551234567",
        status="answered",
        domain_name=None,
    )


def test_acme_corp_row_of_the_sample_keeps_its_columns_in_place() -> None:
    # `"ACME "Corp", Inc"` makes Python's csv see 34 columns instead of 33 (docs/fusionpbx.md §2).
    records, problems = read_sample("55_export_admin.csv")
    assert problems == []
    inbound = records[2]
    assert (inbound.caller_id_number, inbound.caller_destination) == ("+15557654321", "15550001111")
    assert (inbound.destination_number, inbound.billsec, inbound.status) == (
        "1001",
        120,
        "answered",
    )


def test_the_empty_export_is_zero_rows() -> None:
    assert read_sample("55_export_empty.csv") == ([], [])
    assert read("\n\n") == ([], [])


def test_a_0_byte_file_is_not_an_export(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CdrFormatError, match="0 bytes"):
        list(read_cdr_file(empty, problems=[]))
    with pytest.raises(CdrFormatError, match="0 bytes"):
        read("")


def test_blank_lines_without_a_header_are_not_an_export() -> None:
    with pytest.raises(CdrFormatError, match="no header line"):
        read("  \n\n")


def test_header_only_is_zero_rows() -> None:
    assert read(HEADER + "\n") == ([], [])


def test_quote_and_comma_in_a_value_does_not_shift_the_columns() -> None:
    records, problems = read(
        HEADER + "\n" + row(extension='ACME "Corp", Inc', number="+1555") + "\n"
    )
    assert problems == []
    assert records[0].extension == 'ACME "Corp", Inc'
    assert records[0].caller_id_number == "+1555"


def test_quote_at_the_end_of_a_value_is_not_silently_corrupted() -> None:
    # Python's csv keeps the count here but reads `Smith, John JJ""` (docs/fusionpbx.md §6).
    records, problems = read(HEADER + "\n" + row(extension='Smith, John "JJ"') + "\n")
    assert problems == []
    assert records[0].extension == 'Smith, John "JJ"'
    assert records[0].caller_id_number == "1001"


def test_a_row_that_fits_no_way_is_reported_with_its_line_and_skipped() -> None:
    broken = '"u2","1710079200","65","outbound","a","1001"'
    text = "\n".join([HEADER, row(uuid="u1"), broken, row(uuid="u3")]) + "\n"
    records, problems = read(text, source="cdrs.csv")
    assert [r.xml_cdr_uuid for r in records] == ["u1", "u3"]
    assert [r.line for r in records] == [2, 4]
    assert problems == [
        CdrProblem("cdrs.csv", 3, "expected 11 fields as in the header, found 6", broken)
    ]


def test_problem_text_is_truncated_to_about_200_characters() -> None:
    broken = '"' + "x" * 1000 + '"'
    _, problems = read(HEADER + "\n" + broken + "\n")
    assert len(problems) == 1 and len(problems[0].text) <= 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<!DOCTYPE html>\n<html><head><title>Login</title></head>\n", "HTML page"),
        ((DATA / "55_24h_input_with_12h_setting.body").read_text(), "PHP error"),
        ("access denied", "access denied"),
        ("Fatal error: Allowed memory size of 134217728 bytes exhausted\n", "PHP error"),
    ],
)
def test_html_php_error_or_access_denied_is_a_format_error(body: str, words: str) -> None:
    with pytest.raises(CdrFormatError, match=words) as caught:
        read(body)
    assert caught.value.exit_code == ExitCode.BAD_RESPONSE


def test_php_fatal_error_after_some_rows_means_the_export_was_cut_off() -> None:
    text = HEADER + "\n" + row() + "\n<br />\n<b>Fatal error</b>:  Allowed memory size exhausted\n"
    with pytest.raises(CdrFormatError, match=r"export line 3: the export was cut off.*memory"):
        read(text)


def test_missing_required_columns_are_named() -> None:
    header = '"xml_cdr_uuid","start_epoch","extension","caller_destination","destination_number"'
    with pytest.raises(CdrFormatError, match=r"missing column\(s\) billsec, direction"):
        read(header + "\n")


def test_columns_are_found_by_name_in_any_order_and_case() -> None:
    text = (
        "DESTINATION_NUMBER,Direction,billsec,Start_Epoch,xml_cdr_uuid,extension,"
        "caller_destination\n15551234567,OutBound ,65,1710079200,u1,1001,15551234567\n"
    )
    (record,), _ = read(text)
    assert (record.direction, record.billsec, record.start_epoch) == ("outbound", 65, 1710079200)
    assert (record.leg, record.status, record.caller_id_number, record.domain_name) == (
        "a",
        "",
        "",
        None,
    )


@pytest.mark.parametrize(("leg", "expected"), [("b", "b"), (" B ", "b"), ("", "a"), ("A", "a")])
def test_leg_is_lower_cased_and_empty_counts_as_a(leg: str, expected: str) -> None:
    (record,), _ = read(HEADER + "\n" + row(leg=leg) + "\n")
    assert record.leg == expected


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [("1710079200", 1710079200), ("1710079200.0", 1710079200), (" 1710079200 ", 1710079200)],
)
def test_start_epoch_is_an_integer(epoch: str, expected: int) -> None:
    (record,), problems = read(HEADER + "\n" + row(epoch=epoch) + "\n")
    assert record.start_epoch == expected and problems == []


@pytest.mark.parametrize("epoch", ["", "abc", "1710079200.5", "١٧١", "1_000"])
def test_an_empty_or_unreadable_start_epoch_is_a_bad_row(epoch: str) -> None:
    records, [problem] = read(HEADER + "\n" + row(epoch=epoch) + "\n")
    assert records == [] and problem.line == 2
    assert problem.message.startswith("u1: unreadable start_epoch")


@pytest.mark.parametrize(("billsec", "expected"), [("65", 65), ("", 0), (" 7 ", 7)])
def test_billsec_empty_is_zero(billsec: str, expected: int) -> None:
    (record,), _ = read(HEADER + "\n" + row(billsec=billsec) + "\n")
    assert record.billsec == expected


@pytest.mark.parametrize("billsec", ["12.5", "-3", "x", "10000001"])
def test_an_unreadable_billsec_is_a_bad_row(billsec: str) -> None:
    records, [problem] = read(HEADER + "\n" + row(billsec=billsec) + "\n")
    assert records == [] and problem.message.startswith("u1: unreadable billsec")


def test_a_last_line_without_a_line_end_is_a_bad_row() -> None:
    text = HEADER + "\n" + row(uuid="u1") + "\n" + row(uuid="u2")
    records, [problem] = read(text)
    assert [r.xml_cdr_uuid for r in records] == ["u1"]
    assert (problem.line, problem.message) == (
        3,
        "the last line has no line end: the export was cut off",
    )


def test_a_bad_b_leg_row_is_found_before_b_legs_are_dropped() -> None:
    records, [problem] = read(HEADER + "\n" + row(leg="b", epoch="") + "\n")
    assert records == [] and problem.line == 2


def test_status_and_direction_are_stripped_and_lower_cased() -> None:
    (record,), _ = read(HEADER + "\n" + row(direction=" Inbound", status="MISSED ") + "\n")
    assert (record.direction, record.status) == ("inbound", "missed")


def test_blank_lines_are_skipped_and_line_numbers_stay_physical() -> None:
    text = "\n\n" + HEADER + "\n\n" + row(uuid="u1") + "\n   \n\r\n" + row(uuid="u2") + "\n\n"
    records, problems = read(text)
    assert [(r.line, r.xml_cdr_uuid) for r in records] == [(5, "u1"), (8, "u2")]
    assert problems == []


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + row() + "\r\n").encode())
    (record,) = read_cdr_file(path, problems=[])
    assert (record.xml_cdr_uuid, record.status) == ("u1", "answered")


def test_spreadsheet_resaved_csv_with_rfc_quoting(tmp_path: Path) -> None:
    path = tmp_path / "resaved.csv"
    path.write_text(
        "xml_cdr_uuid,start_epoch,billsec,direction,leg,extension,caller_id_name,"
        "caller_id_number,caller_destination,destination_number,status\r\n"
        'u1,1710079200,65,outbound,a,"Smith, John ""JJ""","ACME ""Corp"", Inc",1001,'
        "15551234567,15551234567,answered\r\n"
        '"u2","1710079200","0","inbound","","""Boss""","","1002","","1002","missed"\r\n',
        encoding="utf-8",
    )
    problems: list[CdrProblem] = []
    first, second = read_cdr_file(path, problems=problems)
    assert problems == []
    assert (first.extension, first.caller_id_number) == ('Smith, John "JJ"', "1001")
    assert (second.extension, second.leg, second.billsec) == ('"Boss"', "a", 0)


def test_semicolon_separated_spreadsheet_export() -> None:
    text = (
        "xml_cdr_uuid;start_epoch;billsec;direction;extension;caller_destination;"
        'destination_number\nu1;1710079200;65;outbound;"1001; desk";15551234567;15551234567\n'
    )
    (record,), _ = read(text)
    assert (record.extension, record.billsec) == ("1001; desk", 65)


def test_domain_name_column_of_multi_tenant_exports() -> None:
    header = HEADER + ',"domain_name"'
    (record,), _ = read(header + "\n" + row() + ',"pbx.test"\n')
    assert record.domain_name == "pbx.test"


def test_undecodable_bytes_are_replaced_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n").encode() + row(extension="Jos\xe9").encode("latin-1") + b"\n")
    problems: list[CdrProblem] = []
    (record,) = read_cdr_file(path, problems=problems)
    assert record.extension == "Jos\ufffd"
    assert [(p.line, "UTF-8" in p.message) for p in problems] == [(2, True)]


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.csv", tmp_path):
        with pytest.raises(UsageError, match="cannot read CDR file"):
            list(read_cdr_file(path, problems=[]))


def test_header_columns_of_sample_and_empty_export() -> None:
    text = (DATA / "55_export_admin.csv").read_text()
    columns = header_columns(text)
    assert len(columns) == 32 and "rtp_audio_in_mos" not in columns
    assert set(REQUIRED_COLUMNS) <= set(columns)
    assert header_columns("\n\n") == []
    assert header_columns("") == []
    assert header_columns('\ufeff\r\n"Leg","BillSec"\r\n') == ["leg", "billsec"]


def test_the_fake_servers_export_reads_like_the_capture(fake_pbx: FakeFusionPBX) -> None:
    response = requests.get(
        fake_pbx.url + EXPORT_PATH,
        params={"export_format": "csv", "key": ADMIN_KEY, "domain_name": DOMAIN},
        timeout=5,
    )
    from_server, problems = read(response.text)
    from_file, _ = read_sample("55_export_admin.csv")
    assert problems == [] and from_server == from_file


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_nothing_but_a_format_error(text: str) -> None:
    try:
        read(text)
        read(HEADER + "\n" + text)
        header_columns(text)
    except CdrFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=12)))
def test_any_fusionpbx_row_with_eleven_values_without_separator_reads_back(
    values: list[str],
) -> None:
    values = (values + [""] * 11)[:11]
    values[1:3] = ["1710079200", "65"]  # start_epoch and billsec readable: not a bad row
    line = fusionpbx_line(*values)
    # a value next to a separator can form another `","` (e.g. `",` then `"...`): FusionPBX's
    # unescaped output is then ambiguous, and no reader can tell where the fields end
    if any('""' in value for value in values) or line.count('","') != len(values) - 1:
        return
    records, problems = read(HEADER + "\n" + line + "\n")
    assert problems == []
    assert (records[0].extension, records[0].caller_id_number) == (values[5], values[7])
