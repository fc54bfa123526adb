//! The carry tree of the comparison pipeline ([`super::compare`]): a pruned parallel-prefix
//! tree over the 4-bit groups that computes only the carry into the top bit, and its last
//! level delivered either as replicated binary shares or in the split form that bit
//! injection ([`super::inject`]) starts from.

use super::bits::{
    and, and_bytes, and_local, draw, gather_even, gather_odd, low_mask, reader, BitWriter, Roles,
    Stream,
};
use crate::ctx::Ctx;
use crate::share::BShare;
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// Operands of one tree level over `m` groups: `(X, Y, h)` with `X & Y` giving
/// `P_hi & G_lo` in bits `0..h` and `P_hi & P_lo` of pairs `1..h` in bits `h..2h-1`.
fn level_operands(gen: &BShare, prop: &BShare, m: u32) -> (BShare, BShare, u32) {
    let h = m / 2;
    let f = |gw: u64, pw: u64, hi: bool| -> u64 {
        if hi {
            let p = gather_odd(pw) & low_mask(h);
            p | ((p >> 1) << h)
        } else {
            let (gl, pl) = (gather_even(gw) & low_mask(h), gather_even(pw) & low_mask(h));
            gl | ((pl >> 1) << h)
        }
    };
    let side = |hi: bool| BShare {
        a: gen
            .a
            .iter()
            .zip(&prop.a)
            .map(|(g, p)| f(*g, *p, hi))
            .collect(),
        b: gen
            .b
            .iter()
            .zip(&prop.b)
            .map(|(g, p)| f(*g, *p, hi))
            .collect(),
    };
    (side(true), side(false), h)
}

/// Combines one level's AND results `z` into the next level's generate/propagate words.
fn level_combine(gw: u64, pw: u64, z: u64, m: u32) -> (u64, u64) {
    let h = m / 2;
    let mut g2 = (gather_odd(gw) & low_mask(h)) ^ (z & low_mask(h));
    let mut p2 = ((z >> h) & low_mask(h.saturating_sub(1))) << 1;
    if m % 2 == 1 {
        g2 |= (gather_even(gw) >> h & 1) << h;
        p2 |= (gather_even(pw) >> h & 1) << h;
    }
    (g2, p2)
}

/// Tree levels over g groups.
pub fn levels(g: u32) -> u32 {
    g.next_power_of_two().trailing_zeros()
}

/// Runs the carry tree down to two groups. Returns the generate/propagate shares of the two
/// remaining groups. `levels(g) - 1` AND rounds.
pub fn tree_to_two(
    ctx: &mut Ctx,
    mut gen: BShare,
    mut prop: BShare,
    ring: Ring,
) -> Result<(BShare, BShare), TransportError> {
    let mut m = ring.bits() / 4;
    while m > 2 {
        let (x, y, h) = level_operands(&gen, &prop, m);
        let z = and(ctx, &x, &y, 2 * h - 1)?;
        let comb = |gw: &[u64], pw: &[u64], zw: &[u64]| -> (Vec<u64>, Vec<u64>) {
            (0..zw.len())
                .map(|i| level_combine(gw[i], pw[i], zw[i], m))
                .unzip()
        };
        let (ga, pa) = comb(&gen.a, &prop.a, &z.a);
        let (gb, pb) = comb(&gen.b, &prop.b, &z.b);
        gen = BShare { a: ga, b: gb };
        prop = BShare { a: pa, b: pb };
        m = m.div_ceil(2);
    }
    Ok((gen, prop))
}

/// Bits per party of the tree levels before the last (all comparisons together).
pub fn tree_to_two_bytes(tn: usize, ring: Ring) -> u64 {
    let mut m = ring.bits() / 4;
    let mut bytes = 0;
    while m > 2 {
        bytes += and_bytes(tn, 2 * (m / 2) - 1);
        m = m.div_ceil(2);
    }
    bytes
}

/// The state before the last tree level: the two top groups and the linear part
/// `y_{k-1} ^ z_{k-1}` of the MSB (bit 0 of each word).
pub struct Penultimate {
    /// Generate bits of the two top groups.
    pub gen: BShare,
    /// Propagate bits of the two top groups.
    pub prop: BShare,
    /// `y_{k-1} ^ z_{k-1}`, bit 0.
    pub lin: BShare,
}

/// Last level into replicated shares: the MSB bits (bit 0). One AND round of 1 bit.
pub fn finish_replicated(ctx: &mut Ctx, pen: &Penultimate) -> Result<BShare, TransportError> {
    let (x, y, _) = level_operands(&pen.gen, &pen.prop, 2);
    let z = and(ctx, &x, &y, 1)?;
    let f = |g: &[u64], z: &[u64], l: &[u64]| -> Vec<u64> {
        (0..z.len())
            .map(|i| ((g[i] >> 1) ^ z[i] ^ l[i]) & 1)
            .collect()
    };
    Ok(BShare {
        a: f(&pen.gen.a, &z.a, &pen.lin.a),
        b: f(&pen.gen.b, &z.b, &pen.lin.b),
    })
}

/// A bit split between the parties: in each block, role 0 holds `c` and roles 1 and 2 hold
/// `v`, with bit = `c ^ v` (entries a party does not know are zero).
pub struct Split {
    /// Role 0's part.
    pub c: Vec<u64>,
    /// Roles 1 and 2's common part (a random mask).
    pub v: Vec<u64>,
}

/// Last level into the split form: each party's 3-out-of-3 share `e_i` of the bit goes to
/// role 0, masked by a bit `v` roles 1 and 2 draw from their common PRG; role 0 learns
/// `c = bit ^ v`. One round; in each block roles 1 and 2 send one bit per comparison.
/// `flip` complements the bit (role 0 flips `c`).
pub fn finish_split(
    ctx: &mut Ctx,
    pen: &Penultimate,
    n: usize,
    t: usize,
    roles: &Roles,
    flip: bool,
) -> Result<Split, TransportError> {
    let (x, y, _) = level_operands(&pen.gen, &pen.prop, 2);
    let z = and_local(ctx, &x, &y, 1);
    let e: Vec<u64> = (0..z.len())
        .map(|i| (z[i] ^ (pen.gen.a[i] >> 1) ^ pen.lin.a[i]) & 1)
        .collect();
    let mut s = Split {
        c: vec![0; t * n],
        v: vec![0; t * n],
    };
    let (mut to_next, mut to_prev) = (BitWriter::new(), BitWriter::new());
    for r in 0..3 {
        let rel = Roles::rel(ctx.id, r);
        if rel == 0 {
            continue;
        }
        let cnt = roles.count(r) * t;
        let v = if rel == 1 {
            draw(ctx, Stream::Next, cnt, 1)
        } else {
            draw(ctx, Stream::Own, cnt, 1)
        };
        let mut q = 0;
        for j in 0..t {
            for el in roles.range(r) {
                let c = j * n + el;
                s.v[c] = v[q];
                if rel == 1 {
                    to_prev.push(e[c] ^ v[q], 1);
                } else {
                    to_next.push(e[c], 1);
                }
                q += 1;
            }
        }
    }
    let (from_prev, from_next) =
        ctx.exchange(Some(&to_next.finish()), Some(&to_prev.finish()), true, true)?;
    let r0 = Roles::block(ctx.id, 0);
    let bits = (roles.count(r0) * t) as u64;
    let mut rp = reader(&from_prev, bits, ctx.prev())?;
    let mut rn = reader(&from_next, bits, ctx.next())?;
    for j in 0..t {
        for el in roles.range(r0) {
            let c = j * n + el;
            s.c[c] = e[c] ^ rp.pull(1) ^ rn.pull(1) ^ flip as u64;
        }
    }
    Ok(s)
}

/// Which form the last tree level delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Replicated binary shares ([`finish_replicated`]).
    Replicated,
    /// The split form ([`finish_split`]).
    Split,
}
