//! A plaintext f64 interpreter of a [`Graph`]: the reference semantics of every op.
//!
//! The secret-shared VM and this interpreter are two interpreters of one plan. Here values are
//! real numbers and fixed-point scales are ignored, so that the error of an approximation
//! (a pass) can be measured apart from the error of fixed-point rounding:
//!
//! - high-level ops use exact math: GeLU via `erf`, softmax, RMS norm, exp, division, sqrt;
//! - kernel ops compute their intended approximation exactly: `ge` gives 0/1, `piecewise_poly`
//!   and `poly` evaluate their polynomials, `exp_taylor` is `(1 + x/2^t)^(2^t)`, `reciprocal`
//!   and `rsqrt` are exact `1/x` and `1/sqrt(x)`; `select` by a 0 bit is 0 even where its
//!   operand is infinite (an exp of a cut-off softmax entry), as in the ring;
//! - `trunc` is a no-op on reals, except that a truncation to scale 0 yields an integer
//!   (`floor`), as the ring does; `shl` raises the scale by its bits and keeps the value.
//! - The ring conversions are modelled as the ring does them: `downcast` truncates as `trunc`
//!   does, then wraps the value into Z_2^32's signed range at the output scale
//!   (`[-2^(31-s), 2^(31-s))`, the drop of the high 32 bits); `upcast` keeps the value (the
//!   VM's result for operands inside its precondition, |x| < 2^30 at the input scale).
//! - Inputs are taken as given (no rounding to the fixed-point grid). A one-hot input takes the
//!   integer ids and expands them.

pub mod tensor;

use crate::graph::{Graph, Node, VerifyError};
use crate::op::{InputEncoding, Op, Piece};
use crate::types::ValueType;
use crate::weights::Weights;
use std::collections::HashMap;
use tensor::{TResult, Tensor};

/// Why a graph could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// The graph does not verify.
    #[error("invalid graph: {0}")]
    Verify(#[from] VerifyError),
    /// No data for an input.
    #[error("no data for input '{0}'")]
    MissingInput(String),
    /// No tensor for a weight.
    #[error("no tensor '{0}' in the weights")]
    MissingWeight(String),
    /// Data of the wrong length for an input or a weight.
    #[error("'{name}' has {got} elements, the graph expects {expected}")]
    Length {
        /// Input or weight name.
        name: String,
        /// Elements the graph's type asks for.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// Input data that its encoding cannot take.
    #[error("input '{name}': {message}")]
    BadInput {
        /// Input name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A node could not be evaluated (bad attributes or shapes).
    #[error("node {index} ({op} from ONNX node '{origin}'): {message}")]
    Node {
        /// Position of the node.
        index: usize,
        /// Op name.
        op: &'static str,
        /// ONNX node it came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Evaluates `graph` on real `inputs` (by input name) and `weights`; returns every output by
/// its output name. The graph is verified first (high-level ops allowed).
pub fn eval(
    graph: &Graph,
    inputs: &HashMap<String, Vec<f64>>,
    weights: &Weights,
) -> Result<HashMap<String, Vec<f64>>, InterpError> {
    eval_observed(graph, inputs, weights, &mut |_, _| {})
}

/// [`eval`], handing each node's value (node index, value) to `observe` as it is computed.
pub fn eval_observed(
    graph: &Graph,
    inputs: &HashMap<String, Vec<f64>>,
    weights: &Weights,
    observe: &mut dyn FnMut(usize, &Tensor),
) -> Result<HashMap<String, Vec<f64>>, InterpError> {
    graph.verify(false)?;
    let mut vals: Vec<Option<Tensor>> = vec![None; graph.values.len()];
    let mut outs = HashMap::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let node_err = |message: String| InterpError::Node {
            index,
            op: node.op.name(),
            origin: node.origin.clone(),
            message,
        };
        let mut args = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            let t = vals[v.index()].as_ref();
            args.push(t.ok_or_else(|| node_err(format!("{v} has no value")))?);
        }
        let out_ty = graph.ty(node.output);
        let t = if let Op::Input { name, encoding, .. } = &node.op {
            input(name, encoding, out_ty, inputs)?
        } else if let Op::Weight { name } = &node.op {
            weight(name, out_ty, weights)?
        } else {
            eval_op(&node.op, node, graph, &args).map_err(&node_err)?
        };
        if t.shape != out_ty.shape {
            return Err(node_err(format!(
                "computes shape {:?}, the type says {:?}",
                t.shape, out_ty.shape
            )));
        }
        if let Op::Output { name, .. } = &node.op {
            outs.insert(name.clone(), t.data.clone());
        }
        observe(index, &t);
        vals[node.output.index()] = Some(t);
    }
    Ok(outs)
}

fn input(
    name: &str,
    encoding: &InputEncoding,
    ty: &ValueType,
    inputs: &HashMap<String, Vec<f64>>,
) -> Result<Tensor, InterpError> {
    let data = inputs
        .get(name)
        .ok_or_else(|| InterpError::MissingInput(name.into()))?;
    let depth = match encoding {
        InputEncoding::OneHot { depth } => *depth,
        _ => 1,
    };
    let expected = ty.len() / depth.max(1);
    if data.len() != expected {
        return Err(InterpError::Length {
            name: name.into(),
            expected,
            got: data.len(),
        });
    }
    let Some(depth) = matches!(encoding, InputEncoding::OneHot { .. }).then_some(depth) else {
        return Ok(Tensor::new(ty.shape.clone(), data.clone()));
    };
    let mut hot = vec![0.0; ty.len()];
    for (i, &id) in data.iter().enumerate() {
        if id.fract() != 0.0 || id < 0.0 || id >= depth as f64 {
            return Err(InterpError::BadInput {
                name: name.into(),
                message: format!("one-hot id {id} is not an integer in 0..{depth}"),
            });
        }
        hot[i * depth + id as usize] = 1.0;
    }
    Ok(Tensor::new(ty.shape.clone(), hot))
}

fn weight(name: &str, ty: &ValueType, weights: &Weights) -> Result<Tensor, InterpError> {
    let w = weights
        .get(name)
        .ok_or_else(|| InterpError::MissingWeight(name.into()))?;
    if w.data.len() != ty.len() {
        return Err(InterpError::Length {
            name: name.into(),
            expected: ty.len(),
            got: w.data.len(),
        });
    }
    let data = w.data.iter().map(|&x| x as f64).collect();
    Ok(Tensor::new(ty.shape.clone(), data))
}

/// Evaluates one op other than `input` and `weight` (which [`eval`] reads).
fn eval_op(op: &Op, node: &Node, graph: &Graph, args: &[&Tensor]) -> TResult {
    let out = graph.ty(node.output);
    let a = || args[0];
    Ok(match op {
        Op::Input { .. } | Op::Weight { .. } => {
            return Err(format!("'{}' is read by eval, not computed", op.name()))
        }
        Op::Const { values } => Tensor::new(out.shape.clone(), values.clone()),
        Op::Add => tensor::binary(a(), args[1], |x, y| x + y)?,
        Op::Sub => tensor::binary(a(), args[1], |x, y| x - y)?,
        Op::Mul => tensor::binary(a(), args[1], |x, y| x * y)?,
        // A 0 bit gives 0 whatever x is (an out-of-range exp included), as in the ring.
        Op::Select => tensor::binary(a(), args[1], |x, b| if b == 0.0 { 0.0 } else { x * b })?,
        Op::Div => tensor::binary(a(), args[1], |x, y| x / y)?,
        Op::MatMul => tensor::matmul(a(), args[1])?,
        Op::Neg => a().map(|x| -x),
        Op::Trunc { .. } if out.scale == 0 => a().map(f64::floor),
        Op::Trunc { .. } | Op::Output { .. } => a().clone(),
        Op::Shl { .. } | Op::Upcast { .. } => a().clone(),
        Op::Downcast { .. } => {
            let t = if out.scale == 0 {
                a().map(f64::floor)
            } else {
                a().clone()
            };
            t.map(|v| wrap_signed(v, out.ring.bits(), out.scale))
        }
        Op::Reshape => {
            if a().data.len() != out.len() {
                return Err(format!("reshape of {:?} to {:?}", a().shape, out.shape));
            }
            Tensor::new(out.shape.clone(), a().data.clone())
        }
        Op::Broadcast => tensor::broadcast_to(a(), &out.shape)?,
        Op::Transpose { perm } => tensor::transpose(a(), perm)?,
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => tensor::slice(a(), *axis, *start, *end, *step)?,
        Op::Concat { axis } => tensor::concat(args, *axis)?,
        Op::Gather { axis, indices } => tensor::take(a(), *axis, indices)?,
        Op::Pad { pads } => tensor::pad(a(), pads)?,
        Op::ReduceSum { axes } => {
            let mut t = a().clone();
            for &ax in axes {
                t = tensor::reduce_axis(&t, ax, |l| l.iter().sum())?;
            }
            t
        }
        Op::MaxAxis { axis } => tensor::reduce_axis(a(), *axis, max_of)?,
        Op::Ge { thresholds } => ge(a(), thresholds),
        Op::Relu => a().map(|v| v.max(0.0)),
        Op::ExpTaylor { iters } => a().map(|v| exp_taylor(v, *iters)),
        Op::Reciprocal { .. } => a().map(|v| 1.0 / v),
        Op::Rsqrt { .. } | Op::RsqrtGoldschmidt { .. } => a().map(|v| 1.0 / v.sqrt()),
        Op::Poly { coeffs } => a().map(|v| poly(coeffs, v)),
        // The angle t = 0: sines 0, cosines 1 (the series is the same for every angle).
        Op::SinPrep { .. } => {
            let rows = out.shape.first().copied().unwrap_or(0);
            let per = out.len().checked_div(rows).unwrap_or(0);
            let values = (0..rows)
                .flat_map(|r| {
                    std::iter::repeat_n(
                        if r > 0 && r.is_multiple_of(2) {
                            1.0
                        } else {
                            0.0
                        },
                        per,
                    )
                })
                .collect();
            Tensor::new(out.shape.clone(), values)
        }
        Op::SinSeries { coeffs, period } => a().map(|v| sin_series(coeffs, *period, v)),
        Op::PiecewisePoly { breaks, pieces } => a().map(|v| piecewise(breaks, pieces, v)),
        Op::Gelu => a().map(|v| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))),
        Op::Erf => a().map(libm::erf),
        Op::Tanh => a().map(f64::tanh),
        Op::Sigmoid => a().map(sigmoid),
        Op::Silu => a().map(|v| v * sigmoid(v)),
        Op::Exp => a().map(f64::exp),
        Op::Sqrt => a().map(f64::sqrt),
        Op::Softmax { axis } => tensor::map_lanes(a(), *axis, softmax_lane)?,
        Op::RmsNorm { axis, eps } => tensor::map_lanes(a(), *axis, |l| rms_norm_lane(l, *eps))?,
    })
}

/// `v` reduced into the signed range of a `bits`-bit ring at `scale` fraction bits,
/// `[-2^(bits-1-scale), 2^(bits-1-scale))`, as two's complement wraps it.
pub fn wrap_signed(v: f64, bits: u32, scale: u32) -> f64 {
    let period = 2f64.powi(bits as i32 - scale as i32);
    v - period * (v / period + 0.5).floor()
}

/// The largest element of a lane.
fn max_of(lane: &[f64]) -> f64 {
    lane.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// `[x >= t]` for each threshold, stacked on a new first axis.
fn ge(x: &Tensor, thresholds: &[f64]) -> Tensor {
    let mut shape = vec![thresholds.len()];
    shape.extend(&x.shape);
    let data = thresholds
        .iter()
        .flat_map(|&t| x.data.iter().map(move |&v| if v >= t { 1.0 } else { 0.0 }))
        .collect();
    Tensor::new(shape, data)
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `(1 + x / 2^iters)^(2^iters)` by `iters` squarings, as the `exp_taylor` kernel computes it.
pub fn exp_taylor(x: f64, iters: u32) -> f64 {
    let mut y = 1.0 + x / 2f64.powi(iters as i32);
    for _ in 0..iters {
        y *= y;
    }
    y
}

/// `sum coeffs[i] * x^i` by Horner's rule.
pub fn poly(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// The piece of `x`: `pieces[i]` where `i` counts the breaks at or below `x`.
pub fn piecewise(breaks: &[f64], pieces: &[Piece], x: f64) -> f64 {
    let i = breaks.iter().take_while(|&&b| x >= b).count();
    match pieces.get(i) {
        Some(Piece::Zero) => 0.0,
        Some(Piece::Identity) => x,
        Some(Piece::Poly(c)) => poly(c, x),
        None => f64::NAN,
    }
}

fn softmax_lane(lane: &mut [f64]) {
    let m = max_of(lane);
    lane.iter_mut().for_each(|v| *v = (*v - m).exp());
    let s: f64 = lane.iter().sum();
    lane.iter_mut().for_each(|v| *v /= s);
}

fn rms_norm_lane(lane: &mut [f64], eps: f64) {
    let mean_sq = lane.iter().map(|v| v * v).sum::<f64>() / lane.len() as f64;
    let r = 1.0 / (mean_sq + eps).sqrt();
    lane.iter_mut().for_each(|v| *v *= r);
}

/// `coeffs[0] + sum_j coeffs[j] sin(2π j x / period)`.
pub fn sin_series(coeffs: &[f64], period: f64, x: f64) -> f64 {
    let w = std::f64::consts::TAU * x / period;
    coeffs.first().copied().unwrap_or(0.0)
        + coeffs
            .iter()
            .skip(1)
            .enumerate()
            .map(|(j, c)| c * ((j + 1) as f64 * w).sin())
            .sum::<f64>()
}
