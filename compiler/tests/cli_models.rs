//! The `mpcc` binary on a real export: compile the bundled BERT-tiny, run it from .npy
//! inputs and from its reference file, and compare with onnxruntime.

use mpcc_compiler::io::{self, Reference};
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{mpcc, text};

fn bert_tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny")
}

/// Compiles BERT-tiny through the CLI, checks the summary and the IR file, runs it on the
/// reference inputs written as .npy files, and finds the output within the e2e tolerance.
#[test]
fn compile_and_run_bert_tiny() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("bert-tiny.plan");
    let ir = tmp.path().join("bert-tiny.ir");
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
        "--emit-ir",
        ir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("input_ids            int64 [1, 16] from client (party 1)"));
    assert!(stdout.contains("last_hidden_state    [1, 16, 64] to client (party 1)"));
    assert!(stdout.contains("predicted:"), "{stdout}");
    assert!(plan.with_extension("weights").exists());
    let ir_text = std::fs::read_to_string(&ir).unwrap();
    assert!(
        ir_text.starts_with("# 64 public constants taken from the model"),
        "{ir_text}"
    );
    assert!(ir_text.contains("\ngraph frac_bits=18\n"));
    mpcc_ir::text::parse(&ir_text).expect("the IR text with its comments parses");

    let reference = Reference::load(&bert_tiny().join("reference.json")).unwrap();
    let files = reference.write_inputs(tmp.path()).unwrap();
    let out_dir = tmp.path().join("out");
    let mut args: Vec<String> = vec!["run".into(), plan.to_str().unwrap().into()];
    for (name, path) in &files {
        args.push("--input".into());
        args.push(format!("{name}={}", path.display()));
    }
    args.extend(["--output-dir".into(), out_dir.to_str().unwrap().into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = mpcc(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = io::read_npy(&out_dir.join("last_hidden_state.npy")).unwrap();
    let want = reference.output("last_hidden_state").unwrap();
    assert_eq!(got.tensor.shape, want.shape);
    let a = io::agreement(&got.tensor.data, &want.data);
    assert!(a.max_abs <= 0.03 && a.cosine >= 0.9999, "{a:?}");
}

/// `mpcc run --shape` runs BERT-tiny over shaped in-process links with the same counted
/// rounds and bytes as without shaping, and refuses an unknown shape with a clear message.
#[test]
fn run_with_link_shaping() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("bt.plan");
    let model = bert_tiny().join("model.onnx");
    let reference = bert_tiny().join("reference.json");
    let shapes = [
        "input_ids=1,16",
        "attention_mask=1,16",
        "token_type_ids=1,16",
    ];
    let mut args = vec![
        "compile",
        model.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
    ];
    for s in &shapes {
        args.extend(["--input-shape", s]);
    }
    assert!(mpcc(&args).status.success());
    let run = |shape: Option<&str>| {
        let out = dir.path().join("out");
        let mut a = vec![
            "run",
            plan.to_str().unwrap(),
            "--reference",
            reference.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ];
        if let Some(s) = shape {
            a.extend(["--shape", s]);
        }
        mpcc(&a)
    };
    let counted = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("rounds:") || l.starts_with("bytes sent:"))
            .map(String::from)
            .collect()
    };
    let plain = run(None);
    let shaped = run(Some("1gbit,1ms"));
    assert!(
        plain.status.success() && shaped.status.success(),
        "{}",
        text(&shaped.stderr)
    );
    assert_eq!(counted(&plain), counted(&shaped));
    assert_eq!(counted(&plain).len(), 2);
    let bad = run(Some("fast"));
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("--shape fast"),
        "{}",
        text(&bad.stderr)
    );
}
