//! Helpers of the front end tests: reference.json fixtures, a tract reference run,
//! deterministic inputs and a hand-made ONNX file.

use mpcc_compiler::frontend::FrontendOptions;
use std::path::{Path, PathBuf};

/// One tensor of reference.json.
pub struct RefTensor {
    /// Name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f64>,
}

/// reference.json: inputs and onnxruntime outputs.
pub struct Reference {
    /// Inputs in the model's order.
    pub inputs: Vec<RefTensor>,
    /// onnxruntime's outputs.
    pub outputs: Vec<RefTensor>,
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A test model's directory: `models/<name>`, or MiniLM from `$MPCC_MINILM_DIR`
/// (default `<repo>/../shared/models/all-minilm-l6-v2`).
pub fn model_dir(name: &str) -> PathBuf {
    if name == "all-minilm-l6-v2" {
        if let Ok(d) = std::env::var("MPCC_MINILM_DIR") {
            return PathBuf::from(d);
        }
        return repo().join("../shared/models/all-minilm-l6-v2");
    }
    repo().join("models").join(name)
}

/// The tensors of a reference.json list.
pub fn tensors(v: &serde_json::Value) -> Vec<RefTensor> {
    v.as_array()
        .expect("tensor list")
        .iter()
        .map(|t| RefTensor {
            name: t["name"].as_str().expect("name").to_string(),
            shape: t["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect(),
            data: t["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect(),
        })
        .collect()
}

/// Reads `<dir>/reference.json`.
pub fn reference(dir: &Path) -> Reference {
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    Reference {
        inputs: tensors(&v["inputs"]),
        outputs: tensors(&v["outputs"]),
    }
}

/// Front end options at the reference input shapes.
pub fn options(r: &Reference) -> FrontendOptions {
    FrontendOptions {
        input_shapes: r
            .inputs
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .collect(),
        public_weights: false,
        frac_bits: 18,
        ..FrontendOptions::default()
    }
}

/// Runs the model in tract (float32) on the given inputs, in the model's input order.
pub mod tract_ref {
    use tract_onnx::prelude::*;

    /// An input: name, shape, values, and whether it is int64 (else float32).
    pub type In = (String, Vec<usize>, Vec<f64>, bool);

    /// Runs the optimized model and returns its outputs as f64.
    pub fn run(path: &std::path::Path, inputs: &[In]) -> Vec<Vec<f64>> {
        let mut m = tract_onnx::onnx().model_for_path(path).expect("tract load");
        let mut values = TVec::new();
        for (i, (_, shape, data, int)) in inputs.iter().enumerate() {
            let t = if *int {
                let v: Vec<i64> = data.iter().map(|&x| x as i64).collect();
                Tensor::from_shape(shape, &v).expect("tensor")
            } else {
                let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                Tensor::from_shape(shape, &v).expect("tensor")
            };
            m.set_input_fact(i, InferenceFact::dt_shape(t.datum_type(), shape.as_slice()))
                .expect("fact");
            values.push(t.into_tvalue());
        }
        let plan = m
            .into_optimized()
            .expect("optimize")
            .into_runnable()
            .expect("plan");
        let outs = plan.run(values).expect("run");
        outs.iter()
            .map(|t| {
                let t = t.cast_to::<f64>().expect("cast");
                t.to_plain_array_view::<f64>()
                    .expect("view")
                    .iter()
                    .copied()
                    .collect()
            })
            .collect()
    }
}

/// A deterministic stream of integers in `lo..hi` (no rand dependency).
pub fn ints(seed: u64, n: usize, lo: u64, hi: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (lo + (s >> 33) % (hi - lo)) as f64
        })
        .collect()
}

/// A 0/1 mask `[b, s]` where row i keeps `lens[i]` leading ones.
pub fn mask(s: usize, lens: &[usize]) -> Vec<f64> {
    lens.iter()
        .flat_map(|&l| (0..s).map(move |j| (j < l) as u8 as f64))
        .collect()
}

/// A scratch file under the system temp dir, unique to this process and `tag`.
pub fn scratch(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("mpcc-frontend-{}-{tag}.onnx", std::process::id()));
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// Appends a protobuf varint (for a hand-made ONNX file: no Python, no onnx crate).
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited protobuf field.
pub fn field_bytes(num: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(num << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Appends a varint protobuf field.
pub fn field_int(num: u64, v: u64, out: &mut Vec<u8>) {
    varint(num << 3, out);
    varint(v, out);
}

/// ValueInfoProto of a float32 tensor `[1, n]`.
pub fn value_info(name: &str, n: u64) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in [1, n] {
        let mut dim = Vec::new();
        field_int(1, d, &mut dim);
        field_bytes(1, &dim, &mut shape);
    }
    let mut tensor = Vec::new();
    field_int(1, 1, &mut tensor);
    field_bytes(2, &shape, &mut tensor);
    let mut ty = Vec::new();
    field_bytes(1, &tensor, &mut ty);
    let mut vi = Vec::new();
    field_bytes(1, name.as_bytes(), &mut vi);
    field_bytes(2, &ty, &mut vi);
    vi
}

/// An opset-17 ONNX model `y = OP(x)` on a float32 `[1, 4]` input.
pub fn one_op_model(op: &str) -> Vec<u8> {
    let mut node = Vec::new();
    field_bytes(1, b"x", &mut node);
    field_bytes(2, b"y", &mut node);
    field_bytes(3, b"the_node", &mut node);
    field_bytes(4, op.as_bytes(), &mut node);
    let mut graph = Vec::new();
    field_bytes(1, &node, &mut graph);
    field_bytes(2, b"g", &mut graph);
    field_bytes(11, &value_info("x", 4), &mut graph);
    field_bytes(12, &value_info("y", 4), &mut graph);
    let mut opset = Vec::new();
    field_bytes(1, b"", &mut opset);
    field_int(2, 17, &mut opset);
    let mut model = Vec::new();
    field_int(1, 8, &mut model);
    field_bytes(8, &opset, &mut model);
    field_bytes(7, &graph, &mut model);
    model
}
