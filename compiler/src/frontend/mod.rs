//! ONNX front end: load with tract-onnx, fix input shapes, fold constants, lower to the IR.
//!
//! The supported operators and the rules that decide who holds what (client inputs, owner
//! weights, public constants) are listed in `docs/ONNX-OPS.md`.

mod arith;
mod conv;
mod einsum;
pub mod eval;
mod gather;
mod known;
mod logic;
mod lower;
mod lut;
mod origins;
mod prune;
mod shape_ops;
mod shapes;
mod values;

use mpcc_ir::{Graph, Weights};
use std::path::Path;
use tract_onnx::prelude::*;

/// Options of the front end.
#[derive(Clone, Debug)]
pub struct FrontendOptions {
    /// Concrete shapes for graph inputs, by name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Treat the model's weights as public instead of owner-secret.
    pub public_weights: bool,
    /// Fraction bits of the fixed-point encoding.
    pub frac_bits: u32,
}

impl Default for FrontendOptions {
    fn default() -> Self {
        FrontendOptions {
            input_shapes: Vec::new(),
            public_weights: false,
            frac_bits: 18,
        }
    }
}

/// A compile failure the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The model file could not be read or parsed.
    #[error("cannot load '{path}': {message}")]
    Load {
        /// Model path.
        path: String,
        /// Why.
        message: String,
    },
    /// Graph inputs have dynamic dims and no `--input-shape` fixes them.
    #[error("the model has dynamic input dims; give them with --input-shape:\n{}", .0.join("\n"))]
    MissingInputShape(Vec<String>),
    /// An `--input-shape` does not fit the model.
    #[error("bad --input-shape: {0}")]
    BadInputShape(String),
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
    /// Other failure.
    #[error("{0}")]
    Other(String),
}

/// Loads an ONNX model and lowers it to an IR graph (high-level ops included) and the
/// owner's weights.
pub fn load_onnx(path: &Path, opts: &FrontendOptions) -> Result<(Graph, Weights), CompileError> {
    let load_err = |message: String| CompileError::Load {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| load_err(e.to_string()))?;
    let onnx = tract_onnx::onnx();
    let proto = guarded(|| {
        onnx.proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| e.context("Reading proto model"))
    })
    .map_err(load_err)?;
    let model = guarded(|| {
        onnx.model_for_proto_model(&proto)
            .map_err(|e| e.context("Translating proto model to model"))
    })
    .map_err(load_err)?;
    let typed = type_model(model, opts)?;
    let lowered =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lower::lower(&typed, opts)));
    let (mut graph, tensors) = lowered.map_err(|_| {
        CompileError::Other("compiler bug: the front end panicked on this model".into())
    })??;
    origins::fill_node_facts(&mut graph, &origins::OnnxNodes::new(&proto));
    graph.verify(false).map_err(|e| {
        CompileError::Other(format!(
            "compiler bug: the front end made an invalid graph: {e}"
        ))
    })?;
    Ok((
        graph,
        Weights {
            plan_digest: [0; 32],
            tensors,
        },
    ))
}

/// Fixes the input facts from `opts.input_shapes`, then types and declutters the model.
fn type_model(
    mut model: InferenceModel,
    opts: &FrontendOptions,
) -> Result<TypedModel, CompileError> {
    shapes::set_input_facts(&mut model, &opts.input_shapes)?;
    guarded(move || model.into_typed()?.into_decluttered()).map_err(|e| {
        CompileError::Other(format!(
            "tract could not type the model at these input shapes (is a dim beyond what \
                 the model supports, e.g. a sequence longer than its position table?): {e}"
        ))
    })
}

/// Runs a tract call, turning both its errors and its panics into a message.
fn guarded<T>(f: impl FnOnce() -> TractResult<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("tract panicked on this model".into()),
    }
}
