//! Established TLS links and the [`TlsTransport`] over them.
//!
//! Each link has a writer thread and a reader thread sharing the rustls connection behind a
//! mutex that is never held during socket I/O. `send` only queues, so two parties sending
//! large messages to each other at the same time cannot deadlock on full socket buffers;
//! `recv` waits on the reader's queue with the stall timeout.

use super::shape::{sleep_until, LinkShape, Pacer};
use crate::transport::{Transport, TransportError};
use mpcc_ir::PartyId;
use rustls::Connection;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const KIND_DATA: u8 = 0;
const KIND_ABORT: u8 = 1;
const HEADER: usize = 9;
const CHUNK: usize = 256 * 1024;

/// What the writer thread is asked to do.
enum Out {
    Data(Vec<u8>, Instant),
    Abort(String),
    Flush,
    Close,
}

/// What the reader thread delivers.
pub(super) enum Incoming {
    Data(Vec<u8>),
    Abort(String),
    Closed(String),
}

/// Traffic counters of one link (this party's sending side).
#[derive(Default)]
struct Counters {
    payload: AtomicU64,
    messages: AtomicU64,
    wire: AtomicU64,
}

/// Bytes this party sent on each link, by peer (its own entry stays zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Payload bytes (what [`crate::ctx::Ctx`] counts).
    pub payload: [u64; 3],
    /// Messages.
    pub messages: [u64; 3],
    /// Bytes written to the sockets after the handshakes: payload, framing and TLS records.
    pub wire: [u64; 3],
}

struct Shared {
    conn: Mutex<Connection>,
    error: Mutex<Option<String>>,
    counters: Counters,
    /// Set by [`NetHandle::abort`]: queued data is dropped, only the abort goes out.
    aborting: AtomicBool,
}

impl Shared {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn fail(&self, message: String) {
        let mut e = self.error.lock().unwrap_or_else(|p| p.into_inner());
        e.get_or_insert(message);
    }
    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Link {
    tx: Sender<Out>,
    rx: Receiver<Incoming>,
    writer_done: Receiver<()>,
    sock: TcpStream,
    shared: Arc<Shared>,
}

/// The party-to-party transport over TLS links.
pub struct TlsTransport {
    id: PartyId,
    links: [Option<Link>; 3],
    timeout: Duration,
}

/// A handle that outlives the boxed transport's borrow: reads the counters and tells the
/// peers why this party stops.
#[derive(Clone)]
pub struct NetHandle {
    tx: [Option<Sender<Out>>; 3],
    shared: [Option<Arc<Shared>>; 3],
}

impl TlsTransport {
    /// Starts the reader and writer threads of established links (`links[p]` for each peer).
    pub(crate) fn start(
        id: PartyId,
        links: [Option<(Connection, TcpStream)>; 3],
        timeout: Duration,
        shape: Option<LinkShape>,
    ) -> Result<TlsTransport, std::io::Error> {
        let mut out: [Option<Link>; 3] = Default::default();
        for (p, l) in links.into_iter().enumerate() {
            if let Some((conn, sock)) = l {
                out[p] = Some(Link::start(p as PartyId, conn, sock, timeout, shape)?);
            }
        }
        Ok(TlsTransport {
            id,
            links: out,
            timeout,
        })
    }

    /// A handle for counters and aborts.
    pub fn handle(&self) -> NetHandle {
        NetHandle {
            tx: std::array::from_fn(|p| self.links[p].as_ref().map(|l| l.tx.clone())),
            shared: std::array::from_fn(|p| self.links[p].as_ref().map(|l| l.shared.clone())),
        }
    }

    fn link(&mut self, peer: PartyId) -> Result<&mut Link, TransportError> {
        self.links
            .get_mut(peer as usize)
            .and_then(|l| l.as_mut())
            .ok_or(TransportError::Io {
                peer,
                message: "no link to this party".into(),
            })
    }
}

impl NetHandle {
    /// Bytes and messages sent so far, per peer.
    pub fn stats(&self) -> NetStats {
        let mut s = NetStats::default();
        for (p, sh) in self.shared.iter().enumerate() {
            if let Some(sh) = sh {
                s.payload[p] = sh.counters.payload.load(Ordering::Relaxed);
                s.messages[p] = sh.counters.messages.load(Ordering::Relaxed);
                s.wire[p] = sh.counters.wire.load(Ordering::Relaxed);
            }
        }
        s
    }

    /// Tells every peer that this party stops, and why (they fail with this reason instead
    /// of a bare disconnect). Call before dropping the transport.
    pub fn abort(&self, reason: &str) {
        for sh in self.shared.iter().flatten() {
            sh.aborting.store(true, Ordering::Relaxed);
        }
        for tx in self.tx.iter().flatten() {
            let _ = tx.send(Out::Abort(reason.to_string()));
        }
    }
}

impl Link {
    fn start(
        peer: PartyId,
        mut conn: Connection,
        sock: TcpStream,
        timeout: Duration,
        shape: Option<LinkShape>,
    ) -> Result<Link, std::io::Error> {
        conn.set_buffer_limit(None);
        sock.set_read_timeout(None)?;
        sock.set_write_timeout(Some(timeout))?;
        sock.set_nodelay(true)?;
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            error: Mutex::new(None),
            counters: Counters::default(),
            aborting: AtomicBool::new(false),
        });
        let (tx, out_rx) = channel();
        let (in_tx, rx) = channel();
        let (done_tx, writer_done) = channel();
        let (w_sock, r_sock) = (sock.try_clone()?, sock.try_clone()?);
        let (w_shared, r_shared, flush) = (shared.clone(), shared.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("mpcc-net-w{peer}"))
            .spawn(move || {
                writer(&w_shared, w_sock, out_rx, shape.map(Pacer::new));
                let _ = done_tx.send(());
            })?;
        std::thread::Builder::new()
            .name(format!("mpcc-net-r{peer}"))
            .spawn(move || reader(&r_shared, r_sock, in_tx, flush))?;
        Ok(Link {
            tx,
            rx,
            writer_done,
            sock,
            shared,
        })
    }
}

impl Transport for TlsTransport {
    fn id(&self) -> PartyId {
        self.id
    }

    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        let link = self.link(to)?;
        if let Some(e) = link.shared.error() {
            return Err(TransportError::Io {
                peer: to,
                message: e,
            });
        }
        link.tx
            .send(Out::Data(data.to_vec(), Instant::now()))
            .map_err(|_| TransportError::Disconnected { peer: to })
    }

    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let timeout = self.timeout;
        let link = self.link(from)?;
        match link.rx.recv_timeout(timeout) {
            Ok(Incoming::Data(m)) => Ok(m),
            Ok(Incoming::Abort(reason)) => Err(TransportError::Io {
                peer: from,
                message: format!("party {from} stopped: {reason}"),
            }),
            Ok(Incoming::Closed(why)) => Err(match link.shared.error() {
                Some(e) => TransportError::Io {
                    peer: from,
                    message: e,
                },
                None if why.is_empty() => TransportError::Disconnected { peer: from },
                None => TransportError::Io {
                    peer: from,
                    message: format!("connection lost: {why}"),
                },
            }),
            Err(RecvTimeoutError::Timeout) => {
                // The peer may itself be waiting on the third party (a stalled owner leaves
                // both others waiting): give it a moment to say so, so that the error names
                // the party that stalled rather than the one in between.
                let grace = timeout.min(Duration::from_secs(2));
                if let Ok(Incoming::Abort(reason)) = link.rx.recv_timeout(grace) {
                    return Err(TransportError::Io {
                        peer: from,
                        message: format!("party {from} stopped: {reason}"),
                    });
                }
                Err(TransportError::Timeout {
                    peer: from,
                    secs: timeout.as_secs(),
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(TransportError::Disconnected { peer: from }),
        }
    }
}

impl Drop for TlsTransport {
    /// Flushes what is queued (within the timeout; within two seconds after an abort),
    /// closes the links and ends the reader threads.
    fn drop(&mut self) {
        let aborting = self
            .links
            .iter()
            .flatten()
            .any(|l| l.shared.aborting.load(Ordering::Relaxed));
        let wait = if aborting {
            self.timeout.min(Duration::from_secs(2))
        } else {
            self.timeout
        };
        let deadline = Instant::now() + wait;
        for l in self.links.iter().flatten() {
            let _ = l.tx.send(Out::Close);
        }
        for l in self.links.iter().flatten() {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = l.writer_done.recv_timeout(left);
            let _ = l.sock.shutdown(Shutdown::Both);
        }
    }
}

/// The writer thread: frames, paces, encrypts and writes; stops at the first failure.
fn writer(shared: &Shared, mut sock: TcpStream, rx: Receiver<Out>, mut pacer: Option<Pacer>) {
    for cmd in rx {
        let r = match cmd {
            Out::Data(_, _) if shared.aborting.load(Ordering::Relaxed) => Ok(()),
            Out::Data(m, at) => {
                if let Some(p) = pacer.as_mut() {
                    sleep_until(p.deliver_at(at, m.len() + HEADER));
                }
                shared
                    .counters
                    .payload
                    .fetch_add(m.len() as u64, Ordering::Relaxed);
                shared.counters.messages.fetch_add(1, Ordering::Relaxed);
                write_frame(shared, &mut sock, KIND_DATA, &m)
            }
            Out::Abort(reason) => write_frame(shared, &mut sock, KIND_ABORT, reason.as_bytes()),
            Out::Flush => write_plain(shared, &mut sock, &[]),
            Out::Close => {
                shared.conn().send_close_notify();
                let r = write_plain(shared, &mut sock, &[]);
                let _ = sock.shutdown(Shutdown::Write);
                return drop(r);
            }
        };
        if let Err(e) = r {
            shared.fail(format!("sending failed: {e}"));
            return;
        }
    }
}

fn write_frame(shared: &Shared, sock: &mut TcpStream, kind: u8, m: &[u8]) -> std::io::Result<()> {
    let mut h = [0u8; HEADER];
    h[0] = kind;
    h[1..].copy_from_slice(&(m.len() as u64).to_le_bytes());
    write_plain(shared, sock, &h)?;
    for c in m.chunks(CHUNK) {
        write_plain(shared, sock, c)?;
    }
    Ok(())
}

/// Encrypts `data` under the lock, then writes the records without it.
fn write_plain(shared: &Shared, sock: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let mut tls = Vec::with_capacity(data.len() + 64);
    {
        let mut conn = shared.conn();
        conn.writer().write_all(data)?;
        while conn.wants_write() {
            conn.write_tls(&mut tls)?;
        }
    }
    sock.write_all(&tls)?;
    shared
        .counters
        .wire
        .fetch_add(tls.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// The reader thread: decrypts, reassembles frames and queues them for `recv`.
fn reader(shared: &Shared, mut sock: TcpStream, tx: Sender<Incoming>, flush: Sender<Out>) {
    let mut asm = Assembler::default();
    let mut buf = vec![0u8; CHUNK];
    let mut input: &[u8] = &[];
    loop {
        let (plain, state) = match pump(shared, &mut input) {
            Ok(x) => x,
            Err(e) => return drop(tx.send(Incoming::Closed(e))),
        };
        for ev in asm.feed(&plain) {
            if tx.send(ev).is_err() {
                return;
            }
        }
        if let Err(e) = asm.error() {
            return drop(tx.send(Incoming::Closed(e)));
        }
        match state {
            Pumped::Closed => return drop(tx.send(Incoming::Closed(String::new()))),
            Pumped::WantsWrite => drop(flush.send(Out::Flush)),
            Pumped::Open => {}
        }
        let n = match sock.read(&mut buf) {
            Ok(0) => return drop(tx.send(Incoming::Closed(String::new()))),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => 0,
            Err(e) => return drop(tx.send(Incoming::Closed(e.to_string()))),
        };
        input = &buf[..n];
    }
}

enum Pumped {
    Open,
    WantsWrite,
    Closed,
}

/// Feeds received TLS bytes to the connection and takes out the plaintext.
fn pump(shared: &Shared, input: &mut &[u8]) -> Result<(Vec<u8>, Pumped), String> {
    let mut conn = shared.conn();
    let mut plain = Vec::new();
    let mut closed = false;
    loop {
        conn.process_new_packets()
            .map_err(|e| format!("TLS error: {e}"))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match conn.reader().read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => plain.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        if input.is_empty() || closed {
            break;
        }
        conn.read_tls(input).map_err(|e| e.to_string())?;
    }
    let state = match (closed, conn.wants_write()) {
        (true, _) => Pumped::Closed,
        (false, true) => Pumped::WantsWrite,
        (false, false) => Pumped::Open,
    };
    Ok((plain, state))
}

/// Reassembles frames from the plaintext stream.
#[derive(Default)]
pub(super) struct Assembler {
    header: Vec<u8>,
    body: Option<(u8, usize, Vec<u8>)>,
    bad: Option<String>,
}

impl Assembler {
    pub(super) fn feed(&mut self, mut data: &[u8]) -> Vec<Incoming> {
        let mut out = Vec::new();
        while !data.is_empty() && self.bad.is_none() {
            match &mut self.body {
                None => {
                    let take = (HEADER - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() == HEADER {
                        self.start_body();
                    }
                }
                Some((_, len, body)) => {
                    let take = (*len - body.len()).min(data.len());
                    body.extend_from_slice(&data[..take]);
                    data = &data[take..];
                }
            }
            if let Some((kind, len, body)) = &self.body {
                if body.len() == *len {
                    let (kind, body) = (*kind, self.body.take().expect("some").2);
                    out.push(match kind {
                        KIND_DATA => Incoming::Data(body),
                        _ => Incoming::Abort(String::from_utf8_lossy(&body).into_owned()),
                    });
                }
            }
        }
        out
    }

    fn start_body(&mut self) {
        let kind = self.header[0];
        let len = u64::from_le_bytes(self.header[1..].try_into().expect("8 bytes"));
        self.header.clear();
        if kind > KIND_ABORT || len > (1 << 40) {
            self.bad = Some(format!("bad frame (kind {kind}, length {len})"));
            return;
        }
        let len = len as usize;
        self.body = Some((kind, len, Vec::with_capacity(len.min(64 << 20))));
    }

    pub(super) fn error(&self) -> Result<(), String> {
        match &self.bad {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}
