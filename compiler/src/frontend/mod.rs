//! ONNX front end: load with tract-onnx, fix input shapes, fold constants, lower to the IR.
//!
//! The supported operators and the rules that decide who holds what (client inputs, owner
//! weights, public constants) are listed in `docs/ONNX-OPS.md`.

mod arith;
mod conv;
mod einsum;
mod error;
mod gather;
mod known;
mod logic;
mod lower;
mod lut;
mod origins;
mod shape_ops;
mod shapes;
mod values;

pub use error::{BugSource, CompileError};

use mpcc_ir::{Graph, Op, WeightTensor, Weights};
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

/// Loads an ONNX model and lowers it to an IR graph (high-level ops included) and the
/// owner's weights.
pub fn load_onnx(path: &Path, opts: &FrontendOptions) -> Result<(Graph, Weights), CompileError> {
    let load_err = |message: String| CompileError::Load {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| CompileError::Io {
        path: path.display().to_string(),
        source,
    })?;
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
    let (mut graph, tensors) =
        lowered.map_err(|_| CompileError::bug("the front end panicked on this model"))??;
    origins::fill_node_facts(&mut graph, &origins::OnnxNodes::new(&proto));
    graph.verify(false)?;
    check_encodable(&graph, &tensors)?;
    Ok((
        graph,
        Weights {
            plan_digest: [0; 32],
            tensors,
        },
    ))
}

/// Refuses a weight or constant that its fixed-point encoding cannot hold: NaN, an infinity,
/// or a magnitude whose encoding at the value's scale does not fit the ring (|v|·2^scale must
/// stay below 2^(k-1), else it wraps and the plan computes confident garbage).
fn check_encodable(graph: &Graph, tensors: &[WeightTensor]) -> Result<(), CompileError> {
    let by_name: std::collections::HashMap<&str, &WeightTensor> =
        tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in &graph.nodes {
        let ty = graph.ty(node.output);
        let max = 2f64.powi(ty.ring.bits() as i32 - 1 - ty.scale as i32);
        let bad = |what: &'static str, name: &str, values: &mut dyn Iterator<Item = f64>| {
            let fits = |v: f64| v.is_finite() && v.abs() < max;
            let found = values.enumerate().find(|&(_, v)| !fits(v));
            found.map_or(Ok(()), |(index, value)| {
                Err(CompileError::Unencodable {
                    what,
                    name: name.to_string(),
                    index,
                    value,
                    max,
                    scale: ty.scale,
                })
            })
        };
        if let Op::Weight { name } = &node.op {
            if let Some(t) = by_name.get(name.as_str()) {
                bad("weight", name, &mut t.data.iter().map(|&v| v as f64))?;
            }
        } else if let Op::Const { values } = &node.op {
            bad("constant", &node.origin, &mut values.iter().copied())?;
        }
    }
    Ok(())
}

/// Fixes the input facts from `opts.input_shapes`, then types and declutters the model.
fn type_model(
    mut model: InferenceModel,
    opts: &FrontendOptions,
) -> Result<TypedModel, CompileError> {
    shapes::set_input_facts(&mut model, &opts.input_shapes)?;
    guarded(move || model.into_typed()?.into_decluttered())
        .map_err(|message| CompileError::Typing { message })
}

/// Runs a tract call, turning both its errors and its panics into a message.
fn guarded<T>(f: impl FnOnce() -> TractResult<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("tract panicked on this model".into()),
    }
}
