//! Truncation protocols, run directly on three in-process parties: exact truncation never
//! fails in its range, both variants send exactly their declared bytes and rounds, and a
//! shift outside `1..=k-2` is refused before any traffic.
mod common;

use mpcc_ir::Ring;
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::kernels::arith;
use mpcc_runtime::share::AShare;
use mpcc_runtime::transport::LocalTransport;
use mpcc_runtime::Cost;
use proptest::prelude::*;
use std::time::Duration;

type Proto = fn(&mut Ctx, &AShare, u32, Ring) -> Result<AShare, mpcc_runtime::error::KernelError>;

/// Shares `xs` (dealer-style, in the test only), runs `f` on three parties, reveals in the
/// clear, and returns the results with each party's (bytes, rounds).
fn run3(xs: &[u64], d: u32, ring: Ring, f: Proto) -> (Vec<u64>, [(u64, u64); 3]) {
    let m = ring.mask();
    let r1: Vec<u64> = xs
        .iter()
        .enumerate()
        .map(|(i, _)| (i as u64).wrapping_mul(0x9E3779B97F4A7C15) & m)
        .collect();
    let r2: Vec<u64> = xs
        .iter()
        .enumerate()
        .map(|(i, _)| (i as u64 ^ 0xABCDEF).wrapping_mul(0xC2B2AE3D27D4EB4F) & m)
        .collect();
    let x0: Vec<u64> = xs
        .iter()
        .zip(&r1)
        .zip(&r2)
        .map(|((x, a), b)| x.wrapping_sub(*a).wrapping_sub(*b) & m)
        .collect();
    common::on_three_parties([x0, r1, r2], ring, |ctx, sh| f(ctx, sh, d, ring))
}

fn signed(x: u64, ring: Ring) -> i64 {
    mpcc_runtime::ring::to_signed(x, ring)
}

fn check_exact(vals: &[i64], d: u32, ring: Ring) {
    let m = ring.mask();
    let xs: Vec<u64> = vals.iter().map(|v| (*v as u64) & m).collect();
    let (y, st) = run3(&xs, d, ring, arith::trunc_exact);
    for (v, y) in vals.iter().zip(&y) {
        let fl = v >> d;
        let got = signed(*y, ring);
        assert!(
            got == fl || got == fl - 1,
            "x={v} d={d}: got {got}, floor {fl}"
        );
    }
    let c: Cost = arith::trunc_exact_cost(xs.len(), ring);
    for (p, sp) in st.iter().enumerate() {
        assert_eq!(*sp, (c.bytes[p], c.rounds), "party {p}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Exact truncation gives floor(x/2^d) or one less for any |x| < 2^(k-2), in Z_2^64.
    #[test]
    fn exact_trunc_z64(vals in prop::collection::vec(-(1i64 << 62) + 1..(1i64 << 62), 1..64), d in 1u32..40) {
        check_exact(&vals, d, Ring::Z64);
    }
    /// The same in Z_2^32.
    #[test]
    fn exact_trunc_z32(vals in prop::collection::vec(-(1i64 << 30) + 1..(1i64 << 30), 1..64), d in 1u32..20) {
        check_exact(&vals, d, Ring::Z32);
    }
}

/// Range extremes, zero and small negatives truncate exactly.
#[test]
fn exact_trunc_extremes() {
    let vals = [
        0,
        1,
        -1,
        2,
        -2,
        (1i64 << 62) - 1,
        -(1i64 << 62) + 1,
        1 << 40,
        -(1 << 40),
        123456789,
        -987654321,
    ];
    check_exact(&vals, 18, Ring::Z64);
    check_exact(&[0, 1, -1, (1 << 30) - 1, -(1 << 30) + 1], 8, Ring::Z32);
}

/// Probabilistic truncation is within one unit for small values and sends its declared cost.
#[test]
fn probabilistic_trunc_small_values() {
    let vals: Vec<i64> = (-500..500).map(|i| i * 7_919_777).collect();
    let xs: Vec<u64> = vals.iter().map(|v| *v as u64).collect();
    let (y, st) = run3(&xs, 18, Ring::Z64, arith::trunc_prob);
    for (v, y) in vals.iter().zip(&y) {
        let got = *y as i64;
        assert!(got == v >> 18 || got == (v >> 18) + 1, "x={v}: {got}");
    }
    let c = arith::trunc_prob_cost(xs.len(), Ring::Z64);
    for (p, sp) in st.iter().enumerate() {
        assert_eq!(*sp, (c.bytes[p], c.rounds));
    }
}

/// Every truncation kernel refuses a shift of 0 or above k-2 with `KernelError::TruncShift`,
/// in both rings, without sending anything; k-2 itself is accepted.
#[test]
fn out_of_range_shifts_are_refused() {
    let kernels: [(&str, Proto); 4] = [
        ("trunc", arith::trunc),
        ("trunc_exact", arith::trunc_exact),
        ("trunc_prob", arith::trunc_prob),
        ("trunc1", arith::trunc1),
    ];
    for ring in [Ring::Z64, Ring::Z32] {
        let k = ring.bits();
        for d in [0, k - 1, k, k + 5] {
            for (name, f) in kernels {
                let links = LocalTransport::triple(Duration::from_secs(5));
                let errs: Vec<(String, u64)> = std::thread::scope(|s| {
                    let hs: Vec<_> = links
                        .into_iter()
                        .map(|l| {
                            s.spawn(move || {
                                let mut ctx = Ctx::setup(Box::new(l)).unwrap();
                                ctx.take_stats();
                                let x = AShare {
                                    a: vec![5; 3],
                                    b: vec![7; 3],
                                };
                                let e = f(&mut ctx, &x, d, ring).expect_err("refused");
                                let sent = ctx.take_stats().bytes_sent;
                                (e.to_string(), sent)
                            })
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).collect()
                });
                for (e, sent) in errs {
                    let want = format!("truncation by {d} bits in Z_2^{k}");
                    assert!(e.starts_with(&want), "{name} {ring} d={d}: {e}");
                    assert_eq!(sent, 0, "{name} {ring} d={d}");
                }
            }
        }
        assert!(arith::shift_in_range(k - 2, ring) && arith::shift_in_range(1, ring));
        check_exact(&[3, -3, 1 << (k - 3)], k - 2, ring);
    }
}

/// A plan's `trunc` by 0 bits on a secret stops the run at that instruction with the shift
/// error at every party (none waits for a message that never comes).
#[test]
fn plan_with_zero_shift_is_refused() {
    use mpcc_ir::*;
    let mut g = Graph::new(18);
    let input = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let x = g.add(input, &[], ValueType::z64(&[2], 18, Vis::Client), "x");
    let t = g.add(
        Op::Trunc { bits: 0 },
        &[x],
        ValueType::z64(&[2], 18, Vis::Client),
        "t",
    );
    let out = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(out, &[t], ValueType::z64(&[2], 18, Vis::Client), "y");
    let plan = mpcc_ir::plan::Plan::from_graph(g).unwrap();
    let x = mpcc_runtime::HostTensor {
        shape: vec![2],
        data: vec![0.5, -1.5],
    };
    let inputs = std::collections::HashMap::from([("x".to_string(), x)]);
    let data = mpcc_runtime::party_data(&plan, &inputs, None);
    let opts = mpcc_runtime::RunOptions {
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let e = mpcc_runtime::run_local(&plan, data, &opts).expect_err("refused");
    let e = e.to_string();
    assert!(
        e.starts_with("instruction 1 (trunc from ONNX node 't'): truncation by 0 bits"),
        "{e}"
    );
}
