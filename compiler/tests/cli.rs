//! The `mpcc` binary's `run` and `compile` subcommands on hand-built plans: outputs,
//! statistics, inputs from .npy/text/reference files, and clear refusals of bad files.

use mpcc_compiler::backend;
use mpcc_compiler::io;
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::HostTensor;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{ir_fixture, mpcc, one_tensor, text};

fn ty(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
    ValueType::z64(shape, scale, vis)
}

const XS: [f64; 6] = [1.5, -2.0, 0.25, 3.0, 0.5, -1.0];
const WS: [f32; 6] = [0.5, -1.0, 2.0, 0.125, -0.75, 1.0];

/// y = x · w (x: client float32 [2,3], w: owner weights [3,2]), revealed to the client.
fn matmul_plan() -> (Plan, Weights) {
    let weights = one_tensor("w", &[3, 2], &WS);
    backend::build_plan(ir_fixture("matmul.ir"), weights).unwrap()
}

/// Echoes the three integer text inputs of shape `[batch, seq]` back to the client.
fn text_plan(batch: usize, seq: usize) -> (Plan, Weights) {
    let mut g = Graph::new(18);
    for name in ["input_ids", "attention_mask", "token_type_ids"] {
        let v = g.add(
            Op::Input {
                name: name.into(),
                owner: CLIENT,
                encoding: InputEncoding::Int,
            },
            &[],
            ty(&[batch, seq], 0, Vis::Client),
            name,
        );
        g.add(
            Op::Output {
                name: name.into(),
                to: vec![CLIENT],
            },
            &[v],
            ty(&[batch, seq], 0, Vis::Client),
            name,
        );
    }
    backend::build_plan(g, Weights::default()).unwrap()
}

/// Reveals the one-hot rows of `input_ids` `[1, 4]` over a vocabulary of 1000.
fn one_hot_plan() -> (Plan, Weights) {
    let mut g = Graph::new(18);
    let v = g.add(
        Op::Input {
            name: "input_ids".into(),
            owner: CLIENT,
            encoding: InputEncoding::OneHot { depth: 1000 },
        },
        &[],
        ty(&[1, 4, 1000], 18, Vis::Client),
        "input_ids",
    );
    g.add(
        Op::Output {
            name: "rows".into(),
            to: vec![CLIENT],
        },
        &[v],
        ty(&[1, 4, 1000], 18, Vis::Client),
        "rows",
    );
    backend::build_plan(g, Weights::default()).unwrap()
}

fn expected_y() -> Vec<f64> {
    let mut y = vec![0.0; 4];
    for i in 0..2 {
        for j in 0..2 {
            y[i * 2 + j] = (0..3).map(|k| XS[i * 3 + k] * WS[k * 2 + j] as f64).sum();
        }
    }
    y
}

struct Fixture {
    dir: tempfile::TempDir,
    plan: PathBuf,
}

impl Fixture {
    fn new((plan, weights): (Plan, Weights)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.plan");
        backend::write_plan(&path, &plan, &weights).unwrap();
        Fixture { dir, plan: path }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write_x(&self, name: &str, shape: &[usize], f64_file: bool) -> PathBuf {
        let path = self.path(name);
        let n: usize = shape.iter().product();
        let data: Vec<f64> = XS.iter().cycle().take(n).copied().collect();
        write_npy(
            &path,
            shape.to_vec(),
            data,
            if f64_file { "f8" } else { "f4" },
        );
        path
    }
}

/// Writes a .npy of the given numpy dtype code ("f4", "f8", "i8").
fn write_npy(path: &Path, shape: Vec<usize>, data: Vec<f64>, code: &str) {
    use ndarray::{ArrayD, IxDyn};
    use ndarray_npy::WriteNpyExt;
    let mut buf = Vec::new();
    match code {
        "f4" => ArrayD::from_shape_vec(IxDyn(&shape), data.iter().map(|v| *v as f32).collect())
            .unwrap()
            .write_npy(&mut buf),
        "f8" => ArrayD::from_shape_vec(IxDyn(&shape), data)
            .unwrap()
            .write_npy(&mut buf),
        _ => ArrayD::from_shape_vec(IxDyn(&shape), data.iter().map(|v| *v as i64).collect())
            .unwrap()
            .write_npy(&mut buf),
    }
    .unwrap();
    std::fs::write(path, buf).unwrap();
}

/// Asserts a clean failure: exit code 1 (not a panic's 101), no panic message, no party
/// started, and stderr holding every one of `needles`.
fn assert_refused(out: &Output, needles: &[&str]) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stdout.contains("running"), "a party started: {stdout}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks '{n}': {stderr}");
    }
}

fn run_x(f: &Fixture, x: &Path, extra: &[&str]) -> Output {
    let arg = format!("x={}", x.display());
    let out_dir = f.path("out");
    let mut args = vec![
        "run",
        f.plan.to_str().unwrap(),
        "--input",
        &arg,
        "--output-dir",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mpcc(&args)
}

/// `mpcc run` computes x·w securely, writes it as float32 .npy under a file-safe name, and
/// prints rounds, bytes, wall time and peak memory.
#[test]
fn run_writes_output_and_stats() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x.npy", &[2, 3], false);
    let out = run_x(&f, &x, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for needle in ["rounds:", "bytes sent:", "wall time:", "peak memory:"] {
        assert!(stdout.contains(needle), "stdout lacks {needle}: {stdout}");
    }
    let y = io::read_npy(&f.path("out").join("y_out_0.npy")).unwrap();
    assert_eq!(y.dtype, "float32");
    assert_eq!(y.tensor.shape, vec![2, 2]);
    let a = io::agreement(&y.tensor.data, &expected_y());
    assert!(
        a.max_abs < 1e-4,
        "{:?} vs {:?}",
        y.tensor.data,
        expected_y()
    );
}

/// `--threads N` sets the worker threads of the local work (printed with the wall time);
/// the rounds and bytes and the result are the same as with every core; 0 is refused.
#[test]
fn run_threads_flag() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x.npy", &[2, 3], false);
    let stats = |extra: &[&str]| {
        let out = run_x(&f, &x, extra);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        let y = io::read_npy(&f.path("out").join("y_out_0.npy")).unwrap();
        assert!(io::agreement(&y.tensor.data, &expected_y()).max_abs < 1e-4);
        let line = |p: &str| {
            stdout
                .lines()
                .find(|l| l.starts_with(p))
                .unwrap()
                .to_string()
        };
        (line("rounds:"), line("bytes sent:"), line("wall time:"))
    };
    let (r1, b1, w1) = stats(&["--threads", "1"]);
    assert!(w1.ends_with("(1 worker threads for local work)"), "{w1}");
    let (r3, b3, w3) = stats(&["--threads", "3"]);
    assert!(w3.ends_with("(3 worker threads for local work)"), "{w3}");
    assert_eq!((r1, b1), (r3, b3));
    let out = run_x(&f, &x, &["--threads", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--threads"),
        "{}",
        text(&out.stderr)
    );
}

/// A float64 file for a float32 input is converted and gives the same result.
#[test]
fn run_accepts_float64() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x64.npy", &[2, 3], true);
    let out = run_x(&f, &x, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let y = io::read_npy(&f.path("out").join("y_out_0.npy")).unwrap();
    assert!(io::agreement(&y.tensor.data, &expected_y()).max_abs < 1e-4);
}

/// --profile writes a JSON document.
#[test]
fn run_writes_profile() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x.npy", &[2, 3], false);
    let prof = f.path("profile.json");
    let out = run_x(&f, &x, &["--profile", prof.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&prof).unwrap()).unwrap();
    assert!(v.is_object());
}

/// An input file of the wrong shape is refused before any party starts, naming the input,
/// the expected shape and dtype.
#[test]
fn wrong_shape_refused() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x.npy", &[3, 2], false);
    let out = run_x(&f, &x, &[]);
    assert_refused(&out, &["input 'x'", "[3, 2]", "float32 with shape [2, 3]"]);
    assert!(!f.path("out").exists());
}

/// A float file for an int64 input is refused before any party starts.
#[test]
fn wrong_dtype_refused() {
    let f = Fixture::new(one_hot_plan());
    let ids = f.path("ids.npy");
    write_npy(&ids, vec![1, 4], vec![0.0, 7.0, 9.0, 7.0], "f4");
    let arg = format!("input_ids={}", ids.display());
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--input",
        &arg,
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &[
            "input 'input_ids'",
            "holds float32",
            "int64 with shape [1, 4]",
        ],
    );
}

/// An int64 file for a float32 input converts exactly (ONNX int64 inputs such as attention
/// masks may be taken as fixed point).
#[test]
fn run_accepts_int_for_float() {
    let f = Fixture::new(matmul_plan());
    let x = f.path("x_int.npy");
    write_npy(&x, vec![2, 3], vec![1.0, -2.0, 0.0, 3.0, 1.0, -1.0], "i8");
    let out = run_x(&f, &x, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let y = io::read_npy(&f.path("out").join("y_out_0.npy")).unwrap();
    assert!(
        (y.tensor.data[0] - (0.5 - 2.0 * 2.0)).abs() < 1e-4,
        "{:?}",
        y.tensor.data
    );
}

/// A missing input, an unknown input name and a file that is not .npy are refused clearly.
#[test]
fn missing_unknown_and_bad_inputs_refused() {
    let f = Fixture::new(matmul_plan());
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &["no data for input(s) x (float32 [2, 3])", "--input"],
    );
    let x = f.write_x("x.npy", &[2, 3], false);
    let arg = format!("z={}", x.display());
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--input",
        &arg,
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_refused(&out, &["no input named 'z'", "declares: x"]);
    let junk = f.path("junk.npy");
    std::fs::write(&junk, b"this is not numpy").unwrap();
    assert_refused(&run_x(&f, &junk, &[]), &["not a valid .npy file"]);
}

/// Without its weights file the plan is refused with a hint where the file should be.
#[test]
fn missing_weights_refused() {
    let f = Fixture::new(matmul_plan());
    std::fs::remove_file(backend::weights_path(&f.plan)).unwrap();
    let x = f.write_x("x.npy", &[2, 3], false);
    assert_refused(
        &run_x(&f, &x, &[]),
        &["weights file", "model.weights", "does not exist"],
    );
}

/// Weights written for another plan are refused.
#[test]
fn foreign_weights_refused() {
    let f = Fixture::new(matmul_plan());
    let (_, mut other) = matmul_plan();
    other.plan_digest = [7; 32];
    std::fs::write(backend::weights_path(&f.plan), other.to_bytes()).unwrap();
    let x = f.write_x("x.npy", &[2, 3], false);
    assert_refused(&run_x(&f, &x, &[]), &["different plan"]);
}

/// Truncated, bit-flipped and newer-version plan files give clear errors, not panics.
#[test]
fn corrupted_plans_refused() {
    let f = Fixture::new(matmul_plan());
    let x = f.write_x("x.npy", &[2, 3], false);
    let good = std::fs::read(&f.plan).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() / 2].to_vec(), "truncated"),
        (good[..20].to_vec(), "truncated"),
        (
            {
                let mut b = good.clone();
                let i = b.len() - 10;
                b[i] ^= 0x40;
                b
            },
            "corrupted",
        ),
        (
            {
                let mut b = good.clone();
                b[8..12].copy_from_slice(&(plan::PLAN_VERSION + 1).to_le_bytes());
                b
            },
            "newer than this mpcc reads",
        ),
        (b"GARBAGE!GARBAGE!".to_vec(), "not an mpcc plan"),
    ];
    for (bytes, needle) in cases {
        std::fs::write(&f.plan, &bytes).unwrap();
        assert_refused(&run_x(&f, &x, &[]), &[needle, "model.plan"]);
    }
}

/// --reference feeds the inputs from a reference.json and prints the secure output beside
/// the plaintext one.
#[test]
fn run_from_reference() {
    let f = Fixture::new(matmul_plan());
    let reference = serde_json::json!({
        "format": "onnx-reference-v1", "model": "matmul",
        "inputs": [{"name": "x", "dtype": "float32", "shape": [2, 3], "data": XS}],
        "outputs": [{"name": "y/out:0", "dtype": "float32", "shape": [2, 2], "data": expected_y()}],
    });
    let rpath = f.path("reference.json");
    std::fs::write(&rpath, reference.to_string()).unwrap();
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--reference",
        rpath.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("vs reference: max abs error"), "{stdout}");
    assert!(stdout.contains("cosine 1.000000"), "{stdout}");
}

/// --text with the MiniLM tokenizer gives the reference input_ids, attention_mask and
/// token_type_ids of the all-MiniLM-L6-v2 export (two sentences padded to 32).
#[test]
fn run_from_text_matches_reference_tokens() {
    let f = Fixture::new(text_plan(2, 32));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tok = root.join("models/minilm-tokenizer/tokenizer.json");
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--text",
        "The quick brown fox jumps over the lazy dog.",
        "--text",
        "Secure multi-party computation lets several parties evaluate a function without \
         revealing their private inputs.",
        "--tokenizer",
        tok.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ids = io::read_npy(&dir.join("input_ids.npy")).unwrap().tensor;
    assert_eq!(ids.shape, vec![2, 32]);
    let want_ids = [
        101.0, 1996.0, 4248.0, 2829.0, 4419.0, 14523.0, 2058.0, 1996.0, 13971.0, 3899.0, 1012.0,
        102.0,
    ];
    assert_eq!(&ids.data[..12], &want_ids);
    assert!(ids.data[12..32].iter().all(|v| *v == 0.0));
    let mask = io::read_npy(&dir.join("attention_mask.npy"))
        .unwrap()
        .tensor;
    let ones: Vec<f64> = mask.data.chunks(32).map(|r| r.iter().sum()).collect();
    assert_eq!(ones, vec![12.0, 19.0]);
    let types = io::read_npy(&dir.join("token_type_ids.npy"))
        .unwrap()
        .tensor;
    assert!(types.data.iter().all(|v| *v == 0.0));
}

/// --text with a batch that does not match the plan is refused before any party starts.
#[test]
fn text_batch_mismatch_refused() {
    let f = Fixture::new(text_plan(2, 32));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tok = root.join("models/minilm-tokenizer/tokenizer.json");
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--text",
        "only one sentence",
        "--tokenizer",
        tok.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_refused(&out, &["batch 2", "1 text(s)"]);
}

/// Token ids inside the vocabulary become one-hot rows; an id outside it is refused, with
/// its position, before any party starts.
#[test]
fn one_hot_ids_checked_against_vocabulary() {
    let f = Fixture::new(one_hot_plan());
    let ids = f.path("ids.npy");
    let dir = f.path("out");
    let arg = format!("input_ids={}", ids.display());
    let run = || {
        mpcc(&[
            "run",
            f.plan.to_str().unwrap(),
            "--input",
            &arg,
            "--output-dir",
            dir.to_str().unwrap(),
        ])
    };
    write_npy(&ids, vec![1, 4], vec![0.0, 7.0, 999.0, 7.0], "i8");
    let out = run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = io::read_npy(&dir.join("rows.npy")).unwrap().tensor;
    let hot: Vec<usize> = rows
        .data
        .chunks(1000)
        .map(|r| r.iter().position(|v| *v == 1.0).unwrap())
        .collect();
    assert_eq!(hot, vec![0, 7, 999, 7]);
    assert_eq!(rows.data.iter().sum::<f64>(), 4.0);
    write_npy(&ids, vec![1, 4], vec![0.0, 7.0, 1000.0, 7.0], "i8");
    assert_refused(
        &run(),
        &[
            "input 'input_ids'",
            "id 1000 at position 2",
            "vocabulary 0..1000",
        ],
    );
}

/// Text tokenized by a tokenizer whose ids exceed the plan's vocabulary is refused with a
/// hint that the tokenizer may not belong to the model.
#[test]
fn foreign_tokenizer_refused() {
    let f = Fixture::new(one_hot_plan());
    let tok =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/minilm-tokenizer/tokenizer.json");
    let dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--text",
        "The quick brown fox",
        "--tokenizer",
        tok.to_str().unwrap(),
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &[
            "the model's embedding has 1000 rows",
            "not this model's tokenizer",
        ],
    );
}

/// `mpcc compile` refuses a missing model and a malformed --input-shape clearly.
#[test]
fn compile_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("m.plan");
    let out = mpcc(&[
        "compile",
        "no/such/model.onnx",
        "-o",
        plan.to_str().unwrap(),
        "--input-shape",
        "x=1,2",
    ]);
    assert_refused(&out, &["no/such/model.onnx", "does not exist"]);
    let out = mpcc(&[
        "compile",
        "no/such/model.onnx",
        "-o",
        plan.to_str().unwrap(),
        "--input-shape",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(text(&out.stderr).contains("NAME=D0"));
    assert!(!plan.exists());
}

/// Whether this machine reports its memory (the memory checks are skipped where it does not).
fn memory_known() -> bool {
    let known = mpcc_compiler::cli::memory::machine().is_some();
    if !known {
        eprintln!("skipped: /proc/meminfo cannot be read, so mpcc does not check memory here");
    }
    known
}

/// `mpcc compile` at batch 10^8 refuses the plan up front with its figure (tens of TiB) and
/// the machine's, and what to do, writing nothing (before this check it wrote the plan, then
/// grew to 20 GB predicting its cost and was killed).
#[test]
fn compile_refuses_a_plan_too_large_for_the_machine() {
    if !memory_known() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("big.plan");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
    let out = mpcc(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
        "--batch",
        "100000000",
        "--seq",
        "16",
    ]);
    assert_refused(
        &out,
        &[
            "too large for this machine",
            "each party needs at least",
            " TiB of memory",
            "in all",
            "smaller --batch or --seq",
        ],
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files written: {left:?}");
}

/// `mpcc run` refuses a plan whose three parties cannot fit in memory (inputs of 10^12
/// elements, one live at a time: 16 TB of shares per party, 43.66 TiB for three) before it
/// reads any input or starts a party.
#[test]
fn run_refuses_a_plan_too_large_for_the_machine() {
    if !memory_known() {
        return;
    }
    let f = Fixture::new(text_plan(1_000_000, 1_000_000));
    let out_dir = f.path("out");
    let out = mpcc(&[
        "run",
        f.plan.to_str().unwrap(),
        "--input",
        "input_ids=no-such-file.npy",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &[
            "cannot run",
            "model.plan",
            "three parties in this process need at least 43.66 TiB",
            "available",
        ],
    );
    assert!(!out_dir.exists());
}

/// A `.npy` header claiming shape (10^12, 16) on a file of a few bytes is refused with the
/// file's name and what is wrong, instead of aborting on a 128 TB allocation; a truncated
/// file is refused the same way.
#[test]
fn lying_npy_header_refused() {
    let f = Fixture::new(matmul_plan());
    let x = f.path("x.npy");
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 16), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 48]);
    std::fs::write(&x, &bytes).unwrap();
    let out = run_x(&f, &x, &[]);
    assert_refused(
        &out,
        &[
            "x.npy' is not a valid .npy file",
            "claims shape [1000000000000, 16] of '<f8' (16000000000000 elements of 8 bytes)",
            "holds 48 bytes",
        ],
    );
    let good = f.write_x("good.npy", &[2, 3], false);
    let mut cut = std::fs::read(&good).unwrap();
    cut.truncate(cut.len() - 4);
    std::fs::write(&good, &cut).unwrap();
    assert_refused(&run_x(&f, &good, &[]), &["good.npy'", "holds 20 bytes"]);
    assert!(!f.path("out").exists());
}

/// Plans written by the back end load back identically, and weights are bound to them.
#[test]
fn backend_round_trip() {
    let f = Fixture::new(matmul_plan());
    let plan = backend::load_plan(&f.plan).unwrap();
    assert_eq!(plan, matmul_plan().0);
    let w = backend::load_weights(&backend::weights_path(&f.plan), &plan)
        .unwrap()
        .unwrap();
    assert_eq!(w.tensors[0].data, WS.to_vec());
    let t = HostTensor {
        shape: vec![2, 2],
        data: vec![1.0, 2.0, 3.0, 4.0],
    };
    io::write_npy_f32(&f.path("t.npy"), &t).unwrap();
    assert_eq!(io::read_npy(&f.path("t.npy")).unwrap().tensor, t);
}
