#!/usr/bin/python3
"""The side-by-side benchmark: mvi-runtime against FastAPI + uvicorn (Debian packages), same service logic, same
machine, same run. Method, reading the table and reproducing: bench/README.md; results: docs/performance.md.

    /usr/bin/python3 bench/run.py [--quick] [--duration S] [--repeats N] [--out docs/performance.md]
    /usr/bin/python3 bench/run.py --smoke          # CI: both servers answer every workload correctly (~10 s)

Single-threaded driver. Every server it starts is stopped in a `finally` (SIGTERM, then SIGKILL); every wait is
bounded. Servers run pinned to one core and wrk to the other (taskset), one benchmark at a time.
"""

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SERVICES = BENCH / "services"
PAYLOADS = BENCH / "payloads"
PYTHON = "/usr/bin/python3"  # the Python mvi-runtime embeds; FastAPI/uvicorn come from its dist-packages
HOST = "127.0.0.1"
SERVER_CPU, LOAD_CPU = 1, 0  # the server gets core 1 to itself; wrk and this driver share core 0
CONNECTIONS = (1, 32)
FLOATS = 100_000
RESULTS_BEGIN = "<!-- bench/run.py results: begin (generated, do not edit by hand) -->"
RESULTS_END = "<!-- bench/run.py results: end -->"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A failure the run cannot continue from; main() prints it and exits 1."""


# ------------------------------------------------------------------------------------------------------------
# Workloads and configurations


@dataclass(frozen=True)
class Config:
    """One thing to measure: a server variant answering one route with one body."""

    key: str  # unique, used by --only
    workload: str  # hello | floats | nested | health
    server: str  # label in the table
    kind: str  # "mvi" or "fastapi"
    service: Optional[str]  # mvi: folder under bench/services
    path: str
    body: Optional[str]  # payload name (see Payloads); None = GET


CONFIGS = [
    Config("mvi-hello", "hello", "mvi-runtime (def)", "mvi", "mvi_hello", "/hello", "hello"),
    Config("fastapi-hello-def", "hello", "FastAPI def", "fastapi", None, "/hello_sync", "hello"),
    Config("fastapi-hello-async", "hello", "FastAPI async def", "fastapi", None, "/hello_async", "hello"),
    Config("mvi-floats", "floats", "mvi-runtime ndarray", "mvi", "mvi_floats", "/total", "floats"),
    Config("fastapi-floats-list", "floats", "FastAPI List[float]", "fastapi", None, "/total_list", "floats"),
    Config("fastapi-floats-raw", "floats", "FastAPI json.loads", "fastapi", None, "/total_raw", "floats"),
    Config("mvi-nested", "nested", "mvi-runtime dataclass", "mvi", "mvi_nested", "/order_total", "order"),
    Config("mvi-nested-pydantic", "nested", "mvi-runtime pydantic", "mvi", "mvi_nested_pydantic", "/order_total",
           "order"),
    Config("fastapi-nested", "nested", "FastAPI pydantic", "fastapi", None, "/order_total", "order"),
    Config("mvi-health", "health", "mvi-runtime /health/live", "mvi", "mvi_hello", "/health/live", None),
]
WORKLOAD_TITLES = {
    "hello": "hello(name: str) -> str",
    "floats": f"sum of {FLOATS:,} floats (~2 MB JSON)",
    "nested": "nested object, 20 fields",
    "health": "/health/live (C++ only)",
}


class Payloads:
    """The request bodies: hello.json and order.json are checked in; the floats body is generated (seeded) into a
    temporary folder. `expected(name)` is the answer computed here, independently of both servers."""

    def __init__(self, tmpdir: Path):
        rng = random.Random(20240501)
        self.values = [rng.uniform(-1000.0, 1000.0) for _ in range(FLOATS)]
        floats = tmpdir / "floats.json"
        floats.write_text(json.dumps({"values": self.values}))
        self.files = {"hello": PAYLOADS / "hello.json", "order": PAYLOADS / "order.json", "floats": floats}

    def path(self, name: str) -> Path:
        return self.files[name]

    def bytes(self, name: str) -> bytes:
        return self.files[name].read_bytes()

    def expected(self, name: Optional[str]):
        if name is None:
            return None
        if name == "hello":
            return "Hello " + json.loads(self.bytes("hello"))["name"]
        if name == "floats":
            return math.fsum(self.values)
        if name == "order":
            order = json.loads(self.bytes("order"))["order"]
            subtotal = sum(line["quantity"] * line["unit_price"] for line in order["lines"])
            return {
                "order_id": order["order_id"],
                "customer": order["customer"]["name"],
                "country": order["customer"]["address"]["country"],
                "items": sum(line["quantity"] for line in order["lines"]),
                "total": round(subtotal * (1.0 - order.get("discount", 0.0)), 2),
                "currency": order["currency"],
                "created": dt.datetime.fromisoformat(order["created"].replace("Z", "+00:00")).isoformat(),
                "tags": len(order["tags"]),
            }
        raise KeyError(name)


def answers_match(expected, got) -> bool:
    """Exact equality, except floats: the servers sum in different orders (numpy pairwise vs the builtin sum)."""
    if isinstance(expected, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-6)
    return expected == got


# ------------------------------------------------------------------------------------------------------------
# Processes


def pin_prefix(cpu: int) -> list:
    return ["taskset", "-c", str(cpu)] if os.cpu_count() >= 2 and shutil.which("taskset") else []


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5), counted after "(comm)"


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"{key} missing from /proc/{pid}/status")


def system_busy_seconds() -> float:
    """Busy time of all CPUs together (user+nice+system+irq+softirq+steal), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def listening_port(pid: int) -> int:
    """The TCP port process `pid` listens on (0 if none yet), from its socket inodes and /proc/net/tcp."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        with open(f"/proc/{pid}/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # state LISTEN
                    return int(cols[1].rsplit(":", 1)[1], 16)
    except OSError:
        pass
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, body: Optional[bytes] = None, timeout: float = 30.0):
    """One request on a fresh connection: (status, parsed JSON body or raw bytes)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


_PACKAGE_DIR: list = []  # set by snapshot_runtime(): the mvi package copy every server uses


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVI_") and k not in ("PYTHONHOME",)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # never write __pycache__ into bench/services
    if _PACKAGE_DIR:
        env["MVI_PYTHON_PACKAGE_DIR"] = _PACKAGE_DIR[0]
    return env


def snapshot_runtime(opts, tmpdir: Path) -> None:
    """The binary and the `mvi` package are rebuilt and edited while others work: copy both once, so that every
    measurement of one run uses the same build (recorded in the table by its modification time)."""
    opts.bin_mtime = dt.datetime.fromtimestamp(opts.bin.stat().st_mtime, dt.timezone.utc).strftime("%H:%M:%S UTC")
    copy = tmpdir / "bin" / "mvi-runtime"
    copy.parent.mkdir()
    shutil.copy2(opts.bin, copy)
    package = tmpdir / "python"
    shutil.copytree(REPO / "python", package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    opts.bin = copy
    _PACKAGE_DIR[:] = [str(package)]


def wait_for_binary(path: Path, limit: float = 120.0) -> None:
    """Someone may be rebuilding the binary: wait (bounded) until it is there and executable."""
    deadline = time.monotonic() + limit
    warned = False
    while not (path.is_file() and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            raise BenchError(f"mvi-runtime binary not found at {path} (build it first, or pass --bin)")
        if not warned:
            print(f"waiting for {path} to appear (being rebuilt?) ...", file=sys.stderr, flush=True)
            warned = True
        time.sleep(2.0)


def fastapi_loop_http() -> tuple:
    """uvloop + httptools when both import under /usr/bin/python3, else asyncio + h11 (what uvicorn's 'auto'
    would pick)."""
    probe = subprocess.run([PYTHON, "-c", "import uvloop, httptools"], capture_output=True, timeout=30)
    return ("uvloop", "httptools") if probe.returncode == 0 else ("asyncio", "h11")


class Server:
    """One started server process. `start()` returns once it answers; `stop()` always ends it."""

    def __init__(self, opts, kind: str, service: Optional[str], logdir: Path):
        self.opts, self.kind, self.service = opts, kind, service
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.log_path = logdir / f"{kind}-{service or 'app'}-{time.monotonic_ns()}.log"
        self.start_to_ready = float("nan")

    def command(self) -> list:
        if self.kind == "mvi":
            return pin_prefix(SERVER_CPU) + [
                str(self.opts.bin), "--host", HOST, "--port", "0", "--drain-delay", "0",
                *self.opts.mvi_arg, str(SERVICES / self.service / "service.py")]
        loop, http_impl = self.opts.loop_http
        self.port = free_port()
        return pin_prefix(SERVER_CPU) + [
            PYTHON, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(SERVICES), "--host", HOST,
            "--port", str(self.port), "--workers", "1", "--log-level", "warning", "--loop", loop, "--http", http_impl]

    def start(self) -> "Server":
        cmd = self.command()
        self._log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=clean_env(), cwd=str(REPO), start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        if self.kind == "mvi":  # port 0: the first log line ("bound http://127.0.0.1:PORT; loading ...") names it
            bound = re.compile(rb"bound http://[^\s:]+:(\d+)")
            while not self.port:
                self._check_alive(deadline)
                m = bound.search(self.log_path.read_bytes()[:4096])
                self.port = int(m.group(1)) if m else listening_port(self.proc.pid)  # the latter: --log-level warning
                if not self.port:
                    time.sleep(0.0005)
        while True:  # the first 200 from /health/ready
            self._check_alive(deadline)
            try:
                status, _ = http_request(self.port, "GET", "/health/ready", timeout=2.0)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.0005)
        self.start_to_ready = time.perf_counter() - t0
        return self

    def _check_alive(self, deadline: float) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.kind} server exited with {self.proc.returncode} while starting:\n"
                             + self.log_tail())
        if time.monotonic() > deadline:
            raise BenchError(f"{self.kind} server not ready within {START_TIMEOUT:.0f} s:\n" + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def pid(self) -> int:
        return self.proc.pid  # taskset execs the server, so this is the server's own pid

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log.close()
            if not self.opts.keep_logs:
                self.log_path.unlink(missing_ok=True)
            self.proc = None


# ------------------------------------------------------------------------------------------------------------
# wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """requests, seconds, rps, p50/p99 in ms, errors (socket errors + non-2xx/3xx) from `wrk --latency` output."""
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    if not (m and rps and p50 and p99):
        raise BenchError("cannot parse wrk output:\n" + out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return {"requests": int(m.group(1)), "seconds": _ms(m.group(2) + m.group(3)) / 1e3, "rps": float(rps.group(1)),
            "p50_ms": _ms(p50.group(1)), "p99_ms": _ms(p99.group(1)), "errors": errors}


def run_wrk(port: int, cfg: Config, payloads: Payloads, conns: int, seconds: float) -> tuple:
    """wrk -t1 pinned to the load core; returns (parsed output, wrk's own CPU seconds)."""
    cmd = pin_prefix(LOAD_CPU) + ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency",
                                  "--timeout", "30s"]
    env = dict(os.environ)
    if cfg.body is not None:
        cmd += ["-s", str(PAYLOADS / "post.lua")]
        env["BENCH_BODY"] = str(payloads.path(cfg.body))
    cmd.append(f"http://{HOST}:{port}{cfg.path}")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"wrk did not finish within {seconds + 60:.0f} s")
    usage = resource_children_delta()
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}:\n{out.decode(errors='replace')}")
    return parse_wrk(out.decode(errors="replace")), usage


_children_cpu = [0.0]


def resource_children_delta() -> float:
    """CPU seconds of waited-for children since the previous call (wrk is the only child waited for in between)."""
    t = os.times()
    now = t.children_user + t.children_system
    delta, _children_cpu[0] = now - _children_cpu[0], now
    return delta


# ------------------------------------------------------------------------------------------------------------
# Measuring


def check_answer(port: int, cfg: Config, payloads: Payloads):
    """One request; raises BenchError unless the answer is right. Returns the answer."""
    body = payloads.bytes(cfg.body) if cfg.body else None
    status, got = http_request(port, "POST" if body is not None else "GET", cfg.path, body)
    if status != 200:
        raise BenchError(f"{cfg.key}: {cfg.path} answered {status}: {got!r}")
    want = payloads.expected(cfg.body)
    if cfg.body is None:
        want = got  # /health/live: any 200 will do
    if not answers_match(want, got):
        raise BenchError(f"{cfg.key}: {cfg.path} answered {got!r}, expected {want!r}")
    return got


def wait_quiet(pid: int, limit: float = 15.0) -> None:
    """Wait until the server stops using CPU (work left over from the warm-up), at most `limit` seconds."""
    deadline = time.monotonic() + limit
    last = proc_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = proc_cpu_seconds(pid)
        if now - last < 0.011:
            return
        last = now


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    peak_rss_kib: int
    errors: int
    foreign_pct: float  # CPU used by other processes during the run, % of one core
    wrk_pct: float  # CPU wrk used, % of its core: near 100 means the load generator, not the server, is the limit


def wait_machine_quiet(opts) -> None:
    """Other work on this machine (a build, a test run) ruins the numbers: before each measurement, wait until
    everything else together uses less than --max-other-load % of one core (sampled over 0.5 s), at most
    --max-wait seconds; after that, measure anyway (the table flags the measurement)."""
    deadline = time.monotonic() + opts.max_wait
    told = False
    while True:
        busy0, self0, t0 = system_busy_seconds(), sum(os.times()[:2]), time.monotonic()
        time.sleep(0.5)
        busy = system_busy_seconds() - busy0 - (sum(os.times()[:2]) - self0)
        load = 100.0 * busy / (time.monotonic() - t0)
        if load < opts.max_other_load or time.monotonic() > deadline:
            return
        if not told:
            print(f"    (other processes use {load:.0f} % of a core; waiting up to {opts.max_wait:.0f} s)",
                  flush=True)
            told = True


def duration_for(opts, cfg: Config, conns: int) -> float:
    """The 2 MB workloads at many connections answer in waves seconds apart (uvicorn interleaves the 32 requests'
    steps, so they finish together): their window must span several waves to count requests/s fairly."""
    if cfg.workload == "floats" and conns > 1:
        return max(opts.duration, opts.floats_duration)
    return opts.duration


def measure(opts, cfg: Config, conns: int, payloads: Payloads, logdir: Path) -> Sample:
    wait_machine_quiet(opts)
    server = Server(opts, cfg.kind, cfg.service, logdir)
    try:
        server.start()
        for _ in range(3):
            check_answer(server.port, cfg, payloads)
        run_wrk(server.port, cfg, payloads, conns, opts.warmup)  # warm-up, not counted
        wait_quiet(server.pid)
        resource_children_delta()
        cpu0, busy0, self0, wall0 = proc_cpu_seconds(server.pid), system_busy_seconds(), sum(os.times()[:2]), \
            time.monotonic()
        result, wrk_cpu = run_wrk(server.port, cfg, payloads, conns, duration_for(opts, cfg, conns))
        cpu1, busy1, self1, wall1 = proc_cpu_seconds(server.pid), system_busy_seconds(), sum(os.times()[:2]), \
            time.monotonic()
        check_answer(server.port, cfg, payloads)  # still right after the load
        peak = proc_status_kib(server.pid, "VmHWM")
        server_cpu = cpu1 - cpu0
        foreign = max(0.0, (busy1 - busy0) - server_cpu - wrk_cpu - (self1 - self0))
        requests = max(1, result["requests"])
        return Sample(result["rps"], result["p50_ms"], result["p99_ms"], server_cpu / requests * 1e6, peak,
                      result["errors"], 100.0 * foreign / (wall1 - wall0), 100.0 * wrk_cpu / (wall1 - wall0))
    finally:
        server.stop()


@dataclass
class Startup:
    label: str
    ready_ms: list = field(default_factory=list)
    idle_rss_kib: list = field(default_factory=list)
    import_ms: float = float("nan")


def user_import_ms(kind: str, service: Optional[str], repeats: int = 5) -> float:
    """The service's own import time, measured apart from any server: a fresh /usr/bin/python3 first imports what
    the server itself brings (the `mvi` package, or nothing for FastAPI), then times executing the service file
    (its own imports: numpy, pydantic, ...) once. Median of `repeats` processes."""
    if kind == "mvi":
        target = str(SERVICES / service / "service.py")
        code = ("import sys, time, runpy; sys.path.insert(0, sys.argv[2]); from mvi import service\n"
                "t = time.perf_counter(); runpy.run_path(sys.argv[1], run_name='__bench_import__')\n"
                "print((time.perf_counter() - t) * 1e3)")
        args = [target, _PACKAGE_DIR[0] if _PACKAGE_DIR else str(REPO / "python")]
    else:
        code = ("import sys, time; sys.path.insert(0, sys.argv[1]); import fastapi, pydantic\n"
                "t = time.perf_counter(); import fastapi_app\nprint((time.perf_counter() - t) * 1e3)")
        args = [str(SERVICES)]
    times = []
    for _ in range(repeats):
        out = subprocess.run(pin_prefix(SERVER_CPU) + [PYTHON, "-c", code, *args], capture_output=True, text=True,
                             timeout=60, env=clean_env(), cwd=str(REPO))
        if out.returncode != 0:
            raise BenchError(f"timing the import of {service or 'fastapi_app'} failed:\n{out.stderr}")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def measure_startup(opts, payloads: Payloads, logdir: Path, repeats: int) -> list:
    """Start-to-ready (spawn until the first 200 from /health/ready) and idle RSS (VmRSS after 20 hello requests),
    for the hello service and the FastAPI app; the first start of each is a discarded page-cache warm-up."""
    rows = []
    plan = [("mvi-runtime, hello service", "mvi", "mvi_hello", "/hello"),
            ("FastAPI + uvicorn app", "fastapi", None, "/hello_sync")]
    for label, kind, service, path in plan:
        row = Startup(label)
        for i in range(repeats + 1):
            wait_machine_quiet(opts)
            server = Server(opts, kind, service, logdir)
            try:
                server.start()
                for _ in range(20):
                    check_answer(server.port, Config("startup", "hello", label, kind, service, path, "hello"),
                                 payloads)
                time.sleep(0.2)
                if i:
                    row.ready_ms.append(server.start_to_ready * 1e3)
                    row.idle_rss_kib.append(proc_status_kib(server.pid, "VmRSS"))
            finally:
                server.stop()
        row.import_ms = user_import_ms(kind, service)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------------------
# Report


def median_sample(samples: list) -> dict:
    med = lambda attr: statistics.median(getattr(s, attr) for s in samples)  # noqa: E731
    rps = [s.rps for s in samples]
    return {"rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"), "cpu_us": med("cpu_us"),
            "peak_rss_mib": med("peak_rss_kib") / 1024, "errors": sum(s.errors for s in samples),
            "spread_pct": 100.0 * (max(rps) - min(rps)) / statistics.median(rps) if len(rps) > 1 else 0.0,
            "foreign_pct": max(s.foreign_pct for s in samples), "wrk_pct": med("wrk_pct"), "n": len(samples)}


def fmt_num(v: float) -> str:
    if v != v:  # nan
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def machine_info() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    mem_kib = proc_status_kib_meminfo()
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "debian": debian,
            "memory_gib": round(mem_kib / 1024 / 1024, 1), "loadavg_at_start": Path("/proc/loadavg").read_text()
            .split()[:3]}


def proc_status_kib_meminfo() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def versions(opts) -> dict:
    code = ("import fastapi, uvicorn, pydantic, starlette\nout = {'fastapi': fastapi.__version__, "
            "'uvicorn': uvicorn.__version__, 'pydantic': pydantic.VERSION, 'starlette': starlette.__version__}\n"
            "for m in ('uvloop', 'httptools', 'numpy'):\n"
            "    try:\n        out[m] = __import__(m).__version__\n    except ImportError:\n        out[m] = None\n"
            "import json, sys; out['python'] = sys.version.split()[0]; print(json.dumps(out))")
    out = json.loads(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                                    check=True).stdout)
    mvi = subprocess.run([str(opts.bin), "--version"], capture_output=True, text=True, timeout=30)
    out["mvi-runtime"] = mvi.stdout.strip().split()[-1] if mvi.returncode == 0 else "?"
    out["build_type"] = "build type unknown"
    cache = opts.bin_original.parent / "CMakeCache.txt"
    if cache.exists():
        m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", cache.read_text(errors="replace"), re.M)
        out["build_type"] = f"CMAKE_BUILD_TYPE={m.group(1) if m else '?'}"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=30)
    out["wrk"] = (wrk.stdout + wrk.stderr).split()[1] if (wrk.stdout + wrk.stderr).split() else "?"
    return out


def paired_ratio(samples: dict, a_key: tuple, b_key: tuple, attr: str = "rps", invert: bool = False) -> tuple:
    """(median, min, max) of a/b over the repeats, pairing the samples of the same repeat: the two ran within a
    minute or so of each other, so a slow phase of the (shared, virtual) machine hits both."""
    a, b = samples.get(a_key), samples.get(b_key)
    if not a or not b:
        return (float("nan"),) * 3
    pairs = [(getattr(x, attr), getattr(y, attr)) for x, y in zip(a, b)]
    ratios = [(y / x if invert else x / y) for x, y in pairs if (x if invert else y) > 0]
    if not ratios:
        return (float("nan"),) * 3
    return statistics.median(ratios), min(ratios), max(ratios)


def targets(results: dict, samples: dict, startup: list) -> list:
    """(target, measured, range over repeats, goal, met) for every target of the issue that this run measured.
    Ratios are medians of per-repeat ratios (see paired_ratio); the others are the medians of the table."""
    rows = []

    def add(name, value, goal, met, unit="", spread=None):
        if value != value:  # nan: not measured in this run
            return
        rng = f"{fmt_num(spread[0])}–{fmt_num(spread[1])}{unit}" if spread and spread[0] != spread[1] else "–"
        rows.append((name, f"{fmt_num(value)}{unit}", rng, goal, "met" if met(value) else "**not met**"))

    def add_ratio(name, a, b, goal, met, unit="×", scale=1.0, attr="rps", invert=False):
        med, lo, hi = paired_ratio(samples, a, b, attr, invert)
        add(name, med * scale, goal, met, unit, (lo * scale, hi * scale))

    add_ratio("hello, 32 conns: req/s vs FastAPI def", ("mvi-hello", 32), ("fastapi-hello-def", 32), "≥ 8×",
              lambda v: v >= 8)
    add_ratio("hello, 32 conns: req/s vs FastAPI async def", ("mvi-hello", 32), ("fastapi-hello-async", 32),
              "≥ 3×", lambda v: v >= 3)
    add_ratio("hello, 32 conns: req/s vs mvi-runtime /health/live", ("mvi-hello", 32), ("mvi-health", 32),
              "≥ 70 %", lambda v: v >= 70, " %", 100.0)
    med, lo, hi = paired_ratio(samples, ("mvi-hello", 32), ("mvi-health", 32), "cpu_us", invert=True)
    if med == med:
        rows.append(("(the same by server CPU per request: /health/live µs ÷ hello µs)", f"{100 * med:.0f} %",
                     f"{100 * lo:.0f}–{100 * hi:.0f} %", "(information)", "–"))
    hello32 = results.get(("mvi-hello", 32))
    if hello32:
        cpu = [x.cpu_us for x in samples[("mvi-hello", 32)]]
        p99 = [x.p99_ms for x in samples[("mvi-hello", 32)]]
        add("hello, 32 conns: p99 latency", hello32["p99_ms"], "≤ 2 ms", lambda v: v <= 2, " ms", (min(p99), max(p99)))
        add("hello, 32 conns: CPU per request", hello32["cpu_us"], "≤ 30 µs", lambda v: v <= 30, " µs",
            (min(cpu), max(cpu)))
    for conns in CONNECTIONS:
        c = f"{conns} conn{'s' if conns > 1 else ''}"
        add_ratio(f"100k floats, {c}: req/s vs FastAPI List[float]", ("mvi-floats", conns),
                  ("fastapi-floats-list", conns), "≥ 20×", lambda v: v >= 20)
        add_ratio(f"100k floats, {c}: req/s vs FastAPI json.loads", ("mvi-floats", conns),
                  ("fastapi-floats-raw", conns), "≥ 6×", lambda v: v >= 6)
    for row in startup:
        if row.label.startswith("mvi"):
            rss = [k / 1024 for k in row.idle_rss_kib]
            add("idle RSS of the hello service", statistics.median(rss), "≤ 40 MiB", lambda v: v <= 40, " MiB",
                (min(rss), max(rss)))
            ready = [t - row.import_ms for t in row.ready_ms]
            add("start to ready minus the service's import", statistics.median(ready), "≤ 300 ms",
                lambda v: v <= 300, " ms", (min(ready), max(ready)))
    return rows


def render(opts, results: dict, samples: dict, startup: list, meta: dict) -> str:
    lines = []
    m, v = meta["machine"], meta["versions"]
    lines += [
        f"Run {meta['date']} with `{meta['command']}`: {opts.duration:g} s per measurement "
        f"({max(opts.duration, opts.floats_duration):g} s for the 2 MB body at 32 connections) after a "
        f"{opts.warmup:g} s warm-up, {opts.repeats} interleaved repeat(s), medians shown; took {meta['elapsed']}.",
        "",
        f"Machine: {m['nproc']} × {m['cpu']}, {m['memory_gib']} GiB, Linux {m['kernel']}, Debian {m['debian']}; "
        f"load average at start {' '.join(m['loadavg_at_start'])}. Server on CPU {SERVER_CPU}, wrk on CPU "
        f"{LOAD_CPU} (`taskset`).",
        "",
        f"Software: mvi-runtime {v['mvi-runtime']} (`{opts.bin_display}` built {opts.bin_mtime}, {v['build_type']}, "
        f"{meta['mvi_args']}); "
        f"Python {v['python']}; FastAPI {v['fastapi']}, Starlette {v['starlette']}, pydantic {v['pydantic']}, "
        f"uvicorn {v['uvicorn']} with `--loop {opts.loop_http[0]} --http {opts.loop_http[1]}` "
        f"(uvloop {v['uvloop'] or 'not installed'}, httptools {v['httptools'] or 'not installed'}); "
        f"numpy {v['numpy']}; wrk {v['wrk']}.",
        "",
        "| workload | conns | server | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | req/s spread | wrk CPU | "
        "errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    noisy = []
    for workload in WORKLOAD_TITLES:
        for conns in opts.conns:
            for cfg in CONFIGS:
                res = results.get((cfg.key, conns))
                if cfg.workload != workload or res is None:
                    continue
                lines.append(f"| {WORKLOAD_TITLES[workload]} | {conns} | {cfg.server} | {fmt_num(res['rps'])} | "
                             f"{fmt_num(res['p50_ms'])} | {fmt_num(res['p99_ms'])} | {fmt_num(res['cpu_us'])} | "
                             f"{res['peak_rss_mib']:.1f} | {res['spread_pct']:.0f} % | {res['wrk_pct']:.0f} % | "
                             f"{res['errors']} |")
                if res["foreign_pct"] > 10:
                    noisy.append(f"{cfg.key}@{conns} ({res['foreign_pct']:.0f} %)")
    lines.append("")
    if noisy:
        lines += ["Other processes used more than 10 % of a core during: " + ", ".join(noisy)
                  + " — those numbers are less reliable.", ""]
    else:
        lines += ["Other processes used less than 10 % of a core during every measurement.", ""]
    if startup:
        lines += ["| server | idle RSS MiB | start → ready ms | service import ms | start → ready − import ms |",
                  "|---|---:|---:|---:|---:|"]
        for row in startup:
            ready = statistics.median(row.ready_ms)
            lines.append(f"| {row.label} | {statistics.median(row.idle_rss_kib) / 1024:.1f} | {ready:.0f} | "
                         f"{row.import_ms:.0f} | {ready - row.import_ms:.0f} |")
        lines.append("")
    rows = targets(results, samples, startup)
    if rows:
        lines += ["Targets (ratios: the median of the per-repeat ratios; range: over the repeats):", "",
                  "| target | measured | range | goal | |", "|---|---:|---:|---:|---|"]
        lines += [f"| {name} | {value} | {rng} | {goal} | {met} |" for name, value, rng, goal, met in rows]
        lines.append("")
    return "\n".join(lines)


def write_out(path: Path, text: str) -> None:
    block = f"{RESULTS_BEGIN}\n\n{text}\n{RESULTS_END}"
    if path.exists():
        doc = path.read_text()
        if RESULTS_BEGIN in doc and RESULTS_END in doc:
            head, rest = doc.split(RESULTS_BEGIN, 1)
            doc = head + block + rest.split(RESULTS_END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    else:
        doc = ("# Performance\n\nMethod: bench/README.md. Reproduce: `/usr/bin/python3 bench/run.py --out "
               f"{path}`.\n\n## Results\n\n{block}\n")
    path.write_text(doc)


# ------------------------------------------------------------------------------------------------------------
# Modes


def check_tools() -> None:
    """Fail (never skip) with a clear message when a peer or the load generator is missing."""
    missing = []
    if not shutil.which("wrk"):
        missing.append("wrk (apt-get install wrk)")
    probe = subprocess.run([PYTHON, "-c", "import fastapi, uvicorn"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        missing.append("FastAPI/uvicorn for /usr/bin/python3 (apt-get install python3-fastapi python3-uvicorn): "
                       + (probe.stderr.strip().splitlines() or ["?"])[-1])
    if missing:
        raise BenchError("missing benchmark dependencies (scripts/setup.sh installs them):\n  - "
                         + "\n  - ".join(missing))


def smoke(opts, payloads: Payloads, logdir: Path) -> None:
    """Both servers answer every workload correctly and identically, and wrk's output still parses."""
    answers = {}
    started = time.monotonic()
    fastapi = Server(opts, "fastapi", None, logdir)
    mvi_servers = {}
    try:
        fastapi.start()
        for cfg in CONFIGS:
            if cfg.kind == "mvi" and cfg.service not in mvi_servers:
                mvi_servers[cfg.service] = Server(opts, "mvi", cfg.service, logdir).start()
        for cfg in CONFIGS:
            server = fastapi if cfg.kind == "fastapi" else mvi_servers[cfg.service]
            for _ in range(3):
                answers[cfg.key] = check_answer(server.port, cfg, payloads)
            print(f"ok   {cfg.key:22} {cfg.path:14} -> {str(answers[cfg.key])[:60]}", flush=True)
        for workload in ("hello", "floats", "nested"):
            keys = [c.key for c in CONFIGS if c.workload == workload]
            first = answers[keys[0]]
            for key in keys[1:]:
                if not answers_match(first, answers[key]):
                    raise BenchError(f"{workload}: {keys[0]} answered {first!r} but {key} answered {answers[key]!r}")
        for cfg, server in ((CONFIGS[0], mvi_servers["mvi_hello"]), (CONFIGS[2], fastapi)):
            result, _ = run_wrk(server.port, cfg, payloads, 2, 1)
            if result["requests"] <= 0 or result["errors"]:
                raise BenchError(f"wrk against {cfg.key}: {result}")
            print(f"ok   wrk {cfg.key:18} {result['rps']:,.0f} req/s, p99 {result['p99_ms']:.2f} ms", flush=True)
        print(f"smoke: both servers answered every workload correctly ({time.monotonic() - started:.1f} s)")
    finally:
        for server in [fastapi, *mvi_servers.values()]:
            server.stop()


def benchmark(opts, payloads: Payloads, logdir: Path) -> None:
    started = time.monotonic()
    configs = [c for c in CONFIGS if not opts.only or any(o in c.key for o in opts.only)]
    if not configs:
        raise BenchError(f"--only {opts.only} matches none of: {', '.join(c.key for c in CONFIGS)}")
    meta = {"machine": machine_info(), "versions": versions(opts),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["/usr/bin/python3", "bench/run.py", *sys.argv[1:]]),
            "mvi_args": ("extra arguments " + " ".join(opts.mvi_arg)) if opts.mvi_arg else
            "default settings: validation on, access log on (--log-level info)"}
    samples = {}
    total = len(configs) * len(opts.conns) * opts.repeats
    done = 0
    for rep in range(opts.repeats):  # interleaved: every configuration once per repeat
        for conns in opts.conns:
            for cfg in configs:
                done += 1
                s = measure(opts, cfg, conns, payloads, logdir)
                samples.setdefault((cfg.key, conns), []).append(s)
                print(f"[{done}/{total}] rep {rep + 1} {cfg.key:22} c={conns:<3} {s.rps:>10,.0f} req/s  "
                      f"p50 {s.p50_ms:7.2f} ms  p99 {s.p99_ms:7.2f} ms  {s.cpu_us:8.1f} µs/req  "
                      f"peak {s.peak_rss_kib / 1024:6.1f} MiB  err {s.errors}  wrk {s.wrk_pct:3.0f} %  other {s.foreign_pct:4.0f} %",
                      flush=True)
    startup = measure_startup(opts, payloads, logdir, repeats=max(3, opts.repeats)) if opts.startup else []
    results = {key: median_sample(v) for key, v in samples.items()}
    elapsed = time.monotonic() - started
    meta["elapsed"] = f"{elapsed / 60:.1f} min"
    text = render(opts, results, samples, startup, meta)
    if opts.json:
        raw = {"meta": meta, "samples": [{"config": key, "conns": conns, "repeat": i + 1, **vars(x)}
                                         for (key, conns), xs in samples.items() for i, x in enumerate(xs)],
               "startup": [vars(row) for row in startup]}
        opts.json.write_text(json.dumps(raw, indent=1))
    print()
    print(text)
    if opts.out:
        write_out(opts.out, text)
        print(f"written to {opts.out}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 s per measurement, 1 repeat (about 2 minutes)")
    p.add_argument("--duration", type=float, help="seconds per measurement (default 5, --quick 2)")
    p.add_argument("--floats-duration", type=float, metavar="S",
                   help="seconds per measurement of the 2 MB workload at more than 1 connection (default 12, "
                        "--quick 8)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load before each measurement")
    p.add_argument("--repeats", type=int, help="interleaved repeats per configuration (default 3, --quick 1)")
    p.add_argument("--out", type=Path, help="write the results into this markdown file (between its markers)")
    p.add_argument("--json", type=Path, help="also write every raw sample to this JSON file")
    p.add_argument("--smoke", action="store_true", help="CI check: both servers answer correctly; no numbers")
    p.add_argument("--bin", type=Path, help="mvi-runtime binary (default $MVI_RUNTIME_BIN, else build/mvi-runtime)")
    p.add_argument("--only", action="append", default=[], metavar="SUBSTR",
                   help="only configurations whose key contains SUBSTR (repeatable): "
                        + ", ".join(c.key for c in CONFIGS))
    p.add_argument("--conns", type=int, action="append", help="connection counts (repeatable; default 1 and 32)")
    p.add_argument("--mvi-arg", action="append", default=[], metavar="ARG",
                   help="extra mvi-runtime argument (repeatable), e.g. --mvi-arg=--log-level=warning")
    p.add_argument("--no-startup", dest="startup", action="store_false", help="skip start-up time and idle RSS")
    p.add_argument("--max-other-load", type=float, default=25.0, metavar="PCT",
                   help="before each measurement, wait while other processes use more than PCT %% of a core")
    p.add_argument("--max-wait", type=float, metavar="S",
                   help="longest wait for a quiet machine before a measurement, then measure and flag it (default 120, "
                        "--quick 20)")
    p.add_argument("--keep-logs", action="store_true", help="keep the servers' logs in the temporary folder")
    opts = p.parse_args(argv)
    opts.duration = opts.duration or (2.0 if opts.quick else 5.0)
    opts.floats_duration = opts.floats_duration or (8.0 if opts.quick else 12.0)
    opts.max_wait = opts.max_wait if opts.max_wait is not None else (20.0 if opts.quick else 120.0)
    opts.repeats = opts.repeats or (1 if opts.quick else 3)
    opts.conns = opts.conns or list(CONNECTIONS)
    if opts.duration < 1 or opts.repeats < 1 or opts.warmup < 0:
        p.error("--duration must be ≥ 1, --repeats ≥ 1, --warmup ≥ 0")
    default_bin = os.environ.get("MVI_RUNTIME_BIN") or str(REPO / "build" / "mvi-runtime")
    opts.bin = (opts.bin or Path(default_bin)).resolve()
    opts.bin_original = opts.bin
    opts.bin_mtime = "?"
    try:
        opts.bin_display = str(opts.bin.relative_to(REPO))
    except ValueError:
        opts.bin_display = str(opts.bin)
    if opts.out and not opts.out.is_absolute():
        opts.out = (Path.cwd() / opts.out).resolve()
    return opts


def main(argv=None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    if os.cpu_count() >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {LOAD_CPU})  # this driver stays off the server's core
    elif not opts.smoke:
        print("WARNING: fewer than 2 CPUs: server and load generator share one", file=sys.stderr)
    try:
        check_tools()
        wait_for_binary(opts.bin)
        opts.loop_http = fastapi_loop_http()
        with tempfile.TemporaryDirectory(prefix="mvi-bench-") as tmp:
            tmp = Path(tmp)
            payloads = Payloads(tmp)
            if opts.smoke:
                smoke(opts, payloads, tmp)
            else:
                snapshot_runtime(opts, tmp)
                benchmark(opts, payloads, tmp)
                if opts.keep_logs:
                    kept = Path(tempfile.mkdtemp(prefix="mvi-bench-logs-"))
                    for log in tmp.glob("*.log"):
                        shutil.move(str(log), kept / log.name)
                    print(f"server logs kept in {kept}")
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
