#!/usr/bin/env bash
# Rehearses the packaged layout, the way the unit runs it, on this machine (no systemd needed).
# Called by check-deb.sh after `dpkg -i` and before the purge; needs root and the installed
# package. What it sets up, as fdsync.service would:
#   - /usr/bin/fdsync --config /etc/fdsync/fdsync.toml run, as user fdsync with the unit's
#     SupplementaryGroups= (fdsync-tickets, fdsync-hr), UMask=0077, no capabilities, and the
#     API key in $CREDENTIALS_DIRECTORY/api_key (LoadCredential=). The installed config is used
#     as shipped, except `domain` becomes `base_url` = the simulator.
#   - /var/spool/fdsync on its own tmpfs, its folders made by systemd-tmpfiles from the packaged
#     fdsync.conf: the inboxes and /var/lib/fdsync are on different filesystems, as
#     ProtectSystem=strict makes them, so every claim is a copy across devices.
#   - `fdsync sim` (the installed binary) as Freshdesk, with 40 agents.
# Then two producer accounts, each in its inbox's group only, drop files with umask 0027, and it
# checks: the producers' separation (groups, setgid, sticky), tickets created, the leavers'
# agents deleted (the default guards allow 2 of 40), reports written 0600 by fdsync in
# /var/lib/fdsync/reports, a folder `x.csv` owned by root in an inbox reported without a spin,
# and the daemon's CPU at rest over 10 s <= 2 % of a core. Everything it made is removed at the
# end, pass or fail (the daemon and simulator killed, the tmpfs unmounted, the producers
# deleted); /var/lib/fdsync is left for the purge.
set -euo pipefail

spool=/var/spool/fdsync
state=/var/lib/fdsync
conf=/etc/fdsync/fdsync.toml
creds=/run/credentials/fdsync.service
max_cpu_percent=2
noc=fdsync-rh-noc   # the monitoring job: tickets
noc2=fdsync-rh-noc2 # a second tickets producer, to check the sticky bit
hr=fdsync-rh-hr     # HR: leavers
work=
daemon_pid=
sim_pid=
mounted=

say() { echo "rehearse: $*"; }
show_logs() {
    for log in daemon sim; do
        if [ -n "$work" ] && [ -s "$work/$log.log" ]; then
            echo "rehearse: --- $log log (last 40 lines)" >&2
            tail -n 40 "$work/$log.log" >&2
        fi
    done
}
fail() {
    echo "rehearse: FAIL: $*" >&2
    show_logs
    exit 1
}
cleanup() {
    local rc=$?
    for pid in $daemon_pid $sim_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $daemon_pid $sim_pid; do
        wait "$pid" 2>/dev/null || true
    done
    [ -z "$mounted" ] || umount "$spool" || echo "rehearse: could not unmount $spool" >&2
    for user in $noc $noc2 $hr; do
        if getent passwd "$user" >/dev/null; then userdel "$user" >/dev/null 2>&1 || true; fi
        if getent group "$user" >/dev/null; then groupdel "$user" >/dev/null 2>&1 || true; fi
    done
    rm -rf "$creds"
    [ -z "$work" ] || rm -rf "$work"
    return "$rc"
}
trap cleanup EXIT

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# Runs a command as a producer, with the producer's own groups and umask 0027.
as_producer() {
    local user=$1
    shift
    setpriv --reuid "$user" --regid "$user" --init-groups sh -c 'umask 0027; "$@"' sh "$@"
}

# Drops a file the way the README asks: written under a temporary name, renamed when complete.
drop() {
    local user=$1 dir=$2 name=$3 contents=$4
    as_producer "$user" sh -c 'cat >"$1/.$2.part" && mv "$1/.$2.part" "$1/$2"' sh "$dir" "$name" \
        <"$contents" || fail "$user could not drop $name into $dir"
}

# CPU ticks (user + system) the process has used; the fields after the ")" of /proc/PID/stat.
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# What the simulator holds (its inspection route, no auth).
sim_state() {
    curl -fsS "http://127.0.0.1:$port/_sim/state"
}

[ "$(id -u)" = 0 ] || fail "needs root"
[ -x /usr/bin/fdsync ] || fail "/usr/bin/fdsync is not installed"
for tool in setpriv useradd mount systemd-tmpfiles curl python3; do
    command -v "$tool" >/dev/null || fail "needs $tool"
done
for user in $noc $noc2 $hr; do
    ! getent passwd "$user" >/dev/null || fail "user $user exists already (left by an earlier run?)"
done
work=$(mktemp -d /tmp/fdsync-rehearse.XXXXXX)

# --- The filesystems: inboxes on a tmpfs of their own, made by the packaged tmpfiles.d entry.
mount -t tmpfs -o mode=0755,size=64m fdsync-rehearsal "$spool" || fail "mount -t tmpfs on $spool"
mounted=1
systemd-tmpfiles --create fdsync.conf || fail "systemd-tmpfiles --create fdsync.conf"
install -d -m 0700 -o fdsync -g fdsync "$state" # StateDirectory=fdsync, StateDirectoryMode=0700
[ "$(stat -c %d "$spool/tickets")" != "$(stat -c %d "$state")" ] \
    || fail "$spool/tickets and $state are on one filesystem; the unit puts them apart"
say "inboxes on a tmpfs (device $(stat -c %d "$spool/tickets")), state on device $(stat -c %d "$state")"

# --- The producers: each in one inbox group, nothing else.
useradd --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --groups fdsync-tickets "$noc"
useradd --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --groups fdsync-tickets "$noc2"
useradd --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --groups fdsync-hr "$hr"

# Separation (issue 20, item 8): a producer's file is 0640 in the inbox's group (setgid +
# umask 0027); another producer of the same inbox cannot rename or delete it (sticky); a
# producer cannot write into another inbox.
as_producer "$noc" sh -c 'echo probe >"$1/.probe.part"' sh "$spool/tickets" \
    || fail "$noc cannot write into $spool/tickets"
[ "$(stat -c '%a %U %G' "$spool/tickets/.probe.part")" = "640 $noc fdsync-tickets" ] \
    || fail "a producer's file is '$(stat -c '%a %U %G' "$spool/tickets/.probe.part")', not '640 $noc fdsync-tickets'"
if as_producer "$noc2" mv "$spool/tickets/.probe.part" "$spool/tickets/.stolen.part" 2>/dev/null; then
    fail "$noc2 renamed $noc's upload: $spool/tickets is not sticky"
fi
if as_producer "$noc2" rm -f "$spool/tickets/.probe.part" 2>/dev/null && [ ! -e "$spool/tickets/.probe.part" ]; then
    fail "$noc2 deleted $noc's upload: $spool/tickets is not sticky"
fi
as_producer "$noc" rm "$spool/tickets/.probe.part" || fail "$noc cannot delete their own upload"
if as_producer "$noc" sh -c 'echo x >"$1/.x.part"' sh "$spool/offboarding" 2>/dev/null; then
    fail "$noc (fdsync-tickets) could write into $spool/offboarding"
fi
if as_producer "$hr" sh -c 'echo x >"$1/.x.part"' sh "$spool/tickets" 2>/dev/null; then
    fail "$hr (fdsync-hr) could write into $spool/tickets"
fi
say "producers: files 640 in the inbox group, sticky inboxes, each producer kept to its inbox"

# --- Freshdesk: the simulator (the installed binary), as nobody.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="rehearsal-key-$RANDOM$RANDOM"
setpriv --reuid nobody --regid nogroup --clear-groups \
    /usr/bin/fdsync sim --listen "127.0.0.1:$port" --api-key "$key" --agents 40 >"$work/sim.log" 2>&1 &
sim_pid=$!
wait_for 20 curl -fsS -o /dev/null "http://127.0.0.1:$port/_sim/config" || fail "the simulator did not start"
agents_before=$(sim_state | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["agents"]))')

# --- The unit's environment: the key as a credential, the installed config aimed at the
# simulator.
install -d -m 0500 -o fdsync -g fdsync "$creds"
printf '%s' "$key" | install -m 0400 -o fdsync -g fdsync /dev/stdin "$creds/api_key"
grep -qx 'domain = "acme"' "$conf" || fail "$conf has no 'domain = \"acme\"' line to aim at the simulator"
sed -i "s|^domain = \"acme\"\$|base_url = \"http://127.0.0.1:$port\"|" "$conf"

cd /
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$state" USER=fdsync LOGNAME=fdsync \
    CREDENTIALS_DIRECTORY="$creds" RUST_LOG=info \
    setpriv --reuid fdsync --regid fdsync --groups fdsync-tickets,fdsync-hr \
    --inh-caps=-all --bounding-set=-all --no-new-privs \
    sh -c 'umask 0077; exec /usr/bin/fdsync --config /etc/fdsync/fdsync.toml run' >"$work/daemon.log" 2>&1 &
daemon_pid=$!
daemon_ready() { grep -q 'fdsync run is ready' "$work/daemon.log"; }
wait_for 30 daemon_ready || fail "the daemon did not say it is ready"
[ "$(stat -c %U "/proc/$daemon_pid")" = fdsync ] || fail "the daemon does not run as fdsync"
say "daemon ready as fdsync (pid $daemon_pid), simulator on port $port with $agents_before agents"

# --- The producers' files.
cat >"$work/alerts.csv" <<'EOF'
email,subject,description,priority,status,tags
noc@rehearsal.example,Disk full on db-1 (rehearsal),Disk usage above 95% on /var,High,Open,monitoring
noc@rehearsal.example,Load high on web-2 (rehearsal),Load average 12 for 15 minutes,Low,Open,monitoring
noc@rehearsal.example,Backup failed on db-1 (rehearsal),Nightly backup exited 2,Urgent,Open,monitoring
EOF
cat >"$work/leavers.csv" <<'EOF'
email,reason
agent0005@example.com,left the company
agent0006@example.com,left the company
EOF
drop "$noc" "$spool/tickets" alerts.csv "$work/alerts.csv"
drop "$hr" "$spool/offboarding" leavers.csv "$work/leavers.csv"

# Each file ends with its report in /var/lib/fdsync/reports.
report_of() { find "$state/reports" -name "*-$1.report.csv" 2>/dev/null | head -n 1; }
has_report() { [ -n "$(report_of "$1")" ]; }
wait_for 60 has_report alerts || fail "no report for alerts.csv within 60 s"
wait_for 60 has_report leavers || fail "no report for leavers.csv within 60 s"
for stem in alerts leavers; do
    report=$(report_of "$stem")
    [ "$(stat -c '%a %U' "$report")" = "600 fdsync" ] \
        || fail "$report is '$(stat -c '%a %U' "$report")', not '600 fdsync'"
done
outcomes() { python3 -c 'import csv, sys; print(" ".join(r["outcome"] for r in csv.DictReader(open(sys.argv[1]))))' "$1"; }
[ "$(outcomes "$(report_of alerts)")" = "created created created" ] \
    || fail "alerts.csv: outcomes '$(outcomes "$(report_of alerts)")', not three 'created'"
[ "$(outcomes "$(report_of leavers)")" = "deleted deleted" ] \
    || fail "leavers.csv: outcomes '$(outcomes "$(report_of leavers)")', not two 'deleted'"

# What Freshdesk (the simulator) holds now.
sim_state >"$work/state.json"
python3 - "$work/state.json" "$agents_before" <<'EOF' || fail "the simulator's state disagrees with the reports"
import json, sys
state = json.load(open(sys.argv[1]))
before = int(sys.argv[2])
subjects = sorted(t["subject"] for t in state["tickets"] if "(rehearsal)" in t["subject"])
assert len(subjects) == 3, f"tickets created: {subjects}"
emails = {a.get("email") for a in state["agents"]}
gone = {"agent0005@example.com", "agent0006@example.com"}
assert not gone & emails, f"still agents: {gone & emails}"
assert len(state["agents"]) == before - 2, f"{before} agents before, {len(state['agents'])} after"
EOF
say "3 tickets created, 2 agents deleted, reports 0600 fdsync in $state/reports"

# --- An entry the daemon cannot move: a folder named x.csv, owned by root, not empty (so it
# cannot be removed either). It is reported, and left alone: no spin.
mkdir -m 0755 "$spool/tickets/x.csv"
touch "$spool/tickets/x.csv/inside"
reported() { grep -q 'x\.csv' "$work/daemon.log"; }
wait_for 30 reported || fail "the folder x.csv in the tickets inbox was never reported"
say "x.csv reported: $(grep -m1 'x\.csv' "$work/daemon.log" | cut -c1-200)"
sleep 2

# --- At rest: CPU over 10 s, with x.csv still in the inbox.
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$daemon_pid")
mentions0=$(grep -c 'x\.csv' "$work/daemon.log" || true)
sleep 10
t1=$(cpu_ticks "$daemon_pid")
mentions1=$(grep -c 'x\.csv' "$work/daemon.log" || true)
kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon died"
cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f", 100 * t / hz / 10 }')
say "CPU at rest: $((t1 - t0)) ticks in 10 s = $cpu % of a core (limit $max_cpu_percent %)"
awk -v c="$cpu" -v m="$max_cpu_percent" 'BEGIN { exit !(c <= m) }' \
    || fail "the daemon used $cpu % of a core at rest over 10 s (limit $max_cpu_percent %): a spin?"
[ $((mentions1 - mentions0)) -le 1 ] \
    || fail "x.csv was logged $((mentions1 - mentions0)) more times during 10 s at rest: retried in a loop"
[ -d "$spool/tickets/x.csv" ] || fail "x.csv left the inbox"

# --- Stop as systemd would (SIGTERM), and expect a clean exit.
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM"
say "OK: the packaged layout works (daemon stopped cleanly on SIGTERM)"
