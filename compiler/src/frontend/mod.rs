//! ONNX front end: load with tract-onnx, fix input shapes, fold constants, lower to the IR.

use mpcc_ir::{Graph, Weights};
use std::path::Path;

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
    /// Other failure.
    #[error("{0}")]
    Other(String),
}

/// Loads an ONNX model and lowers it to an IR graph (high-level ops included) and the
/// owner's weights.
pub fn load_onnx(path: &Path, _opts: &FrontendOptions) -> Result<(Graph, Weights), CompileError> {
    Err(CompileError::Load {
        path: path.display().to_string(),
        message: "front end not implemented yet".into(),
    })
}
