#!/usr/bin/env bash
# Slow-client attacks with Debian's slowhttptest against the real binary on 127.0.0.1 (SPEC §8: header and body
# deadlines). For each of slow headers (-H, "Slowloris") and slow body (-B, "R-U-Dead-Yet") it checks that
#   - the attack really held its connections open (most of them connected at once),
#   - none was closed before the configured deadline, and every one was closed by the deadline plus slack,
#   - /health/live answered throughout (our own prober on fresh connections, plus slowhttptest's probe),
#   - the same server process is still there afterwards and stops cleanly (exit 0).
#
#   tests/slowhttp/run.sh            short variant (~15 s; ctest "slowhttp"): 100 connections, 5 s deadlines
#   tests/slowhttp/run.sh --long     manual variant (~45 s): 500 connections, the default 10 s header deadline,
#                                    a 20 s body deadline, 60 s attack windows
# Environment: MVI_RUNTIME_BIN (default <repo>/build/mvi-runtime), MVI_SLOWHTTP_KEEP=1 keeps the work folder
# (server log, slowhttptest CSV/HTML reports). Only 127.0.0.1 is ever contacted; every step is bounded in time.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${MVI_RUNTIME_BIN:-$REPO/build/mvi-runtime}"
SERVICE="$REPO/tests/e2e/services/hardening_basic/service.py"

if [ "${1:-}" = "--long" ]; then
  MODE=long CONNS=500 RATE=100 INTERVAL=2 LENGTH=60 HEADER_DEADLINE=10 BODY_DEADLINE=20
else
  MODE=short CONNS=100 RATE=100 INTERVAL=1 LENGTH=15 HEADER_DEADLINE=5 BODY_DEADLINE=5
fi
SLACK=2  # seconds: slowhttptest samples once a second

command -v slowhttptest >/dev/null || { echo "slowhttp: slowhttptest not found; run scripts/setup.sh" >&2; exit 1; }
[ -x "$BIN" ] || { echo "slowhttp: no runtime binary at $BIN (set MVI_RUNTIME_BIN)" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mvi-slowhttp.XXXXXX")"
SERVER_PID="" PROBE_PID=""
cleanup() {
  [ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null || true
  if [ "${MVI_SLOWHTTP_KEEP:-0}" = 1 ]; then echo "slowhttp: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ulimit -n 4096 2>/dev/null || true
PYTHONPATH="$REPO/python" PYTHONDONTWRITEBYTECODE=1 "$BIN" --host 127.0.0.1 --port 0 --drain-delay 0 \
  --header-timeout "$HEADER_DEADLINE" --body-timeout "$BODY_DEADLINE" "$SERVICE" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 200); do
  PORT="$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "slowhttp: the server did not start"; cat "$WORK/server.log"; exit 1; }
echo "slowhttp ($MODE): server pid $SERVER_PID on 127.0.0.1:$PORT, header deadline ${HEADER_DEADLINE} s, body deadline ${BODY_DEADLINE} s"

# Our own liveness prober: GET /health/live on a fresh connection every 0.25 s, 1 s budget each.
python3 - "$PORT" "$WORK" <<'PY' &
import os, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
ok = bad = 0
worst = 0.0
failures = []
while not os.path.exists(os.path.join(work, "stop")):
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /health/live HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        if data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'{"status":"alive"}'):
            ok += 1
        else:
            bad += 1
            failures.append(repr(data[:80]))
    except OSError as exc:
        bad += 1
        failures.append(repr(exc))
    worst = max(worst, time.monotonic() - started)
    time.sleep(0.25)
with open(os.path.join(work, "probe.txt"), "w") as f:
    f.write(f"{ok} {bad} {worst:.3f}\n" + "\n".join(failures[:5]) + "\n")
PY
PROBE_PID=$!

attack() {  # attack NAME FLAG URL DEADLINE
  local name=$1 flag=$2 url=$3 deadline=$4
  echo "slowhttp: $name: $CONNS connections at $RATE/s, follow-up data every ${INTERVAL} s, at most ${LENGTH} s"
  timeout $((LENGTH + 30)) slowhttptest "$flag" -c "$CONNS" -r "$RATE" -i "$INTERVAL" -l "$LENGTH" -p 2 -x 16 -s 8192 \
    -u "$url" -g -o "$WORK/$name" >"$WORK/$name.out" 2>&1 || {
      echo "slowhttp: $name: slowhttptest failed"; tail -n 20 "$WORK/$name.out"; return 1; }
  python3 - "$WORK/$name.csv" "$name" "$CONNS" "$RATE" "$deadline" "$SLACK" "$LENGTH" <<'PY'
import csv, math, sys
path, name, conns, rate, deadline, slack, length = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
rows = [r for r in csv.reader(open(path)) if r and r[0].strip().isdigit()]
rows = [dict(zip(("t", "closed", "pending", "connected", "available"), map(int, r[:5]))) for r in rows]
problems = []
if not rows:
    problems.append("no statistics were recorded")
else:
    peak = max(r["connected"] for r in rows)
    if peak < 0.8 * conns:
        problems.append(f"only {peak} of {int(conns)} connections were open at once: the attack did not take hold")
    early = [r for r in rows if r["t"] < deadline - 1 and r["closed"] > 0]
    if early:
        problems.append(f"connections closed before the {deadline:g} s deadline: {early[0]}")
    ramp = math.ceil(conns / rate)
    limit = ramp + deadline + slack
    late = [r for r in rows if r["t"] > limit and r["connected"] + r["pending"] > 0]
    if late:
        problems.append(f"connections still open after {limit:g} s (ramp {ramp} s + deadline {deadline:g} s + slack): {late[0]}")
    # slowhttptest stops early, with this line, once the server has closed every connection.
    out = open(path[: -len(".csv")] + ".out", errors="replace").read()
    if "No open connections left" not in out:
        problems.append(f"connections were still open when the {length:g} s attack window ended")
    down = [r for r in rows if r["available"] <= 0]
    if down:
        problems.append(f"slowhttptest's probe found the service unavailable at {down[0]['t']} s")
first = next((r["t"] for r in rows if r["closed"] > 0), None)
print(f"slowhttp: {name}: peak {max((r['connected'] for r in rows), default=0)} open; first closes at {first} s, "
      f"attack over at {rows[-1]['t'] if rows else '?'} s (deadline {deadline:g} s)")
for p in problems:
    print(f"slowhttp: {name}: FAIL: {p}")
sys.exit(1 if problems else 0)
PY
}

status=0
attack slow_headers -H "http://127.0.0.1:$PORT/health/live" "$HEADER_DEADLINE" || status=1
attack slow_body -B "http://127.0.0.1:$PORT/echo" "$BODY_DEADLINE" || status=1

touch "$WORK/stop"
wait "$PROBE_PID" || true
PROBE_PID=""
read -r ok bad worst < <(head -n1 "$WORK/probe.txt")
echo "slowhttp: /health/live answered $ok times, failed $bad times, slowest ${worst} s"
if [ "$bad" -ne 0 ] || [ "$ok" -lt 10 ]; then
  echo "slowhttp: FAIL: /health/live did not answer throughout"; tail -n +2 "$WORK/probe.txt"; status=1
fi

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "slowhttp: FAIL: the server process $SERVER_PID is gone"; cat "$WORK/server.log"; status=1
else
  kill -TERM "$SERVER_PID"
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "slowhttp: FAIL: the server did not stop within 10 s of SIGTERM"; status=1
  else
    wait "$SERVER_PID" && code=0 || code=$?
    [ "$code" -eq 0 ] || { echo "slowhttp: FAIL: the server exited with $code after SIGTERM"; status=1; }
  fi
  SERVER_PID=""
fi

if [ "$status" -eq 0 ]; then echo "slowhttp: 2 passed, 0 failed"; else echo "slowhttp: FAILED"; cat "$WORK/server.log" | tail -n 20; fi
exit "$status"
