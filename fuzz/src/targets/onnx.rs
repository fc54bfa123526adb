//! ONNX files: the bytes are written to a model file and compiled (`backend::compile`: the
//! front end through tract, the passes, the plan) at small input shapes: every dynamic dim
//! of a declared input is 2. A model that compiles is run through the VM within the budgets.
//! [`run`] takes the file's bytes as they are; [`structured`] edits a decoded bundled model
//! (attributes, op types, inputs, initializer dims) and encodes it again.

use super::{outcome, vm};
use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::{self, FrontendOptions};
use prost::Message;
use std::sync::LazyLock;
use tract_onnx::pb::{GraphProto, ModelProto};
use tract_onnx::prelude::Framework;

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

/// Integers written into attributes and initializer dims.
const INTS: [i64; 16] = [
    0,
    1,
    -1,
    2,
    3,
    -2,
    4,
    7,
    64,
    255,
    100_000,
    1 << 31,
    -(1 << 31),
    1 << 40,
    i64::MAX,
    i64::MIN,
];

/// Floats written into attributes.
const FLOATS: [f32; 10] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    1e-30,
    1e30,
    0.5,
];

/// Models the structured target edits, decoded once.
static MODELS: LazyLock<Vec<ModelProto>> = LazyLock::new(|| {
    let onnx = tract_onnx::onnx();
    [
        "pad-tiny",
        "bert-tiny",
        "vit-tiny",
        "gpt2-tiny",
        "llama-tiny",
        "bert-tiny-qdq",
    ]
    .iter()
    .map(|m| {
        let path = crate::seeds::root().join(format!("models/{m}/model.onnx"));
        onnx.proto_model_for_path(&path)
            .unwrap_or_else(|e| panic!("seed model {m}: {e}"))
    })
    .collect()
});

/// Seeds of the structured target: each model unedited, and with an attribute and an input
/// edited.
pub fn structured_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for m in 0..MODELS.len() as u8 {
        out.push(vec![m]);
        for kind in [0u8, 3] {
            out.push(vec![m, kind, 3 + kind, kind, 2]);
        }
    }
    out
}

/// The first byte picks a bundled model; each following 4 bytes `[kind, a, b, c]` edit it
/// (an attribute's integer or float, a node's op type, one of its inputs, an initializer's
/// dims, a node or an attribute removed, an input added); the edited model is encoded and
/// compiled as [`run`] does. Structure-aware: the edits reach the front end's lowering of
/// odd attributes and shapes that random bytes would not decode to.
pub fn structured(data: &[u8]) -> String {
    let (pick, edits) = data.split_first().unwrap_or((&0, &[]));
    let mut proto = MODELS[*pick as usize % MODELS.len()].clone();
    let Some(g) = proto.graph.as_mut() else {
        return "onnx: no graph".into();
    };
    for e in edits.chunks_exact(4) {
        edit(g, e[0], e[1] as usize, e[2] as usize, e[3] as usize);
    }
    run(&proto.encode_to_vec())
}

/// One edit of the graph `g`.
fn edit(g: &mut GraphProto, kind: u8, a: usize, b: usize, c: usize) {
    let n = g.node.len();
    if n == 0 {
        return;
    }
    let other_output = g.node[c % n].output.first().cloned().unwrap_or_default();
    let other_op = g.node[(b * 256 + c) % n].op_type.clone();
    let node = &mut g.node[a % n];
    let attrs = node.attribute.len();
    match kind % 8 {
        0 if attrs > 0 => {
            let at = &mut node.attribute[b % attrs];
            let v = INTS[c % INTS.len()];
            if at.ints.is_empty() {
                at.i = v;
            } else {
                let k = c % at.ints.len();
                at.ints[k] = v;
            }
        }
        1 if attrs > 0 => {
            let at = &mut node.attribute[b % attrs];
            let v = FLOATS[c % FLOATS.len()];
            if at.floats.is_empty() {
                at.f = v;
            } else {
                let k = c % at.floats.len();
                at.floats[k] = v;
            }
        }
        2 => node.op_type = other_op,
        3 if !node.input.is_empty() => {
            let k = b % node.input.len();
            node.input[k] = other_output;
        }
        4 if !g.initializer.is_empty() => {
            let m = g.initializer.len();
            let t = &mut g.initializer[a % m];
            if t.dims.is_empty() {
                t.dims.push(INTS[c % INTS.len()]);
            } else {
                let k = b % t.dims.len();
                t.dims[k] = INTS[c % INTS.len()];
            }
        }
        5 => {
            g.node.remove(a % n);
        }
        6 if attrs > 0 => {
            node.attribute.remove(b % attrs);
        }
        7 => node.input.push(other_output),
        _ => {}
    }
}
