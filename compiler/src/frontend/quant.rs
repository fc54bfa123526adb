//! Quantization of run-time data in QDQ exports: tract's `QuantizeLinearI8`/`U8` and
//! `DequantizeLinearF32` on secret values, with public scales and zero points (activation
//! quantization; weight dequantization is folded before tract, `ownership.rs`).
//!
//! `QuantizeLinear(x) = clamp(round(x / s) + z, lo, hi)` becomes: a product with the public
//! `1/s` (one truncation), `+ 1/2` and a truncation to scale 0 (the rounding), `+ z`, and the
//! clamp as two `relu`s (`max(v, lo) = lo + relu(v - lo)`, `min(u, hi) = hi - relu(hi - u)`).
//! The result is the integer code itself, at scale 0. `DequantizeLinear(q) = (q - z) * s` is
//! a local subtraction and a product with the public `s` at scale f, which lands at scale f
//! with no truncation.
//!
//! **Error:** the secret truncation rounds stochastically (result within one unit of the
//! exact quotient), so a code can differ by one from onnxruntime's round-half-to-even where
//! `x / s` lies within one unit of the last place (2^-f) of a half-integer, and by one more
//! where the truncation's own one-unit error crosses a code boundary; each such code is off by
//! one step `s`.

use super::lower::Lowerer;
use super::values::{Sec, Val};
use super::CompileError;
use mpcc_ir::Op;
use ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::quant::{QuantizeLinearI8, QuantizeLinearU8};

impl Lowerer<'_> {
    /// `QuantizeLinearI8`/`U8` (tract stores `1/y_scale`) on a run-time value.
    pub fn quantize(&mut self, node: &TypedNode, mini: &str) -> Result<Option<Val>, CompileError> {
        let ew = node
            .op_as::<tract_onnx::tract_core::ops::element_wise::ElementWiseOp>()
            .map(|e| &e.0);
        let params = match (mini, ew) {
            ("QuantizeLinearI8", Some(op)) => op
                .downcast_ref::<QuantizeLinearI8>()
                .map(|q| (q.scale, q.zero_point as f64, -128.0, 127.0)),
            ("QuantizeLinearU8", Some(op)) => op
                .downcast_ref::<QuantizeLinearU8>()
                .map(|q| (q.scale, q.zero_point as f64, 0.0, 255.0)),
            _ => None,
        };
        let Some((inv_scale, zp, lo, hi)) = params else {
            return Ok(None);
        };
        let x = self.input(node, 0)?;
        let x = self.sec(node, &x)?;
        let origin = node.name.clone();
        let shape = self.shape(x.id);
        let scalar = |v: f64| ArrayD::from_elem(IxDyn(&[1]), v);
        let inv = self.constant(&scalar(inv_scale as f64), self.f, &origin);
        let t = self.emit(Op::Mul, &[x.id, inv], &origin);
        let t = self.rescale(t, self.scale(x.id).max(self.f), &origin);
        let t = self.rescale(t, self.f, &origin);
        let half = self.constant(&scalar(0.5 + zp - lo), self.f, &origin);
        let t = self.emit(Op::Add, &[t, half], &origin);
        // v = round(x / s) + z - lo, an integer at scale 0; clamp it to [0, hi - lo].
        let v = self.emit(Op::Trunc { bits: self.f }, &[t], &origin);
        let low = self.emit(Op::Relu, &[v], &origin);
        let top = self.constant(&scalar(hi - lo), 0, &origin);
        let d = self.emit(Op::Sub, &[top, low], &origin);
        let d = self.emit(Op::Relu, &[d], &origin);
        let u = self.emit(Op::Sub, &[top, d], &origin);
        let base = self.constant(&scalar(lo), 0, &origin);
        let q = self.emit(Op::Add, &[u, base], &origin);
        debug_assert_eq!(self.shape(q), shape);
        Ok(Some(Val::Sec(self.ranged(q, Some((lo, hi))))))
    }

    /// `DequantizeLinearF32` on a run-time integer code: `(q - z) * s` at scale f.
    pub fn dequantize(
        &mut self,
        node: &TypedNode,
        scale: f32,
        zero_point: i32,
    ) -> Result<Val, CompileError> {
        let q = self.input(node, 0)?;
        let q = self.sec(node, &q)?;
        let origin = node.name.clone();
        let scalar = |v: f64| ArrayD::from_elem(IxDyn(&[1]), v);
        let sq = self.scale(q.id);
        let z = self.constant(&scalar(zero_point as f64), sq, &origin);
        let c = self.emit(Op::Sub, &[q.id, z], &origin);
        let s = self.constant(&scalar(scale as f64), self.f, &origin);
        let y = self.emit(Op::Mul, &[c, s], &origin);
        let y = self.rescale(y, self.f, &origin);
        let range = q.range.map(|(a, b)| {
            let (a, b) = (
                (a - zero_point as f64) * scale as f64,
                (b - zero_point as f64) * scale as f64,
            );
            (a.min(b), a.max(b))
        });
        Ok(Val::Sec(Sec {
            range,
            ..Sec::plain(y)
        }))
    }
}
