//! Boolean protocols and comparison kernels: share → run → reveal against the plaintext
//! reference, exactly, with the measured traffic equal to each kernel's cost function.
mod common;

use common::assert_costs;
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::ctx::{Ctx, Stats};
use mpcc_runtime::kernels::bitdec;
use mpcc_runtime::kernels::boolean::{self, plain};
use mpcc_runtime::ring::{decode, encode, to_signed};
use mpcc_runtime::share::{AShare, BShare};
use mpcc_runtime::transport::LocalTransport;
use mpcc_runtime::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::time::Duration;

/// Runs `f` at the three parties over in-process links; returns each party's result and
/// traffic (set-up excluded).
fn run3<T: Send>(f: impl Fn(&mut Ctx, usize) -> T + Sync) -> Vec<(T, Stats)> {
    let links = LocalTransport::triple(Duration::from_secs(30));
    std::thread::scope(|s| {
        let f = &f;
        let hs: Vec<_> = links
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                s.spawn(move || {
                    let mut ctx = Ctx::setup(Box::new(l)).unwrap();
                    ctx.take_stats();
                    let r = f(&mut ctx, i);
                    (r, ctx.take_stats())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Replicated arithmetic shares of `xs` for the three parties.
fn share(xs: &[u64], ring: Ring, rng: &mut ChaCha8Rng) -> Vec<AShare> {
    let m = ring.mask();
    let s0: Vec<u64> = xs.iter().map(|_| rng.gen::<u64>() & m).collect();
    let s1: Vec<u64> = xs.iter().map(|_| rng.gen::<u64>() & m).collect();
    let s2: Vec<u64> = (0..xs.len())
        .map(|i| xs[i].wrapping_sub(s0[i]).wrapping_sub(s1[i]) & m)
        .collect();
    let s = [s0, s1, s2];
    (0..3)
        .map(|i| AShare {
            a: s[i].clone(),
            b: s[(i + 1) % 3].clone(),
        })
        .collect()
}

/// Reveals replicated arithmetic shares, checking that the parties' copies agree.
fn reveal(sh: &[&AShare], ring: Ring) -> Vec<u64> {
    for i in 0..3 {
        assert_eq!(
            sh[i].b,
            sh[(i + 1) % 3].a,
            "replicated copies of x_{}",
            i + 1
        );
    }
    (0..sh[0].a.len())
        .map(|e| sh[0].a[e].wrapping_add(sh[0].b[e]).wrapping_add(sh[1].b[e]) & ring.mask())
        .collect()
}

/// Reveals replicated boolean shares, checking that the parties' copies agree.
fn reveal_bits(sh: &[&BShare]) -> Vec<u64> {
    for i in 0..3 {
        assert_eq!(
            sh[i].b,
            sh[(i + 1) % 3].a,
            "replicated copies of b_{}",
            i + 1
        );
    }
    (0..sh[0].a.len())
        .map(|e| sh[0].a[e] ^ sh[0].b[e] ^ sh[1].b[e])
        .collect()
}

/// Asserts that each party's measured traffic equals the cost function.
fn assert_cost(stats: &[Stats], c: Cost, what: &str) {
    for (p, s) in stats.iter().enumerate() {
        assert_eq!(s.rounds, c.rounds, "{what}: rounds at party {p}");
        assert_eq!(s.bytes_sent, c.bytes[p], "{what}: bytes of party {p}");
    }
}

fn ring_of(z32: bool) -> Ring {
    if z32 {
        Ring::Z32
    } else {
        Ring::Z64
    }
}

/// Signed values of magnitude below 2^(k-2), with zero, ±1 and the edges over-represented.
fn value(ring: Ring, raw: u64, pick: u8) -> u64 {
    let lim = 1i64 << (ring.bits() - 2);
    let v = match pick % 8 {
        0 => 0,
        1 => lim - 1 - (raw % 4) as i64,
        2 => -lim + (raw % 4) as i64,
        3 => (raw % 7) as i64 - 3,
        _ => (raw % (1u64 << (ring.bits() - 1))) as i64 - lim,
    };
    (v as u64) & ring.mask()
}

fn values(ring: Ring, raws: &[(u64, u8)]) -> Vec<u64> {
    raws.iter().map(|(r, p)| value(ring, *r, *p)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// ge_const is exact for |x|, |t| < 2^(k-2) (so |x - t| < 2^(k-1)), several thresholds
    /// (including thresholds equal to an element and its neighbours) share one run, any
    /// length including fewer elements than parties, and the traffic equals the cost.
    #[test]
    fn ge_const_exact(
        z32 in any::<bool>(),
        raws in prop::collection::vec((any::<u64>(), any::<u8>()), 0..40),
        traws in prop::collection::vec((any::<u64>(), any::<u8>()), 1..4),
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let xs = values(ring, &raws);
        let mut th = values(ring, &traws);
        if let Some(x) = xs.first() {
            th.push(*x);
            th.push(x.wrapping_add(1) & ring.mask());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| boolean::ge_const(ctx, &sh[i], &th, ring).unwrap());
        let got = reveal(&[&out[0].0, &out[1].0, &out[2].0], ring);
        let want: Vec<u64> = th.iter().flat_map(|t| xs.iter().map(|x| plain::ge(*x, *t, ring))).collect();
        for (c, (g, w)) in got.iter().zip(&want).enumerate() {
            let (t, e) = (c / xs.len().max(1), c % xs.len().max(1));
            prop_assert_eq!(*g, *w, "x={} t={}", to_signed(xs[e], ring), to_signed(th[t], ring));
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::ge_const_cost(xs.len(), th.len(), ring), "ge_const");
    }

    /// msb is exact over the whole ring (it needs no range assumption) and costs what
    /// msb_cost says.
    #[test]
    fn msb_exact(
        z32 in any::<bool>(),
        xs in prop::collection::vec(any::<u64>(), 0..40),
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let xs: Vec<u64> = xs.iter().map(|x| x & ring.mask()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| boolean::msb(ctx, &sh[i], ring).unwrap());
        let got = reveal_bits(&[&out[0].0, &out[1].0, &out[2].0]);
        for (g, x) in got.iter().zip(&xs) {
            prop_assert_eq!(*g, x >> (ring.bits() - 1), "x={:#x}", x);
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::msb_cost(xs.len(), ring), "msb");
    }

    /// bit_inject turns bit 0 of boolean shares (other bits are noise) into arithmetic 0/1.
    #[test]
    fn bit_inject_exact(
        z32 in any::<bool>(),
        words in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 0..40),
    ) {
        let ring = ring_of(z32);
        let s: [Vec<u64>; 3] = [
            words.iter().map(|w| w.0).collect(),
            words.iter().map(|w| w.1).collect(),
            words.iter().map(|w| w.2).collect(),
        ];
        let sh: Vec<BShare> = (0..3).map(|i| BShare { a: s[i].clone(), b: s[(i + 1) % 3].clone() }).collect();
        let out = run3(|ctx, i| boolean::bit_inject(ctx, &sh[i], ring).unwrap());
        let got = reveal(&[&out[0].0, &out[1].0, &out[2].0], ring);
        for (g, w) in got.iter().zip(&words) {
            prop_assert_eq!(*g, (w.0 ^ w.1 ^ w.2) & 1);
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::bit_inject_cost(words.len(), ring), "bit_inject");
    }

    /// relu is exact over the whole signed range and costs what relu_cost says.
    #[test]
    fn relu_exact(
        z32 in any::<bool>(),
        raws in prop::collection::vec((any::<u64>(), any::<u8>()), 0..40),
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let xs: Vec<u64> = raws.iter().map(|(r, p)| if p % 5 == 4 { r & ring.mask() } else { value(ring, *r, *p) }).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| boolean::relu(ctx, &sh[i], ring).unwrap());
        let got = reveal(&[&out[0].0, &out[1].0, &out[2].0], ring);
        for (g, x) in got.iter().zip(&xs) {
            prop_assert_eq!(*g, plain::relu(*x, ring), "x={}", to_signed(*x, ring));
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::relu_cost(xs.len(), ring), "relu");
    }

    /// max_axis is exact over odd shapes and every axis, and costs what max_axis_cost says.
    #[test]
    fn max_axis_exact(
        z32 in any::<bool>(),
        shape in prop::collection::vec(1usize..6, 1..4),
        axis_pick in any::<usize>(),
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let axis = axis_pick % shape.len();
        let n: usize = shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<u64> = (0..n).map(|_| value(ring, rng.gen(), rng.gen())).collect();
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| boolean::max_axis(ctx, &sh[i], &shape, axis, ring).unwrap());
        let got = reveal(&[&out[0].0, &out[1].0, &out[2].0], ring);
        // Reference: the true maximum (ties give the same value whichever side wins).
        let inner: usize = shape[axis + 1..].iter().product();
        let len = shape[axis];
        let want: Vec<u64> = (0..n / len)
            .map(|q| {
                let (o, i) = (q / inner, q % inner);
                (0..len)
                    .map(|l| xs[o * len * inner + l * inner + i])
                    .max_by_key(|v| to_signed(*v, ring))
                    .unwrap()
            })
            .collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(&got, &plain::max_axis(&xs, &shape, axis, ring));
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::max_axis_cost(&shape, axis, ring), "max_axis");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// a2b reproduces every bit of x over the whole ring, and costs what a2b_cost says.
    #[test]
    fn a2b_exact(
        z32 in any::<bool>(),
        xs in prop::collection::vec(any::<u64>(), 0..24),
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let xs: Vec<u64> = xs.iter().map(|x| x & ring.mask()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| bitdec::a2b(ctx, &sh[i], ring).unwrap());
        let got = reveal_bits(&[&out[0].0, &out[1].0, &out[2].0]);
        prop_assert_eq!(&got, &xs);
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, bitdec::a2b_cost(xs.len(), ring), "a2b");
    }

    /// prefix_or gives, at each position, the OR of that bit and all bits above it, for any
    /// width up to 64, and costs what prefix_or_cost says.
    #[test]
    fn prefix_or_exact(
        nbits in 1u32..=64,
        words in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), 0u32..64), 0..24),
    ) {
        let m = if nbits == 64 { u64::MAX } else { (1u64 << nbits) - 1 };
        // Values with a random top bit, so every prefix length occurs.
        let vals: Vec<u64> = words.iter().map(|w| (w.0 >> w.3) & m).collect();
        let s: [Vec<u64>; 3] = [
            words.iter().map(|w| w.1).collect(),
            words.iter().map(|w| w.2).collect(),
            words.iter().zip(&vals).map(|(w, v)| v ^ w.1 ^ w.2).collect(),
        ];
        let sh: Vec<BShare> = (0..3).map(|i| BShare { a: s[i].clone(), b: s[(i + 1) % 3].clone() }).collect();
        let out = run3(|ctx, i| bitdec::prefix_or(ctx, &sh[i], nbits).unwrap());
        let got = reveal_bits(&[&out[0].0, &out[1].0, &out[2].0]);
        for (g, v) in got.iter().zip(&vals) {
            // Bits 0..=top are set, where top is v's most significant 1 bit.
            let expect = if *v == 0 { 0 } else { low(64 - v.leading_zeros()) };
            prop_assert_eq!(g & m, expect, "v={:#x} nbits={}", v, nbits);
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, bitdec::prefix_or_cost(words.len(), nbits), "prefix_or");
    }
}

fn low(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// msb_weights returns tables[j][i] for i the position of x's top 1 bit, for x in
    /// [1, 2^(k-2)) (every top-bit position occurs), every table from one run, any length.
    #[test]
    fn msb_weights_exact(
        z32 in any::<bool>(),
        len in 0usize..8,
        seed in any::<u64>(),
    ) {
        let ring = ring_of(z32);
        let k = ring.bits();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<u64> = (0..len)
            .map(|_| {
                let top = rng.gen_range(0..k - 2);
                (1u64 << top) | (rng.gen::<u64>() & ((1u64 << top) - 1))
            })
            .collect();
        let tables: Vec<Vec<u64>> = (0..3)
            .map(|_| (0..k).map(|_| rng.gen::<u64>() & ring.mask()).collect())
            .collect();
        let sh = share(&xs, ring, &mut rng);
        let out = run3(|ctx, i| boolean::msb_weights(ctx, &sh[i], &tables, ring).unwrap());
        for (j, tab) in tables.iter().enumerate() {
            let got = reveal(&[&out[0].0[j], &out[1].0[j], &out[2].0[j]], ring);
            for (g, x) in got.iter().zip(&xs) {
                prop_assert_eq!(*g, tab[63 - x.leading_zeros() as usize], "x={:#x}", x);
            }
        }
        let stats: Vec<Stats> = out.iter().map(|o| o.1).collect();
        assert_cost(&stats, boolean::msb_weights_cost(xs.len(), tables.len(), ring), "msb_weights");
    }
}

/// A one-kernel plan: client input x of `shape` → `op` → output to the client.
fn kernel_plan(
    op: Op,
    shape: &[usize],
    out_shape: &[usize],
    scale: u32,
    out_scale: u32,
    ring: Ring,
) -> Plan {
    let ty = |s: &[usize], sc: u32| ValueType::new(s, ring, sc, Vis::Client);
    let mut g = Graph::new(scale);
    let enc = InputEncoding::Fixed;
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: enc,
        },
        &[],
        ty(shape, scale),
        "x",
    );
    let y = g.add(op, &[x], ty(out_shape, out_scale), "k");
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[y],
        ty(out_shape, out_scale),
        "y",
    );
    let plan = Plan::from_graph(g).unwrap();
    Plan::from_bytes(&plan.to_bytes()).unwrap()
}

/// Runs a one-kernel plan on `xs`; checks every instruction's traffic against node_cost and
/// returns the output (as ring elements at `out_scale`).
fn run_plan(plan: &Plan, shape: &[usize], xs: &[f64], out_scale: u32, ring: Ring) -> Vec<u64> {
    let mut inputs = HashMap::new();
    inputs.insert(
        "x".to_string(),
        HostTensor {
            shape: shape.to_vec(),
            data: xs.to_vec(),
        },
    );
    let data = party_data(plan, &inputs, None);
    let r = run_local(plan, data, &RunOptions::default()).unwrap();
    assert_costs(plan, &r);
    r.outputs["y"]
        .data
        .iter()
        .map(|v| encode(*v, out_scale, ring))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The IR kernels ge, relu and max_axis run through the VM on odd shapes of 1000+
    /// elements: outputs match the plaintext reference exactly and each instruction's
    /// measured rounds and bytes equal node_cost.
    #[test]
    fn ir_kernels_through_the_vm(z32 in any::<bool>(), d0 in 7usize..13, d1 in 9usize..14, d2 in 11usize..17, seed in any::<u64>()) {
        let ring = ring_of(z32);
        let scale = if z32 { 12 } else { 18 };
        let shape = [d0, d1, d2];
        let n = d0 * d1 * d2;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lim = 1i64 << (ring.bits() - 3);
        let raw: Vec<i64> = (0..n).map(|i| if i % 17 == 0 { 0 } else { rng.gen_range(-lim..lim) }).collect();
        let xs: Vec<f64> = raw.iter().map(|r| decode((*r as u64) & ring.mask(), scale, ring)).collect();
        let enc: Vec<u64> = xs.iter().map(|v| encode(*v, scale, ring)).collect();

        let th = vec![-1.5, 0.0, decode(enc[1], scale, ring)];
        let mut gshape = vec![th.len()];
        gshape.extend_from_slice(&shape);
        let plan = kernel_plan(Op::Ge { thresholds: th.clone() }, &shape, &gshape, scale, 0, ring);
        let got = run_plan(&plan, &shape, &xs, 0, ring);
        let want: Vec<u64> = th.iter().flat_map(|t| enc.iter().map(|x| plain::ge(*x, encode(*t, scale, ring), ring))).collect();
        prop_assert_eq!(got, want);

        let plan = kernel_plan(Op::Relu, &shape, &shape, scale, scale, ring);
        let got = run_plan(&plan, &shape, &xs, scale, ring);
        prop_assert_eq!(got, enc.iter().map(|x| plain::relu(*x, ring)).collect::<Vec<_>>());

        let axis = (seed % 3) as usize;
        let mut mshape = shape.to_vec();
        mshape[axis] = 1;
        let plan = kernel_plan(Op::MaxAxis { axis }, &shape, &mshape, scale, scale, ring);
        let got = run_plan(&plan, &shape, &xs, scale, ring);
        prop_assert_eq!(got, plain::max_axis(&enc, &shape, axis, ring));
    }
}

/// The measured cost per element for k = 64 and k = 32 over 3000 elements: the rounds
/// and average bits per party stated in the kernels' docs.
#[test]
fn documented_costs() {
    let n = 3000;
    let bits = |c: Cost| c.total_bytes() as f64 * 8.0 / 3.0 / n as f64;
    for (ring, msb_r, msb_b, ge_r, ge_b, relu_b, w_b) in [
        (Ring::Z64, 6, 124.33, 8, 188.0, 209.33, 5592.0),
        (Ring::Z32, 5, 58.67, 7, 90.33, 101.0, 1298.33),
    ] {
        let c = boolean::msb_weights_cost(n, 2, ring);
        assert_eq!(c.rounds, ge_r - 1);
        assert!(
            (bits(c) - w_b).abs() < 0.01,
            "msb_weights {ring}: {}",
            bits(c)
        );
        let c = boolean::msb_cost(n, ring);
        assert_eq!(c.rounds, msb_r);
        assert!((bits(c) - msb_b).abs() < 0.01, "msb {ring}: {}", bits(c));
        let c = boolean::ge_const_cost(n, 1, ring);
        assert_eq!(c.rounds, ge_r);
        assert!((bits(c) - ge_b).abs() < 0.01, "ge {ring}: {}", bits(c));
        let c = boolean::relu_cost(n, ring);
        assert_eq!(c.rounds, ge_r);
        assert!((bits(c) - relu_b).abs() < 0.01, "relu {ring}: {}", bits(c));
        let c = bitdec::a2b_cost(n, ring);
        assert_eq!(c.rounds, ge_r);
        let want = if ring == Ring::Z64 { 631.33 } else { 249.33 };
        assert!((bits(c) - want).abs() < 0.01, "a2b {ring}: {}", bits(c));
        let c = bitdec::prefix_or_cost(n, ring.bits());
        assert_eq!(c.rounds, msb_r);
        let want = if ring == Ring::Z64 { 321.0 } else { 129.0 };
        assert!(
            (bits(c) - want).abs() < 0.01,
            "prefix_or {ring}: {}",
            bits(c)
        );
        // A row of 128: 7 levels, the first 2 + L + 1 rounds, the others one fewer.
        let c = boolean::max_axis_cost(&[48, 128], 1, ring);
        assert_eq!(c.rounds, 7 * (ge_r - 2) + 1);
        // Per comparison, up to the rounding of each message to whole bytes.
        let want = if ring == Ring::Z64 { 294.67 } else { 143.67 };
        let got = c.total_bytes() as f64 * 8.0 / 3.0 / (48.0 * 127.0);
        assert!(got >= want - 0.01 && got < want + 1.0, "max {ring}: {got}");
        let c = boolean::bit_inject_cost(n, ring);
        assert_eq!((c.rounds, c.bytes), (2, [n as u64 * ring.bytes(); 3]));
    }
}
