#!/usr/bin/env bash
# Shows that the security tests (runtime/tests/security/) catch real leaks: runs them on the
# default build (they must pass), then once per deliberately broken variant of the protocol
# (the broken-* features of mpcc-runtime, see runtime/Cargo.toml), where they must fail,
# and at least the tests listed for the variant must be among the failures.
#
#   scripts/security_broken.sh
#
# Builds only mpcc-runtime (release); honours CARGO_TARGET_DIR. Exits non-zero if the
# default build fails the suite or a broken variant is not caught.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOG_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/security-broken"
mkdir -p "$LOG_DIR"

suite() { cargo test -p mpcc-runtime --release --test security "$@"; }

echo "== default build: the suite must pass"
suite >"$LOG_DIR/default.log" 2>&1 || { tail -40 "$LOG_DIR/default.log"; exit 1; }
echo "   passed"

# variant: tests that must fail
declare -A EXPECT=(
  [broken-input-halves]="input_sharing_hides_the_input_from_the_other_parties plan_reveals_to_the_client_only"
  [broken-reshare-mask]="products_reshare_with_fresh_masks"
  [broken-and-mask]="msb_views_are_independent_of_the_secret ge_views_are_independent_of_the_secret relu_views_are_independent_of_the_secret"
  [broken-ot-key]="exact_truncation_views_are_independent_of_the_secret plan_reveals_to_the_client_only"
  [broken-sine-angle]="sine_views_are_independent_of_the_secret"
)
status=0
for variant in broken-input-halves broken-reshare-mask broken-and-mask broken-ot-key broken-sine-angle; do
  log="$LOG_DIR/$variant.log"
  echo "== $variant: the suite must fail"
  if suite --features "$variant" >"$log" 2>&1; then
    echo "   NOT CAUGHT: the suite passed"
    status=1
    continue
  fi
  failed=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort | tr '\n' ' ')
  echo "   failed: $failed"
  for t in ${EXPECT[$variant]}; do
    if ! grep -q "^test $t \.\.\. FAILED$" "$log"; then
      echo "   expected $t to fail (log: $log)"
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "every broken variant was caught"
exit "$status"
