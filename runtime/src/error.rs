//! The runtime's errors: [`RtError`] (transport and network failures, bad user data, plans
//! this VM cannot run, bugs) and [`NetError`] (network set-up).

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
