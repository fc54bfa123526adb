//! Ring arithmetic helpers: fixed-point encoding, masking to Z_2^k, wire packing.

use mpcc_ir::Ring;

/// Encodes a real as a ring element at `scale` fraction bits (round to nearest, saturating
/// at the ring's signed range).
pub fn encode(v: f64, scale: u32, ring: Ring) -> u64 {
    let s = v * (scale as f64).exp2();
    let lim = ((ring.bits() - 1) as f64).exp2();
    let r = s.round().clamp(-lim, lim - 1.0);
    (r as i64 as u64) & ring.mask()
}

/// Signed value of a ring element (two's complement in k bits).
pub fn to_signed(x: u64, ring: Ring) -> i64 {
    match ring {
        Ring::Z64 => x as i64,
        Ring::Z32 => x as u32 as i32 as i64,
    }
}

/// Decodes a ring element at `scale` fraction bits.
pub fn decode(x: u64, scale: u32, ring: Ring) -> f64 {
    to_signed(x, ring) as f64 / (scale as f64).exp2()
}

/// Packs ring elements into `ring.bytes()` little-endian bytes each.
pub fn pack(xs: &[u64], ring: Ring) -> Vec<u8> {
    match ring {
        Ring::Z64 => {
            let mut out = Vec::with_capacity(xs.len() * 8);
            for x in xs {
                out.extend_from_slice(&x.to_le_bytes());
            }
            out
        }
        Ring::Z32 => {
            let mut out = Vec::with_capacity(xs.len() * 4);
            for x in xs {
                out.extend_from_slice(&(*x as u32).to_le_bytes());
            }
            out
        }
    }
}

/// Inverse of [`pack`]; `None` when the length is not a whole number of elements.
pub fn unpack(bytes: &[u8], ring: Ring) -> Option<Vec<u64>> {
    let w = ring.bytes() as usize;
    if !bytes.len().is_multiple_of(w) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(w)
            .map(|c| match ring {
                Ring::Z64 => u64::from_le_bytes(c.try_into().unwrap()),
                Ring::Z32 => u32::from_le_bytes(c.try_into().unwrap()) as u64,
            })
            .collect(),
    )
}

/// Packs the low `nbits` bits of each word into a dense bit string (`ceil(n*nbits/8)` bytes).
pub fn pack_bits(words: &[u64], nbits: u32) -> Vec<u8> {
    if nbits == 64 {
        return pack(words, Ring::Z64);
    }
    let total = words.len() * nbits as usize;
    let mut out = vec![0u8; total.div_ceil(8)];
    let mut pos = 0usize;
    for &w in words {
        for b in 0..nbits {
            if (w >> b) & 1 == 1 {
                out[pos / 8] |= 1 << (pos % 8);
            }
            pos += 1;
        }
    }
    out
}

/// Inverse of [`pack_bits`] for `n` words.
pub fn unpack_bits(bytes: &[u8], n: usize, nbits: u32) -> Option<Vec<u64>> {
    if nbits == 64 {
        return unpack(bytes, Ring::Z64).filter(|v| v.len() == n);
    }
    if bytes.len() != (n * nbits as usize).div_ceil(8) {
        return None;
    }
    let mut out = vec![0u64; n];
    let mut pos = 0usize;
    for w in out.iter_mut() {
        for b in 0..nbits {
            if (bytes[pos / 8] >> (pos % 8)) & 1 == 1 {
                *w |= 1 << b;
            }
            pos += 1;
        }
    }
    Some(out)
}

/// Bytes [`pack_bits`] produces.
pub fn bits_bytes(n: usize, nbits: u32) -> u64 {
    (n as u64 * nbits as u64).div_ceil(8)
}
