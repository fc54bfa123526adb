//! Every instruction's declared cost equals its measured traffic, and the predicted peak of
//! live slot memory the measured one, on a plan that holds every kernel the VM runs, in both
//! rings.
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::*;
use std::collections::HashMap;
use std::sync::Arc;

fn gelu() -> Op {
    Op::PiecewisePoly {
        breaks: vec![-4.0, -1.95, 3.0],
        pieces: vec![
            Piece::Zero,
            Piece::Poly(vec![-0.5054, -0.4223, -0.1181, -0.0110]),
            Piece::Poly(vec![0.0085, 0.5, 0.3603, 0.0, -0.0377, 0.0, 0.0018]),
            Piece::Identity,
        ],
    }
}

/// Builds a graph in one ring.
struct Builder {
    g: Graph,
    ring: Ring,
}

impl Builder {
    fn add(&mut self, op: Op, ins: &[ValueId], shape: &[usize], scale: u32, vis: Vis) -> ValueId {
        let t = ValueType {
            shape: shape.to_vec(),
            ring: self.ring,
            scale,
            vis,
        };
        let name = op.name();
        self.g.add(op, ins, t, name)
    }
}

/// A plan with every kernel instruction the VM runs, on secret and public operands.
fn every_instruction_plan(ring: Ring, f: u32) -> Plan {
    use Vis::{Client, Owner, Public, Secret};
    let mut b = Builder {
        g: Graph::new(f),
        ring,
    };
    let input = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let x = b.add(input, &[], &[4, 6], f, Client);
    let w = b.add(Op::Weight { name: "w".into() }, &[], &[6, 5], f, Owner);
    let values = vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0];
    let c = b.add(Op::Const { values }, &[], &[6], f, Public);
    let a1 = b.add(Op::Add, &[x, c], &[4, 6], f, Client);
    let s1 = b.add(Op::Sub, &[a1, x], &[4, 6], f, Client);
    let n1 = b.add(Op::Neg, &[s1], &[4, 6], f, Client);
    let m1 = b.add(Op::Mul, &[x, n1], &[4, 6], 2 * f, Client);
    let t1 = b.add(Op::Trunc { bits: f }, &[m1], &[4, 6], f, Client);
    let m2 = b.add(Op::Mul, &[t1, c], &[4, 6], 2 * f, Client);
    let t2 = b.add(Op::Trunc { bits: f }, &[m2], &[4, 6], f, Client);
    let mm = b.add(Op::MatMul, &[t2, w], &[4, 5], 2 * f, Secret);
    let t3 = b.add(Op::Trunc { bits: f }, &[mm], &[4, 5], f, Secret);
    let tr = b.add(
        Op::Transpose { perm: vec![1, 0] },
        &[t3],
        &[5, 4],
        f,
        Secret,
    );
    let sq = b.add(Op::MatMul, &[t3, tr], &[4, 4], 2 * f, Secret);
    let t4 = b.add(Op::Trunc { bits: f }, &[sq], &[4, 4], f, Secret);
    let sh = b.add(Op::Shl { bits: 1 }, &[t4], &[4, 4], f + 1, Secret);
    let sh = b.add(Op::Trunc { bits: 1 }, &[sh], &[4, 4], f, Secret);
    let rs = b.add(Op::Reshape, &[sh], &[2, 8], f, Secret);
    let slice = |axis, start, end, step| Op::Slice {
        axis,
        start,
        end,
        step,
    };
    let sl = b.add(slice(1, 1, 7, 2), &[rs], &[2, 3], f, Secret);
    let gather = Op::Gather {
        axis: 1,
        indices: vec![2, 0],
    };
    let ga = b.add(gather, &[sl], &[2, 2], f, Secret);
    let ct = b.add(Op::Concat { axis: 1 }, &[sl, ga], &[2, 5], f, Secret);
    let bc = b.add(Op::Broadcast, &[ct], &[3, 2, 5], f, Secret);
    let rd = b.add(
        Op::ReduceSum { axes: vec![0] },
        &[bc],
        &[1, 2, 5],
        f,
        Secret,
    );
    let ge = Op::Ge {
        thresholds: vec![0.0, 1.0],
    };
    let ge = b.add(ge, &[rd], &[2, 1, 2, 5], 0, Secret);
    let bits = b.add(slice(0, 0, 1, 1), &[ge], &[1, 1, 2, 5], 0, Secret);
    let bits = b.add(Op::Reshape, &[bits], &[1, 2, 5], 0, Secret);
    let se = b.add(Op::Select, &[rd, bits], &[1, 2, 5], f, Secret);
    let re = b.add(Op::Relu, &[se], &[1, 2, 5], f, Secret);
    let mx = b.add(Op::MaxAxis { axis: 2 }, &[re], &[1, 2, 1], f, Secret);
    let sub = b.add(Op::Sub, &[re, mx], &[1, 2, 5], f, Secret);
    let mut v = sub;
    for op in [
        Op::ExpTaylor { iters: 5 },
        Op::Reciprocal { iters: 2 },
        Op::Rsqrt { iters: 2 },
        Op::RsqrtGoldschmidt { iters: 2 },
        Op::Poly {
            coeffs: vec![0.1, 0.2, 0.3],
        },
        gelu(),
    ] {
        v = b.add(op, &[v], &[1, 2, 5], f, Secret);
    }
    let q2 = typing::sin_prep_scale(ring, f);
    let prep = b.add(Op::SinPrep { terms: 2 }, &[], &[5, 1, 2, 5], q2, Secret);
    let series = Op::SinSeries {
        coeffs: vec![0.5, 0.6, -0.1],
        period: 28.3,
    };
    v = b.add(series, &[v, prep], &[1, 2, 5], f, Secret);
    let pub_e = b.add(Op::ExpTaylor { iters: 3 }, &[c], &[6], f, Public);
    let to = vec![CLIENT, MODEL_OWNER];
    b.add(
        Op::Output {
            name: "y".into(),
            to,
        },
        &[v],
        &[1, 2, 5],
        f,
        Secret,
    );
    let to = vec![CLIENT];
    b.add(
        Op::Output {
            name: "e".into(),
            to,
        },
        &[pub_e],
        &[6],
        f,
        Public,
    );
    Plan::from_graph(b.g).unwrap()
}

/// (3) The cost the kernels declare for every instruction of a plan holding all of them
/// (in Z64 at 18 fraction bits and in Z32 at 8) equals the rounds and bytes each party was
/// measured sending. (A public value's `output` is skipped: it sends nothing.)
#[test]
fn every_instruction_costs_what_it_sends() {
    for (ring, f) in [(Ring::Z64, 18), (Ring::Z32, 8)] {
        let plan = every_instruction_plan(ring, f);
        let xs: Vec<f64> = (0..24).map(|i| 0.1 * i as f64 - 1.0).collect();
        let ws: Vec<f64> = (0..30).map(|i| 0.05 * i as f64 - 0.7).collect();
        let mut inputs = HashMap::new();
        let x = HostTensor {
            shape: vec![4, 6],
            data: xs,
        };
        inputs.insert("x".to_string(), x);
        let weights = Weights {
            plan_digest: plan.header.digest,
            tensors: vec![WeightTensor {
                name: "w".into(),
                shape: vec![6, 5],
                data: ws.iter().map(|v| *v as f32).collect(),
            }],
        };
        let data = party_data(&plan, &inputs, Some(Arc::new(weights)));
        let r = run_local(&plan, data, &RunOptions::default()).unwrap();
        // The memory the VM's slots hold is predicted exactly too.
        let slots = vm::peak_slot_bytes(&plan);
        assert!(slots > 0);
        assert_eq!(r.peak_slot_bytes, [slots; 3], "{ring}: peak slot bytes");
        let mut seen = std::collections::BTreeSet::new();
        for (i, node) in plan.graph().nodes.iter().enumerate() {
            let c = node_cost(plan.graph(), node);
            let public_output = matches!(node.op, Op::Output { .. })
                && !plan.graph().ty(node.inputs[0]).vis.is_secret();
            if public_output {
                continue;
            }
            assert_eq!(
                (c.rounds, c.bytes),
                (r.profile[i].rounds, r.profile[i].bytes),
                "{ring}: instruction {i} ({})",
                node.op.name()
            );
            seen.insert(node.op.name());
        }
        // Every kernel kind but pad (tested in smoke.rs).
        assert_eq!(seen.len(), 30, "kinds covered: {seen:?}");
    }
}
