//! Full bit decomposition (arithmetic to binary shares of all k bits) by a Kogge–Stone
//! adder, and the prefix-OR of a bit string from its most significant bit downwards.
//!
//! [`super::boolean::msb_weights`] does not need them (a batch of comparisons gives the
//! prefix-OR of the bits in half the rounds); they are the general-purpose building blocks.

use super::bits::{
    and_many, bmap, bxor_public, bytes_of, draw, low_mask, reader, BitWriter, Counts, Roles, Stream,
};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::{AShare, BShare};
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// Binary sharing of `y = x_0 + x_1` (role 0 sends `y ^ mask` to role 1) and of
/// `z = x_2` (free). One round, k bits per element from role 0.
fn share_parts(
    ctx: &mut Ctx,
    x: &AShare,
    roles: &Roles,
    ring: Ring,
) -> Result<(BShare, BShare), TransportError> {
    let (n, k, m) = (x.len(), ring.bits(), ring.mask());
    let zero = || BShare {
        a: vec![0; n],
        b: vec![0; n],
    };
    let (mut y, mut z) = (zero(), zero());
    let mut w = BitWriter::new();
    for r in 0..3 {
        let cnt = roles.count(r);
        match Roles::rel(ctx.id, r) {
            0 => {
                let mv = draw(ctx, Stream::Own, cnt, k);
                for (q, e) in roles.range(r).enumerate() {
                    let v = x.a[e].wrapping_add(x.b[e]) & m;
                    w.push(v ^ mv[q], k);
                    (y.a[e], y.b[e]) = (mv[q], v ^ mv[q]);
                }
            }
            1 => roles.range(r).for_each(|e| z.b[e] = x.b[e]),
            _ => {
                let mv = draw(ctx, Stream::Next, cnt, k);
                for (q, e) in roles.range(r).enumerate() {
                    (y.b[e], z.a[e]) = (mv[q], x.a[e]);
                }
            }
        }
    }
    let (from_prev, _) = ctx.exchange(Some(&w.finish()), None, true, false)?;
    let r1 = Roles::block(ctx.id, 1);
    let mut rd = reader(
        &from_prev,
        (roles.count(r1) * k as usize) as u64,
        ctx.prev(),
    )?;
    roles.range(r1).for_each(|e| y.a[e] = rd.pull(k));
    Ok((y, z))
}

/// `g = y & z` on the low `nbits` bits: roles 1 and 2 each hold one XOR share of y and all
/// of z, so they form XOR shares of g locally and exchange them masked with the PRGs they
/// share with role 0. One round, `nbits` bits per element from roles 1 and 2.
fn generate(
    ctx: &mut Ctx,
    y: &BShare,
    z: &BShare,
    roles: &Roles,
    nbits: u32,
) -> Result<BShare, TransportError> {
    let n = y.a.len();
    let mut g = BShare {
        a: vec![0; n],
        b: vec![0; n],
    };
    let (mut to_next, mut to_prev) = (BitWriter::new(), BitWriter::new());
    let m = low_mask(nbits);
    for r in 0..3 {
        let cnt = roles.count(r);
        match Roles::rel(ctx.id, r) {
            0 => {
                let (rr, ss) = (
                    draw(ctx, Stream::Own, cnt, nbits),
                    draw(ctx, Stream::Next, cnt, nbits),
                );
                for (q, e) in roles.range(r).enumerate() {
                    (g.a[e], g.b[e]) = (rr[q], ss[q]);
                }
            }
            1 => {
                let ss = draw(ctx, Stream::Own, cnt, nbits);
                for (q, e) in roles.range(r).enumerate() {
                    let t = (y.a[e] & z.b[e] & m) ^ ss[q];
                    to_next.push(t, nbits);
                    (g.a[e], g.b[e]) = (ss[q], t);
                }
            }
            _ => {
                let rr = draw(ctx, Stream::Next, cnt, nbits);
                for (q, e) in roles.range(r).enumerate() {
                    let t = (y.b[e] & z.a[e] & m) ^ rr[q];
                    to_prev.push(t, nbits);
                    (g.a[e], g.b[e]) = (t, rr[q]);
                }
            }
        }
    }
    let (from_prev, from_next) =
        ctx.exchange(Some(&to_next.finish()), Some(&to_prev.finish()), true, true)?;
    let (r1, r2) = (Roles::block(ctx.id, 1), Roles::block(ctx.id, 2));
    let bits = |r: usize| (roles.count(r) * nbits as usize) as u64;
    let mut rn = reader(&from_next, bits(r1), ctx.next())?;
    roles.range(r1).for_each(|e| g.b[e] ^= rn.pull(nbits));
    let mut rp = reader(&from_prev, bits(r2), ctx.prev())?;
    roles.range(r2).for_each(|e| g.a[e] ^= rp.pull(nbits));
    Ok(g)
}

/// Distances of the Kogge–Stone levels over `w` positions: 1, 2, 4, … below `w`.
fn distances(w: u32) -> impl Iterator<Item = u32> {
    (0..32).map(|i| 1u32 << i).take_while(move |d| *d < w)
}

/// AND widths of one Kogge–Stone level at distance d over `w` positions: the generate part
/// (`w - d` bits) and the propagate part needed by later levels (`w - 2d` bits, or none).
fn ks_widths(w: u32, d: u32) -> (u32, u32) {
    (w - d, w.saturating_sub(2 * d))
}

/// Full bit decomposition: binary shares (k-bit words) of every x.
///
/// Protocol: `x = y + z` with `y = x_0 + x_1` shared in binary by role 0 (1 round, k bits)
/// and `z = x_2` (free); generate bits `y & z` of positions 0..k-2 by roles 1 and 2
/// (1 round, k-1 bits each); a Kogge–Stone prefix over the k-1 carry positions
/// (`ceil(log2(k-1))` AND rounds; level d computes `G_i ^= P_i & G_{i-d}` for `i >= d` and
/// `P_i &= P_{i-d}` only where a later level reads it); the sum is `y ^ z ^ (G << 1)`.
/// Rounds: 8 for k = 64, 7 for k = 32. Bits per party per element (n divisible by 3):
/// k = 64: `(64 + 2·63)/3 + 568` ≈ 631; k = 32: `(32 + 2·31)/3 + 218` ≈ 249 (SPU ABY3:
/// 896 bits for k = 64). Valid for every x.
pub fn a2b(ctx: &mut Ctx, x: &AShare, ring: Ring) -> Result<BShare, TransportError> {
    if x.is_empty() {
        return Ok(BShare {
            a: Vec::new(),
            b: Vec::new(),
        });
    }
    let w = ring.bits() - 1;
    let roles = Roles::new(x.len());
    let (y, z) = share_parts(ctx, x, &roles, ring)?;
    let mut gen = generate(ctx, &y, &z, &roles, w)?;
    let p = bmap(
        &BShare {
            a: y.a.iter().zip(&z.a).map(|(u, v)| u ^ v).collect(),
            b: y.b.iter().zip(&z.b).map(|(u, v)| u ^ v).collect(),
        },
        |v| v & ring.mask(),
    );
    let mut prop = bmap(&p, |v| v & low_mask(w));
    for d in distances(w) {
        let (wg, wp) = ks_widths(w, d);
        let x1 = bmap(&prop, |v| (v >> d) & low_mask(wg));
        let y1 = bmap(&gen, |v| v & low_mask(wg));
        let x2 = bmap(&prop, |v| (v >> (2 * d).min(63)) & low_mask(wp));
        let y2 = bmap(&prop, |v| (v >> d) & low_mask(wp));
        let z = and_many(ctx, &[(&x1, &y1, wg), (&x2, &y2, wp)])?;
        let upd = |g: &[u64], z: &[u64]| -> Vec<u64> {
            g.iter().zip(z).map(|(g, z)| g ^ (z << d)).collect()
        };
        gen = BShare {
            a: upd(&gen.a, &z[0].a),
            b: upd(&gen.b, &z[0].b),
        };
        prop = bmap(&z[1], |v| if wp == 0 { 0 } else { v << (2 * d) });
    }
    let m = ring.mask();
    Ok(BShare {
        a: p.a
            .iter()
            .zip(&gen.a)
            .map(|(p, g)| (p ^ (g << 1)) & m)
            .collect(),
        b: p.b
            .iter()
            .zip(&gen.b)
            .map(|(p, g)| (p ^ (g << 1)) & m)
            .collect(),
    })
}

/// Cost of [`a2b`] over `n` elements.
pub fn a2b_cost(n: usize, ring: Ring) -> Cost {
    if n == 0 {
        return Cost::ZERO;
    }
    let (k, w) = (ring.bits() as u64, ring.bits() - 1);
    let counts = Counts::contiguous(n);
    let levels: u64 = distances(w)
        .map(|d| {
            let (wg, wp) = ks_widths(w, d);
            bytes_of(n as u64 * (wg + wp) as u64)
        })
        .sum();
    let bytes = std::array::from_fn(|p| {
        let cnt = |rel: usize| counts.of_role(p as u8, rel) as u64;
        bytes_of(cnt(0) * k) + bytes_of(cnt(1) * w as u64) + bytes_of(cnt(2) * w as u64) + levels
    });
    Cost {
        rounds: 2 + distances(w).count() as u64,
        bytes,
        macs: 0,
    }
}

/// Prefix-OR from the most significant end: for bit strings of `nbits` bits (low bits of
/// each word), bit i of the result is the OR of bits i..nbits-1.
///
/// Protocol: complement, a Kogge–Stone prefix-AND towards the low end (level d:
/// `Q_i &= Q_{i+d}` for `i + d < nbits`), complement. Rounds: `ceil(log2 nbits)`.
/// Bits per party per element: `Σ_d (nbits - d)`, 321 for 64 bits, 129 for 32.
pub fn prefix_or(ctx: &mut Ctx, b: &BShare, nbits: u32) -> Result<BShare, TransportError> {
    if b.a.is_empty() {
        return Ok(b.clone());
    }
    let all = low_mask(nbits);
    let mut q = bxor_public(ctx.id, &bmap(b, |v| v & all), all);
    for d in distances(nbits) {
        let w = nbits - d;
        let lo = bmap(&q, |v| v & low_mask(w));
        let hi = bmap(&q, |v| (v >> d) & low_mask(w));
        let z = and_many(ctx, &[(&lo, &hi, w)])?.remove(0);
        let keep = all & !low_mask(w);
        q = BShare {
            a: q.a.iter().zip(&z.a).map(|(q, z)| (q & keep) | z).collect(),
            b: q.b.iter().zip(&z.b).map(|(q, z)| (q & keep) | z).collect(),
        };
    }
    Ok(bxor_public(ctx.id, &q, all))
}

/// Cost of [`prefix_or`] over `n` strings of `nbits` bits.
pub fn prefix_or_cost(n: usize, nbits: u32) -> Cost {
    if n == 0 {
        return Cost::ZERO;
    }
    let per: u64 = distances(nbits)
        .map(|d| bytes_of(n as u64 * (nbits - d) as u64))
        .sum();
    Cost {
        rounds: distances(nbits).count() as u64,
        bytes: [per; 3],
        macs: 0,
    }
}
