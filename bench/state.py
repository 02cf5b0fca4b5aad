#!/usr/bin/python3
"""State backends' benchmark (issue 14): what `--state redis://` costs a service, side by side in one run.

  hello     the seed hello at 32 connections with --state memory against --state redis:// (reads never touch
            Redis, so the two should match), interleaved repeats
  propagate three replicas on one Redis: a change POSTed to one, round robin, until both others serve it
            (polled every millisecond over HTTP), N changes; p50 and p99 of that time, and of the runtime's own
            measure (publication to arrival, /metrics mvi_state_propagation_seconds)
A redis-server (Debian's) is started on a free port without persistence and stopped at the end. Usage:
  /usr/bin/python3 bench/state.py [--bin build/mvi-runtime] [--duration 3] [--repeats 5] [--changes 300]
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HOST, free_port, machine_info  # noqa: E402
from workers import REPO, Server, mvi, wrk  # noqa: E402


def start_redis():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start (scripts/setup.sh installs it)")


def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


def histogram_quantile(text, name, q):
    """The upper bound of the bucket holding quantile q of a Prometheus histogram."""
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    total = buckets[-1][1] if buckets else 0
    for bound, cumulative in buckets:
        if total and cumulative >= q * total:
            return bound
    return float("nan")


def propagation(binary, url, changes):
    servers = [mvi(binary, "mvi_params", "--state", url) for _ in range(3)]
    try:
        conns = [http.client.HTTPConnection(HOST, s.port, timeout=10) for s in servers]
        times = []
        for i in range(changes):
            source = i % 3
            started = time.perf_counter()
            status, _ = call(conns[source], "POST", "/parameters/limit", {"limit": i})
            assert status == 200, status
            for j in range(3):
                if j == source:
                    continue
                deadline = time.monotonic() + 5
                while call(conns[j], "GET", "/parameters/limit")[1] != {"limit": i}:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"change {i} not seen within 5 s")
                    time.sleep(0.001)
            times.append(time.perf_counter() - started)
        conns[0].request("GET", "/metrics")
        text = conns[0].getresponse().read().decode()
        own = [histogram_quantile(text, "mvi_state_propagation_seconds", q) for q in (0.5, 0.99)]
    finally:
        for s in servers:
            s.stop()
    return times, own


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("MVI_RUNTIME_BIN", str(REPO / "build" / "mvi-runtime")))
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--changes", type=int, default=300)
    opts = ap.parse_args()
    redis, port = start_redis()
    url = f"redis://{HOST}:{port}/0"
    try:
        servers = {"memory": mvi(opts.bin, "mvi_hello"), "redis": mvi(opts.bin, "mvi_hello", "--state", url)}
        try:
            for s in servers.values():
                wrk(s.port, "/hello", {"name": "Ada"}, 32, 1)
            rps = {k: [] for k in servers}
            for rep in range(opts.repeats):
                for key, s in servers.items():
                    result = wrk(s.port, "/hello", {"name": "Ada"}, 32, opts.duration)
                    rps[key].append(result["rps"])
                    print(f"[{rep + 1}/{opts.repeats}] hello --state {key:6s} {result['rps']:9.0f} req/s  "
                          f"p99 {result['p99_ms']:6.2f} ms", flush=True)
        finally:
            for s in servers.values():
                s.stop()
        times, own = propagation(opts.bin, url, opts.changes)
    finally:
        redis.kill()
        redis.wait(10)
    m = machine_info()
    paired = [r / m_ for r, m_ in zip(rps["redis"], rps["memory"])]
    print(f"\nMachine: {m['nproc']} × {m['cpu']}; unpinned; {opts.repeats} interleaved repeats of {opts.duration} s.")
    print(f"hello --state redis / --state memory: {statistics.median(rps['redis']) / statistics.median(rps['memory']):.2f}× "
          f"(per repeat {', '.join(f'{p:.2f}' for p in paired)}; median {statistics.median(paired):.2f}×)")
    times.sort()
    print(f"propagation over 3 replicas, {len(times)} changes (POST answered and served by both others, polled "
          f"every ms): p50 {statistics.median(times) * 1000:.2f} ms, p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms")
    if own:
        print(f"the runtime's own measure (publication to arrival, histogram bucket bounds): p50 ≤ {own[0] * 1000:g} ms, "
              f"p99 ≤ {own[1] * 1000:g} ms")


if __name__ == "__main__":
    main()
