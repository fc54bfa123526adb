//! Lowers `softmax` to its recipe: PUMA's (MPC-REFERENCE §2.1 `hack_softmax`; subtract the
//! row maximum, zero the entries below `max - 14`, Taylor exp, one reciprocal per row and a
//! broadcast multiply, SPU's `x / bcast(y) → x · bcast(1/y)` rewrite), or MPCFormer's 2Quad
//! (§2.3; see the end of this doc).
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"s","owner":1} : client<2x8,z64,f18> @ "s"
//! v1 = softmax {"axis":1} v0 : client<2x8,z64,f18> @ "attn/softmax"
//! v2 = output {"name":"p","to":[1]} v1 : client<2x8,z64,f18> @ "p"
//! ```
//! After (`puma`, whose softmax is `mpcc-softmax`):
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"s","owner":1} : client<2x8,z64,f18> @ "s"
//! v1 = max_axis {"axis":1} v0 : client<2x1,z64,f18> @ "attn/softmax"
//! v2 = sub v0, v1 : client<2x8,z64,f18> @ "attn/softmax"
//! v3 = ge {"thresholds":[-14.0]} v2 : client<1x2x8,z64,f0> @ "attn/softmax"
//! v4 = reshape v3 : client<2x8,z64,f0> @ "attn/softmax"
//! v5 = poly {"coeffs":[1.0,0.125,0.0078125,0.0003255208333333333,0.000010172526041666666,2.5431315104166666e-7,5.298190646701389e-9]} v2 : client<2x8,z64,f18> @ "attn/softmax"
//! v6 = mul v5, v5 : client<2x8,z64,f36> @ "attn/softmax"
//! v7 = trunc {"bits":18} v6 : client<2x8,z64,f18> @ "attn/softmax"
//! v8 = mul v7, v7 : client<2x8,z64,f36> @ "attn/softmax"
//! v9 = trunc {"bits":18} v8 : client<2x8,z64,f18> @ "attn/softmax"
//! v10 = mul v9, v9 : client<2x8,z64,f36> @ "attn/softmax"
//! v11 = trunc {"bits":18} v10 : client<2x8,z64,f18> @ "attn/softmax"
//! v12 = select v11, v4 : client<2x8,z64,f18> @ "attn/softmax"
//! v13 = reduce_sum {"axes":[1]} v12 : client<2x1,z64,f18> @ "attn/softmax"
//! v14 = reciprocal {"iters":2} v13 : client<2x1,z64,f18> @ "attn/softmax"
//! v15 = mul v12, v14 : client<2x8,z64,f36> @ "attn/softmax"
//! v16 = trunc {"bits":18} v15 : client<2x8,z64,f18> @ "attn/softmax"
//! v17 = output {"name":"p","to":[1]} v16 : client<2x8,z64,f18> @ "p"
//! ```
//! PUMA's own recipe (`puma-softmax`, `puma-paper-softmax`) has one `exp_taylor
//! {"iters":10}` (8) in place of the `poly` and the three squarings.
//!
//! **mpcc's exp** ([`SoftmaxRecipe::MaxPolyExp`], `mpcc-softmax`): `e^d` for `d = x - max`
//! in [-14, 0] as `p(d/8)^8`, p the degree-6 Taylor polynomial of e (one `poly` kernel on d,
//! coefficients `1/(i! 8^i)`, then 3 squarings). Two-level rows (`tests/bounds.rs`,
//! `mpcc_softmax_bounds`) stay within 1.3e-6 per probability for rows of 2, 2.0e-5 for 16
//! and 1.6e-4 for 128, against 3.4e-3 for rows of 128 under `puma-softmax`. The polynomial's
//! largest power, d^6 at scale 2f, stays below 2^59 for d ≥ -14 at f = 18; entries below
//! the cut-off may wrap and are zeroed by the `select`. Cost: the `poly` (powers up to 6 by
//! the kernel's tree, one truncation) and 3 `mul` + `trunc`, against 10 under
//! `puma-softmax`: on all-MiniLM-L6-v2 at sequence 128, 1.98 GB and 1,579 rounds against
//! 2.20 GB and 1,657, with the same 0.99998 cosine.
//!
//! Error of `puma-paper-softmax` (real arithmetic, `tests/bounds.rs`), per probability: ≤ 8.6e-4 for rows of 2,
//! ≤ 5.4e-3 for rows of up to 16, ≤ 1.34e-2 for rows of 128 (2.5e-2 computed for 1024).
//! The Taylor exp `(1 + d/256)^256` undershoots `e^d` by a relative ≈ d²/512. The worst row
//! has one maximum and n - 1 logits at one distance d below it (d ≈ -3.8 for n = 16). Entries
//! cut at -14 lose at most e^-14 ≈ 8e-7 each. The reciprocal is exact here; the kernel's own
//! error comes on top. These figures are `puma-paper`'s 8 squarings; `puma`'s 10 give
//! 3.4e-3 for rows of 128. Longer rows want more exp iterations
//! ([`SoftmaxRecipe::MaxExp`]'s `exp_iters`).
//!
//! Cost for a `[rows, n]` input: one `max_axis` (n - 1 comparisons per row in ⌈log2 n⌉
//! levels), rows·n comparisons (one round set), rows·n exp_taylor (`exp_iters` squarings
//! each: 10 under `puma`), rows·n selects, rows reciprocals, rows·n secret multiplications
//! and truncations.
//!
//! **Per head.** When overrides give the heads of an attention softmax (a rank-4
//! `[batch, heads, seq, seq]` input over axis 3, or a rank-3 `[heads, seq, seq]` one,
//! [`crate::ctx::head_axis`]) different
//! recipes, each run of consecutive heads with one recipe is sliced out along the head axis
//! (`slice`, local and free), lowered with its recipe, and the results are concatenated back
//! (`concat`, local). With one recipe for all heads the softmax is lowered whole, as above.
//!
//! **2Quad** ([`SoftmaxRecipe::Quad`], `mpcformer-2quad-softmax`): `add` the public shift
//! (5), `mul` + `trunc` (the square), `reduce_sum`, `reciprocal` per row, `mul` (broadcast) +
//! `trunc`. The lowered graph computes `(x + 5)² / Σ(x + 5)²` exactly in real arithmetic
//! (`tests/bounds.rs`, `quad_softmax_*`; the reciprocal kernel's error comes on top). It is
//! not a softmax: it peaks at x = -5, not at the row maximum, and it is not
//! shift-invariant. Against the exact softmax, rows of 2 logits in [-4, 4] are off by up to
//! 0.27 per probability (at (1.48, 4): 0.34 vs 0.07 for the first), rows of 2 in [-5, 5] by
//! 0.49 (at (-5, -4.975): 0 and 1 where softmax gives about 0.5 each); only models distilled
//! with it may use it. **Masks:** an additive attention mask (-10⁴ or the float minimum on padded
//! positions) gives those positions the largest weights, since (x + 5)² grows with |x|; the
//! lowering cannot see the mask. Use it only where the mask is all zeros (no padding), as
//! MPCFormer's benchmark does. A row whose logits are all exactly -5 has a zero sum and no
//! defined output (the reciprocal kernel returns 0 there). Cost for `[rows, n]` (Z64):
//! rows·n multiplications and truncations for the square (3 rounds, 56 bytes per element
//! over the three parties), rows reciprocals (the runtime's `reciprocal_cost`: the top-bit
//! search, then 9 + 3·iters rounds, 18 at 3 iterations), rows·n mul + trunc (3 rounds, 56
//! bytes per element): no max tree, no comparison, no select, no exp (under `puma`, 10
//! squarings per element, each a multiplication and a truncation: 30 rounds and 560 bytes
//! per element).

//! **MPCViT** ([`SoftmaxRecipe::ReluNorm`], `mpcvit-relu-softmax`): `relu`, `reduce_sum`,
//! `add` the public eps (1e-5), `reciprocal` per row, `mul` (broadcast) + `trunc`: exactly
//! `ReLU(x) / (Σ ReLU(x) + 1e-5)` in real arithmetic (the reciprocal kernel's error on top;
//! `passes/tests/mpcvit.rs`). A row with no positive entry gives zeros. An additive mask
//! (-10⁴ on padded positions) gives those positions 0, as it should. Cost for `[rows, n]`:
//! rows·n relus (one comparison and one select each: no max tree, no exp), rows
//! reciprocals, rows·n mul + trunc. [`SoftmaxRecipe::Scale`] (`mpcvit-scaling-attention`):
//! `mul` by the public 1/n + `trunc`: `x / n` exactly up to the truncation's rounding, 1
//! truncation per element and nothing else; an additive mask is not removed by it (the
//! masked logits stay in the sum), so use it only without padding. Both are not softmax
//! approximations: models must be trained with them (MPCViT searches per head).

use crate::ctx::head_axis;
use crate::recipes::SoftmaxRecipe;
use crate::rewrite::{rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Node, Op, ValueId};

/// Replaces each `softmax` by its recipe, per group of heads where the recipes differ.
pub fn lower_softmax(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let new = rebuild(old, |e, node| {
        let Op::Softmax { axis } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let groups = head_groups(ctx, old, node)?;
        let head = head_axis(old, node).map_or(1, |(a, _)| a);
        let x = e.arg(0);
        let y = match groups.as_slice() {
            [(_, r)] => softmax(e, x, axis, r)?,
            _ => {
                let mut parts = Vec::with_capacity(groups.len());
                for (heads, r) in &groups {
                    let slice = Op::Slice {
                        axis: head,
                        start: heads.start,
                        end: heads.end,
                        step: 1,
                    };
                    let xs = e.typed(slice, &[x], None)?;
                    parts.push(softmax(e, xs, axis, r)?);
                }
                e.typed(Op::Concat { axis: head }, &parts, None)?
            }
        };
        Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)))
    })?;
    *graph = new;
    Ok(())
}

/// The runs of consecutive heads that share a softmax recipe; one run of everything for a
/// softmax that is not per head.
fn head_groups(
    ctx: &PassCtx<'_>,
    graph: &Graph,
    node: &Node,
) -> Result<Vec<(std::ops::Range<usize>, SoftmaxRecipe)>, PassError> {
    let Some((_, heads)) = head_axis(graph, node) else {
        return Ok(vec![(0..1, ctx.recipes_for(graph, node)?.softmax)]);
    };
    let mut groups: Vec<(std::ops::Range<usize>, SoftmaxRecipe)> = Vec::new();
    for (h, r) in ctx
        .recipes_per_head(graph, node, heads)?
        .into_iter()
        .enumerate()
    {
        match groups.last_mut() {
            Some((run, last)) if *last == r.softmax => run.end = h + 1,
            Some(_) | None => groups.push((h..h + 1, r.softmax)),
        }
    }
    Ok(groups)
}

/// Emits the recipe for `x`, the operand of the node being rewritten (or a slice of it).
fn softmax(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    r: &SoftmaxRecipe,
) -> Result<ValueId, PassError> {
    match *r {
        SoftmaxRecipe::MaxExp {
            exp_iters,
            cutoff,
            reciprocal_iters,
        } => max_exp(e, x, axis, exp_iters, cutoff, reciprocal_iters),
        SoftmaxRecipe::MaxPolyExp {
            degree,
            squarings,
            cutoff,
            reciprocal_iters,
        } => max_poly_exp(e, x, axis, degree, squarings, cutoff, reciprocal_iters),
        SoftmaxRecipe::Quad {
            shift,
            reciprocal_iters,
        } => quad(e, x, axis, shift, reciprocal_iters),
        SoftmaxRecipe::ReluNorm {
            eps,
            reciprocal_iters,
        } => relu_norm(e, x, axis, eps, reciprocal_iters),
        SoftmaxRecipe::Scale => {
            let n = e.axis_len(x, axis)?;
            let c = e.scalar_like(1.0 / n as f64, x);
            e.mul_trunc(x, c)
        }
    }
}

/// MPCViT's ReLU-softmax ([`SoftmaxRecipe::ReluNorm`]): `r = relu(x)`, then
/// `r / (Σr + eps)`.
fn relu_norm(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    eps: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    e.axis_len(x, axis)?;
    let r = e.same(Op::Relu, x);
    normalize(e, r, axis, Some(eps), reciprocal_iters)
}

/// PUMA's `hack_softmax` ([`SoftmaxRecipe::MaxExp`]).
fn max_exp(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    exp_iters: u32,
    cutoff: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    e.axis_len(x, axis)?;
    let shape = e.ty(x).shape.clone();
    let m = e.reduce(Op::MaxAxis { axis }, x, axis);
    let d = e.binary(Op::Sub, x, m)?;
    let keep = e.ge(d, vec![-cutoff]);
    let keep = e.reshape(keep, shape);
    let ex = e.same(Op::ExpTaylor { iters: exp_iters }, d);
    let ex = e.binary(Op::Select, ex, keep)?;
    normalize(e, ex, axis, None, reciprocal_iters)
}

/// mpcc's softmax ([`SoftmaxRecipe::MaxPolyExp`]): as [`max_exp`], with the exp as a
/// `poly` (the Taylor polynomial of `e^(d / 2^t)`) and `t` squarings (`mul` + `trunc`).
fn max_poly_exp(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    degree: u32,
    squarings: u32,
    cutoff: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    e.axis_len(x, axis)?;
    let shape = e.ty(x).shape.clone();
    let m = e.reduce(Op::MaxAxis { axis }, x, axis);
    let d = e.binary(Op::Sub, x, m)?;
    let keep = e.ge(d, vec![-cutoff]);
    let keep = e.reshape(keep, shape);
    let mut ex = e.same(
        Op::Poly {
            coeffs: taylor_exp_coeffs(degree, squarings),
        },
        d,
    );
    for _ in 0..squarings {
        ex = e.mul_trunc(ex, ex)?;
    }
    let ex = e.binary(Op::Select, ex, keep)?;
    normalize(e, ex, axis, None, reciprocal_iters)
}

/// Coefficients (constant first) of `sum_{i <= degree} (d / 2^t)^i / i!` as a polynomial
/// in d.
pub fn taylor_exp_coeffs(degree: u32, t: u32) -> Vec<f64> {
    let mut c = Vec::with_capacity(degree as usize + 1);
    let mut term = 1.0;
    for i in 0..=degree {
        if i > 0 {
            term /= i as f64 * (t as f64).exp2();
        }
        c.push(term);
    }
    c
}

/// MPCFormer's 2Quad ([`SoftmaxRecipe::Quad`]): `q = (x + shift)²`, then `q / Σq`.
fn quad(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    shift: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    e.axis_len(x, axis)?;
    let c = e.scalar_like(shift, x);
    let t = e.binary(Op::Add, x, c)?;
    let q = e.mul_trunc(t, t)?;
    normalize(e, q, axis, None, reciprocal_iters)
}

/// `w / (Σw + eps)` over `axis` (no eps: `w / Σw`): the row sum, one reciprocal per row, a
/// broadcast multiply.
fn normalize(
    e: &mut Emitter<'_>,
    w: ValueId,
    axis: usize,
    eps: Option<f64>,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    let mut sum = e.reduce(Op::ReduceSum { axes: vec![axis] }, w, axis);
    if let Some(eps) = eps {
        let c = e.scalar_like(eps, sum);
        sum = e.binary(Op::Add, sum, c)?;
    }
    let inv = e.same(
        Op::Reciprocal {
            iters: reciprocal_iters,
        },
        sum,
    );
    e.mul_trunc(w, inv)
}
