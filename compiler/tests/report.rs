//! Cost reports: golden text and JSON reports of a hand-built plan, predicted == measured
//! traffic on a run, the network time formula, and the `mpcc cost` command line.
//!
//! Golden files live in `compiler/tests/snapshots/`; after an intended change, re-bless them
//! with `INSTA_UPDATE=always cargo test --release -p mpcc-compiler --test report` (or
//! `cargo insta review`) and check the diff.

use mpcc_compiler::report::{self, GroupBy, Kind, Network};
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::{node_cost, party_data, run_local, Cost, HostTensor, RunOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

mod common;
use common::ir_fixture;

fn ty(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
    ValueType::z64(shape, scale, vis)
}

/// A two-layer toy model named like an ONNX export (`tests/fixtures/ir/report_toy.ir`).
fn toy_plan() -> Plan {
    Plan::from_graph(ir_fixture("report_toy.ir")).expect("toy plan verifies")
}

/// The plan of the formula test: an input and a weight, their secret product, and an
/// output; protocols whose costs are elementary (sharing, one reshare, one reveal).
fn tiny_plan() -> Plan {
    let mut g = Graph::new(18);
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        },
        &[],
        ty(&[2, 3], 18, Vis::Client),
        "x",
    );
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ty(&[2, 3], 18, Vis::Owner),
        "w",
    );
    let p = g.add(Op::Mul, &[x, w], ty(&[2, 3], 36, Vis::Secret), "/Mul");
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[p],
        ty(&[2, 3], 36, Vis::Secret),
        "y",
    );
    Plan::from_graph(g).expect("tiny plan verifies")
}

/// The kernels' cost of each instruction of `plan`.
fn costs(plan: &Plan) -> Vec<Cost> {
    let g = plan.graph();
    g.nodes.iter().map(|n| node_cost(g, n)).collect()
}

/// Replaces the plan digest so that goldens do not change with the plan encoding.
fn redact_text(s: &str, r: &report::Report) -> String {
    s.replace(&r.plan_digest[..12], "<digest>")
}

fn redact_json(r: &report::Report) -> serde_json::Value {
    let mut v = r.to_json();
    v["plan_digest"] = "<digest>".into();
    v
}

/// The text report of the toy plan on the LAN, with all three tables, matches its golden.
#[test]
fn golden_text_toy() {
    let r = report::predicted(&toy_plan(), &Network::LAN);
    let text = r.to_text(&[GroupBy::Node, GroupBy::Op, GroupBy::Layer]);
    insta::assert_snapshot!("toy_text_lan", redact_text(&text, &r));
}

/// The JSON report of the toy plan on the WAN matches its golden.
#[test]
fn golden_json_toy() {
    let r = report::predicted(&toy_plan(), &Network::WAN);
    insta::assert_json_snapshot!("toy_json_wan", redact_json(&r));
}

/// Grouping: ONNX nodes gather their instructions, op types and layers come from the facts,
/// and each grouping sums to the totals.
#[test]
fn groups_sum_to_totals() {
    let r = report::predicted(&toy_plan(), &Network::LAN);
    let nodes: Vec<(&str, &str, &str, u64)> = r
        .by_node
        .iter()
        .map(|n| {
            (
                n.onnx_node.as_str(),
                n.op_type.as_str(),
                n.layer.as_str(),
                n.cost.instructions,
            )
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ("x", "input", "layer.0", 1),
            ("encoder.layer.0.dense.weight", "weight", "layer.0", 1),
            ("/encoder/layer.0/dense/MatMul", "MatMul", "layer.0", 2),
            ("/encoder/layer.0/dense/Add.fix-rank", "Add", "layer.0", 1),
            ("/encoder/layer.0/dense/Add", "Add", "layer.0", 1),
            ("/encoder/layer.0/act/Relu", "Relu", "layer.0", 1),
            ("/encoder/layer.0/act/Mul", "Mul", "layer.0", 2),
            ("onnx::MatMul_12.0", "weight", "layer.1", 1),
            ("/encoder/layer.1/dense/MatMul_1", "MatMul", "layer.1", 2),
            ("/Reshape", "Reshape", "other", 1),
            ("y", "output", "other", 1),
        ]
    );
    let layers: Vec<(&str, u64)> = r
        .by_layer
        .iter()
        .map(|l| (l.layer.as_str(), l.nodes))
        .collect();
    assert_eq!(layers, [("layer.0", 7), ("layer.1", 2), ("other", 2)]);
    let ops: Vec<&str> = r.by_op.iter().map(|o| o.op_type.as_str()).collect();
    let bytes: Vec<u64> = r.by_op.iter().map(|o| o.cost.bytes_sent).collect();
    assert!(bytes.windows(2).all(|w| w[0] >= w[1]), "{ops:?} {bytes:?}");
    assert_eq!(ops.len(), 8);
    assert_eq!(&ops[6..], ["Add", "Reshape"]);
    let sum = |it: &mut dyn Iterator<Item = &report::Tally>| {
        it.fold((0, 0, 0, 0), |a, t| {
            (
                a.0 + t.instructions,
                a.1 + t.rounds,
                a.2 + t.bytes_sent,
                a.3 + t.macs,
            )
        })
    };
    let t = &r.total;
    let want = (t.instructions, t.rounds, t.bytes_sent, t.macs);
    let cs = costs(&toy_plan());
    let from_kernels = (
        cs.len() as u64,
        cs.iter().map(|c| c.rounds).sum(),
        cs.iter().map(|c| c.total_bytes()).sum(),
        cs.iter().map(|c| c.macs).sum(),
    );
    assert_eq!(want, from_kernels);
    assert_eq!(sum(&mut r.by_node.iter().map(|n| &n.cost)), want);
    assert_eq!(sum(&mut r.by_op.iter().map(|n| &n.cost)), want);
    assert_eq!(sum(&mut r.by_layer.iter().map(|n| &n.cost)), want);
}

/// The time model on a hand-built plan: each instruction costs rounds × RTT plus its busiest
/// party's bits over the bandwidth, and the report sums those over instructions.
#[test]
fn network_formula() {
    let net = Network {
        bandwidth_bps: 1e6,
        rtt_s: 0.01,
    };
    let r = report::predicted(&tiny_plan(), &net);
    // Per instruction (rounds; bytes sent by party 0, 1, 2), 6 elements of 8 bytes each:
    // input x (party 1 shares it with party 2): 1; 0, 48, 0
    // weight w (party 0 shares it with party 1): 1; 48, 0, 0
    // mul (every party reshares its product term): 1; 48, 48, 48
    // output to party 1 (party 2 sends the missing share): 1; 0, 0, 48
    assert_eq!(r.total.rounds, 4);
    assert_eq!(r.total.bytes_per_party, [96, 96, 96]);
    assert_eq!(r.total.bytes_sent, 288);
    // The busiest party sends 48 bytes in each instruction: 4 x 384 bits over 1 Mbit/s.
    // (Over the whole run each party sends 96 bytes, but not at the same time.)
    let (latency, transfer) = (4.0 * 0.01, 4.0 * 384.0 / 1e6);
    assert_eq!(r.total.latency_s, latency);
    assert_eq!(r.total.transfer_s, transfer);
    assert_eq!(r.total.est_time_s, 0.041536);
    let mul = r.by_node.iter().find(|n| n.onnx_node == "/Mul").unwrap();
    assert!((mul.cost.est_time_s - 0.010384).abs() < 1e-15);
    assert_eq!(net.time(3, [10, 1000, 0]), (0.03, 0.008));
    // Any plan: the total is the per-instruction formula applied to the kernels' costs.
    let toy = report::predicted(&toy_plan(), &net);
    let want: f64 = costs(&toy_plan())
        .iter()
        .map(|c| c.rounds as f64 * 0.01 + *c.bytes.iter().max().unwrap() as f64 * 8.0 / 1e6)
        .sum();
    assert!((toy.total.est_time_s - want).abs() < 1e-12, "{want}");
}

/// Running the toy plan gives exactly the predicted rounds and per-party bytes, per ONNX
/// node and in total, and a measured report carries wall times and messages.
#[test]
fn predicted_equals_measured() {
    let plan = toy_plan();
    let mut inputs = HashMap::new();
    inputs.insert(
        "x".to_string(),
        HostTensor {
            shape: vec![2, 3],
            data: vec![1.5, -2.0, 0.25, 3.0, 0.5, -1.0],
        },
    );
    let tensor = |name: &str, shape: Vec<usize>, data: Vec<f32>| WeightTensor {
        name: name.into(),
        shape,
        data,
    };
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![
            tensor("w0", vec![3, 2], vec![0.5, -1.0, 2.0, 0.125, -0.75, 1.0]),
            tensor("w1", vec![2, 2], vec![1.0, 0.5, -0.5, 2.0]),
        ],
    };
    let data = party_data(&plan, &inputs, Some(Arc::new(weights)));
    let run = run_local(&plan, data, &RunOptions::default()).expect("toy plan runs");
    let p = report::predicted(&plan, &Network::LAN);
    let m = report::measured(&plan, &run, &Network::LAN);
    assert_eq!(p.mismatches(&m), []);
    assert_eq!(m.kind, Kind::Measured);
    assert_eq!(p.by_node.len(), m.by_node.len());
    for (a, b) in p.by_node.iter().zip(&m.by_node) {
        assert_eq!(a.onnx_node, b.onnx_node);
        assert_eq!(
            (a.cost.rounds, a.cost.bytes_per_party, a.cost.bytes_sent),
            (b.cost.rounds, b.cost.bytes_per_party, b.cost.bytes_sent),
            "{}",
            a.onnx_node
        );
    }
    assert_eq!((m.total.rounds, m.total.bytes_sent), run.totals());
    assert!(p.total.rounds >= 11 && p.total.bytes_sent >= 544);
    assert_eq!(p.total.est_time_s, m.total.est_time_s);
    let json = m.to_json();
    assert_eq!(json["kind"], "measured");
    assert!(json["total"]["wall_s"].as_f64().unwrap() > 0.0);
    assert!(json["run_wall_s"].as_f64().unwrap() > 0.0);
    assert_eq!(
        json["total"]["messages_per_party"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(json["by_node"][0]["wall_s"].is_number());
    assert_eq!(
        json["setup_bytes_per_party"],
        serde_json::json!(run.setup_bytes)
    );
    assert!(m.to_text(&[GroupBy::Op]).contains("wall"));
}

/// A mismatch between prediction and measurement names the node and the total.
#[test]
fn mismatches_are_named() {
    let p = report::predicted(&tiny_plan(), &Network::LAN);
    let mut m = p.clone();
    m.by_node[2].cost.bytes_per_party[0] += 8;
    m.total.bytes_per_party[0] += 8;
    let found = p.mismatches(&m);
    let names: Vec<&str> = found.iter().map(|x| x.onnx_node.as_str()).collect();
    assert_eq!(names, ["/Mul", "total"]);
    assert_eq!(found[0].predicted, (1, [48, 48, 48]));
    assert_eq!(found[0].measured, (1, [56, 48, 48]));
}

/// The SVG has both panels, a bar pair per op type and layer with traffic, escaped labels,
/// and lists the groups without communication.
#[test]
fn svg_picture() {
    let r = report::predicted(&toy_plan(), &Network::LAN);
    let svg = r.to_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(">By op type</text>") && svg.contains(">By layer</text>"));
    // 6 op types and 3 layers with traffic, two bars each.
    assert_eq!(svg.matches("fill=\"#4e79a7\"").count(), 9);
    assert_eq!(svg.matches("fill=\"#f28e2b\"").count(), 9);
    assert!(svg.contains("no communication: Add, Reshape"));
    let mm = &r.by_op[0];
    assert_eq!(mm.op_type, "MatMul");
    let pct = (100.0 * mm.cost.bytes_sent as f64 / r.total.bytes_sent as f64).round();
    let label = format!(">{} B ({pct}%)</text>", mm.cost.bytes_sent);
    assert!(svg.contains(&label), "{label} in {svg}");
    assert!(svg.contains(">MatMul</text>") && svg.contains(">layer.1</text>"));
    assert!(!svg.contains("& "));
}

fn mpcc(args: &[&str]) -> (bool, String, String) {
    let out = common::mpcc(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes the toy plan to a file of its own for test `name` (tests run in parallel).
fn toy_plan_file(name: &str) -> (PathBuf, String) {
    let path = tmp(&format!("{name}.plan"));
    std::fs::write(&path, toy_plan().to_bytes()).unwrap();
    let s = path.to_str().unwrap().to_string();
    (path, s)
}

/// `mpcc cost PLAN --json` prints the same JSON as the library, with the schema's fields.
#[test]
fn cli_json() {
    let (_p, plan) = toy_plan_file("cli_json");
    let (ok, out, err) = mpcc(&["cost", &plan, "--json", "--network", "wan"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let want = report::predicted(&toy_plan(), &Network::WAN).to_json();
    let want: serde_json::Value = serde_json::from_str(&want.to_string()).unwrap();
    assert_eq!(v, want);
    let cs = costs(&toy_plan());
    let rounds: u64 = cs.iter().map(|c| c.rounds).sum();
    let bytes: u64 = cs.iter().map(|c| c.total_bytes()).sum();
    assert_eq!(v["total"]["rounds"], rounds);
    assert_eq!(v["total"]["bytes_sent"], bytes);
    // The first matmul and its truncation are instructions 2 and 3.
    assert_eq!(
        v["by_node"][2]["onnx_node"],
        "/encoder/layer.0/dense/MatMul"
    );
    assert_eq!(v["by_node"][2]["op_type"], "MatMul");
    assert_eq!(v["by_node"][2]["layer"], "layer.0");
    assert_eq!(v["by_node"][2]["instructions"], 2);
    assert_eq!(v["by_node"][2]["rounds"], cs[2].rounds + cs[3].rounds);
    assert_eq!(
        v["by_node"][2]["bytes_sent"],
        cs[2].total_bytes() + cs[3].total_bytes()
    );
    assert_eq!(v["network"]["name"], "wan");
    assert_eq!(v["kind"], "predicted");
}

/// `--by` picks the text tables and `--network BW,RTT` sets the model; the default shows the
/// op-type and layer tables on the LAN.
#[test]
fn cli_text_by_and_network() {
    let (_p, plan) = toy_plan_file("cli_text_by_and_network");
    let (ok, out, err) = mpcc(&["cost", &plan]);
    assert!(ok, "{err}");
    assert!(out.contains("network: lan, 5 Gbit/s, RTT 0.4 ms"), "{out}");
    assert!(out.contains("by op type") && out.contains("by layer"));
    assert!(!out.contains("by ONNX node"));
    let (ok, out, err) = mpcc(&["cost", &plan, "--by", "node", "--network", "1gbit,10ms"]);
    assert!(ok, "{err}");
    assert!(out.contains("by ONNX node") && !out.contains("by op type"));
    assert!(
        out.contains("network: custom, 1 Gbit/s, RTT 10 ms"),
        "{out}"
    );
    assert!(out.contains("/encoder/layer.1/dense/MatMul_1"));
    let (ok, out, _) = mpcc(&["cost", &plan, "--by", "layer,op", "--network", "1e9,0.01"]);
    assert!(ok);
    let net = Network {
        bandwidth_bps: 1e9,
        rtt_s: 0.01,
    };
    let want = report::predicted(&toy_plan(), &net).to_text(&[GroupBy::Layer, GroupBy::Op]);
    assert_eq!(out, want);
    let (l, o) = (
        out.find("by layer").unwrap(),
        out.find("by op type").unwrap(),
    );
    assert!(l < o);
}

/// `--svg FILE` writes the picture and still prints the report.
#[test]
fn cli_svg() {
    let (_p, plan) = toy_plan_file("cli_svg");
    let svg = tmp("toy.svg");
    let _ = std::fs::remove_file(&svg);
    let (ok, out, err) = mpcc(&["cost", &plan, "--svg", svg.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("by op type"));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(s, report::predicted(&toy_plan(), &Network::LAN).to_svg());
}

/// Bad arguments fail with a clear message: an unknown network, a bad --by, a missing plan
/// and a file that is not a plan.
#[test]
fn cli_bad_arguments() {
    let (_p, plan) = toy_plan_file("cli_bad_arguments");
    let (ok, _, err) = mpcc(&["cost", &plan, "--network", "fast"]);
    assert!(!ok);
    assert!(
        err.contains(
            "invalid network 'fast': not a known network name; expected lan, wan or BANDWIDTH,RTT"
        ),
        "{err}"
    );
    let (ok, _, err) = mpcc(&["cost", &plan, "--network", "1tbit,5ms"]);
    assert!(!ok && err.contains("bad bandwidth '1tbit'"), "{err}");
    let (ok, _, err) = mpcc(&["cost", &plan, "--by", "party"]);
    assert!(!ok && err.contains("invalid value 'party'"), "{err}");
    let missing = tmp("missing.plan");
    let (ok, _, err) = mpcc(&["cost", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("cannot read plan"), "{err}");
    let junk = tmp("junk.plan");
    std::fs::write(&junk, b"not a plan at all").unwrap();
    let (ok, _, err) = mpcc(&["cost", junk.to_str().unwrap()]);
    assert!(!ok && err.contains("not an mpcc plan"), "{err}");
}
