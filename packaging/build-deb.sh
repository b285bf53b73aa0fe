#!/usr/bin/env bash
# Builds the Debian package: target/debian/fdsync_<version>-1_<arch>.deb (other profiles:
# target/debian/<profile>/), and prints its path last.
#
#   packaging/build-deb.sh                 # the real package: cargo build --release
#   packaging/build-deb.sh --profile deb   # [profile.deb]: the same, cheaper to build
#   packaging/build-deb.sh --binary target/debug/fdsync
#                                          # what CI checks: packs a binary already built (the
#                                          # test build's), stripped; no build at all. Into
#                                          # target/debian/ci/, never for users.
#
# Steps: build the binary, run it to generate the man pages and shell completions into
# target/assets/ (from the same clap definitions that parse the command line; never committed),
# then `cargo deb --no-build`, which packs them with the assets listed in Cargo.toml's
# [package.metadata.deb]. Needs cargo-deb (`cargo install cargo-deb --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
binary=
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    *) echo "usage: $0 [--profile release|deb | --binary PATH]" >&2; exit 2 ;;
    esac
done

target_dir="${CARGO_TARGET_DIR:-target}"
if [ -n "$binary" ]; then
    # cargo-deb takes the binary from target/<profile>/ (Cargo.toml's asset path, rewritten for
    # the profile); "ci" is a profile name no build uses, so nothing real is overwritten.
    [ -x "$binary" ] || { echo "build-deb: no executable at $binary" >&2; exit 1; }
    profile=ci
    mkdir -p "$target_dir/$profile"
    strip -o "$target_dir/$profile/fdsync" "$binary"
else
    cargo build --locked --profile "$profile" --bin fdsync
fi
bin="$target_dir/$profile/fdsync"

# Generated assets live in ./target/assets whatever CARGO_TARGET_DIR says: Cargo.toml names
# them by that path.
assets=target/assets
rm -rf "$assets"
mkdir -p "$assets/completions"
"$bin" man --out "$assets/man" >/dev/null
"$bin" completions bash >"$assets/completions/fdsync.bash"
"$bin" completions zsh >"$assets/completions/_fdsync"
"$bin" completions fish >"$assets/completions/fdsync.fish"

# cargo-deb gzips the man pages.
deb_dir="$target_dir/debian"
if [ "$profile" != release ]; then deb_dir="$deb_dir/$profile"; fi
mkdir -p "$deb_dir"
fast=()
[ -z "$binary" ] || fast=(--fast) # CI: a quicker, larger compression
cargo deb --no-build --locked --profile "$profile" "${fast[@]}" --output "$deb_dir/"
