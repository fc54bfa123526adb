#!/usr/bin/env bash
# Predicted cost of every approximation policy side by side (issue 11): all-MiniLM-L6-v2 at
# [1,128] and vit-tiny at [1,3,32,32], one plan per policy, figures from `mpcc cost --json`
# (the kernels' cost functions, which a run measures exactly), on the LAN and WAN models.
#
#   scripts/bench_policies.sh
#
# Environment: MPCC_MINILM_DIR (default ../shared/models/all-minilm-l6-v2), OUT (default
# target/bench-policies). Prints one markdown table per model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_DIR="${MPCC_MINILM_DIR:-$ROOT/../shared/models/all-minilm-l6-v2}"
OUT="${OUT:-$ROOT/target/bench-policies}"
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -p mpcc-compiler --bin mpcc >/dev/null
MPCC="${CARGO_TARGET_DIR:-$ROOT/target}/release/mpcc"
POLICIES="puma puma-paper mpcformer secformer mpcvit"

table() { # name, then the compile arguments
  local name="$1"; shift
  echo "### $name"
  echo
  echo "| policy | rounds | bytes (all parties) | of which input-independent | LAN est. | WAN est. |"
  echo "|---|---|---|---|---|---|"
  for p in $POLICIES; do
    "$MPCC" compile "$@" --approx "$p" -o "$OUT/$name-$p.plan" >/dev/null 2>&1
    "$MPCC" cost "$OUT/$name-$p.plan" --json >"$OUT/$name-$p.lan.json"
    "$MPCC" cost "$OUT/$name-$p.plan" --json --network wan >"$OUT/$name-$p.wan.json"
    python3 - "$p" "$OUT/$name-$p.lan.json" "$OUT/$name-$p.wan.json" <<'PYEOF'
import json, sys
p, lan, wan = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
t = lan["total"]
off = lan.get("input_independent")
off = f"{off['bytes_sent'] / 1e6:,.1f} MB" if off else "-"
print(f"| `{p}` | {t['rounds']:,} | {t['bytes_sent'] / 1e6:,.1f} MB | {off} | "
      f"{t['est_time_s']:.2f} s | {wan['total']['est_time_s']:.1f} s |")
PYEOF
  done
  echo
}

table all-MiniLM-L6-v2-s128 "$MODEL_DIR/model.onnx" \
  --input-shape input_ids=1,128 --input-shape attention_mask=1,128 --input-shape token_type_ids=1,128
table vit-tiny models/vit-tiny/model.onnx --input-shape pixel_values=1,3,32,32
