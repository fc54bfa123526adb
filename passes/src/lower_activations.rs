//! Lowers the elementwise activations GeLU, erf, tanh, sigmoid and SiLU to one
//! `piecewise_poly` kernel each, with the table of the node's recipe ([`crate::recipes`]; the
//! policy's, or an override's), or to one `poly` kernel for a polynomial recipe (MPCFormer's
//! Quad GeLU).
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<4,z64,f18> @ "x"
//! v1 = gelu v0 : client<4,z64,f18> @ "mlp/gelu"
//! v2 = output {"name":"y","to":[1]} v1 : client<4,z64,f18> @ "y"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<4,z64,f18> @ "x"
//! v1 = piecewise_poly {"breaks":[-4.0,-1.95,3.0],"pieces":["Zero",{"Poly":[…]},{"Poly":[…]},"Identity"]} v0 : client<4,z64,f18> @ "mlp/gelu"
//! v2 = output {"name":"y","to":[1]} v1 : client<4,z64,f18> @ "y"
//! ```
//!
//! Error bounds under [`crate::Policy::PUMA`] (real arithmetic, measured by
//! `tests/bounds.rs` against the exact function; fixed-point rounding comes on top):
//!
//! | op | table | max abs error |
//! |---|---|---|
//! | GeLU | PUMA's pieces (0 / cubic / degree 8 refit / x), breaks -4, -1.95, 3 | 4.05e-3 on ℝ (at x = 3); `puma-paper`: 2.0e-2 |
//! | SiLU | mpcc's: 0 / quartic / 0.5x + even degree 8 / x + mirrored quartic / x, breaks ±8, ±3 | 2.7e-3 on ℝ (at ±8), 3.2e-4 inside; `puma-paper` (PUMA's `hack_silu`): 7.2e-2 (at x → 4⁺) |
//! | tanh | ±1 / degree 4 / odd degree 7, breaks ±4, ±1.5 | 8.5e-4 on ℝ |
//! | erf | ±1 / degree 4 / odd degree 5, breaks ±2.5, ±1 | 5.3e-4 on ℝ |
//! | sigmoid | 0, 1 / degree 4 / odd degree 5, breaks ±7, ±2 | 9.2e-4 on ℝ |
//!
//! Cost: the op had no kernel; it becomes one `piecewise_poly`: `breaks.len()` comparisons
//! in parallel (3 or 4), the powers up to the highest degree (8, 8, 7, 5, 5) by a log-depth
//! tree, and one bit × polynomial select per piece. The output keeps the input's type; if the
//! front end gave the op another scale, a `trunc` or `shl` follows.
//!
//! **Quad GeLU** (`mpcformer-quad-gelu`: `0.125x² + 0.25x + 0.5`, the MPCFormer paper's form
//! as Ditto copies it; `mpcformer-repo-quad-gelu`: `0.125x² + 0.5x + 0.25`, what the
//! MPCFormer repository computes). One `poly` kernel of degree 2. The lowered graph computes
//! the polynomial exactly in real arithmetic (`tests/bounds.rs`, `quad_gelu_*`). It is a
//! replacement for a distilled model, not an approximation: against GeLU the paper form is
//! off by up to 0.56 on [-2, 2] (0.5 at x = 0) and 1.50 on [-4, 4], the repository form by
//! 0.25 on [-4, 4]; both grow as 0.125x² beyond. Cost per element (Z64, the runtime's
//! kernels): x² by one multiplication and truncation (3 rounds, 56 bytes over the three
//! parties), then the final truncation of the poly kernel (2 rounds, 32 bytes): 5 rounds,
//! 88 bytes, against `puma-gelu`'s 3 comparisons, powers to degree 8 and selects. The
//! kernel's fixed-point rounding comes on top (the runtime's `poly_bound`: about
//! `2^-18 (1.5 + 0.75|x| + x²/2)` for |x| ≥ 1).

use crate::recipes::{ActivationRecipe, FourierErf, RecipeKind, Recipes};
use crate::rewrite::{rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{typing, Graph, Op, ValueId, ValueType, Vis};

/// Replaces each GeLU, erf, tanh, sigmoid and SiLU by its recipe's piecewise polynomial.
pub fn lower_activations(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let new = rebuild(old, |e, node| {
        let Some(recipe) = RecipeKind::of(&node.op).and_then(activation) else {
            return Ok(Rewrite::Keep);
        };
        let op = match recipe(&ctx.recipes_for(old, node)?) {
            ActivationRecipe::Piecewise(table) => table.op(),
            ActivationRecipe::Poly(coeffs) => Op::Poly {
                coeffs: coeffs.to_vec(),
            },
            ActivationRecipe::FourierErf(r) => {
                let gelu = matches!(node.op, Op::Gelu);
                if !gelu && !matches!(node.op, Op::Erf) {
                    return Err(e.unsupported(format!(
                        "the Fourier erf recipe lowers gelu and erf, not {}",
                        node.op.name()
                    )));
                }
                let y = fourier_erf(e, e.arg(0), r, gelu)?;
                return Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)));
            }
        };
        let y = e.same(op, e.arg(0));
        Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)))
    })?;
    *graph = new;
    Ok(())
}

/// Where the recipes keep the recipe of an activation kind; `None` for other kinds.
fn activation(kind: RecipeKind) -> Option<fn(&Recipes) -> ActivationRecipe> {
    match kind {
        RecipeKind::Gelu => Some(|r| r.gelu),
        RecipeKind::Erf => Some(|r| r.erf),
        RecipeKind::Tanh => Some(|r| r.tanh),
        RecipeKind::Sigmoid => Some(|r| r.sigmoid),
        RecipeKind::Silu => Some(|r| r.silu),
        RecipeKind::Softmax
        | RecipeKind::RmsNorm
        | RecipeKind::Exp
        | RecipeKind::Div
        | RecipeKind::Sqrt => None,
    }
}

/// SecFormer's erf of `x` (`gelu` false) or its GeLU `0.5 x (1 + erf(x / √2))` (`gelu`
/// true) with the series `r`: the series s by `sin_series` (its material from a
/// `sin_prep` of the same shape), the middle piece m (erf: s; GeLU: `x · Φ(x)` with s the
/// series of Φ), two comparisons b = `[x >= -c, x >= c]` (c the clip, times √2 for GeLU),
/// and `lo + b_0 (m - lo) + b_1 (hi - m)` by one select over both pieces: `lo, hi` = -1, 1
/// (erf) or 0, x (GeLU).
fn fourier_erf(
    e: &mut Emitter<'_>,
    x: ValueId,
    r: &FourierErf,
    gelu: bool,
) -> Result<ValueId, crate::PassError> {
    let ty = e.ty(x).clone();
    let (f, ring) = (ty.scale, ty.ring);
    // In units of x: z = x / √2 for GeLU.
    let stretch = if gelu { std::f64::consts::SQRT_2 } else { 1.0 };
    let period = 2.0 * r.half_period * stretch;
    let clip = r.clip * stretch;
    // GeLU's series is Φ = (1 + erf) / 2.
    let half = if gelu { 0.5 } else { 1.0 };
    let mut coeffs = vec![if gelu { 0.5 } else { 0.0 }];
    coeffs.extend(r.coeffs.iter().map(|c| c * half));
    let terms = r.coeffs.len();
    let mut pshape = vec![2 * terms + 1];
    pshape.extend(&ty.shape);
    let prep = e.emit(
        Op::SinPrep {
            terms: terms as u32,
        },
        &[],
        ValueType {
            shape: pshape,
            ring,
            scale: typing::sin_prep_scale(ring, f),
            vis: Vis::Secret,
        },
    );
    let s = e.typed(Op::SinSeries { coeffs, period }, &[x, prep], None)?;
    // The pieces above the low one, `mid - lo` and `hi - mid`, each of x's shape, and the
    // low piece when it is not 0: GeLU's are `x Φ` and `x - x Φ` (low 0), erf's `s + 1` and
    // `1 - s` (low -1).
    let (up, top, lo) = if gelu {
        let m = e.mul_trunc(x, s)?;
        (m, e.binary(Op::Sub, x, m)?, None)
    } else {
        let (m1, p1) = (e.scalar_like(-1.0, x), e.scalar_like(1.0, x));
        (
            e.binary(Op::Sub, s, m1)?,
            e.binary(Op::Sub, p1, s)?,
            Some(m1),
        )
    };
    let mut one = vec![1];
    one.extend(&ty.shape);
    let (up, top) = (e.reshape(up, one.clone()), e.reshape(top, one.clone()));
    let pieces = e.typed(Op::Concat { axis: 0 }, &[up, top], None)?;
    let bits = e.ge(x, vec![-clip, clip]);
    let chosen = e.binary(Op::Select, pieces, bits)?;
    let sum = e.reduce(Op::ReduceSum { axes: vec![0] }, chosen, 0);
    let sum = e.reshape(sum, ty.shape.clone());
    match lo {
        Some(lo) => e.binary(Op::Add, sum, lo),
        None => Ok(sum),
    }
}
