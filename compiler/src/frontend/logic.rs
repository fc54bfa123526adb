//! Booleans on run-time data: Cast, Not/And/Or, comparisons with a constant, IsNan and Iff
//! (`Where`), including the attention-mask pattern that replaces float32's lowest value by
//! a representable `-MASK_FILL`. A secret boolean is a 0/1 value at its type's scale.

use super::known::from_f64;
use super::lower::Lowerer;
use super::values::{Known, Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use ndarray::{ArrayD, IxDyn};
use std::sync::Arc;
use tract_onnx::prelude::*;

/// Magnitude that replaces constants beyond it (float32 min, ±inf) in `Iff` branches: far
/// below PUMA's softmax clip at -14 after max subtraction, far inside the Z_2^64 range.
pub const MASK_FILL: f64 = 10_000.0;

impl Lowerer<'_> {
    /// A public known tensor made by this node.
    pub fn public_known(&self, node: &TypedNode, a: &ArrayD<f64>, tag: &str) -> Known {
        Known {
            t: Arc::new(from_f64(a)),
            owner: false,
            name: format!("{}{tag}", node.name),
        }
    }

    /// `Cast`: value-preserving on fixed point; to Bool it keeps a 0/1 operand as it is.
    pub fn cast(&mut self, node: &TypedNode, to: DatumType) -> Result<Val, CompileError> {
        let a = self.input(node, 0)?;
        if let Val::OneHot { .. } = a {
            if to.is_integer() {
                return Ok(a);
            }
        }
        let x = self.sec(node, &a)?;
        if to != DatumType::Bool {
            return Ok(Val::Sec(Sec { cast_of: None, ..x }));
        }
        match x.range {
            Some((lo, _)) if lo < 0.0 => {
                let ne = self.compare_const(node, "NE", &x, 0.0)?;
                Ok(Val::Sec(ne))
            }
            Some((_, hi)) if hi > 1.0 => {
                let gt = self.compare_const(node, "GTE", &x, 0.5)?;
                Ok(Val::Sec(gt))
            }
            _ => Ok(Val::Sec(Sec {
                cast_of: Some(node.inputs[0]),
                ..self.ranged(x.id, Some((0.0, 1.0)))
            })),
        }
    }

    /// `Not` of a boolean: `1 - x`.
    pub fn not(&mut self, node: &TypedNode, a: &Val) -> Result<Val, CompileError> {
        let one = ArrayD::from_elem(IxDyn(&[1]), 1.0);
        let k = Val::Known(self.public_known(node, &one, ".one"));
        let r = self.add_sub(node, &k, a, true)?;
        Ok(match r {
            Val::Sec(s) => Val::Sec(Sec {
                cast_of: s.cast_of,
                ..self.ranged(s.id, Some((0.0, 1.0)))
            }),
            other => other,
        })
    }

    /// `And` as a product, `Or` as `a + b - ab`.
    pub fn and_or(
        &mut self,
        node: &TypedNode,
        and: bool,
        a: &Val,
        b: &Val,
    ) -> Result<Val, CompileError> {
        let ab = self.mul(node, a, b)?;
        if and {
            return Ok(ab);
        }
        let s = self.add_sub(node, a, b, false)?;
        self.add_sub(node, &s, &ab, true)
    }

    /// `IsNan`: fixed-point values are never NaN, so a public all-false tensor.
    pub fn is_nan(&mut self, node: &TypedNode) -> Result<Val, CompileError> {
        let shape = self.out_shape(node)?;
        let a = ArrayD::zeros(IxDyn(&shape));
        Ok(Val::Known(self.public_known(node, &a, "")))
    }

    /// Comparisons of a run-time value with a known scalar.
    pub fn compare(
        &mut self,
        node: &TypedNode,
        name: &str,
        a: &Val,
        b: &Val,
    ) -> Result<Val, CompileError> {
        let (x, k, name) = match (a, b) {
            (x, Val::Known(k)) => (x, k, name.to_string()),
            (Val::Known(k), x) => {
                let flipped = match name {
                    "LT" => "GT",
                    "GT" => "LT",
                    "LTE" => "GTE",
                    "GTE" => "LTE",
                    other => other,
                };
                (x, k, flipped.to_string())
            }
            _ => {
                return Err(self.unsupported(node, "comparing two run-time values is not supported"))
            }
        };
        let arr = self.known_f64(node, k)?;
        let t = match arr.iter().copied().collect::<Vec<_>>()[..] {
            [t] => t,
            _ => return Err(self.unsupported(node, "comparison with a non-scalar constant")),
        };
        if let (Val::OneHot { id, depth }, "Eq") = (x, name.as_str()) {
            return self.one_hot_eq(node, *id, *depth, t);
        }
        let x = self.sec(node, x)?;
        Ok(Val::Sec(self.compare_const(node, &name, &x, t)?))
    }

    /// `x == t` on one-hot ids: column t of the one-hot rows (free).
    fn one_hot_eq(
        &mut self,
        node: &TypedNode,
        id: ValueId,
        depth: usize,
        t: f64,
    ) -> Result<Val, CompileError> {
        let shape = self.out_shape(node)?;
        if t.fract() != 0.0 || t < 0.0 || t >= depth as f64 {
            return Ok(Val::Known(self.public_known(
                node,
                &ArrayD::zeros(IxDyn(&shape)),
                "",
            )));
        }
        let axis = self.shape(id).len() - 1;
        let op = Op::Slice {
            axis,
            start: t as usize,
            end: t as usize + 1,
            step: 1,
        };
        let col = self.emit(op, &[id], &node.name);
        let col = self.reshape(col, &shape, &node.name);
        Ok(Val::Sec(self.ranged(col, Some((0.0, 1.0)))))
    }

    /// Bits `[x >= t]` for each threshold, each reshaped to x's shape (scale 0).
    fn ge_bits(&mut self, node: &TypedNode, x: ValueId, ts: &[f64]) -> Vec<ValueId> {
        let xs = self.shape(x);
        let mut shape = vec![ts.len()];
        shape.extend(&xs);
        let op = Op::Ge {
            thresholds: ts.to_vec(),
        };
        let all = self.emit(op, &[x], &node.name);
        (0..ts.len())
            .map(|i| {
                let mut sh = shape.clone();
                sh[0] = 1;
                let op = Op::Slice {
                    axis: 0,
                    start: i,
                    end: i + 1,
                    step: 1,
                };
                let one = self.emit(op, &[all], &node.name);
                self.reshape(one, &xs, &node.name)
            })
            .collect()
    }

    /// `x <op> t` as bits at scale 0; equality assumes integer-valued x.
    pub fn compare_const(
        &mut self,
        node: &TypedNode,
        name: &str,
        x: &Sec,
        t: f64,
    ) -> Result<Sec, CompileError> {
        let eps = 1.0 / (1u64 << self.scale(x.id)) as f64;
        let (ts, combine): (Vec<f64>, &str) = match name {
            "GTE" => (vec![t], "b0"),
            "GT" => (vec![t + eps], "b0"),
            "LT" => (vec![t], "1-b0"),
            "LTE" => (vec![t + eps], "1-b0"),
            "Eq" => (vec![t - 0.5, t + 0.5], "b0-b1"),
            "NE" => (vec![t - 0.5, t + 0.5], "1-b0+b1"),
            other => return Err(self.unsupported(node, format!("comparison {other}"))),
        };
        let bits = self.ge_bits(node, x.id, &ts);
        let one = self.constant(&ArrayD::from_elem(IxDyn(&[1]), 1.0), 0, &node.name);
        let v = match combine {
            "b0" => bits[0],
            "1-b0" => self.emit(Op::Sub, &[one, bits[0]], &node.name),
            "b0-b1" => self.emit(Op::Sub, &[bits[0], bits[1]], &node.name),
            _ => {
                let d = self.emit(Op::Sub, &[one, bits[0]], &node.name);
                self.emit(Op::Add, &[d, bits[1]], &node.name)
            }
        };
        let out = self.out_shape(node)?;
        let v = if self.shape(v) == out {
            v
        } else {
            self.emit_to(Op::Broadcast, &[v], &out, &node.name)
        };
        Ok(self.ranged(v, Some((0.0, 1.0))))
    }

    /// A known Iff branch with values beyond ±MASK_FILL clamped to it.
    fn clamp_branch(&mut self, node: &TypedNode, v: Val, tag: &str) -> Result<Val, CompileError> {
        let Val::Known(k) = &v else { return Ok(v) };
        let a = self.known_f64(node, k)?;
        // An owner's branch is clamped whatever its values, so the plan does not tell.
        if !k.owner && a.iter().all(|x| x.abs() <= MASK_FILL) {
            return Ok(v);
        }
        let c = a.mapv(|x| x.clamp(-MASK_FILL, MASK_FILL));
        Ok(Val::Known(Known {
            t: Arc::new(from_f64(&c)),
            owner: k.owner,
            name: format!("{}{tag}", k.name),
        }))
    }

    /// `Iff(cond, a, b)` (ONNX `Where`) as arithmetic: `b + cond * (a - b)`, or `a * m` for
    /// the attention-mask pattern `Where(bool(m), big_negative, m)`.
    pub fn iff(&mut self, node: &TypedNode) -> Result<Val, CompileError> {
        let cond = self.input(node, 0)?;
        let a = self.input(node, 1)?;
        let b = self.input(node, 2)?;
        let a = self.clamp_branch(node, a, ".clamped")?;
        let b = self.clamp_branch(node, b, ".clamped")?;
        let shape = self.out_shape(node)?;
        if let Val::Known(kc) = &cond {
            let owner = kc.owner;
            let c = self.known_f64(node, kc)?;
            if !owner && c.iter().all(|&v| v != 0.0) {
                return self.fit_any(node, a, &shape);
            }
            if !owner && c.iter().all(|&v| v == 0.0) {
                return self.fit_any(node, b, &shape);
            }
            let not_c = c.mapv(|v| 1.0 - v);
            let known = |l: &Self, a: &ArrayD<f64>, tag: &str| Known {
                owner,
                ..l.public_known(node, a, tag)
            };
            let kc = Val::Known(known(self, &c, ".cond"));
            let knc = Val::Known(known(self, &not_c, ".not_cond"));
            let ta = self.mul(node, &a, &kc)?;
            let tb = self.mul(node, &b, &knc)?;
            let r = self.add_sub(node, &ta, &tb, false)?;
            return self.fit(node, r, &shape);
        }
        let c = self.sec(node, &cond)?;
        if let (Some(src), Val::Known(k)) = (c.cast_of, &a) {
            if node.inputs[2] == src && k.t.len() == 1 {
                let r = self.mul(node, &a, &b)?;
                return self.fit(node, r, &shape);
            }
        }
        let d = self.add_sub(node, &a, &b, true)?;
        let cd = self.mul(node, &Val::Sec(c), &d)?;
        let r = self.add_sub(node, &b, &cd, false)?;
        self.fit(node, r, &shape)
    }

    /// A branch taken whole: a run-time value broadcast to `shape`, or a known one.
    fn fit_any(&mut self, node: &TypedNode, v: Val, shape: &[usize]) -> Result<Val, CompileError> {
        match v {
            Val::Known(_) => Ok(v),
            other => {
                let s = self.sec(node, &other)?;
                self.fit(node, Val::Sec(s), shape)
            }
        }
    }

    /// Broadcasts a run-time result to `shape` when the arithmetic left it smaller.
    fn fit(&mut self, node: &TypedNode, v: Val, shape: &[usize]) -> Result<Val, CompileError> {
        match v {
            Val::Sec(s) if self.shape(s.id) != shape => {
                let id = self.emit_to(Op::Broadcast, &[s.id], shape, &node.name);
                Ok(Val::Sec(Sec {
                    cast_of: s.cast_of,
                    ..self.ranged(id, s.range)
                }))
            }
            other => Ok(other),
        }
    }
}
