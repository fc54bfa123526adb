//! mpcc's IR passes: MPC-friendly approximations of nonlinearities chosen per node by a pass
//! context, truncation fusion and dead-code removal. One pass per file; the IR is verified
//! after each.
//!
//! The ordered pass list is [`pipeline::PASSES`] (name, description, function); docs/PASSES.md
//! lists each pass with its error bound and cost change. Every pass is a free function
//! `fn(&PassCtx, &mut Graph) -> Result<(), PassError>` whose module doc shows a before → after
//! example that `tests/doc_examples.rs` checks. The context ([`ctx::PassCtx`]) holds the
//! policy's recipes ([`policy::POLICIES`]), the per-node overrides ([`select`]) and a cost
//! model; the recipes are data ([`recipes`]), named in one registry ([`policy::RECIPES`]).
//!
//! **Architecture Invariant:** passes do no I/O.

pub mod ctx;
pub mod dead_code;
pub mod fuse_trunc;
pub mod lower_activations;
pub mod lower_arith;
pub mod lower_rms_norm;
pub mod lower_softmax;
pub mod mask;
pub mod pipeline;
pub mod policy;
pub mod recipes;
pub mod rewrite;
pub mod select;
pub mod tables;

use mpcc_ir::VerifyError;

pub use ctx::{CostModel, NodeCost, PassCtx};
pub use pipeline::{find_pass, run_passes, run_pipeline, run_pipeline_with_cost, PassInfo, PASSES};
pub use policy::{Policy, PolicyInfo, RecipeInfo, POLICIES, RECIPES};
pub use recipes::Recipes;
pub use select::{parse_overrides_json, Override, OverrideError, Selector};

/// Options of the pass pipeline.
#[derive(Clone, Debug, Default)]
pub struct PassOptions {
    /// Approximation policy: the base recipes.
    pub policy: Policy,
    /// Recipe overrides for selected nodes, applied in order over the policy (a later one
    /// wins); each must select some node.
    pub overrides: Vec<Override>,
    /// Stop after this many passes (to bisect a bad rewrite).
    pub stop_after: Option<usize>,
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
    /// A recipe override selects a node it cannot apply to.
    #[error("recipe override '{text}' cannot apply to {op} from ONNX node '{origin}': {message}")]
    Override {
        /// The override.
        text: String,
        /// Op name of the selected node.
        op: &'static str,
        /// ONNX node it came from.
        origin: String,
        /// Why.
        message: String,
    },
    /// A recipe override that gave no node a recipe.
    #[error(
        "recipe override '{text}' matched no node{hint}; `mpcc compile --emit-ir FILE \
         --stop-after 0` shows each node's origin and facts (op_type, layer)"
    )]
    UnmatchedOverride {
        /// The override.
        text: String,
        /// Why it may have missed (or nothing).
        hint: String,
    },
}
