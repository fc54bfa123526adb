//! `mpcc inspect`: every bundled fixture has only supported operators, an unsupported one is
//! named with its node (by inspect and by compile's error), the report on bert-tiny-seqcls's export folder is kept as a golden
//! file, and the operator table in docs/ONNX-OPS.md is the one inspect uses.

use mpcc_compiler::cli::inspect::inspect;
use mpcc_compiler::frontend::support::{Support, ONNX_OPS};
use prost::Message;
use std::path::{Path, PathBuf};
use tract_onnx::prelude::Framework;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// No bundled fixture holds an operator inspect calls unsupported.
#[test]
fn fixtures_have_no_unsupported_operator() {
    for entry in std::fs::read_dir(models()).unwrap() {
        let dir = entry.unwrap().path();
        let model = dir.join("model.onnx");
        if !model.exists() {
            continue;
        }
        let report = inspect(&model).unwrap();
        assert!(
            !report.contains("NOT SUPPORTED"),
            "{}:\n{report}",
            model.display()
        );
        assert!(report.contains("every operator has a lowering"), "{report}");
    }
}

/// A model with one operator mpcc has no lowering for (bert-tiny with its first `Erf` made a
/// `Relu`) is reported with that node's name.
#[test]
fn unsupported_operator_is_named_with_its_node() {
    let model = models().join("bert-tiny/model.onnx");
    let mut proto = tract_onnx::onnx().proto_model_for_path(&model).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let n = graph.node.iter_mut().find(|n| n.op_type == "Erf").unwrap();
    n.op_type = "Relu".into();
    let node = n.name.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relu.onnx");
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    let report = inspect(&path).unwrap();
    assert!(
        report.contains("Relu                       1  NOT SUPPORTED"),
        "{report}"
    );
    assert!(
        report.contains(&format!("  Relu at node '{node}'")),
        "{report}"
    );
    // `mpcc compile` refuses the same node with the same line, before tract turns the Relu
    // into a `Max` that the error would otherwise name.
    let opts = mpcc_compiler::frontend::FrontendOptions {
        input_shapes: ["input_ids", "attention_mask", "token_type_ids"]
            .iter()
            .map(|n| (n.to_string(), vec![1, 8]))
            .collect(),
        ..Default::default()
    };
    let Err(err) = mpcc_compiler::frontend::load(&path, &opts) else {
        panic!("compile accepts a model with an unsupported operator");
    };
    let err = err.to_string();
    assert!(err.contains(&format!("  Relu at node '{node}'")), "{err}");
    assert!(err.contains("mpcc inspect"), "{err}");
    assert!(!err.contains("Max"), "{err}");
}

/// The report on the export folder of bert-tiny-seqcls.
#[test]
fn golden_inspect_export_folder() {
    let report = inspect(Path::new("../models/bert-tiny-seqcls")).unwrap();
    insta::assert_snapshot!(report);
}

/// docs/ONNX-OPS.md's "ONNX operators" table lists exactly [`ONNX_OPS`], with the same
/// support.
#[test]
fn docs_table_is_the_inspect_table() {
    let md = std::fs::read_to_string(models().join("../docs/ONNX-OPS.md")).unwrap();
    let start = md
        .find("| ONNX op | support |")
        .expect("the ONNX operators table");
    let rows: Vec<(String, String)> = md[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = ONNX_OPS
        .iter()
        .map(|(op, s)| (op.to_string(), Support::word(*s).to_string()))
        .collect();
    assert_eq!(rows, want);
}

/// Control flow gets the sequence-length advice (issue 14, item 9): bert-tiny with an `Erf`
/// made a `Loop` is refused naming the node, and the error says why a plan cannot hold it
/// and how to export instead; an operator that is merely missing gets no such advice.
#[test]
fn control_flow_gets_the_sequence_length_hint() {
    let model = models().join("bert-tiny/model.onnx");
    let opts = mpcc_compiler::frontend::FrontendOptions {
        input_shapes: ["input_ids", "attention_mask", "token_type_ids"]
            .iter()
            .map(|n| (n.to_string(), vec![1, 8]))
            .collect(),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    for (op, hint) in [("Loop", true), ("NonZero", true), ("Relu", false)] {
        let mut proto = tract_onnx::onnx().proto_model_for_path(&model).unwrap();
        let graph = proto.graph.as_mut().unwrap();
        let n = graph.node.iter_mut().find(|n| n.op_type == "Erf").unwrap();
        n.op_type = op.into();
        let node = n.name.clone();
        let path = dir.path().join(format!("{op}.onnx"));
        std::fs::write(&path, proto.encode_to_vec()).unwrap();
        let Err(err) = mpcc_compiler::frontend::load(&path, &opts) else {
            panic!("compile accepts a model with {op}");
        };
        let err = err.to_string();
        assert!(err.contains(&format!("  {op} at node '{node}'")), "{err}");
        assert_eq!(
            err.contains("fixed sequence length") && err.contains("--input-shape"),
            hint,
            "{err}"
        );
    }
}
