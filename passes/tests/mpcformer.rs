//! MPCFormer's recipes (policies `mpcformer` and `secformer`, recipes `mpcformer-quad-gelu`,
//! `mpcformer-repo-quad-gelu`, `mpcformer-2quad-softmax`): the lowered graph, evaluated with
//! the plaintext interpreter on a grid and on random inputs, computes each recipe's own
//! formula within [`FORMULA`]; and the error against the exact function, which these
//! retrain-required recipes do not bound tightly, is what their docs state.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::policy::find_recipe;
use mpcc_passes::*;
use proptest::prelude::*;

/// The paper (Ditto) form of Quad GeLU.
fn quad_gelu(x: f64) -> f64 {
    0.125 * x * x + 0.25 * x + 0.5
}

/// The MPCFormer repository's form of Quad GeLU.
fn repo_quad_gelu(x: f64) -> f64 {
    0.125 * x * x + 0.5 * x + 0.25
}

/// 2Quad over each row of `n`: `(x + 5)² / Σ(x + 5)²`.
fn quad_softmax(xs: &[f64], n: usize) -> Vec<f64> {
    xs.chunks(n)
        .flat_map(|row| {
            let q: Vec<f64> = row.iter().map(|x| (x + 5.0) * (x + 5.0)).collect();
            let s: f64 = q.iter().sum();
            q.into_iter().map(move |v| v / s)
        })
        .collect()
}

/// The policy parses by name and holds the two MPCFormer recipes, the rest as `puma`.
#[test]
fn policy_by_name() {
    assert_eq!("mpcformer".parse::<Policy>(), Ok(Policy::MPCFORMER));
    let (m, p) = (Policy::MPCFORMER.recipes(), Policy::PUMA.recipes());
    assert_eq!(
        find_recipe("mpcformer-2quad-softmax").unwrap().recipe,
        recipes::Recipe::Softmax(m.softmax)
    );
    assert_eq!(
        find_recipe("mpcformer-quad-gelu").unwrap().recipe,
        recipes::Recipe::Gelu(m.gelu)
    );
    assert_eq!(
        (m.erf, m.rms_norm, m.exp, m.div),
        (p.erf, p.rms_norm, p.exp, p.div)
    );
}

/// `secformer` takes 2Quad for the softmax, SecFormer's GeLU and its Goldschmidt rsqrt for
/// the norms, and keeps `puma`'s rest;
/// its GeLU lowers to the sine protocol (`sin_prep`, `sin_series`), one product, two
/// comparisons and one select of both pieces.
#[test]
fn secformer_policy() {
    assert_eq!("secformer".parse::<Policy>(), Ok(Policy::SECFORMER));
    let (s, p) = (Policy::SECFORMER.recipes(), Policy::PUMA.recipes());
    assert_eq!(s.softmax, Policy::MPCFORMER.recipes().softmax);
    assert_eq!(s.gelu, recipes::SECFORMER_GELU);
    assert_eq!(s.rms_norm, recipes::SECFORMER_RMS_NORM);
    assert_eq!(
        recipes::Recipes {
            softmax: p.softmax,
            gelu: p.gelu,
            rms_norm: p.rms_norm,
            ..*s
        },
        *p
    );
    let g = unary_graph(Op::Gelu, &[4]);
    assert_eq!(
        op_names(&lower(&g, Policy::SECFORMER, &[])),
        [
            "input",
            "sin_prep",
            "sin_series",
            "mul",
            "trunc",
            "sub",
            "reshape",
            "reshape",
            "concat",
            "ge",
            "select",
            "reduce_sum",
            "reshape",
            "output"
        ]
    );
}

/// Quad GeLU lowers to one `poly` kernel that computes 0.125x² + 0.25x + 0.5 on [-50, 50].
#[test]
fn quad_gelu_formula_on_grid() {
    let xs = grid(-50.0, 50.0, 20_001);
    let g = unary_graph(Op::Gelu, &[xs.len()]);
    let l = lower(&g, Policy::MPCFORMER, &[]);
    assert_eq!(op_names(&l), ["input", "poly", "output"]);
    let want: Vec<f64> = xs.iter().map(|&x| quad_gelu(x)).collect();
    check_formula(&want, &run(&l, &[("x", &xs)]));
}

/// Against GeLU, the paper form is off by 0.5606 on [-2, 2] and 1.5001 on [-4, 4]; the
/// repository form (by override, under `puma`) by 0.25 on [-4, 4] and computes its formula.
#[test]
fn quad_gelu_error_vs_gelu() {
    let err = |policy, overrides: &[&str], lo, hi| {
        let xs = grid(lo, hi, 200_001);
        let g = unary_graph(Op::Gelu, &[xs.len()]);
        let l = lower(&g, policy, overrides);
        max_abs_diff(&run(&g, &[("x", &xs)]), &run(&l, &[("x", &xs)]))
    };
    let e = err(Policy::MPCFORMER, &[], -2.0, 2.0);
    assert!((0.5605..=0.5607).contains(&e), "{e}");
    let e = err(Policy::MPCFORMER, &[], -4.0, 4.0);
    assert!((1.5001..=1.5002).contains(&e), "{e}");
    let repo = ["op:gelu=mpcformer-repo-quad-gelu"];
    let e = err(Policy::PUMA, &repo, -4.0, 4.0);
    assert!((0.2501..=0.2502).contains(&e), "{e}");
    let xs = grid(-20.0, 20.0, 4001);
    let g = unary_graph(Op::Gelu, &[xs.len()]);
    let want: Vec<f64> = xs.iter().map(|&x| repo_quad_gelu(x)).collect();
    check_formula(&want, &run(&lower(&g, Policy::PUMA, &repo), &[("x", &xs)]));
}

/// 2Quad lowers to add, square, row sum, one reciprocal per row, multiply: no max, exp or
/// comparison; `op:Softmax=mpcformer` over `puma` gives the same.
#[test]
fn quad_softmax_ops() {
    let g = unary_graph(Op::Softmax { axis: 1 }, &[2, 8]);
    let names = op_names(&lower(&g, Policy::MPCFORMER, &[]));
    let want = [
        "input",
        "const",
        "add",
        "mul",
        "trunc",
        "reduce_sum",
        "reciprocal",
        "mul",
        "trunc",
        "output",
    ];
    assert_eq!(names, want);
    // The policy's name works as an override too.
    let by_policy = lower(&g, Policy::PUMA, &["op:Softmax=mpcformer"]);
    assert_eq!(op_names(&by_policy), want);
}

/// Against the exact softmax, the row (1.48, 4) is off by 0.267 per probability (the worst
/// row of 2 logits in [-4, 4], docs of `lower_softmax`).
#[test]
fn quad_softmax_error_vs_softmax() {
    let g = unary_graph(Op::Softmax { axis: 1 }, &[1, 2]);
    let xs = [1.48, 4.0];
    let e = max_abs_diff(
        &run(&g, &[("x", &xs)]),
        &run(&lower(&g, Policy::MPCFORMER, &[]), &[("x", &xs)]),
    );
    assert!((0.2669..=0.2670).contains(&e), "{e}");
}

/// An override by head gives head 0 of an attention softmax 2Quad and leaves head 1 on
/// `puma`'s recipe.
#[test]
fn quad_softmax_by_head() {
    let g = unary_graph(Op::Softmax { axis: 3 }, &[1, 2, 2, 4]);
    let l = lower(
        &g,
        Policy::PUMA,
        &["op:softmax,head:0=mpcformer-2quad-softmax"],
    );
    let xs: Vec<f64> = (0..16).map(|i| (i as f64 * 0.7).sin() * 3.0).collect();
    let (exact, got) = (run(&g, &[("x", &xs)]), run(&l, &[("x", &xs)]));
    check_formula(&quad_softmax(&xs[..8], 4), &got[..8]);
    assert!(max_abs_diff(&exact[8..], &got[8..]) <= 5.4e-3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random inputs: Quad GeLU computes its formula.
    #[test]
    fn quad_gelu_random(xs in prop::collection::vec(-50.0f64..50.0, 32)) {
        let g = unary_graph(Op::Gelu, &[xs.len()]);
        let want: Vec<f64> = xs.iter().map(|&x| quad_gelu(x)).collect();
        check_formula(&want, &run(&lower(&g, Policy::MPCFORMER, &[]), &[("x", &xs)]));
    }

    /// Random rows of 1..=16 logits in [-20, 20]: 2Quad computes its formula.
    #[test]
    fn quad_softmax_random(n in 1usize..=16, rows in 1usize..4, seed in prop::collection::vec(-20.0f64..20.0, 64)) {
        let xs = &seed[..rows * n];
        let g = unary_graph(Op::Softmax { axis: 1 }, &[rows, n]);
        check_formula(&quad_softmax(xs, n), &run(&lower(&g, Policy::MPCFORMER, &[]), &[("x", xs)]));
    }
}

/// 2Quad under a mask: `(s + 5)² · keep / Σ (s + 5)² · keep` over each row of `n`, with
/// the keep bits per key position (the last axis).
fn masked_quad_softmax(s: &[f64], keep: &[f64], n: usize) -> Vec<f64> {
    s.chunks(n)
        .flat_map(|row| {
            let q: Vec<f64> = row
                .iter()
                .zip(keep)
                .map(|(x, k)| (x + 5.0) * (x + 5.0) * k)
                .collect();
            let sum: f64 = q.iter().sum();
            q.into_iter().map(move |v| v / sum)
        })
        .collect()
}

/// Scores `s` `[1, 2, 2, 4]` (batch, heads, queries, keys) plus an additive mask built from
/// the client's `attention_mask` `[1, 4]` as an export builds it, then a softmax over the
/// keys. `bert`: `(1 - mask) · fill`; otherwise the decoders' `fill + mask · (-fill)`.
fn masked_softmax_graph(bert: bool, fill: f64) -> Graph {
    let mut g = Graph::new(18);
    let s = input(&mut g, "s", &[1, 2, 2, 4]);
    let op = Op::Input {
        name: "attention_mask".into(),
        owner: CLIENT,
        encoding: InputEncoding::Int,
    };
    let m0 = g.add(op, &[], ValueType::z64(&[1, 4], 0, Vis::Client), "mask");
    let m1 = g.add(
        Op::Shl { bits: 18 },
        &[m0],
        ValueType::z64(&[1, 4], 18, Vis::Client),
        "mask",
    );
    let m2 = g.add(
        Op::Reshape,
        &[m1],
        ValueType::z64(&[1, 1, 1, 4], 18, Vis::Client),
        "unsqueeze",
    );
    let ty = |scale| ValueType::z64(&[1, 1, 1, 1], scale, Vis::Public);
    let konst =
        |g: &mut Graph, v: f64, scale| g.add(Op::Const { values: vec![v] }, &[], ty(scale), "c");
    let client = ValueType::z64(&[1, 1, 1, 4], 18, Vis::Client);
    let m = if bert {
        let one = konst(&mut g, 1.0, 18);
        let inv = g.add(Op::Sub, &[one, m2], client.clone(), "sub");
        let f = konst(&mut g, fill, 0);
        g.add(Op::Mul, &[inv, f], client, "where")
    } else {
        let neg = konst(&mut g, -fill, 0);
        let on = g.add(Op::Mul, &[m2, neg], client.clone(), "where");
        let f = konst(&mut g, fill, 18);
        g.add(Op::Add, &[f, on], client, "where")
    };
    let st = ValueType::z64(&[1, 2, 2, 4], 18, Vis::Client);
    let x = g.add(Op::Add, &[s, m], st.clone(), "add");
    let y = g.add(Op::Softmax { axis: 3 }, &[x], st, "softmax");
    output(&mut g, y);
    g
}

/// 2Quad multiplies by an additive attention mask instead of adding it (both export forms;
/// `passes/src/mask.rs`): the masked keys get weight 0, the rest `(s + 5)²` normalised over
/// the kept keys, exactly as the formula; one `mul` + `trunc` more than unmasked 2Quad.
#[test]
fn quad_softmax_masked() {
    let s: Vec<f64> = (0..16).map(|i| (i as f64 * 0.9).sin() * 4.0).collect();
    for bert in [true, false] {
        let g = masked_softmax_graph(bert, -10000.0);
        let l = lower(&g, Policy::MPCFORMER, &[]);
        for mask in [[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0], [1.0; 4]] {
            let got = run(&l, &[("s", &s), ("attention_mask", &mask)]);
            check_formula(&masked_quad_softmax(&s, &mask, 4), &got);
        }
        let muls = |g: &Graph| op_names(g).iter().filter(|n| **n == "mul").count();
        let unmasked = lower(
            &unary_graph(Op::Softmax { axis: 3 }, &[1, 2, 2, 4]),
            Policy::MPCFORMER,
            &[],
        );
        assert_eq!(muls(&l), muls(&unmasked) + 1, "{bert}");
    }
}

/// A bias of -1 (above [`mpcc_passes::mask::MASK_FILL_MAX`]) is not a mask: 2Quad adds it as
/// the model says.
#[test]
fn quad_softmax_small_bias_is_not_a_mask() {
    let s: Vec<f64> = (0..16).map(|i| (i as f64 * 0.9).sin() * 4.0).collect();
    let mask = [1.0, 0.0, 1.0, 0.0];
    let g = masked_softmax_graph(true, -1.0);
    let got = run(
        &lower(&g, Policy::MPCFORMER, &[]),
        &[("s", &s), ("attention_mask", &mask)],
    );
    let shifted: Vec<f64> = s
        .iter()
        .enumerate()
        .map(|(i, x)| x - (1.0 - mask[i % 4]))
        .collect();
    check_formula(&quad_softmax(&shifted, 4), &got);
}

/// Per head under a mask: head 0 takes masked 2Quad, head 1 `puma`'s softmax, which the
/// mask's -10⁴ already zeroes.
#[test]
fn quad_softmax_masked_by_head() {
    let s: Vec<f64> = (0..16).map(|i| (i as f64 * 0.9).sin() * 4.0).collect();
    let mask = [1.0, 1.0, 1.0, 0.0];
    let g = masked_softmax_graph(false, -10000.0);
    let l = lower(
        &g,
        Policy::PUMA,
        &["op:softmax,head:0=mpcformer-2quad-softmax"],
    );
    let inputs = [("s", &s[..]), ("attention_mask", &mask[..])];
    let (exact, got) = (run(&g, &inputs), run(&l, &inputs));
    check_formula(&masked_quad_softmax(&s[..8], &mask, 4), &got[..8]);
    assert!(max_abs_diff(&exact[8..], &got[8..]) <= 5.4e-3);
}

/// MPCViT's scaling attention under a mask is `s · keep / n`: hidden keys give 0.
#[test]
fn scaling_attention_masked() {
    let s: Vec<f64> = (0..16).map(|i| (i as f64 * 0.9).sin() * 4.0).collect();
    let mask = [0.0, 1.0, 1.0, 0.0];
    let g = masked_softmax_graph(true, -10000.0);
    let l = lower(&g, Policy::PUMA, &["op:Softmax=mpcvit-scaling-attention"]);
    let got = run(&l, &[("s", &s), ("attention_mask", &mask)]);
    let want: Vec<f64> = s
        .iter()
        .enumerate()
        .map(|(i, x)| x * mask[i % 4] / 4.0)
        .collect();
    check_formula(&want, &got);
}
