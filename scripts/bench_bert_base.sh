#!/usr/bin/env bash
# Side-by-side benchmark (issue 13): mpcc vs SecretFlow SPU (PUMA recipe) on BERT-base
# (12 layers, hidden 768, random weights), sequence 128, batch 1, in one run.
#
#   MPCC_BERT_BASE_DIR=DIR scripts/bench_bert_base.sh
#   SKIP_SPU=1 MPCC_BERT_BASE_DIR=DIR scripts/bench_bert_base.sh   # mpcc only
#
# DIR holds the export's model.onnx (436 MB), made with ../shared/models/export_models.py:
#   python3 ../shared/models/export_models.py --out SCRATCH --only bert-base-random \
#       --bert-base-out D        # then DIR=D/bert-base-random
# (it needs torch and optimum-onnx; see the script's doc). The weights differ from SPU's
# (both random); the cost does not depend on them, and each system's accuracy is against
# its own plaintext model: mpcc's against onnxruntime on the same export and input, SPU's
# against its plaintext Flax model.
#
# The input: 128 token ids drawn with numpy's default_rng(0) from [1000, 30000) between
# [CLS] and [SEP], mask all ones (python3 with numpy and onnxruntime makes it and the
# reference). Environment: SPU_DIR (default ../shared/bench/spu), OUT (default
# target/bench-bert-base), VENV (SPU's virtual environment, as run_spu_bench.sh makes it).
# Prints wall time, bytes sent by all parties, rounds, peak memory (the whole process's RSS,
# /usr/bin/time) and accuracy for both systems, and both on the WAN model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${MPCC_BERT_BASE_DIR:-}" ]; then
  echo "set MPCC_BERT_BASE_DIR to the folder of the BERT-base export (see the head of $0)" >&2
  exit 2
fi
MODEL="$MPCC_BERT_BASE_DIR/model.onnx"
SPU_DIR="${SPU_DIR:-$ROOT/../shared/bench/spu}"
OUT="${OUT:-$ROOT/target/bench-bert-base}"
export VENV="${VENV:-${TMPDIR:-/tmp}/venv-spu}"
IN="$OUT/in"
mkdir -p "$OUT" "$IN"
cd "$ROOT"
cargo build --release -p mpcc-compiler --bin mpcc >/dev/null
MPCC="${CARGO_TARGET_DIR:-$ROOT/target}/release/mpcc"
TIMER=()
[ -x /usr/bin/time ] && TIMER=(/usr/bin/time -v -o "$OUT/mpcc.time.txt")

echo "== input and onnxruntime reference at [1,128]"
python3 - "$MODEL" "$IN" <<'PYEOF'
import sys, numpy as np, onnxruntime as ort
model, d = sys.argv[1], sys.argv[2]
ids = np.random.default_rng(0).integers(1000, 30000, size=(1, 128)).astype(np.int64)
ids[0, 0], ids[0, -1] = 101, 102
feeds = {"input_ids": ids, "attention_mask": np.ones((1, 128), np.int64),
         "token_type_ids": np.zeros((1, 128), np.int64)}
for k, v in feeds.items():
    np.save(f"{d}/{k}.npy", v)
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
np.save(f"{d}/last_hidden_state.onnxruntime.npy", s.run(None, feeds)[0])
PYEOF

echo "== mpcc: compile BERT-base at [1,128]"
"$MPCC" compile "$MODEL" -o "$OUT/bert-base.plan" --batch 1 --seq 128
echo "== mpcc: secure run (3 parties in one process)"
"${TIMER[@]}" "$MPCC" run "$OUT/bert-base.plan" \
  --input input_ids="$IN/input_ids.npy" --input attention_mask="$IN/attention_mask.npy" \
  --input token_type_ids="$IN/token_type_ids.npy" --output-dir "$OUT/mpcc-out"
if [ -f "$OUT/mpcc.time.txt" ]; then
  grep -E "Maximum resident|Elapsed" "$OUT/mpcc.time.txt"
fi
python3 - "$OUT/mpcc-out/last_hidden_state.npy" "$IN" <<'PYEOF'
import sys, numpy as np
a = np.load(sys.argv[1])[0]; b = np.load(sys.argv[2] + "/last_hidden_state.onnxruntime.npy")[0]
pa, pb = a.mean(0), b.mean(0)
cos = float(pa @ pb / np.linalg.norm(pa) / np.linalg.norm(pb))
tok = min(float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)) for x, y in zip(a, b))
print(f"mpcc accuracy vs onnxruntime: max abs err last_hidden_state {np.abs(a - b).max():.4f}, "
      f"cosine of mean-pooled embedding {cos:.6f}, min per-token cosine {tok:.6f}")
PYEOF
echo "== mpcc: predicted on the WAN model (400 Mbit/s, 40 ms RTT)"
"$MPCC" cost "$OUT/bert-base.plan" --network wan | sed -n 3p

if [ -z "${SKIP_SPU:-}" ]; then
  echo "== SPU 0.9.5, PUMA recipe, BERT-base shape (its own random weights and input)"
  [ -x "$VENV/bin/python" ] || bash "$SPU_DIR/run_spu_bench.sh" setup
  rm -f "$OUT"/spu/*.json
  OUT="$OUT/spu" bash "$SPU_DIR/run_spu_bench.sh" bert-base
  python3 "$SPU_DIR/summarize.py" "$OUT/spu" 2>/dev/null || cat "$OUT"/spu/*.json
  python3 "$ROOT/scripts/spu_wan.py" "$OUT/spu"
fi
