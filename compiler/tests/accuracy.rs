//! Issue 11, `mpcc accuracy`: the ring-exact simulation it reports on is what `mpcc run`
//! computes, within the truncations' rounding noise, and its figures against onnxruntime
//! are the run's; each policy's loss on bert-tiny is what docs/PASSES.md states.

use mpcc_compiler::cli::accuracy::{measure, Args};
use mpcc_compiler::io::{self, Reference};
use mpcc_passes::Policy;
use std::path::{Path, PathBuf};

mod common;
use common::{mpcc, text};

fn bert_tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny")
}

fn args(policy: Policy) -> Args {
    Args {
        model: bert_tiny().join("model.onnx"),
        calibrate: vec![bert_tiny().join("reference.json")],
        input_shapes: Vec::new(),
        approx: policy,
        approx_override: Vec::new(),
        frac_bits: 18,
        json: false,
    }
}

/// The simulated output equals a three-party `mpcc run` of the same plan within 1e-3 (the
/// truncations round randomly in the VM, exactly in the simulation), and the two agree
/// with onnxruntime alike.
#[test]
fn simulation_is_what_run_computes() {
    let r = measure(&args(Policy::PUMA)).unwrap();
    let o = &r.outputs[0];
    assert_eq!(o.output, "last_hidden_state");
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("bt.plan");
    let model = bert_tiny().join("model.onnx");
    let out = mpcc(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
        "--input-shape",
        "input_ids=1,16",
        "--input-shape",
        "attention_mask=1,16",
        "--input-shape",
        "token_type_ids=1,16",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reference = bert_tiny().join("reference.json");
    let out_dir = tmp.path().join("out");
    let out = mpcc(&[
        "run",
        plan.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vm = io::read_npy(&out_dir.join("last_hidden_state.npy")).unwrap();
    let a = io::agreement(&vm.tensor.data, &o.simulated);
    assert!(a.max_abs <= 1e-3, "VM vs simulation {a:?}");
    let ort = Reference::load(&reference).unwrap();
    let want = &ort.output("last_hidden_state").unwrap().data;
    let run_err = io::agreement(&vm.tensor.data, want).max_abs;
    let acc_err = o.vs_onnxruntime.as_ref().unwrap().max_abs;
    assert!((run_err - acc_err).abs() <= 1e-3, "{run_err} vs {acc_err}");
}

/// bert-tiny's last hidden state per policy against the exact model (docs/PASSES.md):
/// `puma` and `puma-paper` near exact, the retrain-required recipes visibly off.
#[test]
fn policy_losses_on_bert_tiny() {
    let cos = |p: Policy| measure(&args(p)).unwrap().outputs[0].vs_exact.cosine;
    assert!(cos(Policy::PUMA) >= 0.99999);
    assert!(cos(Policy::PUMA_PAPER) >= 0.99999);
    let m = cos(Policy::MPCFORMER);
    assert!((0.98..0.995).contains(&m), "{m}");
    let v = cos(Policy::MPCVIT);
    assert!((0.999..0.99995).contains(&v), "{v}");
}

/// The CLI prints the same as JSON, with the argmax agreement for logits.
#[test]
fn cli_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny-seqcls");
    let out = mpcc(&[
        "accuracy",
        dir.join("model.onnx").to_str().unwrap(),
        "--calibrate",
        dir.join("reference.json").to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(v["policy"], "puma");
    assert_eq!(v["outputs"][0]["output"], "logits");
    assert_eq!(v["outputs"][0]["vs_onnxruntime"]["argmax"], 1.0);
}

/// Per-layer figures: one entry per layer of bert-tiny (embeddings, layer.0, layer.1), each
/// the output of the layer's last ONNX node; the last layer's is the model's output, so its
/// figures are the output's against the exact model. Under `mpcformer` the layers' errors
/// show where the loss comes in: the embeddings are untouched, the layers are off.
#[test]
fn per_layer_figures() {
    let r = measure(&args(Policy::PUMA)).unwrap();
    let layers: Vec<&str> = r.layers.iter().map(|l| l.layer.as_str()).collect();
    for want in ["embeddings", "layer.0", "layer.1"] {
        assert!(layers.contains(&want), "{layers:?}");
    }
    let last = r.layers.iter().find(|l| l.layer == "layer.1").unwrap();
    let out = &r.outputs[0].vs_exact;
    assert!(
        (last.vs_exact.max_abs - out.max_abs).abs() < 1e-12,
        "{last:?} vs {out:?}"
    );
    assert!(
        r.layers.iter().all(|l| l.vs_exact.cosine > 0.99999),
        "{:?}",
        r.layers
    );
    let m = measure(&args(Policy::MPCFORMER)).unwrap();
    let cos = |layer: &str| {
        m.layers
            .iter()
            .find(|l| l.layer == layer)
            .unwrap()
            .vs_exact
            .cosine
    };
    assert!(cos("embeddings") > 0.99999);
    assert!(cos("layer.1") < 0.999, "{}", cos("layer.1"));
}

/// Text calibration (issue 11's tuner takes sentences): a text file with one sentence per
/// line, encoded with the export's tokenizer, gives one report per line against the exact
/// model (no onnxruntime outputs to compare with), with the argmax agreement for logits.
#[test]
fn text_calibration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny-seqcls");
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("sentences.txt");
    std::fs::write(
        &text,
        "the cat sat on the mat\nhello world\nsecure computation\n",
    )
    .unwrap();
    let shapes = ["input_ids", "attention_mask", "token_type_ids"]
        .iter()
        .map(|n| (n.to_string(), vec![1, 16]))
        .collect();
    let r = measure(&Args {
        model: dir.join("model.onnx"),
        calibrate: vec![text.clone()],
        input_shapes: shapes,
        approx: Policy::PUMA,
        approx_override: Vec::new(),
        frac_bits: 18,
        json: false,
    })
    .unwrap();
    assert_eq!(r.outputs.len(), 3);
    for (i, o) in r.outputs.iter().enumerate() {
        assert!(o.input.ends_with(&format!(":{}", i + 1)), "{}", o.input);
        assert!(o.vs_onnxruntime.is_none());
        assert!(o.vs_exact.cosine >= 0.99999, "{:?}", o.vs_exact);
        assert_eq!(o.vs_exact.argmax, Some(1.0));
    }
}
