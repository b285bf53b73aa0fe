#!/usr/bin/env bash
# CI check of the Debian package, on this machine (no container engine here): build it, check
# its file list and lintian, install it with dpkg, check the installed binary, man page, users,
# folders and unit (verify, and the sandbox's exposure score), rehearse the packaged layout
# (packaging/rehearse.sh: the installed binary as the fdsync user, two producers, the simulator
# as Freshdesk), then purge it and check it is gone.
#
#   packaging/check-deb.sh                     # builds with [profile.deb] (cheaper; see Cargo.toml)
#   FDSYNC_DEB_PROFILE=release packaging/check-deb.sh   # checks the real release package
#   FDSYNC_DEB_BINARY=target/debug/fdsync packaging/check-deb.sh
#                                              # packs that binary, no build (what .ci/run does)
#
# Needs root (dpkg -i). Installs cargo-deb, lintian and man-db if they are missing. It refuses
# to run if fdsync is already installed, since it ends by purging the package.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${FDSYNC_DEB_PROFILE:-deb}"
binary="${FDSYNC_DEB_BINARY:-}"
max_exposure=1.4
unit=/lib/systemd/system/fdsync.service
start=$SECONDS
step_start=$SECONDS
step() {
    echo "check-deb: $1 ($((SECONDS - step_start)) s)"
    step_start=$SECONDS
}
fail() {
    echo "check-deb: FAIL: $*" >&2
    exit 1
}

if [ "$(id -u)" != 0 ]; then fail "needs root (dpkg -i, dpkg --purge)"; fi
if dpkg-query -W -f='${db:Status-Status}' fdsync 2>/dev/null | grep -qx installed; then
    fail "fdsync is already installed here and this check purges it; dpkg --purge fdsync first"
fi

# --- Tools. apt (network and disk) runs in the background while cargo (CPU) installs
# cargo-deb and builds the package; lintian is first needed after the build.
apt_pid=
apt_log=$(mktemp)
if ! command -v lintian >/dev/null || ! command -v man >/dev/null; then
    (
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends lintian man-db \
            || { apt-get update && apt-get install -y --no-install-recommends lintian man-db; }
    ) >"$apt_log" 2>&1 &
    apt_pid=$!
fi
if ! cargo deb --version >/dev/null 2>&1; then
    cargo install cargo-deb --locked
fi
step "cargo-deb ready: $(cargo deb --version)"

# --- Build.
if [ -n "$binary" ]; then
    deb=$(packaging/build-deb.sh --binary "$binary" | tail -n 1)
else
    deb=$(packaging/build-deb.sh --profile "$profile" | tail -n 1)
fi
[ -f "$deb" ] || fail "build-deb.sh did not print a .deb path (got '$deb')"
step "built $deb ($(du -h "$deb" | cut -f1))"

if [ -n "$apt_pid" ]; then
    wait "$apt_pid" || { cat "$apt_log"; fail "apt-get install lintian man-db"; }
    step "lintian and man-db installed (in the background)"
fi
rm -f "$apt_log"

# --- Contents: every file the package promises, with the modes that matter.
contents=$(dpkg-deb --contents "$deb")
expect=(
    ./usr/bin/fdsync
    .$unit
    ./usr/lib/sysusers.d/fdsync.conf
    ./usr/lib/tmpfiles.d/fdsync.conf
    ./etc/fdsync/fdsync.toml
    ./usr/share/bash-completion/completions/fdsync
    ./usr/share/zsh/vendor-completions/_fdsync
    ./usr/share/fish/vendor_completions.d/fdsync.fish
    ./usr/share/doc/fdsync/README.md
    ./usr/share/doc/fdsync/copyright
    ./usr/share/doc/fdsync/changelog.Debian.gz
    ./usr/share/lintian/overrides/fdsync
)
for page in target/assets/man/*.1; do
    expect+=("./usr/share/man/man1/$(basename "$page").gz")
done
missing=0
for path in "${expect[@]}"; do
    if ! awk '{print $6}' <<<"$contents" | grep -qxF "$path"; then
        echo "check-deb: missing from the package: $path" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || fail "the package lacks files (dpkg-deb --contents above)"
grep -E ' \./usr/share/man/man1/fdsync\.1\.gz$' <<<"$contents" >/dev/null || fail "no fdsync.1.gz"
grep -E '^-rw-r----- (root/root|0/0) .* \./etc/fdsync/fdsync\.toml$' <<<"$contents" >/dev/null \
    || fail "/etc/fdsync/fdsync.toml is not mode 0640"
dpkg-deb --info "$deb" conffiles | grep -qxF /etc/fdsync/fdsync.toml \
    || fail "/etc/fdsync/fdsync.toml is not a conffile"
step "contents: ${#expect[@]} files present, config 0640 and a conffile"

# --- lintian: errors fail, warnings are shown. Inherent tags are overridden, with reasons, in
# debian/fdsync.lintian-overrides (shipped in the package).
lintian_out=$(lintian --fail-on none "$deb" || true)
[ -z "$lintian_out" ] || echo "$lintian_out"
errors=$(grep -c '^E:' <<<"$lintian_out" || true)
warnings=$(grep -c '^W:' <<<"$lintian_out" || true)
[ "$errors" = 0 ] || fail "lintian reports $errors error(s)"
step "lintian: 0 errors, $warnings warning(s)"

# --- Install. From here on, purge on failure so the machine is left as it was.
trap 'echo "check-deb: purging after a failure" >&2; dpkg --purge fdsync >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb"
fdsync --version
version=$(fdsync --version)
deb_version=$(dpkg-deb -f "$deb" Version)
[ "$version" = "fdsync ${deb_version%-*}" ] || fail "--version says '$version'; the package is $deb_version"
man -w fdsync
man -w fdsync-import >/dev/null || fail "no man page for fdsync-import"
getent passwd fdsync >/dev/null || fail "user fdsync was not created"
# One group per inbox, the service in neither by membership (the unit's SupplementaryGroups=
# gives it both), and each inbox 3770: setgid keeps files in the group, sticky keeps producers
# off each other's files.
for group in fdsync-tickets fdsync-hr; do
    getent group "$group" >/dev/null || fail "group $group was not created"
done
grep -qxF 'SupplementaryGroups=fdsync-tickets fdsync-hr' "$unit" \
    || fail "the unit does not give the service both inbox groups (SupplementaryGroups=)"
[ "$(stat -c '%a %U %G' /etc/fdsync/fdsync.toml)" = "640 root fdsync" ] \
    || fail "/etc/fdsync/fdsync.toml is $(stat -c '%a %U %G' /etc/fdsync/fdsync.toml), not 640 root fdsync"
for inbox in tickets:fdsync-tickets offboarding:fdsync-hr; do
    dir=/var/spool/fdsync/${inbox%%:*}
    want="3770 fdsync ${inbox#*:}"
    [ "$(stat -c '%a %U %G' "$dir" 2>/dev/null)" = "$want" ] \
        || fail "$dir is '$(stat -c '%a %U %G' "$dir" 2>&1)', not '$want' (systemd-tmpfiles, fdsync.tmpfiles)"
done
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl is-enabled fdsync.service >/dev/null 2>&1 && fail "the install enabled the service"
    systemctl is-active fdsync.service >/dev/null 2>&1 && fail "the install started the service"
fi
step "installed: binary, man pages, users, folders and config ownership"

# --- The installed unit. Without systemd as PID 1, verify still loads and checks the unit
# (--man=no: it would otherwise run man for every Documentation= page).
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify $unit"
    security=$(systemd-analyze security --offline=true "$unit" 2>&1) \
        || { echo "$security"; fail "systemd-analyze security failed"; }
    score=$(sed -n 's/.*Overall exposure level for fdsync.service: \([0-9.]*\).*/\1/p' <<<"$security")
    [ -n "$score" ] || { echo "$security"; fail "no exposure score"; }
    echo "check-deb: exposure of the installed unit: $score (must be <= $max_exposure)"
    awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' \
        || { echo "$security"; fail "exposure $score is worse than $max_exposure"; }
    step "unit: verify passed, exposure $score"
else
    step "unit: systemd-analyze not here, skipped"
fi

# --- The packaged layout, rehearsed: the installed binary as the fdsync user, inboxes on their
# own filesystem, two producers, the simulator as Freshdesk.
packaging/rehearse.sh || fail "the rehearsal of the packaged layout failed (above)"
step "rehearsal passed"

# --- Purge, and check it is gone.
dpkg --purge fdsync
trap - EXIT
if dpkg-query -W -f='${db:Status-Status}' fdsync 2>/dev/null | grep -qvx not-installed; then
    fail "dpkg still knows fdsync after the purge"
fi
for path in /usr/bin/fdsync "$unit" /etc/fdsync/fdsync.toml /var/lib/fdsync \
    /usr/share/man/man1/fdsync.1.gz /usr/share/bash-completion/completions/fdsync; do
    [ ! -e "$path" ] || fail "$path is still there after the purge"
done
step "purged: files and state gone"
echo "check-deb: OK in $((SECONDS - start)) s"
