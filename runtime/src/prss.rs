//! Correlated randomness from pairwise PRG seeds (pseudo-random secret sharing).
//!
//! Seed `s_j` is known to parties `j` and `j-1`, the two holders of share `x_j`. Party `i`
//! keeps `own` = PRG(s_i) (shared with party i-1) and `next` = PRG(s_{i+1}) (shared with
//! party i+1). A third seed `all` is common to the three parties (public randomness).
//! Seeds come from the OS CSPRNG at session start; the common seed is the hash of one
//! contribution from each party ([`crate::ctx::Ctx::setup`]). The PRG is ChaCha12.
//!
//! **Invariant:** the parties draw from a shared stream in lockstep (same count, same order),
//! which holds because every kernel is deterministic in its public parameters.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// A party's PRGs.
pub struct Prss {
    own: ChaCha12Rng,
    next: ChaCha12Rng,
    all: ChaCha12Rng,
    /// INSECURE, test-only (see Cargo.toml): the first zero sharing of each length, reused.
    #[cfg(feature = "broken-reshare-mask")]
    reused_zero: std::collections::HashMap<usize, Vec<u64>>,
}

/// A fresh 32-byte seed from the operating system's CSPRNG.
pub fn os_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut s);
    s
}

fn fill(rng: &mut ChaCha12Rng, n: usize, mask: u64) -> Vec<u64> {
    let mut v = vec![0u64; n];
    // SAFETY-free path: fill the u64s through a byte view of a temporary buffer.
    let mut bytes = vec![0u8; n * 8];
    rng.fill_bytes(&mut bytes);
    for (x, c) in v.iter_mut().zip(bytes.chunks_exact(8)) {
        *x = u64::from_le_bytes(c.try_into().unwrap()) & mask;
    }
    v
}

impl Prss {
    /// PRGs from the seeds shared with the previous party (`own`), the next party (`next`)
    /// and all parties (`all`).
    pub fn new(own: [u8; 32], next: [u8; 32], all: [u8; 32]) -> Prss {
        Prss {
            own: ChaCha12Rng::from_seed(own),
            next: ChaCha12Rng::from_seed(next),
            all: ChaCha12Rng::from_seed(all),
            #[cfg(feature = "broken-reshare-mask")]
            reused_zero: Default::default(),
        }
    }
    /// n words shared with the previous party (it draws them with [`Prss::next`]).
    pub fn own(&mut self, n: usize, mask: u64) -> Vec<u64> {
        fill(&mut self.own, n, mask)
    }
    /// n words shared with the next party (it draws them with [`Prss::own`]).
    pub fn next(&mut self, n: usize, mask: u64) -> Vec<u64> {
        fill(&mut self.next, n, mask)
    }
    /// n words known to all three parties.
    pub fn all(&mut self, n: usize, mask: u64) -> Vec<u64> {
        fill(&mut self.all, n, mask)
    }
    /// Replicated shares (r_i, r_{i+1}) of a random value no party knows.
    pub fn random_pair(&mut self, n: usize, mask: u64) -> (Vec<u64>, Vec<u64>) {
        (self.own(n, mask), self.next(n, mask))
    }
    /// This party's part of a 3-out-of-3 sharing of zero.
    pub fn zero(&mut self, n: usize, mask: u64) -> Vec<u64> {
        let a = self.own(n, mask);
        let b = self.next(n, mask);
        let z: Vec<u64> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| x.wrapping_sub(*y) & mask)
            .collect();
        #[cfg(feature = "broken-reshare-mask")]
        let z = self.reused_zero.entry(n).or_insert(z).clone();
        z
    }
}
