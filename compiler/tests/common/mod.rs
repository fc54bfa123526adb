//! Helpers shared by the compiler's integration tests: IR fixtures from the workspace's
//! `tests/fixtures/ir/` folder, the `mpcc` binary, and a weights file of one tensor.
#![allow(dead_code)]

use mpcc_ir::{Graph, WeightTensor, Weights};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The IR text fixture `name` (e.g. `matmul.ir`), parsed.
pub fn ir_fixture(name: &str) -> Graph {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/ir")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    mpcc_ir::text::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Owner weights holding one tensor.
pub fn one_tensor(name: &str, shape: &[usize], data: &[f32]) -> Weights {
    Weights {
        plan_digest: [0; 32],
        tensors: vec![WeightTensor {
            name: name.into(),
            shape: shape.to_vec(),
            data: data.to_vec(),
        }],
    }
}

/// Runs the `mpcc` binary with `args`.
pub fn mpcc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpcc"))
        .args(args)
        .output()
        .expect("mpcc runs")
}

/// Bytes as text, lossily.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
