//! Issue 11, MPCViT on a real export: vit-tiny compiled with `--approx mpcvit` and an
//! attention map (layer 0: head 0 ReLU-softmax, head 1 scaling attention; layer 1: head 0
//! PUMA's softmax, head 1 ReLU-softmax) runs on three VM parties and matches the plaintext
//! interpreter of the same lowered graph (measured 2.6e-5; allowed 1e-3); the per-head
//! recipes are the map's (vit-tiny's attention softmax is [heads, seq, seq] at batch 1), and
//! the plan is cheaper than `puma`'s (546 rounds against 570). `golden_ir_per_head` keeps the
//! lowered softmax of both layers as golden IR (snapshots/mpcvit__vit_tiny_layer*_softmax.snap).

use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::cli::compile::attention_map;
use mpcc_compiler::frontend::FrontendOptions;
use mpcc_ir::{Op, Weights};
use mpcc_passes::{PassOptions, Policy};
use mpcc_runtime::{party_data, run_local, HostTensor, RunOptions};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const MAP: &str = r#"{"0": {"0": "relu-softmax", "1": "scaling"},
                      "1": {"0": "softmax", "1": "relu-softmax"}}"#;

fn options(policy: Policy, map: Option<&str>) -> CompileOptions {
    CompileOptions {
        frontend: FrontendOptions {
            input_shapes: vec![("pixel_values".into(), vec![1, 3, 32, 32])],
            ..FrontendOptions::default()
        },
        passes: PassOptions {
            policy,
            overrides: map.map(|m| attention_map(m).unwrap()).unwrap_or_default(),
            ..PassOptions::default()
        },
    }
}

#[test]
fn vit_tiny_with_an_attention_map() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/vit-tiny/model.onnx");
    let (graph, weights) = backend::lower(&model, &options(Policy::MPCVIT, Some(MAP))).unwrap();
    // Each layer's softmax is split per head: a relu (ReLU-softmax) in one head of each
    // layer, a max tree (PUMA's softmax) in layer 1's head 0.
    let count = |name: &str| graph.nodes.iter().filter(|n| n.op.name() == name).count();
    assert_eq!(count("max_axis"), 1, "one head keeps PUMA's softmax");
    assert_eq!(count("relu"), 2, "one ReLU-softmax head in each layer");
    let pixels: Vec<f64> = (0..3 * 32 * 32)
        .map(|i| ((i as f64) * 0.37).sin() * 0.9)
        .collect();
    let inputs: HashMap<String, Vec<f64>> = [("pixel_values".to_string(), pixels.clone())].into();
    let want = mpcc_ir::interp::eval(&graph, &inputs, &weights).unwrap()["logits"].clone();
    let (plan, weights): (_, Weights) = backend::build_plan(graph, weights).unwrap();
    let host: HashMap<String, HostTensor> = [(
        "pixel_values".to_string(),
        HostTensor {
            shape: vec![1, 3, 32, 32],
            data: pixels,
        },
    )]
    .into();
    let data = party_data(&plan, &host, Some(Arc::new(weights)));
    let r = run_local(&plan, data, &RunOptions::default()).unwrap();
    let got = &r.outputs["logits"].data;
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        err <= 1e-3,
        "VM {err} off the interpreter of the same graph"
    );
    // Cheaper than puma: three of four heads without a max tree or an exp.
    let puma = backend::compile(&model, &options(Policy::PUMA, None))
        .unwrap()
        .0;
    let rounds = |p: &mpcc_ir::plan::Plan| -> u64 {
        p.graph()
            .nodes
            .iter()
            .map(|n| mpcc_runtime::node_cost(p.graph(), n).rounds)
            .sum()
    };
    assert!(
        rounds(&plan) < rounds(&puma),
        "{} vs {}",
        rounds(&plan),
        rounds(&puma)
    );
    let maxes = plan
        .graph()
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::MaxAxis { .. }))
        .count();
    assert_eq!(
        maxes, 1,
        "only the softmax head computes a row maximum and an exp"
    );
}

/// A malformed map is refused with the layer and head.
#[test]
fn bad_attention_maps() {
    let e = attention_map(r#"{"0": {"1": "gelu"}}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 0 head 1"), "{e}");
    let e = attention_map(r#"{"x": {}}"#).unwrap_err().to_string();
    assert!(e.contains("layer 'x'"), "{e}");
    assert!(attention_map("[]").is_err());
}

/// Golden IR: the lowered softmax of each vit-tiny layer under the map above, every head as
/// the map says (layer 0: head 0 ReLU-softmax, head 1 scaling attention; layer 1: head 0 the
/// default softmax, head 1 ReLU-softmax): the instructions whose ONNX node is the layer's
/// attention Softmax, in plan order.
#[test]
fn golden_ir_per_head() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/vit-tiny/model.onnx");
    let (graph, _) = backend::lower(&model, &options(Policy::MPCVIT, Some(MAP))).unwrap();
    let text = graph.to_string();
    for layer in 0..2 {
        let origin = format!("layer.{layer}/attention/attention/Softmax\"");
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(&origin)).collect();
        assert!(
            !lines.is_empty(),
            "no softmax instructions for layer {layer}"
        );
        insta::assert_snapshot!(format!("vit_tiny_layer{layer}_softmax"), lines.join("\n"));
    }
}
