//! A party's session: its links, its PRGs and the traffic counters, with the one round
//! primitive every protocol kernel uses.

use crate::prss::{os_seed, Prss};
use crate::transport::{Transport, TransportError};
use mpcc_ir::PartyId;

/// Traffic of one party, counted at the transport boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Payload bytes this party sent.
    pub bytes_sent: u64,
    /// Messages this party sent.
    pub messages: u64,
    /// Communication rounds this party took part in.
    pub rounds: u64,
}

/// Payload bytes each party sends in [`Ctx::setup`]: its pairwise seed and its common-seed
/// contribution to the previous party (64), its contribution to the next party (32).
pub const SETUP_BYTES: u64 = 96;

/// Domain separation of the common seed's hash.
const COMMON_SEED_DOMAIN: &[u8] = b"mpcc common seed v1";

/// The common seed from the three parties' contributions, in party order.
fn common_seed(contributions: &[[u8; 32]; 3]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(COMMON_SEED_DOMAIN);
    for c in contributions {
        h.update(c);
    }
    h.finalize().into()
}

/// What one round delivers: the messages from the previous and from the next party.
pub type Received = (Option<Vec<u8>>, Option<Vec<u8>>);

/// One party's view of a running session.
pub struct Ctx {
    /// This party's id.
    pub id: PartyId,
    transport: Box<dyn Transport>,
    /// Correlated randomness.
    pub prss: Prss,
    /// Counters since the last [`Ctx::take_stats`].
    pub stats: Stats,
}

impl Ctx {
    /// Starts a session: agrees the pairwise and common PRG seeds over the transport
    /// (one round; counted as set-up traffic in `stats`).
    ///
    /// Every party draws two fresh 32-byte seeds from the OS: its pairwise seed `s_i`, which
    /// it shares with the previous party, and its contribution `c_i` to the common seed. It
    /// sends `s_i ‖ c_i` to the previous party and `c_i` to the next one, so each party
    /// sends [`SETUP_BYTES`] in two messages. The common seed is
    /// `SHA-256(COMMON_SEED_DOMAIN ‖ c_0 ‖ c_1 ‖ c_2)`: no single party chooses it.
    pub fn setup(mut transport: Box<dyn Transport>) -> Result<Ctx, TransportError> {
        let id = transport.id();
        let (next, prev) = ((id + 1) % 3, (id + 2) % 3);
        let own = os_seed();
        let contribution = os_seed();
        transport.send(prev, &[own, contribution].concat())?;
        transport.send(next, &contribution)?;
        let from_next = transport.recv(next)?;
        let from_prev = transport.recv(prev)?;
        let bad = |peer| TransportError::Io {
            peer,
            message: "bad seed message".into(),
        };
        if from_next.len() != 64 {
            return Err(bad(next));
        }
        let next_seed: [u8; 32] = from_next[..32].try_into().map_err(|_| bad(next))?;
        let mut contributions = [[0u8; 32]; 3];
        contributions[id as usize] = contribution;
        contributions[next as usize] = from_next[32..].try_into().map_err(|_| bad(next))?;
        contributions[prev as usize] = from_prev.as_slice().try_into().map_err(|_| bad(prev))?;
        Ok(Ctx {
            id,
            transport,
            prss: Prss::new(own, next_seed, common_seed(&contributions)),
            stats: Stats {
                bytes_sent: SETUP_BYTES,
                messages: 2,
                rounds: 1,
            },
        })
    }

    /// The next party, i+1 mod 3.
    pub fn next(&self) -> PartyId {
        (self.id + 1) % 3
    }
    /// The previous party, i-1 mod 3.
    pub fn prev(&self) -> PartyId {
        (self.id + 2) % 3
    }

    /// One communication round. Sends the given messages to the next and previous party,
    /// then receives the expected ones. Every party calls this once per round, also when it
    /// neither sends nor receives, so that all parties count the same rounds.
    pub fn exchange(
        &mut self,
        to_next: Option<&[u8]>,
        to_prev: Option<&[u8]>,
        from_prev: bool,
        from_next: bool,
    ) -> Result<Received, TransportError> {
        self.stats.rounds += 1;
        if let Some(m) = to_next {
            self.stats.bytes_sent += m.len() as u64;
            self.stats.messages += 1;
            let to = self.next();
            self.transport.send(to, m)?;
        }
        if let Some(m) = to_prev {
            self.stats.bytes_sent += m.len() as u64;
            self.stats.messages += 1;
            let to = self.prev();
            self.transport.send(to, m)?;
        }
        let p = if from_prev {
            Some(self.transport.recv(self.prev())?)
        } else {
            None
        };
        let n = if from_next {
            Some(self.transport.recv(self.next())?)
        } else {
            None
        };
        Ok((p, n))
    }

    /// Sends to an arbitrary party outside the round structure (used by `exchange_any`).
    fn send_to(&mut self, to: PartyId, m: &[u8]) -> Result<(), TransportError> {
        self.stats.bytes_sent += m.len() as u64;
        self.stats.messages += 1;
        self.transport.send(to, m)
    }

    /// One round with explicit destinations: `sends` are (to, payload), `recvs` the parties
    /// to hear from, in order. Returns the received payloads in `recvs` order.
    pub fn exchange_any(
        &mut self,
        sends: &[(PartyId, &[u8])],
        recvs: &[PartyId],
    ) -> Result<Vec<Vec<u8>>, TransportError> {
        self.stats.rounds += 1;
        for (to, m) in sends {
            self.send_to(*to, m)?;
        }
        recvs.iter().map(|&p| self.transport.recv(p)).collect()
    }

    /// Returns the counters and resets them.
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;
    use std::time::Duration;

    /// Every party counts exactly what it sends in set-up (96 bytes in 2 messages, 1 round),
    /// and all three derive the same common stream and matching pairwise streams.
    #[test]
    fn setup_agrees_seeds_and_counts_its_traffic() {
        let links = LocalTransport::triple(Duration::from_secs(10));
        let mut ctxs: Vec<Ctx> = std::thread::scope(|s| {
            let hs: Vec<_> = links
                .into_iter()
                .map(|l| s.spawn(move || Ctx::setup(Box::new(l)).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all = Vec::new();
        let mut own = Vec::new();
        let mut next = Vec::new();
        for c in &mut ctxs {
            let st = c.take_stats();
            assert_eq!((st.bytes_sent, st.messages, st.rounds), (SETUP_BYTES, 2, 1));
            all.push(c.prss.all(4, u64::MAX));
            own.push(c.prss.own(4, u64::MAX));
            next.push(c.prss.next(4, u64::MAX));
        }
        assert!(all[0] == all[1] && all[1] == all[2]);
        for i in 0..3 {
            assert_eq!(next[i], own[(i + 1) % 3], "party {i} and its next party");
        }
        assert_ne!(own[0], own[1]);
    }

    /// The common seed depends on every party's contribution (none alone fixes it).
    #[test]
    fn common_seed_depends_on_every_contribution() {
        let base = [[1u8; 32], [2u8; 32], [3u8; 32]];
        let s = common_seed(&base);
        for p in 0..3 {
            let mut c = base;
            c[p][7] ^= 1;
            assert_ne!(common_seed(&c), s, "contribution of party {p}");
        }
    }
}
