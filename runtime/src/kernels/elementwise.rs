//! Elementwise kernels on VM values, public or secret, with operands already at the output
//! shape: `add`/`sub`, `neg`, `shl`, products (`mul`, `select`) and truncation, each with its
//! cost beside it. Public operands are computed in the clear; linear ops are local.

use super::{arith, common};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::KernelError;
use crate::ring::to_signed;
use crate::share::Val;
use crate::transport::TransportError;
use mpcc_ir::{PartyId, Ring};

/// `x + y`, or `x - y` with `sub` (local; a public term is added to `x_0`).
pub fn add_sub(id: PartyId, x: &Val, y: &Val, sub: bool, ring: Ring) -> Val {
    let m = ring.mask();
    let f = |p: u64, q: u64| {
        if sub {
            p.wrapping_sub(q) & m
        } else {
            p.wrapping_add(q) & m
        }
    };
    match (x, y) {
        (Val::Pub(a), Val::Pub(b)) => Val::Pub(a.iter().zip(b).map(|(p, q)| f(*p, *q)).collect()),
        (Val::Sec(a), Val::Pub(b)) if sub => {
            let nb: Vec<u64> = b.iter().map(|v| v.wrapping_neg() & m).collect();
            Val::Sec(common::add_public(id, a, &nb, ring))
        }
        (Val::Sec(a), Val::Pub(b)) => Val::Sec(common::add_public(id, a, b, ring)),
        (Val::Pub(a), Val::Sec(b)) if sub => {
            let nb = common::local(b, |v| v.wrapping_neg() & m);
            Val::Sec(common::add_public(id, &nb, a, ring))
        }
        (Val::Pub(a), Val::Sec(b)) => Val::Sec(common::add_public(id, b, a, ring)),
        (Val::Sec(a), Val::Sec(b)) => Val::Sec(common::local2(a, b, f)),
    }
}

/// `-x` (local).
pub fn neg(x: &Val, ring: Ring) -> Val {
    let m = ring.mask();
    x.map(|x| x.iter().map(|v| v.wrapping_neg() & m).collect())
}

/// `x * 2^bits` (local).
pub fn shl(x: &Val, bits: u32, ring: Ring) -> Val {
    let m = ring.mask();
    x.map(|x| x.iter().map(|v| (v << bits) & m).collect())
}

/// Elementwise `x * y`: local unless both are secret, then [`arith::mul`].
pub fn mul(ctx: &mut Ctx, x: &Val, y: &Val, ring: Ring) -> Result<Val, TransportError> {
    let m = ring.mask();
    Ok(match (x, y) {
        (Val::Pub(a), Val::Pub(b)) => Val::Pub(
            a.iter()
                .zip(b)
                .map(|(p, q)| p.wrapping_mul(*q) & m)
                .collect(),
        ),
        (Val::Sec(a), Val::Pub(b)) | (Val::Pub(b), Val::Sec(a)) => {
            Val::Sec(common::mul_public(a, b, ring))
        }
        (Val::Sec(a), Val::Sec(b)) => Val::Sec(arith::mul(ctx, a, b, ring)?),
    })
}

/// Cost of [`mul`] over `n` elements: [`arith::mul_cost`] when both operands are secret,
/// else `n` local products.
pub fn mul_cost(n: usize, both_secret: bool, ring: Ring) -> Cost {
    if both_secret {
        arith::mul_cost(n, ring)
    } else {
        Cost {
            macs: n as u64,
            ..Cost::ZERO
        }
    }
}

/// Division by `2^bits`: an arithmetic shift of a public value (any shift below k); for a
/// secret one, [`arith::trunc1`] (floor(x/2^d) or one more: unbiased, |error| < 1 unit),
/// which refuses a shift outside `1..=k-2` ([`arith::check_shift`]).
pub fn trunc(ctx: &mut Ctx, x: &Val, bits: u32, ring: Ring) -> Result<Val, KernelError> {
    let m = ring.mask();
    Ok(match x {
        Val::Pub(_) if bits >= ring.bits() => {
            return Err(KernelError::TruncShift {
                bits,
                ring_bits: ring.bits(),
            })
        }
        Val::Pub(x) => Val::Pub(
            x.iter()
                .map(|v| ((to_signed(*v, ring) >> bits) as u64) & m)
                .collect(),
        ),
        Val::Sec(x) => Val::Sec(arith::trunc1(ctx, x, bits, ring)?),
    })
}

/// Cost of [`trunc`] over `n` elements: [`arith::trunc_cost`] for a secret operand.
pub fn trunc_cost(n: usize, secret: bool, ring: Ring) -> Cost {
    if secret {
        arith::trunc_cost(n, ring)
    } else {
        Cost::ZERO
    }
}
