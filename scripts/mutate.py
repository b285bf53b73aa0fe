#!/usr/bin/env python3
"""Run TESTING.md's mutations: each entry of tests/mutations.toml replaces one snippet in one
file, runs the named test, which must FAIL, and puts the file back.

    scripts/mutate.py --list            # the ids
    scripts/mutate.py ID [ID ...]       # these mutations, one after the other
    scripts/mutate.py --all             # every mutation (a long run: one rebuild each)
    scripts/mutate.py --check           # only that every `find` occurs exactly once

An entry: id, file, find (must occur exactly once in file), replace, test (the arguments of
`cargo test`, e.g. "--test it promises::an_undo"), failure (text of the failure seen when it was
last run), optionally timeout (seconds, default 900). The file is restored in every case (a
finally block, SIGINT/SIGTERM/SIGHUP, and a copy in $CARGO_TARGET_DIR/mutations/applied/ that
the next run restores first if this one was killed with -9). Each run's output goes to
$CARGO_TARGET_DIR/mutations/ID.log, the summary to results.tsv beside it.

Results: CAUGHT (the build passed and the test failed), SURVIVED (the test passed: a finding),
NO TEST (the filter matched nothing), BUILD FAILED (the mutation does not compile: fix the
entry), TIMEOUT (the test ran past its timeout: counted as caught only by a human reading the log).
"""
import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutations.toml")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
OUT = os.path.join(TARGET, "mutations")
SAVED = os.path.join(OUT, "applied")


def load():
    with open(LIST, "rb") as f:
        entries = tomllib.load(f)["mutation"]
    ids = [e["id"] for e in entries]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        sys.exit(f"mutate: duplicate ids: {sorted(dup)}")
    return entries


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def write(path, data):
    with open(os.path.join(ROOT, path), "wb") as f:
        f.write(data)


def check(e):
    """The number of times the entry's snippet occurs in its file (1 is the only good answer)."""
    try:
        return read(e["file"]).count(e["find"].encode())
    except FileNotFoundError:
        return -1


def restore_leftover():
    """A run killed with -9 leaves its copy here: put it back before anything else."""
    if not os.path.isdir(SAVED):
        return
    for name in os.listdir(SAVED):
        with open(os.path.join(SAVED, name)) as f:
            meta = json.load(f)
        write(meta["file"], bytes.fromhex(meta["original"]))
        os.remove(os.path.join(SAVED, name))
        print(f"mutate: restored {meta['file']} left mutated by an interrupted run ({meta['id']})")


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def cargo(args, log, timeout):
    """Runs `cargo test ARGS` in its own process group, its output streamed into `log`; (exit
    code or None on timeout, that output)."""
    log.flush()
    start = os.lseek(log.fileno(), 0, os.SEEK_CUR)
    p = subprocess.Popen(["cargo", "test", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        rc = p.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, Interrupted) as why:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        if isinstance(why, Interrupted):
            raise
        rc = None
    os.lseek(log.fileno(), 0, os.SEEK_END)
    with open(log.name, errors="replace") as f:
        f.seek(start)
        return rc, f.read()


def first_failure(text):
    """The first panic: its place and message (the lines after `panicked at PLACE:`, up to 200
    characters), else a failed-test line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if " panicked at " in line:
            place = line.split(" panicked at ", 1)[1].strip().rstrip(":")
            message = []
            for more in lines[i + 1:i + 6]:
                if more.startswith(("note: ", "stack backtrace:")) or not more.strip():
                    break
                message.append(more.strip())
            return f"{place}: {' / '.join(message)}"[:200]
    for line in lines:
        if line.startswith("test ") and line.endswith("FAILED"):
            return line
    return ""


def tests_ran(text):
    return sum(int(n) + int(m) for n, m in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text))


def run(e):
    os.makedirs(SAVED, exist_ok=True)
    n = check(e)
    if n != 1:
        return "STALE", 0, f"`find` occurs {n} times in {e['file']} (must be once)"
    args = shlex.split(e["test"])
    split = args.index("--") if "--" in args else len(args)
    build_args = args[:split] + ["--no-run"]
    timeout = e.get("timeout", 900)
    original = read(e["file"])
    marker = os.path.join(SAVED, e["id"] + ".json")
    start = time.monotonic()
    with open(os.path.join(OUT, e["id"] + ".log"), "w") as log:
        log.write(f"# {e['id']}: {e['file']}\n# cargo test {e['test']}\n")
        try:
            with open(marker, "w") as f:
                json.dump({"id": e["id"], "file": e["file"], "original": original.hex()}, f)
            write(e["file"], original.replace(e["find"].encode(), e["replace"].encode(), 1))
            rc, text = cargo(build_args, log, timeout)
            if rc != 0:
                errs = [line for line in text.splitlines() if line.startswith("error")]
                return "BUILD FAILED", time.monotonic() - start, (errs or ["?"])[0]
            rc, text = cargo(args, log, timeout)
        finally:
            write(e["file"], original)
            if os.path.exists(marker):
                os.remove(marker)
    took = time.monotonic() - start
    if rc is None:
        return "TIMEOUT", took, f"still running after {timeout} s"
    if tests_ran(text) == 0:
        return "NO TEST", took, "the filter matched no test"
    if rc == 0:
        return "SURVIVED", took, "every test passed"
    return "CAUGHT", took, first_failure(text)


def main():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    entries = load()
    argv = sys.argv[1:]
    if argv == ["--list"]:
        for e in entries:
            print(e["id"])
        return 0
    if argv == ["--check"]:
        bad = [(e["id"], e["file"], check(e)) for e in entries if check(e) != 1]
        for i, f, n in bad:
            print(f"{i}: `find` occurs {n} times in {f}")
        print(f"{len(entries)} mutations, {len(bad)} stale")
        return 1 if bad else 0
    if argv == ["--all"]:
        chosen = entries
    else:
        by_id = {e["id"]: e for e in entries}
        unknown = [a for a in argv if a not in by_id]
        if unknown or not argv:
            sys.exit(f"mutate: unknown ids {unknown}; see --list" if unknown else __doc__)
        chosen = [by_id[a] for a in argv]
    os.makedirs(OUT, exist_ok=True)
    # One run at a time: a second would restore (or mutate) the first one's file under it.
    lock = open(os.path.join(OUT, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("mutate: another run is under way (its lock is $CARGO_TARGET_DIR/mutations/lock)")
    restore_leftover()
    results = []
    try:
        for e in chosen:
            print(f"mutate: {e['id']} ({e['file']}; cargo test {e['test']})", flush=True)
            verdict, took, line = run(e)
            results.append((e, verdict, took, line))
            print(f"mutate: {e['id']}: {verdict} in {took:.0f} s: {line}", flush=True)
            with open(os.path.join(OUT, "results.tsv"), "a") as f:
                f.write("\t".join([time.strftime("%Y-%m-%d %H:%M"), e["id"], verdict, f"{took:.0f}", line]) + "\n")
    except Interrupted as why:
        print(f"mutate: interrupted ({why}); the file was restored")
    print()
    print(f"{'id':<40} {'result':<13} {'s':>5}  first failure")
    for e, verdict, took, line in results:
        print(f"{e['id']:<40} {verdict:<13} {took:>5.0f}  {line}")
    caught = sum(1 for r in results if r[1] == "CAUGHT")
    print(f"\n{len(results)} run, {caught} caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
