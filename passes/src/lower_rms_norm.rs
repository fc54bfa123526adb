//! Lowers `rms_norm` (tract's RmsNorm, `x / sqrt(mean(x²) + eps)`; LayerNorm after
//! centering) to PUMA's `x · rsqrt(·)` form, one rsqrt per row instead of a division per
//! element, in a fixed-point layout that holds the activations of trained LLMs (a few
//! channels in the tens of thousands: SmolLM2's residual stream reaches 2.3e4) and keeps
//! the precision of rows at the eps floor:
//!
//! `y = x · K · rsqrt((sum(x_h²) + n·eps) / 4^p)`, with `K = sqrt(n) / 2^p`.
//!
//! - **Squares from x at [`SQUARE_FRAC`] fraction bits, summed untruncated.** A square of x
//!   at its own scale f = 18 needs `|x| < 2^13` in Z_2^64 (its truncation's range): a
//!   massive activation wraps it. x is truncated by `h = f - 12` bits first (nothing when
//!   f <= 12); the squares, at scale 24, need no truncation: their sum is truncated once per
//!   row, to scale `s = min(f, 24)`: `sum(x²) < 2^38` (so |x| < 2^19) fits (Z_2^64).
//! - **No division by n before the rsqrt.** `rsqrt(sum/n + eps) = sqrt(n) rsqrt(sum +
//!   n·eps)`: the sum itself goes to the rsqrt (no product by 1/n to lose its low bits at
//!   the eps floor, or to overflow with its high ones), and `sqrt(n)` joins the public
//!   factor K of the final product.
//! - **The rsqrt 2^p times larger, at 2p more fraction bits.** The rsqrt of a large sum is
//!   small (SmolLM2: 4e-5, 11 units at scale 18). The ring integer of v read at scale
//!   `g = s + 2p` is `v / 4^p` (a product by the public 4^-p encoded at scale 2p, whose
//!   integer is 1: local, free), so the kernel returns `2^p rsqrt(v)` with g fraction bits,
//!   and K takes the 2^p back. Since `|x_i| <= sqrt(sum x²)`, the final product is below
//!   `2^(f+g+q) sqrt(n)` in the ring for K at scale q = `k - 3 - f - g - ceil(log2
//!   sqrt(n))`. p is the largest with `g <= (k-8)/2` (the rsqrt kernel's products at scale
//!   2g stay in range) and `q >= p + 8` (K keeps 8 bits beyond sqrt(n)'s). f = 18, n = 576
//!   (Z_2^64): h = 6, s = 18, p = 4, g = 26, q = 12, K = 24/16 exactly; rows of 4, as
//!   below: p = 5, q = 14.
//!
//! The choices depend on the scale, the ring and the row length only, never on values.
//! The product and its truncation carry the bound they hold for every input, `|y| <=
//! 1.01 sqrt(n)` (`|x_i| / rms(x) <= sqrt(n)`, 1 % for the rsqrt's error), in the side
//! table, where calibration's format check takes it without a margin (docs/FORMATS.md).
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"h","owner":1} : client<2x4,z64,f18> @ "h"
//! v1 = rms_norm {"axis":1,"eps":0.00001} v0 : client<2x4,z64,f18> @ "ln"
//! v2 = output {"name":"y","to":[1]} v1 : client<2x4,z64,f18> @ "y"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"h","owner":1} : client<2x4,z64,f18> @ "h"
//! v1 = trunc {"bits":6} v0 : client<2x4,z64,f12> @ "ln"
//! v2 = mul v1, v1 : client<2x4,z64,f24> @ "ln"
//! v3 = reduce_sum {"axes":[1]} v2 : client<2x1,z64,f24> @ "ln"
//! v4 = trunc {"bits":6} v3 : client<2x1,z64,f18> @ "ln"
//! v5 = const {"values":[0.00004]} : pub<,z64,f18> @ "ln"
//! v6 = add v4, v5 : client<2x1,z64,f18> @ "ln"
//! v7 = const {"values":[0.0009765625]} : pub<,z64,f10> @ "ln"
//! v8 = mul v6, v7 : client<2x1,z64,f28> @ "ln"
//! v9 = rsqrt {"iters":2} v8 : client<2x1,z64,f28> @ "ln"
//! v10 = const {"values":[0.0625]} : pub<,z64,f14> @ "ln"
//! v11 = mul v9, v10 : client<2x1,z64,f42> @ "ln"
//! v12 = mul v0, v11 : client<2x4,z64,f60> @ "ln" {"range":[-2.02,2.02]}
//! v13 = trunc {"bits":42} v12 : client<2x4,z64,f18> @ "ln" {"range":[-2.02,2.02]}
//! v14 = output {"name":"y","to":[1]} v13 : client<2x4,z64,f18> @ "y"
//! ```
//!
//! Error: none in real arithmetic (an identity; `tests/bounds.rs` checks 1e-9 relative).
//! In fixed point (`tests/headroom.rs`, on the ring-exact simulation): x at 12 fraction bits
//! moves sum(x²) by a relative `≈ 2^-11 / (sqrt(n) rms(x))` (unbiased rounding; 1e-4 at rms
//! 0.1 over 576 channels); n·eps is rounded to scale s; K, when sqrt(n) is irrational, by a
//! relative `2^-(q-p+1)/sqrt(n)` at most (≤ 1.3e-4 for f = 18); the rsqrt kernel's error is
//! at scale g. Measured over rows of 576 with a massive channel up to 5.2e5, relative to
//! the row's largest output: 5.9e-4 at the eps floor (rms 3e-3), 1.1e-4 at rms 0.1, 1e-5
//! from rms 1 on. Needs `sum(x²) + n·eps > 0` and sum(x²) < 2^38 (Z_2^64).
//!
//! Cost for a `[rows, n]` input: rows·n truncations of x (f > 12), rows·n secret squarings,
//! rows truncations of the sums, rows rsqrt (their cost does not depend on the scale), rows·n
//! secret multiplications and truncations; the products by 4^-p and K are local. The same
//! truncation count as `x² → trunc → sum → ·(1/n) → trunc`, moved: the per-element one
//! from the squares to x, the per-row one from the mean to the sum.

use crate::recipes::NormRecipe;
use crate::rewrite::{rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Op, ValueId};

/// Fraction bits of x in the squares of an RMS norm (when x has more).
pub const SQUARE_FRAC: u32 = 12;

/// Replaces each `rms_norm` by `x · K · rsqrt((sum(x_h²) + n·eps) / 4^p)`.
pub fn lower_rms_norm(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let new = rebuild(old, |e, node| {
        let Op::RmsNorm { axis, eps } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let rsqrt = match ctx.recipes_for(old, node)?.rms_norm {
            NormRecipe::Rsqrt { iters } => Op::Rsqrt { iters },
            NormRecipe::GoldschmidtRsqrt { iters } => Op::RsqrtGoldschmidt { iters },
        };
        let y = rms_norm(e, axis, eps, rsqrt)?;
        Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)))
    })?;
    *graph = new;
    Ok(())
}

/// The fixed-point layout of one RMS norm (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bits x loses ahead of the squares.
    pub h: u32,
    /// Scale of the row sums.
    pub s: u32,
    /// The rsqrt's extra factor 2^p (its scale is `s + 2p`).
    pub p: u32,
    /// Scale of the final factor K = sqrt(n) / 2^p.
    pub q: u32,
}

/// The layout for x at scale `f` in a ring of `k` bits over rows of `n`.
pub fn layout(f: u32, k: u32, n: usize) -> Layout {
    let h = f.saturating_sub(SQUARE_FRAC);
    let s = f.min(2 * (f - h));
    let root_bits = ((n.max(1) as f64).sqrt().log2().ceil()) as i64;
    let q_of = |p: u32| k as i64 - 3 - f as i64 - (s + 2 * p) as i64 - root_bits;
    let fits = |p: u32| 2 * (s + 2 * p) + 8 <= k && q_of(p) >= p as i64 + 8;
    let p = (0..k).take_while(|p| fits(*p)).last().unwrap_or(0);
    Layout {
        h,
        s,
        p,
        q: q_of(p).max(0) as u32,
    }
}

fn rms_norm(e: &mut Emitter<'_>, axis: usize, eps: f64, rsqrt: Op) -> Result<ValueId, PassError> {
    let x = e.arg(0);
    let n = e.axis_len(x, axis)?;
    if n == 0 {
        return Err(e.unsupported("RMS norm over an empty axis".into()));
    }
    let (f, ring) = (e.ty(x).scale, e.ty(x).ring);
    let Layout { h, s, p, q } = layout(f, ring.bits(), n);
    let xh = e.trunc(x, h);
    let sq = e.binary(Op::Mul, xh, xh)?;
    let sum = e.reduce(Op::ReduceSum { axes: vec![axis] }, sq, axis);
    let sum = e.rescale(sum, s);
    let n_eps = e.scalar_like(n as f64 * eps, sum);
    let v = e.binary(Op::Add, sum, n_eps)?;
    let v = by_const(e, v, (-2.0 * p as f64).exp2(), 2 * p)?;
    let rs = e.same(rsqrt, v);
    let rk = by_const(e, rs, (n as f64).sqrt() * (-(p as f64)).exp2(), q)?;
    let y = e.binary(Op::Mul, x, rk)?;
    // |x_i| / rms(x) <= sqrt(n) for every row; 1 % on top for the rsqrt's error.
    let b = (n as f64).sqrt() * 1.01;
    e.bound(y, -b, b);
    let bits = e.ty(y).scale - f;
    let out = e.trunc(y, bits);
    e.bound(out, -b, b);
    Ok(out)
}

/// `v · c` with the public `c` encoded at scale `scale`; `v` itself when `c` is 1 at scale
/// 0.
fn by_const(e: &mut Emitter<'_>, v: ValueId, c: f64, scale: u32) -> Result<ValueId, PassError> {
    if c == 1.0 && scale == 0 {
        return Ok(v);
    }
    let ring = e.ty(v).ring;
    let k = e.konst(vec![c], vec![], scale, ring);
    e.binary(Op::Mul, v, k)
}
