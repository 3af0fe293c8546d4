"""rules §14: `voipbill watch` on the command line: exit codes, once only, --repeat, JSON, -q,
a missing ledger, and the webhook (a local listener checking the signature, one answering 500).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.cdrfactory import write_config
from tests.clirunner import Result, invoke
from tests.ledgerbackends import Backend, ledger_backend  # noqa: F401
from tests.ledgerhelpers import SERVICES
from tests.test_ledger_contract import open_store
from tests.test_watch_rules import at, call, commit

WATCH = '\n[watch]\nspend_per_day = "50"\n'
DAY = ("--date", "2026-11-07")


def setup(
    tmp_path: Path, backend: Backend, watch: str = WATCH, costs: tuple[str, ...] = ()
) -> Path:
    config = write_config(
        tmp_path, services=SERVICES + backend.ledger_toml(tmp_path / "l.sqlite") + watch
    )
    if costs:
        add(tmp_path, backend, costs)
    return config


def add(tmp_path: Path, backend: Backend, costs: tuple[str, ...], prefix: str = "c") -> None:
    store = open_store(backend, tmp_path / "l.sqlite")
    assert store is not None
    with store:
        calls = [call(f"{prefix}{n}", at(11, 7, 9, n), cost) for n, cost in enumerate(costs)]
        commit(store, tmp_path, calls)


def run(config: Path, *args: str) -> Result:
    return invoke("--config", str(config), "watch", *DAY, *args)


LINE = "alert: mcon: spend 62.10 CAD on 2026-11-07 is over spend_per_day 50.00"


def test_an_alert_is_printed_once_then_the_ledger_keeps_it_quiet(
    tmp_path: Path,
    ledger_backend: Backend,  # noqa: F811
) -> None:
    config = setup(tmp_path, ledger_backend, costs=("30.05", "32.05"))
    first = run(config, "-q")
    assert first.exit_code == 1
    assert LINE in first.stderr.splitlines()  # -q never silences an alert
    second = run(config)
    assert second.exit_code == 0 and "alert:" not in second.stderr
    again = run(config, "--repeat")
    assert again.exit_code == 1 and LINE in again.stderr.splitlines()


def test_a_spend_alert_comes_back_at_each_further_multiple(tmp_path: Path) -> None:
    backend = Backend()
    config = setup(tmp_path, backend, costs=("62.10",))
    assert run(config).exit_code == 1
    add(tmp_path, backend, ("30",), prefix="d")  # 92.10: still under 100.00
    assert run(config).exit_code == 0
    add(tmp_path, backend, ("8",), prefix="e")  # 100.10: over the second multiple
    result = run(config)
    assert result.exit_code == 1
    assert "spend 100.10 CAD on 2026-11-07 is over spend_per_day 100.00" in result.stderr


def test_json_lists_the_alerts_on_stdout_money_as_strings(tmp_path: Path) -> None:
    config = setup(tmp_path, Backend(), costs=("30.05", "32.05"))
    result = run(config, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "service": "mcon",
            "rule": "spend_per_day",
            "day": "2026-11-07",
            "value": "62.10",
            "threshold": "50.00",
            "detail": "spend on 2026-11-07",
        }
    ]
    assert LINE in result.stderr


def test_a_crash_between_printing_and_recording_prints_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voipbill.watch import record

    config = setup(tmp_path, Backend(), costs=("62.10",))

    def crash(*args: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(record, "record", crash)
    assert run(config).exit_code == 70
    monkeypatch.undo()
    result = run(config)
    assert result.exit_code == 1 and "spend 62.10 CAD" in result.stderr


def test_a_missing_or_empty_ledger_is_one_clear_line_and_exit_0(tmp_path: Path) -> None:
    config = setup(tmp_path, Backend())
    result = run(config)
    assert result.exit_code == 0
    assert "nothing to watch" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "l.sqlite").exists()  # watch made no ledger


def test_no_alert_is_exit_0(tmp_path: Path) -> None:
    config = setup(tmp_path, Backend(), costs=("10",))
    result = run(config)
    assert result.exit_code == 0 and "alert:" not in result.stderr


# -- the webhook -----------------------------------------------------------------------------------


class Listener:
    def __init__(self, status: int) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                listener.posts.append((dict(self.headers), body))
                self.send_response(listener.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.status = status
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=s3cr3t"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener(200)
    yield found
    found.close()


def test_the_webhook_gets_each_new_alert_signed(
    tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOIPBILL_HOOK", "k3y")
    watch = WATCH + f'webhook_url = "{listener.url}"\nwebhook_secret_env = "VOIPBILL_HOOK"\n'
    config = setup(tmp_path, Backend(), watch, costs=("62.10",))
    assert run(config).exit_code == 1
    [(headers, body)] = listener.posts
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert headers["X-Voipbill-Signature"] == expected
    document = json.loads(body)
    assert document["text"] == LINE.replace("62.10 CAD", "62.10 CAD")
    assert document["alert"]["rule"] == "spend_per_day" and document["alert"]["value"] == "62.10"
    assert run(config).exit_code == 0
    assert len(listener.posts) == 1  # sent once


def test_a_webhook_answering_500_is_a_warning_and_retried_next_run(
    tmp_path: Path, listener: Listener
) -> None:
    listener.status = 500
    config = setup(tmp_path, Backend(), WATCH + f'webhook_url = "{listener.url}"\n', ("62.10",))
    first = run(config, "-q")
    assert first.exit_code == 1
    assert "answered HTTP 500" in first.stderr and "sent again by the next run" in first.stderr
    assert "s3cr3t" not in first.stderr  # the URL's query is never printed
    listener.status = 200
    second = run(config)
    assert second.exit_code == 0 and "alert:" not in second.stderr  # printed once
    assert len(listener.posts) == 2  # but sent again
    assert listener.posts[0][1] == listener.posts[1][1]
    assert run(config).exit_code == 0 and len(listener.posts) == 2


def test_a_missing_webhook_key_is_exit_3_before_any_alert(
    tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOIPBILL_HOOK", raising=False)
    watch = WATCH + f'webhook_url = "{listener.url}"\nwebhook_secret_env = "VOIPBILL_HOOK"\n'
    config = setup(tmp_path, Backend(), watch, costs=("62.10",))
    result = run(config)
    assert result.exit_code == 3
    assert "VOIPBILL_HOOK is not set" in result.stderr and "alert:" not in result.stderr
    monkeypatch.setenv("VOIPBILL_HOOK", "k3y")
    assert run(config).exit_code == 1  # nothing was recorded: printed now
    assert len(listener.posts) == 1


def test_the_table_on_a_terminal_charts_each_alerting_services_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voipbill.cli import output

    config = setup(tmp_path, Backend(), costs=("62.10",))
    store = open_store(Backend(), tmp_path / "l.sqlite")
    assert store is not None
    with store:  # 31.05 two days before: half the watch day's height (7 * 0.5 = 3.5 -> 3)
        commit(store, tmp_path, [call("old", at(11, 5, 9), "31.05")])
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    result = run(config)
    assert result.exit_code == 1
    expected = "▁" * 26 + "▄▁█"
    assert f"mcon  {expected}  28 days to 2026-11-07: 62.10 CAD on the day" in result.stdout
