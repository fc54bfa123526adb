//! Helpers shared by the pass tests: small graph builders, the IR fixtures and the
//! interpreter harness.
#![allow(dead_code)]

use mpcc_ir::interp::eval;
use mpcc_ir::*;
use std::collections::HashMap;

/// The IR fixture `tests/fixtures/ir/NAME.ir` of the workspace, parsed and verified.
pub fn fixture(name: &str) -> Graph {
    let path = format!(
        "{}/../tests/fixtures/ir/{name}.ir",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let g = mpcc_ir::text::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    g.verify(false).unwrap_or_else(|e| panic!("{path}: {e}"));
    g
}

/// A client input `name` of `shape` at scale 18.
pub fn input(g: &mut Graph, name: &str, shape: &[usize]) -> ValueId {
    let op = Op::Input {
        name: name.into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    g.add(op, &[], ValueType::z64(shape, 18, Vis::Client), name)
}

/// An output `y` of `v`.
pub fn output(g: &mut Graph, v: ValueId) {
    let t = g.ty(v).clone();
    let op = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(op, &[v], t, "y");
}

/// `x` of `shape` → `op` (same type) → output.
pub fn unary_graph(op: Op, shape: &[usize]) -> Graph {
    let mut g = Graph::new(18);
    let x = input(&mut g, "x", shape);
    let t = g.ty(x).clone();
    let y = g.add(op, &[x], t, "op");
    output(&mut g, y);
    g
}

/// Evaluates `g` on the named inputs; returns output `y`.
pub fn run(g: &Graph, inputs: &[(&str, &[f64])]) -> Vec<f64> {
    let map: HashMap<String, Vec<f64>> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    let mut outs = eval(g, &map, &Weights::default()).expect("the graph evaluates");
    outs.remove("y").expect("output y")
}

/// The largest absolute difference of two equally long vectors.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// `n` evenly spaced points on `[lo, hi]`.
pub fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// Relative tolerance of a lowered recipe against its own formula: real arithmetic with an
/// exact reciprocal, so only f64 rounding.
pub const FORMULA: f64 = 1e-12;

/// `g` lowered under `policy` with `overrides`.
pub fn lower(g: &Graph, policy: mpcc_passes::Policy, overrides: &[&str]) -> Graph {
    let opts = mpcc_passes::PassOptions {
        policy,
        overrides: overrides.iter().map(|o| o.parse().unwrap()).collect(),
        ..mpcc_passes::PassOptions::default()
    };
    mpcc_passes::run_pipeline(g.clone(), &opts).unwrap()
}

/// Checks `got` against `want` within [`FORMULA`] relative (absolute below 1).
pub fn check_formula(want: &[f64], got: &[f64]) {
    assert_eq!(want.len(), got.len());
    for (p, q) in want.iter().zip(got) {
        assert!((p - q).abs() <= FORMULA * p.abs().max(1.0), "{p} vs {q}");
    }
}

/// The op names of a graph.
pub fn op_names(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}
