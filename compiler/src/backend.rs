//! Back end: run the pass pipeline, build the plan, bind the weights, write both files.

use crate::frontend::{load_onnx, CompileError, FrontendOptions};
use mpcc_ir::plan::Plan;
use mpcc_ir::Weights;
use std::path::{Path, PathBuf};

/// Where `run` looks for the weights of the plan at `plan`: the same path with the
/// extension `.weights`.
pub fn weights_path(plan: &Path) -> PathBuf {
    plan.with_extension("weights")
}

/// Options of a whole compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Front end options.
    pub frontend: FrontendOptions,
    /// Pass options.
    pub passes: mpcc_passes::PassOptions,
}

/// ONNX file to plan and weights.
pub fn compile(model: &Path, opts: &CompileOptions) -> Result<(Plan, Weights), CompileError> {
    let (graph, mut weights) = load_onnx(model, &opts.frontend)?;
    let graph = mpcc_passes::run_pipeline(graph, &opts.passes)
        .map_err(|e| CompileError::Other(e.to_string()))?;
    let plan =
        Plan::from_graph(graph).map_err(|e| CompileError::Other(format!("compiler bug: {e}")))?;
    weights.plan_digest = plan.header.digest;
    Ok((plan, weights))
}
