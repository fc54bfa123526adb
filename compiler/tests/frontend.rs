//! Front end tests: each shared Hugging Face export lowers to a verified IR graph whose f64
//! evaluation matches onnxruntime's reference output; bad inputs give errors, not panics.

use mpcc_compiler::frontend::{load_onnx, CompileError, FrontendOptions};
use mpcc_ir::{Graph, InputEncoding, Op, Vis, Weights};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

mod frontend_support;
use frontend_support::*;

/// Input data by name (one-hot inputs as their ids).
type Inputs = HashMap<String, Vec<f64>>;

/// Evaluates `g` with the IR's reference interpreter; returns each output's shape (from its
/// type) and values, by name.
fn eval_graph(g: &Graph, inputs: &Inputs, w: &Weights) -> HashMap<String, (Vec<usize>, Vec<f64>)> {
    let mut outs = mpcc_ir::interp::eval(g, inputs, w).expect("eval");
    g.nodes
        .iter()
        .filter_map(|n| {
            let Op::Output { name, .. } = &n.op else {
                return None;
            };
            let data = outs.remove(name).expect("output evaluated");
            Some((name.clone(), (g.ty(n.output).shape.clone(), data)))
        })
        .collect()
}

fn histogram(g: &Graph) -> BTreeMap<&'static str, usize> {
    let mut h = BTreeMap::new();
    for n in &g.nodes {
        *h.entry(n.op.name()).or_insert(0) += 1;
    }
    h
}

/// Loads a model at its reference shape, checks the graph's invariants and returns it with
/// the max |eval - reference| over all outputs and the max |reference|.
fn check_model(name: &str) -> (Graph, Weights, f64, f64) {
    let dir = model_dir(name);
    let r = reference(&dir);
    let (g, w) = load_onnx(&dir.join("model.onnx"), &options(&r)).expect("load_onnx");
    g.verify(false).expect("graph verifies");
    assert!(
        g.nodes.iter().all(|n| !n.origin.is_empty()),
        "every node has an origin"
    );
    let inputs: Inputs = r
        .inputs
        .iter()
        .map(|t| (t.name.clone(), t.data.clone()))
        .collect();
    let outs = eval_graph(&g, &inputs, &w);
    let (mut err, mut mag) = (0.0f64, 0.0f64);
    for o in &r.outputs {
        let (shape, got) = outs.get(&o.name).expect("output present");
        assert_eq!(shape, &o.shape, "output {} shape", o.name);
        for (a, b) in got.iter().zip(&o.data) {
            err = err.max((a - b).abs());
            mag = mag.max(b.abs());
        }
    }
    eprintln!(
        "{name}: max err {err:e}, max |ref| {mag}, {:?}",
        histogram(&g)
    );
    (g, w, err, mag)
}

/// Asserts the op histogram of a graph.
fn assert_histogram(g: &Graph, expected: &[(&str, usize)]) {
    let got = histogram(g);
    let want: BTreeMap<&str, usize> = expected.iter().copied().collect();
    assert_eq!(got, want, "op histogram");
}

/// bert-tiny lowers to a verified graph whose f64 evaluation matches onnxruntime.
#[test]
fn bert_tiny_matches_reference() {
    let (g, _, err, _) = check_model("bert-tiny");
    assert!(err < 1e-5, "max error {err}");
    #[rustfmt::skip]
    assert_histogram(&g, &[("add", 25), ("broadcast", 1), ("const", 11), ("gelu", 2), ("input", 3),
        ("matmul", 18), ("mul", 15), ("output", 1), ("reduce_sum", 5), ("reshape", 25),
        ("rms_norm", 5), ("shl", 1), ("softmax", 2), ("sub", 6), ("transpose", 8), ("trunc", 32), ("weight", 37)]);
}

/// bert-tiny-seqcls (pooler Tanh, classifier) matches onnxruntime.
#[test]
fn bert_tiny_seqcls_matches_reference() {
    let (g, _, err, _) = check_model("bert-tiny-seqcls");
    assert!(err < 1e-6, "max error {err}");
    #[rustfmt::skip]
    assert_histogram(&g, &[("add", 27), ("broadcast", 1), ("const", 11), ("gather", 1), ("gelu", 2),
        ("input", 3), ("matmul", 20), ("mul", 15), ("output", 1), ("reduce_sum", 5), ("reshape", 28),
        ("rms_norm", 5), ("shl", 1), ("softmax", 2), ("sub", 6), ("tanh", 1), ("transpose", 8), ("trunc", 34),
        ("weight", 41)]);
}

/// distilbert-tiny matches onnxruntime.
#[test]
fn distilbert_tiny_matches_reference() {
    let (g, _, err, _) = check_model("distilbert-tiny");
    assert!(err < 1e-5, "max error {err}");
    #[rustfmt::skip]
    assert_histogram(&g, &[("add", 24), ("broadcast", 1), ("const", 11), ("gelu", 2), ("input", 2),
        ("matmul", 17), ("mul", 15), ("output", 1), ("reduce_sum", 5), ("reshape", 25),
        ("rms_norm", 5), ("shl", 1), ("softmax", 2), ("sub", 6), ("transpose", 8), ("trunc", 31), ("weight", 36)]);
}

/// roberta-tiny matches onnxruntime; its position ids come from one `ge` over the secret ids.
#[test]
fn roberta_tiny_matches_reference() {
    let (g, _, err, _) = check_model("roberta-tiny");
    assert!(err < 1e-5, "max error {err}");
    #[rustfmt::skip]
    assert_histogram(&g, &[("add", 27), ("broadcast", 1), ("const", 14), ("ge", 1), ("gelu", 2),
        ("input", 2), ("matmul", 19), ("mul", 16), ("output", 1), ("reduce_sum", 5), ("reshape", 26),
        ("rms_norm", 5), ("shl", 1), ("slice", 1), ("softmax", 2), ("sub", 7), ("transpose", 9), ("trunc", 32),
        ("weight", 38)]);
    let ge = g.nodes.iter().find(|n| n.op.name() == "ge").expect("ge");
    let want: Vec<f64> = (1..17).map(|c| c as f64 + 0.5).collect();
    assert_eq!(
        ge.op,
        Op::Ge { thresholds: want },
        "positions 1..=17 need 16 thresholds"
    );
}

/// all-MiniLM-L6-v2 (real weights, batch 2 with padding) matches onnxruntime.
#[test]
fn minilm_matches_reference() {
    let (g, w, err, _) = check_model("all-minilm-l6-v2");
    assert!(err < 1e-4, "max error {err}");
    #[rustfmt::skip]
    assert_histogram(&g, &[("add", 69), ("broadcast", 1), ("const", 27), ("gelu", 6), ("input", 3),
        ("matmul", 50), ("mul", 39), ("output", 1), ("reduce_sum", 13), ("reshape", 91),
        ("rms_norm", 13), ("shl", 1), ("softmax", 6), ("sub", 14), ("transpose", 24), ("trunc", 88),
        ("weight", 101)]);
    let params: usize = w.tensors.iter().map(|t| t.data.len()).sum();
    assert_eq!(
        params,
        22_565_376 - 512 * 384 + 32 * 384 - 2 * 384 + 2 * 384,
        "weights shipped"
    );
}

/// vit-tiny (patch Conv, class token Concat) matches onnxruntime.
#[test]
fn vit_tiny_matches_reference() {
    let (g, _, err, _) = check_model("vit-tiny");
    assert!(err < 1e-6, "max error {err}");
    assert_eq!(histogram(&g)["concat"], 1);
    assert_eq!(histogram(&g)["gelu"], 2);
}

/// gpt2-tiny (tanh GeLU, causal mask, one-hot position ids) matches onnxruntime.
#[test]
fn gpt2_tiny_matches_reference() {
    let (g, _, err, _) = check_model("gpt2-tiny");
    assert!(err < 1e-6, "max error {err}");
    let h = histogram(&g);
    assert_eq!((h["tanh"], h["softmax"], h.get("gelu")), (2, 2, None));
    let pos = g
        .nodes
        .iter()
        .find(|n| matches!(&n.op, Op::Input { name, .. } if name == "position_ids"))
        .expect("position_ids");
    assert!(matches!(
        pos.op,
        Op::Input {
            encoding: InputEncoding::OneHot { depth: 128 },
            ..
        }
    ));
}

/// Graph inputs are the client's secrets (ids one-hot, the mask fixed point), weights are the
/// owner's with their data shipped, constants are public and representable.
#[test]
fn bert_tiny_ownership_and_encodings() {
    let dir = model_dir("bert-tiny");
    let (g, w) = load_onnx(&dir.join("model.onnx"), &options(&reference(&dir))).expect("load");
    let mut inputs = BTreeMap::new();
    for n in &g.nodes {
        let ty = g.ty(n.output);
        if let Op::Input {
            name,
            owner,
            encoding,
        } = &n.op
        {
            let scale = if *encoding == InputEncoding::Int {
                0
            } else {
                18
            };
            assert_eq!(
                (*owner, ty.vis, ty.scale),
                (mpcc_ir::CLIENT, Vis::Client, scale)
            );
            inputs.insert(name.clone(), (encoding.clone(), ty.shape.clone()));
        } else if let Op::Weight { name } = &n.op {
            assert_eq!(ty.vis, Vis::Owner);
            let t = w.get(name).expect("weight data");
            assert_eq!((&t.shape, t.data.len()), (&ty.shape, ty.len()));
        } else if let Op::Const { values } = &n.op {
            assert_eq!(ty.vis, Vis::Public);
            assert!(
                values.iter().all(|v| v.abs() <= 10_000.0),
                "representable {values:?}"
            );
        } else if let Op::Output { to, .. } = &n.op {
            assert_eq!(to, &vec![mpcc_ir::CLIENT]);
        }
    }
    let onehot = |d| InputEncoding::OneHot { depth: d };
    assert_eq!(inputs["input_ids"], (onehot(1000), vec![1, 16, 1000]));
    assert_eq!(inputs["token_type_ids"], (onehot(2), vec![1, 16, 2]));
    assert_eq!(inputs["attention_mask"], (InputEncoding::Int, vec![1, 16]));
    let names: std::collections::HashSet<&str> =
        w.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), w.tensors.len(), "weight names are unique");
    assert_eq!(w.tensors.len(), 37);
}

/// `--public-weights` makes every weight public, other frac bits change every scale, and
/// the graph still verifies and evaluates to the reference.
#[test]
fn public_weights_and_frac_bits() {
    let dir = model_dir("distilbert-tiny");
    let r = reference(&dir);
    let opts = FrontendOptions {
        public_weights: true,
        frac_bits: 12,
        ..options(&r)
    };
    let (g, w) = load_onnx(&dir.join("model.onnx"), &opts).expect("load");
    g.verify(false).expect("verifies");
    assert_eq!(g.frac_bits, 12);
    for n in &g.nodes {
        let ty = g.ty(n.output);
        if matches!(n.op, Op::Weight { .. }) {
            assert_eq!((ty.vis, ty.scale), (Vis::Public, 12));
        }
        if let Op::Trunc { bits } = n.op {
            assert_eq!(bits, 12);
        }
    }
    let inputs: Inputs = r
        .inputs
        .iter()
        .map(|t| (t.name.clone(), t.data.clone()))
        .collect();
    let out = eval_graph(&g, &inputs, &w);
    let got = &out["last_hidden_state"].1;
    let err = got
        .iter()
        .zip(&r.outputs[0].data)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-5, "max error {err}");
}

/// Lowers a model at the inputs' shapes and compares the IR's f64 evaluation with tract.
fn check_against_tract(name: &str, inputs: Vec<tract_ref::In>) -> f64 {
    let path = model_dir(name).join("model.onnx");
    let opts = FrontendOptions {
        input_shapes: inputs.iter().map(|i| (i.0.clone(), i.1.clone())).collect(),
        ..FrontendOptions::default()
    };
    let (g, w) = load_onnx(&path, &opts).expect("load_onnx");
    g.verify(false).expect("verifies");
    let host: Inputs = inputs.iter().map(|i| (i.0.clone(), i.2.clone())).collect();
    let ours = eval_graph(&g, &host, &w);
    let theirs = tract_ref::run(&path, &inputs);
    let (_, out) = ours.values().next().expect("one output");
    assert_eq!(ours.len(), 1);
    assert_eq!(out.len(), theirs[0].len());
    out.iter()
        .zip(&theirs[0])
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
}

/// bert-tiny at batch 2, sequence 9, with a padded row, matches tract.
#[test]
fn bert_tiny_other_shape_with_padding() {
    let (b, s) = (2, 9);
    let mut ids = ints(1, b * s, 5, 1000);
    ids[s + 6..].iter_mut().for_each(|x| *x = 0.0);
    let inputs = vec![
        ("input_ids".into(), vec![b, s], ids, true),
        ("attention_mask".into(), vec![b, s], mask(s, &[9, 6]), true),
        (
            "token_type_ids".into(),
            vec![b, s],
            ints(2, b * s, 0, 2),
            true,
        ),
    ];
    let err = check_against_tract("bert-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// roberta-tiny with pad ids (id 1) inside and at the end of rows: the secret position ids
/// skip them exactly as the ONNX graph does.
#[test]
fn roberta_tiny_pad_ids_shift_positions() {
    let (b, s) = (2, 12);
    let mut ids = ints(3, b * s, 3, 1000);
    ids[4] = 1.0;
    ids[s + 8..].iter_mut().for_each(|x| *x = 1.0);
    let inputs = vec![
        ("input_ids".into(), vec![b, s], ids, true),
        ("attention_mask".into(), vec![b, s], mask(s, &[12, 8]), true),
    ];
    let err = check_against_tract("roberta-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// roberta-tiny at its longest sequence (128 positions, indices up to 129) compiles, and one
/// more token is refused instead of reading past the position table.
#[test]
fn roberta_tiny_sequence_limit() {
    let path = model_dir("roberta-tiny").join("model.onnx");
    let shapes = |s: usize| FrontendOptions {
        input_shapes: vec![
            ("input_ids".into(), vec![1, s]),
            ("attention_mask".into(), vec![1, s]),
        ],
        ..FrontendOptions::default()
    };
    let (g, _) = load_onnx(&path, &shapes(128)).expect("128 tokens compile");
    g.verify(false).expect("verifies");
    let err = load_onnx(&path, &shapes(129)).expect_err("129 tokens");
    assert!(err.to_string().contains("position"), "{err}");
}

/// distilbert-tiny at batch 3, sequence 40, padded, matches tract.
#[test]
fn distilbert_tiny_batch_3() {
    let (b, s) = (3, 40);
    let inputs = vec![
        (
            "input_ids".into(),
            vec![b, s],
            ints(4, b * s, 5, 1000),
            true,
        ),
        (
            "attention_mask".into(),
            vec![b, s],
            mask(s, &[40, 17, 1]),
            true,
        ),
    ];
    let err = check_against_tract("distilbert-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// bert-tiny-seqcls at its maximum sequence length (128) matches tract.
#[test]
fn bert_tiny_seqcls_max_positions() {
    let s = 128;
    let inputs = vec![
        ("input_ids".into(), vec![1, s], ints(5, s, 5, 1000), true),
        ("attention_mask".into(), vec![1, s], mask(s, &[100]), true),
        ("token_type_ids".into(), vec![1, s], ints(6, s, 0, 2), true),
    ];
    let err = check_against_tract("bert-tiny-seqcls", inputs);
    assert!(err < 1e-6, "max error {err}");
}

/// gpt2-tiny at batch 2 with a right-padded row matches tract.
#[test]
fn gpt2_tiny_padded_batch() {
    let (b, s) = (2, 7);
    let pos: Vec<f64> = (0..b).flat_map(|_| (0..s).map(|j| j as f64)).collect();
    let inputs = vec![
        (
            "input_ids".into(),
            vec![b, s],
            ints(7, b * s, 5, 1000),
            true,
        ),
        ("attention_mask".into(), vec![b, s], mask(s, &[7, 4]), true),
        ("position_ids".into(), vec![b, s], pos, true),
    ];
    let err = check_against_tract("gpt2-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// vit-tiny at batch 2 matches tract.
#[test]
fn vit_tiny_batch_2() {
    let n = 2 * 3 * 32 * 32;
    let px: Vec<f64> = ints(8, n, 0, 2001)
        .iter()
        .map(|v| v / 1000.0 - 1.0)
        .collect();
    let inputs = vec![("pixel_values".into(), vec![2, 3, 32, 32], px, false)];
    let err = check_against_tract("vit-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// Without --input-shape the error lists every input and the dims it needs.
#[test]
fn missing_input_shapes_are_listed() {
    let path = model_dir("bert-tiny").join("model.onnx");
    let err = load_onnx(&path, &FrontendOptions::default()).expect_err("dynamic dims");
    let CompileError::MissingInputShape(lines) = &err else {
        panic!("wrong error: {err}")
    };
    assert_eq!(
        lines,
        &[
            "input_ids needs --input-shape input_ids=BATCH,SEQ (dims batch_size, sequence_length)",
            "attention_mask needs --input-shape attention_mask=BATCH,SEQ (dims batch_size, sequence_length)",
            "token_type_ids needs --input-shape token_type_ids=BATCH,SEQ (dims batch_size, sequence_length)",
            "(or fix every text input at once with --batch B --seq S; an image input with \
             --batch B --image-size H,W)",
        ]
    );
    assert!(err.to_string().contains("--input-shape"));
}

/// Wrong --input-shape values are refused with a message naming the input.
#[test]
fn bad_input_shapes_are_refused() {
    let path = model_dir("bert-tiny").join("model.onnx");
    let try_shapes = |shapes: &[(&str, &[usize])]| {
        let opts = FrontendOptions {
            input_shapes: shapes
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_vec()))
                .collect(),
            ..FrontendOptions::default()
        };
        load_onnx(&path, &opts).expect_err("bad shapes").to_string()
    };
    let all = |s: &'static [usize]| {
        [
            ("input_ids", s),
            ("attention_mask", s),
            ("token_type_ids", s),
        ]
    };
    let e = try_shapes(&[("pixels", &[1, 3])]);
    assert!(
        e.contains("no input 'pixels'") && e.contains("input_ids"),
        "{e}"
    );
    let e = try_shapes(&all(&[1, 16, 1]));
    assert!(e.contains("input_ids: the model declares rank 2"), "{e}");
    let e = try_shapes(&[
        ("input_ids", &[1, 16]),
        ("attention_mask", &[1, 8]),
        ("token_type_ids", &[1, 16]),
    ]);
    assert!(e.contains("sequence_length"), "{e}");
    let e = try_shapes(&all(&[1, 0]));
    assert!(e.contains("dim 1 is 0"), "{e}");
    let e = try_shapes(&all(&[1, 200]));
    assert!(
        e.contains("position table"),
        "sequence beyond 128 positions: {e}"
    );
    let vit = model_dir("vit-tiny").join("model.onnx");
    let opts = FrontendOptions {
        input_shapes: vec![("pixel_values".into(), vec![1, 4, 32, 32])],
        ..FrontendOptions::default()
    };
    let e = load_onnx(&vit, &opts).expect_err("4 channels").to_string();
    assert!(e.contains("could not type the model"), "{e}");
}

/// An operator without a lowering on run-time data names itself, its node and the manifest;
/// a supported one in the same hand-made file lowers.
#[test]
fn unsupported_operator_is_named() {
    let path = scratch("cos", &one_op_model("Cos"));
    let err = load_onnx(&path, &FrontendOptions::default()).expect_err("Cos on a secret");
    std::fs::remove_file(&path).ok();
    let CompileError::Unsupported { op, node, .. } = &err else {
        panic!("wrong error: {err}")
    };
    assert_eq!((op.as_str(), node.as_str()), ("Cos", "the_node"));
    assert!(err.to_string().contains("docs/ONNX-OPS.md"), "{err}");
    let path = scratch("tanh", &one_op_model("Tanh"));
    let (g, _) = load_onnx(&path, &FrontendOptions::default()).expect("Tanh lowers");
    std::fs::remove_file(&path).ok();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["input", "tanh", "output"]);
}

/// Missing, empty, garbage and truncated files give a load error, never a panic.
#[test]
fn corrupt_files_give_errors() {
    let missing = Path::new("/nonexistent/model.onnx");
    let e = load_onnx(missing, &FrontendOptions::default()).expect_err("missing file");
    assert!(matches!(e, CompileError::Io { .. }), "{e}");
    assert!(!e.is_bug(), "{e}");
    let model = std::fs::read(model_dir("bert-tiny").join("model.onnx")).expect("read");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: [(&str, &[u8]); 4] = [
        ("empty", &[]),
        ("garbage", &garbage),
        ("truncated", &model[..model.len() / 3]),
        ("head", &model[..64]),
    ];
    for (tag, bytes) in cases {
        let p = scratch(tag, bytes);
        let r = load_onnx(&p, &options(&reference(&model_dir("bert-tiny"))));
        std::fs::remove_file(&p).ok();
        assert!(r.is_err(), "{tag} must not load");
    }
}

/// llama-tiny (rotary Cos/Sin through lookup tables on one-hot position ids, SiLU, RMSNorm)
/// matches onnxruntime.
#[test]
fn llama_tiny_matches_reference() {
    let (g, w, err, _) = check_model("llama-tiny");
    assert!(err < 1e-6, "max error {err}");
    let h = histogram(&g);
    assert_eq!((h["silu"], h["rms_norm"], h["neg"]), (2, 5, 4));
    let pos = g
        .nodes
        .iter()
        .find(|n| matches!(&n.op, Op::Input { name, .. } if name == "position_ids"));
    let pos = pos.expect("position_ids input");
    assert!(matches!(
        pos.op,
        Op::Input {
            encoding: InputEncoding::OneHot { depth: 16 },
            ..
        }
    ));
    // The rotary table comes from a Constant node (inv_freq, fixed by the config), so it is
    // a public constant, not an owner weight.
    assert!(w.get("/model/rotary_emb/Cos[table]").is_none());
    let cos = g
        .nodes
        .iter()
        .find(|n| n.origin == "/model/rotary_emb/Cos[table]")
        .expect("cos table");
    let Op::Const { values } = &cos.op else {
        panic!("the cos table is {:?}", cos.op)
    };
    assert_eq!(g.ty(cos.output).shape, vec![16, 32]);
    assert!(
        (values[32 + 1] - (0.562_341_33f64).cos()).abs() < 1e-6,
        "cos(1 * inv_freq[1])"
    );
}

/// llama-tiny at batch 2 with other position ids (in 0..S) and a right-padded row matches
/// tract.
#[test]
fn llama_tiny_position_ids_and_padding() {
    let (b, s) = (2, 10);
    let pos: Vec<f64> = (0..s)
        .chain([1, 1, 0, 1, 2, 3, 4, 5, 6, 9])
        .map(|j| j as f64)
        .collect();
    let inputs = vec![
        (
            "input_ids".into(),
            vec![b, s],
            ints(9, b * s, 5, 1000),
            true,
        ),
        ("attention_mask".into(), vec![b, s], mask(s, &[10, 7]), true),
        ("position_ids".into(), vec![b, s], pos, true),
    ];
    let err = check_against_tract("llama-tiny", inputs);
    assert!(err < 1e-5, "max error {err}");
}

/// Every node of bert-tiny carries origin facts: the softmax nodes are ONNX `Softmax` in
/// layers 0 and 1. (The golden cost reports of bert-tiny check every op type and layer: they
/// are unchanged from when the reports parsed node names.)
#[test]
fn bert_tiny_origin_facts() {
    let dir = model_dir("bert-tiny");
    let (g, _) = load_onnx(&dir.join("model.onnx"), &options(&reference(&dir))).expect("load");
    assert_eq!(g.facts.node.len(), g.nodes.len(), "every node has facts");
    let facts = |n: &mpcc_ir::Node| g.node_facts(n.output).expect("facts").clone();
    let softmax: Vec<_> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Softmax { .. }))
        .map(|n| (facts(n).op_type, facts(n).layer))
        .collect();
    let want = [0, 1].map(|i| ("Softmax".to_string(), mpcc_ir::Layer::Index(i)));
    assert_eq!(softmax, want);
}

/// Ranges the front end knows go to the side table: roberta-tiny's secret position ids,
/// compared with one threshold per position, lie in 1..=17.
#[test]
fn roberta_tiny_position_range_is_recorded() {
    let dir = model_dir("roberta-tiny");
    let (g, _) = load_onnx(&dir.join("model.onnx"), &options(&reference(&dir))).expect("load");
    let ge = g.nodes.iter().find(|n| n.op.name() == "ge").expect("ge");
    let r = g.range(ge.inputs[0]).expect("the ge operand has a range");
    assert_eq!((r.lo, r.hi), (1.0, 17.0));
}

/// The reference interpreter that checks the lowerings evaluates broadcast matmuls,
/// comparisons and softmax to their plain definitions (the cases of the front end's former
/// evaluator).
#[test]
fn reference_interpreter_evaluates_plainly() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/ir/kernels_plain.ir"))
        .expect("fixture");
    let g = mpcc_ir::text::parse(&text).expect("parses");
    let out = eval_graph(&g, &HashMap::new(), &Weights::default());
    assert_eq!(out["m"].1, vec![3.0, 2.0, 7.0, 4.0, 11.0, 6.0, 15.0, 8.0]);
    assert_eq!(
        out["ge"].1,
        vec![0., 0., 1., 0., 1., 1., 1., 1., 0., 0., 0., 0., 1., 0., 1., 0.]
    );
    let e = 1.0 / (1.0 + (-1.0f64).exp());
    assert!((out["sm"].1[0] - e).abs() < 1e-12);
}

/// A model without a lowering is refused as the model's fault, a missing shape likewise;
/// neither is reported as a compiler bug.
#[test]
fn user_errors_are_not_bugs() {
    let path = model_dir("bert-tiny").join("model.onnx");
    let e = load_onnx(&path, &FrontendOptions::default()).expect_err("dynamic dims");
    assert!(!e.is_bug(), "{e}");
    let path = scratch("cos-bug", &one_op_model("Cos"));
    let e = load_onnx(&path, &FrontendOptions::default()).expect_err("Cos");
    std::fs::remove_file(&path).ok();
    assert!(!e.is_bug(), "{e}");
}
