//! Reciprocal and reciprocal square root of positive secrets: normalisation by the most
//! significant bit ([`boolean::msb_weights`]), Goldschmidt or Newton iterations on the
//! normalised value, and scaling back by a power of two.
//!
//! For x at scale f whose most significant bit is bit i, let `e = i + 1 - f`, so that
//! `x` lies in `[2^(e-1), 2^e)`. Every factor the kernels apply is a power of two chosen
//! by i, read from public tables through `msb_weights`, so no factor carries a rounding
//! error. A factor `2^-j < 1` is applied as a product with `2^(S-j)` and a truncation by
//! `S` ([`norm_shift`]), which keeps the truncated magnitudes below `2^(f+S+1)` (ring units),
//! inside the exact truncation's range `2^(k-2)`.
//!
//! Costs are given in mul and trunc steps as in [`super::poly`]: a mul of m elements is 1
//! round with m elements from every party, a trunc of m elements 2 rounds with `m, 2m, m`
//! elements from parties 0, 1, 2.

use super::arith::{mul_trunc_many, mul_trunc_many_cost, trunc1_in_range};
use super::common::{add, concat, const_minus, const_plus, scale_by, split};
use super::{arith, boolean, common};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::ring::encode;
use crate::share::AShare;
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// The initial guess of Goldschmidt's reciprocal on `[0.5, 1)`: `2.9142 - 2u` (SPU),
/// relative error at most [`RECIP_GUESS_ERR`].
pub const RECIP_GUESS: f64 = 2.9142;
/// Maximum of `|1 - u (2.9142 - 2u)|` on `[0.5, 1]` (at u = 1).
pub const RECIP_GUESS_ERR: f64 = 0.0858;
/// The linear minimax guess of `1/sqrt(u)` on `[0.25, 1)`: `RSQRT_A - RSQRT_B u`
/// (equioscillation at 0.25, 7/12 and 1).
pub const RSQRT_A: f64 = 2.132_772_3;
/// Slope of the rsqrt guess.
pub const RSQRT_B: f64 = 1.218_727;
/// Maximum relative error of the rsqrt guess on `[0.25, 1]`.
pub const RSQRT_GUESS_ERR: f64 = 0.085_96;

/// The normalisation shift S for `ring` and scale `f`: inputs in `[2^-f, 2^S)` are valid.
/// S is the even number at most `k - f - 4`, so the truncated products (below `2^(f+S+1)`)
/// stay inside the exact truncation's range `2^(k-2)`. Z64, f = 18: S = 42; Z32, f = 8:
/// S = 20.
pub fn norm_shift(ring: Ring, f: u32) -> u32 {
    ring.bits().saturating_sub(f + 4) & !1
}

/// Exponent `e = i + 1 - f` for msb position i.
fn exponent(i: u32, f: u32) -> i64 {
    i as i64 + 1 - f as i64
}

/// Tables `(lo, hi)` mapping the msb position i to `2^-j`: `lo[i] = 2^-j` where `j <= 0`,
/// `hi[i] = 2^(S-j)` where `1 <= j` (applied with a truncation by S); 0 elsewhere and where
/// `e > S` (outside the valid range). `j_of` gives j from e.
pub(crate) fn pow2_tables(f: u32, ring: Ring, j_of: impl Fn(i64) -> i64) -> (Vec<u64>, Vec<u64>) {
    let s = norm_shift(ring, f) as i64;
    let k = ring.bits();
    let (mut lo, mut hi) = (vec![0; k as usize], vec![0; k as usize]);
    for i in 0..k {
        let e = exponent(i, f);
        let j = j_of(e);
        if e > s {
            continue;
        }
        if j <= 0 {
            lo[i as usize] = 1u64 << -j;
        } else {
            hi[i as usize] = 1u64 << (s - j);
        }
    }
    (lo, hi)
}

/// Normalisation table of rsqrt: `2^(S-2m)` with `m = ceil(e/2)`, 0 where `e > S`.
pub(crate) fn rsqrt_norm_table(f: u32, ring: Ring) -> Vec<u64> {
    let s = norm_shift(ring, f) as i64;
    (0..ring.bits())
        .map(|i| {
            let e = exponent(i, f);
            let m = (e + 1).div_euclid(2);
            if e > s {
                0
            } else {
                1u64 << (s - 2 * m)
            }
        })
        .collect()
}

/// `y * 2^-j` from the tables' shares `lo`, `hi`: `y lo + trunc(y hi, S)`: one `mul` of 2n
/// elements and one truncation of n.
fn scale_back(
    ctx: &mut Ctx,
    y: &AShare,
    lo: &AShare,
    hi: &AShare,
    s: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let n = y.len();
    let z = arith::mul(ctx, &concat(&[y, y]), &concat(&[lo, hi]), ring)?;
    let parts = split(&z, n);
    let big = trunc1_in_range(ctx, &parts[1], s, ring)?;
    Ok(add(&parts[0], &big, ring))
}

fn scale_back_cost(n: usize, ring: Ring) -> Cost {
    arith::mul_cost(2 * n, ring).then(arith::trunc_cost(n, ring))
}

/// `trunc(x * t, S)`: the normalised value from a table share `t` (mul + trunc).
fn normalise(
    ctx: &mut Ctx,
    x: &AShare,
    t: &AShare,
    s: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let p = arith::mul(ctx, x, t, ring)?;
    trunc1_in_range(ctx, &p, s, ring)
}

/// 1/x for secret x > 0 at scale f, result at scale f (Goldschmidt, as SPU's division).
///
/// **Protocol:** (1) [`boolean::msb_weights`] with two tables gives shares of `2^-e` split as
/// `lo` (factors ≥ 1) and `hi` (`2^(S-e)` for factors < 1). (2) `u = trunc(x (2^S lo + hi),
/// S)` = `x 2^-e` in `[0.5, 1)` (exact when e ≤ 0). (3) `w = 2.9142 - 2u` (local);
/// `e_0 = 1 - u w`; `r = w`; each iteration `r <- r (1 + e)`, `e <- e^2` in one
/// [`mul_trunc_many`] (the last iteration skips `e^2`). (4) `1/x = r 2^-e`:
/// `r lo + trunc(r hi, S)`.
///
/// **Cost:** `msb_weights_cost(n, 2)`, then (mul + trunc) of n for u, of n for `e_0` (when
/// iters > 0), of 2n per iteration but n for the last, and a mul of 2n with a trunc of n to
/// scale back: `rounds(msb_weights) + 9 + 3 iters` rounds (iters = 0: `+ 6`); parties 0,
/// 1, 2 send `(5 + 4 iters)n, (7 + 6 iters)n, (5 + 4 iters)n` elements (iters = 0: `5n, 7n,
/// 5n`) on top of msb_weights' ([`reciprocal_cost`]).
///
/// **Valid range:** `x in [2^-f, 2^S)` with S = [`norm_shift`] (Z64, f = 18: `[2^-18,
/// 2^42)`). Outside it the result is unspecified (0 above `2^S`).
///
/// **Error bound:** against [`super::approx::plain::reciprocal`] (the same iteration in
/// f64): `|out - ref| <= (12 + 6 iters) 2^-f / x + 2^-f`
/// ([`super::approx::plain::reciprocal_bound`]); the reference is within a relative
/// `0.0858^(2^iters)` of 1/x (iters = 2: `5.4e-5`).
pub fn reciprocal(
    ctx: &mut Ctx,
    x: &AShare,
    iters: u32,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let s = norm_shift(ring, f);
    let (lo, hi) = pow2_tables(f, ring, |e| e);
    let t = boolean::msb_weights(ctx, x, &[lo, hi], ring)?;
    let norm = add(&scale_by(&t[0], 1u64 << s, ring), &t[1], ring);
    let u = normalise(ctx, x, &norm, s, ring)?;
    let r = goldschmidt(ctx, &u, iters, f, ring)?;
    scale_back(ctx, &r, &t[0], &t[1], s, ring)
}

/// Goldschmidt's reciprocal of u in `[0.5, 1)` at scale f.
fn goldschmidt(
    ctx: &mut Ctx,
    u: &AShare,
    iters: u32,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let one = encode(1.0, f, ring);
    let mut r = const_minus(
        ctx.id,
        encode(RECIP_GUESS, f, ring),
        &scale_by(u, 2, ring),
        ring,
    );
    if iters == 0 {
        return Ok(r);
    }
    let uw = mul_trunc_many(ctx, &[(u, &r)], f, ring)?.remove(0);
    let mut e = const_minus(ctx.id, one, &uw, ring);
    for j in 0..iters {
        let ope = const_plus(ctx.id, one, &e, ring);
        if j + 1 == iters {
            r = mul_trunc_many(ctx, &[(&r, &ope)], f, ring)?.remove(0);
        } else {
            let mut v = mul_trunc_many(ctx, &[(&r, &ope), (&e, &e)], f, ring)?;
            e = v.remove(1);
            r = v.remove(0);
        }
    }
    Ok(r)
}

/// Cost of [`reciprocal`] on `n` elements.
pub fn reciprocal_cost(n: usize, iters: u32, ring: Ring) -> Cost {
    let mut c = boolean::msb_weights_cost(n, 2, ring).then(mul_trunc_many_cost(n, 1, ring));
    if iters > 0 {
        c = c.then(mul_trunc_many_cost(n, 1, ring));
        for j in 0..iters {
            let pairs = if j + 1 == iters { 1 } else { 2 };
            c = c.then(mul_trunc_many_cost(n, pairs, ring));
        }
    }
    c.then(scale_back_cost(n, ring))
}

/// 1/sqrt(x) for secret x > 0 at scale f, result at scale f (Newton).
///
/// **Protocol:** (1) [`boolean::msb_weights`] with three tables: `2^(S-2m)` with
/// `m = ceil(e/2)`, and `2^-m` split into `lo`/`hi` as in [`reciprocal`]. (2) `u =
/// trunc(x 2^(S-2m), S)` = `x 4^-m` in `[0.25, 1)`: an even exponent, so the compensation
/// `2^-m` is an exact power of two (no `sqrt(2)` constant). (3) Initial guess
/// `y = 2.1327723 - 1.218727 u` (linear minimax on `[0.25, 1)`, one truncation). (4) Newton
/// `y <- y (3 - u y^2) / 2` as `(3y - (u y)(y^2)) / 2`: one `mul_trunc_many` for `u y` and
/// `y^2`, one `mul`, and one truncation by f + 1. (5) `y 2^-m`: `y lo + trunc(y hi, S)`.
///
/// **Cost:** `msb_weights_cost(n, 3)`, then (mul + trunc) of n for u, a trunc of n for the
/// guess, per iteration (mul + trunc) of 2n and (mul + trunc) of n, and a mul of 2n with a
/// trunc of n to scale back: `rounds(msb_weights) + 8 + 6 iters` rounds; parties 0, 1, 2
/// send `(6 + 6 iters)n, (9 + 9 iters)n, (6 + 6 iters)n` elements on top of msb_weights'
/// ([`rsqrt_cost`]).
///
/// **Valid range:** `x in [2^-f, 2^S)` with S = [`norm_shift`] (Z64, f = 18: `[2^-18,
/// 2^42)`). Outside it the result is unspecified (0 above `2^S`).
///
/// **Error bound:** against [`super::approx::plain::rsqrt`] (the same iteration in f64):
/// `|out - ref| <= 16 * 2^-f / sqrt(x) + 2^-f` ([`super::approx::plain::rsqrt_bound`]); the
/// reference is within a relative `d_iters` of 1/sqrt(x), `d_0 = 0.086`,
/// `d_{j+1} = 1.5 d_j^2 + 0.5 d_j^3` (iters = 2: `2e-4`, 3: `6e-8`).
pub fn rsqrt(
    ctx: &mut Ctx,
    x: &AShare,
    iters: u32,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let s = norm_shift(ring, f);
    let (t, u, mut y) = rsqrt_start(ctx, x, f, ring)?;
    for _ in 0..iters {
        y = newton_rsqrt(ctx, &u, &y, f, ring)?;
    }
    scale_back(ctx, &y, &t[1], &t[2], s, ring)
}

/// Steps (1)–(3) of [`rsqrt`] and [`rsqrt_goldschmidt`]: the tables' shares (`2^(S-2m)`,
/// and `2^-m` as lo/hi), `u = x 4^-m` in `[0.25, 1)`, and the linear guess of `1/sqrt(u)`.
fn rsqrt_start(
    ctx: &mut Ctx,
    x: &AShare,
    f: u32,
    ring: Ring,
) -> Result<(Vec<AShare>, AShare, AShare), TransportError> {
    let s = norm_shift(ring, f);
    let (lo, hi) = pow2_tables(f, ring, |e| (e + 1).div_euclid(2));
    let t = boolean::msb_weights(ctx, x, &[rsqrt_norm_table(f, ring), lo, hi], ring)?;
    let u = normalise(ctx, x, &t[0], s, ring)?;
    let bu = trunc1_in_range(ctx, &scale_by(&u, encode(RSQRT_B, f, ring), ring), f, ring)?;
    let y = const_minus(ctx.id, encode(RSQRT_A, f, ring), &bu, ring);
    Ok((t, u, y))
}

/// Cost of [`rsqrt_start`] on `n` elements: the lookup, the normalisation (mul + trunc) and
/// the guess's truncation.
fn rsqrt_start_cost(n: usize, ring: Ring) -> Cost {
    boolean::msb_weights_cost(n, 3, ring)
        .then(mul_trunc_many_cost(n, 1, ring))
        .then(arith::trunc_cost(n, ring))
}

/// One Newton step `(3y - (u y)(y^2)) / 2`: (mul + trunc) of 2n, then (mul + trunc) of n.
fn newton_rsqrt(
    ctx: &mut Ctx,
    u: &AShare,
    y: &AShare,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let m = ring.mask();
    let v = mul_trunc_many(ctx, &[(u, y), (y, y)], f, ring)?;
    let p = arith::mul(ctx, &v[0], &v[1], ring)?;
    let q = common::local2(&scale_by(y, 3u64 << f, ring), &p, |a, b| {
        a.wrapping_sub(b) & m
    });
    trunc1_in_range(ctx, &q, f + 1, ring)
}

/// 1/sqrt(x) for secret x > 0 at scale f, result at scale f, by Goldschmidt's coupled
/// iteration (SecFormer's LayerNorm, MPC-REFERENCE §2.4) after [`rsqrt`]'s normalisation.
///
/// **Protocol:** steps (1)–(3) of [`rsqrt`] give `u = x 4^-m` in `[0.25, 1)` and the linear
/// guess y; then `g = u y²` as `(u y) y` (two (mul + trunc) of n); each iteration takes
/// `m' = 3 - g` (local; the halving of `m = m'/2` goes into the truncations) and computes
/// `y m'/2` and `m'²/4` in one mul of 2n and one truncation by `f + 2` (the first product
/// doubled locally), then `g <- g m²` (mul + trunc of n); the last iteration computes only
/// `y m`. (5) `y 2^-m` as in [`rsqrt`]. SecFormer starts from y = 1 on inputs in (0, 3) and
/// runs 7 iterations; from the normalisation and the linear guess, `1 - g` is below 0.18
/// at the start and `1 - g <- (3/4)(1 - g)² + (1/4)(1 - g)³`, so 3 iterations reach a
/// relative 1.9e-7.
///
/// **Cost:** `msb_weights_cost(n, 3)`, (mul + trunc) of n for u, a trunc of n for the guess,
/// with `iters > 0` two (mul + trunc) of n for g, `iters - 1` times (mul + trunc) of 2n and
/// (mul + trunc) of n, (mul + trunc) of n for the last, then the scale back
/// ([`rsqrt_goldschmidt_cost`]).
///
/// **Valid range:** as [`rsqrt`]. **Error bound:** against
/// [`super::approx::plain::rsqrt_goldschmidt`] (the same iteration in f64), as [`rsqrt`]'s:
/// `16 * 2^-f / sqrt(x) + 2^-f`.
pub fn rsqrt_goldschmidt(
    ctx: &mut Ctx,
    x: &AShare,
    iters: u32,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let s = norm_shift(ring, f);
    let (t, u, mut y) = rsqrt_start(ctx, x, f, ring)?;
    if iters > 0 {
        let uy = mul_trunc_many(ctx, &[(&u, &y)], f, ring)?.remove(0);
        let mut g = mul_trunc_many(ctx, &[(&uy, &y)], f, ring)?.remove(0);
        let three = encode(3.0, f, ring);
        for j in 0..iters {
            let m2 = const_minus(ctx.id, three, &g, ring);
            if j + 1 == iters {
                let p = arith::mul(ctx, &y, &m2, ring)?;
                y = trunc1_in_range(ctx, &p, f + 1, ring)?;
            } else {
                let n = y.len();
                let z = arith::mul(ctx, &concat(&[&y, &m2]), &concat(&[&m2, &m2]), ring)?;
                let parts = split(&z, n);
                let ym = scale_by(&parts[0], 2, ring);
                let v = trunc1_in_range(ctx, &concat(&[&ym, &parts[1]]), f + 2, ring)?;
                let mut v = split(&v, n);
                let mm = v.remove(1);
                y = v.remove(0);
                g = mul_trunc_many(ctx, &[(&g, &mm)], f, ring)?.remove(0);
            }
        }
    }
    scale_back(ctx, &y, &t[1], &t[2], s, ring)
}

/// Cost of [`rsqrt_goldschmidt`] on `n` elements.
pub fn rsqrt_goldschmidt_cost(n: usize, iters: u32, ring: Ring) -> Cost {
    let mut c = rsqrt_start_cost(n, ring);
    if iters > 0 {
        c = c
            .then(mul_trunc_many_cost(n, 1, ring))
            .then(mul_trunc_many_cost(n, 1, ring));
        for j in 0..iters {
            c = if j + 1 == iters {
                c.then(mul_trunc_many_cost(n, 1, ring))
            } else {
                c.then(mul_trunc_many_cost(n, 2, ring))
                    .then(mul_trunc_many_cost(n, 1, ring))
            };
        }
    }
    c.then(scale_back_cost(n, ring))
}

/// Cost of [`rsqrt`] on `n` elements.
pub fn rsqrt_cost(n: usize, iters: u32, ring: Ring) -> Cost {
    let step = mul_trunc_many_cost(n, 2, ring).then(mul_trunc_many_cost(n, 1, ring));
    let c = rsqrt_start_cost(n, ring);
    (0..iters)
        .fold(c, |c, _| c.then(step))
        .then(scale_back_cost(n, ring))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables map every valid msb position to the power of two that normalises it, and
    /// the rsqrt exponent is even.
    #[test]
    fn tables_normalise() {
        let (f, ring) = (18, Ring::Z64);
        let s = norm_shift(ring, f);
        assert_eq!(s, 42);
        let (lo, hi) = pow2_tables(f, ring, |e| e);
        let nt = rsqrt_norm_table(f, ring);
        for i in 0..64u32 {
            let e = exponent(i, f);
            let x = 2f64.powi(e as i32 - 1) * 1.5;
            let factor = lo[i as usize] as f64 + hi[i as usize] as f64 / 2f64.powi(s as i32);
            if e > s as i64 {
                assert_eq!(factor, 0.0);
                continue;
            }
            let u = x * factor;
            assert!((0.5..1.0).contains(&u), "i {i} u {u}");
            let u4 = x * nt[i as usize] as f64 / 2f64.powi(s as i32);
            assert!((0.25..1.0).contains(&u4), "i {i} u4 {u4}");
        }
    }
}
