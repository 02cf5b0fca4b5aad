#!/usr/bin/python3
"""Isolated mode's benchmark (issue 13): worker processes against in-process mode, side by side in one run.

Rows, each the median of interleaved repeats (every server is started once, and they take turns; they are NOT
pinned: a multi-process server must be free to use every CPU, so wrk shares the machine with it):
  cpu      a CPU-bound pure-Python entrypoint (bench/services/mvi_cpu) at 8 connections, its loop length set
           at start so that one call is about 1 ms of work on this machine (issue 13's workload; --spin N fixes it):
           in-process (--workers 0 --threads 1), --workers 2, and FastAPI under gunicorn with 2 uvicorn workers
  hello    the seed hello at 32 connections: in-process against --workers 1 (throughput and p99)
  floats   the sum of 100,000 floats (a 2 MB JSON body to an ndarray) at 1 connection: in-process, --workers 1,
           and FastAPI (uvicorn, one process, List[float])
  ceiling  the machine's own scaling: the same loop in one plain python3 process, then in two at once, no server
           (on a shared VM the second core may give much less than a core; the cpu ratio is read against this)
Ratios are the figures to read; absolute numbers move with the machine. Usage:
  /usr/bin/python3 bench/workers.py [--bin build/mvi-runtime] [--duration 5] [--repeats 3]
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import FLOATS, HOST, PAYLOADS, SERVICES, free_port, machine_info, parse_wrk  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
SPIN_PROBE = 15000  # the loop length the calibration times; the benchmark then scales it to about 1 ms


class Server:
    def __init__(self, argv, port, env=None, cwd=None):
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"server exited: {' '.join(map(str, argv))}\n{self.log.read().decode(errors='replace')}")
            try:
                out = subprocess.run(["curl", "-sf", f"http://{HOST}:{port}/health/ready"], capture_output=True,
                                     timeout=5)
                if out.returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit("server did not become ready within 30 s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def mvi(binary, service, *args):
    port = free_port()
    argv = [binary, "--host", HOST, "--port", str(port), "--log-level", "warning", "--drain-delay", "0", *args,
            str(SERVICES / service / "service.py")]
    return Server(argv, port)


def gunicorn():
    port = free_port()
    argv = [PYTHON, "-m", "gunicorn", "fastapi_app:app", "--chdir", str(SERVICES), "-w", "2", "-k",
            "uvicorn.workers.UvicornWorker", "-b", f"{HOST}:{port}", "--log-level", "warning"]
    return Server(argv, port)


def uvicorn():
    port = free_port()
    argv = [PYTHON, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(SERVICES), "--host", HOST, "--port",
            str(port), "--log-level", "warning", "--workers", "1"]
    return Server(argv, port)


def floats_body():
    rng = random.Random(20240501)  # the same values as bench/run.py's floats workload
    return {"values": [rng.uniform(-1000.0, 1000.0) for _ in range(FLOATS)]}


def wrk(port, path, body, conns, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(body, f)
    try:
        env = dict(os.environ, BENCH_BODY=f.name)
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "30s", "-s",
               str(PAYLOADS / "post.lua"), f"http://{HOST}:{port}{path}"]
        out = subprocess.run(cmd, capture_output=True, env=env, timeout=seconds + 60).stdout.decode(errors="replace")
        return parse_wrk(out)
    finally:
        os.unlink(f.name)


ROWS = {
    # key: (start server, path, body, connections)
    "cpu in-process": (lambda b: mvi(b, "mvi_cpu", "--threads", "1"), "/spin", "spin", 8),
    "cpu --workers 2": (lambda b: mvi(b, "mvi_cpu", "--workers", "2"), "/spin", "spin", 8),
    "cpu FastAPI gunicorn -w 2": (lambda b: gunicorn(), "/spin", "spin", 8),
    "hello in-process": (lambda b: mvi(b, "mvi_hello"), "/hello", {"name": "Ada"}, 32),
    "hello --workers 1": (lambda b: mvi(b, "mvi_hello", "--workers", "1"), "/hello", {"name": "Ada"}, 32),
    "floats in-process": (lambda b: mvi(b, "mvi_floats"), "/total", "floats", 1),
    "floats --workers 1": (lambda b: mvi(b, "mvi_floats", "--workers", "1"), "/total", "floats", 1),
    "floats FastAPI": (lambda b: uvicorn(), "/total_list", "floats", 1),
}


LOOP = """
import time
def spin(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
start = time.perf_counter(); calls = 0
while time.perf_counter() - start < {seconds}:
    spin({n}); calls += 1
print(calls / (time.perf_counter() - start))
"""


def plain_python(processes, seconds, n):
    """Calls per second of the loop in `processes` plain python3 processes at once, summed."""
    procs = [subprocess.Popen([PYTHON, "-c", LOOP.format(seconds=seconds, n=n)], stdout=subprocess.PIPE)
             for _ in range(processes)]
    return sum(float(p.communicate(timeout=seconds + 30)[0]) for p in procs)


def calibrate_spin():
    """The loop length for about 1 ms per call here (machines differ by 2x; the issue's workload is ~1 ms).
    The fastest of three probes: a shared VM's slow spells are not what the machine does."""
    per_call_ms = min(1000.0 / plain_python(1, 1, SPIN_PROBE) for _ in range(3))
    return max(1000, round(SPIN_PROBE / per_call_ms / 1000) * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("MVI_RUNTIME_BIN", str(REPO / "build" / "mvi-runtime")))
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", action="append", help="rows whose name contains this (repeatable)")
    ap.add_argument("--spin", type=int, help="the CPU-bound loop's length (default: about 1 ms per call here)")
    opts = ap.parse_args()
    rows = {k: v for k, v in ROWS.items() if not opts.only or any(o in k for o in opts.only)}
    if any("gunicorn" in k for k in rows) and not shutil.which("gunicorn") and \
            subprocess.run([PYTHON, "-c", "import gunicorn"], capture_output=True).returncode != 0:
        raise SystemExit("python3-gunicorn is not installed (scripts/setup.sh installs it)")
    floats = floats_body() if any(v[2] == "floats" for v in rows.values()) else None
    spin_n = opts.spin or calibrate_spin()
    print(f"CPU-bound loop: spin({spin_n}), about {1000.0 / plain_python(1, 2, spin_n):.2f} ms per call here",
          flush=True)
    bodies = {"floats": floats, "spin": {"n": spin_n}}
    samples = {k: [] for k in rows}
    ceiling = []
    # Every server is started once and warmed up, then the rows take turns, each repeat running them back
    # to back: an idle server costs nothing, and on a shared VM whose speed swings within seconds the
    # rows compared must run as close together in time as they can.
    servers = {}
    try:
        for key, (start, path, body, conns) in rows.items():
            servers[key] = start(opts.bin)
            if opts.warmup:
                wrk(servers[key].port, path, bodies.get(body, body) if isinstance(body, str) else body, conns,
                    opts.warmup)
        for rep in range(opts.repeats):
            one, two = plain_python(1, opts.duration, spin_n), plain_python(2, opts.duration, spin_n)
            ceiling.append(two / one)
            print(f"[{rep + 1}/{opts.repeats}] ceiling: 1 process {one:.0f} calls/s, 2 processes {two:.0f} calls/s "
                  f"({two / one:.2f}×)", flush=True)
            for key, (start, path, body, conns) in rows.items():
                body = bodies.get(body, body) if isinstance(body, str) else body
                result = wrk(servers[key].port, path, body, conns, opts.duration)
                samples[key].append(result)
                print(f"[{rep + 1}/{opts.repeats}] {key:28s} {result['rps']:9.0f} req/s  p99 "
                      f"{result['p99_ms']:6.2f} ms  errors {result['errors']}", flush=True)
    finally:
        for server in servers.values():
            server.stop()

    def med(key, field):
        return statistics.median(s[field] for s in samples[key]) if samples.get(key) else None

    m = machine_info()
    print(f"\nMachine: {m['nproc']} × {m['cpu']}; servers unpinned, wrk -t1 on the same machine; "
          f"{opts.repeats} interleaved repeats of {opts.duration} s, medians.")
    print("| row | req/s | p99 ms |")
    print("|---|---:|---:|")
    for key in rows:
        print(f"| {key} | {med(key, 'rps'):.0f} | {med(key, 'p99_ms'):.2f} |")

    def ratio(a, b):
        # Both figures: the ratio of the medians, and the median of each repeat's ratio (the two rows of a
        # repeat run back to back, so a slow phase of a shared VM hits both; it moves less between runs).
        if a in samples and b in samples:
            paired = [x["rps"] / y["rps"] for x, y in zip(samples[a], samples[b]) if y["rps"]]
            each = ", ".join(f"{r:.2f}" for r in paired)
            print(f"{a} / {b}: {med(a, 'rps') / med(b, 'rps'):.2f}× (per repeat {each}; "
                  f"median {statistics.median(paired):.2f}×)")

    print()
    print(f"machine ceiling, 2 plain processes / 1: {statistics.median(ceiling):.2f}×")
    ratio("cpu --workers 2", "cpu in-process")
    ratio("cpu --workers 2", "cpu FastAPI gunicorn -w 2")
    ratio("hello --workers 1", "hello in-process")
    ratio("floats --workers 1", "floats in-process")
    ratio("floats --workers 1", "floats FastAPI")


if __name__ == "__main__":
    main()
