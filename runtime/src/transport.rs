//! The one transport trait all party traffic goes through, and its in-process implementation.

use mpcc_ir::PartyId;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A transport failure, naming the peer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The peer closed its end.
    #[error("party {peer} disconnected")]
    Disconnected {
        /// The peer.
        peer: PartyId,
    },
    /// Nothing arrived from the peer in time.
    #[error("party {peer} sent nothing for {secs} s (timeout)")]
    Timeout {
        /// The peer.
        peer: PartyId,
        /// Seconds waited.
        secs: u64,
    },
    /// Any other I/O failure.
    #[error("link to party {peer}: {message}")]
    Io {
        /// The peer.
        peer: PartyId,
        /// What happened.
        message: String,
    },
}

/// Point-to-point, ordered, reliable messages between the three parties.
///
/// **Invariant:** every byte a party sends to another party goes through `send`.
pub trait Transport: Send {
    /// This party's id.
    fn id(&self) -> PartyId;
    /// Sends one message to `to`.
    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError>;
    /// Receives the next message from `from`.
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError>;
}

/// In-process links: one channel per ordered pair of parties.
pub struct LocalTransport {
    id: PartyId,
    tx: [Option<Sender<Vec<u8>>>; 3],
    rx: [Option<Receiver<Vec<u8>>>; 3],
    timeout: Duration,
}

impl LocalTransport {
    /// Three connected endpoints, for parties 0, 1 and 2.
    pub fn triple(timeout: Duration) -> [LocalTransport; 3] {
        let mut tx: [[Option<Sender<Vec<u8>>>; 3]; 3] = Default::default();
        let mut rx: [[Option<Receiver<Vec<u8>>>; 3]; 3] = Default::default();
        for from in 0..3 {
            for to in 0..3 {
                if from != to {
                    let (t, r) = channel();
                    tx[from][to] = Some(t);
                    rx[to][from] = Some(r);
                }
            }
        }
        let [t0, t1, t2] = tx;
        let [r0, r1, r2] = rx;
        [(0, t0, r0), (1, t1, r1), (2, t2, r2)].map(|(id, tx, rx)| LocalTransport {
            id,
            tx,
            rx,
            timeout,
        })
    }
}

impl Transport for LocalTransport {
    fn id(&self) -> PartyId {
        self.id
    }
    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        let tx = self.tx[to as usize].as_ref().ok_or(TransportError::Io {
            peer: to,
            message: "no link to self".into(),
        })?;
        tx.send(data.to_vec())
            .map_err(|_| TransportError::Disconnected { peer: to })
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let rx = self.rx[from as usize].as_ref().ok_or(TransportError::Io {
            peer: from,
            message: "no link to self".into(),
        })?;
        rx.recv_timeout(self.timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => TransportError::Timeout {
                peer: from,
                secs: self.timeout.as_secs(),
            },
            RecvTimeoutError::Disconnected => TransportError::Disconnected { peer: from },
        })
    }
}
