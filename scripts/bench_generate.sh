#!/usr/bin/env bash
# Private generation benchmark: SmolLM2-135M-Instruct (real weights, KV-cache export) with
# mpcc compile --generate / mpcc generate, three parties in one process. Prints the set-up
# (the owner sharing the weights once), the prefill (one step per prompt token) and the mean
# decode step: wall time, rounds and bytes; the prediction of `mpcc cost` on LAN and WAN; and
# SPU-PUMA's reference figure from ../shared/bench/spu/README.md beside them.
#
#   MPCC_SMOLLM2=DIR scripts/bench_generate.sh   # DIR from shared/models/smollm2/make.sh DIR
#
# Environment: MPCC_SMOLLM2 (required), PROMPT (default "The capital of France is"), NEW
# (new tokens, default 8), CAPACITY (--max-seq-len, default 20), OUT (default
# target/bench-generate).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${MPCC_SMOLLM2:?set MPCC_SMOLLM2 to the folder shared/models/smollm2/make.sh built}"
PROMPT="${PROMPT:-The capital of France is}"
NEW="${NEW:-8}"
CAPACITY="${CAPACITY:-20}"
OUT="${OUT:-$ROOT/target/bench-generate}"
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -p mpcc-compiler --bin mpcc >/dev/null
MPCC="${CARGO_TARGET_DIR:-$ROOT/target}/release/mpcc"
TIMER=()
[ -x /usr/bin/time ] && TIMER=(/usr/bin/time -v -o "$OUT/generate.time.txt")

echo "== compile $DIR/model_with_past.onnx --generate --max-seq-len $CAPACITY"
"$MPCC" compile "$DIR/model_with_past.onnx" -o "$OUT/smollm2.plan" --generate \
  --max-seq-len "$CAPACITY" | grep -E "predicted|generation plan"
echo "== mpcc cost (one step), LAN and WAN"
for net in lan wan; do
  "$MPCC" cost "$OUT/smollm2.plan" --network "$net" | sed -n '/^generation plan/,$p' | sed "s/^/  [$net] /"
done
echo "== generate: $NEW tokens after \"$PROMPT\""
"${TIMER[@]}" "$MPCC" generate "$OUT/smollm2.plan" --prompt "$PROMPT" \
  --tokenizer "$DIR/tokenizer.json" --max-new-tokens "$NEW" --output-dir "$OUT"
python3 - "$OUT/tokens.json" <<'PY' 2>/dev/null || jq . "$OUT/tokens.json" | head -40
import json, sys
t = json.load(open(sys.argv[1]))
pre = [s for s in t["steps"] if s["kind"] == "prefill"]
dec = [s for s in t["steps"] if s["kind"] == "decode"]
mib = lambda b: b / 2**20
s = t["setup"]
print(f"set-up (once):        {s['wall_s']:7.2f} s  {s['rounds']:6d} rounds  {mib(s['bytes_sent']):8.1f} MiB")
print(f"prefill ({len(pre)} tokens):   {sum(x['wall_s'] for x in pre):7.2f} s  "
      f"{sum(x['rounds'] for x in pre):6d} rounds  {mib(sum(x['bytes_sent'] for x in pre)):8.1f} MiB")
if dec:
    n = len(dec)
    print(f"per new token (mean of {n}): {sum(x['wall_s'] for x in dec)/n:6.2f} s  "
          f"{sum(x['rounds'] for x in dec)//n:6d} rounds  {mib(sum(x['bytes_sent'] for x in dec))/n:8.1f} MiB")
print(f"text: {t['text']!r}")
PY
[ -f "$OUT/generate.time.txt" ] && grep -E "Maximum resident|Elapsed" "$OUT/generate.time.txt"
echo "== reference: SPU-PUMA, GPT-2 small shape, 32 tokens, one token (../shared/bench/spu/README.md)"
grep -E "GPT-2 small" "$ROOT/../shared/bench/spu/README.md" || echo "  (not found)"
