#!/usr/bin/env python3
"""Re-runs the hostile-input campaign of issue 14: one case per repro of its nine items,
against the built `mpcc` binary, and classifies each outcome.

    python3 scripts/hostile_campaign.py [--mpcc target/release/mpcc]

Each case runs with a time limit and in a fresh folder. Outcomes:
  refused   exit 1 with a message that names the cause (the case's words), nothing left behind
  correct   exit 0 and, where the case has a reference, outputs within 1e-2 of onnxruntime
  panic     a Rust panic or a signal
  hang      the time limit passed
  partial   a failed command left files in its output folder
  silent    exit 0 with a wrong answer, or a refusal that does not name the cause
Needs python3 with numpy and onnx (for the edited models); the project's own tests do not.
Prints one line per case and the counts; exits 1 if any case is panic, hang, partial or
silent.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
BT = MODELS / "bert-tiny"
BT_TOKENIZER = MODELS / "bert-tiny-seqcls/tokenizer.json"
BT_SHAPES = ["--input-shape", "input_ids=1,16", "--input-shape", "attention_mask=1,16",
             "--input-shape", "token_type_ids=1,16"]


def run(mpcc, args, timeout=120, stdin=None, shell_tail=None):
    """(code, stderr, timed_out); a negative code is a signal."""
    cmd = [mpcc] + [str(a) for a in args]
    try:
        if shell_tail:
            p = subprocess.run(" ".join(f"'{c}'" for c in cmd) + " " + shell_tail, shell=True,
                               capture_output=True, timeout=timeout, text=True)
        else:
            p = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True, stdin=stdin)
        return p.returncode, p.stderr, False
    except subprocess.TimeoutExpired:
        return None, "", True


def classify(code, err, timed_out, words, left_behind=()):
    if timed_out:
        return "hang"
    if code is None or code < 0 or code == 101 or "panicked" in err:
        return "panic"
    if code == 0:
        return "silent"
    if any(Path(p).exists() for p in left_behind):
        return "partial"
    if all(w.lower() in err.lower() for w in words):
        return "refused"
    return "silent"


def ref_inputs(ref_path, out_dir):
    """Writes each reference.json input as NAME.npy; returns {name: path}."""
    r = json.load(open(ref_path))
    paths = {}
    for t in r["inputs"]:
        a = np.array(t["data"], dtype=t.get("dtype", "float32")).reshape(t["shape"])
        p = Path(out_dir) / f"{t['name']}.npy"
        np.save(p, a)
        paths[t["name"]] = p
    return paths, r


def edited_bert(tmp, name, value):
    """bert-tiny with initializer `name`'s first element set to `value`."""
    m = onnx.load(str(BT / "model.onnx"))
    for init in m.graph.initializer:
        if name in init.name:
            a = numpy_helper.to_array(init).copy()
            a.flat[0] = value
            init.CopyFrom(numpy_helper.from_array(a, init.name))
            break
    else:
        raise SystemExit(f"no initializer like {name}")
    p = Path(tmp) / f"bt-{value}.onnx"
    onnx.save(m, str(p))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpcc", default=str(ROOT / "target/release/mpcc"))
    mpcc = ap.parse_args().mpcc
    tmp = Path(tempfile.mkdtemp(prefix="mpcc-campaign-"))
    results = []

    def case(item, name, outcome):
        results.append((item, name, outcome))
        print(f"{item:>2}  {outcome:8}  {name}", flush=True)

    # Plans the cases share.
    bt_plan = tmp / "bt.plan"
    run(mpcc, ["compile", BT / "model.onnx", "-o", bt_plan] + BT_SHAPES)
    vit_plan, vit_cal = tmp / "vit.plan", tmp / "vitc.plan"
    vit_ref = MODELS / "vit-tiny/reference.json"
    run(mpcc, ["compile", MODELS / "vit-tiny/model.onnx", "-o", vit_plan, "--input-shape",
               "pixel_values=1,3,32,32"])
    run(mpcc, ["compile", MODELS / "vit-tiny/model.onnx", "-o", vit_cal, "--calibrate", vit_ref])
    bt_in, _ = ref_inputs(BT / "reference.json", tmp)

    # 0. The baseline: a correct run.
    out = tmp / "o0"
    code, err, to = run(mpcc, ["run", bt_plan, "--reference", BT / "reference.json",
                               "--output-dir", out])
    case(0, "bert-tiny reference run", "correct" if code == 0 else classify(code, err, to, []))

    # 1. Silent overflow.
    px = np.load(ref_inputs(vit_ref, tmp)[0]["pixel_values"])
    for scale, plan, words in [(1e5, vit_plan, ["pixel_values", "beyond"]),
                               (100.0, vit_cal, ["pixel_values", "calibrated range"])]:
        f = tmp / f"px{scale}.npy"
        np.save(f, (px * scale).astype(np.float32))
        out = tmp / f"o1-{scale}"
        code, err, to = run(mpcc, ["run", plan, "--input", f"pixel_values={f}", "--output-dir", out])
        case(1, f"vit-tiny pixels x{scale:g} ({plan.stem})",
             classify(code, err, to, words, [out / "logits.npy"]))
    for value in [1e20, float("nan"), float("inf"), -float("inf")]:
        words = ["format cannot hold"]
        model = edited_bert(tmp, "bias", value)
        plan = tmp / f"b{value}.plan"
        code, err, to = run(mpcc, ["compile", model, "-o", plan] + BT_SHAPES)
        case(1, f"a bias of {value}", classify(code, err, to, words, [plan]))

    # 2. --frac-bits out of its useful range.
    for fb in [1, 30, 40, 64]:
        plan = tmp / f"fb{fb}.plan"
        code, err, to = run(mpcc, ["compile", BT / "model.onnx", "-o", plan, "--frac-bits", fb]
                            + BT_SHAPES)
        case(2, f"--frac-bits {fb}", classify(code, err, to, ["frac-bits"], [plan]))

    # 3. Inputs that pass silently.
    for v in [2.0, 1e12, -1.0]:
        f = tmp / f"mask{v}.npy"
        m = np.ones((1, 16), dtype=np.int64)
        m[0, 3] = v
        np.save(f, m)
        out = tmp / f"o3-{v}"
        code, err, to = run(mpcc, ["run", bt_plan, "--input", f"attention_mask={f}",
                                   "--reference", BT / "reference.json", "--output-dir", out])
        case(3, f"attention_mask holding {v:g}",
             classify(code, err, to, ["attention_mask"], [out / "last_hidden_state.npy"]))
    out = tmp / "o3t"
    code, err, to = run(mpcc, ["run", bt_plan, "--input", f"input_ids={bt_in['input_ids']}",
                               "--text", "hello world", "--tokenizer", BT_TOKENIZER,
                               "--output-dir", out])
    case(3, "--text beside --input input_ids", classify(code, err, to, ["input_ids"],
                                                         [out / "last_hidden_state.npy"]))
    plan = tmp / "twice.plan"
    code, err, to = run(mpcc, ["compile", BT / "model.onnx", "-o", plan, "--input-shape",
                               "input_ids=1,16", "--input-shape", "input_ids=1,8"] + BT_SHAPES[2:])
    case(3, "two --input-shape for input_ids", classify(code, err, to, ["input_ids"], [plan]))
    big_tok = tmp / "tokenizer.json"
    tok = json.load(open(BT_TOKENIZER))
    vocab = tok["model"]["vocab"]
    for i in range(2000):
        vocab[f"extra{i}"] = len(vocab)
    json.dump(tok, open(big_tok, "w"))
    out = tmp / "o3v"
    code, err, to = run(mpcc, ["run", bt_plan, "--text", "hello", "--tokenizer", big_tok,
                               "--output-dir", out])
    case(3, "a tokenizer larger than the embedding",
         classify(code, err, to, ["tokenizer"], [out / "last_hidden_state.npy"]))

    # 4. Destructive edges.
    m = tmp / "m.onnx"
    shutil.copy(BT / "model.onnx", m)
    before = m.read_bytes()
    code, err, to = run(mpcc, ["compile", m, "-o", m] + BT_SHAPES)
    o = classify(code, err, to, ["-o"])
    case(4, "compile m.onnx -o m.onnx", o if m.read_bytes() == before else "silent")
    plan = tmp / "same.plan"
    code, err, to = run(mpcc, ["compile", BT / "model.onnx", "-o", plan, "--emit-ir", plan]
                        + BT_SHAPES)
    case(4, "--emit-ir equal to -o", classify(code, err, to, ["--emit-ir"], [plan]))

    # 5. Memory blow-ups.
    plan = tmp / "huge.plan"
    code, err, to = run(mpcc, ["compile", BT / "model.onnx", "-o", plan, "--input-shape",
                               "input_ids=100000000,16", "--input-shape",
                               "attention_mask=100000000,16", "--input-shape",
                               "token_type_ids=100000000,16"], timeout=300)
    case(5, "compile at batch 1e8", classify(code, err, to, ["memory"], [plan]))
    f = tmp / "liar.npy"
    hdr = "{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000, 16), }"
    hdr = hdr + " " * (118 - len(hdr)) + "\n"
    f.write_bytes(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode() + b"\0" * 64)
    out = tmp / "o5"
    code, err, to = run(mpcc, ["run", bt_plan, "--input", f"input_ids={f}",
                               "--reference", BT / "reference.json", "--output-dir", out])
    case(5, "a .npy header claiming (1e12, 16)", classify(code, err, to, ["not a valid .npy"],
                                                          [out / "last_hidden_state.npy"]))

    # 7. Crashes.
    code, err, to = run(mpcc, ["cost", bt_plan], shell_tail="| head -1")
    case(7, "mpcc cost ... | head -1", "panic" if "panicked" in err else ("hang" if to else "correct"))
    raw = bytearray(bt_plan.read_bytes())
    for pos in [13, 14, 15, 40, len(raw) // 2]:
        bad = tmp / f"bad{pos}.plan"
        r = bytearray(raw)
        r[pos] ^= 0x5A
        bad.write_bytes(bytes(r))
        out = tmp / f"o7-{pos}"
        code, err, to = run(mpcc, ["run", bad, "--reference", BT / "reference.json",
                                   "--output-dir", out])
        case(7, f"plan byte {pos} flipped", classify(code, err, to, ["plan"],
                                                     [out / "last_hidden_state.npy"]))

    # 8. Partial output.
    out = tmp / "o8"
    code, err, to = run(mpcc, ["run", bt_plan, "--reference", BT / "reference.json",
                               "--output-dir", out, "--profile", tmp / "missing/dir/p.json"])
    case(8, "--profile in a missing folder", classify(code, err, to, ["--profile"],
                                                     [out / "last_hidden_state.npy"]))
    fifo = tmp / "pipe"
    os.mkfifo(fifo)
    code, err, to = run(mpcc, ["compile", BT / "model.onnx", "-o", fifo] + BT_SHAPES)
    o = classify(code, err, to, ["not a regular file"])
    case(8, "compile -o a FIFO (a device such as /dev/full alike)",
         o if fifo.is_fifo() else "silent")
    code, err, to = run(mpcc, ["run", bt_plan, "--reference", BT / "reference.json",
                               "--output-dir", tmp / "o8f", "--profile", fifo])
    case(8, "--profile to a FIFO", classify(code, err, to, ["profile"],
                                             [tmp / "o8f/last_hidden_state.npy"]))

    # 9. Misleading errors.
    ext = MODELS / "bert-tiny-external"
    out = tmp / "o9"
    plan = tmp / "ext.plan"
    code, err, to = run(mpcc, ["compile", ext / "model.onnx", "-o", plan] + BT_SHAPES)
    if code == 0:
        code, err, to = run(mpcc, ["run", plan, "--reference", BT / "reference.json",
                                   "--output-dir", out])
    case(9, "external data compiles and runs", "correct" if code == 0 else classify(code, err, to, []))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for peers, words in [(f"127.0.0.1:{port},127.0.0.1:{port},127.0.0.1:{port + 1}", ["same address"]),
                         ("127.0.0.1:0,127.0.0.1:1,127.0.0.1:2", ["port 0"])]:
        code, err, to = run(mpcc, ["party", "--id", "0", "--plan", bt_plan, "--peers", peers],
                            timeout=60)
        case(9, f"--peers {peers}", classify(code, err, to, words))
    notok = tmp / "config.json"
    notok.write_text('{"hidden_size": 128}')
    out = tmp / "o9t"
    code, err, to = run(mpcc, ["run", bt_plan, "--text", "hi", "--tokenizer", notok,
                               "--output-dir", out])
    case(9, "a JSON file that is no tokenizer", classify(code, err, to, ["tokenizer"]))
    m = onnx.load(str(BT / "model.onnx"))
    for n in m.graph.node:
        if n.op_type == "Erf":
            n.op_type = "Loop"
            break
    loop = tmp / "loop.onnx"
    onnx.save(m, str(loop))
    code, err, to = run(mpcc, ["compile", loop, "-o", tmp / "loop.plan"] + BT_SHAPES)
    case(9, "a Loop node", classify(code, err, to, ["Loop", "fixed sequence length"]))

    counts = {}
    for _, _, o in results:
        counts[o] = counts.get(o, 0) + 1
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) +
          f" ({len(results)} cases)")
    shutil.rmtree(tmp, ignore_errors=True)
    bad = sum(counts.get(k, 0) for k in ["panic", "hang", "partial", "silent"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
