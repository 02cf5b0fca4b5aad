"""`--state redis://` (issue 14, SPEC §10): three replicas on one real redis-server (started here on a free
port, without persistence) — a change on one is seen on the others, over HTTP and inside an entrypoint; concurrent
changes on all three converge on one value and generation; with Redis down, calls go on, changes answer 503 and
ready says degraded, and after Redis comes back empty the replicas give it their state and agree again; a replica
killed with -9 comes back with the value; notifications are shared with merged counters."""

import os
import shutil
import socket
import statistics
import subprocess
import threading
import time

import pytest

from conftest import wait_until

SERVICE = '''
from mvi import service
from mvi.communication import Severity, notify

service.add_parameter("limit", 10)
service.add_parameter("label", "a")


@service.entrypoint
def read() -> dict:
    return {"limit": service.get_parameter("limit"), "label": service.get_parameter("label")}


@service.entrypoint
def warn(msg: str) -> str:
    notify(msg, Severity.WARNING)
    return msg
'''

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (scripts/setup.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def redis():
    server = Redis(free_port())
    server.start()
    yield server
    server.stop()


def replicas(launcher, tmp_path, redis, count=3, *args):
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    url = f"redis://127.0.0.1:{redis.port}/0"
    return [launcher.start(path, "--state", url, "--drain-delay", "0", *args) for _ in range(count)]


def cpu_seconds(svc):
    """User + system CPU of the service process so far."""
    fields = open(f"/proc/{svc.proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(svc, name, value):
    return svc.request("POST", f"/parameters/{name}", json={name: value})


def values(svc):
    return svc.request("GET", "/parameters").body


def test_a_change_on_one_replica_is_seen_on_the_others(start_service, tmp_path, redis):
    a, b, c = replicas(start_service, tmp_path, redis)
    lags = []
    for i in range(200):
        source = (a, b, c)[i % 3]
        started = time.monotonic()
        r = post(source, "limit", 1000 + i)
        assert r.status == 200, r
        generation = int(r.headers["X-Parameters-Generation"])
        for other in (a, b, c):
            if other is source:
                continue
            seen = wait_until(lambda: values(other)["limit"] == 1000 + i, 5, interval=0.002)
            assert seen, f"change {i} not seen on a replica within 5 s"
        lags.append(time.monotonic() - started)
        if i % 50 == 0:  # inside an entrypoint too, with the global generation
            for other in (a, b, c):
                r = other.request("POST", "/read", json={})
                assert r.body["limit"] == 1000 + i and int(r.headers["X-Parameters-Generation"]) == generation, r
    metrics = b.request("GET", "/metrics").text
    assert "mvi_state_backend_up 1" in metrics, metrics
    assert "mvi_state_writes_total 67" in metrics, "b made every third change"
    count = [line for line in metrics.splitlines() if line.startswith("mvi_state_propagation_seconds_count")]
    assert count and float(count[0].split()[-1]) >= 133, count
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(f"propagation (POST answered and seen on both others): p50 {statistics.median(lags) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms")
    assert p99 < 1.0, "SPEC §10 asks 100 ms; bench/state.py measures it, this bound only catches a broken path"


def test_concurrent_changes_on_all_replicas_converge(start_service, tmp_path, redis):
    nodes = replicas(start_service, tmp_path, redis)
    statuses = []

    def hammer(k):
        for i in range(34):
            statuses.append(post(nodes[(k + i) % 3], "limit", k * 100 + i).status)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses.count(200) == len(statuses) == 102, statuses

    def agreed():
        seen = {(values(n)["limit"], n.request("GET", "/status").body["parameters_generation"]) for n in nodes}
        return seen if len(seen) == 1 else None

    seen = wait_until(agreed, 5)
    assert seen, [(values(n), n.request("GET", "/status").body["parameters_generation"]) for n in nodes]
    (value, generation), = seen
    assert generation == 102, "every change got its own generation"


def test_redis_down_calls_go_on_changes_refused_then_everything_converges(start_service, tmp_path, redis):
    a, b, c = replicas(start_service, tmp_path, redis)
    assert post(a, "limit", 7).status == 200
    assert wait_until(lambda: values(c)["limit"] == 7, 5)
    redis.stop()
    assert wait_until(lambda: a.request("GET", "/health/ready").body.get("state") == "degraded", 5)
    # notify() does not wait for Redis; what it raised is shared once Redis is back, and meanwhile the queue
    # costs no CPU.
    started = time.monotonic()
    assert a.request("POST", "/warn", json={"msg": "raised while Redis was away"}).status == 200
    assert time.monotonic() - started < 0.5
    cpu_before, wall_before = cpu_seconds(a), time.monotonic()
    outage_end = time.monotonic() + 3
    refused = 0
    while time.monotonic() < outage_end:
        for n in (a, b, c):
            r = n.request("POST", "/read", json={})
            assert r.status == 200 and r.body["limit"] == 7, r
            r = post(n, "label", "during")
            assert r.status == 503 and "Redis" in r.body["detail"], r
            refused += 1
            assert n.request("GET", "/health/ready").status == 200
        time.sleep(0.05)
    assert refused > 10
    assert cpu_seconds(a) - cpu_before < 0.5 * (time.monotonic() - wall_before), "busy while Redis is away"
    assert a.request("GET", "/status").body["state_backend_status"] == "degraded"
    assert "mvi_state_backend_up 0" in a.request("GET", "/metrics").text

    redis.start()  # empty: no persistence, as after a restart that lost its data
    assert wait_until(lambda: all(n.request("GET", "/status").body["state_backend_status"] == "up"
                                  for n in (a, b, c)), 10)
    r = post(b, "label", "after")
    assert r.status == 200, r
    assert int(r.headers["X-Parameters-Generation"]) > 1, "the generation did not go back"
    assert wait_until(lambda: all(values(n) == {"limit": 7, "label": "after"} for n in (a, b, c)), 5), \
        [values(n) for n in (a, b, c)]
    assert wait_until(lambda: any(x["msg"] == "raised while Redis was away"
                                  for x in c.request("GET", "/notifications").body), 5)
    # And what the replicas had before the outage is back in Redis: a replica started now lists it.
    late = start_service.start(tmp_path / "service.py", "--state", f"redis://127.0.0.1:{redis.port}/0")
    assert any(x["msg"] == "Parameter limit changed to 7" for x in late.request("GET", "/notifications").body)


def test_a_replica_killed_after_a_change_comes_back_with_it(start_service, tmp_path, redis):
    a, b = replicas(start_service, tmp_path, redis, count=2)
    assert post(a, "limit", 99).status == 200
    a.kill()
    again = start_service.start(tmp_path / "service.py", "--state", f"redis://127.0.0.1:{redis.port}/0")
    assert values(again)["limit"] == 99
    r = again.request("POST", "/read", json={})
    assert r.body["limit"] == 99 and r.headers["X-Parameters-Generation"] == "1", r


def test_notifications_are_shared_with_merged_counters(start_service, tmp_path, redis):
    a, b, c = replicas(start_service, tmp_path, redis)
    assert a.request("POST", "/warn", json={"msg": "disk almost full"}).status == 200
    assert b.request("POST", "/warn", json={"msg": "disk almost full"}).status == 200

    def counter(n):
        kept = [x for x in n.request("GET", "/notifications").body if x["msg"] == "disk almost full"]
        return kept[0]["counter"] if kept else 0

    assert wait_until(lambda: all(counter(n) == 2 for n in (a, b, c)), 5), [counter(n) for n in (a, b, c)]


def test_isolated_mode_replicas_apply_changes_in_their_workers(start_service, tmp_path, redis):
    a, b = replicas(start_service, tmp_path, redis, 2, "--workers", "1")
    assert post(a, "limit", 5).status == 200
    assert wait_until(lambda: b.request("POST", "/read", json={}).body["limit"] == 5, 5)


def test_a_replica_started_while_redis_is_down_serves_the_code_values_then_catches_up(start_service, tmp_path,
                                                                                      redis):
    a, = replicas(start_service, tmp_path, redis, count=1)
    assert post(a, "limit", 42).status == 200
    redis.stop()
    late = start_service.start(tmp_path / "service.py", "--state", f"redis://127.0.0.1:{redis.port}/0")
    assert late.wait_for_output(r"WARNING.*Redis at redis://127\.0\.0\.1:\d+/0 cannot be reached"), late.describe()
    assert values(late)["limit"] == 10, "the code's value while Redis is away"
    ready = late.request("GET", "/health/ready")
    assert ready.status == 200 and ready.body == {"status": "ready", "state": "degraded"}, ready
    assert post(late, "limit", 1).status == 503
    redis.start()  # empty; `a` still knows 42 and gives it back
    assert wait_until(lambda: values(late)["limit"] == 42, 10), values(late)
    assert late.request("GET", "/health/ready").body == {"status": "ready"}
