//! Seed inputs of the targets, from the bundled fixtures: plans and weights compiled in
//! process (models/bert-tiny, and the kernel-only IR fixtures under tests/fixtures/ir/),
//! `.npy` files written by the compiler's writer, the models' reference.json, tokenizer.json
//! and model.onnx files, real hellos, TLS flights and frames, and recorded peer transcripts.
//! Each is built once per process.

use crate::targets::{net, vm};
use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::FrontendOptions;
use mpcc_compiler::io::{self, Reference};
use mpcc_ir::plan::Plan;
use mpcc_ir::Weights;
use mpcc_runtime::HostTensor;
use std::path::PathBuf;
use std::sync::LazyLock;

/// The repository root (the fixtures live under it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("seed {rel}: {e}"))
}

/// Kernel-only plans with their weights: the IR fixtures that verify as plans, then
/// models/bert-tiny compiled at its reference shapes.
pub static PLANS: LazyLock<Vec<(Plan, Weights)>> = LazyLock::new(|| {
    let mut out: Vec<(Plan, Weights)> = Vec::new();
    for text in fixture_texts() {
        let Ok(g) = mpcc_ir::text::parse(&String::from_utf8_lossy(&text)) else {
            continue;
        };
        // A fixture with high-level ops becomes a plan after the pass pipeline.
        let plan = Plan::from_graph(g.clone()).or_else(|_| {
            let lowered =
                mpcc_passes::run_pipeline(g, &Default::default()).map_err(|e| e.to_string())?;
            Plan::from_graph(lowered).map_err(|e| e.to_string())
        });
        if let Ok(plan) = plan {
            let w = vm::weights_for(&plan);
            out.push((plan, w));
        }
    }
    let dir = root().join("models/bert-tiny");
    let reference = Reference::load(&dir.join("reference.json")).expect("bert-tiny reference");
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: reference.input_shapes(),
            ..FrontendOptions::default()
        },
        passes: mpcc_passes::PassOptions::default(),
    };
    out.push(backend::compile(&dir.join("model.onnx"), &opts).expect("bert-tiny compiles"));
    out
});

/// Plan files.
pub fn plans() -> Vec<Vec<u8>> {
    PLANS.iter().map(|(p, _)| p.to_bytes()).collect()
}

/// Weights files (of the plans above).
pub fn weights() -> Vec<Vec<u8>> {
    PLANS.iter().map(|(_, w)| w.to_bytes()).collect()
}

/// `.npy` files of each dtype the reader takes, as the compiler and numpy write them.
pub fn npy() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    let shapes: [&[usize]; 4] = [&[1, 8], &[2, 3], &[], &[0, 4]];
    for (i, shape) in shapes.iter().enumerate() {
        let n: usize = shape.iter().product();
        let t = HostTensor {
            shape: shape.to_vec(),
            data: (0..n).map(|k| k as f64 * 0.5 - 1.0).collect(),
        };
        let f = dir.path().join(format!("f{i}.npy"));
        let g = dir.path().join(format!("i{i}.npy"));
        io::write_npy_f32(&f, &t).expect("write npy");
        io::write_npy_i64(&g, &t).expect("write npy");
        out.push(std::fs::read(&f).expect("read npy"));
        out.push(std::fs::read(&g).expect("read npy"));
    }
    out.push(
        b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b' ', 51))
            .chain(*b"\n\x01\x00\x00\x01")
            .collect(),
    );
    out
}

/// The models' reference.json files (the small ones).
pub fn references() -> Vec<Vec<u8>> {
    ["bert-tiny", "bert-tiny-seqcls", "pad-tiny", "vit-tiny"]
        .iter()
        .map(|m| read(&format!("models/{m}/reference.json")))
        .collect()
}

/// The bundled tokenizer.json files.
pub fn tokenizers() -> Vec<Vec<u8>> {
    vec![
        read("models/bert-tiny-seqcls/tokenizer.json"),
        read("models/minilm-tokenizer/tokenizer.json"),
    ]
}

/// Texts to tokenize, behind the byte that picks the tokenizer.
pub fn texts() -> Vec<Vec<u8>> {
    [
        "hello world",
        "",
        "The quick brown fox jumps over the lazy dog, twice!",
        "naïve café — ünïcödé 😀 日本語",
        "[CLS] [SEP] [PAD] [MASK] ##ing",
    ]
    .iter()
    .flat_map(|s| (0..2u8).map(move |t| [&[t], s.as_bytes()].concat()))
    .collect()
}

/// The IR text fixtures, and the kernel-only programs of the small seed plans (the fixtures
/// after the passes: polynomials, comparisons, reciprocals).
pub fn ir_texts() -> Vec<Vec<u8>> {
    let mut out = fixture_texts();
    for (p, _) in PLANS.iter().filter(|(p, _)| p.graph().nodes.len() < 1000) {
        out.push(p.graph().to_string().into_bytes());
    }
    out
}

/// The IR text fixtures under tests/fixtures/ir/.
fn fixture_texts() -> Vec<Vec<u8>> {
    let dir = root().join("tests/fixtures/ir");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/ir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ir"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).expect("IR fixture"))
        .collect()
}

/// Small ONNX fixtures (the target compiles each input, so they must be quick).
pub fn onnx() -> Vec<Vec<u8>> {
    vec![
        read("models/pad-tiny/model.onnx"),
        read("models/bert-tiny/model.onnx"),
    ]
}

/// A correct hello from party 1 and real TLS flights, each behind the mode byte
/// [`net::handshake`] reads.
pub fn handshakes() -> Vec<Vec<u8>> {
    let mut out = vec![net::with_mode(0, &net::hello_bytes(1))];
    let (to_listener, to_dialer) =
        mpcc_runtime::net::fuzzing::tls_flights().expect("in-memory TLS handshake");
    out.push(net::with_mode(1, &to_listener));
    out.push(net::with_mode(2, &to_dialer));
    out
}

/// Frame streams as the writer thread sends them.
pub fn frames() -> Vec<Vec<u8>> {
    use mpcc_runtime::net::fuzzing::encode_frame;
    let mut a = encode_frame(false, &[1, 2, 3, 4, 5, 6, 7, 8]);
    a.extend(encode_frame(false, &[]));
    a.extend(encode_frame(true, b"party 0 stopped: a reason"));
    vec![
        vec![7],
        [vec![1], a].concat(),
        [vec![200], encode_frame(false, &[9; 600])].concat(),
    ]
}

/// Recorded transcripts of what each party receives in a real run of the smallest plan.
pub fn transcripts() -> Vec<Vec<u8>> {
    (0..3).map(net::recorded_transcript).collect()
}
