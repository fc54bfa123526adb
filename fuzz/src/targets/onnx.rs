//! ONNX files: the bytes are written to a model file and compiled (`backend::compile`: the
//! front end through tract, the passes, the plan) at small input shapes: every dynamic dim
//! of a declared input is 2. A model that compiles is run through the VM within the budgets.

use super::{outcome, vm};
use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::{self, FrontendOptions};

/// Runs one input.
pub fn run(data: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, data).expect("write model");
    let proto = match frontend::read_proto(&path) {
        Err(e) => return outcome("proto", Err::<(), _>(e)),
        Ok(p) => p,
    };
    let input_shapes = frontend::declared_inputs(&proto)
        .into_iter()
        .map(|d| {
            let dims = d.dims.iter().map(|x| *x.as_ref().unwrap_or(&2)).collect();
            (d.name, dims)
        })
        .collect();
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes,
            ..FrontendOptions::default()
        },
        passes: mpcc_passes::PassOptions::default(),
    };
    match backend::compile(&path, &opts) {
        Err(e) => outcome("compile", Err::<(), _>(e)),
        Ok((plan, weights)) => vm::run(&plan, Some(weights)),
    }
}
