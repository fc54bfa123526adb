//! A plain f64 evaluator of IR graphs (high-level and kernel ops) with ideal semantics:
//! values are reals, fixed-point scales, truncations and ring casts are ignored, and the
//! approximation kernels compute the function they approximate (`reciprocal` is exactly
//! 1/x). It checks a lowering on its own, before passes and without the VM.

use mpcc_ir::{Graph, InputEncoding, Op, Piece, Weights};
use ndarray::{concatenate, ArrayD, ArrayViewD, Axis, Ix2, IxDyn, Slice, Zip};
use std::collections::HashMap;

/// Why a graph could not be evaluated.
#[derive(Debug, thiserror::Error)]
#[error("eval of node {index} ({op}): {message}")]
pub struct EvalError {
    /// Node position.
    pub index: usize,
    /// Op name.
    pub op: &'static str,
    /// What went wrong.
    pub message: String,
}

/// A host tensor: shape and row-major values (ids for one-hot inputs).
pub type HostArray = (Vec<usize>, Vec<f64>);

/// Evaluates `g`. `inputs` are by input name as the run-time owner supplies them (one-hot
/// inputs as ids, without the one-hot dim). Returns the outputs by name.
pub fn eval_graph(
    g: &Graph,
    inputs: &HashMap<String, HostArray>,
    weights: &Weights,
) -> Result<HashMap<String, ArrayD<f64>>, EvalError> {
    g.verify(false).map_err(|e| EvalError {
        index: e.index,
        op: e.op,
        message: e.message,
    })?;
    let mut vals: Vec<Option<ArrayD<f64>>> = vec![None; g.values.len()];
    let mut outs = HashMap::new();
    for (index, node) in g.nodes.iter().enumerate() {
        let err = |message: String| EvalError {
            index,
            op: node.op.name(),
            message,
        };
        let args: Vec<&ArrayD<f64>> = node
            .inputs
            .iter()
            .map(|v| {
                vals[v.index()]
                    .as_ref()
                    .ok_or_else(|| err(format!("{v} undefined")))
            })
            .collect::<Result<_, _>>()?;
        let shape = &g.ty(node.output).shape;
        let v = match &node.op {
            Op::Input { name, encoding, .. } => input(name, encoding, shape, inputs),
            Op::Weight { name } => weight(name, shape, weights),
            Op::Output { name, .. } => {
                outs.insert(name.clone(), args[0].clone());
                Ok(args[0].clone())
            }
            op => eval_op(op, &args, shape),
        }
        .map_err(err)?;
        if v.shape() != &shape[..] {
            return Err(err(format!(
                "gave shape {:?}, type says {shape:?}",
                v.shape()
            )));
        }
        vals[node.output.index()] = Some(v);
    }
    Ok(outs)
}

fn input(
    name: &str,
    enc: &InputEncoding,
    shape: &[usize],
    inputs: &HashMap<String, HostArray>,
) -> Result<ArrayD<f64>, String> {
    let (_, data) = inputs.get(name).ok_or(format!("no input '{name}'"))?;
    match enc {
        InputEncoding::OneHot { depth } => {
            let mut out = vec![0.0; data.len() * depth];
            for (i, &id) in data.iter().enumerate() {
                if id < 0.0 || id >= *depth as f64 {
                    return Err(format!("id {id} outside 0..{depth}"));
                }
                out[i * depth + id as usize] = 1.0;
            }
            arr(shape, out)
        }
        _ => arr(shape, data.clone()),
    }
}

fn weight(name: &str, shape: &[usize], weights: &Weights) -> Result<ArrayD<f64>, String> {
    let t = weights.get(name).ok_or(format!("no weight '{name}'"))?;
    arr(shape, t.data.iter().map(|&v| v as f64).collect())
}

fn arr(shape: &[usize], data: Vec<f64>) -> Result<ArrayD<f64>, String> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| e.to_string())
}

fn binary(
    a: &ArrayD<f64>,
    b: &ArrayD<f64>,
    shape: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> Result<ArrayD<f64>, String> {
    let va = a
        .broadcast(IxDyn(shape))
        .ok_or("operand does not broadcast")?;
    let vb = b
        .broadcast(IxDyn(shape))
        .ok_or("operand does not broadcast")?;
    Ok(Zip::from(&va).and(&vb).map_collect(|&x, &y| f(x, y)))
}

fn eval_op(op: &Op, a: &[&ArrayD<f64>], shape: &[usize]) -> Result<ArrayD<f64>, String> {
    let x = a.first().copied();
    let un = |f: &dyn Fn(f64) -> f64| -> Result<ArrayD<f64>, String> {
        Ok(x.ok_or("missing operand")?.mapv(f))
    };
    match op {
        Op::Const { values } => arr(shape, values.clone()),
        Op::Add => binary(a[0], a[1], shape, |x, y| x + y),
        Op::Sub => binary(a[0], a[1], shape, |x, y| x - y),
        Op::Mul | Op::Select => binary(a[0], a[1], shape, |x, y| x * y),
        Op::Div => binary(a[0], a[1], shape, |x, y| x / y),
        Op::Neg => un(&|v| -v),
        Op::Trunc { .. } | Op::Shl { .. } => Ok(a[0].clone()),
        Op::MatMul => matmul(a[0], a[1], shape),
        Op::Reshape => arr(shape, a[0].iter().copied().collect()),
        Op::Pad { pads } => {
            let mut out = ArrayD::<f64>::zeros(IxDyn(shape));
            out.slice_each_axis_mut(|ax| {
                let (b, _) = pads[ax.axis.index()];
                Slice::from(b..b + a[0].shape()[ax.axis.index()])
            })
            .assign(a[0]);
            Ok(out)
        }
        Op::Transpose { perm } => Ok(a[0]
            .clone()
            .permuted_axes(IxDyn(perm))
            .as_standard_layout()
            .to_owned()),
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => {
            if *end > a[0].shape()[*axis] || start > end || *step == 0 {
                return Err(format!("slice {start}..{end} step {step} out of range"));
            }
            let s = Slice::new(*start as isize, Some(*end as isize), *step as isize);
            Ok(a[0].slice_axis(Axis(*axis), s).to_owned())
        }
        Op::Concat { axis } => {
            let views: Vec<ArrayViewD<f64>> = a.iter().map(|t| t.view()).collect();
            concatenate(Axis(*axis), &views).map_err(|e| e.to_string())
        }
        Op::Broadcast => Ok(a[0]
            .broadcast(IxDyn(shape))
            .ok_or("does not broadcast")?
            .to_owned()),
        Op::Gather { axis, indices } => {
            if indices.iter().any(|&i| i >= a[0].shape()[*axis]) {
                return Err("gather index out of range".into());
            }
            Ok(a[0].select(Axis(*axis), indices))
        }
        Op::ReduceSum { axes } => {
            let mut t = a[0].clone();
            for &ax in axes {
                t = t.sum_axis(Axis(ax)).insert_axis(Axis(ax));
            }
            Ok(t)
        }
        Op::MaxAxis { axis } => Ok(a[0]
            .fold_axis(Axis(*axis), f64::NEG_INFINITY, |m, &v| m.max(v))
            .insert_axis(Axis(*axis))),
        Op::Ge { thresholds } => {
            let views: Vec<ArrayD<f64>> = thresholds
                .iter()
                .map(|&t| a[0].mapv(|v| (v >= t) as u8 as f64).insert_axis(Axis(0)))
                .collect();
            let views: Vec<ArrayViewD<f64>> = views.iter().map(|t| t.view()).collect();
            concatenate(Axis(0), &views).map_err(|e| e.to_string())
        }
        Op::Softmax { axis } => Ok(softmax(a[0], *axis)),
        Op::RmsNorm { axis, eps } => {
            let n = a[0].shape()[*axis] as f64;
            let ms = a[0]
                .mapv(|v| v * v)
                .sum_axis(Axis(*axis))
                .insert_axis(Axis(*axis))
                / n;
            binary(a[0], &ms, shape, |v, m| v / (m + eps).sqrt())
        }
        other => nonlinear(other, a[0]),
    }
}

/// Elementwise nonlinear ops.
fn nonlinear(op: &Op, x: &ArrayD<f64>) -> Result<ArrayD<f64>, String> {
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    Ok(match op {
        Op::Relu => x.mapv(|v| v.max(0.0)),
        Op::ExpTaylor { iters } => x.mapv(|v| (1.0 + v / (1u64 << iters) as f64).powi(1 << iters)),
        Op::Reciprocal { .. } => x.mapv(|v| 1.0 / v),
        Op::Rsqrt { .. } => x.mapv(|v| 1.0 / v.sqrt()),
        Op::Poly { coeffs } => x.mapv(|v| poly(coeffs, v)),
        Op::PiecewisePoly { breaks, pieces } => x.mapv(|v| {
            let i = breaks.iter().take_while(|&&b| v >= b).count();
            match &pieces[i] {
                Piece::Zero => 0.0,
                Piece::Identity => v,
                Piece::Poly(c) => poly(c, v),
            }
        }),
        Op::Gelu => x.mapv(|v| 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2))),
        Op::Erf => x.mapv(erf),
        Op::Tanh => x.mapv(f64::tanh),
        Op::Sigmoid => x.mapv(sigmoid),
        Op::Silu => x.mapv(|v| v * sigmoid(v)),
        Op::Exp => x.mapv(f64::exp),
        Op::Sqrt => x.mapv(f64::sqrt),
        other => return Err(format!("no evaluation for {}", other.name())),
    })
}

fn poly(coeffs: &[f64], v: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, c| acc * v + c)
}

fn softmax(x: &ArrayD<f64>, axis: usize) -> ArrayD<f64> {
    let m = x
        .fold_axis(Axis(axis), f64::NEG_INFINITY, |m, &v| m.max(v))
        .insert_axis(Axis(axis));
    let e = Zip::from(x)
        .and_broadcast(&m)
        .map_collect(|&v, &m| (v - m).exp());
    let s = e.sum_axis(Axis(axis)).insert_axis(Axis(axis));
    Zip::from(&e).and_broadcast(&s).map_collect(|&v, &s| v / s)
}

/// erf with |error| < 1.2e-7 (Numerical Recipes' Chebyshev fit of erfc).
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let c = [
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    ];
    let p = c.iter().rev().fold(0.0, |acc, k| acc * t + k);
    let erfc = t * (-z * z + p).exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// Batched matmul `[.., m, k] x [.., k, n]` with broadcast batch dims.
fn matmul(a: &ArrayD<f64>, b: &ArrayD<f64>, shape: &[usize]) -> Result<ArrayD<f64>, String> {
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let batch = &shape[..shape.len() - 2];
    let nb: usize = batch.iter().product();
    let to2 = |t: ArrayD<f64>, r: usize, c: usize| {
        t.into_shape_with_order((r, c)).map_err(|e| e.to_string())
    };
    if b.shape()[..rb - 2].iter().all(|&d| d == 1) {
        let mut sa = batch.to_vec();
        sa.extend([m, k]);
        let a2 = to2(
            a.broadcast(IxDyn(&sa))
                .ok_or("batch")?
                .as_standard_layout()
                .to_owned(),
            nb * m,
            k,
        )?;
        let b2 = to2(b.as_standard_layout().to_owned(), k, n)?;
        return arr(shape, a2.dot(&b2).iter().copied().collect());
    }
    let (mut sa, mut sb) = (batch.to_vec(), batch.to_vec());
    sa.extend([m, k]);
    sb.extend([k, n]);
    let a3 = a
        .broadcast(IxDyn(&sa))
        .ok_or("batch")?
        .as_standard_layout()
        .into_shape_with_order((nb, m, k))
        .map_err(|e| e.to_string())?
        .to_owned();
    let b3 = b
        .broadcast(IxDyn(&sb))
        .ok_or("batch")?
        .as_standard_layout()
        .into_shape_with_order((nb, k, n))
        .map_err(|e| e.to_string())?
        .to_owned();
    let mut out = Vec::with_capacity(nb * m * n);
    for (x, y) in a3.outer_iter().zip(b3.outer_iter()) {
        let x = x.into_dimensionality::<Ix2>().map_err(|e| e.to_string())?;
        let y = y.into_dimensionality::<Ix2>().map_err(|e| e.to_string())?;
        out.extend(x.dot(&y).iter().copied());
    }
    arr(shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpcc_ir::{Ring, ValueType, Vis};

    /// erf matches tabulated values to 1.2e-7.
    #[test]
    fn erf_is_accurate() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (-2.0, -0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
        ] {
            assert!((erf(x) - want).abs() < 1.2e-7, "erf({x})");
        }
    }

    fn ty(shape: &[usize], scale: u32) -> ValueType {
        ValueType {
            shape: shape.to_vec(),
            ring: Ring::Z64,
            scale,
            vis: Vis::Public,
        }
    }

    /// Broadcast matmul, comparisons and softmax evaluate to their plain definitions.
    #[test]
    fn kernels_evaluate_plainly() {
        let mut g = Graph::new(0);
        let a = g.add(
            Op::Const {
                values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            },
            &[],
            ty(&[2, 2, 2], 0),
            "a",
        );
        let b = g.add(
            Op::Const {
                values: vec![1.0, 0.0, 1.0, 1.0],
            },
            &[],
            ty(&[2, 2], 0),
            "b",
        );
        let m = g.add(Op::MatMul, &[a, b], ty(&[2, 2, 2], 0), "m");
        let ge = g.add(
            Op::Ge {
                thresholds: vec![4.5, 10.0],
            },
            &[m],
            ty(&[2, 2, 2, 2], 0),
            "ge",
        );
        let sm = g.add(Op::Softmax { axis: 2 }, &[m], ty(&[2, 2, 2], 0), "sm");
        for (v, name) in [(m, "m"), (ge, "ge"), (sm, "sm")] {
            let t = g.ty(v).clone();
            g.add(
                Op::Output {
                    name: name.into(),
                    to: vec![1],
                },
                &[v],
                t,
                name,
            );
        }
        let out = eval_graph(&g, &HashMap::new(), &Weights::default()).expect("eval");
        let m: Vec<f64> = out["m"].iter().copied().collect();
        assert_eq!(m, vec![3.0, 2.0, 7.0, 4.0, 11.0, 6.0, 15.0, 8.0]);
        let ge: Vec<f64> = out["ge"].iter().copied().collect();
        assert_eq!(
            ge,
            vec![0., 0., 1., 0., 1., 1., 1., 1., 0., 0., 0., 0., 1., 0., 1., 0.]
        );
        let e = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((out["sm"][[0, 0, 0]] - e).abs() < 1e-12);
    }
}
