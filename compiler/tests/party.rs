//! Three `mpcc party` processes on loopback: the client gets the in-process run's output,
//! and when one party is killed mid-run the other two fail naming it, leaving no output;
//! foreign, missing or too large data is refused before a party listens.

use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::FrontendOptions;
use mpcc_compiler::io;
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::{party_data, run_local, HostTensor, RunOptions};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{ir_fixture, mpcc, one_tensor};

const XS: [f64; 6] = [0.5, -0.75, 0.25, 0.5, 0.5, -0.25];
const WS: [f32; 6] = [0.5, -1.0, 0.75, 0.125, -0.75, 1.0];

/// x (client) · w (owner), truncated, then `squares` times squared and truncated; the
/// result "y/out:0" goes to the client.
fn chain_plan(squares: usize) -> (Plan, Weights) {
    let mut g = ir_fixture("matmul.ir");
    let out = g.nodes.pop().expect("matmul.ir ends with its output");
    g.values.pop();
    let mut t = out.inputs[0];
    for i in 0..squares {
        let name = format!("sq{i}");
        let sq = g.add_typed(Op::Mul, &[t, t], None, &name).unwrap();
        t = g
            .add_typed(Op::Trunc { bits: 18 }, &[sq], None, &name)
            .unwrap();
    }
    g.add_typed(out.op, &[t], None, &out.origin).unwrap();
    backend::build_plan(g, one_tensor("w", &[3, 2], &WS)).unwrap()
}

/// A scratch directory with a plan, its weights, the client's input files and all three
/// key pairs.
struct Fixture {
    dir: PathBuf,
    plan: Plan,
    weights: Weights,
    /// The client's `--input` values (NAME=FILE).
    inputs: Vec<String>,
    /// The same inputs, for the in-process run.
    tensors: HashMap<String, HostTensor>,
}

impl Fixture {
    /// The chain plan with the client's x.
    fn chain(tag: &str, squares: usize) -> Fixture {
        let (plan, weights) = chain_plan(squares);
        let x = HostTensor {
            shape: vec![2, 3],
            data: XS.to_vec(),
        };
        Fixture::new(tag, plan, weights, vec![("x".to_string(), x)])
    }

    fn new(tag: &str, plan: Plan, weights: Weights, inputs: Vec<(String, HostTensor)>) -> Fixture {
        let dir = std::env::temp_dir().join(format!("mpcc-party-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        backend::write_plan(&dir.join("m.plan"), &plan, &weights).unwrap();
        let mut args = Vec::new();
        for (name, t) in &inputs {
            let decl = plan.body.inputs.iter().find(|d| &d.name == name).unwrap();
            let path = dir.join(format!("{name}.npy"));
            match decl.dtype.as_str() {
                "int64" => io::write_npy_i64(&path, t).unwrap(),
                _ => io::write_npy_f32(&path, t).unwrap(),
            }
            args.push(format!("{name}={}", path.display()));
        }
        let keys = dir.join("keys");
        let out = mpcc(&[
            "keygen",
            "--id",
            "0,1,2",
            "--out-dir",
            keys.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for p in 0..3 {
            std::fs::create_dir_all(dir.join(format!("out{p}"))).unwrap();
        }
        Fixture {
            dir,
            plan,
            weights,
            inputs: args,
            tensors: inputs.into_iter().collect(),
        }
    }

    /// The client's outputs of an in-process run with the same data.
    fn local_outputs(&self) -> std::collections::BTreeMap<String, HostTensor> {
        let data = party_data(
            &self.plan,
            &self.tensors,
            Some(Arc::new(self.weights.clone())),
        );
        run_local(&self.plan, data, &RunOptions::default())
            .unwrap()
            .outputs
    }

    /// Starts the three parties, waits for them (bounded) and asserts they succeed;
    /// returns the client's stdout.
    fn run_three(&self) -> String {
        let peers = free_peers();
        let mut kids: Vec<Child> = (0..3).map(|id| self.spawn(id, &peers, &[])).collect();
        let outs: Vec<(Receiver<String>, Receiver<String>)> = kids
            .iter_mut()
            .map(|k| {
                (
                    lines(k.stdout.take().unwrap()),
                    lines(k.stderr.take().unwrap()),
                )
            })
            .collect();
        for (p, k) in kids.iter_mut().enumerate() {
            let st = wait(k, Duration::from_secs(120));
            std::thread::sleep(Duration::from_millis(50));
            assert!(st.success(), "party {p}: {}", drain(&outs[p].1));
        }
        drain(&outs[1].0)
    }

    fn p(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// Starts party `id` with the given peers and extra flags, stdout and stderr piped.
    fn spawn(&self, id: u8, peers: &str, extra: &[&str]) -> Child {
        let mut args: Vec<String> = vec![
            "party".into(),
            "--id".into(),
            id.to_string(),
            "--plan".into(),
            self.p("m.plan"),
            "--peers".into(),
            peers.into(),
            "--keys-dir".into(),
            self.p("keys"),
            "--output-dir".into(),
            self.p(&format!("out{id}")),
            "--connect-timeout".into(),
            "30".into(),
        ];
        match id {
            0 => args.extend(["--weights".into(), self.p("m.weights")]),
            1 => {
                args.push("--input".into());
                args.extend(self.inputs.iter().cloned());
            }
            _ => {}
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_mpcc"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn files_in(&self, sub: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three free loopback ports as the --peers value.
fn free_peers() -> String {
    let ls: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs: Vec<String> = ls
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    addrs.join(",")
}

/// Streams a pipe's lines into a channel (so a test can wait for one) and keeps them.
fn lines(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a child at most `limit` (a guard against hangs), killing it after that.
fn wait(c: &mut Child, limit: Duration) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if t0.elapsed() > limit {
            let _ = c.kill();
            panic!("party did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn drain(rx: &Receiver<String>) -> String {
    rx.try_iter().collect::<Vec<_>>().join("\n")
}

/// Three party processes give the client the output of the in-process run, and report
/// their traffic; the model owner and the helper learn nothing.
#[test]
fn three_processes_match_local_run() {
    let f = Fixture::chain("ok", 2);
    let stdout1 = f.run_three();
    assert!(
        stdout1.contains("rounds:") && stdout1.contains("payload"),
        "{stdout1}"
    );
    let got = io::read_npy(&f.dir.join("out1/y_out_0.npy"))
        .unwrap()
        .tensor;
    let want = &f.local_outputs()["y/out:0"];
    assert_eq!(got.shape, want.shape);
    for (a, b) in got.data.iter().zip(&want.data) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    assert!(f.files_in("out0").is_empty() && f.files_in("out2").is_empty());
    assert_eq!(f.files_in("out1"), vec!["y_out_0.npy".to_string()]);
}

/// BERT-tiny compiled from ONNX and run by three party processes: the client's
/// last_hidden_state matches the in-process run of the same plan.
#[test]
fn bert_tiny_three_processes_match_local_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny");
    let reference = io::Reference::load(&root.join("reference.json")).unwrap();
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: reference.input_shapes(),
            ..Default::default()
        },
        passes: Default::default(),
    };
    let (plan, weights) = backend::compile(&root.join("model.onnx"), &opts).unwrap();
    let inputs = plan
        .body
        .inputs
        .iter()
        .map(|d| (d.name.clone(), reference.input(&d.name).unwrap().tensor()))
        .collect();
    let f = Fixture::new("bert", plan, weights, inputs);
    f.run_three();
    let local = f.local_outputs();
    let name = &f.plan.body.outputs[0].name;
    let got = io::read_npy(&f.dir.join(format!("out1/{}.npy", io::file_stem(name))))
        .unwrap()
        .tensor;
    let want = &local[name];
    assert_eq!(got.shape, want.shape);
    let max = got
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max < 1e-2, "max abs difference {max}");
    assert!(f.files_in("out0").is_empty() && f.files_in("out2").is_empty());
}

/// Killing the helper mid-run makes the owner and the client exit non-zero with an error
/// naming party 2 and the instruction, and the client writes no output file.
#[test]
fn killed_party_stops_the_others() {
    let f = Fixture::chain("kill", 40);
    let peers = free_peers();
    // 60 ms round trips make the ~120 rounds last a few seconds.
    let extra = ["--shape", "1000,60ms", "--timeout", "20"];
    let mut kids: Vec<Child> = (0..3).map(|id| f.spawn(id, &peers, &extra)).collect();
    let errs: Vec<Receiver<String>> = kids
        .iter_mut()
        .map(|k| lines(k.stderr.take().unwrap()))
        .collect();
    let t0 = Instant::now();
    loop {
        let l = errs[2]
            .recv_timeout(Duration::from_secs(30))
            .expect("party 2 connects");
        if l.contains("connected to parties") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(700));
    kids[2].kill().unwrap();
    kids[2].wait().unwrap();
    for p in 0..2 {
        let st = wait(&mut kids[p], Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
        let err = drain(&errs[p]);
        assert!(!st.success(), "party {p} succeeded: {err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: "), "{err}");
        assert!(
            last.contains("party 2") && last.contains("instruction"),
            "{err}"
        );
    }
    assert!(t0.elapsed() > Duration::from_millis(700));
    assert!(f.files_in("out1").is_empty(), "{:?}", f.files_in("out1"));
}

/// Each party brings only its own data: the owner given the client's input, the client
/// given the weights, and the client without its input are refused before any connection.
#[test]
fn foreign_or_missing_data_refused() {
    let f = Fixture::chain("data", 1);
    let peers = "127.0.0.1:9,127.0.0.1:9,127.0.0.1:9";
    let base = |id: &str| -> Vec<String> {
        [
            "party",
            "--id",
            id,
            "--plan",
            &f.p("m.plan"),
            "--peers",
            peers,
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(["--keys-dir".to_string(), f.p("keys")])
        .collect()
    };
    let cases: [(Vec<String>, &str); 3] = [
        (
            [base("0"), vec!["--input".into(), f.inputs[0].clone()]].concat(),
            "input 'x' belongs to the client (party 1)",
        ),
        (
            [
                base("1"),
                vec!["--input".into(), f.inputs[0].clone()],
                vec!["--weights".into(), f.p("m.weights")],
            ]
            .concat(),
            "does not take --weights",
        ),
        (base("1"), "owns input(s) x (float32 [2, 3])"),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = mpcc(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{err}");
        assert!(!err.contains("listening"), "{err}");
    }
}

/// `mpcc party` refuses a plan one party cannot hold (an input of 10^12 secret elements:
/// 16 TB of shares) before it reads keys or inputs or listens, with the figure.
#[test]
fn party_refuses_a_plan_too_large_for_the_machine() {
    if mpcc_compiler::cli::memory::machine().is_none() {
        eprintln!("skipped: /proc/meminfo cannot be read, so mpcc does not check memory here");
        return;
    }
    let mut g = Graph::new(18);
    let ty = ValueType::z64(&[1_000_000, 1_000_000], 18, Vis::Client);
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        },
        &[],
        ty.clone(),
        "x",
    );
    let to = vec![CLIENT];
    g.add(
        Op::Output {
            name: "y".into(),
            to,
        },
        &[x],
        ty,
        "y",
    );
    let (plan, weights) = backend::build_plan(g, Weights::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.plan");
    backend::write_plan(&path, &plan, &weights).unwrap();
    let out = mpcc(&[
        "party",
        "--id",
        "2",
        "--plan",
        path.to_str().unwrap(),
        "--peers",
        "127.0.0.1:9,127.0.0.1:9,127.0.0.1:9",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("helper (party 2) cannot run")
            && err.contains("huge.plan")
            && err.contains("each party needs at least 14.55 TiB")
            && err.contains("available"),
        "{err}"
    );
    assert!(
        !err.contains("listening") && !err.contains("panicked"),
        "{err}"
    );
}
