//! `mpcc tune`: the overrides it writes meet the budget it was given on the calibration
//! inputs, cost no more than the base policy, and compile; a budget the base itself misses
//! is refused.

mod common;
use common::{mpcc, text};
use std::path::PathBuf;

fn bert_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny")
}

/// On bert-tiny with a loose budget the tuner keeps cheaper recipes; the written file is
/// a valid `--approx-overrides` file, and `mpcc accuracy` with it meets the budget.
#[test]
fn tuned_overrides_meet_the_budget_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.json");
    let reference = bert_tiny().join("reference.json");
    let r = mpcc(&[
        "tune",
        bert_tiny().to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "--budget",
        "cos=0.99",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&r.stdout);
    assert!(r.status.success(), "{}{stdout}", text(&r.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let n = json.as_array().unwrap().len();
    assert!(
        stdout.contains(&format!("chosen: {n} override(s)")),
        "{stdout}"
    );
    // Predicted cost no higher than the base's.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("predicted:"))
        .unwrap();
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(nums[0] <= nums[1], "{line}");
    // The file compiles and its accuracy meets the budget.
    let plan = dir.path().join("t.plan");
    let c = mpcc(&[
        "compile",
        bert_tiny().to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "--approx-overrides",
        out.to_str().unwrap(),
    ]);
    assert!(c.status.success(), "{}", text(&c.stderr));
    let mut args = vec![
        "accuracy".to_string(),
        bert_tiny().to_str().unwrap().into(),
        "--calibrate".into(),
        reference.to_str().unwrap().into(),
        "--json".into(),
    ];
    for o in json.as_array().unwrap() {
        let sel = o["select"].as_object().unwrap();
        let mut s: Vec<String> = sel
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(x) => format!("{k}:{x}"),
                other => format!("{k}:{other}"),
            })
            .collect();
        s.sort();
        args.push("--approx-override".into());
        args.push(format!("{}={}", s.join(","), o["recipe"].as_str().unwrap()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = mpcc(&args);
    assert!(a.status.success(), "{}", text(&a.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    for o in rep["outputs"].as_array().unwrap() {
        let cos = o["vs_onnxruntime"]["cosine"].as_f64().unwrap();
        assert!(cos >= 0.99, "{o}");
    }
}

/// A budget the base policy misses is refused, naming the base, and no file is written.
#[test]
fn unreachable_budget_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.json");
    let reference = bert_tiny().join("reference.json");
    let r = mpcc(&[
        "tune",
        bert_tiny().to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "--budget",
        "maxabs=0",
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("itself misses the budget"), "{err}");
    assert!(!out.exists());
    let r = mpcc(&[
        "tune",
        bert_tiny().to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "--budget",
        "cosine=2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        text(&r.stderr).contains("unknown budget 'cosine'"),
        "{}",
        text(&r.stderr)
    );
}
