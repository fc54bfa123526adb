//! Arithmetic approximation kernels: polynomials by a power tree, piecewise polynomials,
//! Taylor exp, reciprocal and rsqrt after MSB normalisation.

use super::Args;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::Val;
use crate::RtError;
use mpcc_ir::{Graph, Node};

/// Runs `poly`, `piecewise_poly`, `exp_taylor`, `reciprocal` or `rsqrt`.
pub fn exec(_ctx: &mut Ctx, _graph: &Graph, node: &Node, _args: &Args) -> Result<Val, RtError> {
    Err(RtError::Unsupported(node.op.name().into()))
}

/// Cost of those kernels.
pub fn cost(_graph: &Graph, _node: &Node) -> Cost {
    Cost::ZERO
}

/// Plaintext references of the kernels, used for public operands and by tests.
pub mod plain {}
