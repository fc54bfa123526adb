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
    pub fn setup(mut transport: Box<dyn Transport>) -> Result<Ctx, TransportError> {
        let id = transport.id();
        let (next, prev) = ((id + 1) % 3, (id + 2) % 3);
        let own = os_seed();
        let all_mine = os_seed();
        transport.send(prev, &own)?;
        if id == 0 {
            transport.send(1, &all_mine)?;
            transport.send(2, &all_mine)?;
        }
        let next_seed = transport.recv(next)?;
        let all = if id == 0 {
            all_mine.to_vec()
        } else {
            transport.recv(0)?
        };
        let to32 = |v: Vec<u8>, peer| {
            <[u8; 32]>::try_from(v.as_slice()).map_err(|_| TransportError::Io {
                peer,
                message: "bad seed message".into(),
            })
        };
        let next_seed = to32(next_seed, next)?;
        let all = to32(all, 0)?;
        let sent = if id == 0 { 96 } else { 32 };
        let messages = if id == 0 { 3 } else { 1 };
        Ok(Ctx {
            id,
            transport,
            prss: Prss::new(own, next_seed, all),
            stats: Stats {
                bytes_sent: sent,
                messages,
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
