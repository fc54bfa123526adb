//! The party network layer: a peer's hello and a stranger's TLS bytes (`handshake`), a
//! peer's plaintext stream through the frame reassembly (`framing`), and a peer's messages
//! to one party running a plan (`peer`): its seed agreement and every round after, through
//! a transport that replays them.

use super::outcome;
use crate::seeds::PLANS;
use mpcc_ir::plan::Plan;
use mpcc_ir::PartyId;
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::net::fuzzing;
use mpcc_runtime::transport::{LocalTransport, Transport, TransportError};
use mpcc_runtime::vm::run_party;
use mpcc_runtime::{party_data, PartyData, RtError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Prefixes `bytes` with the byte that picks a [`handshake`] mode.
pub fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    [&[mode], bytes].concat()
}

/// The 45-byte hello party `id` sends for the fuzzing plan digest.
pub fn hello_bytes(id: PartyId) -> Vec<u8> {
    let mut b = b"MPCCNET\0".to_vec();
    b.extend_from_slice(&mpcc_runtime::net::NET_PROTOCOL_VERSION.to_le_bytes());
    b.push(id);
    b.extend_from_slice(&fuzzing::DIGEST);
    b
}

/// The first byte picks the mode (mod 3): 0, the rest is party 1's hello to party 0;
/// 1, a stranger's TLS bytes to party 0's listener; 2, a server's TLS bytes to party 0
/// dialing party 1. The second byte sets the piece size of the TLS modes.
pub fn handshake(data: &[u8]) -> String {
    let (mode, rest) = data.split_first().unwrap_or((&0, &[]));
    match mode % 3 {
        0 => {
            let r = fuzzing::hello(rest);
            if r.is_ok() {
                assert_eq!(&rest[..45], hello_bytes(1), "only the right hello passes");
            }
            outcome("hello", r)
        }
        m => {
            let (chunk, tls) = rest.split_first().unwrap_or((&0, &[]));
            let chunk = if *chunk == 0 {
                usize::MAX
            } else {
                *chunk as usize * 7
            };
            let r = fuzzing::stranger_tls(tls, chunk, m == 1);
            assert!(
                !matches!(r, Ok(true)),
                "a stranger completed the TLS handshake"
            );
            outcome("tls", r.map(drop))
        }
    }
}

/// The first byte sets the piece size; the rest is the stream. What reassembles must be
/// the same whatever the pieces, and a data frame is never longer than the stream.
pub fn framing(data: &[u8]) -> String {
    let (chunk, rest) = data.split_first().unwrap_or((&1, &[]));
    let got = fuzzing::frames(rest, *chunk as usize + 1);
    let whole = fuzzing::frames(rest, usize::MAX);
    assert_eq!(got, whole, "frames depend on how the stream was cut");
    assert!(got.data.iter().all(|m| m.len() + 9 <= rest.len()));
    match &got.error {
        Some(e) => format!("frames: {e}"),
        None => format!(
            "frames: ok {} {}",
            got.data.len().min(3),
            got.aborts.len().min(3)
        ),
    }
}

/// The plan the `peer` target runs: the seed plan within the VM budgets with the most
/// kinds of instruction (the passes' fixture after lowering: products, truncations,
/// comparisons, polynomials, reciprocals).
fn peer_plan() -> &'static Plan {
    PLANS
        .iter()
        .map(|(p, _)| p)
        .filter(|p| super::vm::within_budget(p).is_ok() && p.graph().nodes.len() < 1000)
        .max_by_key(|p| {
            let mut kinds: Vec<&str> = p.graph().nodes.iter().map(|n| n.op.name()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds.len()
        })
        .expect("a seed plan within the budgets")
}

/// What each party brings to a `peer_plan` run.
fn peer_data(plan: &Plan) -> [PartyData; 3] {
    let inputs = super::vm::inputs_for(plan);
    let weights = super::vm::weights_for(plan);
    party_data(plan, &inputs, Some(Arc::new(weights)))
}

/// A transport that replays messages from the two peers and drops what is sent.
struct Replay {
    id: PartyId,
    queues: [VecDeque<Vec<u8>>; 3],
}

impl Transport for Replay {
    fn id(&self) -> PartyId {
        self.id
    }
    fn send(&mut self, _to: PartyId, _data: &[u8]) -> Result<(), TransportError> {
        Ok(())
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        self.queues
            .get_mut(from as usize)
            .and_then(|q| q.pop_front())
            .ok_or(TransportError::Disconnected { peer: from })
    }
}

/// Decodes a transcript: the party byte (mod 3), then messages as (sender byte mod 3,
/// u16 length, bytes); a message cut short by the end keeps what there is.
fn decode(data: &[u8]) -> (PartyId, [VecDeque<Vec<u8>>; 3]) {
    let (id, mut rest) = data.split_first().map_or((0, &[][..]), |(i, r)| (i % 3, r));
    let mut queues: [VecDeque<Vec<u8>>; 3] = Default::default();
    while rest.len() >= 3 {
        let from = rest[0] % 3;
        let len = u16::from_le_bytes([rest[1], rest[2]]) as usize;
        let end = (3 + len).min(rest.len());
        if from != id {
            queues[from as usize].push_back(rest[3..end].to_vec());
        }
        rest = &rest[end..];
    }
    (id, queues)
}

/// Encodes what party `id` received, as [`decode`] reads it.
fn encode(id: PartyId, received: &[(PartyId, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![id];
    for (from, m) in received {
        out.push(*from);
        out.extend_from_slice(&(m.len().min(u16::MAX as usize) as u16).to_le_bytes());
        out.extend_from_slice(&m[..m.len().min(u16::MAX as usize)]);
    }
    out
}

/// One party of a `peer_plan` run whose peers' messages are the input.
pub fn peer(data: &[u8]) -> String {
    let plan = peer_plan();
    let (id, queues) = decode(data);
    let d = &peer_data(plan)[id as usize];
    let mut ctx = match Ctx::setup(Box::new(Replay { id, queues })) {
        Err(e) => return outcome("setup", Err::<(), _>(e)),
        Ok(c) => c,
    };
    let r: Result<(), RtError> = run_party(plan, &mut ctx, d, None).map(drop);
    outcome("run", r)
}

/// What a party received, in order: (sender, message).
type Log = Arc<Mutex<Vec<(PartyId, Vec<u8>)>>>;

/// A transport that records what it receives.
struct Recorder {
    inner: LocalTransport,
    log: Log,
}

impl Transport for Recorder {
    fn id(&self) -> PartyId {
        self.inner.id()
    }
    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        self.inner.send(to, data)
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let m = self.inner.recv(from)?;
        if let Ok(mut l) = self.log.lock() {
            l.push((from, m.clone()));
        }
        Ok(m)
    }
}

/// What party `id` receives in a real three-party run of `peer_plan`, encoded as a
/// `peer` input.
pub fn recorded_transcript(id: PartyId) -> Vec<u8> {
    let plan = peer_plan();
    let data = peer_data(plan);
    let logs: [Log; 3] = Default::default();
    let links = LocalTransport::triple(Duration::from_secs(30));
    std::thread::scope(|s| {
        for ((link, d), log) in links.into_iter().zip(&data).zip(&logs) {
            let log = log.clone();
            s.spawn(move || {
                let mut ctx =
                    Ctx::setup(Box::new(Recorder { inner: link, log })).expect("local set-up");
                run_party(plan, &mut ctx, d, None).expect("local run");
            });
        }
    });
    let log = logs[id as usize]
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    encode(id, &log)
}
