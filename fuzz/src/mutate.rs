//! The mutation engine: a seeded, deterministic generator and the byte-level mutations the
//! driver stacks on a corpus entry (flips, interesting integers, insertions, deletions,
//! duplications, splices with another entry, truncation, dictionary tokens, numbers in text).

/// SplitMix64: small, fast and deterministic for a given seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Integers that sit on the edges parsers check (lengths, counts, widths, signs).
const INTERESTING: [u64; 20] = [
    0,
    1,
    2,
    3,
    7,
    8,
    16,
    32,
    63,
    64,
    255,
    256,
    65535,
    65536,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 40,
    i64::MAX as u64,
    u64::MAX,
];

/// Numbers written into text inputs in place of a number.
const NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1",
    "255",
    "65536",
    "4294967296",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "1e-320",
    "NaN",
    "0.5",
    "99999999999999999999999",
];

/// Mutates `input` with 1 to 6 stacked mutations; `pool` supplies splice partners and
/// `dict` tokens to insert. The result is at most `max_len` bytes.
pub fn mutate(
    rng: &mut Rng,
    input: &[u8],
    pool: &[Vec<u8>],
    dict: &[&[u8]],
    max_len: usize,
) -> Vec<u8> {
    let mut out = input.to_vec();
    let n = 1 + rng.below(6);
    for _ in 0..n {
        mutate_once(rng, &mut out, pool, dict);
    }
    out.truncate(max_len);
    out
}

fn mutate_once(rng: &mut Rng, b: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&[u8]]) {
    let len = b.len();
    match rng.below(14) {
        0 if len > 0 => {
            let i = rng.below(len);
            b[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            b[i] = rng.next_u64() as u8;
        }
        2 if len > 0 => {
            let i = rng.below(len);
            b[i] = [0u8, 1, 0x7f, 0x80, 0xff, b'0', b'"', b'\\'][rng.below(8)];
        }
        3 if len > 0 => {
            let width = [1usize, 2, 4, 8][rng.below(4)];
            let v = INTERESTING[rng.below(INTERESTING.len())];
            let v = if rng.one_in(4) { v.wrapping_neg() } else { v };
            let bytes = v.to_le_bytes();
            let i = rng.below(len);
            for (k, byte) in bytes.iter().take(width).enumerate() {
                if let Some(slot) = b.get_mut(i + k) {
                    *slot = *byte;
                }
            }
        }
        4 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let ins: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            b.splice(i..i, ins);
        }
        5 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            b.drain(i..i + n);
        }
        6 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            let copy = b[i..i + n].to_vec();
            let at = rng.below(len + 1);
            b.splice(at..at, copy);
        }
        7 if !pool.is_empty() => {
            let other = &pool[rng.below(pool.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            b.truncate(cut);
            b.extend_from_slice(&other[from..]);
        }
        8 if !pool.is_empty() && len > 0 => {
            let other = &pool[rng.below(pool.len())];
            if !other.is_empty() {
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(128));
                let at = rng.below(len);
                let end = (at + n).min(len);
                b.splice(at..end, other[from..from + n].iter().copied());
            }
        }
        9 if len > 0 => b.truncate(rng.below(len)),
        10 if !dict.is_empty() => {
            let tok = dict[rng.below(dict.len())];
            let at = rng.below(len + 1);
            b.splice(at..at, tok.iter().copied());
        }
        11 => replace_number(rng, b),
        12 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below(64);
            let byte = b[i];
            b.splice(i..i, std::iter::repeat_n(byte, n));
        }
        _ if len > 1 => {
            let i = rng.below(len);
            let j = rng.below(len);
            b.swap(i, j);
        }
        _ => b.push(rng.next_u64() as u8),
    }
}

/// Replaces a run of ASCII digits (with a leading `-`) by one of [`NUMBERS`].
fn replace_number(rng: &mut Rng, b: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..b.len())
        .filter(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let mut s = starts[rng.below(starts.len())];
    let mut e = s;
    while e < b.len() && (b[e].is_ascii_digit() || b[e] == b'.') {
        e += 1;
    }
    if s > 0 && b[s - 1] == b'-' {
        s -= 1;
    }
    let num = NUMBERS[rng.below(NUMBERS.len())];
    b.splice(s..e, num.bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed gives the same mutations; the length bound holds.
    #[test]
    fn deterministic_and_bounded() {
        let seed = b"graph frac_bits=18\nv0 = input 12".to_vec();
        let run = |s| {
            let mut rng = Rng::new(s);
            (0..200)
                .map(|_| mutate(&mut rng, &seed, std::slice::from_ref(&seed), &[b"{"], 40))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(1), run(1));
        assert_eq!(a, b);
        assert_ne!(a, run(2));
        assert!(a.iter().all(|m| m.len() <= 40));
        assert!(a.iter().any(|m| m != &seed));
    }
}
