//! MPCViT's recipes (policy `mpcvit`, recipes `mpcvit-relu-softmax` and
//! `mpcvit-scaling-attention`): the lowered graph, evaluated with the plaintext interpreter
//! on random rows (negatives, zeros and extremes included), computes each recipe's formula
//! within [`FORMULA`], per head where overrides mix them.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::policy::find_recipe;
use mpcc_passes::*;
use proptest::prelude::*;

/// ReLU-softmax over each row of `n`: `ReLU(x) / (Σ ReLU(x) + 1e-5)`.
fn relu_softmax(xs: &[f64], n: usize) -> Vec<f64> {
    xs.chunks(n)
        .flat_map(|row| {
            let r: Vec<f64> = row.iter().map(|x| x.max(0.0)).collect();
            let s: f64 = r.iter().sum::<f64>() + 1e-5;
            r.into_iter().map(move |v| v / s)
        })
        .collect()
}

/// The policy parses by name; its softmax is ReLU-softmax and the rest `puma`'s; both
/// recipes are named.
#[test]
fn policy_by_name() {
    assert_eq!("mpcvit".parse::<Policy>(), Ok(Policy::MPCVIT));
    let (m, p) = (Policy::MPCVIT.recipes(), Policy::PUMA.recipes());
    assert_eq!(
        find_recipe("mpcvit-relu-softmax").unwrap().recipe,
        recipes::Recipe::Softmax(m.softmax)
    );
    assert_eq!(
        recipes::Recipes {
            softmax: p.softmax,
            ..*m
        },
        *p
    );
    assert!(find_recipe("mpcvit-scaling-attention").is_some());
}

/// ReLU-softmax lowers to relu, row sum, add eps, one reciprocal per row, multiply: no max
/// tree, no exp; scaling attention to one public multiply and its truncation.
#[test]
fn lowered_ops() {
    let g = unary_graph(Op::Softmax { axis: 1 }, &[2, 8]);
    assert_eq!(
        op_names(&lower(&g, Policy::MPCVIT, &[])),
        [
            "input",
            "relu",
            "reduce_sum",
            "const",
            "add",
            "reciprocal",
            "mul",
            "trunc",
            "output"
        ]
    );
    assert_eq!(
        op_names(&lower(
            &g,
            Policy::PUMA,
            &["op:Softmax=mpcvit-scaling-attention"]
        )),
        ["input", "const", "mul", "trunc", "output"]
    );
}

/// A row with no positive logit (an all-masked row, or all negative) gives zeros, and an
/// additive mask of -10⁴ gives its positions 0.
#[test]
fn negative_rows_and_masks() {
    let g = unary_graph(Op::Softmax { axis: 1 }, &[2, 4]);
    let xs = [-1.0, -3.0, -0.5, -1e4, 2.0, -1e4, 1.0, 0.5];
    let got = run(&lower(&g, Policy::MPCVIT, &[]), &[("x", &xs)]);
    assert_eq!(&got[..4], &[0.0; 4]);
    assert_eq!(got[5], 0.0);
    check_formula(&relu_softmax(&xs, 4), &got);
}

/// Heads mixed by overrides, as `--attention-map` makes them: head 0 ReLU-softmax, head 1
/// scaling attention, head 2 `puma`'s softmax, over a `[1, 3, 2, 4]` attention softmax.
#[test]
fn heads_mixed() {
    let g = unary_graph(Op::Softmax { axis: 3 }, &[1, 3, 2, 4]);
    let l = lower(
        &g,
        Policy::MPCVIT,
        &[
            "op:Softmax,head:1=mpcvit-scaling-attention",
            "op:Softmax,head:2=puma-softmax",
        ],
    );
    let xs: Vec<f64> = (0..24).map(|i| (i as f64 * 0.9).sin() * 4.0).collect();
    let (exact, got) = (run(&g, &[("x", &xs)]), run(&l, &[("x", &xs)]));
    check_formula(&relu_softmax(&xs[..8], 4), &got[..8]);
    let scaled: Vec<f64> = xs[8..16].iter().map(|x| x / 4.0).collect();
    check_formula(&scaled, &got[8..16]);
    assert!(max_abs_diff(&exact[16..], &got[16..]) <= 5.4e-3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random rows of 1..=16 logits in [-50, 50]: ReLU-softmax computes its formula.
    #[test]
    fn relu_softmax_random(n in 1usize..=16, seed in prop::collection::vec(-50.0f64..50.0, 32)) {
        let xs: Vec<f64> = seed.iter().take(2 * n).copied().collect();
        prop_assume!(xs.len() == 2 * n);
        let g = unary_graph(Op::Softmax { axis: 1 }, &[2, n]);
        check_formula(&relu_softmax(&xs, n), &run(&lower(&g, Policy::MPCVIT, &[]), &[("x", &xs)]));
    }

    /// Random rows: scaling attention is x / n.
    #[test]
    fn scaling_random(n in 1usize..=16, seed in prop::collection::vec(-1e3f64..1e3, 16)) {
        let xs: Vec<f64> = seed.iter().take(n).copied().collect();
        prop_assume!(xs.len() == n);
        let g = unary_graph(Op::Softmax { axis: 1 }, &[1, n]);
        let l = lower(&g, Policy::PUMA, &["op:Softmax=mpcvit-scaling-attention"]);
        let want: Vec<f64> = xs.iter().map(|x| x / n as f64).collect();
        check_formula(&want, &run(&l, &[("x", &xs)]));
    }
}
