"""A billing setup with a ledger in a temp dir: config, CDR export, and `rate` invocations."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import Result, invoke
from tests.ledgerbackends import Backend
from voipbill.rating import RatedCall

TORONTO = ZoneInfo("America/Toronto")
SERVICES = """
[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113 | 2114"
"""


def epoch(month: int, day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(2026, month, day, hour, minute, tzinfo=TORONTO).timestamp())


@dataclass
class Billing:
    """One operator's files: `rows` is the CDR export, rewritten before every run."""

    directory: Path
    rows: list[dict[str, str]] = field(default_factory=list)
    backend: Backend = field(default_factory=Backend)  # SQLite unless told otherwise

    def __post_init__(self) -> None:
        self.ledger = self.directory / "state" / "ledger.sqlite"
        self.write_config()

    def write_config(self, package: str = "") -> Path:
        ledger = self.backend.ledger_toml(self.ledger)
        self.config = write_config(self.directory, package, services=SERVICES + ledger)
        return self.config

    def add(self, uuid: str, start: int, billsec: int = 60, **fields: object) -> None:
        self.rows.append(cdr(xml_cdr_uuid=uuid, start_epoch=start, billsec=billsec, **fields))

    def rate(self, *args: str) -> Result:
        cdrs = write_export(self.directory / "cdrs.csv", self.rows)
        return invoke(
            "--config", str(self.config), "rate", "--cdr-file", str(cdrs), "--format", "csv", *args
        )

    def commit(self, period: str, out: str, *args: str) -> Result:
        result = self.rate("--period", period, "--commit", "-o", str(self.directory / out), *args)
        assert result.exit_code == 0, result.stderr
        return result

    def file(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def ledger_toml(self) -> str:
        return self.backend.ledger_toml(self.ledger)

    def ledger_exists(self) -> bool:
        return self.ledger.exists() if self.backend.pg is None else self.backend.has_ledger()

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        if self.backend.pg is not None:
            return self.backend.query(sql, args)
        with sqlite3.connect(self.ledger) as connection:
            return connection.execute(sql, args).fetchall()

    def billed(self) -> dict[str, tuple[str, str]]:
        """uuid -> (period, status) of every call the ledger holds as billed."""
        rows = self.query("SELECT xml_cdr_uuid, period, status FROM calls")
        return {str(uuid): (str(period), str(status)) for uuid, period, status in rows}


def uuids(csv_text: str | bytes) -> list[str]:
    text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
    return [line.split(",")[3] for line in text.splitlines()[1:]]


def statuses(csv_text: str | bytes) -> dict[str, str]:
    text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
    return {line.split(",")[3]: line.split(",")[-1] for line in text.splitlines()[1:]}


def rated_call(uuid: str, cost: str = "0.0100") -> RatedCall:
    """A rated call of service mcon, for tests that commit through a store directly."""
    return RatedCall(
        "mcon", "acme", "1001", uuid, 1791000000, "outbound", "domestic", "1001", "4165550100",
        "14165550100", "1416", "Toronto", 60, 60, 0, Decimal("0.0100"), None, Decimal(cost),
        "rated",
    )  # fmt: skip
