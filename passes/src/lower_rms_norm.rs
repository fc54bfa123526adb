//! Lowers `rms_norm` (tract's RmsNorm, `x / sqrt(mean(x²) + eps)`; LayerNorm after
//! centering) to PUMA's `x · rsqrt(·)` form: one rsqrt per row instead of a division per
//! element.
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
//! v1 = mul v0, v0 : client<2x4,z64,f36> @ "ln"
//! v2 = trunc {"bits":18} v1 : client<2x4,z64,f18> @ "ln"
//! v3 = reduce_sum {"axes":[1]} v2 : client<2x1,z64,f18> @ "ln"
//! v4 = const {"values":[0.25]} : pub<,z64,f18> @ "ln"
//! v5 = mul v3, v4 : client<2x1,z64,f36> @ "ln"
//! v6 = trunc {"bits":18} v5 : client<2x1,z64,f18> @ "ln"
//! v7 = const {"values":[0.00001]} : pub<,z64,f18> @ "ln"
//! v8 = add v6, v7 : client<2x1,z64,f18> @ "ln"
//! v9 = rsqrt {"iters":3} v8 : client<2x1,z64,f18> @ "ln"
//! v10 = mul v0, v9 : client<2x4,z64,f36> @ "ln"
//! v11 = trunc {"bits":18} v10 : client<2x4,z64,f18> @ "ln"
//! v12 = output {"name":"y","to":[1]} v11 : client<2x4,z64,f18> @ "y"
//! ```
//!
//! Error: none in real arithmetic (an identity; `tests/bounds.rs` checks 1e-9 relative).
//! In fixed point: eps is rounded to the grid (1e-5 → 3·2^-18), and the rsqrt kernel's
//! error applies. Needs `mean(x²) + eps > 0`.
//!
//! Cost for a `[rows, n]` input: rows·n secret squarings and truncations, rows public
//! multiplications and truncations, rows rsqrt, rows·n secret multiplications and
//! truncations.

use crate::recipes::NormRecipe;
use crate::rewrite::{rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Op, ValueId};

/// Replaces each `rms_norm` by `x · rsqrt(sum(x²)·(1/n) + eps)`.
pub fn lower_rms_norm(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let new = rebuild(old, |e, node| {
        let Op::RmsNorm { axis, eps } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let NormRecipe::Rsqrt { iters } = ctx.recipes_for(old, node)?.rms_norm;
        let y = rms_norm(e, axis, eps, iters)?;
        Ok(Rewrite::Replace(e.rescale(y, old.ty(node.output).scale)))
    })?;
    *graph = new;
    Ok(())
}

fn rms_norm(e: &mut Emitter<'_>, axis: usize, eps: f64, iters: u32) -> Result<ValueId, PassError> {
    let x = e.arg(0);
    let n = e.axis_len(x, axis)?;
    if n == 0 {
        return Err(e.unsupported("RMS norm over an empty axis".into()));
    }
    let sq = e.mul_trunc(x, x)?;
    let sum = e.reduce(Op::ReduceSum { axes: vec![axis] }, sq, axis);
    let inv_n = e.scalar_like(1.0 / n as f64, sum);
    let mean = e.mul_trunc(sum, inv_n)?;
    let eps = e.scalar_like(eps, mean);
    let var = e.binary(Op::Add, mean, eps)?;
    let rs = e.same(Op::Rsqrt { iters }, var);
    e.mul_trunc(x, rs)
}
