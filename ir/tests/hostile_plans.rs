//! Hostile plans: files with a valid digest whose instructions carry bad axes, indices,
//! shapes, bit counts or parties, built by editing a good plan and re-sealing it with
//! `Plan::refresh_digest`. `Plan::from_bytes` must refuse each with a `PlanError` that names
//! the instruction, never panic and never hand such a plan to the VM; and the header fields
//! outside the body (ring, fraction bits, reserved byte) are bound by the digest and checked.

use mpcc_ir::plan::{max_frac_bits, Plan, PlanError};
use mpcc_ir::*;

mod common;
use common::{one_op_graph, sec};

/// A plan whose instruction `inputs.len()` is `op` over client inputs of types `inputs`
/// (declared output shape `shape` where the op needs one), revealed to the client.
fn plan_with(op: Op, inputs: &[ValueType], shape: Option<&[usize]>) -> Plan {
    Plan::from_graph(one_op_graph(&op, inputs, shape).unwrap()).unwrap()
}

/// The op of instruction `i`, to edit.
fn op_at(plan: &mut Plan, i: usize) -> &mut Op {
    &mut plan.body.graph.nodes[i].op
}

/// Re-seals `plan` with a fresh digest and loads its bytes; the load must fail with a
/// verifier finding on instruction `node`, without a panic.
fn check_refused(case: &str, mut plan: Plan, node: usize) {
    plan.refresh_digest();
    let bytes = plan.to_bytes();
    let got = std::panic::catch_unwind(|| Plan::from_bytes(&bytes))
        .unwrap_or_else(|_| panic!("{case}: Plan::from_bytes panicked"));
    match got {
        Err(PlanError::Verify(e)) => {
            assert_eq!(e.index, node, "{case}: {e}");
            let text = PlanError::Verify(e).to_string();
            assert!(text.contains(&format!("node {node} (")), "{case}: {text}");
        }
        Err(e) => panic!("{case}: refused, but not by the verifier: {e}"),
        Ok(_) => panic!("{case}: a hostile plan loaded"),
    }
}

/// Slices, gathers, transposes, reductions, concatenations, pads, maxima, shifts, reshapes
/// and parties out of range are each refused at load, naming the instruction.
#[test]
fn bad_axes_and_indices_refused_at_load() {
    let x = || vec![sec(&[2, 3], 18)];
    let slice = Op::Slice {
        axis: 1,
        start: 0,
        end: 3,
        step: 1,
    };
    let mut cases: Vec<(&str, Plan, usize)> = Vec::new();
    let mut edit = |name: &'static str, op: Op, ins: Vec<ValueType>, f: &dyn Fn(&mut Plan)| {
        let n = ins.len();
        let mut p = plan_with(op, &ins, None);
        f(&mut p);
        cases.push((name, p, n));
    };
    edit("slice past the end", slice.clone(), x(), &|p| {
        if let Op::Slice { end, .. } = op_at(p, 1) {
            *end = 9;
        }
    });
    edit("slice start after end", slice.clone(), x(), &|p| {
        if let Op::Slice { start, end, .. } = op_at(p, 1) {
            (*start, *end) = (3, 1);
        }
    });
    edit("slice step 0", slice.clone(), x(), &|p| {
        if let Op::Slice { step, .. } = op_at(p, 1) {
            *step = 0;
        }
    });
    edit("slice axis out of range", slice, x(), &|p| {
        if let Op::Slice { axis, .. } = op_at(p, 1) {
            *axis = 5;
        }
    });
    let gather = Op::Gather {
        axis: 1,
        indices: vec![2, 0],
    };
    edit("gather index out of range", gather.clone(), x(), &|p| {
        if let Op::Gather { indices, .. } = op_at(p, 1) {
            indices[1] = 3;
        }
    });
    edit("gather axis out of range", gather, x(), &|p| {
        if let Op::Gather { axis, .. } = op_at(p, 1) {
            *axis = 2;
        }
    });
    let transpose = Op::Transpose { perm: vec![1, 0] };
    for (name, perm) in [
        ("transpose repeated axis", vec![1, 1]),
        ("transpose axis out of range", vec![2, 0]),
        ("transpose perm too short", vec![0]),
    ] {
        edit(name, transpose.clone(), x(), &move |p| {
            *op_at(p, 1) = Op::Transpose { perm: perm.clone() };
        });
    }
    let reduce = Op::ReduceSum { axes: vec![1] };
    edit("reduce_sum axis out of range", reduce.clone(), x(), &|p| {
        *op_at(p, 1) = Op::ReduceSum { axes: vec![2] };
    });
    edit("reduce_sum repeated axis", reduce, x(), &|p| {
        *op_at(p, 1) = Op::ReduceSum { axes: vec![1, 1] };
    });
    let two = vec![sec(&[2, 3], 18), sec(&[2, 1], 18)];
    edit(
        "concat of mismatched shapes",
        Op::Concat { axis: 1 },
        two.clone(),
        &|p| {
            *op_at(p, 2) = Op::Concat { axis: 0 };
        },
    );
    edit(
        "concat axis out of range",
        Op::Concat { axis: 1 },
        two,
        &|p| {
            *op_at(p, 2) = Op::Concat { axis: 2 };
        },
    );
    edit(
        "max_axis axis out of range",
        Op::MaxAxis { axis: 1 },
        x(),
        &|p| {
            *op_at(p, 1) = Op::MaxAxis { axis: 2 };
        },
    );
    let pad = Op::Pad {
        pads: vec![(1, 0), (0, 2)],
    };
    edit("pad of the wrong rank", pad, x(), &|p| {
        *op_at(p, 1) = Op::Pad { pads: vec![(1, 0)] };
    });
    edit(
        "trunc by more bits than the ring",
        Op::Trunc { bits: 18 },
        vec![sec(&[2, 3], 36)],
        &|p| *op_at(p, 1) = Op::Trunc { bits: 200 },
    );
    edit(
        "shl by more bits than the ring",
        Op::Shl { bits: 2 },
        x(),
        &|p| {
            *op_at(p, 1) = Op::Shl { bits: 200 };
        },
    );
    cases.push((
        "reshape to another size",
        {
            let mut p = plan_with(Op::Reshape, &x(), Some(&[3, 2]));
            let out = p.body.graph.nodes[1].output;
            p.body.graph.values[out.index()].shape = vec![7];
            p
        },
        1,
    ));
    cases.push((
        "output to party 7",
        {
            let mut p = plan_with(Op::Neg, &x(), None);
            *op_at(&mut p, 2) = Op::Output {
                name: "y".into(),
                to: vec![7],
            };
            p
        },
        2,
    ));
    cases.push((
        "input owned by party 9",
        {
            let mut p = plan_with(Op::Neg, &x(), None);
            *op_at(&mut p, 0) = Op::Input {
                name: "x0".into(),
                owner: 9,
                encoding: InputEncoding::Fixed,
            };
            p
        },
        0,
    ));
    for (name, plan, node) in cases {
        check_refused(name, plan, node);
    }
}

/// The header's ring, fraction bits and reserved byte are covered by the digest: a changed
/// byte is refused as corruption, and a re-sealed plan with fraction bits the ring cannot
/// hold, or that disagree with the program, is refused with the reason.
#[test]
fn header_fields_are_bound_and_checked() {
    let plan = plan_with(Op::Neg, &[sec(&[2, 3], 18)], None);
    let good = plan.to_bytes();
    assert_eq!(Plan::from_bytes(&good).unwrap(), plan);
    for (i, v) in [(14, 20u8), (15, 1), (13, 32)] {
        let mut b = good.clone();
        b[i] = v;
        let e = Plan::from_bytes(&b).unwrap_err();
        assert!(
            matches!(e, PlanError::DigestMismatch | PlanError::Header(_)),
            "byte {i} = {v}: {e}"
        );
    }
    let mut b = good.clone();
    b[14] = 200;
    let e = Plan::from_bytes(&b).unwrap_err().to_string();
    assert!(
        e.contains("200 fraction bits") && e.contains("at most 30"),
        "{e}"
    );

    let mut other = plan.clone();
    other.header.frac_bits = 20;
    other.refresh_digest();
    let e = Plan::from_bytes(&other.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("header says 20 fraction bits, the program 18"),
        "{e}"
    );

    let mut wide = plan.clone();
    wide.header.frac_bits = 31;
    wide.body.graph.frac_bits = 31;
    wide.refresh_digest();
    let e = Plan::from_bytes(&wide.to_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("31 fraction bits do not fit the ring Z_2^64"),
        "{e}"
    );

    let mut b = good;
    b[15] = 1;
    let e = Plan::from_bytes(&b).unwrap_err().to_string();
    assert!(e.contains("reserved byte 15 is 1"), "{e}");

    assert_eq!(max_frac_bits(Ring::Z64), 30);
    assert_eq!(max_frac_bits(Ring::Z32), 14);
}

/// The declarations and slot lifetimes a plan carries beside its program must be the ones
/// the program gives: a slot freed twice, or an input declared on a slot that does not
/// exist, is refused at load (the VM would free or fill the wrong slot).
#[test]
fn declarations_and_lifetimes_match_the_program() {
    let x = [sec(&[2, 3], 18)];
    let mut twice = plan_with(Op::Neg, &x, None);
    twice.body.frees[1].push(ValueId(0));
    let mut early = plan_with(Op::Neg, &x, None);
    early.body.frees[0].push(ValueId(0));
    let mut slot = plan_with(Op::Neg, &x, None);
    slot.body.inputs[0].slot = ValueId(99);
    let mut owner = plan_with(Op::Neg, &x, None);
    owner.body.outputs[0].to = vec![MODEL_OWNER];
    for (case, mut plan, needle) in [
        ("a slot freed twice", twice, "slot lifetimes"),
        ("a slot freed before its use", early, "slot lifetimes"),
        ("an input on slot 99", slot, "declarations"),
        ("an output revealed to another party", owner, "declarations"),
    ] {
        plan.refresh_digest();
        let e = Plan::from_bytes(&plan.to_bytes())
            .map(|_| ())
            .expect_err(case)
            .to_string();
        assert!(e.contains(needle), "{case}: {e}");
    }
}

/// Bytes after the encoded body, under a digest that covers them (found by the fuzzer:
/// `fuzz/regressions/plan_restamped/`, `fuzz/regressions/weights/`), are refused: a plan or
/// weights file loads only as the bytes `to_bytes` writes.
#[test]
fn trailing_bytes_after_the_body_refused() {
    use sha2::{Digest, Sha256};
    let plan = plan_with(Op::Relu, &[sec(&[2, 3], 18)], None);
    let mut bytes = plan.to_bytes();
    assert_eq!(Plan::from_bytes(&bytes).unwrap(), plan);
    bytes.extend_from_slice(&[0, 0, 0]);
    let body_len = (bytes.len() - 56) as u64;
    bytes[48..56].copy_from_slice(&body_len.to_le_bytes());
    let mut h = Sha256::new();
    h.update(&bytes[8..16]);
    h.update(&bytes[56..]);
    let d: [u8; 32] = h.finalize().into();
    bytes[16..48].copy_from_slice(&d);
    let e = Plan::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("corrupted") && e.contains("bytes remaining"),
        "{e}"
    );

    let w = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![2],
            data: vec![1.0, -2.5],
        }],
    };
    let mut bytes = w.to_bytes();
    assert_eq!(Weights::from_bytes(&bytes).unwrap(), w);
    bytes.push(7);
    let d = Sha256::digest(&bytes[44..]);
    bytes[12..44].copy_from_slice(&d);
    let e = Weights::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("corrupted") && e.contains("bytes remaining"),
        "{e}"
    );
}

/// A weights file whose tensor holds fewer or more values than its shape (found by the
/// fuzzer: `fuzz/regressions/weights/values-*`), or a shape whose product overflows, is
/// refused at load.
#[test]
fn weights_whose_values_do_not_fill_the_shape_refused() {
    let file = |shape: Vec<usize>, n: usize| {
        Weights {
            plan_digest: [1; 32],
            tensors: vec![WeightTensor {
                name: "w".into(),
                shape,
                data: vec![0.5; n],
            }],
        }
        .to_bytes()
    };
    assert!(Weights::from_bytes(&file(vec![3, 2], 6)).is_ok());
    for (shape, n) in [
        (vec![3, 2], 5),
        (vec![3, 2], 7),
        (vec![1 << 33, 1 << 33, 0], 0),
    ] {
        let e = Weights::from_bytes(&file(shape.clone(), n))
            .unwrap_err()
            .to_string();
        assert!(e.contains("tensor 'w' holds"), "{shape:?} {n}: {e}");
    }
}
