//! Batched matrix products `[.., m, k] x [.., k, n]` on VM values, public or secret, batch
//! dims broadcast, with their cost. A secret × secret product is local cross terms and one
//! [`arith::reshare`]; an operand with a statically zero share component needs one local
//! product per party instead of two ([`arith::matmul_local_zero`]).

use super::{arith, shape};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::{AShare, Val};
use crate::transport::TransportError;
use mpcc_ir::{broadcast_shapes, Ring};
use std::borrow::Cow;

/// `(batch, m, k, n)` of a product of operands of shapes `a` and `b`.
pub(crate) fn matmul_dims(a: &[usize], b: &[usize]) -> (Vec<usize>, usize, usize, usize) {
    let batch = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2]).unwrap_or_default();
    (batch, a[a.len() - 2], a[a.len() - 1], b[b.len() - 1])
}

/// Broadcasts the batch dims of a matmul operand to `batch`, returning the flat buffer.
pub(crate) fn matmul_operand(x: &[u64], shape: &[usize], batch: &[usize]) -> Vec<u64> {
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

/// The product of public `a` (shape `sa`) and `b` (shape `sb`), wrapping in the ring: what
/// [`matmul`] computes for two public operands, and the reconstructed value of its result
/// for secret ones.
pub fn plain(a: &[u64], b: &[u64], sa: &[usize], sb: &[usize], ring: Ring) -> Vec<u64> {
    let (batch, m, k, n) = matmul_dims(sa, sb);
    let nb: usize = batch.iter().product();
    let (a, b) = (matmul_operand(a, sa, &batch), matmul_operand(b, sb, &batch));
    masked(
        batched(&a, &b, nb, m, k, n, |x, y| plain_mm(x, y, m, k, n)),
        ring,
    )
}

/// The product of `a` (shape `sa`) and `b` (shape `sb`). `zero` holds, for each operand, the
/// index of a share component known to be zero (see `ops::zero_components`).
pub fn matmul<'v>(
    ctx: &mut Ctx,
    a: &'v Val,
    b: &'v Val,
    sa: &[usize],
    sb: &[usize],
    zero: [Option<u8>; 2],
    ring: Ring,
) -> Result<Val, TransportError> {
    let (batch, mm, k, n) = matmul_dims(sa, sb);
    let nb: usize = batch.iter().product();
    // Broadcast batch dims only where they differ (no copy otherwise).
    let opd = |v: &'v Val, s: &[usize]| -> Cow<'v, Val> {
        if s[..s.len() - 2] == batch[..] {
            Cow::Borrowed(v)
        } else {
            Cow::Owned(v.map(|x| matmul_operand(x, s, &batch)))
        }
    };
    let (va, vb) = (opd(a, sa), opd(b, sb));
    let mm_of = |x: &[u64], y: &[u64]| {
        masked(
            batched(x, y, nb, mm, k, n, |x, y| plain_mm(x, y, mm, k, n)),
            ring,
        )
    };
    Ok(match (va.as_ref(), vb.as_ref()) {
        (Val::Pub(a), Val::Pub(b)) => Val::Pub(mm_of(a, b)),
        (Val::Sec(a), Val::Pub(b)) => Val::Sec(AShare {
            a: mm_of(&a.a, b),
            b: mm_of(&a.b, b),
        }),
        (Val::Pub(a), Val::Sec(b)) => Val::Sec(AShare {
            a: mm_of(a, &b.a),
            b: mm_of(a, &b.b),
        }),
        (Val::Sec(a), Val::Sec(b)) => {
            let mut z = Vec::with_capacity(nb * mm * n);
            for i in 0..nb {
                let sa = a.slice(i * mm * k..(i + 1) * mm * k);
                let sb = b.slice(i * k * n..(i + 1) * k * n);
                z.extend(match (zero[1], zero[0]) {
                    (Some(c), _) => arith::matmul_local_zero(ctx.id, sa, sb, c, false, mm, k, n),
                    (None, Some(c)) => arith::matmul_local_zero(ctx.id, sa, sb, c, true, mm, k, n),
                    (None, None) => arith::matmul_local_cross(sa, sb, mm, k, n),
                });
            }
            Val::Sec(arith::reshare(ctx, masked(z, ring), ring)?)
        }
    })
}

/// Cost of [`matmul`] with `out` output elements: [`arith::matmul_ss_cost`] for two secret
/// operands, else local products only (two per multiply-add with one secret operand).
pub fn matmul_cost(sa: &[usize], sb: &[usize], out: usize, secret: [bool; 2], ring: Ring) -> Cost {
    let (_, _, k, _) = matmul_dims(sa, sb);
    let macs = (out * k) as u64;
    match secret {
        [true, true] => arith::matmul_ss_cost(out, macs, ring),
        [true, false] | [false, true] => Cost {
            macs: 2 * macs,
            ..Cost::ZERO
        },
        [false, false] => Cost { macs, ..Cost::ZERO },
    }
}
