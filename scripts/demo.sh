#!/usr/bin/env bash
# Compiles the bundled BERT-tiny (models/bert-tiny) to an MPC plan, runs it with three
# parties in one process on its reference input, and prints the secure output beside
# onnxruntime's plaintext one. Usage: scripts/demo.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/demo}"
mkdir -p "$out"
mpcc() { cargo run --release --quiet -p mpcc-compiler --bin mpcc -- "$@"; }

mpcc compile models/bert-tiny/model.onnx -o "$out/bert-tiny.plan" \
    --input-shape input_ids=1,16 \
    --input-shape attention_mask=1,16 \
    --input-shape token_type_ids=1,16
echo
mpcc run "$out/bert-tiny.plan" --reference models/bert-tiny/reference.json \
    --output-dir "$out" --profile "$out/profile.json"
