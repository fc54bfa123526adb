//! Nonlinear protocol kernels: comparisons, ReLU, max, exp, reciprocal, rsqrt, polynomials.

use super::Args;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::Val;
use crate::RtError;
use mpcc_ir::{Graph, Node};

/// Runs a nonlinear kernel.
pub fn exec(_ctx: &mut Ctx, _graph: &Graph, node: &Node, _args: &Args) -> Result<Val, RtError> {
    Err(RtError::Unsupported(node.op.name().into()))
}

/// Cost of a nonlinear kernel.
pub fn cost(_graph: &Graph, _node: &Node) -> Cost {
    Cost::ZERO
}
