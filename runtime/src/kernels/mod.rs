//! Protocol kernels and their costs, dispatched by op. Local ops live here; protocols in
//! [`arith`], [`boolean`] and [`nonlinear`].

pub mod approx;
pub mod arith;
pub mod bitdec;
pub mod bits;
pub mod boolean;
pub mod carry;
pub mod compare;
pub mod inject;
pub mod invert;
pub mod nonlinear;
pub mod poly;
pub mod shape;

use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::ring::{encode, to_signed};
use crate::share::{AShare, Val};
use crate::RtError;
use mpcc_ir::{broadcast_shapes, Graph, Node, Op, Ring, ValueType};
use std::borrow::Cow;

/// Operand views for one instruction.
pub struct Args<'a> {
    /// Operand values.
    pub vals: Vec<&'a Val>,
    /// Operand types.
    pub tys: Vec<&'a ValueType>,
    /// Output type.
    pub out: &'a ValueType,
    /// For each operand, the share component known to be zero (see [`zero_components`]).
    pub zero: Vec<Option<u8>>,
}

/// For each value of `graph`, the index z of a share component x_z that is statically zero.
///
/// Input sharing by owner o leaves `x_{o+2} = 0`; element-moving ops, negation and products
/// with public values keep it; adding a public value keeps it unless z = 0 (public values are
/// added to x_0). A secret product of a value with a zero component needs one local product
/// per party instead of two (see [`arith::matmul_local_zero`]).
pub fn zero_components(graph: &Graph) -> Vec<Option<u8>> {
    let mut z: Vec<Option<u8>> = vec![None; graph.values.len()];
    for node in &graph.nodes {
        let secret = |v: &mpcc_ir::ValueId| graph.ty(*v).vis.is_secret();
        let first_secret = node
            .inputs
            .iter()
            .find(|v| secret(v))
            .map(|v| z[v.index()])
            .flatten();
        let all_secret_same = || {
            let zs: Vec<Option<u8>> = node
                .inputs
                .iter()
                .filter(|v| secret(v))
                .map(|v| z[v.index()])
                .collect();
            if zs.len() == 1 || zs.windows(2).all(|w| w[0] == w[1]) {
                zs.first().copied().flatten()
            } else {
                None
            }
        };
        let has_public = node.inputs.iter().any(|v| !secret(v));
        z[node.output.index()] = match &node.op {
            Op::Input { owner, .. } => Some((owner + 2) % 3),
            Op::Weight { .. } => Some((mpcc_ir::MODEL_OWNER + 2) % 3),
            Op::Reshape
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Gather { .. }
            | Op::Broadcast
            | Op::ReduceSum { .. }
            | Op::Neg
            | Op::Shl { .. } => first_secret,
            Op::Mul | Op::Select | Op::MatMul if has_public => first_secret,
            Op::Add | Op::Sub if has_public => first_secret.filter(|&c| c != 0),
            Op::Add | Op::Sub => all_secret_same(),
            Op::Concat { .. } if !has_public => all_secret_same(),
            _ => None,
        };
    }
    z
}

fn matmul_dims(a: &[usize], b: &[usize]) -> (Vec<usize>, usize, usize, usize) {
    let batch = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2]).unwrap_or_default();
    (batch, a[a.len() - 2], a[a.len() - 1], b[b.len() - 1])
}

/// Broadcasts the batch dims of a matmul operand to `batch`, returning the flat buffer.
fn matmul_operand(x: &[u64], shape: &[usize], batch: &[usize]) -> Vec<u64> {
    let mut to = batch.to_vec();
    to.extend_from_slice(&shape[shape.len() - 2..]);
    shape::broadcast(x, shape, &to)
}

fn batched(
    a: &[u64],
    b: &[u64],
    nb: usize,
    m: usize,
    k: usize,
    n: usize,
    f: impl Fn(&[u64], &[u64]) -> Vec<u64>,
) -> Vec<u64> {
    let mut out = Vec::with_capacity(nb * m * n);
    for i in 0..nb {
        out.extend(f(
            &a[i * m * k..(i + 1) * m * k],
            &b[i * k * n..(i + 1) * k * n],
        ));
    }
    out
}

fn plain_mm(a: &[u64], b: &[u64], m: usize, k: usize, n: usize) -> Vec<u64> {
    let mut out = vec![0; m * n];
    arith::matmul_acc(a, b, m, k, n, &mut out);
    out
}

fn masked(mut v: Vec<u64>, ring: Ring) -> Vec<u64> {
    let m = ring.mask();
    v.iter_mut().for_each(|x| *x &= m);
    v
}

/// Runs a local (communication-free) or arithmetic instruction; delegates protocol ops.
/// `Input`, `Weight` and `Output` are handled by the VM, which owns the data sources.
pub fn exec<'a>(
    ctx: &mut Ctx,
    graph: &Graph,
    node: &Node,
    args: &Args<'a>,
) -> Result<Val, RtError> {
    let out = args.out;
    let ring = out.ring;
    let m = ring.mask();
    // Operand i at the output shape, copied only when it really broadcasts.
    let bc = |i: usize| -> Cow<'a, Val> {
        let from = &args.tys[i].shape;
        if *from == out.shape {
            Cow::Borrowed(args.vals[i])
        } else {
            Cow::Owned(args.vals[i].map(|x| shape::broadcast(x, from, &out.shape)))
        }
    };
    Ok(match &node.op {
        Op::Const { values } => {
            Val::Pub(values.iter().map(|v| encode(*v, out.scale, ring)).collect())
        }
        Op::Add | Op::Sub => {
            let sub = matches!(node.op, Op::Sub);
            let f = |p: u64, q: u64| {
                if sub {
                    p.wrapping_sub(q) & m
                } else {
                    p.wrapping_add(q) & m
                }
            };
            let (x, y) = (bc(0), bc(1));
            match (x.as_ref(), y.as_ref()) {
                (Val::Pub(a), Val::Pub(b)) => {
                    Val::Pub(a.iter().zip(b).map(|(p, q)| f(*p, *q)).collect())
                }
                (Val::Sec(a), Val::Pub(b)) if sub => {
                    let nb: Vec<u64> = b.iter().map(|v| v.wrapping_neg() & m).collect();
                    Val::Sec(arith::add_public(ctx.id, a, &nb, ring))
                }
                (Val::Sec(a), Val::Pub(b)) => Val::Sec(arith::add_public(ctx.id, a, b, ring)),
                (Val::Pub(a), Val::Sec(b)) if sub => {
                    let nb = arith::local(b, |v| v.wrapping_neg() & m);
                    Val::Sec(arith::add_public(ctx.id, &nb, a, ring))
                }
                (Val::Pub(a), Val::Sec(b)) => Val::Sec(arith::add_public(ctx.id, b, a, ring)),
                (Val::Sec(a), Val::Sec(b)) => Val::Sec(arith::local2(a, b, f)),
            }
        }
        Op::Neg => args.vals[0].map(|x| x.iter().map(|v| v.wrapping_neg() & m).collect()),
        Op::Shl { bits } => args.vals[0].map(|x| x.iter().map(|v| (v << bits) & m).collect()),
        Op::Mul | Op::Select => {
            let (x, y) = (bc(0), bc(1));
            match (x.as_ref(), y.as_ref()) {
                (Val::Pub(a), Val::Pub(b)) => Val::Pub(
                    a.iter()
                        .zip(b)
                        .map(|(p, q)| p.wrapping_mul(*q) & m)
                        .collect(),
                ),
                (Val::Sec(a), Val::Pub(b)) | (Val::Pub(b), Val::Sec(a)) => {
                    Val::Sec(arith::mul_public(a, b, ring))
                }
                (Val::Sec(a), Val::Sec(b)) => Val::Sec(arith::mul(ctx, a, b, ring)?),
            }
        }
        Op::MatMul => {
            let (sa, sb) = (&args.tys[0].shape, &args.tys[1].shape);
            let (batch, mm, k, n) = matmul_dims(sa, sb);
            let nb: usize = batch.iter().product();
            // Broadcast batch dims only where they differ (no copy otherwise).
            let opd = |v: &'a Val, s: &[usize]| -> Cow<'a, Val> {
                if s[..s.len() - 2] == batch[..] {
                    Cow::Borrowed(v)
                } else {
                    Cow::Owned(v.map(|x| matmul_operand(x, s, &batch)))
                }
            };
            let (va, vb) = (opd(args.vals[0], sa), opd(args.vals[1], sb));
            match (va.as_ref(), vb.as_ref()) {
                (Val::Pub(a), Val::Pub(b)) => Val::Pub(masked(
                    batched(&a, &b, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
                    ring,
                )),
                (Val::Sec(a), Val::Pub(b)) => Val::Sec(AShare {
                    a: masked(
                        batched(&a.a, &b, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
                        ring,
                    ),
                    b: masked(
                        batched(&a.b, &b, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
                        ring,
                    ),
                }),
                (Val::Pub(a), Val::Sec(b)) => Val::Sec(AShare {
                    a: masked(
                        batched(&a, &b.a, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
                        ring,
                    ),
                    b: masked(
                        batched(&a, &b.b, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
                        ring,
                    ),
                }),
                (Val::Sec(a), Val::Sec(b)) => {
                    let mut z = Vec::with_capacity(nb * mm * n);
                    for i in 0..nb {
                        let sa = a.slice(i * mm * k..(i + 1) * mm * k);
                        let sb = b.slice(i * k * n..(i + 1) * k * n);
                        z.extend(match (args.zero[1], args.zero[0]) {
                            (Some(c), _) => {
                                arith::matmul_local_zero(ctx.id, sa, sb, c, false, mm, k, n)
                            }
                            (None, Some(c)) => {
                                arith::matmul_local_zero(ctx.id, sa, sb, c, true, mm, k, n)
                            }
                            (None, None) => arith::matmul_local_cross(sa, sb, mm, k, n),
                        });
                    }
                    Val::Sec(arith::reshare(ctx, masked(z, ring), ring)?)
                }
            }
        }
        Op::Trunc { bits } => match args.vals[0] {
            Val::Pub(x) => Val::Pub(
                x.iter()
                    .map(|v| ((to_signed(*v, ring) >> bits) as u64) & m)
                    .collect(),
            ),
            // floor(x/2^d) or one less, plus one: unbiased, |error| < 1 unit.
            Val::Sec(x) => Val::Sec(poly::trunc1(ctx, x, *bits, ring)?),
        },
        Op::Reshape => args.vals[0].clone(),
        Op::Transpose { perm } => {
            args.vals[0].map(|x| shape::transpose(x, &args.tys[0].shape, perm))
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => args.vals[0].map(|x| shape::slice(x, &args.tys[0].shape, *axis, *start, *end, *step)),
        Op::Gather { axis, indices } => {
            args.vals[0].map(|x| shape::gather(x, &args.tys[0].shape, *axis, indices))
        }
        Op::Broadcast => bc(0).into_owned(),
        Op::Pad { pads } => args.vals[0].map(|x| shape::pad(x, &args.tys[0].shape, pads)),
        Op::ReduceSum { axes } => {
            args.vals[0].map(|x| shape::reduce_sum(x, &args.tys[0].shape, axes, m))
        }
        Op::Concat { axis } => {
            let secret = args.vals.iter().any(|v| matches!(v, Val::Sec(_)));
            let comps = |pick: usize| -> Vec<Vec<u64>> {
                args.vals
                    .iter()
                    .map(|v| match v {
                        Val::Pub(x) if secret => {
                            arith::public_as_share(ctx.id, x).clone_component(pick)
                        }
                        Val::Pub(x) => x.clone(),
                        Val::Sec(s) => s.clone_component(pick),
                    })
                    .collect()
            };
            let cat = |parts: Vec<Vec<u64>>| {
                let views: Vec<(&[u64], &[usize])> = parts
                    .iter()
                    .zip(&args.tys)
                    .map(|(p, t)| (p.as_slice(), t.shape.as_slice()))
                    .collect();
                shape::concat(&views, *axis)
            };
            if secret {
                Val::Sec(AShare {
                    a: cat(comps(0)),
                    b: cat(comps(1)),
                })
            } else {
                Val::Pub(cat(comps(0)))
            }
        }
        _ => nonlinear::exec(ctx, graph, node, args)?,
    })
}

impl AShare {
    fn clone_component(&self, pick: usize) -> Vec<u64> {
        if pick == 0 {
            self.a.clone()
        } else {
            self.b.clone()
        }
    }
}

/// The cost of `node`, from the kernels' definitions.
pub fn cost(graph: &Graph, node: &Node) -> Cost {
    let out = graph.ty(node.output);
    let n = out.len();
    let ring = out.ring;
    let secret = |i: usize| graph.ty(node.inputs[i]).vis.is_secret();
    match &node.op {
        Op::Input { owner, .. } => arith::share_input_cost(*owner, n, ring),
        Op::Weight { .. } if out.vis.is_secret() => {
            arith::share_input_cost(mpcc_ir::MODEL_OWNER, n, ring)
        }
        Op::Output { to, .. } if secret(0) => arith::reveal_cost(to, n, ring),
        Op::Mul | Op::Select if secret(0) && secret(1) => arith::mul_cost(n, ring),
        Op::Mul | Op::Select => Cost {
            macs: n as u64,
            ..Cost::ZERO
        },
        Op::MatMul => {
            let (_, _, k, _) = matmul_dims(
                &graph.ty(node.inputs[0]).shape,
                &graph.ty(node.inputs[1]).shape,
            );
            let macs = (n * k) as u64;
            if secret(0) && secret(1) {
                arith::matmul_ss_cost(n, macs, ring)
            } else if secret(0) || secret(1) {
                Cost {
                    macs: 2 * macs,
                    ..Cost::ZERO
                }
            } else {
                Cost { macs, ..Cost::ZERO }
            }
        }
        Op::Trunc { .. } if secret(0) => arith::trunc_cost(n, ring),
        op if !op.is_kernel() => Cost::ZERO,
        Op::Ge { .. }
        | Op::Relu
        | Op::MaxAxis { .. }
        | Op::ExpTaylor { .. }
        | Op::Reciprocal { .. }
        | Op::Rsqrt { .. }
        | Op::Poly { .. }
        | Op::PiecewisePoly { .. } => nonlinear::cost(graph, node),
        _ => Cost::ZERO,
    }
}
