//! Golden cost reports of the bundled BERT-tiny (models/bert-tiny) compiled at [1, 16]: the
//! text report (by op type and layer, LAN) and the JSON report (WAN). Re-bless after a
//! deliberate change to a kernel's cost or to a pass with
//! `INSTA_UPDATE=always cargo test --release -p mpcc-compiler --test report_bert_tiny`.

use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::FrontendOptions;
use mpcc_compiler::report::{self, GroupBy, Network};
use mpcc_ir::plan::Plan;
use mpcc_passes::PassOptions;
use std::path::PathBuf;

fn bert_tiny_plan() -> Plan {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
    let shapes = ["input_ids", "attention_mask", "token_type_ids"]
        .iter()
        .map(|n| (n.to_string(), vec![1, 16]))
        .collect();
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: shapes,
            public_weights: false,
            frac_bits: 18,
            ..FrontendOptions::default()
        },
        passes: PassOptions::default(),
    };
    backend::compile(&model, &opts)
        .expect("bert-tiny compiles")
        .0
}

/// The LAN text report of BERT-tiny, grouped by op type and by layer, matches its golden.
#[test]
fn golden_text_bert_tiny() {
    let r = report::predicted(&bert_tiny_plan(), &Network::LAN);
    let text = r
        .to_text(&[GroupBy::Op, GroupBy::Layer])
        .replace(&r.plan_digest[..12], "<digest>");
    insta::assert_snapshot!("bert_tiny_text_lan", text);
}

/// The WAN JSON report of BERT-tiny (every node, op type and layer) matches its golden.
#[test]
fn golden_json_bert_tiny() {
    let r = report::predicted(&bert_tiny_plan(), &Network::WAN);
    let mut v = r.to_json();
    v["plan_digest"] = "<digest>".into();
    insta::assert_json_snapshot!("bert_tiny_json_wan", v);
}
