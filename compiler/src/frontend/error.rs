//! Compile errors: what the user can act on (which file, which ONNX node, which input, and
//! what to do) apart from compiler bugs, which keep the error that revealed them as their
//! source.

use mpcc_ir::{PlanError, VerifyError};
use mpcc_passes::PassError;

/// The error of a failed finding: the source of a [`CompileError::Bug`].
pub type BugSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a model could not be compiled.
///
/// Variants that wrap a source error print only their own message; print the chain (`{:#}`
/// with anyhow, as the CLI does, or walk [`std::error::Error::source`]) to see the rest.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The model file could not be read.
    #[error("cannot read '{path}'")]
    Io {
        /// Model path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The model file is not an ONNX model that tract can parse.
    #[error("cannot load '{path}': {message}")]
    Load {
        /// Model path.
        path: String,
        /// tract's reason.
        message: String,
    },
    /// A graph input that the model declares without an element type or a rank.
    #[error("input '{input}' has no {missing} in the model")]
    UntypedInput {
        /// The input's name.
        input: String,
        /// `element type` or `declared rank`.
        missing: &'static str,
    },
    /// Graph inputs have dynamic dims and no `--input-shape` fixes them.
    #[error("the model has dynamic input dims; give them with --input-shape:\n{}", .0.join("\n"))]
    MissingInputShape(Vec<String>),
    /// An `--input-shape` does not fit the model.
    #[error("bad --input-shape: {0}")]
    BadInputShape(String),
    /// An ownership option (`--public`, `--secret-scalars`) does not fit the model.
    #[error("{0}")]
    BadOwnership(String),
    /// tract could not type the model at the given input shapes.
    #[error(
        "tract could not type the model at these input shapes (is a dim beyond what the model \
         supports, e.g. a sequence longer than its position table?): {message}"
    )]
    Typing {
        /// tract's reason.
        message: String,
    },
    /// The model holds an operator the front end cannot lower.
    #[error("unsupported ONNX operator {op} at node '{node}': {reason} (supported operators and rules: docs/ONNX-OPS.md)")]
    Unsupported {
        /// tract's name for the operator (e.g. `Cos`, `Reduce<Prod>`).
        op: String,
        /// The ONNX/tract node name.
        node: String,
        /// What is missing.
        reason: String,
    },
    /// A decoder export that `--generate` cannot turn into a step program.
    #[error("--generate: {0}")]
    Generation(String),
    /// ONNX operators without a lowering, found before lowering starts: each named with its
    /// node, as `mpcc inspect` lists them.
    #[error(
        "'{path}' uses ONNX operators that mpcc has no lowering for:\n{}\nrun `mpcc inspect {path}` \
         for the model's whole operator list; docs/ONNX-OPS.md lists the supported operators \
         and their limits{hint}",
        .nodes.join("\n")
    )]
    UnsupportedOps {
        /// The model file.
        path: String,
        /// One line per node: `  OP at node 'NAME'`.
        nodes: Vec<String>,
        /// What to do when the operators are control flow or value-dependent shapes (a new
        /// line and the advice), else empty.
        hint: String,
    },
    /// A weight or constant that the fixed-point format cannot hold (NaN, an infinity, or a
    /// magnitude that wraps around the ring).
    #[error(
        "{what} '{name}' holds {value} at element {index}, which the fixed-point format cannot \
         hold: it takes finite values of magnitude below {max:e} at scale 2^{scale} in Z_2^64; \
         check the export (a NaN or an overflow in training), or compile with fewer --frac-bits"
    )]
    Unencodable {
        /// `weight` or `constant`.
        what: &'static str,
        /// The weight tensor's name, or the constant's ONNX node.
        name: String,
        /// The first element that does not fit.
        index: usize,
        /// Its value.
        value: f64,
        /// The largest magnitude the format holds (exclusive).
        max: f64,
        /// The value's scale (fraction bits).
        scale: u32,
    },
    /// A node whose output shape still has symbolic dims at the given input shapes.
    #[error(
        "the output shape {shape} of ONNX node '{node}' ({op}) is not concrete at these input \
         shapes; give every dynamic input dim with --input-shape"
    )]
    NotConcrete {
        /// tract's name for the operator.
        op: String,
        /// The ONNX/tract node name.
        node: String,
        /// The shape as tract prints it.
        shape: String,
    },
    /// A high-level op is left where a plan needs MPC kernels (the passes stopped early).
    #[error(
        "node {index} ({op} from ONNX node '{origin}') is a high-level op that no pass lowered \
         to MPC kernels, so no plan can be written; if --stop-after ended the passes early, drop \
         it, and use --emit-ir FILE to inspect the IR"
    )]
    NotLowered {
        /// Position of the node in the IR.
        index: usize,
        /// The op's name.
        op: &'static str,
        /// The ONNX node it came from.
        origin: String,
    },
    /// A pass failed (its message says whether the model or the compiler is to blame).
    #[error(transparent)]
    Pass(#[from] PassError),
    /// The front end made a graph that does not verify (a compiler bug).
    #[error("compiler bug: the front end made an invalid graph")]
    Verify(#[from] VerifyError),
    /// The plan could not be built from the lowered graph (a compiler bug).
    #[error("compiler bug: the plan could not be built")]
    Plan(#[from] PlanError),
    /// Any other compiler bug: what went wrong, and the error that showed it, if any.
    #[error("compiler bug: {what}")]
    Bug {
        /// What went wrong.
        what: String,
        /// The finding.
        #[source]
        source: Option<BugSource>,
    },
}

impl CompileError {
    /// A compiler bug without a source error.
    pub fn bug(what: impl Into<String>) -> CompileError {
        CompileError::Bug {
            what: what.into(),
            source: None,
        }
    }

    /// A compiler bug revealed by `source`.
    pub fn bug_from(what: impl Into<String>, source: impl Into<BugSource>) -> CompileError {
        CompileError::Bug {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// True for the variants that are the compiler's fault rather than the model's or the
    /// user's (a pass failure counts when the pass says so).
    pub fn is_bug(&self) -> bool {
        match self {
            CompileError::Verify(_) | CompileError::Plan(_) | CompileError::Bug { .. } => true,
            CompileError::Pass(e) => {
                matches!(e, PassError::Verify { .. } | PassError::Rewrite { .. })
            }
            CompileError::Io { .. }
            | CompileError::Load { .. }
            | CompileError::UntypedInput { .. }
            | CompileError::MissingInputShape(_)
            | CompileError::BadInputShape(_)
            | CompileError::BadOwnership(_)
            | CompileError::Typing { .. }
            | CompileError::Unsupported { .. }
            | CompileError::UnsupportedOps { .. }
            | CompileError::Generation(_)
            | CompileError::Unencodable { .. }
            | CompileError::NotConcrete { .. }
            | CompileError::NotLowered { .. } => false,
        }
    }
}
