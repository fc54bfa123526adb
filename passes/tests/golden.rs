//! Golden tests of the printed IR before and after each pass, on a small block (matmul, RMS
//! norm, GeLU, attention softmax, division, sqrt and the other activations; the fixture
//! `tests/fixtures/ir/passes-block.ir`), and of recipe overrides by layer and by head.
//!
//! The expected texts live in `tests/snapshots/` (insta). After an intended change, bless
//! them with `INSTA_UPDATE=always cargo test --release -p mpcc-passes --test golden` (or
//! `cargo insta review`) and review the diff in git.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::*;

/// Snapshots the block before and after each pass of the pipeline, in order.
#[test]
fn block_through_each_pass() {
    let mut g = fixture("passes-block");
    let ctx = PassCtx::default();
    for pass in PASSES {
        let before = g.to_string();
        g = run_passes(g, &[pass.name], &ctx).unwrap();
        let text = format!("{before}\n--- after {} ---\n\n{g}", pass.name);
        insta::assert_snapshot!(pass.name, text);
    }
    g.verify(true).unwrap();
}

/// A chain that every truncation rule touches, before and after `fuse_trunc`.
#[test]
fn trunc_rules() {
    let g = fixture("passes-trunc-rules");
    g.verify(true).unwrap();
    let before = g.to_string();
    let after = run_passes(g, &["fuse_trunc"], &PassCtx::default()).unwrap();
    insta::assert_snapshot!(
        "fuse_trunc_rules",
        format!("{before}\n--- after fuse_trunc ---\n\n{after}")
    );
}

/// Each node's ops and types by origin, without value ids: what two lowerings of one graph
/// can be compared by.
fn by_origin(g: &Graph) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
    for n in &g.nodes {
        let line = format!("{:?} : {}", n.op, g.ty(n.output));
        m.entry(n.origin.clone()).or_default().push(line);
    }
    m
}

/// The origins whose lowering differs between `a` and `b`.
fn changed_origins(a: &Graph, b: &Graph) -> Vec<String> {
    let (a, b) = (by_origin(a), by_origin(b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    a.keys().filter(|k| a[*k] != b[*k]).cloned().collect()
}

/// Lowers the overrides fixture with `overrides` over `puma`.
fn lower_with(overrides: &[&str]) -> Graph {
    let opts = PassOptions {
        overrides: overrides.iter().map(|o| o.parse().unwrap()).collect(),
        ..PassOptions::default()
    };
    run_pipeline(fixture("passes-overrides"), &opts).unwrap()
}

/// An override by layer changes that layer's softmax only; one by head splits that softmax
/// into per-head slices (head 0 with `puma`, head 1 with `puma-paper`) and changes nothing
/// else. The snapshots show the lowered IR.
#[test]
fn overrides_by_layer_and_head() {
    let plain = lower_with(&[]);
    let layer = lower_with(&["op:Softmax,layer:1=puma-paper"]);
    assert_eq!(
        changed_origins(&plain, &layer),
        ["/encoder/layer.1/attention/self/Softmax"]
    );
    let head = lower_with(&["op:Softmax,layer:0,head:1=puma-paper"]);
    assert_eq!(
        changed_origins(&plain, &head),
        ["/encoder/layer.0/attention/self/Softmax"]
    );
    let gelu = lower_with(&["layer:1=puma-paper-gelu"]);
    assert_eq!(
        changed_origins(&plain, &gelu),
        ["/encoder/layer.1/intermediate/Gelu"]
    );
    insta::assert_snapshot!("override_by_layer", layer.to_string());
    insta::assert_snapshot!("override_by_head", head.to_string());
}

/// Splitting a softmax by head computes the same function as lowering it whole when both
/// groups use one recipe (`mpcc-softmax` named for head 1 over the `puma` policy leaves the
/// softmax whole), and per head otherwise.
#[test]
fn per_head_lowering_computes_the_softmax() {
    let same = lower_with(&["op:softmax,layer:0,head:1=mpcc-softmax"]);
    assert_eq!(same, lower_with(&[]));
    let xs = grid(-4.0, 4.0, 12);
    let high = fixture("passes-overrides");
    let split = lower_with(&["op:Softmax,head:0=puma-paper"]);
    let err = max_abs_diff(&run(&high, &[("s", &xs)]), &run(&split, &[("s", &xs)]));
    assert!(err < 1e-2, "{err:e}");
}
