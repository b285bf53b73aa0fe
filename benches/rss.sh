#!/usr/bin/env bash
# Peak RSS of `fdsync import` on hostile inputs and hostile answers (issue 9, goal: <= 100 MB each).
#
#   benches/rss.sh            # builds the release binary, then measures
#   FDSYNC_BIN=path benches/rss.sh   # measures an existing binary
#
# Inputs are generated in a temp dir in 1 MiB chunks (200 MB each). fdsync runs against the
# simulator (`fdsync sim --listen 127.0.0.1:0`); every big row is refused at intake, before any
# call, and the one small row after it is sent. Peak RSS is the
# child's ru_maxrss (getrusage RUSAGE_CHILDREN, via python3), cross-checked with VmHWM polled from
# /proc/<pid>/status while it runs. Prints a table; exits 1 if a case is over the goal.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${FDSYNC_BIN:-}" ]]; then
    cargo build --release --quiet --bin fdsync
    FDSYNC_BIN="${CARGO_TARGET_DIR:-target}/release/fdsync"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
exec python3 - "$FDSYNC_BIN" "$work" <<'PY'
import os, resource, subprocess, sys, time

binary, work = sys.argv[1], sys.argv[2]
MIB, SIZE_MIB, GOAL_MB = 1 << 20, 200, 100
sim = subprocess.Popen([binary, "sim", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
banner = sim.stdout.readline().split()  # fdsync-sim listening on URL api_key=KEY
url, key = banner[3], banner[4].split("=", 1)[1]
config = os.path.join(work, "fdsync.toml")
with open(config, "w") as f:
    f.write(f'[freshdesk]\nbase_url = "{url}"\n[auth]\napi_key = "{key}"\n'
            f'[state]\ndir = "{work}/state"\n')
os.chmod(config, 0o600)

def big(name, head, fill, tail):
    path = os.path.join(work, name)
    chunk = fill * MIB
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(SIZE_MIB):
            f.write(chunk)
        f.write(tail)
    return path

TICKET = b"email,subject,description,priority,status\n"
SMALL = b'{"email":"b@example.com","subject":"s","description":"d","priority":1,"status":2}'
cases = [
    ("csv: one 200 MB field", "field.csv", TICKET + b'a@example.com,s,"', b"x",
     b'",low,open\nb@example.com,s,d,low,open\n', "create_ticket"),
    ("csv: 200 MB header line", "header.csv", b"email,", b"h", b"\na@example.com\n", "get_agent"),
    ("ndjson: one 200 MB line", "line.ndjson", b'{"email":"a@example.com","subject":"', b"x",
     b'"}\n' + SMALL + b"\n", "create_ticket"),
    ("json: one 200 MB element", "elem.json", b'[{"email":"a@example.com","subject":"', b"x",
     b'"},' + SMALL + b"]\n", "create_ticket"),
]

def measure(path, action):
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.Popen([binary, "--config", config, "import", path, "--action", action],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"})
    hwm = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as s:
                for line in s:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    out = proc.stdout.read().decode(errors="replace")
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest so far: only trust it when it grew.
    peak_kb = max(hwm, maxrss if maxrss > before else 0)
    return proc.returncode, peak_kb / 1024, time.monotonic() - start, out

# Hostile answers: a local server whose agent lookups answer with big JSON lists.
import http.server, json, threading

AGENT = b'{"id": 7, "contact": {"email": "someone@example.com", "name": "' + b"n" * 900 + b'"}}'

class Answers(http.server.BaseHTTPRequestHandler):
    size = 0
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/api/v2/agents/me"):
            body = b'{"id": 1, "contact": {"email": "owner@example.com"}}'
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            return
        n = max(1, Answers.size // (len(AGENT) + 1))
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(2 + n * (len(AGENT) + 1) - 1)); self.end_headers()
        try:
            self.wfile.write(b"[")
            for i in range(n):
                self.wfile.write((b"," if i else b"") + AGENT)
            self.wfile.write(b"]")
        except (BrokenPipeError, ConnectionResetError):
            pass  # fdsync stops reading past limits.max_answer_bytes

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
threading.Thread(target=server.serve_forever, daemon=True).start()
answers_config = os.path.join(work, "answers.toml")
with open(answers_config, "w") as f:
    f.write(f'[freshdesk]\nbase_url = "http://127.0.0.1:{server.server_address[1]}"\n[auth]\napi_key = "k"\n'
            f'[state]\ndir = "{work}/answers-state"\n[limits]\nmax_attempts = 1\n')
os.chmod(answers_config, 0o600)
answer_cases = [
    ("answer: 5 MB list (parsed)", 5, 1),
    ("answer: three 10 MB lists", 10, 3),
    ("answer: three 50 MB lists", 50, 3),
]

rows, over = [], False
for label, mib, n in answer_cases:
    Answers.size = mib * MIB
    path = os.path.join(work, f"lookups-{mib}.csv")
    with open(path, "w") as f:
        f.write("email\n" + "".join(f"u{i}-{mib}@example.com\n" for i in range(n)))
    saved = config
    config = answers_config
    code, peak_mb, secs, out = measure(path, "get_agent")
    config = saved
    ok = peak_mb <= GOAL_MB
    over |= not ok
    first = next((l for l in out.splitlines() if l.strip()), "")[:90]
    rows.append((label, code, f"{peak_mb:.1f}", f"{secs:.1f}", "ok" if ok else "OVER", first))

for label, name, head, fill, tail, action in cases:
    path = big(name, head, fill, tail)
    code, peak_mb, secs, out = measure(path, action)
    os.remove(path)
    ok = peak_mb <= GOAL_MB
    over |= not ok
    first = next((l for l in out.splitlines() if l.strip()), "")[:90]
    rows.append((label, code, f"{peak_mb:.1f}", f"{secs:.1f}", "ok" if ok else "OVER", first))

sim.terminate()
print(f"{'case':<26} {'exit':>4} {'peak RSS MB':>11} {'secs':>6} {'<=100':>5}  outcome")
for r in rows:
    print(f"{r[0]:<26} {r[1]:>4} {r[2]:>11} {r[3]:>6} {r[4]:>5}  {r[5]}")
sys.exit(1 if over else 0)
PY
