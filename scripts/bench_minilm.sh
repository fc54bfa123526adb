#!/usr/bin/env bash
# Side-by-side benchmark: mpcc vs SecretFlow SPU (PUMA recipe) on all-MiniLM-L6-v2,
# sequence 128, batch 1, on the same input (../shared/bench/spu/inputs-minilm-s128).
#
#   scripts/bench_minilm.sh            # mpcc then SPU, one run each, in one go
#   SKIP_SPU=1 scripts/bench_minilm.sh # mpcc only
#
# Environment: MPCC_MINILM_DIR (model dir, default ../shared/models/all-minilm-l6-v2),
# SPU_DIR (default ../shared/bench/spu), OUT (default target/bench-minilm), VENV (SPU's
# virtual environment, default under TMPDIR as run_spu_bench.sh makes it).
# Prints wall time, bytes sent by all parties, rounds, peak memory (RSS of the whole
# process, /usr/bin/time), and accuracy against onnxruntime, for both systems.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_DIR="${MPCC_MINILM_DIR:-$ROOT/../shared/models/all-minilm-l6-v2}"
SPU_DIR="${SPU_DIR:-$ROOT/../shared/bench/spu}"
IN="$SPU_DIR/inputs-minilm-s128"
OUT="${OUT:-$ROOT/target/bench-minilm}"
export VENV="${VENV:-${TMPDIR:-/tmp}/venv-spu}"
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -p mpcc-compiler --bin mpcc >/dev/null
MPCC="${CARGO_TARGET_DIR:-$ROOT/target}/release/mpcc"
TIMER=()
[ -x /usr/bin/time ] && TIMER=(/usr/bin/time -v -o "$OUT/mpcc.time.txt")

echo "== mpcc: compile all-MiniLM-L6-v2 at [1,128]"
"$MPCC" compile "$MODEL_DIR/model.onnx" -o "$OUT/minilm.plan" \
  --input-shape input_ids=1,128 --input-shape attention_mask=1,128 --input-shape token_type_ids=1,128
echo "== mpcc: secure run (3 parties in one process)"
"${TIMER[@]}" "$MPCC" run "$OUT/minilm.plan" \
  --input input_ids="$IN/input_ids.npy" --input attention_mask="$IN/attention_mask.npy" \
  --input token_type_ids="$IN/token_type_ids.npy" \
  --output-dir "$OUT/mpcc-out" --profile "$OUT/mpcc-profile.json"
if [ -f "$OUT/mpcc.time.txt" ]; then
  grep -E "Maximum resident|Elapsed" "$OUT/mpcc.time.txt"
fi
# Accuracy against onnxruntime (numpy from SPU's venv, or any python3 with numpy).
PY="$VENV/bin/python"; [ -x "$PY" ] || PY=python3
"$PY" - "$OUT/mpcc-out/last_hidden_state.npy" "$IN" <<'PYEOF' || echo "(accuracy: numpy not available)"
import sys, numpy as np
a = np.load(sys.argv[1])[0]; d = sys.argv[2]
b = np.load(d + "/last_hidden_state.onnxruntime.npy")[0]
m = np.load(d + "/attention_mask.npy")[0].astype(bool)
pa, pb = a[m].mean(0), b[m].mean(0)
cos = float(pa @ pb / np.linalg.norm(pa) / np.linalg.norm(pb))
print(f"mpcc accuracy: max abs err last_hidden_state {np.abs(a - b).max():.4f}, cosine of mean-pooled embedding {cos:.6f}")
PYEOF

echo "== mpcc: predicted on the WAN model (400 Mbit/s, 40 ms RTT)"
"$MPCC" cost "$OUT/minilm.plan" --network wan | sed -n 3p

if [ -z "${SKIP_SPU:-}" ]; then
  echo "== SPU 0.9.5, PUMA recipe (same input)"
  [ -x "$VENV/bin/python" ] || bash "$SPU_DIR/run_spu_bench.sh" setup
  rm -f "$OUT"/spu/*.json
  OUT="$OUT/spu" bash "$SPU_DIR/run_spu_bench.sh" minilm-once
  python3 "$SPU_DIR/summarize.py" "$OUT/spu" 2>/dev/null || cat "$OUT"/spu/*.json
  # SPU on the same WAN model: each send action one round trip, its busiest party's bytes.
  python3 "$ROOT/scripts/spu_wan.py" "$OUT/spu"
fi
