//! Polynomial kernels on arithmetic shares: the log-depth power tree, `poly` with one final
//! truncation, the Taylor/limit `exp_taylor`, and PUMA-style `piecewise_poly`.
//!
//! All products of one tree level go through ONE [`arith::mul`] and ONE [`arith::trunc`] on
//! concatenated vectors, so a level costs one mul and one truncation whatever the number of
//! powers it builds.
//!
//! Costs below are given in those steps. With the VM's exact truncation ([`arith::trunc`]:
//! 2 rounds; parties 0, 1, 2 send 1, 2, 1 elements per truncated element) and `mul` (1 round,
//! one element per party), a fixed-point product (mul + trunc) of m elements takes 3 rounds
//! and parties 0, 1, 2 send `2m, 3m, 2m` elements (8 bytes each in Z64, 4 in Z32).

use super::arith::{mul_trunc_many_cost, trunc1_in_range};
use super::common::{self, add, concat, const_minus, const_plus, scale_by, split};
use super::{arith, boolean};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::ring::encode;
use crate::share::AShare;
use crate::transport::TransportError;
use mpcc_ir::{PartyId, Piece, Ring};

/// Which products build the powers a polynomial needs: level `L` holds the powers `j` with
/// `2^(L-1) < j <= 2^L`, each built as `x^p * x^(j-p)` with `p` the largest power of two
/// below `j` (both factors come from earlier levels). Depth is `ceil(log2 d)` for degree d.
///
/// With a domain shift `s > 0` the tree builds the powers of `z = x / 2^s` instead (entry 1
/// stays x itself): `z^j = x^p z^q / 2^(f+s)` and so on. Every level still takes one
/// truncation: products that need fewer dropped bits are shifted left locally first. Smaller
/// powers mean smaller truncated magnitudes and coefficients
/// `c_i 2^(si)` that encode with less relative rounding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PowerTree {
    /// Per level, the products `(j, p, j - p)`.
    pub levels: Vec<Vec<(usize, usize, usize)>>,
    /// Highest power built.
    pub max: usize,
    /// Domain shift s: entries j >= 2 hold `(x / 2^s)^j`.
    pub shift: u32,
}

impl PowerTree {
    /// The tree that builds every power in `needed` (and what those require); 0 and 1 are
    /// free and ignored.
    pub fn for_powers(needed: impl IntoIterator<Item = usize>, shift: u32) -> PowerTree {
        let mut want: Vec<bool> = Vec::new();
        for j in needed {
            if want.len() <= j {
                want.resize(j + 1, false);
            }
            want[j] = true;
        }
        let max = want.iter().rposition(|w| *w).unwrap_or(0);
        let mut levels: Vec<Vec<(usize, usize, usize)>> = Vec::new();
        for j in (2..=max).rev() {
            if !want[j] {
                continue;
            }
            let p = 1usize << (usize::BITS - 1 - (j - 1).leading_zeros());
            want[p] = true;
            want[j - p] = true;
            let level = (usize::BITS - (j - 1).leading_zeros()) as usize;
            if levels.len() < level {
                levels.resize(level, Vec::new());
            }
            levels[level - 1].push((j, p, j - p));
        }
        levels.iter_mut().for_each(|l| l.sort_unstable());
        PowerTree { levels, max, shift }
    }

    /// The tree for the non-constant terms of a polynomial (see [`scaled_terms`]).
    pub fn for_coeffs(coeffs: &[f64], f: u32, ring: Ring, shift: u32) -> PowerTree {
        let terms = scaled_terms(coeffs, f, ring, shift);
        PowerTree::for_powers(terms.iter().map(|(i, _)| *i), shift)
    }

    /// Cost for `n` elements: one [`arith::mul_trunc_many`] per level.
    pub fn cost(&self, n: usize, ring: Ring) -> Cost {
        self.levels.iter().fold(Cost::ZERO, |c, l| {
            c.then(mul_trunc_many_cost(n, l.len(), ring))
        })
    }

    /// Builds the powers of `x` (scale f, each power at scale f): entry 1 is x, entry j >= 2
    /// holds `(x / 2^s)^j` when the tree built it.
    pub fn eval(
        &self,
        ctx: &mut Ctx,
        x: &AShare,
        f: u32,
        ring: Ring,
    ) -> Result<Vec<Option<AShare>>, TransportError> {
        let n = x.len();
        let mut pw: Vec<Option<AShare>> = vec![None; self.max.max(1) + 1];
        pw[1] = Some(x.clone());
        for level in &self.levels {
            // Each factor x (entry 1) carries an extra 2^s that the truncation must drop.
            let extra: Vec<u32> = level
                .iter()
                .map(|&(_, p, q)| self.shift * ((p == 1) as u32 + (q == 1) as u32))
                .collect();
            let top = extra.iter().copied().max().unwrap_or(0);
            let l: Vec<&AShare> = level.iter().map(|&(_, p, _)| power(&pw, p)).collect();
            let r: Vec<&AShare> = level.iter().map(|&(_, _, q)| power(&pw, q)).collect();
            let z = arith::mul(ctx, &concat(&l), &concat(&r), ring)?;
            let parts: Vec<AShare> = split(&z, n)
                .iter()
                .zip(&extra)
                .map(|(v, e)| scale_by(v, 1u64 << (top - e), ring))
                .collect();
            let parts: Vec<&AShare> = parts.iter().collect();
            let t = trunc1_in_range(ctx, &concat(&parts), f + top, ring)?;
            for (&(j, _, _), v) in level.iter().zip(split(&t, n)) {
                pw[j] = Some(v);
            }
        }
        Ok(pw)
    }
}

fn power(pw: &[Option<AShare>], j: usize) -> &AShare {
    pw[j]
        .as_ref()
        .expect("power tree builds factors before products")
}

/// The non-constant terms as the tree evaluates them: `(i, c'_i)` with `c'_1 = c_1` and
/// `c'_i = c_i 2^(si)` for `i >= 2` (entry i holds `(x/2^s)^i`), encoded at scale f, kept
/// when the encoding is nonzero.
pub fn scaled_terms(coeffs: &[f64], f: u32, ring: Ring, s: u32) -> Vec<(usize, u64)> {
    coeffs
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| {
            let k = if i == 1 { 0 } else { s as i32 * i as i32 };
            (i, encode(c * (k as f64).exp2(), f, ring))
        })
        .filter(|(_, e)| *e != 0)
        .collect()
}

/// `sum_{i>=1} c'_i pw_i` at scale 2f (local: public coefficients at scale f); `None` when
/// the polynomial has no non-constant term.
fn terms_2f(pw: &[Option<AShare>], terms: &[(usize, u64)], ring: Ring) -> Option<AShare> {
    let n = power(pw, 1).len();
    terms
        .iter()
        .map(|&(i, c)| common::mul_public(power(pw, i), &vec![c; n], ring))
        .reduce(|acc, t| add(&acc, &t, ring))
}

/// The polynomial `sum coeffs[i] * x^i` on `x` at scale f, result at scale f.
///
/// **Protocol:** the powers by [`PowerTree`] (per level one `mul` and one `trunc` over all of
/// that level's products), then the terms `c_i * x^i` locally with `c_i` encoded at scale f
/// (scale 2f), summed with `c_0` at scale 2f, and ONE truncation by f at the end (SPU's
/// `polynomial()`). A polynomial without non-constant terms is the public constant (free).
///
/// **Cost:** `ceil(log2 d)` tree levels of (mul + trunc) over the P built powers (only powers
/// with nonzero coefficients and their factors), then one trunc of n: `3 ceil(log2 d) + 2`
/// rounds; parties 0, 1, 2 send `(2P + 1)n, (3P + 2)n, (2P + 1)n` elements ([`poly_cost`]).
/// Degree 0 is the public constant, free.
///
/// **Valid range:** the truncated values, each built power and the result as reals, below
/// `2^(k-2-2f)` in magnitude (exact truncation's range; Z64, f = 18: `2^26`).
///
/// **Error bound:** [`super::approx::plain::poly_bound`]: `2^-f (1.5 + |x|/2 + sum_{i>=2}
/// (|c_i| i M^(i-1) + M^i / 2))` with `M = max(1, |x|)` against [`super::approx::plain::poly`].
pub fn poly(
    ctx: &mut Ctx,
    x: &AShare,
    coeffs: &[f64],
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let n = x.len();
    let terms = scaled_terms(coeffs, f, ring, 0);
    let c0 = coeffs.first().copied().unwrap_or(0.0);
    if terms.is_empty() {
        return Ok(common::public_as_share(
            ctx.id,
            &vec![encode(c0, f, ring); n],
        ));
    }
    let pw = PowerTree::for_coeffs(coeffs, f, ring, 0).eval(ctx, x, f, ring)?;
    let sum = terms_2f(&pw, &terms, ring).expect("a secret term exists");
    let sum = const_plus(ctx.id, encode(c0, 2 * f, ring), &sum, ring);
    trunc1_in_range(ctx, &sum, f, ring)
}

/// Cost of [`poly`] on `n` elements.
pub fn poly_cost(n: usize, coeffs: &[f64], f: u32, ring: Ring) -> Cost {
    if scaled_terms(coeffs, f, ring, 0).is_empty() {
        return Cost::ZERO;
    }
    PowerTree::for_coeffs(coeffs, f, ring, 0)
        .cost(n, ring)
        .then(arith::trunc_cost(n, ring))
}

/// Whether [`exp_taylor`] keeps `x / 2^t` exact at scale `f + t` (no first truncation):
/// when the first square, below `8^2 2^(2f+2t)` for a base below 8, fits the exact
/// truncation's range `2^(k-2)`, i.e. `2f + 2t + 8 <= k` (Z64, f = 18: t <= 10).
pub fn exp_base_exact(t: u32, f: u32, ring: Ring) -> bool {
    2 * f + 2 * t + 8 <= ring.bits()
}

/// `(1 + x / 2^t)^(2^t)`, the Taylor/limit exp (PUMA, SPU `EXP_TAYLOR`), x at scale f.
///
/// **Protocol:** the base `1 + x / 2^t` needs no truncation: x's encoding at scale f *is*
/// `x / 2^t` at scale `f + t`, so the base is x plus `2^(f+t)`, exact. Then t squarings,
/// each one `mul` and one truncation: the first drops `f + 2t` bits, the others f. When the
/// first square would not fit the truncation's range ([`exp_base_exact`] false), the base is
/// `trunc(x, t) + 1` at scale f instead (SPU's form, one more truncation). t = 0 is `1 + x`,
/// free.
///
/// **Cost:** t (mul + trunc) of n (plus one trunc of n without [`exp_base_exact`]): `3t`
/// rounds; parties 0, 1, 2 send `2tn, 3tn, 2tn` elements ([`exp_taylor_cost`]). PUMA's
/// t = 5: 15 rounds.
///
/// **Valid range:** `-2^t <= x < (k - 2 - 2f) ln 2` (Z64, f = 18: up to 18; PUMA feeds
/// `x - max(x)` with values below -14 zeroed by the caller), and `x < 7 2^t` with
/// [`exp_base_exact`]. Below `-2^t` the base is negative and the result is not exp.
///
/// **Error bound:** [`super::approx::plain::exp_taylor_bound`]: each squaring doubles the
/// error it receives times the base's power and adds one ulp, about `2^(t-f)` for x <= 0
/// near 0 and one ulp for x << 0, against [`super::approx::plain::exp_taylor`].
pub fn exp_taylor(
    ctx: &mut Ctx,
    x: &AShare,
    t: u32,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    if t == 0 {
        return Ok(const_plus(ctx.id, encode(1.0, f, ring), x, ring));
    }
    let (mut y, mut d) = if exp_base_exact(t, f, ring) {
        let one = encode(1.0, f + t, ring);
        (const_plus(ctx.id, one, x, ring), f + 2 * t)
    } else {
        let one = encode(1.0, f, ring);
        (
            const_plus(ctx.id, one, &trunc1_in_range(ctx, x, t, ring)?, ring),
            f,
        )
    };
    for _ in 0..t {
        let sq = arith::mul(ctx, &y, &y, ring)?;
        y = trunc1_in_range(ctx, &sq, d, ring)?;
        d = f;
    }
    Ok(y)
}

/// Cost of [`exp_taylor`] on `n` elements at scale f.
pub fn exp_taylor_cost(n: usize, t: u32, f: u32, ring: Ring) -> Cost {
    if t == 0 {
        return Cost::ZERO;
    }
    let base = if exp_base_exact(t, f, ring) {
        Cost::ZERO
    } else {
        arith::trunc_cost(n, ring)
    };
    (0..t).fold(base, |c, _| c.then(mul_trunc_many_cost(n, 1, ring)))
}

/// The domain shift s of a piecewise function's power tree: with R the largest break
/// magnitude around a bounded polynomial piece of degree >= 2, `s = ceil(log2 R) - 1`, so
/// that `|x / 2^s| <= 2` on those pieces (0 when R <= 2). GeLU's breaks -4, -1.95, 3 give 1.
pub fn domain_shift(breaks: &[f64], pieces: &[Piece]) -> u32 {
    let r = (1..breaks.len())
        .filter(|&j| matches!(pieces.get(j), Some(Piece::Poly(c)) if c.len() > 2))
        .map(|j| breaks[j - 1].abs().max(breaks[j].abs()))
        .fold(0.0f64, f64::max);
    if r <= 2.0 {
        0
    } else {
        (r.log2().ceil() as u32 - 1).min(16)
    }
}

/// How a piecewise function's pieces split into a public part (a constant) and a secret
/// part (x, or the non-constant terms of a polynomial).
struct PieceSplit {
    /// Per piece, the public constant (0 for none).
    consts: Vec<f64>,
    /// Pieces with a secret part: index and scaled terms (none for an identity piece).
    secret: Vec<(usize, Vec<(usize, u64)>)>,
    /// Whether the secret parts are at scale 2f (some polynomial has non-constant terms).
    wide: bool,
    /// The power tree shared by all polynomial pieces.
    tree: PowerTree,
}

impl PieceSplit {
    fn new(breaks: &[f64], pieces: &[Piece], f: u32, ring: Ring) -> PieceSplit {
        let shift = domain_shift(breaks, pieces);
        let mut consts = Vec::new();
        let mut secret = Vec::new();
        let mut powers = Vec::new();
        for (j, p) in pieces.iter().enumerate() {
            match p {
                Piece::Zero => consts.push(0.0),
                Piece::Identity => {
                    consts.push(0.0);
                    secret.push((j, Vec::new()));
                }
                Piece::Poly(c) => {
                    consts.push(c.first().copied().unwrap_or(0.0));
                    let terms = scaled_terms(c, f, ring, shift);
                    powers.extend(terms.iter().map(|(i, _)| *i));
                    if !terms.is_empty() {
                        secret.push((j, terms));
                    }
                }
            }
        }
        PieceSplit {
            consts,
            secret,
            wide: !powers.is_empty(),
            tree: PowerTree::for_powers(powers, shift),
        }
    }

    /// True when every piece is 0 at this precision (the function is the constant 0).
    fn is_zero(&self, f: u32, ring: Ring) -> bool {
        let s = if self.wide { 2 * f } else { f };
        self.secret.is_empty() && self.consts.iter().all(|c| encode(*c, s, ring) == 0)
    }
}

/// The interval indicators `[b_{j-1} <= x < b_j]` from the comparison bits (threshold-major
/// `T*n` bits `[x >= b_i]`), as local differences; `T + 1` sharings at scale 0.
fn indicators(id: PartyId, bits: &AShare, t: usize, n: usize, ring: Ring) -> Vec<AShare> {
    let m = ring.mask();
    let b = split(bits, n);
    let mut ind = Vec::with_capacity(t + 1);
    ind.push(const_minus(id, 1, &b[0], ring));
    for i in 1..t {
        ind.push(common::local2(&b[i - 1], &b[i], |p, q| {
            p.wrapping_sub(q) & m
        }));
    }
    ind.push(b[t - 1].clone());
    ind
}

/// A piecewise polynomial (PUMA's GeLU recipe), x at scale f, result at scale f.
///
/// **Protocol:** (1) all breaks in ONE [`boolean::ge_const`] call (bits `[x >= b_i]`);
/// interval indicators as local differences of neighbouring bits. (2) All polynomial pieces
/// share one [`PowerTree`] over `z = x / 2^s` ([`domain_shift`]: `|z| <= 2` on the bounded
/// pieces); each piece's non-constant terms are summed at scale 2f (x for an identity piece
/// is shifted to 2f). (3) ONE `mul` of the indicators with all secret piece
/// values (bits at scale 0, so no truncation); the pieces' constants are multiplied into the
/// indicators locally. (4) When some piece has non-constant terms, ONE truncation by f of the
/// selected sum (n elements rather than one per piece). Steps (1) and (2) run one after the
/// other: the comparison kernel is a blocking call, so their messages share no rounds.
///
/// **Cost:** `ge_const_cost(n, T)`, then the tree's `ceil(log2 d)` levels of (mul + trunc),
/// then one mul of `nQ` elements (Q pieces with a secret part) and, when some piece has
/// non-constant terms, one trunc of n ([`piecewise_cost`]). GeLU (T = 3, powers 2, 3, 4, 6
/// in 3 levels, Q = 3): `rounds(ge_const) + 9 + 1 + 2`.
///
/// **Valid range:** comparisons are exact; a piece's powers only matter where that piece is
/// selected (an unselected piece is multiplied by an exact 0), so the range of [`poly`]
/// applies to each polynomial piece on its interval (for `z = x / 2^s`).
///
/// **Error bound:** [`super::approx::plain::piecewise_bound`], the shifted bound of [`poly`]
/// for the selected piece, against [`super::approx::plain::piecewise`] with the breaks taken as
/// their encodings at scale f.
pub fn piecewise(
    ctx: &mut Ctx,
    x: &AShare,
    breaks: &[f64],
    pieces: &[Piece],
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let n = x.len();
    let sp = PieceSplit::new(breaks, pieces, f, ring);
    let t = breaks.len();
    if t == 0 {
        return single_piece(ctx, x, pieces.first(), f, ring);
    }
    if sp.is_zero(f, ring) {
        return Ok(common::public_as_share(ctx.id, &vec![0; n]));
    }
    let thr: Vec<u64> = breaks.iter().map(|b| encode(*b, f, ring)).collect();
    let bits = boolean::ge_const(ctx, x, &thr, ring)?;
    let ind = indicators(ctx.id, &bits, t, n, ring);
    let pw = sp.tree.eval(ctx, x, f, ring)?;
    let out_scale = if sp.wide { 2 * f } else { f };
    let mut acc = common::public_as_share(ctx.id, &vec![0; n]);
    for (j, c) in sp.consts.iter().enumerate() {
        let c = encode(*c, out_scale, ring);
        if c != 0 {
            acc = add(&acc, &scale_by(&ind[j], c, ring), ring);
        }
    }
    if !sp.secret.is_empty() {
        let vals: Vec<AShare> = sp
            .secret
            .iter()
            .map(|(_, terms)| secret_part(terms, &pw, sp.wide, f, ring))
            .collect();
        let inds: Vec<&AShare> = sp.secret.iter().map(|(j, _)| &ind[*j]).collect();
        let vals: Vec<&AShare> = vals.iter().collect();
        let prod = arith::mul(ctx, &concat(&inds), &concat(&vals), ring)?;
        acc = split(&prod, n).iter().fold(acc, |a, p| add(&a, p, ring));
    }
    if sp.wide {
        acc = trunc1_in_range(ctx, &acc, f, ring)?;
    }
    Ok(acc)
}

/// The secret part of a piece: a polynomial's terms at 2f, or x for an identity piece (no
/// terms), shifted to 2f when `wide`.
fn secret_part(
    terms: &[(usize, u64)],
    pw: &[Option<AShare>],
    wide: bool,
    f: u32,
    ring: Ring,
) -> AShare {
    let x = power(pw, 1);
    match terms_2f(pw, terms, ring) {
        Some(t) => t,
        None if wide => scale_by(x, 1u64 << f, ring),
        None => x.clone(),
    }
}

fn single_piece(
    ctx: &mut Ctx,
    x: &AShare,
    piece: Option<&Piece>,
    f: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    Ok(match piece {
        Some(Piece::Identity) => x.clone(),
        Some(Piece::Poly(c)) => poly(ctx, x, c, f, ring)?,
        _ => common::public_as_share(ctx.id, &vec![0; x.len()]),
    })
}

/// Cost of [`piecewise`] on `n` elements.
pub fn piecewise_cost(n: usize, breaks: &[f64], pieces: &[Piece], f: u32, ring: Ring) -> Cost {
    let sp = PieceSplit::new(breaks, pieces, f, ring);
    let t = breaks.len();
    if t == 0 {
        return match pieces.first() {
            Some(Piece::Poly(c)) => poly_cost(n, c, f, ring),
            _ => Cost::ZERO,
        };
    }
    if sp.is_zero(f, ring) {
        return Cost::ZERO;
    }
    let mut c = boolean::ge_const_cost(n, t, ring).then(sp.tree.cost(n, ring));
    if !sp.secret.is_empty() {
        c = c.then(arith::mul_cost(n * sp.secret.len(), ring));
    }
    if sp.wide {
        c = c.then(arith::trunc_cost(n, ring));
    }
    c
}
