//! Boolean-share protocols and the comparison kernels built on them: MSB extraction
//! ([`msb`]), comparisons with public thresholds ([`ge_const`]), bit injection
//! ([`bit_inject`]), MSB-position table lookups for normalisation ([`msb_weights`]), and
//! the protocols of the IR kernels `ge` ([`ge_const`]), `relu` and `max_axis`.
//!
//! The protocols live in [`super::compare`] (the adder's first two rounds), [`super::carry`]
//! (the carry tree), [`super::inject`] (boolean to arithmetic, multiplexer),
//! [`super::bitdec`] (full bit decomposition, prefix-OR) and [`super::bits`] (AND gate,
//! packing, role rotation). Costs below are per element for `n` divisible by 3 (the
//! asymmetric messages rotate over three blocks of elements, so parties differ by at most a
//! few bytes otherwise); "bits" are bits sent by each party. k = 64: comparison core 6 rounds, ≈124 bits; k = 32: 5 rounds, ≈59.

use super::bits::{bytes_of, reader, BitWriter, Counts, Roles};
use super::carry::{self, Finish, Split};
use super::common;
use super::compare;
use super::inject::{inject, inject_cost, inject_dot, inject_dot_cost, mux1_send, Mux1};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::{AShare, BShare};
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// Cost of the comparison core for `t` thresholds over `n` elements.
fn core_cost(n: usize, t: usize, ring: Ring, finish: Finish) -> Cost {
    if n * t == 0 {
        return Cost::ZERO;
    }
    Cost {
        rounds: compare::rounds(ring),
        bytes: compare::bytes(n, t, ring, finish),
        macs: 0,
    }
}

/// `[x >= t]` for every threshold, in the split form (threshold-major).
fn ge_split(
    ctx: &mut Ctx,
    x: &AShare,
    th: &[u64],
    ring: Ring,
) -> Result<(Split, Roles), TransportError> {
    let roles = Roles::new(x.len());
    let pen = compare::to_penultimate(ctx, x, th, &roles, ring)?;
    let s = carry::finish_split(ctx, &pen, x.len(), th.len(), &roles, true)?;
    Ok((s, roles))
}

/// Bits `[x >= t]` for each threshold t (encoded as ring elements at x's scale): `T*n`
/// arithmetic shares of 0/1 integers (scale 0), threshold-major. All comparisons share
/// their rounds, and role 0's first message (the binary sharing of `x_0 + x_1`) is sent
/// once for all thresholds.
///
/// Protocol: `1 - msb(x - t)` by the adder of [`super::compare`] with `z = x_2 - t`, the
/// last carry level delivered in the split form, then [`super::inject`].
/// Rounds: 8 for k = 64, 7 for k = 32.
/// Bits per party per element (n divisible by 3): k = 64: `(233 + T·(62 + 3·25 + 2 + 3·64))/3`
/// (T = 1: 188); k = 32: `(113 + T·(30 + 3·10 + 2 + 3·32))/3` (T = 1: 90.3).
/// Valid when `|x - t| < 2^(k-1)` as signed ring values (no wrap-around).
pub fn ge_const(
    ctx: &mut Ctx,
    x: &AShare,
    thresholds: &[u64],
    ring: Ring,
) -> Result<AShare, TransportError> {
    if x.is_empty() || thresholds.is_empty() {
        return Ok(AShare {
            a: Vec::new(),
            b: Vec::new(),
        });
    }
    let (s, roles) = ge_split(ctx, x, thresholds, ring)?;
    inject(ctx, &s, None, &roles, thresholds.len(), ring)
}

/// Cost of [`ge_const`] with `t` thresholds over `n` elements.
pub fn ge_const_cost(n: usize, t: usize, ring: Ring) -> Cost {
    core_cost(n, t, ring, Finish::Split).then(inject_cost(n, t, ring, false))
}

/// MSB of each element as replicated boolean shares (1 bit per element, in bit 0).
///
/// Protocol: [`super::compare`] with threshold 0 and a replicated last level.
/// Rounds: 6 for k = 64, 5 for k = 32. Bits per party per element: k = 64:
/// `(233 + 62)/3 + 26` ≈ 124.3; k = 32: `(113 + 30)/3 + 11` ≈ 58.7. Valid for every x.
pub fn msb(ctx: &mut Ctx, x: &AShare, ring: Ring) -> Result<BShare, TransportError> {
    if x.is_empty() {
        return Ok(BShare {
            a: Vec::new(),
            b: Vec::new(),
        });
    }
    let roles = Roles::new(x.len());
    let pen = compare::to_penultimate(ctx, x, &[0], &roles, ring)?;
    carry::finish_replicated(ctx, &pen)
}

/// Cost of [`msb`] over `n` elements.
pub fn msb_cost(n: usize, ring: Ring) -> Cost {
    core_cost(n, 1, ring, Finish::Replicated)
}

/// Boolean bits (bit 0 of each word) to arithmetic 0/1.
///
/// Protocol: role 0 knows `c = b_0 ^ b_1`, roles 1 and 2 know `v = b_2`; then
/// [`super::inject`]. Rounds: 2. Bits per party per element: k (each party sends k).
pub fn bit_inject(ctx: &mut Ctx, b: &BShare, ring: Ring) -> Result<AShare, TransportError> {
    let n = b.a.len();
    if n == 0 {
        return Ok(AShare {
            a: Vec::new(),
            b: Vec::new(),
        });
    }
    let roles = Roles::new(n);
    let mut s = Split {
        c: vec![0; n],
        v: vec![0; n],
    };
    for r in 0..3 {
        for e in roles.range(r) {
            match Roles::rel(ctx.id, r) {
                0 => s.c[e] = (b.a[e] ^ b.b[e]) & 1,
                1 => s.v[e] = b.b[e] & 1,
                _ => s.v[e] = b.a[e] & 1,
            }
        }
    }
    inject(ctx, &s, None, &roles, 1, ring)
}

/// Cost of [`bit_inject`] over `n` elements.
pub fn bit_inject_cost(n: usize, ring: Ring) -> Cost {
    inject_cost(n, 1, ring, false)
}

/// For `0 < x < 2^(k-2)`, with i the position of x's most significant 1 bit, the
/// arithmetic sharing of `tables[j][i]` for each table j (each table has k public ring
/// elements; missing entries read as 0). Used to normalise before reciprocal/rsqrt.
///
/// Protocol: the thermometer code `p_i = [x >= 2^i]` for i = 1..k-3 (the prefix-OR of the
/// bits from the top) by the comparison core with k-3 thresholds (role 0's first message
/// is shared by all of them), delivered in the split form; then one round of
/// [`super::inject::inject_dot`] computes `T[0] + Σ_i p_i (T[i] - T[i-1])` for every table
/// directly (it equals `Σ_i h_i T[i]` for the one-hot `h_i = p_i - p_{i+1}`), without
/// injecting the bits one by one.
/// Rounds: 7 for k = 64, 6 for k = 32 (a bit decomposition, a log-depth prefix-OR and an
/// injection take about twice as many). Bits per party per element with two tables:
/// k = 64: `(233 + 61·139 + 2·61·64 + 4·64)/3` = 5592; k = 32: `(113 + 29·(30+30+2) +
/// 2·29·32 + 4·32)/3` ≈ 1298.3 (each further table adds 2k/3).
/// Valid for `0 < x < 2^(k-2)`; x = 0 gives `tables[j][0]`.
pub fn msb_weights(
    ctx: &mut Ctx,
    x: &AShare,
    tables: &[Vec<u64>],
    ring: Ring,
) -> Result<Vec<AShare>, TransportError> {
    let n = x.len();
    let m = ring.mask();
    if n == 0 {
        return Ok(vec![x.clone(); tables.len()]);
    }
    let th = weight_thresholds(ring);
    let (s, roles) = ge_split(ctx, x, &th, ring)?;
    let at = |tab: &Vec<u64>, i: usize| tab.get(i).copied().unwrap_or(0) & m;
    let wts: Vec<Vec<u64>> = tables
        .iter()
        .map(|tab| {
            (1..=th.len())
                .map(|i| at(tab, i).wrapping_sub(at(tab, i - 1)) & m)
                .collect()
        })
        .collect();
    let sums = inject_dot(ctx, &s, &wts, &roles, th.len(), ring)?;
    Ok(sums
        .iter()
        .zip(tables)
        .map(|(acc, tab)| common::add_public(ctx.id, acc, &vec![at(tab, 0); n], ring))
        .collect())
}

/// The thresholds `2^i`, i = 1..k-3, of [`msb_weights`].
pub(crate) fn weight_thresholds(ring: Ring) -> Vec<u64> {
    (1..ring.bits() - 2).map(|i| 1u64 << i).collect()
}

/// Cost of [`msb_weights`] over `n` elements with `n_tables` tables.
pub fn msb_weights_cost(n: usize, n_tables: usize, ring: Ring) -> Cost {
    let t = weight_thresholds(ring).len();
    core_cost(n, t, ring, Finish::Split).then(inject_dot_cost(n, t, n_tables, ring))
}

/// ReLU, `x * [x >= 0]`: the comparison core (threshold 0, split last level), then the
/// multiplexer of [`super::inject`], which multiplies by x while it injects the bit
/// (no truncation: the result keeps x's scale).
/// Rounds: 8 for k = 64, 7 for k = 32. Bits per party per element: k = 64:
/// `(233 + 62 + 3·25 + 2 + 4·64)/3` ≈ 209.3; k = 32: ≈ 101. Valid for every x.
pub fn relu(ctx: &mut Ctx, x: &AShare, ring: Ring) -> Result<AShare, TransportError> {
    if x.is_empty() {
        return Ok(x.clone());
    }
    let (s, roles) = ge_split(ctx, x, &[0], ring)?;
    inject(ctx, &s, Some(x), &roles, 1, ring)
}

/// Cost of [`relu`] over `n` elements.
pub fn relu_cost(n: usize, ring: Ring) -> Cost {
    core_cost(n, 1, ring, Finish::Split).then(inject_cost(n, 1, ring, true))
}

/// Dimensions `(outer, len, inner)` of a reduction along `axis`.
fn axis_dims(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// One level of the max tree on `(outer, len, inner)` data: element pairs `(2p, 2p+1)`
/// along the axis; returns the `(a, b)` operands, flattened, and the next length.
fn max_pairs<T: Copy>(x: &[T], outer: usize, len: usize, inner: usize) -> (Vec<T>, Vec<T>) {
    let h = len / 2;
    let mut a = Vec::with_capacity(outer * h * inner);
    let mut b = Vec::with_capacity(outer * h * inner);
    for o in 0..outer {
        for p in 0..h {
            let base = o * len * inner;
            a.extend_from_slice(&x[base + 2 * p * inner..base + (2 * p + 1) * inner]);
            b.extend_from_slice(&x[base + (2 * p + 1) * inner..base + (2 * p + 2) * inner]);
        }
    }
    (a, b)
}

/// Interleaves a level's maxima (`outer × h × inner`) with the carried odd element.
fn max_next<T: Copy>(x: &[T], maxes: &[T], outer: usize, len: usize, inner: usize) -> Vec<T> {
    let h = len / 2;
    let mut out = Vec::with_capacity(outer * len.div_ceil(2) * inner);
    for o in 0..outer {
        out.extend_from_slice(&maxes[o * h * inner..(o + 1) * h * inner]);
        if len % 2 == 1 {
            let base = o * len * inner + (len - 1) * inner;
            out.extend_from_slice(&x[base..base + inner]);
        }
    }
    out
}

/// Roles of one max-tree level with `h` pairs per row: every comparison of one output
/// element's tree is in that element's block, so that role 0 of the next level's
/// comparison already holds its part of both maxima before the last message of this level.
fn max_roles(outer: usize, h: usize, inner: usize) -> Roles {
    let q = outer * inner;
    Roles::from_fn(outer * h * inner, |c| {
        let (o, i) = (c / (h * inner), c % inner);
        Roles::contiguous(o * inner + i, q)
    })
}

/// The block sizes of [`max_roles`] in closed form: each of the `outer × inner` output
/// elements' blocks holds its `h` comparisons.
fn max_counts(outer: usize, h: usize, inner: usize) -> Counts {
    Counts::contiguous(outer * inner).times(h)
}

/// The differences `d = a - b` of one level's pairs and the `b` operands.
fn max_diff(x: &AShare, outer: usize, len: usize, inner: usize, ring: Ring) -> (AShare, AShare) {
    let m = ring.mask();
    let (aa, ba) = max_pairs(&x.a, outer, len, inner);
    let (ab, bb) = max_pairs(&x.b, outer, len, inner);
    let sub = |p: &[u64], q: &[u64]| -> Vec<u64> {
        p.iter()
            .zip(q)
            .map(|(u, v)| u.wrapping_sub(*v) & m)
            .collect()
    };
    let d = AShare {
        a: sub(&aa, &ba),
        b: sub(&ab, &bb),
    };
    (d, AShare { a: ba, b: bb })
}

/// The next level's values: `b + sel` for the pairs, with the carried odd element.
fn max_level_out(
    x: &AShare,
    b: &AShare,
    sel: &AShare,
    outer: usize,
    len: usize,
    inner: usize,
    ring: Ring,
) -> AShare {
    let m = ring.mask();
    let add = |p: &[u64], q: &[u64]| -> Vec<u64> {
        p.iter()
            .zip(q)
            .map(|(u, v)| u.wrapping_add(*v) & m)
            .collect()
    };
    AShare {
        a: max_next(&x.a, &add(&b.a, &sel.a), outer, len, inner),
        b: max_next(&x.b, &add(&b.b, &sel.b), outer, len, inner),
    }
}

/// Maximum along `axis` of a tensor of shape `shape` (kept as size 1), by a comparison tree
/// of `ceil(log2 len)` levels. Each level batches all its comparisons: `d = a - b`,
/// `max = b + d * [d >= 0]` by the comparison core (split last level) and the one-round
/// multiplexer [`super::inject::mux1_send`]; an odd element is carried up.
///
/// Pipelining: the comparisons of one output element's tree share a block of roles, and
/// role 0's multiplexer shares are PRG values known before the round, so the next level's
/// first message (role 0's binary sharing of `d_0 + d_1`) travels with this level's
/// multiplexer messages. Rounds: `6·levels + 1` for k = 64 (`5·levels + 1` for k = 32),
/// e.g. 43 for a row of 128 (SPU ABY3: about 70). Bits per party per comparison, rows
/// spread evenly over the three role blocks: k = 64: `(233 + 62 + 3·25 + 2 + 8·64)/3`
/// ≈ 294.7; k = 32: `(113 + 30 + 3·10 + 2 + 8·32)/3` ≈ 143.7 (the one-round multiplexer
/// sends twice the two-round one's bits, for one round less per level).
/// Valid when `|a - b| < 2^(k-1)` for every pair compared.
pub fn max_axis(
    ctx: &mut Ctx,
    x: &AShare,
    shape: &[usize],
    axis: usize,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let (outer, mut len, inner) = axis_dims(shape, axis);
    let mut cur = x.clone();
    let mut shared: Option<compare::YShares> = None;
    while len > 1 {
        let roles = max_roles(outer, len / 2, inner);
        let (d, b) = max_diff(&cur, outer, len, inner, ring);
        let ys = match shared.take() {
            Some(ys) => ys,
            None => compare::share_y(ctx, &d, &roles, ring)?,
        };
        let pen = compare::penultimate_from(ctx, &ys, &d, &[0], &roles, ring)?;
        let s = carry::finish_split(ctx, &pen, d.len(), 1, &roles, true)?;
        let (mut to_next, mut to_prev) = (BitWriter::new(), BitWriter::new());
        let mux = mux1_send(ctx, &s, &d, &roles, ring, &mut to_next, &mut to_prev);
        let (mut from_prev_bits, from_next_bits) = Mux1::recv_bits(ctx.id, roles.counts(), ring);
        let next_len = len.div_ceil(2);
        let mut next = None;
        if next_len > 1 {
            // Final at this level's role 0, which is the next level's role 0.
            let partial = max_level_out(&cur, &b, mux.partial(), outer, len, inner, ring);
            let roles2 = max_roles(outer, next_len / 2, inner);
            let (d2, _) = max_diff(&partial, outer, next_len, inner, ring);
            let ys2 = compare::share_y_send(ctx, &d2, &roles2, ring, &mut to_next);
            from_prev_bits += compare::share_y_recv_bits(ctx, roles2.counts(), ring);
            next = Some((ys2, roles2));
        }
        let (from_prev, from_next) =
            ctx.exchange(Some(&to_next.finish()), Some(&to_prev.finish()), true, true)?;
        let mut rp = reader(&from_prev, from_prev_bits, ctx.prev())?;
        let mut rn = reader(&from_next, from_next_bits, ctx.next())?;
        let sel = mux.finish(ctx, &s, &d, &roles, ring, &mut rp, &mut rn);
        if let Some((mut ys2, roles2)) = next {
            compare::share_y_recv(ctx, &mut ys2, &mut rp, &roles2, ring);
            shared = Some(ys2);
        }
        cur = max_level_out(&cur, &b, &sel, outer, len, inner, ring);
        len = next_len;
    }
    Ok(cur)
}

/// Cost of [`max_axis`], in closed form (`O(levels)` time and memory, whatever the size).
pub fn max_axis_cost(shape: &[usize], axis: usize, ring: Ring) -> Cost {
    let (outer, mut len, inner) = axis_dims(shape, axis);
    let mut c = Cost::ZERO;
    let mut first = true;
    while len > 1 {
        let counts = max_counts(outer, len / 2, inner);
        let next_len = len.div_ceil(2);
        let counts2 = (next_len > 1).then(|| max_counts(outer, next_len / 2, inner));
        let bytes = std::array::from_fn(|p| {
            let id = p as u8;
            let share = if first {
                bytes_of(compare::share_y_send_bits(id, counts, ring))
            } else {
                0
            };
            let next_share = counts2.map_or(0, |c2| compare::share_y_send_bits(id, c2, ring));
            let (to_next, to_prev) = Mux1::send_bits(id, counts, ring);
            share
                + compare::bytes_after_share(id, counts, 1, ring, Finish::Split)
                + bytes_of(to_next + next_share)
                + bytes_of(to_prev)
        });
        let pairs = outer * (len / 2) * inner;
        c = c.then(Cost {
            rounds: compare::rounds(ring) + u64::from(first),
            bytes,
            macs: 8 * pairs as u64,
        });
        first = false;
        len = next_len;
    }
    c
}

/// Plaintext references of the kernels (also used for public operands).
pub mod plain {
    use mpcc_ir::Ring;

    fn nonneg(d: u64, ring: Ring) -> bool {
        (d >> (ring.bits() - 1)) & 1 == 0
    }
    /// `[x >= t]` as the protocol computes it: `1 - msb(x - t mod 2^k)`.
    pub fn ge(x: u64, t: u64, ring: Ring) -> u64 {
        nonneg(x.wrapping_sub(t) & ring.mask(), ring) as u64
    }
    /// `x * [x >= 0]`.
    pub fn relu(x: u64, ring: Ring) -> u64 {
        if nonneg(x, ring) {
            x
        } else {
            0
        }
    }
    /// `b + [a - b >= 0] (a - b)`: a when a >= b.
    pub fn max2(a: u64, b: u64, ring: Ring) -> u64 {
        if nonneg(a.wrapping_sub(b) & ring.mask(), ring) {
            a
        } else {
            b
        }
    }
    /// Maximum along `axis` by the protocol's pairing order.
    pub fn max_axis(x: &[u64], shape: &[usize], axis: usize, ring: Ring) -> Vec<u64> {
        let (outer, mut len, inner) = super::axis_dims(shape, axis);
        let mut cur = x.to_vec();
        while len > 1 {
            let (a, b) = super::max_pairs(&cur, outer, len, inner);
            let maxes: Vec<u64> = a.iter().zip(&b).map(|(p, q)| max2(*p, *q, ring)).collect();
            cur = super::max_next(&cur, &maxes, outer, len, inner);
            len = len.div_ceil(2);
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed-form block sizes of a max-tree level equal those of its per-element roles.
    #[test]
    fn max_counts_match_max_roles() {
        for (outer, h, inner) in [
            (1, 1, 1),
            (1, 64, 1),
            (3, 5, 2),
            (2, 7, 3),
            (5, 2, 4),
            (0, 3, 2),
        ] {
            assert_eq!(
                max_counts(outer, h, inner),
                max_roles(outer, h, inner).counts(),
                "{outer}x{h}x{inner}"
            );
        }
    }
}
