//! The runtime's errors: [`RtError`] (transport and network failures, bad user data, plans
//! this VM cannot run, bugs), [`KernelError`] (what a protocol kernel may fail with) and
//! [`NetError`] (network set-up).

use crate::transport;
use mpcc_ir::PartyId;

/// A run-time failure.
#[derive(Debug, thiserror::Error)]
pub enum RtError {
    /// A link failed.
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    /// The network links could not be set up.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Bad user data (shape, dtype, range, missing file).
    #[error("bad input: {0}")]
    Input(String),
    /// The plan uses a kernel this VM lacks.
    #[error("kernel '{0}' is not implemented by this VM")]
    Unsupported(String),
    /// The plan holds a high-level op, which the passes must lower to kernels first.
    #[error("the plan holds the high-level op '{0}', which has no kernel (a compiler bug: the passes must lower it)")]
    HighLevelOp(&'static str),
    /// A failure inside an instruction, with where it happened.
    #[error("instruction {index} ({op} from ONNX node '{origin}'): {cause}")]
    At {
        /// Instruction index.
        index: usize,
        /// Op name.
        op: &'static str,
        /// ONNX node.
        origin: String,
        /// The failure.
        cause: Box<RtError>,
    },
    /// A truncation by a shift the kernels do not support: a secret needs 1 to k-2 bits, a
    /// public value fewer than k.
    #[error("truncation by {bits} bits in Z_2^{ring_bits}: a secret takes 1 to {} bits, a public value fewer than {ring_bits}", ring_bits - 2)]
    TruncShift {
        /// The shift asked for.
        bits: u32,
        /// k, the ring's bits.
        ring_bits: u32,
    },
    /// A bug in mpcc.
    #[error("internal error (a bug in mpcc): {0}")]
    Internal(String),
}

impl RtError {
    /// True when the error only says that a peer went away (a consequence, not a cause).
    pub fn is_disconnect(&self) -> bool {
        match self {
            RtError::Transport(transport::TransportError::Disconnected { .. }) => true,
            RtError::At { cause, .. } => cause.is_disconnect(),
            _ => false,
        }
    }
}

/// A protocol kernel's failure: its links, or parameters it cannot run with. Converts into
/// [`RtError`] (the same variants).
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A link failed.
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    /// See [`RtError::TruncShift`].
    #[error("truncation by {bits} bits in Z_2^{ring_bits}: a secret takes 1 to {} bits, a public value fewer than {ring_bits}", ring_bits - 2)]
    TruncShift {
        /// The shift asked for.
        bits: u32,
        /// k, the ring's bits.
        ring_bits: u32,
    },
}

impl From<KernelError> for RtError {
    fn from(e: KernelError) -> RtError {
        match e {
            KernelError::Transport(t) => RtError::Transport(t),
            KernelError::TruncShift { bits, ring_bits } => RtError::TruncShift { bits, ring_bits },
        }
    }
}

impl RtError {
    /// What this party may tell its peers about the failure (the reason of an abort
    /// message): the instruction and ONNX node, and the kind of failure, but never the
    /// details of bad user data, which may quote a private input value. The local error
    /// ([`std::fmt::Display`]) keeps every detail.
    pub fn peer_reason(&self) -> String {
        match self {
            RtError::Input(_) => "bad input at this party (details withheld from peers)".into(),
            RtError::At {
                index,
                op,
                origin,
                cause,
            } => format!(
                "instruction {index} ({op} from ONNX node '{origin}'): {}",
                cause.peer_reason()
            ),
            RtError::Transport(_)
            | RtError::Net(_)
            | RtError::Unsupported(_)
            | RtError::HighLevelOp(_)
            | RtError::TruncShift { .. }
            | RtError::Internal(_) => self.to_string(),
        }
    }
}

/// Why the network links could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A key or certificate file is missing or malformed.
    #[error("{path}: {message}")]
    Keys {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Key generation or TLS configuration failed.
    #[error("TLS set-up: {0}")]
    Tls(String),
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        message: String,
    },
    /// A peer could not be reached within the connection time limit.
    #[error("could not connect to party {peer} at {addr} within {secs} s: {last}")]
    Unreachable {
        /// The peer.
        peer: PartyId,
        /// Its address.
        addr: String,
        /// Seconds tried.
        secs: u64,
        /// The last failure.
        last: String,
    },
    /// A peer did not connect within the connection time limit.
    #[error("party {peer} did not connect within {secs} s{refused}")]
    NoPeer {
        /// The peer.
        peer: PartyId,
        /// Seconds waited.
        secs: u64,
        /// Connections refused meanwhile, already formatted ("; refused: ...").
        refused: String,
    },
    /// The peer's certificate is not the one configured for it, or it refused ours.
    #[error("party {peer}: {message}")]
    Auth {
        /// The peer.
        peer: PartyId,
        /// What happened.
        message: String,
    },
    /// The application handshake failed (version, party id or plan digest).
    #[error("party {peer}: {message}")]
    Handshake {
        /// The peer.
        peer: PartyId,
        /// What differs.
        message: String,
    },
    /// An I/O failure during set-up.
    #[error("link to party {peer}: {message}")]
    Io {
        /// The peer.
        peer: PartyId,
        /// What happened.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input error's details stay local: the peers' reason names the instruction and
    /// the node but not the value.
    #[test]
    fn peer_reason_withholds_input_details() {
        let e = RtError::At {
            index: 3,
            op: "input",
            origin: "input_ids".into(),
            cause: Box::new(RtError::Input(
                "id 31337 at position 2 is outside the vocabulary 0..100".into(),
            )),
        };
        assert!(e.to_string().contains("31337"));
        let r = e.peer_reason();
        assert!(!r.contains("31337") && !r.contains("position 2"), "{r}");
        assert!(
            r.contains("instruction 3") && r.contains("input_ids"),
            "{r}"
        );
    }
}
