#!/usr/bin/env python3
"""Checks a plan of all-MiniLM-L6-v2 at [1, SEQ] on held-out sentences under `mpcc run`
against onnxruntime (issue 11's tuner check): per sentence, the cosine of the whole
last_hidden_state and of the mean-pooled embedding.

    python3 scripts/minilm_tune_check.py PLAN SENTENCES.txt [--model-dir DIR] [--seq 128]

Each line of SENTENCES.txt is tokenized with the export's tokenizer.json (padded to SEQ),
run by `mpcc run` (three parties in one process) and by onnxruntime. Needs python3 with
numpy, onnxruntime and tokenizers; the project's tests do not.
"""
import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent


def cos(a, b):
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("sentences")
    ap.add_argument("--model-dir", default=str(ROOT / "../shared/models/all-minilm-l6-v2"))
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--mpcc", default=str(ROOT / "target/release/mpcc"))
    a = ap.parse_args()
    md = Path(a.model_dir)
    tok = Tokenizer.from_file(str(md / "tokenizer.json"))
    tok.enable_padding(length=a.seq)
    tok.enable_truncation(max_length=a.seq)
    sess = ort.InferenceSession(str(md / "model.onnx"))
    worst_full, worst_pooled = 1.0, 1.0
    for i, line in enumerate(Path(a.sentences).read_text().splitlines()):
        if not line.strip():
            continue
        e = tok.encode(line)
        feeds = {
            "input_ids": np.array([e.ids], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids], dtype=np.int64),
        }
        want = sess.run(["last_hidden_state"], feeds)[0]
        with tempfile.TemporaryDirectory() as d:
            args = [a.mpcc, "run", a.plan, "--output-dir", f"{d}/out"]
            for k, v in feeds.items():
                np.save(f"{d}/{k}.npy", v)
                args += ["--input", f"{k}={d}/{k}.npy"]
            subprocess.run(args, check=True, capture_output=True)
            got = np.load(f"{d}/out/last_hidden_state.npy")
        m = feeds["attention_mask"][0].astype(bool)
        full = cos(got, want)
        pooled = cos(got[0][m].mean(0), want[0][m].mean(0))
        worst_full, worst_pooled = min(worst_full, full), min(worst_pooled, pooled)
        print(f"sentence {i + 1}: last_hidden_state cosine {full:.6f}, mean-pooled {pooled:.6f}")
    print(f"worst: last_hidden_state cosine {worst_full:.6f}, mean-pooled {worst_pooled:.6f}")


if __name__ == "__main__":
    main()
