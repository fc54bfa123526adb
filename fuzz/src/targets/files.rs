//! Targets over the files a user brings: the plan and weights files (as written, and with
//! their digests stamped again after a mutation so the decoders behind the digest are
//! reached), `.npy` tensors, `reference.json`, `tokenizer.json` and the text it encodes.

use super::{outcome, vm};
use crate::seeds::PLANS;
use mpcc_compiler::io::{self, Reference};
use mpcc_ir::plan::Plan;
use mpcc_ir::Weights;
use mpcc_runtime::vm::check_party_data;
use mpcc_runtime::PartyData;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// Plan bytes as given: a plan that loads must re-encode to the same bytes, then it runs.
pub fn plan(data: &[u8]) -> String {
    load_and_run(data)
}

/// Plan bytes with the body length and digest stamped again over the (mutated) header
/// fields and body, so that mutations reach the body's decoder and checks.
pub fn plan_restamped(data: &[u8]) -> String {
    load_and_run(&restamp_plan(data))
}

/// Sets a plan file's body length and digest to match its header fields and body.
pub fn restamp_plan(data: &[u8]) -> Vec<u8> {
    let mut b = data.to_vec();
    if b.len() >= 56 {
        let body_len = (b.len() - 56) as u64;
        b[48..56].copy_from_slice(&body_len.to_le_bytes());
        let mut h = Sha256::new();
        h.update(&b[8..16]);
        h.update(&b[56..]);
        let d: [u8; 32] = h.finalize().into();
        b[16..48].copy_from_slice(&d);
    }
    b
}

fn load_and_run(data: &[u8]) -> String {
    match Plan::from_bytes(data) {
        Err(e) => outcome("plan", Err::<(), _>(e)),
        Ok(p) => {
            assert!(
                p.to_bytes() == data,
                "a loaded plan re-encodes to other bytes"
            );
            vm::run(&p, None)
        }
    }
}

/// Weights bytes as given and with the digest stamped again; what decodes is checked
/// against the seed plan it names and run with it.
pub fn weights(data: &[u8]) -> String {
    let mut out = weights_once(data);
    let mut b = data.to_vec();
    if b.len() >= 44 {
        let d = Sha256::digest(&b[44..]);
        b[12..44].copy_from_slice(&d);
        out.push_str("; ");
        out.push_str(&weights_once(&b));
    }
    out
}

fn weights_once(data: &[u8]) -> String {
    let w = match Weights::from_bytes(data) {
        Err(e) => return outcome("weights", Err::<(), _>(e)),
        Ok(w) => w,
    };
    assert!(
        w.to_bytes() == data,
        "loaded weights re-encode to other bytes"
    );
    let Some((plan, _)) = PLANS.iter().find(|(p, _)| p.header.digest == w.plan_digest) else {
        return "weights: ok, for no seed plan".into();
    };
    let d = PartyData {
        weights: Some(Arc::new(w.clone())),
        ..PartyData::default()
    };
    if let Err(e) = check_party_data(plan, mpcc_ir::MODEL_OWNER, &d) {
        return outcome("check", Err::<(), _>(e));
    }
    vm::run(plan, Some(w))
}

/// Writes `data` to a fresh temporary file and passes its path to `f`.
fn with_file<T>(name: &str, data: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write temp file");
    f(&path)
}

/// The smallest seed plan with an input, whose declarations the `.npy` target checks against.
static NPY_PLAN: LazyLock<Plan> = LazyLock::new(|| {
    PLANS
        .iter()
        .map(|(p, _)| p)
        .filter(|p| !p.body.inputs.is_empty())
        .min_by_key(|p| p.graph().nodes.len())
        .expect("a seed plan with an input")
        .clone()
});

/// `.npy` bytes through `read_npy`, and `read_npy_for` + `check_input` for an input of a
/// seed plan. What reads must hold as many values as its shape says.
pub fn npy(data: &[u8]) -> String {
    with_file("x.npy", data, |path| {
        let r = io::read_npy(path);
        if let Ok(t) = &r {
            let n: usize = t.tensor.shape.iter().product();
            assert_eq!(n, t.tensor.data.len(), "shape and data disagree");
        }
        let plan = &*NPY_PLAN;
        let decl = &plan.body.inputs[0];
        let checked = io::read_npy_for(path, decl).and_then(|t| io::check_input(plan, decl, t));
        format!(
            "{}; {}",
            outcome("read", r.map(drop)),
            outcome("check", checked.map(drop))
        )
    })
}

/// `reference.json` bytes through `Reference::load`; what loads has as many values as each
/// shape says, and writes its inputs as `.npy` files that read back with the same shapes.
pub fn reference(data: &[u8]) -> String {
    with_file("reference.json", data, |path| {
        let r = match Reference::load(path) {
            Err(e) => return outcome("reference", Err::<(), _>(e)),
            Ok(r) => r,
        };
        for t in r.inputs.iter().chain(&r.outputs) {
            let n = t.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
            assert!(
                n == Some(t.data.len()),
                "'{}': {:?} for {} values",
                t.name,
                t.shape,
                t.data.len()
            );
        }
        let _ = r.input_shapes();
        let dir = path.parent().expect("temp dir");
        match r.write_inputs(dir) {
            Err(e) => outcome("write", Err::<(), _>(e)),
            Ok(files) => {
                for (name, p) in files {
                    let t = io::read_npy(&p).expect("a written .npy reads back");
                    let want = &r.input(&name).expect("written input").shape;
                    assert_eq!(
                        &t.tensor.shape, want,
                        "shape of '{name}' after a round trip"
                    );
                }
                "reference: ok".into()
            }
        }
    })
}

/// A plan whose text inputs the tokenizer targets fill: `input_ids` (one-hot, vocabulary
/// 30522), `attention_mask` and `token_type_ids`, shape [1, 8].
static TEXT_PLAN: LazyLock<Plan> = LazyLock::new(|| {
    let text = "graph frac_bits=18
v0 = input {\"encoding\":\"Int\",\"name\":\"input_ids\",\"owner\":1} : client<1x8,z64,f0> @ \"ids\"
v1 = input {\"encoding\":\"Int\",\"name\":\"attention_mask\",\"owner\":1} : client<1x8,z64,f0> @ \"mask\"
v2 = input {\"encoding\":\"Int\",\"name\":\"token_type_ids\",\"owner\":1} : client<1x8,z64,f0> @ \"types\"
v3 = output {\"name\":\"ids\",\"to\":[1]} v0 : client<1x8,z64,f0> @ \"o0\"
v4 = output {\"name\":\"mask\",\"to\":[1]} v1 : client<1x8,z64,f0> @ \"o1\"
v5 = output {\"name\":\"types\",\"to\":[1]} v2 : client<1x8,z64,f0> @ \"o2\"
";
    let g = mpcc_ir::text::parse(text).expect("text plan parses");
    Plan::from_graph(g).expect("text plan builds")
});

/// Checks what `io::tokenize` returned: every declared text input, at the plan's shape.
fn tokenized(path: &Path, texts: &[String]) -> String {
    let plan = &*TEXT_PLAN;
    let r = io::tokenize(path, texts, plan);
    if let Ok(m) = &r {
        for d in &plan.body.inputs {
            let t = m.get(&d.name).expect("every text input is filled");
            assert_eq!(t.shape, d.shape, "'{}' has the plan's shape", d.name);
            assert_eq!(t.data.len(), 8, "'{}' has 8 values", d.name);
        }
    }
    // The number of real tokens, as a word (the corpus keeps inputs with new outcomes, and
    // outcome keys drop digits): texts that fill the row differently are kept apart.
    let words = [
        "none", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    let filled = r.as_ref().ok().and_then(|m| {
        let mask = m.get("attention_mask")?;
        let real = mask.data.iter().filter(|v| **v != 0.0).count();
        Some(words.get(real).copied().unwrap_or("many"))
    });
    match filled {
        Some(w) => format!("tokenize: ok, {w} real tokens"),
        None => outcome("tokenize", r.map(drop)),
    }
}

/// `tokenizer.json` bytes through `io::tokenize` on a fixed text.
pub fn tokenizer(data: &[u8]) -> String {
    with_file("tokenizer.json", data, |path| {
        tokenized(path, &["hello world, naïve café".to_string()])
    })
}

/// The bundled tokenizers' files, written once.
static TOKENIZER_FILES: LazyLock<tempfile::TempDir> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, t) in crate::seeds::tokenizers().iter().enumerate() {
        std::fs::write(dir.path().join(format!("t{i}.json")), t).expect("write tokenizer");
    }
    dir
});

/// Arbitrary text (lossy UTF-8 of the bytes after the first, which picks the tokenizer)
/// through `io::tokenize`.
pub fn text(data: &[u8]) -> String {
    let (pick, rest) = data.split_first().unwrap_or((&0, &[]));
    let path = TOKENIZER_FILES.path().join(format!("t{}.json", pick % 2));
    let which = ["first tokenizer", "second tokenizer"][usize::from(pick % 2)];
    let o = tokenized(&path, &[String::from_utf8_lossy(rest).into_owned()]);
    format!("{which}, {o}")
}
