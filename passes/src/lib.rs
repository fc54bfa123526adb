//! mpcc's IR passes: MPC-friendly approximations of nonlinearities chosen by a policy,
//! truncation fusion and dead-code removal. One pass per file; the IR is verified after each.
//!
//! The ordered pass list is [`pipeline::PASSES`] (name, description, function); docs/PASSES.md
//! lists each pass with its error bound and cost change. Every pass is a free function
//! `fn(&mut Graph, Policy) -> Result<(), PassError>` whose module doc shows a before → after
//! example that `tests/doc_examples.rs` checks.
//!
//! **Architecture Invariant:** passes do no I/O.

pub mod dead_code;
pub mod fuse_trunc;
pub mod lower_activations;
pub mod lower_arith;
pub mod lower_rms_norm;
pub mod lower_softmax;
pub mod pipeline;
pub mod recipes;
pub mod rewrite;

use mpcc_ir::VerifyError;

pub use pipeline::{find_pass, run_passes, run_pipeline, PassInfo, PASSES};
pub use recipes::Recipes;

/// Which approximation recipes the lowering passes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// PUMA's recipes (MPC-REFERENCE §2.1): 4-piece GeLU, max-subtracted Taylor-exp softmax
    /// with one reciprocal per row, LayerNorm via rsqrt.
    Puma,
    /// The same with PUMA's published GeLU coefficients verbatim (`--approx puma-paper`).
    PumaPaper,
}

impl Policy {
    /// The recipes (coefficients, iteration counts) of this policy.
    pub fn recipes(self) -> &'static Recipes {
        match self {
            Policy::Puma => &recipes::PUMA,
            Policy::PumaPaper => &recipes::PUMA_PAPER,
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "puma" => Ok(Policy::Puma),
            "puma-paper" => Ok(Policy::PumaPaper),
            other => Err(format!(
                "unknown approximation policy '{other}' (known: puma, puma-paper)"
            )),
        }
    }
}

/// Options of the pass pipeline.
#[derive(Clone, Debug)]
pub struct PassOptions {
    /// Approximation policy.
    pub policy: Policy,
    /// Stop after this many passes (to bisect a bad rewrite).
    pub stop_after: Option<usize>,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            policy: Policy::Puma,
            stop_after: None,
        }
    }
}

/// A pass failure.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The IR broke a rule after a pass (a compiler bug).
    #[error("compiler bug: IR invalid after pass '{pass}': {source}")]
    Verify {
        /// Pass name.
        pass: &'static str,
        /// Finding.
        source: VerifyError,
    },
    /// A node the pass cannot lower (bad attributes or shapes from the front end).
    #[error("cannot lower {op} from ONNX node '{origin}': {message}")]
    Unsupported {
        /// Op name.
        op: &'static str,
        /// ONNX node it came from.
        origin: String,
        /// Why.
        message: String,
    },
    /// A rewrite produced an inconsistent graph (a compiler bug).
    #[error("compiler bug in a rewrite of {op} from ONNX node '{origin}': {message}")]
    Rewrite {
        /// Op name of the rewritten node.
        op: &'static str,
        /// ONNX node it came from.
        origin: String,
        /// What is inconsistent.
        message: String,
    },
    /// A pass name that is not in [`PASSES`].
    #[error("unknown pass '{0}' (known: {known})", known = pipeline::pass_names().join(", "))]
    UnknownPass(String),
}
