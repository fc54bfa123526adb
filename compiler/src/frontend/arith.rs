//! Elementwise arithmetic and the high-level nonlinear ops: Add/Sub/Mul/Div with fixed-point
//! scale bookkeeping, powers, reductions, Softmax, RmsNorm, GeLU and friends.

use super::known::is_small_int;
use super::lower::Lowerer;
use super::values::{Known, Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::math::PowConst;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, RmsNorm, Softmax, SoftmaxKind};

/// Interval of `a op b` for `+`, `-` or `*`.
fn range_of(op: char, a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let ((al, ah), (bl, bh)) = (a?, b?);
    Some(match op {
        '+' => (al + bl, ah + bh),
        '-' => (al - bh, ah - bl),
        _ => {
            let c = [al * bl, al * bh, ah * bl, ah * bh];
            let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        }
    })
}

/// Interval of the elements of a known array.
/// The bounds of a known tensor's values, for public ones only: an owner tensor's bounds
/// would put facts about the weights into the plan.
fn range_known(k: &Known, a: &ArrayD<f64>) -> Option<(f64, f64)> {
    if k.owner {
        return None;
    }
    let lo = a.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

impl Lowerer<'_> {
    /// A binary operator of tract (`TypedBinOp`), by its mini-op name.
    pub fn binop(&mut self, node: &TypedNode, name: &str) -> Result<Val, CompileError> {
        let (a, b) = (self.input(node, 0)?, self.input(node, 1)?);
        match name {
            "Add" => self.add_sub(node, &a, &b, false),
            "Sub" => self.add_sub(node, &a, &b, true),
            "SubF" => self.add_sub(node, &b, &a, true),
            "Mul" => self.mul(node, &a, &b),
            "Div" => self.div(node, &a, &b),
            "Pow" => match &b {
                Val::Known(k) if k.t.len() == 1 => {
                    let e = self
                        .known_f64(node, k)?
                        .iter()
                        .copied()
                        .next()
                        .unwrap_or(1.0);
                    let x = self.sec(node, &a)?;
                    self.pow(node, x, e as f32).map(Val::Sec)
                }
                _ => Err(self.unsupported(node, "Pow needs a constant scalar exponent")),
            },
            "Eq" | "NE" | "LT" | "GT" | "LTE" | "GTE" => self.compare(node, name, &a, &b),
            "And" | "Or" => self.and_or(node, name == "And", &a, &b),
            other => Err(self.unsupported(
                node,
                format!("binary '{other}' on run-time data has no lowering"),
            )),
        }
    }

    /// `a + b` or `a - b`; scales aligned with a shift, known operands at the other's scale.
    pub fn add_sub(
        &mut self,
        node: &TypedNode,
        a: &Val,
        b: &Val,
        sub: bool,
    ) -> Result<Val, CompileError> {
        let (op, c) = if sub { (Op::Sub, '-') } else { (Op::Add, '+') };
        let (x, y, range) = match (a, b) {
            (Val::Known(ka), Val::Known(kb)) => {
                let f = if sub {
                    |x: f64, y: f64| x - y
                } else {
                    |x: f64, y: f64| x + y
                };
                return self.known_binary(node, ka, kb, f);
            }
            (Val::Known(k), other) | (other, Val::Known(k)) => {
                let s = self.sec(node, other)?;
                let arr = self.known_f64(node, k)?;
                let fits = self.bcast(node, &self.shape(s.id), arr.shape())? == self.shape(s.id);
                let keeps_sign = !sub || matches!(b, Val::Known(_));
                // Adding a public zero is dropped; an owner's zeros compile like any values.
                if fits && keeps_sign && !k.owner && arr.iter().all(|&v| v == 0.0) {
                    return Ok(Val::Sec(s));
                }
                let kv = self.materialize(k, &arr, "", self.scale(s.id));
                let kr = range_known(k, &arr);
                if matches!(a, Val::Known(_)) {
                    (kv, s.id, range_of(c, kr, s.range))
                } else {
                    (s.id, kv, range_of(c, s.range, kr))
                }
            }
            _ => {
                let (sa, sb) = (self.sec(node, a)?, self.sec(node, b)?);
                let s = self.scale(sa.id).max(self.scale(sb.id));
                let x = self.rescale(sa.id, s, &node.name);
                let y = self.rescale(sb.id, s, &node.name);
                (x, y, range_of(c, sa.range, sb.range))
            }
        };
        self.bcast(node, &self.shape(x), &self.shape(y))?;
        let id = self.emit(op, &[x, y], &node.name);
        Ok(Val::Sec(self.ranged(id, range)))
    }

    /// Two known tensors combined at compile time (broadcasting); owner data stays owner's.
    pub fn known_binary(
        &mut self,
        node: &TypedNode,
        ka: &Known,
        kb: &Known,
        f: impl Fn(f64, f64) -> f64,
    ) -> Result<Val, CompileError> {
        let (a, b) = (self.known_f64(node, ka)?, self.known_f64(node, kb)?);
        let shape = self.bcast(node, a.shape(), b.shape())?;
        let (va, vb) = match (a.broadcast(IxDyn(&shape)), b.broadcast(IxDyn(&shape))) {
            (Some(va), Some(vb)) => (va, vb),
            _ => return Err(self.unsupported(node, "constant shapes do not broadcast")),
        };
        let out = ndarray::Zip::from(&va)
            .and(&vb)
            .map_collect(|&x, &y| f(x, y));
        self.tmp += 1;
        Ok(Val::Known(Known {
            t: std::sync::Arc::new(super::known::from_f64(&out)),
            owner: ka.owner || kb.owner,
            name: format!("{}#{}", node.name, self.tmp),
        }))
    }

    /// `a * b` with the truncation that brings the product back to the larger scale.
    pub fn mul(&mut self, node: &TypedNode, a: &Val, b: &Val) -> Result<Val, CompileError> {
        match (a, b) {
            (Val::Known(ka), Val::Known(kb)) => self.known_binary(node, ka, kb, |x, y| x * y),
            (Val::Known(k), other) | (other, Val::Known(k)) => {
                let x = self.sec(node, other)?;
                let arr = self.known_f64(node, k)?;
                self.mul_known(node, x, k, &arr, "").map(Val::Sec)
            }
            _ => {
                let (x, y) = (self.sec(node, a)?, self.sec(node, b)?);
                self.mul_sec(node, x, y).map(Val::Sec)
            }
        }
    }

    /// Secret times secret: a select when one side holds bits at scale 0, else mul + trunc.
    pub fn mul_sec(&mut self, node: &TypedNode, x: Sec, y: Sec) -> Result<Sec, CompileError> {
        self.bcast(node, &self.shape(x.id), &self.shape(y.id))?;
        let range = range_of('*', x.range, y.range);
        let is_bits = |l: &Self, s: &Sec| {
            l.scale(s.id) == 0 && matches!(s.range, Some((lo, hi)) if lo >= 0.0 && hi <= 1.0)
        };
        let (sx, sy) = (self.scale(x.id), self.scale(y.id));
        let id = if is_bits(self, &y) || is_bits(self, &x) {
            let (v, bits) = if is_bits(self, &y) {
                (x.id, y.id)
            } else {
                (y.id, x.id)
            };
            self.emit(Op::Select, &[v, bits], &node.name)
        } else {
            let m = self.emit(Op::Mul, &[x.id, y.id], &node.name);
            self.rescale(m, sx.max(sy), &node.name)
        };
        Ok(self.ranged(id, range))
    }

    /// Secret times a known tensor (or a compile-time transform of one, named by `variant`).
    /// Public small integers go in at scale 0 and need no truncation.
    pub fn mul_known(
        &mut self,
        node: &TypedNode,
        x: Sec,
        k: &Known,
        arr: &ArrayD<f64>,
        variant: &str,
    ) -> Result<Sec, CompileError> {
        let shape = self.bcast(node, &self.shape(x.id), arr.shape())?;
        let sx = self.scale(x.id);
        let range = range_of('*', x.range, range_known(k, arr));
        // A public factor of ones is dropped; an owner's ones compile like any values.
        if !k.owner && arr.iter().all(|&v| v == 1.0) && shape == self.shape(x.id) {
            return Ok(x);
        }
        let id = if !k.owner && is_small_int(arr) {
            let c = self.materialize(k, arr, variant, 0);
            self.emit(Op::Mul, &[x.id, c], &node.name)
        } else {
            let c = self.materialize(k, arr, variant, self.f);
            let m = self.emit(Op::Mul, &[x.id, c], &node.name);
            self.rescale(m, sx.max(self.f), &node.name)
        };
        Ok(self.ranged(id, range))
    }

    /// The numpy broadcast of two operand shapes.
    pub fn bcast(
        &self,
        node: &TypedNode,
        a: &[usize],
        b: &[usize],
    ) -> Result<Vec<usize>, CompileError> {
        mpcc_ir::broadcast_shapes(a, b).ok_or_else(|| {
            self.unsupported(node, format!("shapes {a:?} and {b:?} do not broadcast"))
        })
    }

    /// `a / b`: a known divisor becomes a product with its reciprocal; a run-time divisor
    /// gives the high-level `div` on scale-f operands broadcast to the output shape.
    fn div(&mut self, node: &TypedNode, a: &Val, b: &Val) -> Result<Val, CompileError> {
        if let Val::Known(k) = b {
            let x = self.sec(node, a)?;
            let arr = self.known_f64(node, k)?.mapv(|v| 1.0 / v);
            if arr.iter().any(|v| !v.is_finite()) {
                return Err(self.unsupported(node, "division by a constant zero"));
            }
            return self.mul_known(node, x, k, &arr, ".recip").map(Val::Sec);
        }
        let shape = self.out_shape(node)?;
        let x = self.sec(node, a)?.id;
        let y = self.sec(node, b)?.id;
        let x = self.at_f_shaped(x, &shape, &node.name);
        let y = self.at_f_shaped(y, &shape, &node.name);
        let id = self.emit(Op::Div, &[x, y], &node.name);
        Ok(Val::Sec(Sec::plain(id)))
    }

    /// `v` at scale f and broadcast to `shape`.
    pub fn at_f_shaped(&mut self, v: ValueId, shape: &[usize], origin: &str) -> ValueId {
        let v = self.rescale(v, self.f, origin);
        if self.shape(v) == shape {
            return v;
        }
        self.emit_to(Op::Broadcast, &[v], shape, origin)
    }

    /// A high-level unary op on a scale-f operand.
    pub fn unary_op(&mut self, node: &TypedNode, op: Op, x: ValueId) -> ValueId {
        let x = self.rescale(x, self.f, &node.name);
        self.emit(op, &[x], &node.name)
    }

    /// tract's elementwise unary operators.
    pub fn unary(&mut self, node: &TypedNode, op: &ElementWiseOp) -> Result<Val, CompileError> {
        let a = self.input(node, 0)?;
        let name = op.0.name();
        let hl = match name.as_str() {
            "GeluExact" => Some(Op::Gelu),
            "Tanh" => Some(Op::Tanh),
            "Erf" => Some(Op::Erf),
            "Sigmoid" => Some(Op::Sigmoid),
            "Silu" => Some(Op::Silu),
            "Exp" => Some(Op::Exp),
            "Sqrt" => Some(Op::Sqrt),
            _ => None,
        };
        if let Some(hl) = hl {
            let x = self.sec(node, &a)?;
            return Ok(Val::Sec(Sec::plain(self.unary_op(node, hl, x.id))));
        }
        match name.as_str() {
            "Neg" => {
                let x = self.sec(node, &a)?;
                let id = self.emit(Op::Neg, &[x.id], &node.name);
                let range = x.range.map(|(lo, hi)| (-hi, -lo));
                Ok(Val::Sec(self.ranged(id, range)))
            }
            "Square" => {
                let x = self.sec(node, &a)?;
                self.pow(node, x, 2.0).map(Val::Sec)
            }
            "Recip" => {
                let x = self.sec(node, &a)?;
                self.pow(node, x, -1.0).map(Val::Sec)
            }
            "Rsqrt" => {
                let x = self.sec(node, &a)?;
                self.pow(node, x, -0.5).map(Val::Sec)
            }
            "PowConst" => {
                let e = op.0.downcast_ref::<PowConst>().map(|p| p.exponent);
                let e = e.ok_or_else(|| self.unsupported(node, "PowConst without exponent"))?;
                let x = self.sec(node, &a)?;
                self.pow(node, x, e).map(Val::Sec)
            }
            "Not" => self.not(node, &a),
            "IsNan" => self.is_nan(node),
            other => Err(self.unsupported(
                node,
                format!("elementwise '{other}' on run-time data has no lowering"),
            )),
        }
    }

    /// `x^e` for the exponents transformers use: small integers by products, 1/2 by
    /// `sqrt`, negative ones through `div`.
    fn pow(&mut self, node: &TypedNode, x: Sec, e: f32) -> Result<Sec, CompileError> {
        let shape = self.shape(x.id);
        let one = |l: &mut Self| {
            let a = ArrayD::from_elem(ndarray::IxDyn(&[1]), 1.0);
            l.constant(&a, l.f, &node.name)
        };
        if e < 0.0 {
            let d = self.pow(node, x, -e)?;
            let d = self.at_f_shaped(d.id, &shape, &node.name);
            let o = one(self);
            let o = self.at_f_shaped(o, &shape, &node.name);
            return Ok(Sec::plain(self.emit(Op::Div, &[o, d], &node.name)));
        }
        if e == 0.5 {
            return Ok(Sec::plain(self.unary_op(node, Op::Sqrt, x.id)));
        }
        if e.fract() != 0.0 || e > 16.0 {
            return Err(self.unsupported(
                node,
                format!("power {e} has no lowering (integers up to 16, ±1/2, negatives of those)"),
            ));
        }
        let n = e as u32;
        if n == 0 {
            let o = one(self);
            return Ok(Sec::plain(self.at_f_shaped(o, &shape, &node.name)));
        }
        let mut acc: Option<Sec> = None;
        let mut base = x;
        let mut k = n;
        while k > 0 {
            if k & 1 == 1 {
                acc = Some(match acc {
                    None => base.clone(),
                    Some(a) => self.mul_sec(node, a, base.clone())?,
                });
            }
            k >>= 1;
            if k > 0 {
                base = self.mul_sec(node, base.clone(), base)?;
            }
        }
        Ok(acc.unwrap_or(base))
    }

    /// `Reduce<Sum|Mean|Max|MeanOfSquares>`.
    pub fn reduce(&mut self, node: &TypedNode, op: &Reduce) -> Result<Val, CompileError> {
        let a = self.input(node, 0)?;
        let x = self.sec(node, &a)?;
        let axes: Vec<usize> = op.axes.to_vec();
        let n: usize = axes.iter().map(|&i| self.shape(x.id)[i]).product();
        let sum = |l: &mut Self, v: ValueId| {
            l.emit(Op::ReduceSum { axes: axes.clone() }, &[v], &node.name)
        };
        let scale_by = |l: &mut Self, v: ValueId, c: f64| {
            let a = ArrayD::from_elem(ndarray::IxDyn(&[1]), c);
            let k = Known {
                t: std::sync::Arc::new(super::known::from_f64(&a)),
                owner: false,
                name: format!("{}.1/n", node.name),
            };
            l.mul_known(node, Sec::plain(v), &k, &a, "")
        };
        let id = match op.reducer {
            Reducer::Sum => sum(self, x.id),
            Reducer::MeanOfSquares => {
                let sq = self.mul_sec(node, x.clone(), x)?;
                let s = sum(self, sq.id);
                scale_by(self, s, 1.0 / n as f64)?.id
            }
            Reducer::Max => {
                let mut v = x.id;
                for &axis in &axes {
                    v = self.emit(Op::MaxAxis { axis }, &[v], &node.name);
                }
                v
            }
            _ => {
                return Err(
                    self.unsupported(node, format!("reducer {:?} has no lowering", op.reducer))
                )
            }
        };
        Ok(Val::Sec(Sec::plain(id)))
    }

    /// Softmax along one axis.
    pub fn softmax(&mut self, node: &TypedNode, op: &Softmax) -> Result<Val, CompileError> {
        if op.axes.len() != 1
            || op.quant_output_dt.is_some()
            || !matches!(op.kind, SoftmaxKind::Softmax)
        {
            return Err(self.unsupported(node, "only float Softmax over one axis is supported"));
        }
        let a = self.input(node, 0)?;
        let x = self.sec(node, &a)?;
        let id = self.unary_op(node, Op::Softmax { axis: op.axes[0] }, x.id);
        Ok(Val::Sec(Sec::plain(id)))
    }

    /// tract's RmsNorm (LayerNorm after centering).
    pub fn rms_norm(&mut self, node: &TypedNode, op: &RmsNorm) -> Result<Val, CompileError> {
        let eps = super::known::to_f64(&op.eps)
            .ok()
            .and_then(|a| a.iter().copied().next())
            .ok_or_else(|| self.unsupported(node, "RmsNorm epsilon is not a number"))?;
        let a = self.input(node, 0)?;
        let x = self.sec(node, &a)?;
        let id = self.unary_op(node, Op::RmsNorm { axis: op.axis, eps }, x.id);
        Ok(Val::Sec(Sec::plain(id)))
    }
}
