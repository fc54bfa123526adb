//! The plan must not depend on the weights (issue 10): two models that differ only in their
//! initializers' values compile to byte-identical plans, whatever the values (zeros, ones,
//! powers of two, one repeated value, a copy of another tensor); no plan constant holds a
//! weight's values; every public constant is listed with its reason.

use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::{FrontendOptions, PublicWhy};
use mpcc_ir::plan::Plan;
use mpcc_ir::Op;
use prost::Message;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use tract_onnx::pb;
use tract_onnx::prelude::Framework;

#[allow(dead_code)] // the helpers other test files use
mod frontend_support;
use frontend_support::{model_dir, options, reference};

/// The bundled fixtures of every family.
const FIXTURES: [&str; 9] = [
    "bert-tiny",
    "bert-tiny-seqcls",
    "distilbert-tiny",
    "roberta-tiny",
    "gpt2-tiny",
    "llama-tiny",
    "vit-tiny",
    "bert-tiny-zero-bias",
    "bert-tiny-qdq",
];

fn compile_options(dir: &Path) -> CompileOptions {
    CompileOptions {
        frontend: options(&reference(dir)),
        passes: Default::default(),
    }
}

fn compile(model: &Path, opts: &CompileOptions) -> Plan {
    backend::compile(model, opts)
        .unwrap_or_else(|e| panic!("{}: {e:#}", model.display()))
        .0
}

/// The names the front end lists as public for `model`.
fn public_names(model: &Path, opts: &FrontendOptions) -> HashSet<String> {
    let loaded = mpcc_compiler::frontend::load(model, opts).expect("loads");
    loaded.public.into_iter().map(|p| p.name).collect()
}

const FLOAT: i32 = pb::tensor_proto::DataType::Float as i32;
const INT8: i32 = pb::tensor_proto::DataType::Int8 as i32;
const INT32: i32 = pb::tensor_proto::DataType::Int32 as i32;

/// The values of a float32, int8 or int32 initializer (raw or typed storage) as f32.
fn values(t: &pb::TensorProto) -> Vec<f32> {
    match (t.data_type, t.raw_data.is_empty()) {
        (FLOAT, true) => t.float_data.clone(),
        (FLOAT, false) => t
            .raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        (INT8, false) => t.raw_data.iter().map(|&b| b as i8 as f32).collect(),
        (INT32, false) => t
            .raw_data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        (_, true) => t.int32_data.iter().map(|&v| v as f32).collect(),
        _ => Vec::new(),
    }
}

/// Writes `v` back in the initializer's own dtype (integers rounded and clamped).
fn set_values(t: &mut pb::TensorProto, v: &[f32]) {
    t.float_data.clear();
    t.int32_data.clear();
    t.raw_data = match t.data_type {
        FLOAT => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        INT8 => v
            .iter()
            .map(|x| x.round().clamp(-128.0, 127.0) as i8 as u8)
            .collect(),
        _ => v
            .iter()
            .flat_map(|x| (x.round() as i32).to_le_bytes())
            .collect(),
    };
}

/// True for the dtypes the rewrites handle.
fn rewritable(t: &pb::TensorProto) -> bool {
    matches!(t.data_type, FLOAT | INT8 | INT32)
}

/// How a variant rewrites the values of one float initializer (index `i` among them).
type Rewrite = fn(usize, &[f32], &[Vec<f32>]) -> Vec<f32>;

/// The variants: each keeps every shape and rewrites only values.
const VARIANTS: [(&str, Rewrite); 6] = [
    ("zeros", |_, v, _| vec![0.0; v.len()]),
    ("ones", |_, v, _| vec![1.0; v.len()]),
    ("powers-of-two", |_, v, _| {
        (0..v.len()).map(|j| 2f32.powi(j as i32 % 5 - 2)).collect()
    }),
    ("repeated", |_, v, _| vec![0.375; v.len()]),
    // Each tensor becomes a copy of the first earlier tensor of its size.
    ("copies", |i, v, all| {
        all[..i]
            .iter()
            .find(|o| o.len() == v.len())
            .cloned()
            .unwrap_or_else(|| v.to_vec())
    }),
    // Biases and norms neutral, the rest random: what a real export with zero biases or
    // unit gammas looks like.
    ("neutral-1d", |i, v, _| {
        if v.len() <= 4096 {
            vec![(i % 2) as f32; v.len()]
        } else {
            v.iter().map(|x| x * -1.5).collect()
        }
    }),
];

/// `model` with every secret float initializer (not in `public`) rewritten by `f`.
fn rewrite(model: &Path, public: &HashSet<String>, tag: &str, f: Rewrite) -> PathBuf {
    let mut proto = tract_onnx::onnx().proto_model_for_path(model).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let secret: Vec<usize> = (0..graph.initializer.len())
        .filter(|&i| {
            let t = &graph.initializer[i];
            rewritable(t) && !public.contains(&t.name) && t.dims.iter().product::<i64>() > 1
        })
        .collect();
    let all: Vec<Vec<f32>> = secret
        .iter()
        .map(|&i| values(&graph.initializer[i]))
        .collect();
    for (k, &i) in secret.iter().enumerate() {
        let v = f(k, &all[k], &all);
        set_values(&mut graph.initializer[i], &v);
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weight-privacy");
    std::fs::create_dir_all(&dir).unwrap();
    let name = model
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    let path = dir.join(format!("{name}-{tag}.onnx"));
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    path
}

/// Every fixture, rewritten by every variant, compiles to the same plan bytes: the plan
/// depends on the architecture only (and compiling is deterministic: tract numbers the nodes
/// it makes in an order that varies from run to run, which the front end undoes).
#[test]
fn plans_do_not_depend_on_weight_values() {
    for name in FIXTURES {
        let dir = model_dir(name);
        let model = dir.join("model.onnx");
        let opts = compile_options(&dir);
        let public = public_names(&model, &opts.frontend);
        let base = compile(&model, &opts).to_bytes();
        assert!(
            compile(&model, &opts).to_bytes() == base,
            "{name}: two compiles of the same model gave different plans"
        );
        for (tag, f) in VARIANTS {
            let other = rewrite(&model, &public, tag, f);
            let plan = compile(&other, &opts).to_bytes();
            assert!(
                plan == base,
                "{name}: the plan changed when the weights became '{tag}'"
            );
        }
    }
}

/// True when `consts` holds a run of eight of `w`'s first values, or (for an int8 weight that
/// the plan would hold dequantized) an affine image of them: c_i - c_0 proportional to
/// w_i - w_0, with neither run constant.
fn holds_run(consts: &[f64], w: &[f32]) -> bool {
    let consts: Vec<f32> = consts.iter().map(|&v| v as f32).collect();
    let affine = |run: &[f32]| {
        let (dw, dc) = (w[1] - w[0], run[1] - run[0]);
        dw != 0.0
            && dc != 0.0
            && (1..8).all(|i| {
                ((run[i] - run[0]) * dw - (w[i] - w[0]) * dc).abs() <= 1e-4 * dc.abs().max(1e-6)
            })
    };
    consts.windows(8).any(|run| run == &w[..8] || affine(run))
}

/// The plan's constants, all of them in one list.
fn plan_constants(plan: &Plan) -> Vec<f64> {
    let mut all = Vec::new();
    for n in &plan.graph().nodes {
        if let Op::Const { values } = &n.op {
            all.extend(values);
        }
    }
    all
}

/// The leak detector bites: a weight declared public is found in the plan's constants, as
/// its own values (bert-tiny's query bias) and as the dequantized image of int8 values
/// (a bert-tiny-qdq MatMul weight).
#[test]
fn leak_detector_finds_a_public_weight() {
    for (name, model, tensor) in [
        (
            "bert-tiny",
            "model.onnx",
            "encoder.layer.0.attention.self.query.bias",
        ),
        ("bert-tiny-qdq", "model.onnx", "onnx::MatMul_296_quantized"),
    ] {
        let dir = model_dir(name);
        let path = dir.join(model);
        let proto = tract_onnx::onnx().proto_model_for_path(&path).unwrap();
        let t = proto
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .find(|t| t.name == tensor);
        let w = values(t.unwrap_or_else(|| panic!("{name} has no initializer {tensor}")));
        let mut opts = compile_options(&dir);
        assert!(!holds_run(&plan_constants(&compile(&path, &opts)), &w));
        opts.frontend.public = vec![tensor.into()];
        let plan = compile(&path, &opts);
        assert!(
            holds_run(&plan_constants(&plan), &w),
            "{name}: {tensor} not found"
        );
    }
}

/// No plan constant holds a run of a secret initializer's values, and every weight the plan
/// reads is the owner's: what the client and helper hold says nothing about the weights
/// beyond their shapes.
#[test]
fn plan_constants_hold_no_weight_values() {
    for name in FIXTURES {
        let dir = model_dir(name);
        let model = dir.join("model.onnx");
        let opts = compile_options(&dir);
        let public = public_names(&model, &opts.frontend);
        let plan = compile(&model, &opts);
        let proto = tract_onnx::onnx().proto_model_for_path(&model).unwrap();
        let secret: Vec<(String, Vec<f32>)> = proto
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .filter(|t| rewritable(t) && !public.contains(&t.name))
            .map(|t| (t.name.clone(), values(t)))
            .filter(|(_, v)| v.len() >= 8)
            .collect();
        assert!(!secret.is_empty(), "{name} has secret initializers");
        for node in &plan.graph().nodes {
            let Op::Const { values } = &node.op else {
                continue;
            };
            for (t, w) in &secret {
                let leaked = holds_run(values, w);
                assert!(
                    !leaked,
                    "{name}: constant at '{}' holds values of initializer '{t}'",
                    node.origin
                );
            }
        }
        for d in &plan.body.weights {
            assert!(!d.public, "{name}: weight '{}' is public", d.name);
        }
    }
}

/// bert-tiny's public constants are its `Constant` nodes only: every initializer (biases,
/// norms, embeddings, weights) is secret. `--public NAME` adds one, `--secret-scalars` moves
/// scalars, and an unknown `--public` name is refused naming the model's initializers.
#[test]
fn public_constants_are_listed_with_their_reason() {
    let dir = model_dir("bert-tiny");
    let model = dir.join("model.onnx");
    let opts = options(&reference(&dir));
    let loaded = mpcc_compiler::frontend::load(&model, &opts).unwrap();
    assert_eq!(loaded.public.len(), 64);
    assert!(loaded
        .public
        .iter()
        .all(|p| p.why == PublicWhy::ConstantNode));
    let bias = "encoder.layer.0.attention.self.query.bias";
    let declared = FrontendOptions {
        public: vec![bias.into()],
        ..opts.clone()
    };
    let loaded = mpcc_compiler::frontend::load(&model, &declared).unwrap();
    let p = loaded
        .public
        .iter()
        .find(|p| p.name == bias)
        .expect("listed");
    assert_eq!(p.why, PublicWhy::Declared);
    assert!(p.value.starts_with("f32 [64] ["), "{}", p.value);
    assert!(
        loaded.weights.get(bias).is_none(),
        "a public bias is not a weight"
    );
    let bad = FrontendOptions {
        public: vec!["no.such.tensor".into()],
        ..opts
    };
    let e = mpcc_compiler::frontend::load(&model, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--public no.such.tensor") && e.contains("embeddings"),
        "{e}"
    );
}

/// bert-tiny-qdq (onnxruntime's `quantize_static`, QDQ int8): the 32 int8 and 5 int32 weight
/// tensors are folded with their scales and zero points into secret weights, none of them is
/// a plan constant, and only scalar hyperparameters (activation scales and zero points),
/// Constant nodes and nothing else are public. The dynamically quantized export is refused
/// naming the operator and the export to use instead.
#[test]
fn quantized_exports() {
    let dir = model_dir("bert-tiny-qdq");
    let opts = options(&reference(&dir));
    let loaded = mpcc_compiler::frontend::load(&dir.join("model.onnx"), &opts).unwrap();
    assert_eq!(loaded.weights.tensors.len(), 37);
    let scalar_or_node = |p: &&mpcc_compiler::frontend::PublicConst| {
        matches!(p.why, PublicWhy::Scalar | PublicWhy::ConstantNode)
    };
    assert!(loaded.public.iter().all(|p| scalar_or_node(&p)));
    let e = mpcc_compiler::frontend::load(&dir.join("model_dynamic.onnx"), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("DynamicQuantizeLinear") && e.contains("quantize_static"),
        "{e}"
    );
}

/// bert-tiny-zero-bias (layer 0's attention-output bias all zeros, the embeddings LayerNorm
/// at gamma 1 and beta 0) compiles to bert-tiny's instructions: the zero bias is still added,
/// the unit gamma still multiplied. The one difference is what the ONNX graph itself shows:
/// the exporter merged the two all-zero tensors into one initializer (an `Identity`), so the
/// plan reads one weight fewer (the bias add reads the LayerNorm beta's weight).
#[test]
fn zero_bias_plan_shows_no_more_than_the_graph() {
    let ops = |name: &str| {
        let dir = model_dir(name);
        let plan = compile(&dir.join("model.onnx"), &compile_options(&dir));
        let g = plan.graph();
        let all: Vec<String> = g.nodes.iter().map(|n| n.op.name().to_string()).collect();
        (all, plan.body.weights.len())
    };
    let (base, base_weights) = ops("bert-tiny");
    let (zero, zero_weights) = ops("bert-tiny-zero-bias");
    assert_eq!(zero_weights + 1, base_weights);
    assert_eq!(base.len(), zero.len() + 1);
    let no_weights =
        |v: &[String]| -> Vec<String> { v.iter().filter(|o| *o != "weight").cloned().collect() };
    assert_eq!(no_weights(&base), no_weights(&zero));
}

/// bert-tiny with the `0.5` of layer 0's GeLU stored as an initializer (as a learned scalar
/// would be): by default a public scalar hyperparameter, listed as such; with
/// `--secret-scalars` the owner's secret, which costs more (the product with it is a secret
/// product, and tract can no longer see the GeLU pattern), as `mpcc cost` shows.
#[test]
fn secret_scalars_cost_more() {
    let dir = model_dir("bert-tiny");
    let name = "/encoder/layer.0/intermediate/intermediate_act_fn/Constant_2_output_0";
    let mut proto = tract_onnx::onnx()
        .proto_model_for_path(dir.join("model.onnx"))
        .unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let k = graph
        .node
        .iter()
        .position(|n| n.output.first().is_some_and(|o| o == name))
        .expect("the GeLU's 0.5");
    let node = graph.node.remove(k);
    let mut t = node.attribute[0].t.clone().expect("a tensor value");
    t.name = name.into();
    graph.initializer.push(t);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weight-privacy");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("bert-tiny-learned-scalar.onnx");
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    let mut opts = compile_options(&dir);
    let cost = |opts: &CompileOptions| {
        let plan = compile(&path, opts);
        let g = plan.graph();
        let bytes: u64 = g
            .nodes
            .iter()
            .map(|n| mpcc_runtime::node_cost(g, n).total_bytes())
            .sum();
        (bytes, plan.body.weights.len())
    };
    let listed = mpcc_compiler::frontend::load(&path, &opts.frontend)
        .unwrap()
        .public;
    let p = listed
        .iter()
        .find(|p| p.name == name)
        .expect("listed public");
    assert_eq!((p.why, p.value.as_str()), (PublicWhy::Scalar, "f32 [] 0.5"));
    let (public_bytes, public_weights) = cost(&opts);
    opts.frontend.secret_scalars = true;
    let listed = mpcc_compiler::frontend::load(&path, &opts.frontend)
        .unwrap()
        .public;
    assert!(listed.iter().all(|p| p.name != name), "not public any more");
    let (secret_bytes, secret_weights) = cost(&opts);
    assert!(secret_weights > public_weights);
    assert!(
        secret_bytes > public_bytes,
        "secret scalars {secret_bytes} B, public {public_bytes} B"
    );
}
