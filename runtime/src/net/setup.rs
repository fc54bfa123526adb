//! Connection set-up: listen, dial lower-numbered parties with retries, accept the
//! higher-numbered ones, run TLS and the hello on each link, all within a time limit. Each
//! incoming connection is handshaken on its own thread with a short deadline
//! ([`HANDSHAKE_WAIT`]), so strangers (idle, garbage, unknown certificates) cannot delay the
//! real peers; they are logged with their address and named in a set-up failure.

use super::handshake::{self, Hello, NET_PROTOCOL_VERSION};
use super::keys::{server_name, PartyKeys};
use super::link::TlsTransport;
use super::shape::LinkShape;
use super::{tls, NetError};
use mpcc_ir::PartyId;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Called with one line for each notable set-up event (a refused connection, a retry).
pub type EventFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How a party joins the network.
#[derive(Clone)]
pub struct NetConfig {
    /// This party.
    pub id: PartyId,
    /// The parties' addresses (`HOST:PORT`), by id; party i listens on `addrs[i]`.
    pub addrs: [String; 3],
    /// Keys and pinned certificates.
    pub keys: PartyKeys,
    /// Digest of the plan this party runs.
    pub plan_digest: [u8; 32],
    /// How long a party waits for a message (or for a write to drain) before failing.
    pub timeout: Duration,
    /// How long set-up may take in all (retrying refused connections meanwhile).
    pub connect_timeout: Duration,
    /// Optional link shaping, applied by each sender.
    pub shape: Option<LinkShape>,
    /// Optional log of set-up events.
    pub on_event: Option<EventFn>,
}

impl NetConfig {
    pub(crate) fn event(&self, line: &str) {
        if let Some(f) = &self.on_event {
            f(line);
        }
    }
    fn hello(&self) -> Hello {
        Hello {
            version: NET_PROTOCOL_VERSION,
            id: self.id,
            digest: self.plan_digest,
        }
    }
}

/// Binds the listening socket for `addr`.
pub fn bind(addr: &str) -> Result<TcpListener, NetError> {
    TcpListener::bind(addr).map_err(|e| NetError::Bind {
        addr: addr.into(),
        message: e.to_string(),
    })
}

type Established = (PartyId, Connection, TcpStream);

/// Connects this party to the two others: dials each party `j < id`, accepts each `j > id`
/// on `listener`, and returns the transport once both links have passed TLS and the hello.
pub fn establish(cfg: &NetConfig, listener: TcpListener) -> Result<TlsTransport, NetError> {
    if cfg.id > 2 || cfg.keys.id != cfg.id {
        return Err(NetError::Tls(format!(
            "party id {} does not match the keys (party {})",
            cfg.id, cfg.keys.id
        )));
    }
    let deadline = Instant::now() + cfg.connect_timeout;
    let stop = AtomicBool::new(false);
    let (dialed, accepted) = std::thread::scope(|s| {
        let acc = s.spawn(|| {
            let r = accept_all(cfg, &listener, deadline, &stop);
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            r
        });
        let mut dialed = Vec::new();
        for p in 0..cfg.id {
            match dial(cfg, p, deadline, &stop) {
                Ok(e) => dialed.push(e),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    dialed.clear();
                    return (Err(e), acc.join().unwrap_or(Err(None)));
                }
            }
        }
        (Ok(dialed), acc.join().unwrap_or(Err(None)))
    });
    // Report the cause, not the side that was told to stop because of it.
    let (dialed, accepted) = match (dialed, accepted) {
        (Ok(d), Ok(a)) => (d, a),
        (Err(Some(e)), _) | (_, Err(Some(e))) => return Err(e),
        _ => return Err(NetError::Tls("set-up stopped".into())),
    };
    let mut links: [Option<(Connection, TcpStream)>; 3] = Default::default();
    for (p, conn, sock) in dialed.into_iter().chain(accepted) {
        links[p as usize] = Some((conn, sock));
    }
    TlsTransport::start(cfg.id, links, cfg.timeout, cfg.shape).map_err(|e| NetError::Io {
        peer: cfg.id,
        message: format!("starting link threads: {e}"),
    })
}

/// A failed attempt: worth retrying, or final.
enum Attempt {
    Retry(String),
    Fatal(NetError),
}

/// Set-up result of one side: `Err(None)` when it stopped because the other side failed.
type SideResult<T> = Result<T, Option<NetError>>;

fn dial(
    cfg: &NetConfig,
    peer: PartyId,
    deadline: Instant,
    stop: &AtomicBool,
) -> SideResult<Established> {
    let addr = &cfg.addrs[peer as usize];
    let mut last = String::from("no attempt");
    let mut tries = 0u32;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err(None);
        }
        match dial_once(cfg, peer, deadline) {
            Ok(x) => return Ok(x),
            Err(Attempt::Fatal(e)) => return Err(Some(e)),
            Err(Attempt::Retry(m)) => {
                tries += 1;
                if tries == 1 || tries.is_multiple_of(50) {
                    cfg.event(&format!(
                        "party {peer} at {addr} not reachable yet ({m}); retrying"
                    ));
                }
                last = m;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Err(Some(NetError::Unreachable {
        peer,
        addr: addr.clone(),
        secs: cfg.connect_timeout.as_secs(),
        last,
    }))
}

fn dial_once(cfg: &NetConfig, peer: PartyId, deadline: Instant) -> Result<Established, Attempt> {
    let addr = &cfg.addrs[peer as usize];
    let sa: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| Attempt::Retry(format!("cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| Attempt::Retry("address resolves to nothing".into()))?;
    let wait = io_wait(deadline);
    let mut sock =
        TcpStream::connect_timeout(&sa, wait).map_err(|e| Attempt::Retry(e.to_string()))?;
    set_setup_timeouts(&sock, wait).map_err(|e| Attempt::Retry(e.to_string()))?;
    let config = tls::client_config(&cfg.keys, peer).map_err(Attempt::Fatal)?;
    let name = ServerName::try_from(server_name(peer)).expect("valid DNS name");
    let mut conn = ClientConnection::new(config, name)
        .map_err(|e| Attempt::Fatal(NetError::Tls(e.to_string())))?;
    let mut stream = rustls::Stream::new(&mut conn, &mut sock);
    match handshake::exchange(&mut stream, cfg.hello(), peer) {
        Ok(Ok(())) => Ok((peer, conn.into(), sock)),
        Ok(Err(e)) => Err(Attempt::Fatal(e)),
        Err(e) => Err(classify_dial(cfg, peer, e)),
    }
}

/// Turns a TLS/hello I/O error on the dialing side into a retry or a clear final error.
fn classify_dial(cfg: &NetConfig, peer: PartyId, e: std::io::Error) -> Attempt {
    let addr = &cfg.addrs[peer as usize];
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(_)) => Attempt::Fatal(NetError::Auth {
            peer,
            message: format!(
                "the server at {addr} presented a certificate that is not party {peer}'s configured certificate; refusing it"
            ),
        }),
        Some(rustls::Error::AlertReceived(alert)) => Attempt::Fatal(NetError::Auth {
            peer,
            message: format!(
                "party {peer} at {addr} refused this party's TLS certificate ({alert:?}); it must list this party's party{}.crt among its peer certificates",
                cfg.id
            ),
        }),
        Some(other) => Attempt::Fatal(NetError::Auth {
            peer,
            message: format!("TLS with {addr} failed: {other}"),
        }),
        None => Attempt::Retry(e.to_string()),
    }
}

/// How long one incoming connection may take for TLS and the hello. Each connection has
/// its own thread, so a stranger that sends nothing (or too little) holds up only itself and
/// is dropped after this.
pub const HANDSHAKE_WAIT: Duration = Duration::from_secs(3);

/// The most incoming handshakes in flight at once; a connection beyond them is closed at
/// once as a stranger's (a real peer retries).
const MAX_PENDING: usize = 64;

/// How many refused connections an error lists one by one.
const LISTED: usize = 5;

/// The outcome of one incoming connection's handshake thread.
type Incoming = (SocketAddr, Result<Established, Attempt>);

fn accept_all(
    cfg: &NetConfig,
    listener: &TcpListener,
    deadline: Instant,
    stop: &AtomicBool,
) -> SideResult<Vec<Established>> {
    let expected: Vec<PartyId> = (cfg.id + 1..3).collect();
    let config = tls::server_config(&cfg.keys, &expected).map_err(Some)?;
    let io_err = |e: std::io::Error| NetError::Bind {
        addr: cfg.addrs[cfg.id as usize].clone(),
        message: e.to_string(),
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| Some(io_err(e)))?;
    // The handshake threads own what they need: one that outlives set-up (a stranger still
    // silent) finishes on its own by its deadline, and its result goes nowhere.
    let shared = Arc::new(cfg.clone());
    let (tx, rx) = channel::<Incoming>();
    let mut got: Vec<Established> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut in_flight = 0usize;
    while let Some(&missing) = expected.iter().find(|p| !got.iter().any(|g| g.0 == **p)) {
        if stop.load(Ordering::Relaxed) {
            return Err(None);
        }
        if Instant::now() >= deadline {
            return Err(Some(NetError::NoPeer {
                peer: missing,
                secs: cfg.connect_timeout.as_secs(),
                refused: refused_note(&refused, in_flight),
            }));
        }
        let mut idle = true;
        match listener.accept() {
            Ok((sock, from)) => {
                idle = false;
                if in_flight >= MAX_PENDING {
                    let m = format!("{MAX_PENDING} other handshakes were in progress");
                    cfg.event(&format!(
                        "refused a connection from {from} (a stranger?): {m}"
                    ));
                    refused.push(format!("{from}: {m}"));
                } else {
                    match spawn_handshake(&shared, &config, sock, from, &tx) {
                        Ok(()) => in_flight += 1,
                        Err(m) => refused.push(format!("{from}: {m}")),
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(Some(io_err(e))),
        }
        while let Ok((from, r)) = rx.try_recv() {
            idle = false;
            in_flight -= 1;
            match r {
                Ok(e) if got.iter().any(|g| g.0 == e.0) => {
                    refused.push(format!("{from}: a second connection from party {}", e.0));
                }
                Ok(e) => got.push(e),
                Err(Attempt::Fatal(e)) => return Err(Some(e)),
                Err(Attempt::Retry(m)) => refused.push(format!("{from}: {m}")),
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(got)
}

/// Runs TLS and the hello of the connection `sock` from `from` on a thread of its own, with
/// [`HANDSHAKE_WAIT`] to finish; a stranger is logged there, with its address, and the
/// outcome goes to `tx`.
fn spawn_handshake(
    cfg: &Arc<NetConfig>,
    config: &Arc<rustls::ServerConfig>,
    sock: TcpStream,
    from: SocketAddr,
    tx: &Sender<Incoming>,
) -> Result<(), String> {
    let (cfg, config, tx) = (cfg.clone(), config.clone(), tx.clone());
    let until = Instant::now() + HANDSHAKE_WAIT;
    std::thread::Builder::new()
        .name(format!("mpcc-accept-{from}"))
        .spawn(move || {
            let r = accept_one(&cfg, &config, sock, until);
            if let Err(Attempt::Retry(m)) = &r {
                cfg.event(&format!(
                    "refused a connection from {from} (a stranger): {m}"
                ));
            }
            let _ = tx.send((from, r));
        })
        .map(drop)
        .map_err(|e| format!("no thread for its handshake: {e}"))
}

/// The `; refused meanwhile ...` part of a [`NetError::NoPeer`]: how many strangers were
/// refused and why (the first few), and how many connections were still in their handshake.
fn refused_note(refused: &[String], in_flight: usize) -> String {
    if refused.is_empty() && in_flight == 0 {
        return String::new();
    }
    let mut note = format!(
        "; refused meanwhile {} connection(s) from strangers (not authenticated as a party)",
        refused.len()
    );
    if !refused.is_empty() {
        let shown = refused.len().min(LISTED);
        note.push_str(&format!(": {}", refused[..shown].join("; ")));
        if refused.len() > shown {
            note.push_str(&format!("; and {} more", refused.len() - shown));
        }
    }
    if in_flight > 0 {
        note.push_str(&format!(
            "; {in_flight} more connection(s) had not finished their handshake"
        ));
    }
    note
}

/// TLS and hello with one incoming connection, by `until`. A stranger (no TLS, an unknown
/// certificate, silence) is refused and set-up goes on; a pinned peer with a mismatching
/// hello is final.
fn accept_one(
    cfg: &NetConfig,
    config: &Arc<rustls::ServerConfig>,
    mut sock: TcpStream,
    until: Instant,
) -> Result<Established, Attempt> {
    let retry = |e: std::io::Error| Attempt::Retry(e.to_string());
    let left = || {
        until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    sock.set_nonblocking(false).map_err(retry)?;
    set_setup_timeouts(&sock, left()).map_err(retry)?;
    let mut conn = ServerConnection::new(config.clone())
        .map_err(|e| Attempt::Fatal(NetError::Tls(e.to_string())))?;
    let silent = || {
        Attempt::Retry(format!(
            "it did not complete a TLS handshake within {} s",
            HANDSHAKE_WAIT.as_secs()
        ))
    };
    while conn.is_handshaking() {
        if Instant::now() >= until {
            return Err(silent());
        }
        sock.set_read_timeout(Some(left())).map_err(retry)?;
        conn.complete_io(&mut sock).map_err(|e| {
            let why = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(_)) => {
                    "it presented a certificate that is not a configured peer's".to_string()
                }
                Some(rustls::Error::NoCertificatesPresented) => {
                    "it presented no client certificate".to_string()
                }
                Some(other) => format!("TLS failed: {other}"),
                None if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return silent();
                }
                None => format!("TLS failed: {e}"),
            };
            Attempt::Retry(why)
        })?;
    }
    let peer = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| tls::party_of(&cfg.keys, c))
        .ok_or_else(|| Attempt::Retry("no known certificate".into()))?;
    set_setup_timeouts(&sock, left()).map_err(retry)?;
    let mut stream = rustls::Stream::new(&mut conn, &mut sock);
    match handshake::exchange(&mut stream, cfg.hello(), peer) {
        Ok(Ok(())) => Ok((peer, conn.into(), sock)),
        Ok(Err(e)) => Err(Attempt::Fatal(e)),
        Err(e) => Err(Attempt::Retry(format!("party {peer}'s hello failed: {e}"))),
    }
}

/// How long one set-up read or write may block: the time left, at least one second.
fn io_wait(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1))
}

fn set_setup_timeouts(sock: &TcpStream, wait: Duration) -> std::io::Result<()> {
    sock.set_read_timeout(Some(wait))?;
    sock.set_write_timeout(Some(wait))?;
    sock.set_nodelay(true)
}
