//! Entry points for the fuzz harnesses (`fuzz/`, package `mpcc-fuzz`) into the parts of the
//! network layer that parse what a peer or a stranger sends: the hello, the frame
//! reassembly, and the TLS handshake under this party's own configurations. Each runs on
//! bytes in memory, with no socket and no thread, so a harness can run thousands a second.
//! Not an API for anything else: the items are hidden from the docs.

use super::handshake::{self, Hello, NET_PROTOCOL_VERSION};
use super::keys::{generate_keys, server_name, PartyKeys};
use super::link::{Assembler, Incoming};
use super::tls;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

/// The plan digest the hello harness runs with.
pub const DIGEST: [u8; 32] = [7; 32];

/// A stream that reads `input` and swallows what is written.
struct Replay<'a> {
    input: &'a [u8],
}

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Party 0 sends its hello (plan [`DIGEST`]) to party 1 and reads `peer_bytes` as party 1's
/// reply: `Ok(())` when the hello is accepted, otherwise the error as text.
pub fn hello(peer_bytes: &[u8]) -> Result<(), String> {
    let ours = Hello {
        version: NET_PROTOCOL_VERSION,
        id: 0,
        digest: DIGEST,
    };
    let mut s = Replay { input: peer_bytes };
    match handshake::exchange(&mut s, ours, 1) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("stream: {e}")),
    }
}

/// What the frame reassembly made of a byte stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frames {
    /// Payloads of the data frames, in order.
    pub data: Vec<Vec<u8>>,
    /// Reasons of the abort frames.
    pub aborts: Vec<String>,
    /// The framing error that stopped the reader, if any.
    pub error: Option<String>,
}

/// Feeds `stream` (the plaintext a peer sends after the hello) to the reader's frame
/// reassembly in pieces of `chunk` bytes (at least 1), as the reader thread does.
pub fn frames(stream: &[u8], chunk: usize) -> Frames {
    let mut asm = Assembler::default();
    let mut out = Frames::default();
    for piece in stream.chunks(chunk.max(1)) {
        for ev in asm.feed(piece) {
            if let Incoming::Data(m) = ev {
                out.data.push(m);
            } else if let Incoming::Abort(r) = ev {
                out.aborts.push(r);
            }
        }
        if let Err(e) = asm.error() {
            out.error = Some(e);
            break;
        }
    }
    out
}

/// Encodes one frame as the writer thread does (kind byte, length, payload).
pub fn encode_frame(abort: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(abort)];
    f.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    f.extend_from_slice(payload);
    f
}

/// Keys of parties 0 and 1, each pinning the three certificates, generated once per process.
fn all_keys() -> &'static [PartyKeys; 2] {
    static KEYS: OnceLock<[PartyKeys; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pems: Vec<(String, String)> = (0..3)
            .map(|p| generate_keys(p).expect("key generation"))
            .collect();
        let certs = [pems[0].1.as_str(), &pems[1].1, &pems[2].1];
        std::array::from_fn(|p| {
            PartyKeys::from_pem(p as u8, &pems[p].0, certs).expect("generated keys load")
        })
    })
}

/// Keys of party 0, the party under test.
fn keys() -> &'static PartyKeys {
    &all_keys()[0]
}

/// Real TLS flights for seeds: what party 1 sends when it dials party 0 (for the listener),
/// and what party 1 answers when party 0 dials it (for the dialer), recorded in memory.
pub fn tls_flights() -> Result<(Vec<u8>, Vec<u8>), String> {
    let [k0, k1] = all_keys();
    let e = |e: super::NetError| e.to_string();
    let name = |p: u8| ServerName::try_from(server_name(p)).map_err(|e| e.to_string());
    let to_listener = {
        let client = ClientConnection::new(tls::client_config(k1, 0).map_err(e)?, name(0)?)
            .map_err(|e| e.to_string())?;
        let server = ServerConnection::new(tls::server_config(k0, &[1, 2]).map_err(e)?)
            .map_err(|e| e.to_string())?;
        pump_pair(client.into(), server.into())?.0
    };
    let to_dialer = {
        let client = ClientConnection::new(tls::client_config(k0, 1).map_err(e)?, name(1)?)
            .map_err(|e| e.to_string())?;
        let server = ServerConnection::new(tls::server_config(k1, &[0]).map_err(e)?)
            .map_err(|e| e.to_string())?;
        pump_pair(client.into(), server.into())?.1
    };
    Ok((to_listener, to_dialer))
}

/// Runs a TLS handshake between two connections in memory; returns the bytes each sent.
fn pump_pair(
    mut client: rustls::Connection,
    mut server: rustls::Connection,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    for _ in 0..16 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).map_err(|e| e.to_string())?;
        }
        from_client.extend_from_slice(&buf);
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            server.read_tls(&mut rd).map_err(|e| e.to_string())?;
            server.process_new_packets().map_err(|e| e.to_string())?;
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).map_err(|e| e.to_string())?;
        }
        from_server.extend_from_slice(&buf);
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            client.read_tls(&mut rd).map_err(|e| e.to_string())?;
            client.process_new_packets().map_err(|e| e.to_string())?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok((from_client, from_server));
        }
    }
    Err("the in-memory handshake did not finish".into())
}

/// Feeds `bytes` in pieces of `chunk` bytes to a TLS connection of party 0: as the
/// listener that accepts parties 1 and 2 (`as_server`), or as the dialer that expects party
/// 1's certificate. Returns how far it got: `Ok(true)` when the handshake completed (which
/// random bytes cannot do), `Ok(false)` when it wants more, the TLS error otherwise.
pub fn stranger_tls(bytes: &[u8], chunk: usize, as_server: bool) -> Result<bool, String> {
    static CONFIGS: OnceLock<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> =
        OnceLock::new();
    let (server, client) = CONFIGS.get_or_init(|| {
        let k = keys();
        (
            tls::server_config(k, &[1, 2]).expect("server config"),
            tls::client_config(k, 1).expect("client config"),
        )
    });
    let mut conn: rustls::Connection = if as_server {
        ServerConnection::new(server.clone())
            .map_err(|e| e.to_string())?
            .into()
    } else {
        let name = ServerName::try_from(server_name(1)).map_err(|e| e.to_string())?;
        ClientConnection::new(client.clone(), name)
            .map_err(|e| e.to_string())?
            .into()
    };
    let mut sink = Vec::new();
    for mut piece in bytes.chunks(chunk.max(1)) {
        while conn.wants_write() {
            sink.clear();
            conn.write_tls(&mut sink).map_err(|e| e.to_string())?;
        }
        while !piece.is_empty() {
            conn.read_tls(&mut piece).map_err(|e| e.to_string())?;
            conn.process_new_packets().map_err(|e| e.to_string())?;
        }
    }
    let mut plain = [0u8; 4096];
    let _ = conn.reader().read(&mut plain);
    Ok(!conn.is_handshaking())
}
