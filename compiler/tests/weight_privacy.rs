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
const FIXTURES: [&str; 8] = [
    "bert-tiny",
    "bert-tiny-seqcls",
    "distilbert-tiny",
    "roberta-tiny",
    "gpt2-tiny",
    "llama-tiny",
    "vit-tiny",
    "bert-tiny-zero-bias",
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

/// The float32 values of an initializer (raw or typed storage).
fn values(t: &pb::TensorProto) -> Vec<f32> {
    if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

fn set_values(t: &mut pb::TensorProto, v: &[f32]) {
    t.float_data.clear();
    t.raw_data = v.iter().flat_map(|x| x.to_le_bytes()).collect();
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
    let float = pb::tensor_proto::DataType::Float as i32;
    let secret: Vec<usize> = (0..graph.initializer.len())
        .filter(|&i| {
            let t = &graph.initializer[i];
            t.data_type == float && !public.contains(&t.name)
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
        let float = pb::tensor_proto::DataType::Float as i32;
        let secret: Vec<(String, Vec<f32>)> = proto
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .filter(|t| t.data_type == float && !public.contains(&t.name))
            .map(|t| (t.name.clone(), values(t)))
            .filter(|(_, v)| v.len() >= 8)
            .collect();
        assert!(!secret.is_empty(), "{name} has secret initializers");
        for node in &plan.graph().nodes {
            let Op::Const { values } = &node.op else {
                continue;
            };
            let consts: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            for (t, w) in &secret {
                let leaked = consts.windows(8).any(|run| run == &w[..8]);
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
