//! The op contract: every op has an example here (an exhaustive match makes a new op fail to
//! compile until it has one), and for each example the typing rule gives a type that the
//! verifier accepts, the text form round-trips, and the reference interpreter evaluates it.
//! docs/ADDING-AN-OP.md lists the other sites a new op needs.

use mpcc_ir::interp::eval;
use mpcc_ir::text::parse;
use mpcc_ir::*;
use std::collections::HashMap;

mod common;
use common::{one_op_graph, sec};

/// Operand types, and the declared output shape for ops that need one, for an example of `op`.
fn operands(op: &Op) -> (Vec<ValueType>, Option<Vec<usize>>) {
    let x = || vec![sec(&[2, 3], 18)];
    match op {
        Op::Input { .. } | Op::Weight { .. } | Op::Const { .. } | Op::SinPrep { .. } => {
            (vec![], None)
        }
        Op::SinSeries { coeffs, .. } => (
            vec![
                sec(&[2, 3], 18),
                sec(
                    &[2 * coeffs.len() - 1, 2, 3],
                    typing::sin_prep_scale(Ring::Z64, 18),
                ),
            ],
            None,
        ),
        Op::Add | Op::Sub | Op::Div => (vec![sec(&[2, 3], 18), sec(&[3], 18)], None),
        Op::Mul => (vec![sec(&[2, 3], 18), sec(&[2, 3], 18)], None),
        Op::Select => (vec![sec(&[2, 3], 18), sec(&[2, 3], 0)], None),
        Op::MatMul => (vec![sec(&[2, 3], 18), sec(&[3, 4], 18)], None),
        Op::Trunc { .. } => (vec![sec(&[2, 3], 36)], None),
        Op::Downcast { .. } => (x(), None),
        Op::Upcast { .. } => (
            vec![ValueType::new(&[2, 3], Ring::Z32, 8, Vis::Client)],
            None,
        ),
        Op::Reshape => (x(), Some(vec![3, 2])),
        Op::Broadcast => (x(), Some(vec![4, 2, 3])),
        Op::Concat { .. } => (vec![sec(&[2, 3], 18), sec(&[2, 1], 18)], None),
        Op::Neg
        | Op::Shl { .. }
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Gather { .. }
        | Op::Pad { .. }
        | Op::ReduceSum { .. }
        | Op::Ge { .. }
        | Op::Relu
        | Op::MaxAxis { .. }
        | Op::ExpTaylor { .. }
        | Op::Reciprocal { .. }
        | Op::Rsqrt { .. }
        | Op::RsqrtGoldschmidt { .. }
        | Op::Poly { .. }
        | Op::PiecewisePoly { .. }
        | Op::Output { .. }
        | Op::Gelu
        | Op::Erf
        | Op::Tanh
        | Op::Sigmoid
        | Op::Silu
        | Op::Exp
        | Op::Softmax { .. }
        | Op::RmsNorm { .. }
        | Op::Sqrt => (x(), None),
    }
}

/// One example of every op.
fn every_op() -> Vec<Op> {
    vec![
        Op::Add,
        Op::Sub,
        Op::Neg,
        Op::Mul,
        Op::MatMul,
        Op::Trunc { bits: 18 },
        Op::Shl { bits: 2 },
        Op::Downcast { shift: 10 },
        Op::Upcast { shift: 10 },
        Op::Reshape,
        Op::Transpose { perm: vec![1, 0] },
        Op::Slice {
            axis: 1,
            start: 0,
            end: 3,
            step: 2,
        },
        Op::Concat { axis: 1 },
        Op::Broadcast,
        Op::Gather {
            axis: 1,
            indices: vec![2, 0, 2],
        },
        Op::Pad {
            pads: vec![(1, 0), (0, 2)],
        },
        Op::ReduceSum { axes: vec![1] },
        Op::Ge {
            thresholds: vec![-1.0, 0.5],
        },
        Op::Select,
        Op::Relu,
        Op::MaxAxis { axis: 1 },
        Op::ExpTaylor { iters: 8 },
        Op::Reciprocal { iters: 3 },
        Op::Rsqrt { iters: 3 },
        Op::RsqrtGoldschmidt { iters: 3 },
        Op::Poly {
            coeffs: vec![0.5, 0.25, 0.125],
        },
        Op::PiecewisePoly {
            breaks: vec![0.0],
            pieces: vec![Piece::Zero, Piece::Identity],
        },
        Op::SinSeries {
            coeffs: vec![0.5, 0.6, -0.1],
            period: 28.0,
        },
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        Op::Gelu,
        Op::Erf,
        Op::Tanh,
        Op::Sigmoid,
        Op::Silu,
        Op::Exp,
        Op::Softmax { axis: 1 },
        Op::RmsNorm { axis: 1, eps: 1e-6 },
        Op::Div,
        Op::Sqrt,
    ]
}

/// A graph that feeds `op` inputs of the example types and outputs its result.
fn example_graph(op: &Op) -> Graph {
    let (tys, shape) = operands(op);
    one_op_graph(op, &tys, shape.as_deref()).unwrap_or_else(|e| panic!("{}: {e}", op.name()))
}

/// Every non-source op has a typing rule the verifier agrees with, prints and parses back,
/// and has a rule in the reference interpreter.
#[test]
fn every_op_types_prints_and_evaluates() {
    let ops = every_op();
    let mut names: Vec<&str> = ops.iter().map(Op::name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ops.len(), "one example per op");
    for op in &ops {
        let g = example_graph(op);
        g.verify(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(op.is_kernel(), g.verify(true).is_ok(), "{}", op.name());
        let text = g.to_string();
        assert_eq!(parse(&text).unwrap(), g, "{text}");
        let inputs: HashMap<String, Vec<f64>> = (0..operands(op).0.len())
            .map(|i| {
                let n = g.ty(ValueId(i as u32)).len();
                (format!("x{i}"), (0..n).map(|j| 0.25 + j as f64).collect())
            })
            .collect();
        let weights = Weights {
            plan_digest: [0; 32],
            tensors: vec![],
        };
        let out = eval(&g, &inputs, &weights).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
        assert!(out["y"].iter().all(|v| v.is_finite()), "{}", op.name());
    }
}

/// An op, its operand types, its declared shape and the words its typing error must hold.
type Refusal = (Op, Vec<ValueType>, Option<Vec<usize>>, &'static str);

/// The typing rule refuses what a kernel could not run: a bad axis, an out-of-range index,
/// mismatched rings or scales, a reshape that changes the size.
#[test]
fn typing_refuses_bad_operands() {
    let x = sec(&[2, 3], 18);
    let cases: Vec<Refusal> = vec![
        (
            Op::MaxAxis { axis: 2 },
            vec![x.clone()],
            None,
            "axis 2 out of range",
        ),
        (
            Op::Gather {
                axis: 1,
                indices: vec![3],
            },
            vec![x.clone()],
            None,
            "index 3 out of range",
        ),
        (
            Op::Slice {
                axis: 0,
                start: 1,
                end: 3,
                step: 1,
            },
            vec![x.clone()],
            None,
            "slice 1..3",
        ),
        (
            Op::Add,
            vec![
                x.clone(),
                ValueType::new(&[2, 3], Ring::Z32, 18, Vis::Client),
            ],
            None,
            "rings",
        ),
        (
            Op::Add,
            vec![x.clone(), sec(&[2, 3], 17)],
            None,
            "scales differ",
        ),
        (
            Op::Reshape,
            vec![x.clone()],
            Some(vec![7]),
            "changes the size",
        ),
        (Op::Reshape, vec![x.clone()], None, "needs its output shape"),
        (Op::Trunc { bits: 19 }, vec![x.clone()], None, "trunc by 19"),
        (
            Op::Concat { axis: 0 },
            vec![x.clone(), sec(&[2, 2], 18)],
            None,
            "cannot concatenate",
        ),
        (
            Op::Transpose { perm: vec![0, 0] },
            vec![x.clone()],
            None,
            "not a permutation",
        ),
        (Op::Neg, vec![], None, "takes 1 operands"),
        (
            Op::ExpTaylor { iters: 200 },
            vec![x.clone()],
            None,
            "at most 32",
        ),
        (Op::Rsqrt { iters: 33 }, vec![x.clone()], None, "at most 32"),
        (
            Op::Shl { bits: 46 },
            vec![x.clone()],
            None,
            "leaves no bits",
        ),
        (
            Op::Downcast { shift: 10 },
            vec![ValueType::new(&[2, 3], Ring::Z32, 18, Vis::Client)],
            None,
            "takes a value in z64",
        ),
        (
            Op::Downcast { shift: 19 },
            vec![x.clone()],
            None,
            "shift by 19 from scale 18",
        ),
        (
            Op::Downcast { shift: 0 },
            vec![sec(&[2, 3], 40)],
            None,
            "scale 40 leaves no bits of z32",
        ),
        (
            Op::Upcast { shift: 0 },
            vec![x.clone()],
            None,
            "takes a value in z32",
        ),
        (
            Op::Upcast { shift: 50 },
            vec![ValueType::new(&[2, 3], Ring::Z32, 14, Vis::Client)],
            None,
            "scale 64 leaves no bits of z64",
        ),
    ];
    for (op, tys, shape, want) in cases {
        let refs: Vec<&ValueType> = tys.iter().collect();
        let e = typing::output_type(&op, &refs, shape.as_deref()).unwrap_err();
        assert!(e.0.contains(want), "{}: '{e}' lacks '{want}'", op.name());
    }
}
