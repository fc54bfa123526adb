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

/// Issue 15: the export folder as input. models/bert-tiny-seqcls holds what `optimum-cli
/// export onnx` writes (model.onnx, config.json with id2label, tokenizer.json: a small
/// WordPiece vocabulary inside the model's 1000 ids). `mpcc compile DIR --batch 2 --seq 16`
/// writes the plan and the client file, and `mpcc run PLAN --text A --text B` needs no
/// tokenizer flag and prints each text's label and softmax score. The expected scores are
/// softmax(onnxruntime's logits) for the same token ids (made with onnxruntime 1.x:
/// logits [[0.04999378, 0.02145458], [0.04983767, 0.02120204]]).
#[test]
fn export_folder_classifier_prints_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("sc.plan");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny-seqcls");
    let p = plan.to_str().unwrap();
    let out = mpcc(&[
        "compile",
        dir.to_str().unwrap(),
        "-o",
        p,
        "--batch",
        "2",
        "--seq",
        "16",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("task text-classification, 2 labels, tokenizer"),
        "{stdout}"
    );
    let client = std::fs::read_to_string(tmp.path().join("sc.client.json")).unwrap();
    assert!(
        client.contains("\"NEGATIVE\"") && !client.contains("weight"),
        "{client}"
    );
    let texts = [
        "I loved the movie, the acting was wonderful!",
        "A boring film. The plot was awful.",
    ];
    let outdir = tmp.path().join("out");
    let o = outdir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            p,
            "--text",
            texts[0],
            "--text",
            texts[1],
            "--output-dir",
            o,
        ];
        args.extend(extra);
        let out = mpcc(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let stdout = run(&[]);
    let want = [0.507_134_3, 0.507_158_4];
    for (t, w) in texts.iter().zip(want) {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{t:?}: ")))
            .unwrap_or_else(|| panic!("no answer for {t}:\n{stdout}"));
        let rest = line.split(": ").nth(1).unwrap();
        assert!(rest.starts_with("NEGATIVE ("), "{line}");
        let score: f64 = rest["NEGATIVE (".len()..rest.len() - 1].parse().unwrap();
        assert!((score - w).abs() < 1e-3, "{line}: want {w}");
    }
    let json: serde_json::Value = serde_json::from_str(
        run(&["--json", "--top-k", "2"])
            .lines()
            .skip_while(|l| !l.starts_with('['))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .expect("JSON answers");
    assert_eq!(json[1][1]["label"], "POSITIVE");
    let s = json[1][1]["score"].as_f64().unwrap();
    assert!((s - (1.0 - want[1])).abs() < 1e-3, "{s}");
}

/// Issue 15: sentence embeddings as sentence-transformers computes them. all-MiniLM-L6-v2
/// compiled with `--task feature-extraction --pool mean --normalize` at [2, 32]; `mpcc run`
/// writes sentence_embedding.npy, whose rows match the mean over the attention mask, then L2,
/// of onnxruntime's last_hidden_state with cosine >= 0.9999 (measured 0.99998 in
/// tests/tests/e2e_minilm.rs).
#[test]
fn minilm_sentence_embeddings_from_the_cli() {
    let dir = std::env::var("MPCC_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/all-minilm-l6-v2")
        });
    if !dir.join("model.onnx").exists() {
        println!(
            "skipped: all-MiniLM-L6-v2 not found at {} (set MPCC_MINILM_DIR)",
            dir.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("minilm.plan");
    let p = plan.to_str().unwrap();
    let model = dir.join("model.onnx");
    let flags = [
        "--batch",
        "2",
        "--seq",
        "32",
        "--task",
        "feature-extraction",
    ];
    let mut args = vec!["compile", model.to_str().unwrap(), "-o", p];
    args.extend(flags);
    args.extend(["--pool", "mean", "--normalize"]);
    let out = mpcc(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refpath = dir.join("reference.json");
    let outdir = tmp.path().join("out");
    let run = mpcc(&[
        "run",
        p,
        "--reference",
        refpath.to_str().unwrap(),
        "--output-dir",
        outdir.to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        stdout.contains("sentence embeddings written to"),
        "{stdout}"
    );
    let got = io::read_npy(&outdir.join("sentence_embedding.npy"))
        .unwrap()
        .tensor;
    assert_eq!(got.shape, vec![2, 384]);
    let r = Reference::load(&refpath).unwrap();
    let hidden = r.output("last_hidden_state").unwrap().tensor();
    let mask = r.input("attention_mask").unwrap().tensor();
    let want = mpcc_compiler::client::pool(
        &hidden.data,
        &hidden.shape,
        Some(&mask.data),
        mpcc_compiler::client::Pool::Mean,
        true,
    )
    .unwrap();
    for (i, w) in want.iter().enumerate() {
        let g = &got.data[i * 384..(i + 1) * 384];
        let c = io::agreement(g, w).cosine;
        assert!(c >= 0.9999, "sentence {i}: cosine {c}");
    }
}
