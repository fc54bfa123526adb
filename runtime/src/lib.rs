//! mpcc's secret-shared VM: three parties run a plan over 2-out-of-3 replicated shares
//! (ABY3-style, semi-honest, honest majority) in Z_2^64 or Z_2^32.
//!
//! It knows nothing of ONNX: it reads plans ([`mpcc_ir::plan::Plan`]) only.
//!
//! **Architecture Invariant:** every byte between parties goes through [`transport::Transport`]
//! via [`ctx::Ctx::exchange`], where it is counted per instruction; the cost each kernel
//! declares beside its protocol ([`kernels`]), and the op table ([`ops`]) gives each
//! instruction, equals what it sends.
//!
//! Modules depend downwards only: [`vm`] → [`ops`] (the op table, ABY3's [`protocol::Protocol`])
//! → [`kernels`] → [`share`], [`ctx`], [`cost`], [`error`].
#![deny(missing_docs)]

pub mod cost;
pub mod ctx;
pub mod error;
pub mod kernels;
pub mod net;
pub mod ops;
pub mod protocol;
pub mod prss;
pub mod ring;
pub mod runner;
pub mod share;
pub mod sim;
pub mod threads;
pub mod transport;
pub mod vm;

pub use cost::Cost;
pub use error::RtError;
pub use ops::node_cost;
pub use runner::{party_data, run_local, RunOptions, RunResult};
pub use sim::{simulate, SimOptions, SimResult};
pub use vm::{HostTensor, PartyData};
