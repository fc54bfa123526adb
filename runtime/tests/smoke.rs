//! Smoke test: share, multiply, truncate, matmul and reveal through the VM.
mod common;

use common::{assert_costs, fixture};
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::*;
use std::collections::HashMap;
use std::sync::Arc;

/// x*w then truncation and a matmul give the plaintext result within 2 ulp.
#[test]
fn mul_trunc_matmul() {
    let g = fixture(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/ir/mul-trunc-matmul.ir"
    )));
    let plan = Plan::from_graph(g).unwrap();
    let plan = Plan::from_bytes(&plan.to_bytes()).unwrap();
    let xs = vec![1.5, -2.0, 0.25, 3.0, 0.5, -1.0];
    let ws = [0.5, -1.0, 2.0, 0.125, -0.75, 1.0];
    let mut inputs = HashMap::new();
    inputs.insert(
        "x".to_string(),
        HostTensor {
            shape: vec![2, 3],
            data: xs.clone(),
        },
    );
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![3, 2],
            data: ws.iter().map(|v| *v as f32).collect(),
        }],
    };
    let data = party_data(&plan, &inputs, Some(Arc::new(weights)));
    let r = run_local(&plan, data, &RunOptions::default()).unwrap();
    let y = &r.outputs["y"];
    for i in 0..2 {
        for j in 0..2 {
            let mut s = 0.0;
            for k in 0..3 {
                s += xs[i * 3 + k] * ws[k * 2 + j];
            }
            let want = s * s;
            assert!(
                (y.data[i * 2 + j] - want).abs() < 1e-4,
                "{} vs {want}",
                y.data[i * 2 + j]
            );
        }
    }
    assert_costs(&plan, &r);
}

/// Secret matmuls take the right product whichever operand has a statically zero share
/// component (input-shared by its owner) and when neither has one.
#[test]
fn matmul_zero_component_paths() {
    let g = fixture(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/ir/matmul-zero-paths.ir"
    )));
    let plan = Plan::from_graph(g).unwrap();
    let av: Vec<f64> = (0..12).map(|i| i as f64 * 0.25 - 1.5).collect();
    let wv: Vec<f64> = (0..12).map(|i| 2.0 - i as f64 * 0.375).collect();
    let mut inputs = HashMap::new();
    inputs.insert(
        "a".to_string(),
        HostTensor {
            shape: vec![3, 4],
            data: av.clone(),
        },
    );
    inputs.insert(
        "one".to_string(),
        HostTensor {
            shape: vec![1],
            data: vec![1.0],
        },
    );
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![4, 3],
            data: wv.iter().map(|v| *v as f32).collect(),
        }],
    };
    let r = run_local(
        &plan,
        party_data(&plan, &inputs, Some(Arc::new(weights))),
        &RunOptions::default(),
    )
    .unwrap();
    for i in 0..4 {
        let y = &r.outputs[&format!("y{i}")];
        for row in 0..3 {
            for col in 0..3 {
                let want: f64 = (0..4).map(|k| av[row * 4 + k] * wv[k * 3 + col]).sum();
                assert!(
                    (y.data[row * 3 + col] - want).abs() < 1e-4,
                    "case {i}: {} vs {want}",
                    y.data[row * 3 + col]
                );
            }
        }
    }
}

/// Zero padding of a secret is local (no traffic), gives numpy's result, and the op prints
/// and parses in the text form.
#[test]
fn pad_secret_is_local() {
    let mut g = Graph::new(18);
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        },
        &[],
        ValueType::z64(&[2, 2], 18, Vis::Client),
        "x",
    );
    let p = g.add(
        Op::Pad {
            pads: vec![(1, 0), (0, 2)],
        },
        &[x],
        ValueType::z64(&[3, 4], 18, Vis::Client),
        "pad",
    );
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[p],
        ValueType::z64(&[3, 4], 18, Vis::Client),
        "y",
    );
    assert_eq!(mpcc_ir::text::parse(&g.to_string()).unwrap(), g);
    let plan = Plan::from_graph(g).unwrap();
    let mut inputs = HashMap::new();
    inputs.insert(
        "x".to_string(),
        HostTensor {
            shape: vec![2, 2],
            data: vec![1.5, -2.0, 0.25, 3.0],
        },
    );
    let r = run_local(
        &plan,
        party_data(&plan, &inputs, None),
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(
        r.outputs["y"].data,
        vec![0.0, 0.0, 0.0, 0.0, 1.5, -2.0, 0.0, 0.0, 0.25, 3.0, 0.0, 0.0]
    );
    assert_eq!(r.profile[1].bytes, [0, 0, 0]);
    assert_eq!(r.profile[1].rounds, 0);
}

/// An input or a weight whose values do not fill its declared shape (a weights file with a
/// short tensor once panicked the owner's party: found by `fuzz/` target `weights`) is
/// refused before the run with an input error naming it.
#[test]
fn values_that_do_not_fill_the_shape_are_refused() {
    let g = fixture(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/ir/mul-trunc-matmul.ir"
    )));
    let plan = Plan::from_graph(g).unwrap();
    let x = |n: usize| HostTensor {
        shape: vec![2, 3],
        data: vec![0.5; n],
    };
    let w = |n: usize| Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![3, 2],
            data: vec![0.25; n],
        }],
    };
    let run = |xn: usize, wn: usize| {
        let inputs = HashMap::from([("x".to_string(), x(xn))]);
        let data = party_data(&plan, &inputs, Some(Arc::new(w(wn))));
        run_local(&plan, data, &RunOptions::default()).map(|r| r.outputs["y"].data.len())
    };
    assert_eq!(run(6, 6).unwrap(), 4);
    for (xn, wn, name) in [
        (5, 6, "input 'x'"),
        (6, 5, "tensor 'w'"),
        (6, 7, "tensor 'w'"),
    ] {
        let e = run(xn, wn).unwrap_err().to_string();
        assert!(
            e.contains(name) && e.contains("values for its shape"),
            "{e}"
        );
    }
}
