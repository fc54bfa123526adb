//! mpcc's secret-shared VM: three parties run a plan over 2-out-of-3 replicated shares
//! (ABY3-style, semi-honest, honest majority) in Z_2^64 or Z_2^32.
//!
//! It knows nothing of ONNX: it reads plans ([`mpcc_ir::plan::Plan`]) only.
//!
//! **Architecture Invariant:** every byte between parties goes through [`transport::Transport`]
//! via [`ctx::Ctx::exchange`], where it is counted per instruction; the cost each kernel
//! declares ([`cost`]) equals what it sends.
#![deny(missing_docs)]

pub mod cost;
pub mod ctx;
pub mod kernels;
pub mod net;
pub mod prss;
pub mod ring;
pub mod runner;
pub mod share;
pub mod transport;
pub mod vm;

pub use cost::{node_cost, Cost};
pub use runner::{party_data, run_local, RunOptions, RunResult};
pub use vm::{HostTensor, PartyData};

/// A run-time failure.
#[derive(Debug, thiserror::Error)]
pub enum RtError {
    /// A link failed.
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    /// The network links could not be set up.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// Bad user data (shape, dtype, range, missing file).
    #[error("bad input: {0}")]
    Input(String),
    /// The plan uses a kernel this VM lacks.
    #[error("kernel '{0}' is not implemented by this VM")]
    Unsupported(String),
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
