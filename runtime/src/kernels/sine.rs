//! SecFormer's sine protocol (MPC-REFERENCE §2.4): a Fourier series
//! `c_0 + sum_j c_j sin(2π j x / P)` of a secret x from one opening, with its correlated
//! randomness made by the three parties themselves, apart and before any input exists.
//!
//! **Angles as ring elements.** For x at scale f in Z_2^k, the local product
//! `u = x · c` with the public integer `c = round(2^(k-f) / P)` is the angle of x in units of
//! 2^-k of a turn: `2π u / 2^k = 2π x / P (mod 2π)` up to the rounding of c. Wrapping in the
//! ring is a whole number of turns, so every x has its angle: there is no range to respect.
//!
//! **Material** ([`sin_prep`], input-independent). A random angle t that no party knows, and
//! shares of `S_j = sin(j θ_t)`, `C_j = cos(j θ_t)` (θ_t = 2π t / 2^k) at scale 2q
//! ([`mpcc_ir::typing::sin_prep_scale`]). No dealer: `t = t_a + t_b`, where party 0 alone
//! draws t_a and parties 1 and 2 draw t_b from the seed they share. Then
//! `S_j = A_s B_c + A_c B_s`, `C_j = A_c B_c - A_s B_s` with `A = (sin, cos)(j θ_a)` known to
//! party 0 and `B = (sin, cos)(j θ_b)` known to parties 1 and 2, each encoded at scale q:
//! 1. Round 1: party 0 sends party 1 `t_a - r` and `A - r_A`, masked by PRG output of the
//!    seed of parties 0 and 2 (which party 2 draws too, so parties 1 and 2 now hold 2-of-2
//!    shares of t_a and A).
//! 2. Each of parties 1 and 2 multiplies its share of A by the B it knows; with the share
//!    components `y_0` (seed of parties 0, 2) and `y_1` (seed of 0, 1) drawn from the PRGs,
//!    party 1 sends party 2 its part minus y_1 and party 2 sends party 1 its part minus y_0
//!    (round 2), and `y_2` is their sum. For t: `y_0 = r`, `y_1 = t_a - r`, `y_2 = t_b`.
//!
//! Every message is masked by PRG output its receiver lacks (party 1 lacks the seed of
//! parties 0 and 2, party 2 that of parties 0 and 1), so no party learns t, t_a + t_b or any
//! S_j, C_j. Cost: 2 rounds; party 0 sends `(2K + 1) n` elements, parties 1 and 2 `2K n`.
//!
//! **Online** ([`sin_series`]). Open `δ = u - t` to every party (one round; δ is uniform
//! because t is); then locally, since `θ_u = θ_δ + θ_t`,
//! `sin(j θ_u) = sin(j θ_δ) C_j + cos(j θ_δ) S_j`: the public `c_j sin(j θ_δ)`,
//! `c_j cos(j θ_δ)` are encoded at scale q, the sum (with c_0) is at scale 3q, and one
//! truncation by `3q - f` brings it to x's scale. Cost: the opening (1 round, n elements per
//! party) and one truncation ([`arith::trunc_cost`]).
//!
//! **Error bound** against `c_0 + sum_j c_j sin(2π j x' / P)` at the encoded x': the
//! encodings of A, B (each `2^-(q+1)`) and of the public coefficients give at most
//! `2^-q (2 sum_j |c_j| + 1) + 2^-f` (the truncation's unit), plus the angle error of c,
//! `2π j |x| 2^f |c - 2^(k-f)/P| / 2^k` per term (Z64, f = 18, |x| < 2^10, P = 28.3:
//! below 2^-40).

use super::arith::{self, recv_elems, trunc1_in_range};
use super::common::const_plus;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::prss::os_seed;
use crate::ring::{encode, pack};
use crate::share::AShare;
use crate::transport::TransportError;
use mpcc_ir::{PartyId, Ring};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::f64::consts::TAU;

/// The public multiplier c of x at scale f: `round(2^(k-f) / period)`.
pub fn angle_factor(period: f64, f: u32, ring: Ring) -> u64 {
    ((ring.bits() as f64 - f as f64).exp2() / period).round() as u64 & ring.mask()
}

/// The angle in radians of the ring element u (units of 2^-k of a turn).
pub fn angle(u: u64, ring: Ring) -> f64 {
    TAU * (u & ring.mask()) as f64 / (ring.bits() as f64).exp2()
}

/// The 2K rows `sin(j θ_e), cos(j θ_e)` (j = 1..=terms, each encoded at scale q) of the
/// angles `ts`, in the material's row order: row `2(j - 1)` the sines of term j, the next
/// row its cosines, each of `ts.len()` elements.
fn encoded_rows(ts: &[u64], terms: usize, q: u32, ring: Ring) -> Vec<u64> {
    let n = ts.len();
    let mut out = vec![0; 2 * terms * n];
    for (e, t) in ts.iter().enumerate() {
        let theta = angle(*t, ring);
        for j in 0..terms {
            let a = (j + 1) as f64 * theta;
            out[2 * j * n + e] = encode(a.sin(), q, ring);
            out[(2 * j + 1) * n + e] = encode(a.cos(), q, ring);
        }
    }
    out
}

/// Makes the material of [`sin_series`] with `terms` terms for `n` elements (see the module
/// doc): rows `t, S_1, C_1, …, S_K, C_K`, S and C at scale `q2 = 2q`.
pub fn sin_prep(
    ctx: &mut Ctx,
    n: usize,
    terms: usize,
    q2: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let m = ring.mask();
    let q = q2 / 2;
    let k2 = 2 * terms * n;
    let pairs = |ts: &[u64]| encoded_rows(ts, terms, q, ring);
    // Party 1's or 2's part of the 2K products from its share of A and the B it knows (both
    // in row order), minus its PRG component y: `S_j = A_s B_c + A_c B_s`,
    // `C_j = A_c B_c - A_s B_s`.
    let products = |sa: &[u64], b: &[u64], y: &[u64]| -> Vec<u64> {
        let mut out = vec![0; k2];
        for j in 0..terms {
            let (sr, cr) = (2 * j * n, (2 * j + 1) * n);
            for e in 0..n {
                let (is, ic) = (sr + e, cr + e);
                let (as_, ac, bs, bc) = (sa[is], sa[ic], b[is], b[ic]);
                let sv = as_.wrapping_mul(bc).wrapping_add(ac.wrapping_mul(bs));
                let cv = ac.wrapping_mul(bc).wrapping_sub(as_.wrapping_mul(bs));
                out[is] = sv.wrapping_sub(y[is]) & m;
                out[ic] = cv.wrapping_sub(y[ic]) & m;
            }
        }
        out
    };
    let sum = |p: &[u64], r: &[u64]| -> Vec<u64> {
        p.iter()
            .zip(r)
            .map(|(a, b)| a.wrapping_add(*b) & m)
            .collect()
    };
    let (t, prod) = match ctx.id {
        0 => {
            let mut rng = ChaCha12Rng::from_seed(os_seed());
            #[cfg(not(feature = "broken-sine-angle"))]
            let ta: Vec<u64> = (0..n).map(|_| rng.next_u64() & m).collect();
            // INSECURE, test-only (see Cargo.toml): no part of party 0 in the angle.
            #[cfg(feature = "broken-sine-angle")]
            let ta: Vec<u64> = (0..n).map(|_| rng.next_u64() & 0).collect();
            let a = pairs(&ta);
            let r = ctx.prss.own(n, m);
            let ra = ctx.prss.own(k2, m);
            let y0 = ctx.prss.own(k2, m);
            let y1 = ctx.prss.next(k2, m);
            let mt: Vec<u64> = ta
                .iter()
                .zip(&r)
                .map(|(a, r)| a.wrapping_sub(*r) & m)
                .collect();
            let ma: Vec<u64> = a
                .iter()
                .zip(&ra)
                .map(|(a, r)| a.wrapping_sub(*r) & m)
                .collect();
            let msg = pack(&[mt.clone(), ma].concat(), ring);
            ctx.exchange(Some(&msg), None, false, false)?;
            ctx.exchange(None, None, false, false)?;
            ((r, mt), (y0, y1))
        }
        1 => {
            let tb = ctx.prss.next(n, m);
            let b = pairs(&tb);
            let y1 = ctx.prss.own(k2, m);
            let (got, _) = ctx.exchange(None, None, true, false)?;
            let got = recv_elems(got, n + k2, ring, 0)?;
            let (mt, ma) = got.split_at(n);
            let e1 = products(ma, &b, &y1);
            let (_, from2) = ctx.exchange(Some(&pack(&e1, ring)), None, false, true)?;
            let y2 = sum(&e1, &recv_elems(from2, k2, ring, 2)?);
            ((mt.to_vec(), tb), (y1, y2))
        }
        _ => {
            let tb = ctx.prss.own(n, m);
            let b = pairs(&tb);
            let r = ctx.prss.next(n, m);
            let ra = ctx.prss.next(k2, m);
            let y0 = ctx.prss.next(k2, m);
            ctx.exchange(None, None, false, false)?;
            let e2 = products(&ra, &b, &y0);
            let (from1, _) = ctx.exchange(None, Some(&pack(&e2, ring)), true, false)?;
            let y2 = sum(&recv_elems(from1, k2, ring, 1)?, &e2);
            ((tb, r), (y2, y0))
        }
    };
    let (mut a, mut b) = t;
    a.extend(prod.0);
    b.extend(prod.1);
    Ok(AShare { a, b })
}

/// Cost of [`sin_prep`] for `n` elements and `terms` terms.
pub fn sin_prep_cost(n: usize, terms: usize, ring: Ring) -> Cost {
    let e = ring.bytes();
    let k2 = (2 * terms * n) as u64;
    Cost::round([(n as u64 + k2) * e, 0, 0]).then(Cost {
        macs: 4 * (terms * n) as u64,
        ..Cost::round([0, k2 * e, k2 * e])
    })
}

/// `coeffs[0] + sum_j coeffs[j] sin(2π j x / period)` of `x` at scale f, at scale f, with
/// the material `prep` of [`sin_prep`] (K = coeffs.len() - 1 terms, scale `q2`).
#[allow(clippy::too_many_arguments)]
pub fn sin_series(
    ctx: &mut Ctx,
    x: &AShare,
    prep: &AShare,
    coeffs: &[f64],
    period: f64,
    f: u32,
    q2: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let (n, q, m) = (x.len(), q2 / 2, ring.mask());
    // δ = x c - t, from the first row of the material.
    let c = angle_factor(period, f, ring);
    let d = |xs: &[u64], ts: &[u64]| -> Vec<u64> {
        xs.iter()
            .zip(ts)
            .map(|(x, t)| x.wrapping_mul(c).wrapping_sub(*t) & m)
            .collect()
    };
    let d = AShare {
        a: d(&x.a, &prep.a[..n]),
        b: d(&x.b, &prep.b[..n]),
    };
    let all: [PartyId; 3] = [0, 1, 2];
    let delta = arith::reveal(ctx, &d, &all, ring)?.expect("every party learns δ");
    // Σ_j [c_j sin(j θ_δ)] C_j + [c_j cos(j θ_δ)] S_j, in one pass per term over both
    // components.
    let mut acc = AShare {
        a: vec![0; n],
        b: vec![0; n],
    };
    for (j, cj) in coeffs.iter().enumerate().skip(1) {
        let (sr, cr) = ((2 * j - 1) * n, 2 * j * n);
        for (i, dl) in delta.iter().enumerate() {
            let a = j as f64 * angle(*dl, ring);
            let (ps, pc) = (encode(cj * a.sin(), q, ring), encode(cj * a.cos(), q, ring));
            let term = |v: &[u64]| {
                ps.wrapping_mul(v[cr + i])
                    .wrapping_add(pc.wrapping_mul(v[sr + i]))
            };
            acc.a[i] = acc.a[i].wrapping_add(term(&prep.a)) & m;
            acc.b[i] = acc.b[i].wrapping_add(term(&prep.b)) & m;
        }
    }
    let acc = const_plus(ctx.id, encode(coeffs[0], 3 * q, ring), &acc, ring);
    if 3 * q == f {
        return Ok(acc);
    }
    trunc1_in_range(ctx, &acc, 3 * q - f, ring)
}

/// Cost of [`sin_series`] on `n` elements at scale f, material at scale q2: the opening,
/// then the truncation (none when 3q = f).
pub fn sin_series_cost(n: usize, terms: usize, f: u32, q2: u32, ring: Ring) -> Cost {
    let open = arith::reveal_cost(&[0, 1, 2], n, ring);
    let open = Cost {
        macs: 2 * (terms * n) as u64,
        ..open
    };
    if 3 * (q2 / 2) == f {
        return open;
    }
    open.then(arith::trunc_cost(n, ring))
}

/// The plaintext series at x.
pub fn plain(coeffs: &[f64], period: f64, x: f64) -> f64 {
    mpcc_ir::interp::sin_series(coeffs, period, x)
}
