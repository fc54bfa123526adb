#!/usr/bin/env bash
# Runs one fuzz target of the mpcc-fuzz crate for as long as asked (stable toolchain, one
# core): `scripts/fuzz.sh TARGET SECONDS [--seed N]`; `scripts/fuzz.sh list` lists the
# targets; `scripts/fuzz.sh replay TARGET FILE...` runs saved inputs again.
# Prints the inputs run, the distinct outcomes and crashes; each crash is saved under
# fuzz/crashes/TARGET/<hash> (copy it to fuzz/regressions/TARGET/ once fixed). Exit status
# 1 when a crash was found, 3 on a hang (the input is saved as hang-<hash>).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: scripts/fuzz.sh list | TARGET SECONDS [--seed N] | replay TARGET FILE..." >&2
    exit 2
}

[ $# -ge 1 ] || usage
cargo build --release -p mpcc-fuzz --bin fuzz >&2
bin="${CARGO_TARGET_DIR:-target}/release/fuzz"
case "$1" in
    list) exec "$bin" list ;;
    replay) shift; exec "$bin" replay "$@" ;;
    *)
        [ $# -ge 2 ] || usage
        target="$1"
        seconds="$2"
        shift 2
        exec "$bin" "$target" --seconds "$seconds" "$@"
        ;;
esac
