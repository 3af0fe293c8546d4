"""A JournalStore in a dict: the reference the journal's logic is tested against, beside the
ledger's own (tests/test_ledger_contract.py runs the same states on SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from voipbill.ledger.journal import JournalLine, LineState, LineTaken


class MemoryJournal:
    """A JournalStore in a dict."""

    def __init__(self) -> None:
        self.lines: dict[int, JournalLine] = {}

    def add_pending(
        self,
        system: str,
        run_id: int,
        service: str,
        item: str,
        account: str,
        amount: Decimal,
        description: str,
    ) -> JournalLine:
        for line in self.lines.values():
            if (line.system, line.run_id, line.service, line.item) == (
                system,
                run_id,
                service,
                item,
            ):
                if line.state is not LineState.NOT_SENT:
                    raise LineTaken(line)
                return self._put(
                    replace(
                        line,
                        state=LineState.PENDING,
                        amount=amount,
                        description=description,
                        since=datetime.now(UTC),
                    )
                )
        fields = (system, run_id, service, item, account, amount, description)
        return self._put(
            JournalLine(len(self.lines) + 1, *fields, LineState.PENDING, since=datetime.now(UTC))
        )

    def mark_sent(self, line_id: int, remote_id: str) -> JournalLine:
        return self._put(replace(self.lines[line_id], state=LineState.SENT, remote_id=remote_id))

    def mark_not_sent(self, line_id: int) -> JournalLine:
        return self._put(replace(self.lines[line_id], state=LineState.NOT_SENT, remote_id=None))

    def line(self, line_id: int) -> JournalLine | None:
        return self.lines.get(line_id)

    def lines_for_run(self, system: str, run_id: int) -> list[JournalLine]:
        return [
            line for line in self.lines.values() if (line.system, line.run_id) == (system, run_id)
        ]

    def _put(self, line: JournalLine) -> JournalLine:
        self.lines[line.id] = line
        return line
