//! Golden tests of the printed IR before and after each pass, on a small hand-built block
//! (matmul, RMS norm, GeLU, attention softmax, division, sqrt and the other activations).
//!
//! The expected texts live in `tests/snapshots/` (insta). After an intended change, bless
//! them with `INSTA_UPDATE=always cargo test --release -p mpcc-passes --test golden` (or
//! `cargo insta review`) and review the diff in git.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::*;

fn secret(g: &Graph, v: ValueId, scale: u32) -> ValueType {
    let mut t = g.ty(v).clone();
    t.scale = scale;
    t.vis = Vis::Secret;
    t
}

/// A small transformer-like block with one of each high-level op.
fn block() -> Graph {
    let mut g = Graph::new(18);
    let x = input(&mut g, "x", &[2, 4]);
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ty(&[4, 4], 18, Vis::Owner),
        "fc",
    );
    let h = g.add(Op::MatMul, &[x, w], ty(&[2, 4], 36, Vis::Secret), "fc");
    let h = g.add(
        Op::Trunc { bits: 18 },
        &[h],
        ty(&[2, 4], 18, Vis::Secret),
        "fc",
    );
    let n = g.add(
        Op::RmsNorm { axis: 1, eps: 1e-5 },
        &[h],
        secret(&g, h, 18),
        "ln",
    );
    let a = g.add(Op::Gelu, &[n], secret(&g, n, 18), "gelu");
    let at = g.add(
        Op::Transpose { perm: vec![1, 0] },
        &[a],
        ty(&[4, 2], 18, Vis::Secret),
        "kt",
    );
    let s = g.add(Op::MatMul, &[a, at], ty(&[2, 2], 36, Vis::Secret), "qk");
    let s = g.add(
        Op::Trunc { bits: 18 },
        &[s],
        ty(&[2, 2], 18, Vis::Secret),
        "qk",
    );
    let c = g.add(
        Op::Const { values: vec![2.0] },
        &[],
        ty(&[], 18, Vis::Public),
        "scale",
    );
    let s = g.add(Op::Div, &[s, c], secret(&g, s, 18), "qk/scale");
    let p = g.add(Op::Softmax { axis: 1 }, &[s], secret(&g, s, 18), "softmax");
    let q = g.add(Op::Div, &[p, s], secret(&g, p, 18), "div");
    let r = g.add(Op::Sqrt, &[q], secret(&g, q, 18), "sqrt");
    let e = g.add(Op::Exp, &[r], secret(&g, r, 18), "exp");
    let t = g.add(Op::Tanh, &[e], secret(&g, e, 18), "tanh");
    let t = g.add(Op::Sigmoid, &[t], secret(&g, t, 18), "sigmoid");
    let t = g.add(Op::Erf, &[t], secret(&g, t, 18), "erf");
    let t = g.add(Op::Silu, &[t], secret(&g, t, 18), "silu");
    output(&mut g, t);
    g
}

/// Snapshots the block before and after each pass of the pipeline, in order.
#[test]
fn block_through_each_pass() {
    let mut g = block();
    g.verify(false).unwrap();
    for pass in PASSES {
        let before = g.to_string();
        g = run_passes(g, &[pass.name], Policy::Puma).unwrap();
        let text = format!("{before}\n--- after {} ---\n\n{g}", pass.name);
        insta::assert_snapshot!(pass.name, text);
    }
    g.verify(true).unwrap();
}

/// A chain that every truncation rule touches, before and after `fuse_trunc`.
#[test]
fn trunc_rules() {
    let mut g = Graph::new(18);
    let x = input(&mut g, "x", &[3]);
    let c = g.add(
        Op::Const {
            values: vec![0.5, -2.0, 0.25],
        },
        &[],
        ty(&[3], 18, Vis::Public),
        "half",
    );
    let m = g.add(Op::Mul, &[c, x], ty(&[3], 36, Vis::Client), "scale");
    let t = g.add(
        Op::Trunc { bits: 18 },
        &[m],
        ty(&[3], 18, Vis::Client),
        "scale",
    );
    let k = g.add(
        Op::Const { values: vec![0.1] },
        &[],
        ty(&[], 18, Vis::Public),
        "inexact",
    );
    let m2 = g.add(Op::Mul, &[t, k], ty(&[3], 36, Vis::Client), "scale2");
    let t2 = g.add(
        Op::Trunc { bits: 18 },
        &[m2],
        ty(&[3], 18, Vis::Client),
        "scale2",
    );
    let sh = g.add(
        Op::Const { values: vec![1.5] },
        &[],
        ty(&[], 20, Vis::Public),
        "pub",
    );
    let st = g.add(
        Op::Trunc { bits: 2 },
        &[sh],
        ty(&[], 18, Vis::Public),
        "pub",
    );
    let a = g.add(Op::Add, &[t2, st], ty(&[3], 18, Vis::Client), "add");
    let sq = g.add(Op::Mul, &[a, a], ty(&[3], 36, Vis::Client), "sq");
    let t3 = g.add(
        Op::Trunc { bits: 9 },
        &[sq],
        ty(&[3], 27, Vis::Client),
        "sq",
    );
    let t4 = g.add(
        Op::Trunc { bits: 9 },
        &[t3],
        ty(&[3], 18, Vis::Client),
        "sq",
    );
    let shared = g.add(
        Op::Trunc { bits: 9 },
        &[sq],
        ty(&[3], 27, Vis::Client),
        "shared",
    );
    let u1 = g.add(
        Op::Trunc { bits: 4 },
        &[shared],
        ty(&[3], 23, Vis::Client),
        "u1",
    );
    let u2 = g.add(
        Op::Trunc { bits: 5 },
        &[shared],
        ty(&[3], 22, Vis::Client),
        "u2",
    );
    let u1 = g.add(
        Op::Trunc { bits: 5 },
        &[u1],
        ty(&[3], 18, Vis::Client),
        "u1",
    );
    let u2 = g.add(
        Op::Trunc { bits: 4 },
        &[u2],
        ty(&[3], 18, Vis::Client),
        "u2",
    );
    let s = g.add(Op::Add, &[t4, u1], ty(&[3], 18, Vis::Client), "sum");
    let s = g.add(Op::Add, &[s, u2], ty(&[3], 18, Vis::Client), "sum");
    output(&mut g, s);
    g.verify(true).unwrap();
    let before = g.to_string();
    let after = run_passes(g, &["fuse_trunc"], Policy::Puma).unwrap();
    insta::assert_snapshot!(
        "fuse_trunc_rules",
        format!("{before}\n--- after fuse_trunc ---\n\n{after}")
    );
}
