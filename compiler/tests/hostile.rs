//! Hostile uses of the `mpcc` binary (issue 14): outputs that alias inputs or each other are
//! refused before anything is written, a closed standard output ends the printing quietly
//! without costing any file or the exit status, and `--frac-bits` outside its useful range
//! is refused with the reason.

use mpcc_compiler::backend;
use mpcc_runtime::HostTensor;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{ir_fixture, mpcc, one_tensor, text};

const BERT_TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/bert-tiny");

/// A temporary folder holding the matmul plan (x [2,3] · w [3,2] → y), its weights and an
/// input file `x.npy`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let weights = one_tensor("w", &[3, 2], &[0.5, -1.0, 2.0, 0.125, -0.75, 1.0]);
        let (plan, weights) = backend::build_plan(ir_fixture("matmul.ir"), weights).unwrap();
        backend::write_plan(&dir.path().join("model.plan"), &plan, &weights).unwrap();
        let x = HostTensor {
            shape: vec![2, 3],
            data: vec![1.5, -2.0, 0.25, 3.0, 0.5, -1.0],
        };
        mpcc_compiler::io::write_npy_f32(&dir.path().join("x.npy"), &x).unwrap();
        Fixture { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }
}

/// Every file under `dir` with its bytes, to show that a refusal changed nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    all.sort();
    all
}

/// Asserts exit status 1, no panic, stderr holding every needle.
fn assert_refused(out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", text(&out.stdout));
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks '{n}': {stderr}");
    }
}

/// `mpcc compile` refuses a plan, weights file or IR path that is the model (also through a
/// symlink or another spelling of the path), the overrides file, or another output, before
/// it writes anything; the error names both paths.
#[test]
fn compile_refuses_outputs_that_alias() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(Path::new(BERT_TINY).join("model.onnx"), d.join("m.onnx")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("o.json"), "[]").unwrap();
    std::os::unix::fs::symlink(d.join("m.onnx"), d.join("link.plan")).unwrap();
    let p = |n: &str| d.join(n).to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, [&str; 2])> = vec![
        (
            vec![p("m.onnx"), "-o".into(), p("m.onnx")],
            ["the plan (-o)", "the model"],
        ),
        (
            vec![p("m.onnx"), "-o".into(), p("sub/../m.onnx")],
            ["the plan (-o)", "the model"],
        ),
        (
            vec![p("m.onnx"), "-o".into(), p("link.plan")],
            ["the plan (-o)", "the model"],
        ),
        (
            vec![
                p("m.onnx"),
                "-o".into(),
                p("m.plan"),
                "--emit-ir".into(),
                p("m.plan"),
            ],
            ["the IR (--emit-ir)", "the plan (-o)"],
        ),
        (
            vec![
                p("m.onnx"),
                "-o".into(),
                p("m.plan"),
                "--emit-ir".into(),
                p("m.weights"),
            ],
            ["the IR (--emit-ir)", "the weights file"],
        ),
        (
            vec![p("m.onnx"), "-o".into(), p("m.weights")],
            ["the weights file", "the plan (-o)"],
        ),
        (
            vec![
                p("m.onnx"),
                "-o".into(),
                p("x.plan"),
                "--emit-ir".into(),
                p("m.onnx"),
            ],
            ["the IR (--emit-ir)", "the model"],
        ),
        (
            vec![
                p("m.onnx"),
                "-o".into(),
                p("o.json"),
                "--approx-overrides".into(),
                p("o.json"),
            ],
            ["the plan (-o)", "the overrides file"],
        ),
    ];
    for (args, needles) in cases {
        std::fs::copy(Path::new(BERT_TINY).join("model.onnx"), d.join("m.onnx")).unwrap();
        let before = snapshot(d);
        let mut argv = vec!["compile"];
        argv.extend(args.iter().map(String::as_str));
        argv.extend(["--input-shape", "input_ids=1,16"]);
        argv.extend(["--input-shape", "attention_mask=1,16"]);
        argv.extend(["--input-shape", "token_type_ids=1,16"]);
        let out = mpcc(&argv);
        assert_refused(&out, &needles);
        let e = text(&out.stderr);
        assert!(e.contains("same file"), "{args:?}: {e}");
        assert_eq!(snapshot(d), before, "{args:?} changed a file: {e}");
    }
    // A model that itself sits where the weights would go.
    std::fs::rename(d.join("m.onnx"), d.join("w.weights")).unwrap();
    let out = mpcc(&["compile", &p("w.weights"), "-o", &p("w.plan")]);
    assert_refused(&out, &["the weights file", "the model", "same file"]);
    assert!(d.join("w.weights").exists() && !d.join("w.plan").exists());
}

/// `mpcc run` refuses a profile or output file that would overwrite the plan, the weights,
/// an input or another output, before any party starts; `mpcc cost --svg` refuses the plan.
#[test]
fn run_and_cost_refuse_outputs_that_alias() {
    let f = Fixture::new();
    let x = format!("x={}", f.s("x.npy"));
    let plan = f.s("model.plan");
    for (extra, needles) in [
        (
            vec![
                "--output-dir".to_string(),
                f.s("out"),
                "--profile".into(),
                plan.clone(),
            ],
            ["the profile (--profile)", "the plan"],
        ),
        (
            vec![
                "--output-dir".into(),
                f.s("out"),
                "--profile".into(),
                f.s("model.weights"),
            ],
            ["the profile (--profile)", "the weights file"],
        ),
        (
            vec![
                "--output-dir".into(),
                f.s("out"),
                "--profile".into(),
                f.s("out/y_out_0.npy"),
            ],
            ["the profile (--profile)", "output 'y/out:0'"],
        ),
    ] {
        let before = snapshot(f.dir.path());
        let mut argv = vec!["run", plan.as_str(), "--input", x.as_str()];
        argv.extend(extra.iter().map(String::as_str));
        let out = mpcc(&argv);
        assert_refused(&out, &needles);
        assert!(!text(&out.stdout).contains("running"), "a party started");
        assert_eq!(snapshot(f.dir.path()), before);
    }
    // The output file would land on the input file.
    std::fs::create_dir(f.path("in")).unwrap();
    std::fs::copy(f.path("x.npy"), f.path("in/y_out_0.npy")).unwrap();
    let x_in = format!("x={}", f.s("in/y_out_0.npy"));
    let out = mpcc(&["run", &plan, "--input", &x_in, "--output-dir", &f.s("in")]);
    assert_refused(
        &out,
        &["output 'y/out:0'", "the input file of 'x'", "same file"],
    );
    let out = mpcc(&["cost", &plan, "--svg", &plan]);
    assert_refused(&out, &["the picture (--svg)", "the plan", "same file"]);
    assert!(mpcc_ir::plan::Plan::from_bytes(&std::fs::read(f.path("model.plan")).unwrap()).is_ok());
}

/// Runs `mpcc` with its standard output a pipe whose reading end is closed before `mpcc`
/// writes to it (as `| head -0` does); returns the exit status and stderr.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mpcc"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpcc starts");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

/// With standard output closed, `run`, `compile`, `cost` and `keygen` still write their
/// files and exit 0, without a panic or a word on stderr; a failed run still exits 1.
#[test]
fn closed_stdout_costs_no_output_and_no_status() {
    let f = Fixture::new();
    let x = format!("x={}", f.s("x.npy"));
    let (plan, out, prof) = (f.s("model.plan"), f.s("out"), f.s("p.json"));
    let (code, err) = with_closed_stdout(&[
        "run",
        &plan,
        "--input",
        &x,
        "--output-dir",
        &out,
        "--profile",
        &prof,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(f.path("out/y_out_0.npy").exists() && f.path("p.json").exists());

    let (code, err) = with_closed_stdout(&["cost", &plan]);
    assert_eq!((code, err.as_str()), (Some(0), ""));

    let keys = f.s("keys");
    let (code, err) = with_closed_stdout(&["keygen", "--id", "0", "--out-dir", &keys]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(f.path("keys/party0.crt").exists());

    let bert = format!("{BERT_TINY}/model.onnx");
    let (bp, ir) = (f.s("bert.plan"), f.s("bert.ir"));
    let (code, err) = with_closed_stdout(&[
        "compile",
        &bert,
        "-o",
        &bp,
        "--emit-ir",
        &ir,
        "--input-shape",
        "input_ids=1,16",
        "--input-shape",
        "attention_mask=1,16",
        "--input-shape",
        "token_type_ids=1,16",
    ]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(f.path("bert.plan").exists() && f.path("bert.weights").exists());
    assert!(f.path("bert.ir").exists());

    let bad = format!("y={}", f.s("x.npy"));
    let (code, err) = with_closed_stdout(&["run", &plan, "--input", &bad, "--output-dir", &out]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `--frac-bits` 11 and 30 are refused with the reason and the bound; 12 and 29 compile
/// bert-tiny, and the plan runs to its reference (cosine printed by `mpcc run`).
#[test]
fn frac_bits_limited_to_useful_range() {
    let dir = tempfile::tempdir().unwrap();
    let model = format!("{BERT_TINY}/model.onnx");
    let reference = format!("{BERT_TINY}/reference.json");
    let plan = dir.path().join("b.plan");
    let compile = |bits: &str| {
        mpcc(&[
            "compile",
            &model,
            "-o",
            plan.to_str().unwrap(),
            "--frac-bits",
            bits,
            "--input-shape",
            "input_ids=1,16",
            "--input-shape",
            "attention_mask=1,16",
            "--input-shape",
            "token_type_ids=1,16",
        ])
    };
    for (bits, needles) in [
        ("11", ["too few", "smallest allowed value is 12"]),
        (
            "30",
            ["truncation needs |x| < 2^62", "largest allowed value is 29"],
        ),
        (
            "40",
            ["overflows even for 1 * 1", "largest allowed value is 29"],
        ),
    ] {
        let out = compile(bits);
        let e = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bits}: {e}");
        for n in needles {
            assert!(e.contains(n), "{bits}: stderr lacks '{n}': {e}");
        }
        assert!(!plan.exists());
    }
    for bits in ["12", "29"] {
        let out = compile(bits);
        assert!(out.status.success(), "{bits}: {}", text(&out.stderr));
        let outdir = dir.path().join(format!("out{bits}"));
        let run = mpcc(&[
            "run",
            plan.to_str().unwrap(),
            "--reference",
            &reference,
            "--output-dir",
            outdir.to_str().unwrap(),
        ]);
        let stdout = text(&run.stdout);
        assert!(run.status.success(), "{bits}: {}", text(&run.stderr));
        let cosine: f64 = stdout
            .split("cosine ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no cosine in {stdout}"));
        assert!(cosine > 0.999, "{bits} bits: cosine {cosine}");
    }
    let help = text(&mpcc(&["compile", "--help"]).stdout);
    assert!(
        help.contains("12..=29") && help.contains("2^(k-2)"),
        "{help}"
    );
}

/// Issue 14 item 8: a failed write leaves nothing behind. When the weights file cannot be
/// written (a folder stands where it would go), `mpcc compile` fails naming it and leaves
/// neither a plan nor a hidden temporary file; a plan written earlier to the same path keeps
/// its bytes.
#[test]
fn failed_compile_leaves_no_partial_file() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-partial");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("m.weights")).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
    let plan = dir.join("m.plan");
    let run = |before: Option<&[u8]>| {
        if let Some(b) = before {
            std::fs::write(&plan, b).unwrap();
        }
        let out = compile_bert_tiny(&model, &plan);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("m.weights") && !err.contains("panicked"),
            "{err}"
        );
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(run(None), ["m.weights"], "no plan and no temporary file");
    assert_eq!(run(Some(b"old plan")), ["m.plan", "m.weights"]);
    assert_eq!(std::fs::read(&plan).unwrap(), b"old plan");
}

/// `mpcc compile MODEL -o PLAN` at bert-tiny's shapes (every input `[1, 16]`).
fn compile_bert_tiny(model: &Path, plan: &Path) -> Output {
    let shapes = ["input_ids", "attention_mask", "token_type_ids"].map(|n| format!("{n}=1,16"));
    let mut args = vec![
        "compile",
        model.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
    ];
    for s in &shapes {
        args.extend(["--input-shape", s.as_str()]);
    }
    mpcc(&args)
}

/// bert-tiny with the first element of its word-embedding table replaced by `value`, written
/// under `name` (the ONNX protobuf re-encoded as tract-onnx reads it).
fn bert_tiny_with_embedding(name: &str, value: f32) -> PathBuf {
    use prost::Message;
    use tract_onnx::prelude::Framework;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
    let mut proto = tract_onnx::onnx().proto_model_for_path(&model).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let t = graph
        .initializer
        .iter_mut()
        .find(|t| t.name.contains("word_embeddings"))
        .expect("bert-tiny has a word embedding initializer");
    if t.raw_data.is_empty() {
        t.float_data[0] = value;
    } else {
        t.raw_data[..4].copy_from_slice(&value.to_le_bytes());
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-weights");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    path
}

/// Issue 14 item 1 (in part): a NaN, an infinity or a weight too large for the fixed-point
/// format is refused at compile time, naming the tensor, the element, the value and the
/// largest magnitude the format holds, instead of compiling to confident garbage.
#[test]
fn unencodable_weights_refused() {
    for (name, value, needle) in [
        ("nan.onnx", f32::NAN, "NaN"),
        ("inf.onnx", f32::INFINITY, "inf"),
        ("big.onnx", 1e20, "100000002004087730000"),
    ] {
        let model = bert_tiny_with_embedding(name, value);
        let plan = model.with_extension("plan");
        let out = compile_bert_tiny(&model, &plan);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        for want in [
            "word_embeddings",
            "element 0",
            needle,
            "cannot hold",
            "3.5184372088832e13",
        ] {
            assert!(err.contains(want), "{name}: '{want}' missing in: {err}");
        }
        assert!(!plan.exists(), "{name}: no plan written");
    }
    // The unmodified table, written the same way, compiles.
    let model = bert_tiny_with_embedding("ok.onnx", 0.03125);
    let plan = model.with_extension("plan");
    let out = compile_bert_tiny(&model, &plan);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Issue 14 item 9 (external data): bert-tiny saved with its weights in `model.onnx_data`
/// (how exporters save every model over 2 GB) compiles to exactly bert-tiny's plan; a missing
/// data file, or a location that leaves the model's folder, is refused naming the tensor and
/// the file.
#[test]
fn external_data_loads_and_bad_locations_are_named() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let opts = |dir: &Path| {
        let r = mpcc_compiler::io::Reference::load(&dir.join("reference.json")).unwrap();
        backend::CompileOptions {
            frontend: mpcc_compiler::frontend::FrontendOptions {
                input_shapes: r.input_shapes(),
                ..Default::default()
            },
            passes: Default::default(),
        }
    };
    let ext = models.join("bert-tiny-external");
    let (plan, _) = backend::compile(&ext.join("model.onnx"), &opts(&ext)).expect("compiles");
    let base = models.join("bert-tiny");
    let (want, _) = backend::compile(&base.join("model.onnx"), &opts(&base)).unwrap();
    assert!(plan.to_bytes() == want.to_bytes(), "not bert-tiny's plan");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(ext.join("model.onnx"), tmp.path().join("model.onnx")).unwrap();
    let e = backend::compile(&tmp.path().join("model.onnx"), &opts(&ext))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.onnx_data") && e.contains("is missing"),
        "{e}"
    );
    use prost::Message;
    use tract_onnx::prelude::Framework;
    let mut proto = tract_onnx::onnx()
        .proto_model_for_path(ext.join("model.onnx"))
        .unwrap();
    for t in &mut proto.graph.as_mut().unwrap().initializer {
        for kv in &mut t.external_data {
            if kv.key == "location" {
                kv.value = "../model.onnx_data".into();
            }
        }
    }
    let evil = tmp.path().join("evil.onnx");
    std::fs::write(&evil, proto.encode_to_vec()).unwrap();
    let e = backend::compile(&evil, &opts(&ext))
        .unwrap_err()
        .to_string();
    assert!(e.contains("inside the model's folder"), "{e}");
}

/// Issue 14 items 1 and 3 (inputs that passed silently): vit-tiny pixels times 1e5 (which gave
/// logits around 1e7) are refused naming the input, the value and the limit the format holds;
/// an attention mask of 2 is refused; `--text` that would remake an input given with
/// `--input` is refused; a second `--input-shape` for the same input with another value is
/// refused instead of dropped.
#[test]
fn out_of_format_and_conflicting_inputs_refused() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // vit-tiny: pixels beyond the format.
    let vit = models.join("vit-tiny");
    let r = mpcc_compiler::io::Reference::load(&vit.join("reference.json")).unwrap();
    let shape = r.input_shapes()[0].1.clone();
    let vplan = dir.join("vit.plan");
    let dims = shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let out = mpcc(&[
        "compile",
        vit.join("model.onnx").to_str().unwrap(),
        "-o",
        vplan.to_str().unwrap(),
        "--input-shape",
        &format!("pixel_values={dims}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut px = r.input("pixel_values").unwrap().tensor();
    px.data.iter_mut().for_each(|v| *v *= 1e5);
    let pfile = dir.join("px.npy");
    mpcc_compiler::io::write_npy_f32(&pfile, &px).unwrap();
    let pin = format!("pixel_values={}", pfile.display());
    let o = dir.join("out").display().to_string();
    let out = mpcc(&[
        "run",
        vplan.to_str().unwrap(),
        "--input",
        &pin,
        "--output-dir",
        &o,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pixel_values") && err.contains("beyond the 8192"),
        "{err}"
    );
    // bert-tiny: a mask of 2, and --text over --input.
    let plan = dir.join("bt.plan");
    let model = models.join("bert-tiny/model.onnx");
    assert!(compile_bert_tiny(&model, &plan).status.success());
    let p = plan.to_str().unwrap();
    let mut mask = HostTensor {
        shape: vec![1, 16],
        data: vec![1.0; 16],
    };
    mask.data[3] = 2.0;
    let mfile = dir.join("mask.npy");
    mpcc_compiler::io::write_npy_i64(&mfile, &mask).unwrap();
    let min = format!("attention_mask={}", mfile.display());
    let refj = models.join("bert-tiny/reference.json");
    let rj = refj.to_str().unwrap();
    let out = mpcc(&[
        "run",
        p,
        "--input",
        &min,
        "--reference",
        rj,
        "--output-dir",
        &o,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("element 3 is 2") && err.contains("0 (padding) or 1"),
        "{err}"
    );
    mask.data[3] = 1.0;
    mpcc_compiler::io::write_npy_i64(&mfile, &mask).unwrap();
    let tok = models.join("bert-tiny-seqcls/tokenizer.json");
    let out = mpcc(&[
        "run",
        p,
        "--input",
        &min,
        "--text",
        "a good movie",
        "--tokenizer",
        tok.to_str().unwrap(),
        "--output-dir",
        &o,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("given by --input and made by --text"), "{err}");
    let out = mpcc(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        p,
        "--input-shape",
        "input_ids=1,16",
        "--input-shape",
        "input_ids=1,8",
    ]);
    let err = text(&out.stderr);
    assert!(err.contains("gives 'input_ids' twice"), "{err}");
}

/// Item 8: the outputs and the profile are one set. A profile in a missing folder, or a
/// profile path that is a folder, is refused before the run, and nothing is written.
#[test]
fn profile_that_cannot_be_written_leaves_nothing() {
    let f = Fixture::new();
    let out_dir = f.path("out");
    let x = format!("x={}", f.s("x.npy"));
    for (profile, needle) in [
        (f.path("missing/profile.json"), "does not exist"),
        (f.path(""), "is a folder"),
    ] {
        let before = snapshot(f.dir.path());
        let out = mpcc(&[
            "run",
            &f.s("model.plan"),
            "--input",
            &x,
            "--output-dir",
            out_dir.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ]);
        assert_refused(&out, &["--profile", needle]);
        assert!(
            !out_dir.join("y_out_0.npy").exists(),
            "an output was written"
        );
        let after: Vec<_> = snapshot(f.dir.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with(&out_dir))
            .collect();
        assert_eq!(before, after, "a file changed");
    }
    // With a writable profile both land.
    let out = mpcc(&[
        "run",
        &f.s("model.plan"),
        "--input",
        &x,
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--profile",
        &f.s("profile.json"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out_dir.join("y_out_0.npy").exists() && f.path("profile.json").exists());
}

/// Item 9: `--peers` with one address twice (a party would dial itself and fail on the
/// certificate) or a port 0 is refused naming the entries.
#[test]
fn peers_that_cannot_work_are_refused() {
    use mpcc_compiler::cli::party::check_peers;
    let a = |s: [&str; 3]| s.map(String::from);
    let e = check_peers(&a(["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7000"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("parties 0 and 2") && e.contains("127.0.0.1:7000"),
        "{e}"
    );
    let e = check_peers(&a(["127.0.0.1:7000", "127.0.0.1:0", "127.0.0.1:7002"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("entry 1") && e.contains("port 0"), "{e}");
    let e = check_peers(&a(["127.0.0.1:7000", "localhost", "127.0.0.1:7002"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("entry 1") && e.contains("HOST:PORT"), "{e}");
    check_peers(&a(["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"])).unwrap();
}

/// Item 9: a JSON file that is no tokenizer is named as such, not with serde's position.
#[test]
fn json_that_is_no_tokenizer_is_named() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("bt.plan");
    assert!(
        compile_bert_tiny(&models.join("bert-tiny/model.onnx"), &plan)
            .status
            .success()
    );
    let not_tok = models.join("bert-tiny-seqcls/config.json");
    let out = mpcc(&[
        "run",
        plan.to_str().unwrap(),
        "--text",
        "hello",
        "--tokenizer",
        not_tok.to_str().unwrap(),
        "--output-dir",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert_refused(&out, &["not a Hugging Face tokenizer.json", "config.json"]);
}

/// Item 1, inputs beyond a calibrated plan's ranges: vit-tiny compiled with `--calibrate`
/// refuses pixels 100 times the reference's (within the format's 8192, but beyond the
/// calibrated range times its margin, where the formats were not checked), naming the
/// input and the range; the reference pixels themselves run.
#[test]
fn inputs_beyond_the_calibrated_range_refused() {
    let vit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/vit-tiny");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let reference = vit.join("reference.json");
    let plan = dir.join("vit.plan");
    let out = mpcc(&[
        "compile",
        vit.join("model.onnx").to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = mpcc_compiler::io::Reference::load(&reference).unwrap();
    let mut px = r.input("pixel_values").unwrap().tensor();
    px.data.iter_mut().for_each(|v| *v *= 100.0);
    assert!(px.data.iter().all(|v| v.abs() < 8192.0));
    let pfile = dir.join("px.npy");
    mpcc_compiler::io::write_npy_f32(&pfile, &px).unwrap();
    let o = dir.join("out").display().to_string();
    let pin = format!("pixel_values={}", pfile.display());
    let p = plan.to_str().unwrap();
    let out = mpcc(&["run", p, "--input", &pin, "--output-dir", &o]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pixel_values") && err.contains("calibrated range"),
        "{err}"
    );
    assert!(!Path::new(&o).join("logits.npy").exists());
    let rj = reference.to_str().unwrap();
    let out = mpcc(&["run", p, "--reference", rj, "--output-dir", &o]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Item 4, an output that is not a regular file: `-o` naming a FIFO (or a device such as
/// /dev/full, where the campaign found it) is refused, and the FIFO is still a FIFO; before,
/// the write-then-rename replaced it with the plan.
#[test]
fn outputs_that_are_not_regular_files_are_refused() {
    use std::os::unix::fs::FileTypeExt;
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: mkfifo unavailable, test skipped");
        return;
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
    let out = compile_bert_tiny(&model, &fifo);
    assert_refused(&out, &["pipe", "not a regular file"]);
    let ft = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(ft.is_fifo(), "the FIFO was replaced");
}
