//! Approximation kernels through the VM: share, run, reveal, and compare with the f64
//! references of `kernels::approx::plain` (through `ops::plain_eval`) within each kernel's documented error bound; and
//! every instruction's measured rounds and bytes equal to its cost function.
mod common;

use common::assert_costs;
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::kernels::approx::plain;
use mpcc_runtime::kernels::invert::norm_shift;
use mpcc_runtime::ops::{plain_eval, secret_op_cost};
use mpcc_runtime::ring::{decode, encode};
use mpcc_runtime::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Random elements per 3-party run; proptest runs [`CASES`] cases per property.
const N: usize = 256;
/// Proptest cases per property: `CASES * N >= 1000` random inputs.
const CASES: u32 = 4;

/// PUMA's GeLU (MPC-REFERENCE.md §2.1) as its breaks and pieces.
fn gelu_parts() -> (Vec<f64>, Vec<Piece>) {
    (
        vec![-4.0, -1.95, 3.0],
        vec![
            Piece::Zero,
            Piece::Poly(vec![
                -0.5054031199708174,
                -0.42226581151983866,
                -0.11807612951181953,
                -0.011034134030615728,
            ]),
            Piece::Poly(vec![
                0.008526321541038084,
                0.5,
                0.3603292692789629,
                0.0,
                -0.037688200365904236,
                0.0,
                0.0018067462606141187,
            ]),
            Piece::Identity,
        ],
    )
}

fn gelu_op() -> Op {
    let (breaks, pieces) = gelu_parts();
    Op::PiecewisePoly { breaks, pieces }
}

/// Shares `xs` (the client's input, shape `shape`), runs `op`, reveals the result to the
/// client, checks the costs, and returns the revealed values with the inputs as encoded.
fn run_secret(op: &Op, xs: &[f64], shape: &[usize], f: u32, ring: Ring) -> (Vec<f64>, Vec<f64>) {
    let mut g = Graph::new(f);
    let input = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let x = g.add(input, &[], ValueType::new(shape, ring, f, Vis::Client), "x");
    let y = g.add(
        op.clone(),
        &[x],
        ValueType::new(shape, ring, f, Vis::Client),
        "y",
    );
    let out = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(
        out,
        &[y],
        ValueType::new(shape, ring, f, Vis::Client),
        "out",
    );
    let plan = Plan::from_graph(g).unwrap();
    let mut inputs = HashMap::new();
    let t = HostTensor {
        shape: shape.to_vec(),
        data: xs.to_vec(),
    };
    inputs.insert("x".to_string(), t);
    let data = party_data(&plan, &inputs, None);
    let r = run_local(&plan, data, &RunOptions::default()).unwrap();
    assert_costs(&plan, &r);
    let c = secret_op_cost(op, xs.len(), f, ring);
    assert_eq!(
        (c.rounds, c.bytes),
        (r.profile[1].rounds, r.profile[1].bytes)
    );
    let enc: Vec<f64> = xs
        .iter()
        .map(|v| decode(encode(*v, f, ring), f, ring))
        .collect();
    (r.outputs["y"].data.clone(), enc)
}

/// Runs `op` on `xs` and checks each output against `want(x)` within `tol(x)` (x as encoded).
fn check(
    op: &Op,
    xs: &[f64],
    f: u32,
    ring: Ring,
    want: impl Fn(f64) -> f64,
    tol: impl Fn(f64) -> f64,
) -> Result<(), TestCaseError> {
    let (got, enc) = run_secret(op, xs, &[xs.len()], f, ring);
    for (x, y) in enc.iter().zip(&got) {
        let (w, t) = (want(*x), tol(*x));
        prop_assert!(
            (y - w).abs() <= t,
            "{} at x = {x}: got {y}, want {w}, error {:e} > tolerance {t:e}",
            op.name(),
            (y - w).abs()
        );
    }
    Ok(())
}

/// Log-uniform positive inputs in `[2^lo, 2^hi)` for reciprocal and rsqrt.
fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(lo..hi, N).prop_map(|v| v.into_iter().map(f64::exp2).collect())
}

/// The extremes of the valid range `[2^-f, 2^S)` of reciprocal and rsqrt, and around 1.
fn positive_extremes(f: u32, ring: Ring) -> Vec<f64> {
    let ulp = (-(f as f64)).exp2();
    let top = (norm_shift(ring, f) as f64).exp2();
    vec![
        ulp,
        2.0 * ulp,
        3.0 * ulp,
        1.0,
        1.0 - ulp,
        1.0 + ulp,
        0.5,
        top - ulp,
        top / 2.0,
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        Just(Piece::Zero),
        Just(Piece::Identity),
        prop::collection::vec(-1.0..1.0f64, 1..=5).prop_map(Piece::Poly),
    ]
}

/// Random piecewise functions as (breaks, pieces).
fn piecewise_parts() -> impl Strategy<Value = (Vec<f64>, Vec<Piece>)> {
    prop::collection::btree_set(-16i32..16, 1..=4).prop_flat_map(|b| {
        let breaks: Vec<f64> = b.into_iter().map(|v| v as f64 / 4.0).collect();
        let t = breaks.len();
        prop::collection::vec(piece(), t + 1).prop_map(move |pieces| (breaks.clone(), pieces))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// `poly` of degree up to 6 on [-3, 3] stays within `plain::poly_bound` of the f64
    /// polynomial in Z64 at 12, 16 and 18 fraction bits, zero and the extremes included.
    #[test]
    fn poly_within_bound_z64(
        coeffs in prop::collection::vec(-2.0..2.0f64, 1..=7),
        mut xs in prop::collection::vec(-3.0..3.0f64, N),
        f in prop::sample::select(vec![12u32, 16, 18]),
    ) {
        xs.extend([0.0, -3.0, 3.0, 1.0, -1.0]);
        let op = Op::Poly { coeffs: coeffs.clone() };
        check(&op, &xs, f, Ring::Z64, |x| plain::poly(&coeffs, x), |x| plain::poly_bound(&coeffs, x, f))?;
    }

    /// `poly` in Z32 at 8 fraction bits (degree up to 3 on [-4, 4]) stays within its bound.
    #[test]
    fn poly_within_bound_z32(
        coeffs in prop::collection::vec(-1.0..1.0f64, 1..=4),
        mut xs in prop::collection::vec(-4.0..4.0f64, N),
    ) {
        xs.extend([0.0, -4.0, 4.0]);
        let op = Op::Poly { coeffs: coeffs.clone() };
        check(&op, &xs, 8, Ring::Z32, |x| plain::poly(&coeffs, x), |x| plain::poly_bound(&coeffs, x, 8))?;
    }

    /// `exp_taylor` with t in {0, 1, 3, 5, 8, 12} on `[-min(2^t, 16), 2]` stays within
    /// `plain::exp_taylor_bound` of `(1 + x/2^t)^(2^t)` (Z64, f = 18), `-2^t` and 0
    /// included; t = 12 takes the path with a truncated base.
    #[test]
    fn exp_taylor_within_bound(
        t in prop::sample::select(vec![0u32, 1, 3, 5, 8, 12]),
        raw in prop::collection::vec(0.0..1.0f64, N),
    ) {
        let lo = (t as f64).exp2().min(16.0);
        let mut xs: Vec<f64> = raw.iter().map(|u| -lo + u * (lo + 2.0)).collect();
        xs.extend([0.0, -lo, -(t as f64).exp2(), 2.0, -14.0_f64.min(lo)]);
        let op = Op::ExpTaylor { iters: t };
        check(&op, &xs, 18, Ring::Z64, |x| plain::exp_taylor(x, t), |x| plain::exp_taylor_bound(x, t, 18, Ring::Z64))?;
    }

    /// `exp_taylor` in Z32 at 8 fraction bits stays within its bound on `[-2^t, 1]` (t = 6
    /// takes the path with a truncated base).
    #[test]
    fn exp_taylor_within_bound_z32(
        t in prop::sample::select(vec![2u32, 4, 6]),
        raw in prop::collection::vec(0.0..1.0f64, N),
    ) {
        let lo = (t as f64).exp2();
        let xs: Vec<f64> = raw.iter().map(|u| -lo + u * (lo + 1.0)).collect();
        let op = Op::ExpTaylor { iters: t };
        check(&op, &xs, 8, Ring::Z32, |x| plain::exp_taylor(x, t), |x| plain::exp_taylor_bound(x, t, 8, Ring::Z32))?;
    }

    /// PUMA's GeLU as `piecewise_poly` on [-8, 8] (breaks and their neighbours included)
    /// stays within `plain::piecewise_bound` of the f64 piecewise function (Z64, f = 18).
    #[test]
    fn gelu_within_bound(mut xs in prop::collection::vec(-8.0..8.0f64, N)) {
        let ulp = 2f64.powi(-18);
        for b in [-4.0, -1.95, 3.0] {
            let e = decode(encode(b, 18, Ring::Z64), 18, Ring::Z64);
            xs.extend([e - ulp, e, e + ulp]);
        }
        xs.extend([0.0, -8.0, 8.0, 100.0, -100.0]);
        let op = gelu_op();
        let (breaks, pieces) = gelu_parts();
        check(
            &op, &xs, 18, Ring::Z64,
            |x| plain_eval(&op, x, 18, Ring::Z64).unwrap(),
            |x| plain::piecewise_bound(&breaks, &pieces, x, 18),
        )?;
    }

    /// Random piecewise functions (1 to 4 breaks; zero, identity and polynomial pieces) stay
    /// within `plain::piecewise_bound` (Z64, f = 16).
    #[test]
    fn piecewise_within_bound((breaks, pieces) in piecewise_parts(), mut xs in prop::collection::vec(-6.0..6.0f64, N)) {
        let op = Op::PiecewisePoly { breaks: breaks.clone(), pieces: pieces.clone() };
        xs.extend(breaks.iter().copied());
        check(
            &op, &xs, 16, Ring::Z64,
            |x| plain_eval(&op, x, 16, Ring::Z64).unwrap(),
            |x| plain::piecewise_bound(&breaks, &pieces, x, 16),
        )?;
    }

    /// `reciprocal` on log-uniform inputs over its whole valid range `[2^-18, 2^42)` stays
    /// within `plain::reciprocal_bound` of the f64 Goldschmidt reference (Z64, f = 18).
    #[test]
    fn reciprocal_within_bound(
        iters in 0u32..=3,
        mut xs in log_uniform(-18.0, 42.0),
    ) {
        xs.extend(positive_extremes(18, Ring::Z64));
        let op = Op::Reciprocal { iters };
        check(&op, &xs, 18, Ring::Z64, |x| plain::reciprocal(x, iters), |x| plain::reciprocal_bound(x, iters, 18))?;
    }

    /// `rsqrt` on log-uniform inputs over its whole valid range `[2^-18, 2^42)` stays within
    /// `plain::rsqrt_bound` of the f64 Newton reference (Z64, f = 18).
    #[test]
    fn rsqrt_within_bound(
        iters in 0u32..=3,
        mut xs in log_uniform(-18.0, 42.0),
    ) {
        xs.extend(positive_extremes(18, Ring::Z64));
        let op = Op::Rsqrt { iters };
        check(&op, &xs, 18, Ring::Z64, |x| plain::rsqrt(x, iters), |x| plain::rsqrt_bound(x, iters, 18))?;
    }

    /// `rsqrt_goldschmidt` (SecFormer's iteration) over the same range, both rings, within
    /// the same bound of its own f64 reference.
    #[test]
    fn rsqrt_goldschmidt_within_bound(
        iters in 0u32..=3,
        mut xs in log_uniform(-18.0, 42.0),
        mut small in log_uniform(-8.0, 20.0),
    ) {
        xs.extend(positive_extremes(18, Ring::Z64));
        let op = Op::RsqrtGoldschmidt { iters };
        check(&op, &xs, 18, Ring::Z64, |x| plain::rsqrt_goldschmidt(x, iters), |x| plain::rsqrt_bound(x, iters, 18))?;
        small.extend(positive_extremes(8, Ring::Z32));
        check(&op, &small, 8, Ring::Z32, |x| plain::rsqrt_goldschmidt(x, iters), |x| plain::rsqrt_bound(x, iters, 8))?;
    }

    /// `reciprocal` and `rsqrt` in Z32 at 8 fraction bits over `[2^-8, 2^20)` stay within
    /// their bounds.
    #[test]
    fn reciprocal_rsqrt_within_bound_z32(iters in 1u32..=2, mut xs in log_uniform(-8.0, 20.0)) {
        xs.extend(positive_extremes(8, Ring::Z32));
        let op = Op::Reciprocal { iters };
        check(&op, &xs, 8, Ring::Z32, |x| plain::reciprocal(x, iters), |x| plain::reciprocal_bound(x, iters, 8))?;
        let op = Op::Rsqrt { iters };
        check(&op, &xs, 8, Ring::Z32, |x| plain::rsqrt(x, iters), |x| plain::rsqrt_bound(x, iters, 8))?;
    }

    /// The f64 references themselves approximate 1/x and 1/sqrt(x) within the documented
    /// relative errors `0.0858^(2^iters)` and `d_iters`.
    #[test]
    fn references_approximate_the_functions(iters in 0u32..=4, xs in log_uniform(-30.0, 60.0)) {
        for x in xs {
            let r = plain::reciprocal(x, iters) * x;
            prop_assert!((r - 1.0).abs() <= plain::reciprocal_rel_error(iters) * (1.0 + 1e-12) + 1e-15, "1/{x}: {r}");
            let s = plain::rsqrt(x, iters) * x.sqrt();
            prop_assert!((s - 1.0).abs() <= plain::rsqrt_rel_error(iters) * (1.0 + 1e-12) + 1e-15, "rsqrt {x}: {s}");
            // Goldschmidt: the same error recurrence in 1 - g, whose square root is y's.
            let g = plain::rsqrt_goldschmidt(x, iters) * x.sqrt();
            prop_assert!((g - 1.0).abs() <= plain::rsqrt_rel_error(iters) * (1.0 + 1e-12) + 1e-15, "goldschmidt rsqrt {x}: {g}");
        }
    }
}

/// A kernel's named tolerance at x.
type Tolerance<'a> = Box<dyn Fn(f64) -> f64 + 'a>;

/// Odd shapes (a rank-3 tensor with a unit dim, a single element) run every kernel with
/// costs equal to the measured traffic and results within bounds.
#[test]
fn odd_shapes() {
    let coeffs = vec![0.5, -1.0, 0.25];
    let (breaks, pieces) = gelu_parts();
    // Each kernel with its named tolerance: its documented error bound at x.
    let cases: [(Op, Tolerance); 5] = [
        (
            Op::Poly {
                coeffs: coeffs.clone(),
            },
            Box::new(|x| plain::poly_bound(&coeffs, x, 18)),
        ),
        (
            Op::ExpTaylor { iters: 5 },
            Box::new(|x| plain::exp_taylor_bound(x, 5, 18, Ring::Z64)),
        ),
        (
            gelu_op(),
            Box::new(|x| plain::piecewise_bound(&breaks, &pieces, x, 18)),
        ),
        (
            Op::Reciprocal { iters: 2 },
            Box::new(|x| plain::reciprocal_bound(x, 2, 18)),
        ),
        (
            Op::Rsqrt { iters: 2 },
            Box::new(|x| plain::rsqrt_bound(x, 2, 18)),
        ),
    ];
    for shape in [vec![3, 1, 5], vec![1]] {
        let n: usize = shape.iter().product();
        let xs: Vec<f64> = (0..n).map(|i| 0.1 + 0.37 * i as f64).collect();
        for (op, bound) in &cases {
            let (got, enc) = run_secret(op, &xs, &shape, 18, Ring::Z64);
            for (x, y) in enc.iter().zip(&got) {
                let want = plain_eval(op, *x, 18, Ring::Z64).unwrap();
                let tol = bound(*x);
                assert!(
                    (y - want).abs() <= tol,
                    "{} at {x}: {y} vs {want}",
                    op.name()
                );
            }
        }
    }
}

/// The real function a public operand's result must match, at the decoded input x, and
/// its tolerance: exact formulas (polynomial, Taylor limit, GeLU's pieces) within one ulp
/// of the output's encoding; 1/x and 1/sqrt(x) within the documented relative error of
/// their iterations plus one ulp; and `e^x (1 - x^2/n) <= (1 + x/n)^n <= e^x` for the
/// Taylor limit against exp itself (|x| <= n).
fn public_reference(op: &Op, x: f64, f: u32) -> Vec<(f64, f64)> {
    let ulp = (-(f as f64)).exp2();
    if let Op::Poly { coeffs } = op {
        return {
            let want: f64 = coeffs
                .iter()
                .enumerate()
                .map(|(i, c)| c * x.powi(i as i32))
                .sum();
            vec![(want, ulp)]
        };
    }
    if let Op::ExpTaylor { iters } = op {
        return {
            let n = (*iters as f64).exp2();
            let limit = (1.0 + x / n).powf(n);
            let lo = x.exp() * (1.0 - x * x / n);
            let mid = (x.exp() + lo) / 2.0;
            vec![(limit, ulp), (mid, (x.exp() - lo) / 2.0 + ulp)]
        };
    }
    if let Op::PiecewisePoly { .. } = op {
        return {
            let (breaks, pieces) = gelu_parts();
            let j = breaks.iter().filter(|b| x >= **b).count();
            let want = match &pieces[j] {
                Piece::Zero => 0.0,
                Piece::Identity => x,
                Piece::Poly(c) => c
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c * x.powi(i as i32))
                    .sum(),
            };
            vec![(want, ulp)]
        };
    }
    if let Op::Reciprocal { iters } = op {
        return {
            let want = 1.0 / x;
            vec![(want, plain::reciprocal_rel_error(*iters) * want + ulp)]
        };
    }
    if let Op::Rsqrt { iters } = op {
        return {
            let want = 1.0 / x.sqrt();
            vec![(want, plain::rsqrt_rel_error(*iters) * want + ulp)]
        };
    }
    panic!("no reference for {}", op.name())
}

/// A public operand is computed in the clear, at zero cost, and its result matches the real
/// function at the decoded input ([`public_reference`]), not the VM's own evaluation.
#[test]
fn public_operand_uses_reference() {
    let (f, ring) = (18, Ring::Z64);
    let xs = vec![0.25, 1.5, 3.0, 7.0, 0.001];
    for op in [
        Op::Poly {
            coeffs: vec![1.0, -0.5, 0.125],
        },
        Op::ExpTaylor { iters: 5 },
        gelu_op(),
        Op::Reciprocal { iters: 2 },
        Op::Rsqrt { iters: 3 },
    ] {
        let mut g = Graph::new(f);
        let x = g.add(
            Op::Const { values: xs.clone() },
            &[],
            ValueType::new(&[5], ring, f, Vis::Public),
            "c",
        );
        let y = g.add(
            op.clone(),
            &[x],
            ValueType::new(&[5], ring, f, Vis::Public),
            "y",
        );
        let out = Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        };
        g.add(out, &[y], ValueType::new(&[5], ring, f, Vis::Public), "out");
        let plan = Plan::from_graph(g).unwrap();
        let data = party_data(&plan, &HashMap::new(), None);
        let r = run_local(&plan, data, &RunOptions::default()).unwrap();
        assert_eq!(node_cost(plan.graph(), &plan.graph().nodes[1]), Cost::ZERO);
        assert_eq!((r.profile[1].rounds, r.profile[1].bytes), (0, [0; 3]));
        for (x, y) in xs.iter().zip(&r.outputs["y"].data) {
            let xd = decode(encode(*x, f, ring), f, ring);
            for (want, tol) in public_reference(&op, xd, f) {
                assert!(
                    (y - want).abs() <= tol,
                    "{} at {x}: {y} vs {want} (tolerance {tol:e})",
                    op.name()
                );
            }
        }
    }
}

/// The cost functions give the documented step counts: exp_taylor t = 5 is 15 rounds with
/// 10n, 15n, 10n elements (t = 12 adds a truncation of the base); GeLU costs its comparisons plus 3 tree levels, one selection mul
/// of 3n and one truncation.
#[test]
fn cost_formulas() {
    let n = 1000;
    let c = secret_op_cost(&Op::ExpTaylor { iters: 5 }, n, 18, Ring::Z64);
    assert_eq!(c.rounds, 15);
    assert_eq!(
        c.bytes,
        [10 * 8 * n as u64, 15 * 8 * n as u64, 10 * 8 * n as u64]
    );
    let c12 = secret_op_cost(&Op::ExpTaylor { iters: 12 }, n, 18, Ring::Z64);
    assert_eq!(c12.rounds, 3 * 12 + 2);
    let cmp = mpcc_runtime::kernels::boolean::ge_const_cost(n, 3, Ring::Z64);
    let g = secret_op_cost(&gelu_op(), n, 18, Ring::Z64);
    assert_eq!(g.rounds, cmp.rounds + 9 + 1 + 2);
    // Tree: powers 2 | 3, 4 | 6 (4 products), selection of 3 pieces, final truncation.
    let w = 8 * n as u64;
    let rest = [
        4 * 2 * w + 3 * w + w,
        4 * 3 * w + 3 * w + 2 * w,
        4 * 2 * w + 3 * w + w,
    ];
    for (p, r) in rest.iter().enumerate() {
        assert_eq!(g.bytes[p], cmp.bytes[p] + r, "party {p}");
    }
    assert_eq!(
        secret_op_cost(&Op::Poly { coeffs: vec![3.0] }, n, 18, Ring::Z64),
        Cost::ZERO
    );
}

/// Runs `body` as each of three in-process parties and returns their results.
fn three_parties<R: Send>(body: impl Fn(&mut ctx::Ctx) -> R + Sync) -> Vec<R> {
    let links = transport::LocalTransport::triple(std::time::Duration::from_secs(60));
    std::thread::scope(|s| {
        let hs: Vec<_> = links
            .into_iter()
            .map(|l| {
                let body = &body;
                s.spawn(move || body(&mut ctx::Ctx::setup(Box::new(l)).unwrap()))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `trunc1` (the kernels' truncation: the VM's floor-or-one-less truncation plus one unit)
/// is within one unit of `x / 2^d` and unbiased: the mean error over 4096 random values is
/// below 0.05 units (8 standard errors), where the raw truncation's is about -1.
#[test]
fn trunc1_is_unbiased_within_one_unit() {
    use mpcc_runtime::kernels::arith::{self, trunc1};
    let (n, d, ring) = (4096usize, 18u32, Ring::Z64);
    let vs: Vec<i64> = (0..n as i64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64) >> 24)
        .collect();
    let out = three_parties(|ctx| {
        let data: Vec<u64> = vs.iter().map(|v| *v as u64).collect();
        let mine = (ctx.id == CLIENT).then_some(data.as_slice());
        let x = arith::share_input(ctx, CLIENT, mine, n, ring).unwrap();
        let y = trunc1(ctx, &x, d, ring).unwrap();
        let raw = arith::trunc(ctx, &x, d, ring).unwrap();
        (y, raw)
    });
    let open = |pick: fn(&(share::AShare, share::AShare)) -> &share::AShare, i: usize| {
        let s: u64 = (0..3).fold(0u64, |acc, p| acc.wrapping_add(pick(&out[p]).a[i]));
        s as i64 as f64
    };
    let (mut sum, mut sum_raw) = (0.0, 0.0);
    for (i, v) in vs.iter().enumerate() {
        let exact = *v as f64 / (d as f64).exp2();
        let err = open(|t| &t.0, i) - exact;
        assert!(err.abs() < 1.0, "value {v}: error {err}");
        sum += err;
        sum_raw += open(|t| &t.1, i) - exact;
    }
    assert!(
        (sum / n as f64).abs() < 0.05,
        "mean error {}",
        sum / n as f64
    );
    assert!(
        (sum_raw / n as f64 + 1.0).abs() < 0.05,
        "raw mean {}",
        sum_raw / n as f64
    );
}

/// The blocked, runtime-dispatched `arith::matmul_acc` equals a naive triple loop in Z_2^64
/// on shapes that do not divide its tiles (rows not a multiple of 4, columns across a
/// 256-column tile edge, depth across a 128 block), accumulating into `out`.
#[test]
fn matmul_acc_matches_naive_on_odd_shapes() {
    use mpcc_runtime::kernels::arith::matmul_acc;
    for (m, k, n) in [
        (1, 1, 1),
        (7, 130, 259),
        (4, 128, 256),
        (9, 3, 300),
        (5, 257, 17),
    ] {
        let a: Vec<u64> = (0..m * k)
            .map(|i| (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let b: Vec<u64> = (0..k * n)
            .map(|i| (i as u64 + 3).wrapping_mul(0xD1B5_4A32_D192_ED03))
            .collect();
        let mut got: Vec<u64> = (0..m * n).map(|i| i as u64).collect();
        let mut want = got.clone();
        matmul_acc(&a, &b, m, k, n, &mut got);
        for i in 0..m {
            for j in 0..n {
                for kk in 0..k {
                    let p = a[i * k + kk].wrapping_mul(b[kk * n + j]);
                    want[i * n + j] = want[i * n + j].wrapping_add(p);
                }
            }
        }
        assert_eq!(got, want, "{m}x{k}x{n}");
    }
}
