//! Compile-time tensors: tract constants as f64 arrays, and folding a node whose operands
//! are all known by running tract's own evaluation.

use ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;

/// The elements of a tract tensor as f64 (bools as 0/1, symbolic dims must be integers).
pub(super) fn to_f64(t: &Tensor) -> Result<ArrayD<f64>, String> {
    let shape = IxDyn(t.shape());
    let data: Vec<f64> = if t.datum_type() == bool::datum_type() {
        let v = t.to_plain_array_view::<bool>().map_err(|e| e.to_string())?;
        v.iter().map(|b| *b as u8 as f64).collect()
    } else {
        let t = if t.datum_type() == TDim::datum_type() {
            t.cast_to::<i64>().map_err(|e| e.to_string())?.into_owned()
        } else {
            t.clone()
        };
        let c = t.cast_to::<f64>().map_err(|e| e.to_string())?;
        let v = c.to_plain_array_view::<f64>().map_err(|e| e.to_string())?;
        v.iter().copied().collect()
    };
    ArrayD::from_shape_vec(shape, data).map_err(|e| e.to_string())
}

/// An f64 array as an f32 tract tensor.
pub(super) fn from_f64(a: &ArrayD<f64>) -> Tensor {
    let data: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    Tensor::from_shape(a.shape(), &data).unwrap_or_else(|_| Tensor::from(0f32))
}

/// Evaluates `node` on known operands with tract.
pub(super) fn fold(node: &TypedNode, inputs: Vec<Arc<Tensor>>) -> Result<Vec<Arc<Tensor>>, String> {
    let inputs: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        node.op.eval_out_of_plan(inputs)
    }));
    match run {
        Ok(Ok(Some(outs))) => Ok(outs.into_iter().map(|v| v.into_arc_tensor()).collect()),
        Ok(Ok(None)) => Err("tract cannot evaluate it outside a plan".into()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("tract panicked while folding it".into()),
    }
}

/// True when every element is an integer of magnitude at most 2^20 (a public factor that
/// needs no fraction bits).
pub(super) fn is_small_int(a: &ArrayD<f64>) -> bool {
    a.iter()
        .all(|v| v.fract() == 0.0 && v.abs() <= (1u64 << 20) as f64)
}
