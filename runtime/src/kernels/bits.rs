//! Bit-level building blocks of the boolean protocols: dense wire packing of bit fields,
//! bit gathering, XOR zero-sharing, the replicated AND gate, and the rotation of protocol
//! roles over blocks of elements ([`Roles`] for a kernel, its block sizes [`Counts`] in
//! closed form for a cost).

use crate::ctx::Ctx;
use crate::share::BShare;
use crate::transport::TransportError;
use mpcc_ir::PartyId;

/// Mask of the low `nbits` bits of a word.
pub fn low_mask(nbits: u32) -> u64 {
    if nbits >= 64 {
        u64::MAX
    } else {
        (1u64 << nbits) - 1
    }
}

/// Bytes of a message of `bits` bits.
pub fn bytes_of(bits: u64) -> u64 {
    bits.div_ceil(8)
}

/// Writes fields of 0 to 64 bits into one dense little-endian bit string.
#[derive(Default)]
pub struct BitWriter {
    out: Vec<u8>,
    acc: u128,
    fill: u32,
}

impl BitWriter {
    /// An empty bit string.
    pub fn new() -> BitWriter {
        BitWriter::default()
    }
    /// Appends the low `nbits` bits of `w`.
    pub fn push(&mut self, w: u64, nbits: u32) {
        if nbits == 0 {
            return;
        }
        self.acc |= ((w & low_mask(nbits)) as u128) << self.fill;
        self.fill += nbits;
        if self.fill >= 64 {
            self.out.extend_from_slice(&(self.acc as u64).to_le_bytes());
            self.acc >>= 64;
            self.fill -= 64;
        }
    }
    /// Appends the low `nbits` bits of every word.
    pub fn push_all(&mut self, ws: &[u64], nbits: u32) {
        for &w in ws {
            self.push(w, nbits);
        }
    }
    /// The packed bytes (`ceil(bits/8)` of them).
    pub fn finish(mut self) -> Vec<u8> {
        let rest = self.fill.div_ceil(8) as usize;
        self.out
            .extend_from_slice(&self.acc.to_le_bytes()[..rest.min(16)]);
        self.out
    }
}

/// Reads back what a [`BitWriter`] wrote, field by field.
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    acc: u128,
    fill: u32,
}

impl<'a> BitReader<'a> {
    /// Reads `bytes`, which must hold exactly `bits` bits (checked), else `None`.
    pub fn new(bytes: &'a [u8], bits: u64) -> Option<BitReader<'a>> {
        (bytes.len() as u64 == bytes_of(bits)).then_some(BitReader {
            bytes,
            pos: 0,
            acc: 0,
            fill: 0,
        })
    }
    /// The next `nbits`-bit field (zeros past the end).
    pub fn pull(&mut self, nbits: u32) -> u64 {
        if nbits == 0 {
            return 0;
        }
        while self.fill < nbits {
            if self.fill <= 64 && self.pos + 8 <= self.bytes.len() {
                let c: [u8; 8] = self.bytes[self.pos..self.pos + 8].try_into().unwrap();
                self.acc |= (u64::from_le_bytes(c) as u128) << self.fill;
                self.fill += 64;
                self.pos += 8;
            } else if self.pos < self.bytes.len() {
                self.acc |= (self.bytes[self.pos] as u128) << self.fill;
                self.fill += 8;
                self.pos += 1;
            } else {
                self.fill = nbits;
            }
        }
        let w = (self.acc as u64) & low_mask(nbits);
        self.acc = if nbits >= 128 { 0 } else { self.acc >> nbits };
        self.fill -= nbits;
        w
    }
    /// The next `n` fields of `nbits` bits.
    pub fn pull_all(&mut self, n: usize, nbits: u32) -> Vec<u64> {
        (0..n).map(|_| self.pull(nbits)).collect()
    }
}

/// The error for a message whose length does not match the protocol.
pub fn bad_len(peer: PartyId) -> TransportError {
    TransportError::Io {
        peer,
        message: "message of unexpected length".into(),
    }
}

/// A reader over a received message of `bits` bits from `peer`, or a length error.
pub fn reader(
    msg: &Option<Vec<u8>>,
    bits: u64,
    peer: PartyId,
) -> Result<BitReader<'_>, TransportError> {
    let bytes = msg.as_deref().unwrap_or_default();
    BitReader::new(bytes, bits).ok_or_else(|| bad_len(peer))
}

/// Compacts the even bits of `w` (bit 2i moves to bit i).
pub fn gather_even(w: u64) -> u64 {
    let mut x = w & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) & 0xFFFF_FFFF
}

/// Compacts the odd bits of `w` (bit 2i+1 moves to bit i).
pub fn gather_odd(w: u64) -> u64 {
    gather_even(w >> 1)
}

/// Compacts every fourth bit of `w` (bit 4g moves to bit g).
pub fn gather4(w: u64) -> u64 {
    gather_even(gather_even(w))
}

/// A PRG stream of [`crate::prss::Prss`]: shared with the previous party (`Own`) or with the
/// next party (`Next`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Shared with the previous party.
    Own,
    /// Shared with the next party.
    Next,
}

/// `n` random fields of `nbits` bits from `stream`, drawn densely (`ceil(n*nbits/64)` PRG
/// words). The party at the other end of the stream gets the same fields from the same call.
pub fn draw(ctx: &mut Ctx, stream: Stream, n: usize, nbits: u32) -> Vec<u64> {
    let words = (n * nbits as usize).div_ceil(64);
    let raw = match stream {
        Stream::Own => ctx.prss.own(words, u64::MAX),
        Stream::Next => ctx.prss.next(words, u64::MAX),
    };
    if nbits >= 64 {
        return raw;
    }
    if nbits == 0 {
        return vec![0; n];
    }
    let m = low_mask(nbits);
    (0..n)
        .map(|i| {
            let pos = i * nbits as usize;
            let (w, off) = (pos / 64, (pos % 64) as u32);
            let mut v = raw[w] >> off;
            if off + nbits > 64 {
                v |= raw[w + 1] << (64 - off);
            }
            v & m
        })
        .collect()
}

/// This party's part of a 3-out-of-3 XOR sharing of zero, `nbits` bits per word.
pub fn xor_zero(ctx: &mut Ctx, n: usize, nbits: u32) -> Vec<u64> {
    let a = draw(ctx, Stream::Own, n, nbits);
    let b = draw(ctx, Stream::Next, n, nbits);
    a.iter().zip(&b).map(|(x, y)| x ^ y).collect()
}

/// The local part of an AND: cross terms plus a zero share (a 3-out-of-3 sharing of x&y).
pub fn and_local(ctx: &mut Ctx, x: &BShare, y: &BShare, nbits: u32) -> Vec<u64> {
    let alpha = xor_zero(ctx, x.a.len(), nbits);
    // INSECURE, test-only (see Cargo.toml): the cross terms go out unmasked.
    #[cfg(feature = "broken-and-mask")]
    let alpha = vec![0u64; alpha.len()];
    let m = low_mask(nbits);
    (0..x.a.len())
        .map(|i| {
            let (xa, xb, ya, yb) = (x.a[i], x.b[i], y.a[i], y.b[i]);
            ((xa & ya) ^ (xa & yb) ^ (xb & ya) ^ alpha[i]) & m
        })
        .collect()
}

/// Bitwise AND of the low `nbits` bits of replicated boolean shares: local cross terms and a
/// zero share, then each party sends its term to the previous party.
/// One round, `ceil(n*nbits/8)` bytes per party.
pub fn and(ctx: &mut Ctx, x: &BShare, y: &BShare, nbits: u32) -> Result<BShare, TransportError> {
    Ok(and_many(ctx, &[(x, y, nbits)])?.remove(0))
}

/// Several ANDs of different widths in one round and one message per party:
/// `ceil(Σ n_j*nbits_j / 8)` bytes per party.
pub fn and_many(
    ctx: &mut Ctx,
    ops: &[(&BShare, &BShare, u32)],
) -> Result<Vec<BShare>, TransportError> {
    let zs: Vec<Vec<u64>> = ops
        .iter()
        .map(|(x, y, nbits)| and_local(ctx, x, y, *nbits))
        .collect();
    let mut w = BitWriter::new();
    let mut bits = 0u64;
    for (z, (_, _, nbits)) in zs.iter().zip(ops) {
        w.push_all(z, *nbits);
        bits += z.len() as u64 * *nbits as u64;
    }
    let (_, from_next) = ctx.exchange(None, Some(&w.finish()), false, true)?;
    let mut rd = reader(&from_next, bits, ctx.next())?;
    Ok(zs
        .into_iter()
        .zip(ops)
        .map(|(z, (_, _, nbits))| {
            let b = rd.pull_all(z.len(), *nbits);
            BShare { a: z, b }
        })
        .collect())
}

/// XOR of a public word into a replicated boolean sharing (into share 0, which party 0
/// holds as `a` and party 2 as `b`).
pub fn bxor_public(id: PartyId, x: &BShare, c: u64) -> BShare {
    let mut y = x.clone();
    match id {
        0 => y.a.iter_mut().for_each(|v| *v ^= c),
        2 => y.b.iter_mut().for_each(|v| *v ^= c),
        _ => {}
    }
    y
}

/// Bytes per party of [`and`] over n words of `nbits` bits.
pub fn and_bytes(n: usize, nbits: u32) -> u64 {
    bytes_of(n as u64 * nbits as u64)
}

/// Elementwise map of both components of a boolean sharing.
pub fn bmap(x: &BShare, f: impl Fn(u64) -> u64) -> BShare {
    BShare {
        a: x.a.iter().map(|v| f(*v)).collect(),
        b: x.b.iter().map(|v| f(*v)).collect(),
    }
}

/// Elementwise combination of two boolean sharings, component by component.
pub fn bmap2(x: &BShare, y: &BShare, f: impl Fn(u64, u64) -> u64) -> BShare {
    BShare {
        a: x.a.iter().zip(&y.a).map(|(p, q)| f(*p, *q)).collect(),
        b: x.b.iter().zip(&y.b).map(|(p, q)| f(*p, *q)).collect(),
    }
}

/// Rotation of the asymmetric protocol roles over blocks of elements: in block `r` party `r`
/// plays role 0 (the party that knows `x_r + x_{r+1}`), party `r+1` role 1 and party `r+2`
/// role 2. Spreading the elements over the three blocks spreads the one-sided messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    members: [Vec<usize>; 3],
}

impl Roles {
    /// Roles for `n` elements: three contiguous blocks whose sizes differ by at most one.
    pub fn new(n: usize) -> Roles {
        Roles::from_fn(n, |e| Roles::contiguous(e, n))
    }
    /// The block of element `e` of `n` in [`Roles::new`].
    pub fn contiguous(e: usize, n: usize) -> usize {
        (0..3).rfind(|&r| e >= block_start(r, n)).unwrap_or(0)
    }
    /// Roles for `n` elements, element `e` in block `block(e)` (taken mod 3).
    pub fn from_fn(n: usize, block: impl Fn(usize) -> usize) -> Roles {
        let mut members: [Vec<usize>; 3] = Default::default();
        for e in 0..n {
            members[block(e) % 3].push(e);
        }
        Roles { members }
    }
    /// Elements of block `r`, in increasing order.
    pub fn range(&self, r: usize) -> std::iter::Copied<std::slice::Iter<'_, usize>> {
        self.members[r].iter().copied()
    }
    /// Number of elements in block `r`.
    pub fn count(&self, r: usize) -> usize {
        self.members[r].len()
    }
    /// The block sizes, all that the messages' lengths depend on.
    pub fn counts(&self) -> Counts {
        Counts(std::array::from_fn(|r| self.count(r)))
    }
    /// The role party `id` plays in block `r`.
    pub fn rel(id: PartyId, r: usize) -> usize {
        (id as usize + 3 - r) % 3
    }
    /// The block in which party `id` plays role `rel`.
    pub fn block(id: PartyId, rel: usize) -> usize {
        (id as usize + 3 - rel) % 3
    }
}

/// First element of block `r` of `n` in [`Roles::new`]: `floor(r·n/3)` (`n` for r = 3).
fn block_start(r: usize, n: usize) -> usize {
    (r as u128 * n as u128 / 3) as usize
}

/// The sizes of the three role blocks of a [`Roles`]: all a cost needs, computed in closed
/// form from the element count (no per-element memory, so the cost of a plan of any batch
/// is cheap to predict).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts(pub [usize; 3]);

impl Counts {
    /// The block sizes of [`Roles::new`]`(n)`: block r holds elements
    /// `floor(r·n/3)..floor((r+1)·n/3)`.
    pub fn contiguous(n: usize) -> Counts {
        Counts(std::array::from_fn(|r| {
            block_start(r + 1, n) - block_start(r, n)
        }))
    }
    /// Every block `times` as large (each element's block holding `times` elements).
    pub fn times(self, times: usize) -> Counts {
        Counts(self.0.map(|c| c * times))
    }
    /// Number of elements in block `r`.
    pub fn count(&self, r: usize) -> usize {
        self.0[r]
    }
    /// Number of elements in the block where party `id` plays role `rel`.
    pub fn of_role(&self, id: PartyId, rel: usize) -> usize {
        self.0[Roles::block(id, rel)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields of mixed widths round-trip through the dense packing, in exactly ceil(bits/8)
    /// bytes.
    #[test]
    fn pack_round_trip() {
        let fields: Vec<(u64, u32)> = (0..200u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 65) as u32))
            .collect();
        let mut w = BitWriter::new();
        for (v, b) in &fields {
            w.push(*v, *b);
        }
        let bits: u64 = fields.iter().map(|f| f.1 as u64).sum();
        let bytes = w.finish();
        assert_eq!(bytes.len() as u64, bytes_of(bits));
        let mut r = BitReader::new(&bytes, bits).unwrap();
        for (v, b) in &fields {
            assert_eq!(r.pull(*b), v & low_mask(*b));
        }
    }

    /// The closed-form block sizes equal those of the per-element rotation, for every n up to
    /// 300 and a few large ones, and sum to n.
    #[test]
    fn closed_form_counts() {
        for n in (0..300).chain([1000, 1001, 1002, 65_537, 1_000_003]) {
            let c = Counts::contiguous(n);
            assert_eq!(c, Roles::new(n).counts(), "n = {n}");
            assert_eq!(c.0.iter().sum::<usize>(), n);
        }
        assert_eq!(Counts::contiguous(10), Counts([3, 3, 4]));
        assert_eq!(Counts::contiguous(2), Counts([0, 1, 1]));
        // 10^12 elements, no allocation: the sizes still differ by at most one.
        assert_eq!(
            Counts::contiguous(1_000_000_000_000),
            Counts([333_333_333_333, 333_333_333_333, 333_333_333_334])
        );
    }

    /// Gathering moves the selected bits to consecutive positions.
    #[test]
    fn gathers() {
        let w = 0xDEAD_BEEF_0123_4567u64;
        let mut even = 0;
        let mut odd = 0;
        let mut four = 0;
        for i in 0..32 {
            even |= ((w >> (2 * i)) & 1) << i;
            odd |= ((w >> (2 * i + 1)) & 1) << i;
        }
        for g in 0..16 {
            four |= ((w >> (4 * g)) & 1) << g;
        }
        assert_eq!(gather_even(w), even);
        assert_eq!(gather_odd(w), odd);
        assert_eq!(gather4(w), four);
    }
}
