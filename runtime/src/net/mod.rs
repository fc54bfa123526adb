//! Parties as separate processes: a [`crate::transport::Transport`] over TCP with mutually
//! authenticated TLS 1.3 (rustls, ring provider), an application handshake that checks the
//! protocol version, the party id and the plan digest, and link shaping (bandwidth and
//! latency) so LAN and WAN runs can be measured on one machine.
//!
//! # Topology
//!
//! Party `i` listens on the `i`-th address and dials every party `j < i`; so party 0 only
//! accepts, party 2 only dials. Each link is one TLS connection carrying both directions.
//!
//! # Authentication
//!
//! Every party has a key pair and a self-signed certificate ([`keys`]). A party is configured
//! with the three parties' certificates and pins them: the dialer accepts only the listening
//! party's certificate, the listener accepts only the certificates of the parties that dial it,
//! and learns which party connected from the certificate it presented.
//!
//! # Wire format
//!
//! After the TLS handshake each side sends a 45-byte hello ([`handshake`]). Then every
//! [`Transport::send`](crate::transport::Transport::send) becomes one frame: a kind byte
//! (0 = data, 1 = abort with a UTF-8 reason), the payload length as a little-endian u64, and
//! the payload. The bytes [`crate::ctx::Ctx`] counts are payload bytes; framing (9 bytes a
//! message) and TLS records (about 22 bytes per 16 KiB record) come on top and are reported
//! separately as wire bytes ([`NetStats`]).

#[doc(hidden)]
pub mod fuzzing;
mod handshake;
pub mod keys;
mod link;
mod session;
mod setup;
pub mod shape;
mod tls;

pub use handshake::NET_PROTOCOL_VERSION;
pub use keys::{cert_fingerprint, generate_keys, key_file_names, PartyKeys};
pub use link::{NetHandle, NetStats, TlsTransport};
pub use session::{run_networked, with_session, NetRun, NetSession};
pub use setup::{bind, establish, EventFn, NetConfig, HANDSHAKE_WAIT};
pub use shape::{LinkShape, Shaped};

pub use crate::error::NetError;

/// Lower-case hex of the first `n` bytes.
pub(crate) fn short_hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}
