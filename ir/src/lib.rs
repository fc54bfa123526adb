//! mpcc's MPC IR and plan format.
//!
//! # Semantics
//!
//! A [`Graph`] is a list of single-output nodes in execution order over typed values.
//! Each value has a [`ValueType`]: a shape, a ring Z_2^k ([`Ring`]), a fixed-point scale and a
//! visibility ([`Vis`]).
//!
//! - **Public** values are known to all three parties and are computed in the clear, for free.
//!   **Secret** values (`client`, `owner`, `sec`) are held as 2-out-of-3 replicated shares.
//! - **Fixed point.** A real `v` at scale `f` is the ring element `round(v·2^f)`, two's
//!   complement. Scales are explicit: `mul`/`matmul` add their operands' scales, and only a
//!   `trunc` node lowers a scale. The compiler inserts truncations; no op truncates implicitly,
//!   except composite kernels (`poly`, `exp_taylor`, …) whose output scale is the input's.
//! - **Rings.** Operands and result of a node share a ring, except at the two ring
//!   conversions: `downcast` truncates a Z_2^64 value and keeps its low 32 bits (Z_2^32),
//!   `upcast` lifts a Z_2^32 value with |x| < 2^30 into Z_2^64. The plan header names the
//!   default ring; each value's type names its own.
//! - **Typing.** One rule per op ([`typing::output_type`]) gives a node's output type from its
//!   operands'; the verifier, the passes and the front end all use it.
//! - **Facts.** Side tables keyed by value ([`facts::Facts`]) hold what a type does not: the
//!   ONNX op type and layer of each node's origin, and known value ranges.
//! - **Secrets are revealed only by `output` nodes**, to the parties they name.
//!
//! A [`plan::Plan`] is a verified graph that holds only kernel ops ([`Op::is_kernel`]),
//! plus a versioned header, declarations and slot lifetimes. Slots are the graph's values.
#![deny(missing_docs)]

pub mod facts;
pub mod graph;
pub mod interp;
pub mod op;
pub mod plan;
pub mod text;
pub mod types;
pub mod typing;
pub mod weights;

pub use facts::{Facts, Layer, NodeFacts, Range};
pub use graph::{Graph, Node, ValueId, VerifyError};
pub use op::{InputEncoding, Op, OpClass, Piece};
pub use plan::{Plan, PlanError};
pub use types::{
    broadcast_shapes, PartyId, Ring, ValueType, Vis, CLIENT, HELPER, MODEL_OWNER, N_PARTIES,
};
pub use weights::{WeightTensor, Weights};
