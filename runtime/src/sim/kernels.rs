//! The approximation kernels on one plaintext ring element, step by step as their protocols
//! compute them (`kernels::poly`, `kernels::invert`): the same power trees, table lookups,
//! constants, products and truncations (by the same bits, in the same order), with
//! [`Sim`]'s wrapping, checks and rounding. Nothing here knows of shares: the protocol's
//! secret products and its local products by public values are both plain products of
//! ring elements.
//!
//! Each kernel is set up once per instruction (`new`: constants encoded, trees built) and
//! then evaluated per element (`eval`). A piecewise function computes only the piece that
//! its element selects (and that piece's powers): in the protocol the others are
//! multiplied by an exact 0, so their values, wrapped or not, never reach the result.

use super::fixed::{signed, EventKind, Sim};
use crate::kernels::boolean::weight_thresholds;
use crate::kernels::invert::{
    norm_shift, pow2_tables, rsqrt_norm_table, RECIP_GUESS, RSQRT_A, RSQRT_B,
};
use crate::kernels::poly::{domain_shift, exp_base_exact, scaled_terms, PowerTree};
use crate::ring::encode;
use mpcc_ir::{Piece, Ring};

/// A power tree for one element: for each power j >= 2 its factors, the extra bits its
/// x factors carry and the truncation's extra bits of its level.
struct Tree {
    /// `(p, q, extra, top)` per power j (index j).
    nodes: Vec<Option<(usize, usize, u32, u32)>>,
}

impl Tree {
    fn new(tree: &PowerTree) -> Tree {
        let mut nodes = vec![None; tree.max.max(1) + 1];
        for level in &tree.levels {
            let extra = |p: usize, q: usize| tree.shift * ((p == 1) as u32 + (q == 1) as u32);
            let top = level
                .iter()
                .map(|&(_, p, q)| extra(p, q))
                .max()
                .unwrap_or(0);
            for &(j, p, q) in level {
                nodes[j] = Some((p, q, extra(p, q), top));
            }
        }
        Tree { nodes }
    }

    /// The powers `need` of x (and their factors) as [`PowerTree::eval`] builds them; other
    /// entries are 0.
    fn eval(&self, s: &mut Sim, x: u64, need: &[usize], f: u32, ring: Ring) -> Vec<u64> {
        let mut want = vec![false; self.nodes.len()];
        for &j in need {
            want[j] = true;
        }
        for j in (2..self.nodes.len()).rev() {
            if let (true, Some((p, q, _, _))) = (want[j], self.nodes[j]) {
                want[p] = true;
                want[q] = true;
            }
        }
        let mut pw = vec![0u64; self.nodes.len()];
        pw[1] = x;
        for j in 2..self.nodes.len() {
            let (true, Some((p, q, extra, top))) = (want[j], self.nodes[j]) else {
                continue;
            };
            let z = s.mul(pw[p], pw[q], ring, "power tree: product", 2 * f + extra);
            let z = s.shl(z, top - extra, ring, "power tree: product", 2 * f + top);
            pw[j] = s.trunc(z, f + top, ring, "power tree: truncation", 2 * f + top);
        }
        pw
    }
}

/// `sum_i c'_i pw_i` at scale 2f (local products by the encoded coefficients).
fn terms_2f(s: &mut Sim, pw: &[u64], terms: &[(usize, u64)], f: u32, ring: Ring) -> u64 {
    let mut acc = 0u64;
    for &(i, c) in terms {
        let t = s.mul(pw[i], c, ring, "polynomial: term", 2 * f);
        acc = s.add(acc, t, ring, "polynomial: sum", 2 * f);
    }
    acc
}

/// `poly`: [`crate::kernels::poly::poly`] on one element.
pub struct Poly {
    terms: Vec<(usize, u64)>,
    powers: Vec<usize>,
    c0_f: u64,
    c0_2f: u64,
    tree: Tree,
    f: u32,
    ring: Ring,
}

impl Poly {
    /// Sets up `sum coeffs[i] x^i` for x at scale f.
    pub fn new(coeffs: &[f64], f: u32, ring: Ring) -> Poly {
        let terms = scaled_terms(coeffs, f, ring, 0);
        let c0 = coeffs.first().copied().unwrap_or(0.0);
        Poly {
            powers: terms.iter().map(|(i, _)| *i).collect(),
            tree: Tree::new(&PowerTree::for_coeffs(coeffs, f, ring, 0)),
            terms,
            c0_f: encode(c0, f, ring),
            c0_2f: encode(c0, 2 * f, ring),
            f,
            ring,
        }
    }

    /// The kernel's result at x.
    pub fn eval(&self, s: &mut Sim, x: u64) -> u64 {
        let (f, ring) = (self.f, self.ring);
        if self.terms.is_empty() {
            return self.c0_f;
        }
        let pw = self.tree.eval(s, x, &self.powers, f, ring);
        let sum = terms_2f(s, &pw, &self.terms, f, ring);
        let sum = s.add(sum, self.c0_2f, ring, "polynomial: sum", 2 * f);
        s.trunc(sum, f, ring, "polynomial: truncation", 2 * f)
    }
}

/// What a piece contributes beside its constant.
enum Part {
    /// Nothing (a zero piece, or a constant polynomial).
    None,
    /// x itself.
    Identity,
    /// Non-constant terms over the shared tree.
    Terms(Vec<(usize, u64)>),
}

/// `piecewise_poly`: [`crate::kernels::poly::piecewise`] on one element.
pub struct Piecewise {
    thresholds: Vec<u64>,
    consts: Vec<u64>,
    parts: Vec<Part>,
    wide: bool,
    zero: bool,
    single: Option<Poly>,
    tree: Tree,
    f: u32,
    ring: Ring,
}

impl Piecewise {
    /// Sets up the function of `breaks` and `pieces` for x at scale f.
    pub fn new(breaks: &[f64], pieces: &[Piece], f: u32, ring: Ring) -> Piecewise {
        let shift = domain_shift(breaks, pieces);
        let mut consts = Vec::new();
        let mut parts = Vec::new();
        let mut powers = Vec::new();
        for p in pieces {
            match p {
                Piece::Zero => {
                    consts.push(0.0);
                    parts.push(Part::None);
                }
                Piece::Identity => {
                    consts.push(0.0);
                    parts.push(Part::Identity);
                }
                Piece::Poly(c) => {
                    consts.push(c.first().copied().unwrap_or(0.0));
                    let terms = scaled_terms(c, f, ring, shift);
                    powers.extend(terms.iter().map(|(i, _)| *i));
                    parts.push(if terms.is_empty() {
                        Part::None
                    } else {
                        Part::Terms(terms)
                    });
                }
            }
        }
        let wide = !powers.is_empty();
        let out_scale = if wide { 2 * f } else { f };
        let consts: Vec<u64> = consts.iter().map(|c| encode(*c, out_scale, ring)).collect();
        let secret = parts.iter().any(|p| !matches!(p, Part::None));
        let single = match (breaks.len(), pieces.first()) {
            (0, Some(Piece::Poly(c))) => Some(Poly::new(c, f, ring)),
            _ => None,
        };
        Piecewise {
            thresholds: breaks.iter().map(|b| encode(*b, f, ring)).collect(),
            zero: !secret && consts.iter().all(|c| *c == 0),
            consts,
            parts,
            wide,
            single,
            tree: Tree::new(&PowerTree::for_powers(powers, shift)),
            f,
            ring,
        }
    }

    /// The kernel's result at x.
    pub fn eval(&self, s: &mut Sim, x: u64) -> u64 {
        let (f, ring) = (self.f, self.ring);
        let t = self.thresholds.len();
        if t == 0 {
            return match (&self.single, self.parts.first()) {
                (Some(p), _) => p.eval(s, x),
                (None, Some(Part::Identity)) => x,
                (None, _) => 0,
            };
        }
        if self.zero {
            return 0;
        }
        let bits: Vec<i128> = self
            .thresholds
            .iter()
            .map(|th| s.ge(x, *th, ring, "piecewise: comparison", f) as i128)
            .collect();
        let ind = |j: usize| -> i128 {
            match j {
                0 => 1 - bits[0],
                j if j == t => bits[t - 1],
                j => bits[j - 1] - bits[j],
            }
        };
        let out_scale = if self.wide { 2 * f } else { f };
        let mut acc = 0u64;
        for (j, part) in self.parts.iter().enumerate() {
            let w = ind(j);
            if w == 0 {
                continue;
            }
            let wv = super::fixed::reduce(w, ring);
            let c = s.mul(self.consts[j], wv, ring, "piecewise: constant", out_scale);
            acc = s.add(acc, c, ring, "piecewise: sum", out_scale);
            let v = match part {
                Part::None => continue,
                Part::Identity if self.wide => s.shl(x, f, ring, "piecewise: identity", 2 * f),
                Part::Identity => x,
                Part::Terms(terms) => {
                    let need: Vec<usize> = terms.iter().map(|(i, _)| *i).collect();
                    let pw = self.tree.eval(s, x, &need, f, ring);
                    terms_2f(s, &pw, terms, f, ring)
                }
            };
            let v = s.mul(wv, v, ring, "piecewise: select", out_scale);
            acc = s.add(acc, v, ring, "piecewise: sum", out_scale);
        }
        if self.wide {
            acc = s.trunc(acc, f, ring, "piecewise: truncation", 2 * f);
        }
        acc
    }
}

/// `exp_taylor`: [`crate::kernels::poly::exp_taylor`] on one element.
pub fn exp_taylor(s: &mut Sim, x: u64, t: u32, f: u32, ring: Ring) -> u64 {
    if t == 0 {
        return s.add(encode(1.0, f, ring), x, ring, "exp_taylor: base", f);
    }
    let (mut y, mut d, mut sc) = if exp_base_exact(t, f, ring) {
        let one = encode(1.0, f + t, ring);
        (
            s.add(one, x, ring, "exp_taylor: base", f + t),
            f + 2 * t,
            f + t,
        )
    } else {
        let xt = s.trunc(x, t, ring, "exp_taylor: base", f);
        (
            s.add(encode(1.0, f, ring), xt, ring, "exp_taylor: base", f),
            f,
            f,
        )
    };
    for _ in 0..t {
        let sq = s.mul(y, y, ring, "exp_taylor: square", 2 * sc);
        y = s.trunc(sq, d, ring, "exp_taylor: truncation", 2 * sc);
        d = f;
        sc = f;
    }
    y
}

/// The lookup of `boolean::msb_weights`: `T[0] + sum_i [x >= 2^i] (T[i] - T[i-1])` for
/// each table, with the comparisons as the protocol makes them.
fn msb_weights(s: &mut Sim, x: u64, tables: &[&[u64]], f: u32, ring: Ring) -> Vec<u64> {
    let m = ring.mask();
    let at = |tab: &[u64], i: usize| tab.get(i).copied().unwrap_or(0) & m;
    let th = weight_thresholds(ring);
    let bits: Vec<u64> = th
        .iter()
        .map(|t| s.ge(x, *t, ring, "msb lookup: comparison", f))
        .collect();
    tables
        .iter()
        .map(|tab| {
            (1..=th.len()).fold(at(tab, 0), |acc, i| {
                let d = at(tab, i).wrapping_sub(at(tab, i - 1));
                acc.wrapping_add(bits[i - 1].wrapping_mul(d)) & m
            })
        })
        .collect()
}

/// Records [`EventKind::KernelRange`] unless `x` lies in `[2^-f, 2^S)`, the valid range of
/// `reciprocal` and `rsqrt`.
fn check_norm_range(s: &mut Sim, x: u64, f: u32, ring: Ring, step: &'static str) {
    let v = signed(x, ring);
    let top = 1i128 << (norm_shift(ring, f) + f);
    if v < 1 || v >= top {
        s.flag(EventKind::KernelRange, step, v, f);
    }
}

/// `y 2^-j` from the looked-up `lo` and `hi`: `y lo + trunc(y hi, S)`.
fn scale_back(s: &mut Sim, y: u64, lo: u64, hi: u64, sh: u32, f: u32, ring: Ring) -> u64 {
    let a = s.mul(y, lo, ring, "scale back: product", f);
    let b = s.mul(y, hi, ring, "scale back: product", f + sh);
    let b = s.trunc(b, sh, ring, "scale back: truncation", f + sh);
    s.add(a, b, ring, "scale back: sum", f)
}

/// `reciprocal` and `rsqrt`: their tables for scale f.
pub struct Invert {
    tables: Vec<Vec<u64>>,
    iters: u32,
    f: u32,
    ring: Ring,
}

impl Invert {
    /// Sets up [`crate::kernels::invert::reciprocal`].
    pub fn reciprocal(iters: u32, f: u32, ring: Ring) -> Invert {
        let (lo, hi) = pow2_tables(f, ring, |e| e);
        Invert {
            tables: vec![lo, hi],
            iters,
            f,
            ring,
        }
    }

    /// Sets up [`crate::kernels::invert::rsqrt`].
    pub fn rsqrt(iters: u32, f: u32, ring: Ring) -> Invert {
        let (lo, hi) = pow2_tables(f, ring, |e| (e + 1).div_euclid(2));
        Invert {
            tables: vec![rsqrt_norm_table(f, ring), lo, hi],
            iters,
            f,
            ring,
        }
    }

    fn lookup(&self, s: &mut Sim, x: u64) -> Vec<u64> {
        let tabs: Vec<&[u64]> = self.tables.iter().map(|t| t.as_slice()).collect();
        msb_weights(s, x, &tabs, self.f, self.ring)
    }

    /// 1/x as [`crate::kernels::invert::reciprocal`] computes it.
    pub fn eval_reciprocal(&self, s: &mut Sim, x: u64) -> u64 {
        let (f, ring, iters) = (self.f, self.ring, self.iters);
        let sh = norm_shift(ring, f);
        check_norm_range(s, x, f, ring, "reciprocal: input");
        let t = self.lookup(s, x);
        let big = s.shl(t[0], sh, ring, "reciprocal: normalise", sh);
        let norm = s.add(big, t[1], ring, "reciprocal: normalise", sh);
        let p = s.mul(x, norm, ring, "reciprocal: normalise", f + sh);
        let u = s.trunc(p, sh, ring, "reciprocal: normalise", f + sh);
        let one = encode(1.0, f, ring);
        let u2 = s.shl(u, 1, ring, "reciprocal: guess", f);
        let mut r = s.sub(
            encode(RECIP_GUESS, f, ring),
            u2,
            ring,
            "reciprocal: guess",
            f,
        );
        if iters > 0 {
            let uw = s.mul(u, r, ring, "reciprocal: iteration", 2 * f);
            let uw = s.trunc(uw, f, ring, "reciprocal: iteration", 2 * f);
            let mut e = s.sub(one, uw, ring, "reciprocal: iteration", f);
            for j in 0..iters {
                let ope = s.add(one, e, ring, "reciprocal: iteration", f);
                let rr = s.mul(r, ope, ring, "reciprocal: iteration", 2 * f);
                r = s.trunc(rr, f, ring, "reciprocal: iteration", 2 * f);
                if j + 1 < iters {
                    let ee = s.mul(e, e, ring, "reciprocal: iteration", 2 * f);
                    e = s.trunc(ee, f, ring, "reciprocal: iteration", 2 * f);
                }
            }
        }
        scale_back(s, r, t[0], t[1], sh, f, ring)
    }

    /// The tables, the normalised u and the linear guess, as both rsqrt kernels start.
    fn rsqrt_start(&self, s: &mut Sim, x: u64) -> (Vec<u64>, u64, u64) {
        let (f, ring) = (self.f, self.ring);
        let sh = norm_shift(ring, f);
        check_norm_range(s, x, f, ring, "rsqrt: input");
        let t = self.lookup(s, x);
        let p = s.mul(x, t[0], ring, "rsqrt: normalise", f + sh);
        let u = s.trunc(p, sh, ring, "rsqrt: normalise", f + sh);
        let bu = s.mul(u, encode(RSQRT_B, f, ring), ring, "rsqrt: guess", 2 * f);
        let bu = s.trunc(bu, f, ring, "rsqrt: guess", 2 * f);
        let y = s.sub(encode(RSQRT_A, f, ring), bu, ring, "rsqrt: guess", f);
        (t, u, y)
    }

    /// 1/sqrt(x) as [`crate::kernels::invert::rsqrt_goldschmidt`] computes it (set up with
    /// [`Invert::rsqrt`]: the same tables).
    pub fn eval_rsqrt_goldschmidt(&self, s: &mut Sim, x: u64) -> u64 {
        let (f, ring) = (self.f, self.ring);
        let sh = norm_shift(ring, f);
        let (t, u, mut y) = self.rsqrt_start(s, x);
        if self.iters > 0 {
            let step = "rsqrt: goldschmidt";
            let uy = s.mul(u, y, ring, step, 2 * f);
            let uy = s.trunc(uy, f, ring, step, 2 * f);
            let g0 = s.mul(uy, y, ring, step, 2 * f);
            let mut g = s.trunc(g0, f, ring, step, 2 * f);
            for j in 0..self.iters {
                let m2 = s.sub(encode(3.0, f, ring), g, ring, step, f);
                let ym = s.mul(y, m2, ring, step, 2 * f);
                if j + 1 == self.iters {
                    y = s.trunc(ym, f + 1, ring, step, 2 * f);
                } else {
                    let ym = s.shl(ym, 1, ring, step, 2 * f + 1);
                    y = s.trunc(ym, f + 2, ring, step, 2 * f + 1);
                    let mm = s.mul(m2, m2, ring, step, 2 * f);
                    let mm = s.trunc(mm, f + 2, ring, step, 2 * f);
                    let gm = s.mul(g, mm, ring, step, 2 * f);
                    g = s.trunc(gm, f, ring, step, 2 * f);
                }
            }
        }
        scale_back(s, y, t[1], t[2], sh, f, ring)
    }

    /// 1/sqrt(x) as [`crate::kernels::invert::rsqrt`] computes it.
    pub fn eval_rsqrt(&self, s: &mut Sim, x: u64) -> u64 {
        let (f, ring) = (self.f, self.ring);
        let sh = norm_shift(ring, f);
        let (t, u, mut y) = self.rsqrt_start(s, x);
        for _ in 0..self.iters {
            let uy = s.mul(u, y, ring, "rsqrt: newton", 2 * f);
            let uy = s.trunc(uy, f, ring, "rsqrt: newton", 2 * f);
            let yy = s.mul(y, y, ring, "rsqrt: newton", 2 * f);
            let yy = s.trunc(yy, f, ring, "rsqrt: newton", 2 * f);
            let p = s.mul(uy, yy, ring, "rsqrt: newton", 2 * f);
            let y3 = s.mul(y, 3u64 << f, ring, "rsqrt: newton", 2 * f);
            let q = s.sub(y3, p, ring, "rsqrt: newton", 2 * f);
            y = s.trunc(q, f + 1, ring, "rsqrt: newton", 2 * f);
        }
        scale_back(s, y, t[1], t[2], sh, f, ring)
    }
}
