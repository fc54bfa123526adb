//! Ring conversions between Z_2^64 and Z_2^32 (Ditto's mixed rings, eprint 2020/338 §5.1 for
//! the lift): [`downcast`] (truncate, then drop the high 32 bits of every share) and
//! [`upcast`] (lift with a helper's correlated mask, then shift left), each with its cost
//! function beside it.
//!
//! Narrowing is a ring homomorphism, Z_2^64 → Z_2^32, so every party reduces its own shares
//! and the sharing stays consistent. Widening is not: the shares of x in Z_2^32 sum to x plus
//! a multiple of 2^32 that no party knows, which [`upcast_share`] computes obliviously.

use super::arith::recv_elems;
use super::elementwise;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::ring::{pack, to_signed};
use crate::share::{AShare, Val};
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// The offset 2^(k-2) (k = 32) that moves an operand of [`upcast_share`] into `[0, 2^31)`.
pub const UPCAST_OFFSET: u64 = 1 << 30;

/// `x / 2^shift` in Z_2^64, then the low 32 bits of each share: the value in Z_2^32 at scale
/// `s - shift`.
///
/// The division is the VM's `trunc` ([`elementwise::trunc`]: an arithmetic shift of a public
/// value; for a secret one [`super::arith::trunc1`], [`super::arith::trunc`] plus one unit,
/// so the result is floor(x/2^shift) or one more for |x| < 2^62). With `shift == 0` nothing is
/// truncated and no party communicates. The narrowing keeps the value when it fits Z_2^32,
/// |x/2^shift| < 2^31, and wraps it modulo 2^32 otherwise.
pub fn downcast(ctx: &mut Ctx, x: &Val, shift: u32) -> Result<Val, crate::error::KernelError> {
    let narrow = |v: &[u64]| v.iter().map(|e| e & Ring::Z32.mask()).collect();
    if shift == 0 {
        return Ok(x.map(narrow));
    }
    Ok(elementwise::trunc(ctx, x, shift, Ring::Z64)?.map(narrow))
}

/// Cost of [`downcast`] of `n` elements: the truncation's in Z_2^64
/// ([`super::arith::trunc_cost`]) for a secret operand and `shift > 0`, else nothing.
pub fn downcast_cost(n: usize, secret: bool, shift: u32) -> Cost {
    if shift == 0 {
        return Cost::ZERO;
    }
    elementwise::trunc_cost(n, secret, Ring::Z64)
}

/// `x` lifted from Z_2^32 into Z_2^64, times `2^shift`: a public value is sign-extended, a
/// secret one goes through [`upcast_share`] (same precondition, |x| < 2^30).
pub fn upcast(ctx: &mut Ctx, x: &Val, shift: u32) -> Result<Val, TransportError> {
    let wide = match x {
        Val::Pub(v) => Val::Pub(v.iter().map(|e| to_signed(*e, Ring::Z32) as u64).collect()),
        Val::Sec(s) => Val::Sec(upcast_share(ctx, s)?),
    };
    Ok(elementwise::shl(&wide, shift, Ring::Z64))
}

/// Cost of [`upcast`] of `n` elements: [`upcast_share_cost`] for a secret operand, else
/// nothing (the shift is local).
pub fn upcast_cost(n: usize, secret: bool) -> Cost {
    if secret {
        upcast_share_cost(n)
    } else {
        Cost::ZERO
    }
}

/// Lifts replicated shares of x in Z_2^32 to replicated shares of the same signed value in
/// Z_2^64. Two rounds; party 2 acts as the helper that deals the correlated mask and learns
/// nothing (it receives no message).
///
/// **Precondition:** `|x| < 2^30` (|x| < 2^(k-2), k = 32). Then `x' = x + 2^30`, as a
/// 32-bit word, lies in `[0, 2^31)`: its most significant bit is 0. (The ends are exact too:
/// x' = 0 at -2^30, and at 2^30, x' = 2^31, a wrap happens exactly when msb(r) = 1 and then
/// leaves msb(c) = 0, which the formula below reads correctly.)
///
/// The protocol, with 2-of-2 shares between parties 0 and 1 (party 0's part of x is
/// `x_0 + x_1`, party 1's `x_2`):
/// 1. *Mask.* Party 2 and party 0 draw R_0 ∈ Z_2^64 from their common PRG, party 2 and party
///    1 draw R_1; `R = R_0 + R_1` (known to party 2 only), `r = R mod 2^32`, `h = R >> 32`,
///    `b = msb(r)`. Party 2 and party 0 also draw `H_0`, `B_0` ∈ Z_2^32, and party 2 sends
///    party 1 `H_1 = h - H_0` and `B_1 = b - B_0` (mod 2^32): 2-of-2 shares of h and b, whose
///    multiples by 2^32 are then exact shares in Z_2^64.
/// 2. *Open* (round 1, with the mask message): party 0 sends `c_0 = x_0 + x_1 + 2^30 + R_0`,
///    party 1 sends `c_1 = x_2 + R_1` (mod 2^32) to each other, so both learn
///    `c = x' + r mod 2^32`, uniform to them since r is.
/// 3. *Wrap bit.* As integers `x' + r = c + w·2^32`, and with msb(x') = 0 the wrap is
///    exactly `w = b·(1 - msb(c))`: linear in b's shares since c is public to both.
/// 4. *Lift.* `x = c - r + w·2^32 - 2^30 = c - 2^30 - R + (h + (1 - msb(c))·b)·2^32` in
///    Z_2^64: party 0 takes the public part and `-R_0 + (H_0 + (1-msb(c))·B_0)·2^32`, party 1
///    `-R_1 + (H_1 + (1-msb(c))·B_1)·2^32`.
/// 5. *Reshare* (round 2): with y^0 + y^1 = x, the new components are `y_0 = s_0` (PRG of
///    parties 0, 2), `y_2 = s_2` (PRG of parties 1, 2) and `y_1 = (y^0 - s_0) + (y^1 - s_2)`:
///    parties 0 and 1 send each other their term.
///
/// Every message is masked by PRG output its receiver lacks: party 1 gets c_0, H_1, B_1 and
/// y^0 - s_0 (masked by R_0, H_0, B_0, s_0), party 0 gets c_1 and y^1 - s_2 (masked by R_1,
/// s_2), party 2 gets nothing. No party learns x.
///
/// Beyond the precondition (msb(x') = 1) the wrap bit may be wrong: the result is still
/// congruent to x modulo 2^32 but, with probability (|x| - 2^30)/2^31 over the mask (1/2 at
/// the ring's ends), it is x - 2^32 for x > 2^30 and x + 2^32 for x < -2^30.
///
/// **Cost:** 2 rounds. Round 1: parties 0 and 1 send 4 bytes per element, party 2 8 bytes;
/// round 2: parties 0 and 1 send 8 bytes, party 2 nothing. 32 bytes per element in all, the
/// 4k bits (k = 64) Ditto declares for its 3-round version.
pub fn upcast_share(ctx: &mut Ctx, x: &AShare) -> Result<AShare, TransportError> {
    let n = x.len();
    let (m32, m64) = (Ring::Z32.mask(), Ring::Z64.mask());
    // The 2-of-2 lift y^0 (party 0) or y^1 (party 1) from the opened c and this party's
    // shares of R, h and b.
    let lift = |c: &[u64], r: &[u64], h: &[u64], b: &[u64], public: bool| -> Vec<u64> {
        (0..n)
            .map(|i| {
                let not_msb = 1 - ((c[i] >> 31) & 1);
                let hb = h[i].wrapping_add(not_msb * b[i]) << 32;
                let base = if public {
                    c[i].wrapping_sub(UPCAST_OFFSET)
                } else {
                    0
                };
                base.wrapping_sub(r[i]).wrapping_add(hb)
            })
            .collect()
    };
    let sum = |p: &[u64], q: &[u64], m: u64| -> Vec<u64> {
        p.iter()
            .zip(q)
            .map(|(a, b)| a.wrapping_add(*b) & m)
            .collect()
    };
    let diff = |p: &[u64], q: &[u64]| -> Vec<u64> {
        p.iter().zip(q).map(|(a, b)| a.wrapping_sub(*b)).collect()
    };
    match ctx.id {
        0 => {
            let r0 = ctx.prss.own(n, m64);
            let (h0, b0) = (ctx.prss.own(n, m32), ctx.prss.own(n, m32));
            let c0: Vec<u64> = (0..n)
                .map(|i| {
                    x.a[i]
                        .wrapping_add(x.b[i])
                        .wrapping_add(UPCAST_OFFSET)
                        .wrapping_add(r0[i])
                        & m32
                })
                .collect();
            let (_, got) = ctx.exchange(Some(&pack(&c0, Ring::Z32)), None, false, true)?;
            let c = sum(&c0, &recv_elems(got, n, Ring::Z32, 1)?, m32);
            let y = lift(&c, &r0, &h0, &b0, true);
            let s0 = ctx.prss.own(n, m64);
            let e0 = diff(&y, &s0);
            let (_, got) = ctx.exchange(Some(&pack(&e0, Ring::Z64)), None, false, true)?;
            let y1 = sum(&e0, &recv_elems(got, n, Ring::Z64, 1)?, m64);
            Ok(AShare { a: s0, b: y1 })
        }
        1 => {
            let r1 = ctx.prss.next(n, m64);
            let c1: Vec<u64> = (0..n).map(|i| x.b[i].wrapping_add(r1[i]) & m32).collect();
            let (from0, from2) = ctx.exchange(None, Some(&pack(&c1, Ring::Z32)), true, true)?;
            let c = sum(&recv_elems(from0, n, Ring::Z32, 0)?, &c1, m32);
            let hb = recv_elems(from2, 2 * n, Ring::Z32, 2)?;
            let y = lift(&c, &r1, &hb[..n], &hb[n..], false);
            let s2 = ctx.prss.next(n, m64);
            let e1 = diff(&y, &s2);
            let (got, _) = ctx.exchange(None, Some(&pack(&e1, Ring::Z64)), true, false)?;
            let y1 = sum(&recv_elems(got, n, Ring::Z64, 0)?, &e1, m64);
            Ok(AShare { a: y1, b: s2 })
        }
        _ => {
            let r0 = ctx.prss.next(n, m64);
            let (h0, b0) = (ctx.prss.next(n, m32), ctx.prss.next(n, m32));
            let r1 = ctx.prss.own(n, m64);
            let mut corr = Vec::with_capacity(2 * n);
            let r = sum(&r0, &r1, m64);
            corr.extend((0..n).map(|i| (r[i] >> 32).wrapping_sub(h0[i]) & m32));
            corr.extend((0..n).map(|i| ((r[i] >> 31) & 1).wrapping_sub(b0[i]) & m32));
            ctx.exchange(None, Some(&pack(&corr, Ring::Z32)), false, false)?;
            let s0 = ctx.prss.next(n, m64);
            let s2 = ctx.prss.own(n, m64);
            ctx.exchange(None, None, false, false)?;
            Ok(AShare { a: s2, b: s0 })
        }
    }
}

/// Cost of [`upcast_share`] of `n` elements.
pub fn upcast_share_cost(n: usize) -> Cost {
    let (small, big) = (n as u64 * Ring::Z32.bytes(), n as u64 * Ring::Z64.bytes());
    Cost::round([small, small, 2 * small]).then(Cost::round([big, big, 0]))
}
