//! Lowers `softmax` to PUMA's recipe (MPC-REFERENCE §2.1 `hack_softmax`): subtract the row
//! maximum, zero the entries below `max - 14`, Taylor exp, one reciprocal per row and a
//! broadcast multiply (SPU's `x / bcast(y) → x · bcast(1/y)` rewrite).
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"s","owner":1} : client<2x8,z64,f18> @ "s"
//! v1 = softmax {"axis":1} v0 : client<2x8,z64,f18> @ "attn/softmax"
//! v2 = output {"name":"p","to":[1]} v1 : client<2x8,z64,f18> @ "p"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"s","owner":1} : client<2x8,z64,f18> @ "s"
//! v1 = max_axis {"axis":1} v0 : client<2x1,z64,f18> @ "attn/softmax"
//! v2 = sub v0, v1 : client<2x8,z64,f18> @ "attn/softmax"
//! v3 = ge {"thresholds":[-14.0]} v2 : client<1x2x8,z64,f0> @ "attn/softmax"
//! v4 = reshape v3 : client<2x8,z64,f0> @ "attn/softmax"
//! v5 = exp_taylor {"iters":10} v2 : client<2x8,z64,f18> @ "attn/softmax"
//! v6 = select v5, v4 : client<2x8,z64,f18> @ "attn/softmax"
//! v7 = reduce_sum {"axes":[1]} v6 : client<2x1,z64,f18> @ "attn/softmax"
//! v8 = reciprocal {"iters":3} v7 : client<2x1,z64,f18> @ "attn/softmax"
//! v9 = mul v6, v8 : client<2x8,z64,f36> @ "attn/softmax"
//! v10 = trunc {"bits":18} v9 : client<2x8,z64,f18> @ "attn/softmax"
//! v11 = output {"name":"p","to":[1]} v10 : client<2x8,z64,f18> @ "p"
//! ```
//!
//! Error (real arithmetic, `tests/bounds.rs`), per probability: ≤ 8.6e-4 for rows of 2,
//! ≤ 5.4e-3 for rows of up to 16, ≤ 1.34e-2 for rows of 128 (2.5e-2 computed for 1024).
//! The Taylor exp `(1 + d/256)^256` undershoots `e^d` by a relative ≈ d²/512. The worst row
//! has one maximum and n - 1 logits at one distance d below it (d ≈ -3.8 for n = 16). Entries
//! cut at -14 lose at most e^-14 ≈ 8e-7 each. The reciprocal is exact here; the kernel's own
//! error comes on top. Longer rows want more exp iterations ([`Recipes::exp_iters`]).
//!
//! Cost for a `[rows, n]` input: one `max_axis` (n - 1 comparisons per row in ⌈log2 n⌉
//! levels), rows·n comparisons (one round set), rows·n exp_taylor (8 squarings each),
//! rows·n selects, rows reciprocals, rows·n secret multiplications and truncations.

use crate::recipes::Recipes;
use crate::rewrite::{rebuild, Emitter, Rewrite};
use crate::{PassError, Policy};
use mpcc_ir::{Graph, Op, ValueId};

/// Replaces each `softmax` by the policy's max-subtracted Taylor-exp recipe.
pub fn lower_softmax(graph: &mut Graph, policy: Policy) -> Result<(), PassError> {
    let r = policy.recipes();
    let old = &*graph;
    let new = rebuild(old, |e, node| {
        let Op::Softmax { axis } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let y = softmax(e, axis, r)?;
        Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)))
    })?;
    *graph = new;
    Ok(())
}

/// Emits the recipe for the operand of the node being rewritten.
fn softmax(e: &mut Emitter<'_>, axis: usize, r: &Recipes) -> Result<ValueId, PassError> {
    let x = e.arg(0);
    e.axis_len(x, axis)?;
    let shape = e.ty(x).shape.clone();
    let m = e.reduce(Op::MaxAxis { axis }, x, axis);
    let d = e.binary(Op::Sub, x, m)?;
    let keep = e.ge(d, vec![-r.softmax_cutoff]);
    let keep = e.reshape(keep, shape);
    let ex = e.same(Op::ExpTaylor { iters: r.exp_iters }, d);
    let ex = e.binary(Op::Select, ex, keep)?;
    let sum = e.reduce(Op::ReduceSum { axes: vec![axis] }, ex, axis);
    let inv = e.same(
        Op::Reciprocal {
            iters: r.reciprocal_iters,
        },
        sum,
    );
    e.mul_trunc(ex, inv)
}
