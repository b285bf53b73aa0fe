#!/usr/bin/env python3
"""scim2-tester (the SCIM compliance checker, PyPI) against `fdsync run` with `[scim]` and the
simulator (`fdsync sim`): every check that applies to what ServiceProviderConfig advertises must
pass. Usage: tests/scim/check.py [FDSYNC_BINARY [TAGS]] (default target/debug/fdsync, every
tag; TAGS a comma-separated list such as discovery,misc,crud:create). Needs
`pip install scim2-tester "scim2-client[httpx2]"` (.ci/run installs them). Exit 0 when every
check passed or was skipped by the tester itself, 1 otherwise (each failure is printed)."""

import os
import socket
import subprocess
import sys
import tempfile
import time

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

TOKEN = "scim2-tester-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc, log, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"exited early:\n{open(log).read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"not listening on {port}:\n{open(log).read()}")


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/fdsync")
    with tempfile.TemporaryDirectory() as tmp:
        sim_port, scim_port = free_port(), free_port()
        sim_log, run_log = os.path.join(tmp, "sim.log"), os.path.join(tmp, "run.log")
        sim = subprocess.Popen(
            [binary, "sim", "--listen", f"127.0.0.1:{sim_port}", "--rate", "100000", "--api-key", "k"],
            stdout=open(sim_log, "w"), stderr=subprocess.STDOUT)
        run = None
        try:
            wait_for(sim_port, sim, sim_log)
            token = os.path.join(tmp, "scim_token")
            with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(TOKEN)
            config = os.path.join(tmp, "fdsync.toml")
            with open(os.open(config, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(f"""[freshdesk]
base_url = "http://127.0.0.1:{sim_port}"
[auth]
api_key = "k"
[state]
dir = "{tmp}/state"
[safety]
max_deletes_percent = 0
protected_roles = []
[scim]
listen = "127.0.0.1:{scim_port}"
token_file = "{token}"
""")
            env = dict(os.environ, RUST_LOG="info")
            env.pop("FDSYNC_API_KEY", None)
            run = subprocess.Popen([binary, "--config", config, "run"], stdout=subprocess.DEVNULL,
                                   stderr=open(run_log, "w"), env=env)
            wait_for(scim_port, run, run_log)
            http = Client(base_url=f"http://127.0.0.1:{scim_port}/scim/v2",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            tags = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
            results = check_server(SyncSCIMClient(http), include_tags=tags)
            failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
            for r in results:
                print(f"{r.status.name:8} {r.title}" + (f": {r.reason}" if r.reason else ""))
            print(f"scim2-tester: {len(results)} checks, {len(failed)} failed")
            if failed:
                print(open(run_log).read()[-4000:], file=sys.stderr)
            return 1 if failed else 0
        finally:
            for p in (run, sim):
                if p is not None:
                    p.terminate()
                    p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
