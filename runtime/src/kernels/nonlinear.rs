//! Dispatch of the nonlinear protocol kernels to [`super::boolean`] (comparisons, ReLU, max)
//! and [`super::approx`] (polynomials, exp, reciprocal, rsqrt).

use super::{approx, boolean, Args};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::Val;
use crate::RtError;
use mpcc_ir::{Graph, Node, Op};

/// Runs a nonlinear kernel. Its operand must be secret; public operands are computed by
/// the kernels' plaintext reference in [`approx::plain`].
pub fn exec(ctx: &mut Ctx, graph: &Graph, node: &Node, args: &Args) -> Result<Val, RtError> {
    match &node.op {
        Op::Ge { .. } | Op::Relu | Op::MaxAxis { .. } => boolean::exec(ctx, graph, node, args),
        Op::ExpTaylor { .. }
        | Op::Reciprocal { .. }
        | Op::Rsqrt { .. }
        | Op::Poly { .. }
        | Op::PiecewisePoly { .. } => approx::exec(ctx, graph, node, args),
        _ => Err(RtError::Unsupported(node.op.name().into())),
    }
}

/// Cost of a nonlinear kernel (zero for a public operand).
pub fn cost(graph: &Graph, node: &Node) -> Cost {
    if !graph.ty(node.inputs[0]).vis.is_secret() {
        return Cost::ZERO;
    }
    match &node.op {
        Op::Ge { .. } | Op::Relu | Op::MaxAxis { .. } => boolean::cost(graph, node),
        _ => approx::cost(graph, node),
    }
}
