//! Removes and merges truncations where the result is bit-for-bit the same in the ring:
//!
//! 1. `trunc{0}(x)` → `x`.
//! 2. `trunc{a}(trunc{b}(x))` → `trunc{a+b}(x)` when the inner truncation has no other use:
//!    `⌊⌊x/2^b⌋/2^a⌋ = ⌊x/2^(a+b)⌋`, one truncation protocol instead of two.
//! 3. `trunc{k}(mul(x, c))` with `c` a public constant at scale `s` whose values are exact at
//!    a lower scale `s - d` (`d ≤ k`): re-encode `c` at `s - d` and truncate by `k - d`
//!    (`⌊x·C/2^k⌋ = ⌊x·(C/2^d)/2^(k-d)⌋` since `2^d` divides `C`). When `d = k`, e.g. an
//!    integer `c` at scale `k`, the truncation disappears; otherwise it drops fewer bits from
//!    a smaller product (more headroom in the ring).
//! 4. `trunc{k}(const c)` at scale `s` → `const c` at scale `s - k` when `c` is exact there
//!    (a truncation of a public value that changes nothing).
//!
//! It leaves alone truncations of secrets that round (a sum of truncations is not the
//! truncation of a sum), and shared inner truncations. Rules repeat until nothing changes;
//! dead nodes are removed after each sweep.
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<4,z64,f18> @ "x"
//! v1 = const {"values":[3.0]} : pub<,z64,f18> @ "three"
//! v2 = mul v0, v1 : client<4,z64,f36> @ "scale"
//! v3 = trunc {"bits":18} v2 : client<4,z64,f18> @ "scale"
//! v4 = mul v3, v3 : client<4,z64,f36> @ "sq"
//! v5 = trunc {"bits":10} v4 : client<4,z64,f26> @ "sq"
//! v6 = trunc {"bits":8} v5 : client<4,z64,f18> @ "sq"
//! v7 = trunc {"bits":0} v6 : client<4,z64,f18> @ "noop"
//! v8 = output {"name":"y","to":[1]} v7 : client<4,z64,f18> @ "y"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<4,z64,f18> @ "x"
//! v1 = const {"values":[3.0]} : pub<,z64,f0> @ "scale"
//! v2 = mul v0, v1 : client<4,z64,f18> @ "scale"
//! v3 = mul v2, v2 : client<4,z64,f36> @ "sq"
//! v4 = trunc {"bits":18} v3 : client<4,z64,f18> @ "sq"
//! v5 = output {"name":"y","to":[1]} v4 : client<4,z64,f18> @ "y"
//! ```
//!
//! Error: none; the ring results are identical (the reals too). Cost: each removed
//! truncation of a secret saves one truncation protocol per element.

use crate::dead_code::dead_code;
use crate::rewrite::{definitions, rebuild, use_counts, Emitter, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Node, Op};

/// Applies the rules above until the graph stops changing.
pub fn fuse_trunc(ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    // Each change removes a truncation or lowers a scale, so this ends; the cap is a guard.
    for _ in 0..=graph.nodes.len() {
        let mut changed = false;
        let old = &*graph;
        let (uses, defs) = (use_counts(old), definitions(old));
        let new = rebuild(old, |e, node| {
            let sweep = Sweep {
                old,
                uses: &uses,
                defs: &defs,
            };
            let r = sweep.fuse(e, node)?;
            changed |= r != Rewrite::Keep;
            Ok(r)
        })?;
        *graph = new;
        dead_code(ctx, graph)?;
        if !changed {
            break;
        }
    }
    Ok(())
}

/// The graph being swept, with its use counts and definitions.
struct Sweep<'g> {
    old: &'g Graph,
    uses: &'g [usize],
    defs: &'g [Option<usize>],
}

impl Sweep<'_> {
    fn def(&self, v: mpcc_ir::ValueId) -> Option<&Node> {
        self.defs[v.index()].map(|i| &self.old.nodes[i])
    }

    fn fuse(&self, e: &mut Emitter<'_>, node: &Node) -> Result<Rewrite, PassError> {
        let Op::Trunc { bits } = node.op else {
            return Ok(Rewrite::Keep);
        };
        let src = node.inputs[0];
        let out = self.old.ty(node.output);
        if bits == 0 && self.old.ty(src) == out {
            return Ok(Rewrite::Replace(e.arg(0)));
        }
        let Some(def) = self.def(src) else {
            return Ok(Rewrite::Keep);
        };
        if let Op::Trunc { bits: inner } = def.op {
            if self.uses[src.index()] != 1 {
                return Ok(Rewrite::Keep);
            }
            let x = mapped(e, def, 0)?;
            let t = e.emit(Op::Trunc { bits: bits + inner }, &[x], out.clone());
            return Ok(Rewrite::Replace(t));
        }
        if let Op::Const { values } = &def.op {
            let scale = self.old.ty(src).scale;
            if exact_scale(values, scale) > scale - bits {
                return Ok(Rewrite::Keep);
            }
            let c = Op::Const {
                values: values.clone(),
            };
            return Ok(Rewrite::Replace(e.emit(c, &[], out.clone())));
        }
        if matches!(def.op, Op::Mul) {
            return self.const_mul(e, def, bits);
        }
        Ok(Rewrite::Keep)
    }

    /// Rule 3 on `trunc{bits}(mul)`, when one factor of the multiply is a public constant.
    fn const_mul(&self, e: &mut Emitter<'_>, mul: &Node, bits: u32) -> Result<Rewrite, PassError> {
        for (k, &c) in mul.inputs.iter().enumerate() {
            let Some(Op::Const { values }) = self.def(c).map(|n| &n.op) else {
                continue;
            };
            let mut cty = self.old.ty(c).clone();
            let d = (cty.scale - exact_scale(values, cty.scale)).min(bits);
            if d == 0 {
                continue;
            }
            cty.scale -= d;
            let c2 = e.emit(
                Op::Const {
                    values: values.clone(),
                },
                &[],
                cty,
            );
            let x = mapped(e, mul, 1 - k)?;
            let ops = if k == 0 { [c2, x] } else { [x, c2] };
            let mut pty = self.old.ty(mul.output).clone();
            pty.scale -= d;
            let p = e.emit(Op::Mul, &ops, pty);
            let t = e.trunc(p, bits - d);
            return Ok(Rewrite::Replace(t));
        }
        Ok(Rewrite::Keep)
    }
}

/// The new-graph value of `node`'s operand `i`.
fn mapped(e: &Emitter<'_>, node: &Node, i: usize) -> Result<mpcc_ir::ValueId, PassError> {
    let v = node.inputs[i];
    e.mapped(v).ok_or_else(|| PassError::Rewrite {
        op: node.op.name(),
        origin: node.origin.clone(),
        message: format!("operand {v} has no counterpart"),
    })
}

/// The smallest scale `j ≤ max` at which every value is an exact fixed-point number
/// (`max` when there is none).
pub fn exact_scale(values: &[f64], max: u32) -> u32 {
    let exact = |j: u32| {
        values.iter().all(|v| {
            let s = v * 2f64.powi(j as i32);
            s.is_finite() && s.fract() == 0.0 && s.abs() < 2f64.powi(53)
        })
    };
    (0..max).find(|&j| exact(j)).unwrap_or(max)
}
