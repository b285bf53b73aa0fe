#!/usr/bin/env python3
"""Soak benchmark of `fdsync run` (issue 19, item 4): the daemon as deployed, idle most of the
time, with a file every INTERVAL seconds from two producers, alternating, for MINUTES.

    benches/soak.py [--minutes 10] [--interval 30] [--binary target/release/fdsync]

It starts `fdsync sim` (the same binary) as Freshdesk and `fdsync run` with two inboxes
(create_ticket), both on /dev/shm (tmpfs) while the state folder is not: every claim is a copy
across filesystems, as under the packaged unit. As root, the daemon and the two producers are
real, separate accounts (made for the run, deleted after; producers in one group, umask 0027,
inboxes 3770 like the package's); otherwise everything runs as the current user.

Once a second it reads the daemon's /proc/PID/stat (CPU ticks), /proc/PID/status (VmRSS,
Threads) and /proc/PID/fd (open descriptors). It reports:
  - CPU at rest: per interval, over its last 15 s (at most half of it; the file before it long
    done), as a share
    of one core: median and max;
  - RSS, open fds and threads: after the first file (warm) against the end, and the bounds;
  - that every file was imported (tickets in the simulator).
It exits 1 when a bound is broken: CPU at rest median > 0.5 %, fds or threads at the end not
within 2 of the start, RSS at the end more than 10 MiB over the start, or a file not imported.
Nothing here touches the network beyond 127.0.0.1.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
ROWS = 5
REST_WINDOW = 15.0
MAX_REST_CPU_PERCENT = 0.5
MAX_FD_DRIFT = 2
MAX_THREAD_DRIFT = 2
MAX_RSS_GROWTH_KIB = 10 * 1024
DAEMON_USER, PRODUCERS, GROUP = "fdsync-soak", ("fdsync-soak-a", "fdsync-soak-b"), "fdsync-soak-drop"


def sample(pid):
    """(monotonic time, cpu ticks, rss KiB, open fds, threads) of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return time.monotonic(), ticks, rss, fds, threads


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim_tickets(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/state", timeout=5) as r:
        return len(json.load(r)["tickets"])


def wait_for(seconds, check):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def run(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


class Accounts:
    """The run's accounts when root (else none): made here, deleted by `remove`."""

    def __init__(self, as_root):
        self.as_root = as_root
        if as_root:
            for name in (DAEMON_USER, *PRODUCERS):
                if subprocess.run(["getent", "passwd", name], capture_output=True).returncode == 0:
                    sys.exit(f"soak: user {name} exists already (left by an earlier run?)")
            run(["groupadd", GROUP])
            for name in (DAEMON_USER, *PRODUCERS):
                run(["useradd", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                     "--shell", "/usr/sbin/nologin", "--groups", GROUP, name])

    def prefix(self, user, umask):
        """The command prefix that runs as `user` (nothing when not root)."""
        if not self.as_root:
            return ["sh", "-c", f'umask {umask}; exec "$@"', "sh"]
        groups = ["--init-groups"]
        return ["setpriv", "--reuid", user, "--regid", user, *groups,
                "sh", "-c", f'umask {umask}; exec "$@"', "sh"]

    def remove(self):
        if self.as_root:
            for name in (DAEMON_USER, *PRODUCERS):
                subprocess.run(["userdel", name], capture_output=True)
            subprocess.run(["groupdel", GROUP], capture_output=True)


def tickets_csv(n, producer):
    rows = [f"{producer}@soak.example,Soak {producer} file {n} row {r},soak,Low,Open" for r in range(ROWS)]
    return "email,subject,description,priority,status\n" + "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between files")
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "fdsync"))
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"soak: no binary at {binary} (cargo build --release --bin fdsync)")

    as_root = os.geteuid() == 0
    accounts = Accounts(as_root)
    spool = tempfile.mkdtemp(prefix="fdsync-soak-", dir="/dev/shm")
    work = tempfile.mkdtemp(prefix="fdsync-soak-")
    procs = []
    try:
        return soak(args, binary, accounts, spool, work, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        accounts.remove()
        shutil.rmtree(spool, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def soak(args, binary, accounts, spool, work, procs):
    inboxes = [os.path.join(spool, name) for name in ("noc", "app")]
    state = os.path.join(work, "state")
    os.chmod(work, 0o755)
    os.chmod(spool, 0o755)
    for d in inboxes:
        os.mkdir(d)
        if accounts.as_root:
            shutil.chown(d, DAEMON_USER, GROUP)
            os.chmod(d, 0o3770)
    if accounts.as_root:
        os.mkdir(state, 0o700)
        shutil.chown(state, DAEMON_USER, DAEMON_USER)
    assert os.stat(spool).st_dev != os.stat(work).st_dev, "inboxes and state on one filesystem"

    port, key = free_port(), "soak-key"
    sim_log = open(os.path.join(work, "sim.log"), "w")
    procs.append(subprocess.Popen([binary, "sim", "--listen", f"127.0.0.1:{port}", "--api-key", key],
                                  stdout=sim_log, stderr=subprocess.STDOUT))
    if not wait_for(20, lambda: _up(port)):
        sys.exit("soak: the simulator did not start")

    config = os.path.join(work, "fdsync.toml")
    inbox_toml = "".join(f'[[inbox]]\ndir = "{d}"\naction = "create_ticket"\n' for d in inboxes)
    with open(config, "w") as f:
        f.write(f'[freshdesk]\nbase_url = "http://127.0.0.1:{port}"\n\n[state]\ndir = "{state}"\n\n{inbox_toml}')
    os.chmod(config, 0o644)
    log_path = os.path.join(work, "daemon.log")
    daemon_log = open(log_path, "w")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "RUST_LOG": "info", "FDSYNC_API_KEY": key, "NO_COLOR": "1"}
    daemon = subprocess.Popen(accounts.prefix(DAEMON_USER, "0077") + [binary, "--config", config, "run"],
                              stdout=daemon_log, stderr=subprocess.STDOUT, env=env, cwd="/")
    procs.insert(0, daemon)
    if not wait_for(30, lambda: "fdsync run is ready" in open(log_path).read()):
        sys.exit("soak: the daemon did not get ready:\n" + open(log_path).read()[-3000:])

    ready = sample(daemon.pid)
    samples = [ready]
    drops = []  # (monotonic time of the drop)
    files = max(1, int(args.minutes * 60 / args.interval))
    start = time.monotonic()
    next_sample = start
    for n in range(files):
        drop_at = start + n * args.interval
        while time.monotonic() < drop_at:
            if time.monotonic() >= next_sample:
                samples.append(sample(daemon.pid))
                next_sample += 1.0
            time.sleep(0.05)
        producer, inbox = PRODUCERS[n % 2], inboxes[n % 2]
        name = f"soak-{n:03}.csv"
        tmp = os.path.join(inbox, f".{name}.part")
        subprocess.run(accounts.prefix(producer, "0027") + ["sh", "-c", 'cat >"$1" && mv "$1" "$2"', "sh", tmp,
                                                            os.path.join(inbox, name)],
                       input=tickets_csv(n, producer).encode(), check=True)
        drops.append(time.monotonic())
    end_at = start + files * args.interval
    while time.monotonic() < end_at:
        if time.monotonic() >= next_sample:
            samples.append(sample(daemon.pid))
            next_sample += 1.0
        time.sleep(0.05)
    samples.append(sample(daemon.pid))
    imported = sim_tickets(port)
    return report(args, files, ready, samples, drops, end_at, imported, log_path)


def _up(port):
    try:
        sim_tickets(port)
        return True
    except OSError:
        return False


def at(samples, t):
    """The last sample taken at or before monotonic time t."""
    best = samples[0]
    for s in samples:
        if s[0] <= t:
            best = s
    return best


def report(args, files, ready, samples, drops, end_at, imported, log_path):
    rest = []
    window = min(REST_WINDOW, args.interval / 2)
    bounds = drops[1:] + [end_at]
    for b in bounds:
        a, z = at(samples, b - window), at(samples, b - 0.01)
        if z[0] > a[0]:
            rest.append(100.0 * (z[1] - a[1]) / HZ / (z[0] - a[0]))
    warm = at(samples, bounds[0] - 0.01)  # after the first file, before the second
    last = samples[-1]
    total_cpu = 100.0 * (last[1] - ready[1]) / HZ / (last[0] - ready[0])
    print(f"soak: {files} files of {ROWS} rows, one every {args.interval:g} s from two producers, "
          f"{(last[0] - ready[0]) / 60:.1f} min, binary {args.binary}")
    print(f"soak: CPU at rest (last {window:g} s of each interval, % of one core): "
          f"median {statistics.median(rest):.2f}, max {max(rest):.2f}, over {len(rest)} intervals")
    print(f"soak: CPU over the whole run (files included): {total_cpu:.2f} % of one core")
    print("soak:            ready    after file 1    end")
    print(f"soak: RSS KiB    {ready[2]:>7}  {warm[2]:>12}  {last[2]:>7}")
    print(f"soak: open fds   {ready[3]:>7}  {warm[3]:>12}  {last[3]:>7}")
    print(f"soak: threads    {ready[4]:>7}  {warm[4]:>12}  {last[4]:>7}")
    print(f"soak: tickets in the simulator: {imported} (expected {files * ROWS})")
    problems = []
    if statistics.median(rest) > MAX_REST_CPU_PERCENT:
        problems.append(f"CPU at rest median {statistics.median(rest):.2f} % > {MAX_REST_CPU_PERCENT} %")
    if abs(last[3] - warm[3]) > MAX_FD_DRIFT:
        problems.append(f"open fds {warm[3]} -> {last[3]}")
    if abs(last[4] - warm[4]) > MAX_THREAD_DRIFT:
        problems.append(f"threads {warm[4]} -> {last[4]}")
    if last[2] - warm[2] > MAX_RSS_GROWTH_KIB:
        problems.append(f"RSS {warm[2]} -> {last[2]} KiB")
    if imported != files * ROWS:
        problems.append(f"{imported} tickets imported, not {files * ROWS}")
    errors = [line for line in open(log_path) if "ERROR" in line or "WARN" in line]
    if errors:
        print(f"soak: {len(errors)} warnings/errors in the daemon's log, first: {errors[0].strip()[:300]}")
    if problems:
        print("soak: FAIL: " + "; ".join(problems))
        return 1
    print("soak: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
