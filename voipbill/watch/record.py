"""Once only (rules §14): the ledger records each alert printed, so later runs are quiet about it.

An alert is new when the ledger holds no record of its (service, rule, scope, item) at its level
or above. The caller prints first and records after (`record`): a run that dies between the two
prints the alert again next time; it never loses one. `sent` says whether the webhook took it;
one not taken is sent again by the next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from voipbill.ledger.base import LedgerBase
from voipbill.ledger.rows import now
from voipbill.watch.rules import Alert


def new_alerts(ledger: LedgerBase, alerts: Sequence[Alert]) -> list[Alert]:
    """Those of `alerts` no earlier run printed (at their level or a higher one)."""
    fresh = []
    for alert in alerts:
        row = ledger.execute(
            "SELECT 1 FROM watch_alerts WHERE service = ? AND rule = ? AND scope = ? "
            "AND item = ? AND level >= ?",
            (alert.service, alert.rule, alert.scope, alert.item, alert.level),
        ).fetchone()
        if row is None:
            fresh.append(alert)
    return fresh


def record(ledger: LedgerBase, alerts: Iterable[tuple[Alert, bool]]) -> None:
    """Record printed alerts in one transaction of their own; with each, whether it still
    waits for the webhook (sent False: the next run sends it)."""
    rows = [
        (a.service, a.rule, a.scope, a.item, a.level, a.day.isoformat(), body(a), int(sent), now())
        for a, sent in alerts
    ]
    if not rows:
        return
    with ledger.transaction():
        ledger.execute_many(
            "INSERT INTO watch_alerts (service, rule, scope, item, level, day, body, sent, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


Key = tuple[str, str, str, str, int]


def body(alert: Alert) -> str:
    """The webhook's JSON for an alert: `text` for Slack and Mattermost, `alert` for programs."""
    return json.dumps({"text": alert.line, "alert": alert.to_json()}, ensure_ascii=False)


def unsent(ledger: LedgerBase) -> list[tuple[Key, str]]:
    """(key, body) of the recorded alerts the webhook has not taken yet, oldest first."""
    return [
        ((str(s), str(r), str(sc), str(i), int(lv)), str(text))
        for s, r, sc, i, lv, text in ledger.execute(
            "SELECT service, rule, scope, item, level, body FROM watch_alerts WHERE sent = 0 "
            "ORDER BY created, service, rule, scope, item, level"
        )
    ]


def mark_sent(ledger: LedgerBase, key: Key) -> None:
    with ledger.transaction():
        ledger.execute(
            "UPDATE watch_alerts SET sent = 1 WHERE service = ? AND rule = ? AND scope = ? "
            "AND item = ? AND level = ?",
            key,
        )
