"""voipbill.http: one reading of every requests failure, an opt-in retry, no secret shown."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from voipbill import http
from voipbill.errors import ConfigError, ConnectionFailure


def failure_of(url: str, *, timeout: float = 5.0) -> http.Failure:
    with http.new_session() as session, pytest.raises(requests.RequestException) as caught:
        session.post(url, data={"a": "1"}, timeout=timeout)
    return http.classify(caught.value, url)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def url_of(server: socket.socket, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.getsockname()[1]}/api"


def test_a_closed_port_is_refused_and_nothing_was_sent() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    url = url_of(server)
    server.close()
    failure = failure_of(url)
    assert failure.kind is http.Kind.REFUSED
    assert not failure.sent
    assert not failure.maybe_done(writes=True)
    assert failure.host == "127.0.0.1"


def test_no_answer_after_sending_is_a_read_timeout_maybe_done_for_a_write_only(
    listener: socket.socket,
) -> None:
    # The kernel accepts the connection (backlog); nobody ever answers.
    failure = failure_of(url_of(listener), timeout=0.2)
    assert failure.kind is http.Kind.READ_TIMEOUT
    assert failure.sent
    assert failure.maybe_done(writes=True)
    assert not failure.maybe_done(writes=False)


def test_a_connection_closed_after_the_request_is_broken(listener: socket.socket) -> None:
    def close_after_reading() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()

    thread = threading.Thread(target=close_after_reading, daemon=True)
    thread.start()
    failure = failure_of(url_of(listener))
    thread.join(5)
    assert failure.kind is http.Kind.BROKEN
    assert failure.maybe_done(writes=True)


def wrapped(cause: Exception) -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/api", cause))  # type: ignore[arg-type]


def test_a_name_that_does_not_resolve_is_dns() -> None:
    cause = NameResolutionError(
        "pbx.example", None, socket.gaierror(-2, "Name or service not known")
    )  # type: ignore[arg-type]
    failure = http.classify(wrapped(cause), "https://pbx.example/x")
    assert failure.kind is http.Kind.DNS
    assert not failure.sent
    assert failure.address == "pbx.example:443"


def test_no_route_to_the_host_is_unreachable_not_maybe_done() -> None:
    cause = NewConnectionError(None, "[Errno 101] Network is unreachable")  # type: ignore[arg-type]
    failure = http.classify(wrapped(cause), "http://10.9.9.9:8080/x")
    assert failure.kind is http.Kind.UNREACHABLE
    assert failure.cause == "NewConnectionError"
    assert not failure.maybe_done(writes=True)
    assert failure.address == "10.9.9.9:8080"


@pytest.mark.parametrize(
    ("text", "tls"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", http.Tls.VERIFY),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number", http.Tls.NOT_TLS),
        ("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF", http.Tls.CLOSED),
        ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION]", http.Tls.OTHER),
    ],
)
def test_tls_failures_are_told_apart(text: str, tls: http.Tls) -> None:
    failure = http.classify(requests.exceptions.SSLError(text), "https://pbx.example/")
    assert (failure.kind, failure.tls) == (http.Kind.TLS, tls)
    assert not failure.sent


def test_a_connect_timeout_sent_nothing() -> None:
    failure = http.classify(requests.exceptions.ConnectTimeout("x"), "https://pbx.example/")
    assert failure.kind is http.Kind.CONNECT_TIMEOUT
    assert not failure.maybe_done(writes=True)


def test_causes_follow_reason_and_args() -> None:
    inner = ConnectionRefusedError(111, "refused")
    outer = wrapped(NewConnectionError(None, "x"))  # type: ignore[arg-type]
    outer.args[0].reason.__cause__ = inner
    names = [type(e).__name__ for e in http.causes(outer)]
    assert names == [
        "ConnectionError",
        "MaxRetryError",
        "NewConnectionError",
        "ConnectionRefusedError",
    ]


class Flaky(ConnectionFailure):
    pass


def test_the_default_policy_never_retries() -> None:
    calls = []

    def action() -> int:
        calls.append(1)
        raise Flaky("down")

    with pytest.raises(Flaky):
        http.NO_RETRY.run(action)
    assert calls == [1]


def test_a_policy_retries_only_its_errors_with_a_doubling_wait() -> None:
    waits: list[float] = []
    resets: list[int] = []
    outcomes: list[Exception | None] = [Flaky("1"), Flaky("2"), None]

    def action() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "done"

    policy = http.RetryPolicy(retries=2, backoff_s=0.5, retryable=(Flaky,), sleep=waits.append)
    assert policy.run(action, before_retry=lambda: resets.append(1)) == "done"
    assert waits == [0.5, 1.0]
    assert len(resets) == 2

    def refused() -> str:
        raise ValueError("not retryable")

    with pytest.raises(ValueError):
        policy.run(refused)
    assert waits == [0.5, 1.0]


def test_a_policy_gives_up_after_its_retries() -> None:
    waits: list[float] = []

    def action() -> str:
        raise Flaky("still down")

    with pytest.raises(Flaky):
        http.RetryPolicy(retries=1, retryable=(Flaky,), sleep=waits.append).run(action)
    assert waits == [1.0]


def test_scrub_masks_every_secret_in_message_and_hint() -> None:
    error = ConnectionFailure("key abc123 refused by def456", hint="abc123 is wrong")
    scrubbed = http.scrub(error, ("abc123", "def456", ""))
    assert str(scrubbed) == "key ******** refused by ********"
    assert scrubbed.hint == "******** is wrong"


def test_tls_verify(tmp_path: Path) -> None:
    assert http.tls_verify(False, tmp_path / "none.pem", key="k") is False
    assert http.tls_verify(True, None, key="k") is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x", encoding="utf-8")
    assert http.tls_verify(True, bundle, key="k") == str(bundle)
    with pytest.raises(ConfigError, match="servers -> wat5 -> ca_bundle: no file at"):
        http.tls_verify(True, tmp_path / "none.pem", key="servers -> wat5 -> ca_bundle")


def test_every_session_says_who_it_is() -> None:
    with http.new_session(verify=False) as session:
        assert session.headers["User-Agent"] == http.USER_AGENT
        assert session.verify is False


class Raising(requests.Session):
    def __init__(self, error: requests.RequestException) -> None:
        super().__init__()
        self.error = error

    def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        raise self.error


def test_an_invoicing_write_that_never_left_is_not_maybe_done() -> None:
    from voipbill.invoicing.transport import AnswerLost, Transport, Unreachable

    unreachable = wrapped(NewConnectionError(None, "[Errno 101] Network is unreachable"))  # type: ignore[arg-type]
    transport = Transport(
        "WHMCS",
        "https://billing.example",
        timeout_s=5,
        secrets=["s3cret"],
        session=Raising(unreachable),
    )
    with pytest.raises(Unreachable) as caught:
        transport.post("/includes/api.php", data={"secret": "s3cret"})
    assert not caught.value.maybe_done
    lost = requests.exceptions.ReadTimeout("read timed out")
    transport = Transport(
        "WHMCS", "https://billing.example", timeout_s=5, secrets=[], session=Raising(lost)
    )
    with pytest.raises(AnswerLost) as lost_caught:
        transport.post("/includes/api.php", data={})
    assert lost_caught.value.maybe_done
