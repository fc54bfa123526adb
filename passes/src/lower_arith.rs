//! Lowers `exp`, `div` and `sqrt`: exp → `exp_taylor`; `a / b` → `a · reciprocal(b)`
//! (or `a · (1/b)` with the reciprocal computed here when `b` is a public constant);
//! `sqrt(x)` → `x · rsqrt(x)` (SPU's recipe).
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"a","owner":1} : client<3,z64,f18> @ "a"
//! v1 = input {"encoding":"Fixed","name":"b","owner":1} : client<3,z64,f18> @ "b"
//! v2 = div v0, v1 : client<3,z64,f18> @ "div"
//! v3 = sqrt v2 : client<3,z64,f18> @ "sqrt"
//! v4 = exp v3 : client<3,z64,f18> @ "exp"
//! v5 = const {"values":[4.0]} : pub<,z64,f18> @ "four"
//! v6 = div v4, v5 : client<3,z64,f18> @ "quarter"
//! v7 = output {"name":"y","to":[1]} v6 : client<3,z64,f18> @ "y"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"a","owner":1} : client<3,z64,f18> @ "a"
//! v1 = input {"encoding":"Fixed","name":"b","owner":1} : client<3,z64,f18> @ "b"
//! v2 = reciprocal {"iters":3} v1 : client<3,z64,f18> @ "div"
//! v3 = mul v0, v2 : client<3,z64,f36> @ "div"
//! v4 = trunc {"bits":18} v3 : client<3,z64,f18> @ "div"
//! v5 = rsqrt {"iters":3} v4 : client<3,z64,f18> @ "sqrt"
//! v6 = mul v4, v5 : client<3,z64,f36> @ "sqrt"
//! v7 = trunc {"bits":18} v6 : client<3,z64,f18> @ "sqrt"
//! v8 = exp_taylor {"iters":10} v7 : client<3,z64,f18> @ "exp"
//! v9 = const {"values":[4.0]} : pub<,z64,f18> @ "four"
//! v10 = const {"values":[0.25]} : pub<,z64,f18> @ "quarter"
//! v11 = mul v8, v10 : client<3,z64,f36> @ "quarter"
//! v12 = trunc {"bits":18} v11 : client<3,z64,f18> @ "quarter"
//! v13 = output {"name":"y","to":[1]} v12 : client<3,z64,f18> @ "y"
//! ```
//!
//! Error (real arithmetic, `tests/bounds.rs`): div and sqrt are identities (the reciprocal
//! and rsqrt kernels' own errors come on top); they need `b > 0` and `x > 0`, the kernels'
//! domain. exp: `(1 + x/256)^256` has |err| ≤ 1.1e-3 on [-14, 0] (largest at x = -2),
//! relative error ≤ 0.8 % on [-2, 2] and ≤ 12 % on [-8, 4] (≈ x²/512); below -256 it is not an
//! approximation at all (softmax masks those inputs; a bare exp does not).
//!
//! Cost: exp: `iters` squarings (10 under `puma`; each a round of multiplication and
//! truncation) per element;
//! div: one reciprocal per element of `b`, one multiplication and truncation per output
//! element (a public divisor: a free public multiplication and a truncation); sqrt: one
//! rsqrt, one multiplication and one truncation per element.

use crate::recipes::{ExpRecipe, RecipeKind, ReciprocalRecipe, SqrtRecipe};
use crate::rewrite::{definitions, rebuild, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Op, ValueId};

/// Replaces each `exp`, `div` and `sqrt` by its recipe's kernels.
pub fn lower_arith(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let old = &*graph;
    let defs = definitions(old);
    let new = rebuild(old, |e, node| {
        let Some(kind) = RecipeKind::of(&node.op) else {
            return Ok(Rewrite::Keep);
        };
        let (x, ty) = (e.arg(0), old.ty(node.output));
        let y = match kind {
            RecipeKind::Exp => {
                let ExpRecipe::Taylor { iters } = ctx.recipes_for(old, node)?.exp;
                e.same(Op::ExpTaylor { iters }, x)
            }
            RecipeKind::Sqrt => {
                let SqrtRecipe::TimesRsqrt { iters } = ctx.recipes_for(old, node)?.sqrt;
                let rs = e.same(Op::Rsqrt { iters }, x);
                e.mul_trunc(x, rs)?
            }
            RecipeKind::Div => {
                let ReciprocalRecipe::Kernel { iters } = ctx.recipes_for(old, node)?.div;
                let divisor = defs[node.inputs[1].index()].map(|i| &old.nodes[i].op);
                let inv = if let Some(Op::Const { values }) = divisor {
                    public_reciprocal(e, values)?
                } else {
                    e.same(Op::Reciprocal { iters }, e.arg(1))
                };
                e.mul_trunc(x, inv)?
            }
            RecipeKind::Softmax
            | RecipeKind::Gelu
            | RecipeKind::Erf
            | RecipeKind::Tanh
            | RecipeKind::Sigmoid
            | RecipeKind::Silu
            | RecipeKind::RmsNorm => return Ok(Rewrite::Keep),
        };
        Ok(Rewrite::Replace(e.rescale(y, ty.scale)))
    })?;
    *graph = new;
    Ok(())
}

/// `1/c` of a public constant divisor (the operand `1`), as a constant of its type.
fn public_reciprocal(e: &mut Emitter<'_>, values: &[f64]) -> Result<ValueId, PassError> {
    if let Some(z) = values.iter().find(|v| **v == 0.0) {
        return Err(e.unsupported(format!("division by the constant {z}")));
    }
    let ty = e.ty(e.arg(1)).clone();
    let inv = values.iter().map(|v| 1.0 / v).collect();
    Ok(e.konst(inv, ty.shape, ty.scale, ty.ring))
}
