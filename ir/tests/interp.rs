//! The plaintext interpreter: exact values of high-level ops, the intended approximations of
//! kernel ops, shape ops, and clear errors for missing or malformed data.

use mpcc_ir::interp::{eval, InterpError};
use mpcc_ir::*;
use std::collections::HashMap;

fn ty(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
    ValueType::z64(shape, scale, vis)
}

fn input(g: &mut Graph, name: &str, shape: &[usize]) -> ValueId {
    let op = Op::Input {
        name: name.into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    g.add(op, &[], ty(shape, 18, Vis::Client), name)
}

fn output(g: &mut Graph, v: ValueId) {
    let t = g.ty(v).clone();
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[v],
        t,
        "y",
    );
}

fn run(g: &Graph, inputs: &[(&str, Vec<f64>)]) -> Vec<f64> {
    let map: HashMap<String, Vec<f64>> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    eval(g, &map, &Weights::default())
        .unwrap()
        .remove("y")
        .unwrap()
}

/// Applies the unary `op` (output type `out`) to `x` of shape `shape`.
fn check_unary(op: Op, shape: &[usize], out: ValueType, x: Vec<f64>) -> Vec<f64> {
    let mut g = Graph::new(18);
    let v = input(&mut g, "x", shape);
    let y = g.add(op, &[v], out, "op");
    output(&mut g, y);
    run(&g, &[("x", x)])
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

/// GeLU, erf, tanh, sigmoid, SiLU, exp and sqrt give their exact values.
#[test]
fn high_level_elementwise_exact() {
    let t = ty(&[3], 18, Vis::Client);
    let x = vec![-1.0, 0.0, 2.0];
    close(
        &check_unary(Op::Gelu, &[3], t.clone(), x.clone()),
        &[-0.15865525393145707, 0.0, 1.9544997361036416],
        1e-15,
    );
    close(
        &check_unary(Op::Erf, &[3], t.clone(), x.clone()),
        &[-0.8427007929497149, 0.0, 0.9953222650189527],
        1e-15,
    );
    close(
        &check_unary(Op::Tanh, &[3], t.clone(), x.clone()),
        &[-0.7615941559557649, 0.0, 0.9640275800758169],
        1e-15,
    );
    close(
        &check_unary(Op::Sigmoid, &[3], t.clone(), x.clone()),
        &[0.2689414213699951, 0.5, 0.8807970779778823],
        1e-15,
    );
    close(
        &check_unary(Op::Silu, &[3], t.clone(), x.clone()),
        &[-0.2689414213699951, 0.0, 1.7615941559557646],
        1e-15,
    );
    close(
        &check_unary(Op::Exp, &[3], t.clone(), x),
        &[0.36787944117144233, 1.0, 7.38905609893065],
        1e-14,
    );
    close(
        &check_unary(Op::Sqrt, &[3], t, vec![4.0, 2.0, 0.25]),
        &[2.0, std::f64::consts::SQRT_2, 0.5],
        1e-15,
    );
}

/// Softmax and RMS norm work along the given axis of a 2-D tensor.
#[test]
fn softmax_and_rms_norm_along_axis() {
    let t = ty(&[2, 2], 18, Vis::Client);
    let x = vec![0.0, 1.0, 3.0, 5.0];
    let s = check_unary(Op::Softmax { axis: 0 }, &[2, 2], t.clone(), x.clone());
    let (a, b) = (1.0 / (1.0 + 3f64.exp()), 1.0 / (1.0 + 4f64.exp()));
    close(&s, &[a, b, 1.0 - a, 1.0 - b], 1e-15);
    let r = check_unary(Op::RmsNorm { axis: 1, eps: 0.5 }, &[2, 2], t, x);
    close(
        &r,
        &[
            0.0,
            1.0 / 1.0f64.sqrt(),
            3.0 / 17.5f64.sqrt(),
            5.0 / 17.5f64.sqrt(),
        ],
        1e-15,
    );
}

/// Kernel ops compute their intended approximation: exp_taylor's limit, a piecewise
/// polynomial's pieces, poly, exact reciprocal and rsqrt, relu.
#[test]
fn kernel_approximations() {
    let t = ty(&[4], 18, Vis::Client);
    let x = vec![-5.0, -1.0, 0.5, 4.0];
    let e = check_unary(Op::ExpTaylor { iters: 2 }, &[4], t.clone(), x.clone());
    close(
        &e,
        &[
            (1.0f64 - 5.0 / 4.0).powi(4),
            0.75f64.powi(4),
            1.125f64.powi(4),
            16.0,
        ],
        1e-12,
    );
    let pieces = vec![
        Piece::Zero,
        Piece::Poly(vec![1.0, 2.0, 3.0]),
        Piece::Identity,
    ];
    let pw = Op::PiecewisePoly {
        breaks: vec![-1.0, 0.5],
        pieces,
    };
    close(
        &check_unary(pw, &[4], t.clone(), x.clone()),
        &[0.0, 2.0, 0.5, 4.0],
        1e-15,
    );
    close(
        &check_unary(
            Op::Poly {
                coeffs: vec![0.0, 0.0, 1.0],
            },
            &[4],
            t.clone(),
            x.clone(),
        ),
        &[25.0, 1.0, 0.25, 16.0],
        1e-15,
    );
    close(
        &check_unary(Op::Reciprocal { iters: 2 }, &[4], t.clone(), x.clone()),
        &[-0.2, -1.0, 2.0, 0.25],
        1e-15,
    );
    close(
        &check_unary(
            Op::Rsqrt { iters: 2 },
            &[4],
            t.clone(),
            vec![4.0, 1.0, 0.25, 16.0],
        ),
        &[0.5, 1.0, 2.0, 0.25],
        1e-15,
    );
    close(
        &check_unary(Op::Relu, &[4], t, x),
        &[0.0, 0.0, 0.5, 4.0],
        0.0,
    );
}

/// `ge` stacks one bit tensor per threshold; `max_axis` and `reduce_sum` keep the axis.
#[test]
fn comparisons_and_reductions() {
    let bits = check_unary(
        Op::Ge {
            thresholds: vec![0.0, 2.0],
        },
        &[3],
        ty(&[2, 3], 0, Vis::Client),
        vec![-1.0, 0.0, 3.0],
    );
    assert_eq!(bits, vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    let x = vec![1.0, 7.0, 3.0, 4.0, 5.0, 6.0];
    let m = check_unary(
        Op::MaxAxis { axis: 0 },
        &[2, 3],
        ty(&[1, 3], 18, Vis::Client),
        x.clone(),
    );
    assert_eq!(m, vec![4.0, 7.0, 6.0]);
    let s = check_unary(
        Op::ReduceSum { axes: vec![1] },
        &[2, 3],
        ty(&[2, 1], 18, Vis::Client),
        x.clone(),
    );
    assert_eq!(s, vec![11.0, 15.0]);
    let all = check_unary(
        Op::ReduceSum { axes: vec![0, 1] },
        &[2, 3],
        ty(&[1, 1], 18, Vis::Client),
        x,
    );
    assert_eq!(all, vec![26.0]);
}

/// Shape ops move elements as numpy does.
#[test]
fn shape_ops() {
    let x: Vec<f64> = (0..6).map(f64::from).collect();
    let c = ty(&[3, 2], 18, Vis::Client);
    assert_eq!(
        check_unary(
            Op::Transpose { perm: vec![1, 0] },
            &[2, 3],
            c.clone(),
            x.clone()
        ),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    assert_eq!(check_unary(Op::Reshape, &[2, 3], c, x.clone()), x);
    let sl = Op::Slice {
        axis: 1,
        start: 0,
        end: 3,
        step: 2,
    };
    assert_eq!(
        check_unary(sl, &[2, 3], ty(&[2, 2], 18, Vis::Client), x.clone()),
        vec![0.0, 2.0, 3.0, 5.0]
    );
    let ga = Op::Gather {
        axis: 0,
        indices: vec![1, 1, 0],
    };
    assert_eq!(
        check_unary(ga, &[2, 3], ty(&[3, 3], 18, Vis::Client), x.clone()),
        vec![3.0, 4.0, 5.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0]
    );
    let bc = check_unary(
        Op::Broadcast,
        &[2, 1],
        ty(&[2, 2], 18, Vis::Client),
        vec![1.0, 2.0],
    );
    assert_eq!(bc, vec![1.0, 1.0, 2.0, 2.0]);
    let mut g = Graph::new(18);
    let a = input(&mut g, "a", &[1, 2]);
    let b = input(&mut g, "b", &[1, 1]);
    let cat = g.add(
        Op::Concat { axis: 1 },
        &[a, b, a],
        ty(&[1, 5], 18, Vis::Client),
        "cat",
    );
    output(&mut g, cat);
    assert_eq!(
        run(&g, &[("a", vec![1.0, 2.0]), ("b", vec![9.0])]),
        vec![1.0, 2.0, 9.0, 1.0, 2.0]
    );
}

/// Broadcast binary ops, matmul with a weight, a one-hot input, `trunc` to an integer and
/// `shl` of an integer.
#[test]
fn arithmetic_weights_and_encodings() {
    let mut g = Graph::new(18);
    let enc = InputEncoding::OneHot { depth: 3 };
    let ids = g.add(
        Op::Input {
            name: "ids".into(),
            owner: CLIENT,
            encoding: enc,
        },
        &[],
        ty(&[2, 3], 18, Vis::Client),
        "ids",
    );
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ty(&[3, 2], 18, Vis::Owner),
        "w",
    );
    let mm = g.add(Op::MatMul, &[ids, w], ty(&[2, 2], 36, Vis::Secret), "mm");
    let c = g.add(
        Op::Const {
            values: vec![0.5, 2.0],
        },
        &[],
        ty(&[2], 36, Vis::Public),
        "c",
    );
    let d = g.add(Op::Div, &[mm, c], ty(&[2, 2], 36, Vis::Secret), "div");
    let t = g.add(
        Op::Trunc { bits: 36 },
        &[d],
        ty(&[2, 2], 0, Vis::Secret),
        "t",
    );
    let s = g.add(Op::Shl { bits: 3 }, &[t], ty(&[2, 2], 3, Vis::Secret), "s");
    output(&mut g, s);
    let weights = Weights {
        plan_digest: [0; 32],
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![3, 2],
            data: vec![1.0, 2.0, 3.25, 4.0, 5.0, 6.0],
        }],
    };
    let inputs = HashMap::from([("ids".to_string(), vec![1.0, 2.0])]);
    let y = eval(&g, &inputs, &weights).unwrap().remove("y").unwrap();
    // Rows [3.25, 4] and [5, 6], divided by [0.5, 2], floored; the shift raises the scale
    // and keeps the value.
    assert_eq!(y, vec![6.0, 2.0, 10.0, 3.0]);
}

/// Missing or malformed inputs and weights give typed errors, not panics.
#[test]
fn errors() {
    let mut g = Graph::new(18);
    let x = input(&mut g, "x", &[2]);
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ty(&[2], 18, Vis::Owner),
        "w",
    );
    let s = g.add(Op::Add, &[x, w], ty(&[2], 18, Vis::Secret), "add");
    output(&mut g, s);
    let none = HashMap::new();
    assert_eq!(
        eval(&g, &none, &Weights::default()),
        Err(InterpError::MissingInput("x".into()))
    );
    let short = HashMap::from([("x".to_string(), vec![1.0])]);
    assert!(matches!(
        eval(&g, &short, &Weights::default()),
        Err(InterpError::Length {
            expected: 2,
            got: 1,
            ..
        })
    ));
    let ok = HashMap::from([("x".to_string(), vec![1.0, 2.0])]);
    assert_eq!(
        eval(&g, &ok, &Weights::default()),
        Err(InterpError::MissingWeight("w".into()))
    );
    let bad_axis = check_unary_err(Op::Softmax { axis: 3 });
    assert!(bad_axis.contains("axis 3 out of range"), "{bad_axis}");
}

fn check_unary_err(op: Op) -> String {
    let mut g = Graph::new(18);
    let v = input(&mut g, "x", &[2]);
    let y = g.add(op, &[v], ty(&[2], 18, Vis::Client), "op");
    output(&mut g, y);
    let inputs = HashMap::from([("x".to_string(), vec![1.0, 2.0])]);
    eval(&g, &inputs, &Weights::default())
        .unwrap_err()
        .to_string()
}

/// The ring conversions as the ring does them: `downcast` keeps a value that fits Z_2^32 at
/// its output scale (flooring to an integer at scale 0) and wraps one that does not, modulo
/// 2^(32 - scale); `upcast` keeps the value.
#[test]
fn ring_conversions() {
    let z32 = |scale| ValueType::new(&[5], Ring::Z32, scale, Vis::Client);
    // At scale 8, Z_2^32 holds [-2^23, 2^23).
    let lim = 8388608.0;
    let x = vec![1.5, -2.25, lim - 0.5, lim, -lim - 1.0];
    let y = check_unary(Op::Downcast { shift: 10 }, &[5], z32(8), x);
    assert_eq!(y, vec![1.5, -2.25, lim - 0.5, -lim, lim - 1.0]);
    let y = check_unary(
        Op::Downcast { shift: 18 },
        &[5],
        z32(0),
        vec![1.5, -2.25, 0.0, 7.0, -0.5],
    );
    assert_eq!(y, vec![1.0, -3.0, 0.0, 7.0, -1.0]);
    let mut g = Graph::new(18);
    let op = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let v = g.add(op, &[], z32(8), "x");
    let y = g
        .add_typed(Op::Upcast { shift: 10 }, &[v], None, "up")
        .unwrap();
    assert_eq!(*g.ty(y), ty(&[5], 18, Vis::Client));
    output(&mut g, y);
    let x = vec![1.5, -2.25, 0.0, -4194304.0, 4194303.5];
    assert_eq!(run(&g, &[("x", x.clone())]), x);
}
