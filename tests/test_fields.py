"""rules §1: the tenant and extensions strings, every rule by a hand-written case."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voipbill.errors import UsageError
from voipbill.fields import FieldProblem, Tenant, validate

TENANT = "mcon.wat5.ictvoip.ca | 5192229000"
EXTENSIONS = "2112 | 2113 | 2114 | 2115 | 2216"


def problems(tenant: str, extensions: str | None = "2112", **options: object) -> list[str]:
    return [str(p) for p in validate(tenant, extensions, **options).problems]  # type: ignore[arg-type]


def test_spec_example_is_understood_with_the_did_in_e164() -> None:
    result = validate(TENANT, EXTENSIONS)
    assert result.problems == ()
    assert result.tenant == Tenant("mcon.wat5.ictvoip.ca", ("+15192229000",))
    assert result.extensions == ("2112", "2113", "2114", "2115", "2216")


def test_spaces_around_pipes_are_optional() -> None:
    tight = validate("mcon.wat5.ictvoip.ca|5192229000", "2112|2113")
    loose = validate("  mcon.wat5.ictvoip.ca   |   5192229000 ", " 2112 |2113  ")
    assert tight == loose
    assert tight.problems == ()


def test_problem_str_names_field_segment_text_and_fix() -> None:
    result = validate(TENANT, "2112 | 2113 | 21a3")
    assert result.problems == (
        FieldProblem("extensions", 3, "21a3", "'21a3' is not an extension (2-7 digits)"),
    )
    assert str(result.problems[0]) == (
        "extensions, segment 3: '21a3' is not an extension (2-7 digits)"
    )


def test_every_problem_is_reported_not_only_the_first() -> None:
    found = validate("mcon | 123", "1 | 21a3 | 2112 | 2112")
    assert [(p.field, p.segment) for p in found.problems] == [
        ("tenant", 1),
        ("tenant", 2),
        ("extensions", 1),
        ("extensions", 2),
        ("extensions", 4),
    ]
    assert found.tenant is None
    assert found.extensions == ()


@pytest.mark.parametrize(
    ("extensions", "segment", "where"),
    [
        ("2112 || 2113", 2, "between two '|'"),
        ("2112 | 2113 |", 3, "after the last '|'"),
        ("| 2112", 1, "before the first '|'"),
        ("2112 |  | 2113", 2, "between two '|'"),
    ],
)
def test_empty_segment_is_an_error(extensions: str, segment: int, where: str) -> None:
    (problem,) = validate(TENANT, extensions).problems
    assert (problem.field, problem.segment, problem.text) == ("extensions", segment, "")
    assert where in problem.message


def test_empty_fields_are_one_problem_each() -> None:
    assert problems("", "") == [
        "tenant, segment 1: the field is empty: write <tenant domain> | <main DID>",
        "extensions, segment 1: the field is empty: write 2112 | 2113",
    ]


def test_extensions_not_given_are_not_checked() -> None:
    result = validate(TENANT, None)
    assert result.problems == ()
    assert result.extensions == ()


@pytest.mark.parametrize(
    "domain",
    [
        "a.b",
        "mcon.wat5.ictvoip.ca",
        "with-hyphen.example.net",
        "0digits9.example",
        ".".join(["a" * 63] * 3) + ".ca",  # 63-character labels, 195 characters
        ".".join(["a" * 49] * 5) + ".ab",  # 248 characters
    ],
)
def test_valid_dns_names_are_accepted(domain: str) -> None:
    result = validate(f"{domain} | 5192229000", None)
    assert result.problems == ()
    assert result.tenant is not None
    assert result.tenant.domain == domain


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("mcon", "at least two labels"),
        ("-mcon.example.net", "starts or ends with '-'"),
        ("mcon-.example.net", "starts or ends with '-'"),
        ("mcon..example.net", "empty label"),
        ("mcon.example.net.", "empty label"),
        ("a" * 64 + ".example.net", "longer than 63"),
        (".".join(["a" * 50] * 5) + ".abc", "at most 253"),  # 258 characters
        ("mc_on.example.net", "'_' is not allowed"),
        ("mcon example.net", "' ' is not allowed"),
        ("-ü.example", "starts or ends with '-'"),
    ],
)
def test_invalid_dns_names_are_rejected_with_the_reason(domain: str, reason: str) -> None:
    (problem,) = validate(f"{domain} | 5192229000", None).problems
    assert (problem.field, problem.segment, problem.text) == ("tenant", 1, domain)
    assert "is not a domain name" in problem.message
    assert reason in problem.message


def test_idn_is_accepted_and_shown_in_punycode() -> None:
    result = validate("Bücher.example | 5192229000", None)
    assert result.tenant is not None
    assert result.tenant.domain == "xn--bcher-kva.example"


def test_domain_is_lower_cased_since_dns_ignores_case() -> None:
    result = validate("MCON.Example.NET | 5192229000", None)
    assert result.tenant is not None
    assert result.tenant.domain == "mcon.example.net"


@pytest.mark.parametrize("did", ["5192229000", "15192229000", "+15192229000"])
def test_nanp_did_forms_are_reported_in_e164(did: str) -> None:
    result = validate(f"mcon.example.net | {did}", None)
    assert result.tenant is not None
    assert result.tenant.dids == ("+15192229000",)


@pytest.mark.parametrize(
    ("did", "expected"),
    [
        ("519222900", "not a valid CA phone number"),
        ("+442071838750", "is a GB number (+442071838750), not a valid CA DID"),
        ("2125550123", "is a US number"),
        ("519222900O", "is not a phone number"),  # a letter O, not a zero
        ("519-222-9000", "is not a phone number"),
        ("٥١٩٢٢٢٩٠٠٠", "is not a phone number"),  # Arabic-Indic digits
        ("1" * 40, "too long"),
    ],
)
def test_did_must_be_valid_for_the_country(did: str, expected: str) -> None:
    (problem,) = validate(f"mcon.example.net | {did}", None).problems
    assert (problem.field, problem.segment, problem.text) == ("tenant", 2, did)
    assert expected in problem.message


def test_did_is_checked_against_the_given_country() -> None:
    result = validate("mcon.example.net | 02071838750", None, country="GB")
    assert result.tenant is not None
    assert result.tenant.dids == ("+442071838750",)
    assert problems("mcon.example.net | 5192229000", None, country="GB")


def test_missing_main_did_is_reported_as_the_next_segment() -> None:
    assert problems("mcon.example.net", None) == [
        "tenant, segment 2: missing the main DID: write <tenant domain> | <main DID>"
    ]


def test_tenant_may_list_several_dids() -> None:
    result = validate("mcon.example.net | 5192229000 | 5192229001", None)
    assert result.tenant is not None
    assert result.tenant.dids == ("+15192229000", "+15192229001")


def test_duplicate_did_is_an_error_even_in_another_form() -> None:
    (problem,) = validate("mcon.example.net | 5192229000 | +15192229000", None).problems
    assert problem.segment == 3
    assert "repeats the DID +15192229000 of segment 2" in problem.message


def test_duplicate_extension_is_an_error() -> None:
    assert problems(TENANT, "2112 | 2113 | 2112") == [
        "extensions, segment 3: '2112' repeats segment 1: remove one"
    ]


@pytest.mark.parametrize("extension", ["1", "12345678", "21a3", "*97", "+2112", "٢١١٢", "2 112"])
def test_extension_is_two_to_seven_ascii_digits(extension: str) -> None:
    (problem,) = validate(TENANT, f"2112 | {extension}").problems
    assert (problem.segment, problem.text) == (2, extension)
    assert "is not an extension (2-7 digits)" in problem.message


def test_extension_lengths_follow_ext_digits() -> None:
    assert validate(TENANT, "21 | 1234567").problems == ()
    assert validate(TENANT, "1 | 1234", ext_digits=(1, 4)).problems == ()
    assert problems(TENANT, "21", ext_digits=(3, 4)) == [
        "extensions, segment 1: '21' is not an extension (3-4 digits)"
    ]


def test_unicode_digits_get_a_hint_to_use_ascii() -> None:
    (problem,) = validate(TENANT, "٢١١٢").problems
    assert "use the ASCII digits 0-9" in problem.message


def test_vodia_tenant_has_dids_then_the_extension() -> None:
    result = validate("pbx.vodia.example | 5192229000 | 5192229001 | 200", "2112", pbx="vodia")
    assert result.problems == ()
    assert result.tenant == Tenant(
        "pbx.vodia.example", ("+15192229000", "+15192229001"), extension="200"
    )


def test_vodia_tenant_without_extension_is_an_error() -> None:
    assert problems("pbx.vodia.example | 5192229000", None, pbx="vodia") == [
        "tenant, segment 3: missing the extension: write <tenant> | DID | DID … | <ext>"
    ]


def test_vodia_tenant_ending_with_a_did_names_the_form() -> None:
    found = validate("pbx.vodia.example | 5192229000 | 5192229001", None, pbx="vodia")
    (problem,) = found.problems
    assert problem.segment == 3
    assert "the vodia form ends with the extension" in problem.message


def test_lesnet_tenant_is_a_peer_id_and_a_did() -> None:
    result = validate("ABCDEF0123 | 5192229000", "2112", pbx="lesnet")
    assert result.problems == ()
    assert result.tenant == Tenant("", ("+15192229000",), peer_id="ABCDEF0123")


@pytest.mark.parametrize("peer_id", ["ABCDEF1", "0123456789ABCDEF0", "abcdef12", "GHIJKLMN"])
def test_lesnet_peer_id_is_8_to_16_upper_case_hex(peer_id: str) -> None:
    (problem,) = validate(f"{peer_id} | 5192229000", None, pbx="lesnet").problems
    assert (problem.field, problem.segment, problem.text) == ("tenant", 1, peer_id)
    assert "8-16 upper-case hex" in problem.message


def test_lower_case_peer_id_gets_the_upper_case_fix() -> None:
    (problem,) = validate("abcdef12 | 5192229000", None, pbx="lesnet").problems
    assert problem.message.endswith("write ABCDEF12")


def test_lesnet_tenant_takes_exactly_one_did() -> None:
    found = validate("ABCDEF12 | 5192229000 | 5192229001", None, pbx="lesnet")
    assert [(p.segment, p.text) for p in found.problems] == [(3, "5192229001")]


def test_swapped_tenant_segments_get_a_hint() -> None:
    found = problems("5192229000 | mcon.example.net", None)
    assert "the tenant field starts with the domain" in found[0]


@pytest.mark.parametrize(
    "settings_",
    [{"pbx": "asterisk"}, {"country": "XX"}, {"ext_digits": (5, 2)}, {"ext_digits": (0, 3)}],
)
def test_bad_settings_are_usage_errors(settings_: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        validate(TENANT, None, **settings_)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "|",
        "||||||",
        "x" * 10_000,
        "1" * 10_000,
        "|".join(["5192229000"] * 2_000),
        "\x00\x01\x1b[31m|\x7f",
        "٢١١٢ | ٥١٩٢٢٢٩٠٠٠",
        "\u200b | \ufeff",
        "\n\t|\r",
    ],
)
def test_junk_never_crashes_and_is_reported(junk: str) -> None:
    for pbx in ("fusionpbx", "vodia", "lesnet"):
        result = validate(junk, junk, pbx=pbx)
        assert result.problems
        assert all(p.segment >= 1 for p in result.problems)


def test_long_text_is_cut_in_the_message_but_kept_in_the_problem() -> None:
    (problem,) = validate(TENANT, "1" * 10_000).problems
    assert problem.text == "1" * 10_000
    assert "(10000 characters)" in problem.message
    assert len(problem.message) < 200


def check_invariants(tenant: str, extensions: str, pbx: str) -> None:
    result = validate(tenant, extensions, pbx=pbx)
    tenant_problems = [p for p in result.problems if p.field == "tenant"]
    extension_problems = [p for p in result.problems if p.field == "extensions"]
    assert (result.tenant is None) == bool(tenant_problems)
    assert (result.extensions == ()) == bool(extension_problems)
    for problem in result.problems:
        assert problem.segment >= 1
        assert str(problem).startswith(f"{problem.field}, segment {problem.segment}: ")
    if result.tenant is not None:
        assert all(did.startswith("+") and did[1:].isdigit() for did in result.tenant.dids)
        assert result.tenant.domain.isascii()
    assert all(e.isascii() and e.isdigit() for e in result.extensions)


PBX = st.sampled_from(["fusionpbx", "vodia", "lesnet"])
FIELD_ALPHABET = st.sampled_from([*"|0123456789 .abcXYZ-+", "5192229000", "ü", "٢"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300), PBX)
def test_validate_never_raises_on_arbitrary_text(tenant: str, extensions: str, pbx: str) -> None:
    check_invariants(tenant, extensions, pbx)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(FIELD_ALPHABET, max_size=40).map("".join),
    st.lists(FIELD_ALPHABET, max_size=40).map("".join),
    PBX,
)
def test_validate_never_raises_on_field_like_text(tenant: str, extensions: str, pbx: str) -> None:
    check_invariants(tenant, extensions, pbx)
