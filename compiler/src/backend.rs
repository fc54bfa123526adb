//! Back end: run the pass pipeline, build the plan, bind the weights, write and load both
//! files.

use crate::frontend::{CompileError, FrontendOptions, PublicConst};
use mpcc_ir::plan::{Plan, PlanError};
use mpcc_ir::weights::WeightsError;
use mpcc_ir::{Graph, Weights};
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
    let (graph, weights) = lower(model, opts)?;
    build_plan(graph, weights)
}

/// ONNX file to the IR after the pass pipeline (or after `opts.passes.stop_after` passes),
/// with the owner's weights.
pub fn lower(model: &Path, opts: &CompileOptions) -> Result<(Graph, Weights), CompileError> {
    lower_listing(model, opts).map(|(g, w, _)| (g, w))
}

/// [`lower`], also returning the constants the front end took from the model as public.
pub fn lower_listing(
    model: &Path,
    opts: &CompileOptions,
) -> Result<(Graph, Weights, Vec<PublicConst>), CompileError> {
    let loaded = crate::frontend::load(model, &opts.frontend)?;
    let graph = mpcc_passes::run_pipeline_with_cost(loaded.graph, &opts.passes, &RuntimeCost)?;
    Ok((graph, loaded.weights, loaded.public))
}

/// The passes' cost model: the runtime's cost of each instruction.
struct RuntimeCost;

impl mpcc_passes::CostModel for RuntimeCost {
    fn cost(&self, graph: &Graph, node: &mpcc_ir::Node) -> mpcc_passes::NodeCost {
        let c = mpcc_runtime::node_cost(graph, node);
        mpcc_passes::NodeCost {
            rounds: c.rounds,
            bytes: c.total_bytes(),
        }
    }
}

/// Turns a fully lowered graph into a plan and binds the weights to it: keeps only the
/// tensors the plan reads, checks their shapes, and stamps the plan's digest.
pub fn build_plan(graph: Graph, mut weights: Weights) -> Result<(Plan, Weights), CompileError> {
    if let Some((i, node)) = graph
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| !n.op.is_kernel())
    {
        return Err(CompileError::NotLowered {
            index: i,
            op: node.op.name(),
            origin: node.origin.clone(),
        });
    }
    let plan = Plan::from_graph(graph)?;
    let mut kept = Vec::with_capacity(plan.body.weights.len());
    for decl in &plan.body.weights {
        let t = weights.get(&decl.name).ok_or_else(|| {
            CompileError::bug(format!(
                "the plan reads weight '{}' that the front end did not produce",
                decl.name
            ))
        })?;
        if t.shape != decl.shape || t.data.len() != decl.shape.iter().product::<usize>() {
            return Err(CompileError::bug(format!(
                "weight '{}' has shape {:?} ({} values), the plan reads {:?}",
                decl.name,
                t.shape,
                t.data.len(),
                decl.shape
            )));
        }
        kept.push(t.clone());
    }
    weights.tensors = kept;
    weights.plan_digest = plan.header.digest;
    Ok((plan, weights))
}

/// Why a plan or its weights could not be written or loaded.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A file could not be read or written.
    #[error("cannot {action} '{path}': {reason}")]
    File {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// The plan file is not a valid plan.
    #[error("'{path}': {reason}")]
    Plan {
        /// The file.
        path: String,
        /// Why.
        reason: PlanError,
    },
    /// The plan has weights but the weights file is missing.
    #[error(
        "the plan needs its weights file '{path}', which does not exist; `mpcc compile` writes \
         it next to the plan (pass --weights FILE if you moved it)"
    )]
    MissingWeights {
        /// Where it was looked for.
        path: String,
    },
    /// The weights file is not a valid weights file.
    #[error("'{path}': {reason}")]
    Weights {
        /// The file.
        path: String,
        /// Why.
        reason: WeightsError,
    },
    /// The weights file belongs to another plan.
    #[error(
        "weights file '{path}' was written for a different plan (digest mismatch); use the \
         .weights file that `mpcc compile` wrote together with this plan, or recompile"
    )]
    WrongPlan {
        /// The file.
        path: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, BackendError> {
    std::fs::read(path).map_err(|reason| BackendError::File {
        action: "read",
        path: path.display().to_string(),
        reason,
    })
}

/// Writes the plan to `path` and the weights to [`weights_path`]`(path)`; returns the
/// latter. Both go through temporary files renamed at the end, the weights first, so a
/// failure leaves neither a truncated file nor a new plan without its weights.
pub fn write_plan(path: &Path, plan: &Plan, weights: &Weights) -> Result<PathBuf, BackendError> {
    let wpath = weights_path(path);
    let (p, w) = (plan.to_bytes(), weights.to_bytes());
    crate::io::write_all_atomic(&[(&wpath, &w), (path, &p)]).map_err(|(path, reason)| {
        BackendError::File {
            action: "write",
            path: path.display().to_string(),
            reason,
        }
    })?;
    Ok(wpath)
}

/// Loads and verifies a plan file.
pub fn load_plan(path: &Path) -> Result<Plan, BackendError> {
    Plan::from_bytes(&read(path)?).map_err(|reason| BackendError::Plan {
        path: path.display().to_string(),
        reason,
    })
}

/// Loads the weights for `plan` from `path` and checks they belong to it. A plan without
/// weights needs no file: `Ok(None)` when it is absent.
pub fn load_weights(path: &Path, plan: &Plan) -> Result<Option<Weights>, BackendError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return if plan.body.weights.is_empty() {
            Ok(None)
        } else {
            Err(BackendError::MissingWeights { path: shown })
        };
    }
    let w = Weights::from_bytes(&read(path)?).map_err(|reason| BackendError::Weights {
        path: shown.clone(),
        reason,
    })?;
    if w.plan_digest != plan.header.digest {
        return Err(BackendError::WrongPlan { path: shown });
    }
    Ok(Some(w))
}
