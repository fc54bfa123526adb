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
//! v5 = const {"values":[0.0625]} : pub<,z64,f4> @ "attn/softmax"
//! v6 = mul v2, v5 : client<2x8,z64,f22> @ "attn/softmax"
//! v7 = poly {"coeffs":[1.0,1.0,0.5,0.16666666666666666,0.041666666666666664]} v6 : client<2x8,z64,f22> @ "attn/softmax"
//! v8 = mul v7, v7 : client<2x8,z64,f44> @ "attn/softmax"
//! v9 = trunc {"bits":22} v8 : client<2x8,z64,f22> @ "attn/softmax"
//! v10 = mul v9, v9 : client<2x8,z64,f44> @ "attn/softmax"
//! v11 = trunc {"bits":22} v10 : client<2x8,z64,f22> @ "attn/softmax"
//! v12 = mul v11, v11 : client<2x8,z64,f44> @ "attn/softmax"
//! v13 = trunc {"bits":22} v12 : client<2x8,z64,f22> @ "attn/softmax"
//! v14 = mul v13, v13 : client<2x8,z64,f44> @ "attn/softmax"
//! v15 = trunc {"bits":26} v14 : client<2x8,z64,f18> @ "attn/softmax"
//! v16 = select v15, v4 : client<2x8,z64,f18> @ "attn/softmax"
//! v17 = reduce_sum {"axes":[1]} v16 : client<2x1,z64,f18> @ "attn/softmax"
//! v18 = reciprocal {"iters":2} v17 : client<2x1,z64,f18> @ "attn/softmax"
//! v19 = mul v16, v18 : client<2x8,z64,f36> @ "attn/softmax"
//! v20 = trunc {"bits":18} v19 : client<2x8,z64,f18> @ "attn/softmax"
//! v21 = output {"name":"p","to":[1]} v20 : client<2x8,z64,f18> @ "p"
//! ```
//! PUMA's own recipe (`puma-softmax`, `puma-paper-softmax`) has one `exp_taylor
//! {"iters":10}` (8) in place of the `mul` by 2^-4, the `poly` and the four squarings, and
//! 3 reciprocal iterations.
//!
//! **mpcc's exp** ([`SoftmaxRecipe::MaxPolyExp`], `mpcc-softmax`): `e^d` for `d = x - max`
//! in [-14, 0] as `p(d/16)^16`, p the degree-4 Taylor polynomial of e. `z = d/16` is free: d's
//! ring integer read at 4 more fraction bits (a `mul` by the public 2^-4 encoded at scale 4,
//! whose integer is 1), so the coefficients `1/i!` keep their precision (encoded at scale
//! f + 4; on d itself, `1/(4! 16^4)` would round to 0 at f = 18). One `poly` kernel, then 4
//! squarings (`mul` + `trunc` at scale f + 4, the last truncation 4 bits longer, back to f).
//! Two-level rows (`tests/bounds.rs`, `mpcc_softmax_bounds`) stay within 3.5e-6 per
//! probability for rows of 2, 4.8e-5 for 16 and 2.9e-4 for 128, against 3.4e-3 for rows of
//! 128 under `puma-softmax`. z and its powers stay below 2^3 for d ≥ -14; entries below the
//! cut-off may wrap and are zeroed by the `select`. Cost: the `poly` (powers to 4 in 2
//! levels, one truncation) and 4 `mul` + `trunc`, against 10 under `puma-softmax`: with the
//! 2 reciprocal iterations, all-MiniLM-L6-v2 at sequence 128 sends 2.04 GB in 1,501 rounds
//! (with `mpcc-rms-norm`) against 2.20 GB in 1,657 for PUMA's recipes, and `mpcc accuracy`
//! gives cosines of 0.999975 (the benchmark passage at [1, 128]) and 0.999978 (the
//! reference at [2, 32]) against 0.999974 and 0.999977.
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
//! with it may use it. **Masks:** added to the scores, an attention mask (-10⁴ or the float
//! minimum on padded or future positions) would give those positions the largest weights,
//! since (x + 5)² grows with |x|. When the operand is `s + m` with `m` an additive mask
//! ([`crate::mask`]: the exports' `(1 - attention_mask) · L` and `L + keep · (-L)`, L ≤ -30)
//! the lowering squares `s + 5` and multiplies by the keep bits instead (one `mul` + `trunc`
//! per element more: 3 rounds, 56 bytes per element); any other operand is squared as it
//! is. A row whose logits are all exactly -5 has a zero sum and no
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
//! truncation per element and nothing else; under an additive mask ([`crate::mask`]) it is
//! `s · keep / n` (one `mul` + `trunc` per element more), so hidden positions give 0. Both are not softmax
//! approximations: models must be trained with them (MPCViT searches per head).

use crate::ctx::head_axis;
use crate::mask::{additive_mask, AdditiveMask};
use crate::recipes::SoftmaxRecipe;
use crate::rewrite::{definitions, rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Node, Op, ValueId};

/// Replaces each `softmax` by its recipe, per group of heads where the recipes differ.
pub fn lower_softmax(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let defs = definitions(old);
    let new = rebuild(old, |e, node| {
        let Op::Softmax { axis } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let groups = head_groups(ctx, old, node)?;
        let head = head_axis(old, node).map_or(1, |(a, _)| a);
        let x = e.arg(0);
        // The recipes that are not shift-invariant multiply by a mask's keep bits.
        let needs_mask = groups.iter().any(|(_, r)| uses_mask(r));
        let mask = match needs_mask.then(|| additive_mask(old, &defs, node.inputs[0])) {
            Some(Some(m)) => keep_bits(e, &m)?,
            Some(None) | None => None,
        };
        let y = match groups.as_slice() {
            [(_, r)] => softmax(e, x, axis, r, mask)?,
            _ => {
                let mut parts = Vec::with_capacity(groups.len());
                for (heads, r) in &groups {
                    let xs = slice_heads(e, x, head, heads)?;
                    let masked = match mask.filter(|_| uses_mask(r)) {
                        Some((s, keep)) => {
                            // The bits broadcast over the heads unless they have an axis
                            // of their own there (axes align from the right).
                            let (rank, krank) = (e.ty(s).shape.len(), e.ty(keep).shape.len());
                            let keep = match (head + krank).checked_sub(rank) {
                                Some(a) if e.ty(keep).shape[a] > 1 => {
                                    slice_heads(e, keep, a, heads)?
                                }
                                Some(_) | None => keep,
                            };
                            Some((slice_heads(e, s, head, heads)?, keep))
                        }
                        None => None,
                    };
                    parts.push(softmax(e, xs, axis, r, masked)?);
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

/// Whether the recipe multiplies by an additive mask's keep bits instead of taking the
/// masked operand (2Quad and scaling attention, which are not shift-invariant).
fn uses_mask(r: &SoftmaxRecipe) -> bool {
    matches!(r, SoftmaxRecipe::Quad { .. } | SoftmaxRecipe::Scale)
}

/// The heads `heads` of `v` along `axis` (a local `slice`).
fn slice_heads(
    e: &mut Emitter<'_>,
    v: ValueId,
    axis: usize,
    heads: &std::ops::Range<usize>,
) -> Result<ValueId, PassError> {
    let op = Op::Slice {
        axis,
        start: heads.start,
        end: heads.end,
        step: 1,
    };
    e.typed(op, &[v], None)
}

/// The scores and the keep bits (1 where the mask adds 0) of an additive mask, in the new
/// graph.
fn keep_bits(
    e: &mut Emitter<'_>,
    m: &AdditiveMask,
) -> Result<Option<(ValueId, ValueId)>, PassError> {
    let (Some(s), Some(b)) = (e.mapped(m.scores), e.mapped(m.bits)) else {
        return Ok(None);
    };
    let keep = if m.complement {
        let one = e.scalar_like(1.0, b);
        e.binary(Op::Sub, one, b)?
    } else {
        b
    };
    Ok(Some((s, keep)))
}

/// Emits the recipe for `x`, the operand of the node being rewritten (or a slice of it);
/// `mask` holds the scores and keep bits when `x` is the scores plus an additive mask.
fn softmax(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    r: &SoftmaxRecipe,
    mask: Option<(ValueId, ValueId)>,
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
        } => match mask {
            Some((s, keep)) => quad(e, s, Some(keep), axis, shift, reciprocal_iters),
            None => quad(e, x, None, axis, shift, reciprocal_iters),
        },
        SoftmaxRecipe::ReluNorm {
            eps,
            reciprocal_iters,
        } => relu_norm(e, x, axis, eps, reciprocal_iters),
        SoftmaxRecipe::Scale => {
            let n = e.axis_len(x, axis)?;
            let x = match mask {
                Some((s, keep)) => e.mul_trunc(s, keep)?,
                None => x,
            };
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
    let (d, keep) = shifted(e, x, axis, cutoff)?;
    let ex = e.same(Op::ExpTaylor { iters: exp_iters }, d);
    let ex = e.binary(Op::Select, ex, keep)?;
    normalize(e, ex, axis, None, reciprocal_iters)
}

/// mpcc's softmax ([`SoftmaxRecipe::MaxPolyExp`]): as [`max_exp`], with the exp as a
/// `poly` (the Taylor polynomial of e) on `z = d / 2^t` read at t more fraction bits, and
/// `t` squarings (`mul` + `trunc`, the last one back to the input's scale).
fn max_poly_exp(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    degree: u32,
    squarings: u32,
    cutoff: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    let (d, keep) = shifted(e, x, axis, cutoff)?;
    // z = d / 2^t, free: the same ring integer read at t more fraction bits (a product by
    // the public 2^-t encoded at scale t, whose integer is 1). The polynomial's coefficients
    // 1/i! then keep their precision at the higher scale.
    let f = e.ty(d).scale;
    let ring = e.ty(d).ring;
    let inv = e.konst(vec![(-(squarings as f64)).exp2()], vec![], squarings, ring);
    let z = e.binary(Op::Mul, d, inv)?;
    let mut ex = e.same(
        Op::Poly {
            coeffs: taylor_exp_coeffs(degree),
        },
        z,
    );
    // Square t times at scale f + t; the last truncation also drops the t extra bits.
    for i in 0..squarings {
        let sq = e.binary(Op::Mul, ex, ex)?;
        let back = if i + 1 == squarings { squarings } else { 0 };
        ex = e.trunc(sq, f + squarings + back);
    }
    let ex = e.rescale(ex, f);
    let ex = e.binary(Op::Select, ex, keep)?;
    normalize(e, ex, axis, None, reciprocal_iters)
}

/// Coefficients (constant first) of the Taylor polynomial of e of degree `degree`:
/// `1 / i!`.
pub fn taylor_exp_coeffs(degree: u32) -> Vec<f64> {
    let mut c = Vec::with_capacity(degree as usize + 1);
    let mut term = 1.0;
    for i in 0..=degree {
        if i > 0 {
            term /= i as f64;
        }
        c.push(term);
    }
    c
}

/// `d = x - max(x)` over `axis`, and the bits `[d >= -cutoff]` in `x`'s shape.
fn shifted(
    e: &mut Emitter<'_>,
    x: ValueId,
    axis: usize,
    cutoff: f64,
) -> Result<(ValueId, ValueId), PassError> {
    e.axis_len(x, axis)?;
    let shape = e.ty(x).shape.clone();
    let m = e.reduce(Op::MaxAxis { axis }, x, axis);
    let d = e.binary(Op::Sub, x, m)?;
    let keep = e.ge(d, vec![-cutoff]);
    Ok((d, e.reshape(keep, shape)))
}

/// MPCFormer's 2Quad ([`SoftmaxRecipe::Quad`]): `q = (x + shift)²`, then `q / Σq`. Under
/// an additive mask (`keep`: the softmax's operand is `x` plus a mask that is 0 where
/// `keep` is 1, [`crate::mask`]) `q = (x + shift)² · keep`.
fn quad(
    e: &mut Emitter<'_>,
    x: ValueId,
    keep: Option<ValueId>,
    axis: usize,
    shift: f64,
    reciprocal_iters: u32,
) -> Result<ValueId, PassError> {
    e.axis_len(x, axis)?;
    let c = e.scalar_like(shift, x);
    let t = e.binary(Op::Add, x, c)?;
    let mut q = e.mul_trunc(t, t)?;
    if let Some(keep) = keep {
        q = e.mul_trunc(q, keep)?;
    }
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
