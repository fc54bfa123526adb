//! Smoke test: share, multiply, truncate, matmul and reveal through the VM.
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::*;
use std::collections::HashMap;
use std::sync::Arc;

fn ty(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
    ValueType {
        shape: shape.to_vec(),
        ring: Ring::Z64,
        scale,
        vis,
    }
}

/// x*w then truncation and a matmul give the plaintext result within 2 ulp.
#[test]
fn mul_trunc_matmul() {
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
        ty(&[3, 2], 18, Vis::Owner),
        "w",
    );
    let p = g.add(Op::MatMul, &[x, w], ty(&[2, 2], 36, Vis::Secret), "mm");
    let t = g.add(
        Op::Trunc { bits: 18 },
        &[p],
        ty(&[2, 2], 18, Vis::Secret),
        "mm",
    );
    let sq = g.add(Op::Mul, &[t, t], ty(&[2, 2], 36, Vis::Secret), "sq");
    let t2 = g.add(
        Op::Trunc { bits: 18 },
        &[sq],
        ty(&[2, 2], 18, Vis::Secret),
        "sq",
    );
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[t2],
        ty(&[2, 2], 18, Vis::Secret),
        "y",
    );
    let plan = Plan::from_graph(g).unwrap();
    let plan = Plan::from_bytes(&plan.to_bytes()).unwrap();
    let xs = vec![1.5, -2.0, 0.25, 3.0, 0.5, -1.0];
    let ws = vec![0.5, -1.0, 2.0, 0.125, -0.75, 1.0];
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
    for (i, node) in plan.graph().nodes.iter().enumerate() {
        let c = node_cost(plan.graph(), node);
        assert_eq!(
            (c.rounds, c.bytes),
            (r.profile[i].rounds, r.profile[i].bytes),
            "instr {i} {}",
            node.op.name()
        );
    }
}
