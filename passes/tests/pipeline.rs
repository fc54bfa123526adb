//! The pass pipeline: its output holds kernels only and verifies, `stop_after` stops after
//! the given number of passes, errors name the pass or the ONNX node, origins survive, and
//! `fuse_trunc` leaves ring results bit-for-bit unchanged.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::*;
use proptest::prelude::*;
use std::collections::HashSet;

/// Input → every high-level op in a chain → output.
fn chain() -> Graph {
    fixture("passes-chain")
}

/// The whole pipeline leaves kernel ops only; the result verifies with `kernels_only`.
#[test]
fn pipeline_output_is_kernels_only() {
    let g = run_pipeline(chain(), &PassOptions::default()).unwrap();
    g.verify(true).unwrap();
    assert!(g.nodes.iter().all(|n| n.op.is_kernel()));
    assert!(g
        .nodes
        .iter()
        .any(|n| matches!(n.op, Op::PiecewisePoly { .. })));
}

/// Every node a lowering creates keeps the origin of the node it replaces.
#[test]
fn origins_are_kept() {
    let before = chain();
    let origins: HashSet<String> = before.nodes.iter().map(|n| n.origin.clone()).collect();
    let after = run_pipeline(before, &PassOptions::default()).unwrap();
    for n in &after.nodes {
        assert!(
            origins.contains(&n.origin),
            "{} has a new origin {:?}",
            n.op.name(),
            n.origin
        );
    }
    let softmax = after.nodes.iter().filter(|n| n.origin == "softmax").count();
    assert_eq!(softmax, 20, "{after}");
}

/// `stop_after: Some(k)` runs exactly the first k passes; 0 leaves the graph as it was.
#[test]
fn stop_after_runs_a_prefix() {
    let g = chain();
    for k in 0..=PASSES.len() + 1 {
        let opts = PassOptions {
            stop_after: Some(k),
            ..PassOptions::default()
        };
        let got = run_pipeline(g.clone(), &opts).unwrap();
        let names: Vec<&str> = PASSES.iter().take(k).map(|p| p.name).collect();
        let want = run_passes(g.clone(), &names, &PassCtx::default()).unwrap();
        assert_eq!(got, want, "stop_after {k}");
    }
    let none = PassOptions {
        stop_after: Some(0),
        ..PassOptions::default()
    };
    assert_eq!(run_pipeline(g.clone(), &none).unwrap(), g);
    let one = PassOptions {
        stop_after: Some(1),
        ..PassOptions::default()
    };
    let after_one = run_pipeline(g, &one).unwrap();
    assert!(after_one
        .nodes
        .iter()
        .any(|n| matches!(n.op, Op::Softmax { .. })));
    assert!(!after_one.nodes.iter().any(|n| matches!(n.op, Op::Gelu)));
}

/// The pass table has unique names and descriptions; unknown names are refused by name.
#[test]
fn pass_table() {
    let names: HashSet<&str> = PASSES.iter().map(|p| p.name).collect();
    assert_eq!(names.len(), PASSES.len());
    assert!(PASSES.iter().all(|p| !p.description.is_empty()));
    assert_eq!(find_pass("fuse_trunc").unwrap().name, "fuse_trunc");
    let e = run_passes(chain(), &["nope"], &PassCtx::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unknown pass 'nope' (known: lower_activations, "),
        "{e}"
    );
    assert_eq!("puma".parse::<Policy>(), Ok(Policy::PUMA));
    assert_eq!(
        "fast".parse::<Policy>().unwrap_err(),
        "unknown approximation policy 'fast' (known: puma, puma-paper, mpcformer, secformer, mpcvit)"
    );
}

/// An invalid input graph is reported against the pseudo-pass "input"; an unlowerable node
/// names its ONNX node.
#[test]
fn errors_name_pass_and_node() {
    let mut g = chain();
    g.nodes[1].inputs = vec![ValueId(9)];
    let e = run_pipeline(g, &PassOptions::default()).unwrap_err();
    assert!(matches!(e, PassError::Verify { pass: "input", .. }), "{e}");
    let g = unary_graph(Op::Softmax { axis: 2 }, &[2, 3]);
    let e = run_pipeline(g, &PassOptions::default()).unwrap_err();
    // The typing rule checks the axis, so the verifier refuses the graph before any pass.
    assert_eq!(
        e.to_string(),
        "compiler bug: IR invalid after pass 'input': node 1 (softmax from ONNX node 'op'): \
         axis 2 out of range for shape [2, 3]"
    );
    let mut g = Graph::new(18);
    let x = input(&mut g, "x", &[2]);
    let z = g.add(
        Op::Const { values: vec![0.0] },
        &[],
        ValueType::z64(&[], 18, Vis::Public),
        "zero",
    );
    let d = g.add(
        Op::Div,
        &[x, z],
        ValueType::z64(&[2], 18, Vis::Client),
        "div",
    );
    output(&mut g, d);
    let e = run_pipeline(g, &PassOptions::default()).unwrap_err();
    assert!(e.to_string().contains("division by the constant 0"), "{e}");
}

/// Ring semantics of the ops in `trunc_graph`: wrapping integers, arithmetic shifts.
fn ring_eval(g: &Graph, x: &[i64]) -> Vec<i64> {
    let mut vals: Vec<Vec<i64>> = vec![vec![]; g.values.len()];
    let at = |v: &Vec<i64>, i: usize| v[if v.len() == 1 { 0 } else { i }];
    let mut out = vec![];
    for n in &g.nodes {
        let ins: Vec<&Vec<i64>> = n.inputs.iter().map(|v| &vals[v.index()]).collect();
        let len = g.ty(n.output).len();
        // An if-let chain, not a match: the ops without a rule fall to the panic.
        let y: Vec<i64> = if let Op::Const { values } = &n.op {
            let s = 2f64.powi(g.ty(n.output).scale as i32);
            values.iter().map(|v| (v * s).round() as i64).collect()
        } else if let Op::Trunc { bits } = n.op {
            ins[0].iter().map(|v| v >> bits).collect()
        } else if matches!(n.op, Op::Mul | Op::Add) {
            let f = if matches!(n.op, Op::Mul) {
                i64::wrapping_mul
            } else {
                i64::wrapping_add
            };
            (0..len).map(|i| f(at(ins[0], i), at(ins[1], i))).collect()
        } else if matches!(n.op, Op::Input { .. }) {
            x.to_vec()
        } else if matches!(n.op, Op::Output { .. }) {
            out = ins[0].clone();
            out.clone()
        } else {
            panic!("ring_eval has no rule for {}", n.op.name())
        };
        vals[n.output.index()] = y;
    }
    out
}

/// x·c with exact and inexact constants, truncation chains and a truncated constant.
fn trunc_graph() -> Graph {
    fixture("passes-trunc-chain")
}

/// `fuse_trunc` removes truncations from the test graph.
#[test]
fn fuse_trunc_removes_truncations() {
    let g = trunc_graph();
    let count = |g: &Graph| {
        g.nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Trunc { .. }))
            .count()
    };
    let f = run_passes(g.clone(), &["fuse_trunc"], &PassCtx::default()).unwrap();
    assert_eq!((count(&g), count(&f)), (5, 2), "{f}");
}

proptest! {
    /// `fuse_trunc` gives bit-identical ring results on any input.
    #[test]
    fn fuse_trunc_is_exact_in_the_ring(x in prop::collection::vec(-(1i64 << 40)..(1i64 << 40), 3)) {
        let g = trunc_graph();
        let f = run_passes(g.clone(), &["fuse_trunc"], &PassCtx::default()).unwrap();
        prop_assert_eq!(ring_eval(&g, &x), ring_eval(&f, &x));
    }
}
