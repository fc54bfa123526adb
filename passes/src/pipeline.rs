//! The ordered, named pass list and the drivers that run it, verifying the IR after each
//! pass with the pass name in the error.

use crate::{dead_code, fuse_trunc, lower_activations, lower_arith, lower_rms_norm, lower_softmax};
use crate::{CostModel, PassCtx, PassError, PassOptions};
use mpcc_ir::Graph;

/// A pass: rewrites the graph in place, reading its recipes from the context.
pub type PassFn = fn(&PassCtx<'_>, &mut Graph) -> Result<(), PassError>;

/// One entry of the pass list.
#[derive(Clone, Copy, Debug)]
pub struct PassInfo {
    /// Name (for `stop_after`, errors and logs).
    pub name: &'static str,
    /// One line saying what it rewrites.
    pub description: &'static str,
    /// The pass.
    pub run: PassFn,
}

/// The passes [`run_pipeline`] runs, in order.
pub const PASSES: &[PassInfo] = &[
    PassInfo {
        name: "lower_activations",
        description: "GeLU, erf, tanh, sigmoid, SiLU → one piecewise_poly each (recipe tables), or one poly (Quad GeLU)",
        run: lower_activations::lower_activations,
    },
    PassInfo {
        name: "lower_softmax",
        description: "softmax → max, subtract, cut-off select, Taylor exp, row sum, one reciprocal per row, multiply; or 2Quad: (x + 5)², row sum, reciprocal, multiply (per group of heads when overrides differ by head)",
        run: lower_softmax::lower_softmax,
    },
    PassInfo {
        name: "lower_rms_norm",
        description: "RMS norm → x · sqrt(n) · rsqrt(sum(x²) + n·eps), one rsqrt per row; squares of x at 12 fraction bits, the rsqrt at 2p more (headroom for massive activations)",
        run: lower_rms_norm::lower_rms_norm,
    },
    PassInfo {
        name: "lower_arith",
        description: "exp → exp_taylor; a/b → a · reciprocal(b) (public b: a · (1/b)); sqrt(x) → x · rsqrt(x)",
        run: lower_arith::lower_arith,
    },
    PassInfo {
        name: "fuse_trunc",
        description: "merge truncation chains, re-encode public constant factors at their exact scale, fold truncations of constants, drop 0-bit truncations",
        run: fuse_trunc::fuse_trunc,
    },
    PassInfo {
        name: "dead_code",
        description: "remove nodes no output needs (sources stay)",
        run: dead_code::dead_code,
    },
];

/// The names of [`PASSES`], in order.
pub fn pass_names() -> Vec<&'static str> {
    PASSES.iter().map(|p| p.name).collect()
}

/// Looks a pass up by name.
pub fn find_pass(name: &str) -> Result<&'static PassInfo, PassError> {
    PASSES
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PassError::UnknownPass(name.into()))
}

fn verify(graph: &Graph, pass: &'static str, kernels_only: bool) -> Result<(), PassError> {
    graph
        .verify(kernels_only)
        .map_err(|source| PassError::Verify { pass, source })
}

/// Runs the passes named in `names`, in that order, verifying after each. Overrides in `ctx`
/// that select no node are not checked here (see [`PassCtx::check_overrides_used`]).
pub fn run_passes(mut graph: Graph, names: &[&str], ctx: &PassCtx<'_>) -> Result<Graph, PassError> {
    verify(&graph, "input", false)?;
    for name in names {
        let pass = find_pass(name)?;
        (pass.run)(ctx, &mut graph)?;
        verify(&graph, pass.name, false)?;
    }
    Ok(graph)
}

/// Runs [`PASSES`] in order (the first `stop_after` of them, if set), verifying the IR after
/// each. After the whole list the graph must hold kernel ops only, and every override must
/// have selected a node.
pub fn run_pipeline(graph: Graph, opts: &PassOptions) -> Result<Graph, PassError> {
    let ctx = PassCtx::new(opts.policy).with_overrides(&opts.overrides);
    pipeline(&ctx, graph, opts.stop_after)
}

/// [`run_pipeline`] with a cost model in the passes' context.
pub fn run_pipeline_with_cost(
    graph: Graph,
    opts: &PassOptions,
    cost: &dyn CostModel,
) -> Result<Graph, PassError> {
    let ctx = PassCtx::new(opts.policy)
        .with_overrides(&opts.overrides)
        .with_cost_model(cost);
    pipeline(&ctx, graph, opts.stop_after)
}

fn pipeline(
    ctx: &PassCtx<'_>,
    mut graph: Graph,
    stop_after: Option<usize>,
) -> Result<Graph, PassError> {
    verify(&graph, "input", false)?;
    let n = stop_after.unwrap_or(PASSES.len()).min(PASSES.len());
    for pass in &PASSES[..n] {
        (pass.run)(ctx, &mut graph)?;
        verify(&graph, pass.name, false)?;
    }
    if n == PASSES.len() {
        verify(&graph, "pipeline end (kernels only)", true)?;
        ctx.check_overrides_used()?;
    }
    Ok(graph)
}
