"""Notification sinks (SPEC §6, docs/notifications.md): webhooks signed with HMAC-SHA256 and retried with back-off,
the Daeploy-style manager, e-mail over SMTP with `timer` suppression, TLS, and sinks never slowing entrypoint calls.

Every receiver runs in this process on 127.0.0.1 with port 0, and every wait is bounded.
"""

import asyncio
import hashlib
import hmac
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent / "services"
SECRET = "webhook-s3cret-value"
DAEPLOY_FIELDS = {"service_name", "service_version", "msg", "severity", "dashboard", "emails", "timer", "timestamp"}
DELIVERY_TIMEOUT = 10.0  # seconds a delivery may take to show up at a receiver


def service_path(scenario):
    return SERVICES / scenario / "service.py"


def expected_signature(body, secret=SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# Receivers


class Delivery:
    def __init__(self, path, headers, body, status):
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body  # bytes, exactly as received
        self.status = status  # what the receiver answered

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Delivery {self.path} -> {self.status} {self.body[:200]!r}>"


class WebhookReceiver:
    """http.server in a thread; the i-th request is answered with statuses[i] (the last one repeats)."""

    def __init__(self, statuses=(200,), tls_context=None):
        self.statuses = list(statuses)
        self.deliveries = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.cond:
                    index = len(receiver.deliveries)
                    status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.deliveries.append(Delivery(self.path, headers, body, status))
                    receiver.cond.notify_all()
                answer = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path="/hook", scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def wait_for(self, count, timeout=DELIVERY_TIMEOUT):
        """Wait (bounded) until at least `count` requests arrived; returns a copy of the list."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(min(remaining, 0.1))
            return list(self.deliveries)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class HangingReceiver:
    """Accepts TCP connections and never reads or answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.conns.append(conn)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        for c in self.conns:
            c.close()
        self.sock.close()


class SmtpReceiver:
    """aiosmtpd (Debian python3-aiosmtpd) on its own asyncio loop in a thread; records every accepted message."""

    def __init__(self, tls_context=None, require_starttls=False, credentials=None):
        from aiosmtpd.smtp import SMTP, AuthResult

        self.messages = []  # (mail_from, rcpt_tos, content bytes)
        self.logins = []  # (mechanism, login) of AUTH attempts
        self.cond = threading.Condition()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with receiver.cond:
                    receiver.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                    receiver.cond.notify_all()
                return "250 Message accepted for delivery"

        def authenticator(server, session, envelope, mechanism, auth_data):
            receiver.logins.append((mechanism, auth_data.login))
            return AuthResult(success=(auth_data.login, auth_data.password) == credentials)

        options = {"hostname": "receiver.test", "tls_context": tls_context, "require_starttls": require_starttls}
        if credentials:
            options.update(authenticator=authenticator, auth_required=True)

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start():
            return await self.loop.create_server(
                lambda: SMTP(Handler(), loop=self.loop, **options), host="127.0.0.1", port=0
            )

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=5)
        self.port = self.server.sockets[0].getsockname()[1]

    def wait_for(self, count, timeout=DELIVERY_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(min(remaining, 0.1))
            return list(self.messages)

    def close(self):
        async def stop():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)


@pytest.fixture
def receivers():
    """receivers.webhook(...), receivers.hanging(), receivers.smtp(...): all closed at teardown."""

    class Factory:
        def __init__(self):
            self.made = []

        def _keep(self, r):
            self.made.append(r)
            return r

        def webhook(self, statuses=(200,), tls_context=None):
            return self._keep(WebhookReceiver(statuses, tls_context))

        def hanging(self):
            return self._keep(HangingReceiver())

        def smtp(self, **kwargs):
            pytest.importorskip("aiosmtpd", reason="needs Debian's python3-aiosmtpd (scripts/setup.sh)")
            return self._keep(SmtpReceiver(**kwargs))

    factory = Factory()
    yield factory
    for r in reversed(factory.made):
        r.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert_path, key_path)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("needs the openssl command (Debian package openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


def server_tls_context(certificate):
    cert, key = certificate
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def raise_notification(svc, msg, severity=0, path="/raise_notification", **extra):
    body = {"msg": msg, "severity": severity, **extra}
    started = time.monotonic()
    resp = svc.request("POST", path, json=body)
    elapsed = time.monotonic() - started
    assert resp.status == 200, f"{resp!r}\n{svc.describe()}"
    return elapsed


# ----------------------------------------------------------------------------------------------------------------
# Webhooks


def test_webhook_receives_signed_payload(start_service, receivers):
    rx = receivers.webhook()
    svc = start_service(service_path("notify_webhook"), "--name", "pumps", "--service-version", "1.2.3",
                        env={"MVI_NOTIFY_WEBHOOK": rx.url("/hooks/abc?src=mvi"), "MVI_NOTIFY_SECRET": SECRET})
    raise_notification(svc, "disk almost full", severity=1)

    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    d = got[0]
    assert d.path == "/hooks/abc?src=mvi"
    assert hmac.compare_digest(d.headers.get("x-mvi-signature", ""), expected_signature(d.body)), d.headers
    assert d.headers["content-type"] == "application/json"
    assert d.headers["user-agent"] == "mvi-runtime"
    assert d.headers.get("x-mvi-delivery")
    body = d.json()
    assert body["event"] == "notification"
    assert body["delivery_id"] == d.headers["x-mvi-delivery"]
    assert body["msg"] == "disk almost full"
    assert body["severity"] == 1 and body["severity_name"] == "WARNING"
    assert body["service_name"] == "pumps" and body["service_version"] == "1.2.3"
    assert body["counter"] == 1 and body["dashboard"] is True and body["emails"] == [] and body["timer"] == 0
    assert body["entrypoint"] == "raise_notification"
    assert isinstance(body["request_id"], str) and body["request_id"]
    assert isinstance(body["id"], int) and isinstance(body["timestamp"], (int, float))

    # A repeat is delivered too, with the store's counter; the signature covers the new body.
    raise_notification(svc, "disk almost full", severity=1)
    got = rx.wait_for(2)
    assert len(got) == 2
    assert got[1].json()["counter"] == 2
    assert hmac.compare_digest(got[1].headers["x-mvi-signature"], expected_signature(got[1].body))
    assert got[1].headers["x-mvi-delivery"] != got[0].headers["x-mvi-delivery"]

    out = svc.output()
    assert f"notification sink: webhook http://127.0.0.1:{rx.port} (signed" in out, out
    assert SECRET not in out and "/hooks/abc" not in out


def test_webhook_retries_5xx_until_accepted_exactly_once(start_service, receivers):
    rx = receivers.webhook(statuses=(503, 503, 200))
    svc = start_service(service_path("notify_webhook"),
                        env={"MVI_NOTIFY_WEBHOOK": rx.url(), "MVI_NOTIFY_SECRET": SECRET})
    raise_notification(svc, "flaky receiver")

    got = rx.wait_for(3)  # default back-off: 0.5 s, then 1 s
    assert [d.status for d in got] == [503, 503, 200], f"{got}\n{svc.describe()}"
    time.sleep(1.5)  # nothing more may arrive after the 200
    got = rx.wait_for(3, timeout=0)
    assert [d.status for d in got] == [503, 503, 200], got
    assert len({d.headers["x-mvi-delivery"] for d in got}) == 1, "retries keep the delivery id"
    assert len({d.body for d in got}) == 1, "retries send the same bytes"
    for d in got:
        assert hmac.compare_digest(d.headers["x-mvi-signature"], expected_signature(d.body))


def test_webhook_4xx_is_not_retried(start_service, receivers):
    rx = receivers.webhook(statuses=(404, 200))
    svc = start_service(service_path("notify_webhook"), env={"MVI_NOTIFY_WEBHOOK": rx.url()})
    raise_notification(svc, "wrong url")
    assert len(rx.wait_for(1)) == 1
    time.sleep(1.0)  # a retry would come after 0.5 s
    assert [d.status for d in rx.wait_for(1, timeout=0)] == [404]
    assert svc.wait_for_output(r"not delivered to webhook .*HTTP 404", timeout=5), svc.describe()


def test_unresponsive_webhook_does_not_slow_entrypoints(start_service, receivers):
    hang = receivers.hanging()
    ok = receivers.webhook()
    svc = start_service(service_path("notify_webhook"), "--drain-delay", "0",
                        env={"MVI_NOTIFY_WEBHOOK": f"{hang.url()},{ok.url()}"})
    times = [raise_notification(svc, f"event {i}") for i in range(20)]
    slow = [round(t, 3) for t in times if t >= 0.5]
    assert not slow, f"entrypoint calls slowed by the sink: {slow}\n{svc.describe()}"
    # The other webhook is not held up by the one that never answers.
    assert len(ok.wait_for(20)) == 20
    assert len(hang.conns) >= 1, "the unresponsive receiver was tried"

    # Shutdown gives deliveries in flight a bounded grace (2 s) and still exits 0.
    started = time.monotonic()
    code = svc.stop()
    assert code == 0, svc.describe()
    assert time.monotonic() - started < 6.0


def test_notification_raised_at_import_is_delivered(start_service, receivers):
    rx = receivers.webhook()
    svc = start_service(service_path("notify_at_import"), env={"MVI_NOTIFY_WEBHOOK": rx.url()})
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    body = got[0].json()
    assert body["msg"] == "model loaded at import"
    assert body["entrypoint"] is None


# ----------------------------------------------------------------------------------------------------------------
# Daeploy-style manager


def check_daeploy_payload(d, token, name, version):
    assert d.path == "/base/notifications/", d
    if token:
        assert d.headers.get("authorization") == f"Bearer {token}"
    else:
        assert "authorization" not in d.headers
    body = d.json()
    assert set(body) == DAEPLOY_FIELDS, body
    assert body["service_name"] == name and body["service_version"] == version
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", body["timestamp"]), body["timestamp"]
    return body


def test_manager_receives_daeploy_payload_with_bearer_token(start_service, receivers):
    rx = receivers.webhook()
    svc = start_service(service_path("notify_manager"), "--name", "pumps", "--service-version", "2.0.0",
                        env={"MVI_MANAGER_URL": rx.url("/base/"), "MVI_MANAGER_TOKEN": "manager-token-xyz"})
    raise_notification(svc, "pressure high", severity=2, dashboard=False, emails=["ops@example.com"], timer=30)
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    body = check_daeploy_payload(got[0], "manager-token-xyz", "pumps", "2.0.0")
    assert body["msg"] == "pressure high"
    assert body["severity"] == 2 and isinstance(body["severity"], int)
    assert body["dashboard"] is False
    assert body["emails"] == ["ops@example.com"]
    assert body["timer"] == 30 and isinstance(body["timer"], int)
    assert "manager-token-xyz" not in svc.output()


def test_manager_daeploy_environment_names(start_service, receivers):
    rx = receivers.webhook()
    svc = start_service(service_path("notify_manager"),
                        env={"DAEPLOY_MANAGER_URL": rx.url("/base"), "DAEPLOY_AUTH_TOKEN": "daeploy-jwt"})
    raise_notification(svc, "hello manager")
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    body = check_daeploy_payload(got[0], "daeploy-jwt", "service", "0.0.0")
    assert body["emails"] is None and body["dashboard"] is True and body["severity"] == 0


# ----------------------------------------------------------------------------------------------------------------
# E-mail


def smtp_env(rx, **extra):
    env = {"MVI_SMTP_HOST": "127.0.0.1", "MVI_SMTP_PORT": str(rx.port), "MVI_SMTP_FROM": "alerts@example.com",
           "MVI_SMTP_TO": "ops@example.com"}
    env.update(extra)
    return env


def test_email_is_sent_and_a_repeat_within_timer_sends_none(start_service, receivers):
    rx = receivers.smtp()
    svc = start_service(service_path("notify_email"), "--name", "pumps", env=smtp_env(rx))
    raise_notification(svc, "pump 3 overheating", severity=2, path="/raise_email",
                       emails=["dev@example.com"], timer=60)
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    mail_from, rcpt_tos, content = got[0]
    assert mail_from == "alerts@example.com"
    assert rcpt_tos == ["dev@example.com", "ops@example.com"]
    msg = message_from_bytes(content, policy=email_policy.default)
    assert msg["Subject"] == "[CRITICAL] pumps: pump 3 overheating"
    assert msg["From"] == "alerts@example.com"
    assert msg["X-MVI-Delivery"]
    text = msg.get_content()
    assert "pump 3 overheating" in text and "CRITICAL" in text and "raise_email" in text

    raise_notification(svc, "pump 3 overheating", severity=2, path="/raise_email",
                       emails=["dev@example.com"], timer=60)
    time.sleep(1.5)
    assert len(rx.wait_for(1, timeout=0)) == 1, "a repeat inside `timer` must send no e-mail"

    # Another message is not suppressed.
    raise_notification(svc, "pump 4 overheating", severity=2, path="/raise_email",
                       emails=["dev@example.com"], timer=60)
    assert len(rx.wait_for(2)) == 2


def test_email_timer_zero_sends_every_time(start_service, receivers):
    rx = receivers.smtp()
    svc = start_service(service_path("notify_email"), env=smtp_env(rx))
    for _ in range(2):
        raise_notification(svc, "every time", path="/raise_email")
    got = rx.wait_for(2)
    assert len(got) == 2, svc.describe()
    assert all(rcpt == ["ops@example.com"] for _, rcpt, _ in got)


def test_email_starttls_with_auth_plain(start_service, receivers, certificate):
    rx = receivers.smtp(tls_context=server_tls_context(certificate), require_starttls=True,
                        credentials=(b"alerts", b"smtp-pass-123"))
    env = smtp_env(rx, MVI_SMTP_STARTTLS="1", MVI_SMTP_USER="alerts", MVI_SMTP_PASSWORD="smtp-pass-123",
                   MVI_NOTIFY_CA_FILE=str(certificate[0]))
    svc = start_service(service_path("notify_email"), env=env)
    raise_notification(svc, "over TLS", path="/raise_email")
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    assert rx.logins == [("PLAIN", b"alerts")]
    assert "smtp-pass-123" not in svc.output()


# ----------------------------------------------------------------------------------------------------------------
# TLS for webhooks


def test_https_webhook_trusted_through_ca_file(start_service, receivers, certificate):
    rx = receivers.webhook(tls_context=server_tls_context(certificate))
    svc = start_service(service_path("notify_webhook"),
                        env={"MVI_NOTIFY_WEBHOOK": rx.url(scheme="https"), "MVI_NOTIFY_SECRET": SECRET,
                             "MVI_NOTIFY_CA_FILE": str(certificate[0])})
    raise_notification(svc, "over https")
    got = rx.wait_for(1)
    assert len(got) == 1, svc.describe()
    assert hmac.compare_digest(got[0].headers["x-mvi-signature"], expected_signature(got[0].body))


def test_https_webhook_with_untrusted_certificate_is_refused(start_service, receivers, certificate):
    rx = receivers.webhook(tls_context=server_tls_context(certificate))
    svc = start_service(service_path("notify_webhook"),
                        env={"MVI_NOTIFY_WEBHOOK": rx.url(scheme="https"), "MVI_NOTIFY_MAX_ATTEMPTS": "1"})
    raise_notification(svc, "should not arrive")
    assert svc.wait_for_output(r"not delivered to webhook .*TLS handshake", timeout=DELIVERY_TIMEOUT), svc.describe()
    assert rx.wait_for(1, timeout=0) == []


# ----------------------------------------------------------------------------------------------------------------
# Configuration errors


def test_bad_notify_settings_exit_2_without_quoting_the_url(runtime_bin, run_cmd):
    path = service_path("notify_webhook")
    result = run_cmd([runtime_bin, "--host", "127.0.0.1", "--port", "0", path],
                     env={"MVI_NOTIFY_WEBHOOK": "ftp://example.com/secret-path-123"})
    assert result.returncode == 2, result.describe()
    assert "MVI_NOTIFY_WEBHOOK" in result.stderr and "secret-path-123" not in result.stderr + result.stdout

    result = run_cmd([runtime_bin, "--host", "127.0.0.1", "--port", "0", path],
                     env={"MVI_NOTIFY_WEBHOOK": "http://127.0.0.1:9/", "MVI_NOTIFY_TIMEOUT": "soon"})
    assert result.returncode == 2, result.describe()
    assert "MVI_NOTIFY_TIMEOUT" in result.stderr
