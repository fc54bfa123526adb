//! mpcc's IR passes: MPC-friendly approximations of nonlinearities chosen by a policy,
//! truncation fusion and ring casts. One pass per file; the IR is verified after each.
//!
//! **Architecture Invariant:** passes do no I/O.

use mpcc_ir::{Graph, VerifyError};

/// Which approximation recipes the lowering passes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// PUMA's recipes (MPC-REFERENCE §2.1): 4-piece GeLU, max-subtracted Taylor-exp softmax
    /// with one reciprocal per row, LayerNorm via rsqrt.
    Puma,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "puma" => Ok(Policy::Puma),
            other => Err(format!(
                "unknown approximation policy '{other}' (known: puma)"
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
}

/// Runs the ordered pass list, verifying the IR after each pass.
pub fn run_pipeline(graph: Graph, _opts: &PassOptions) -> Result<Graph, PassError> {
    graph.verify(false).map_err(|source| PassError::Verify {
        pass: "input",
        source,
    })?;
    Ok(graph)
}
