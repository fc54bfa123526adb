//! tract's `EinSum` (MatMul and Gemm after decluttering) as transposes, reshapes and one
//! batched `matmul`. A known operand is rearranged at compile time, so a weight reaches the
//! graph already in `[K, N]` layout.

use super::known::is_small_int;
use super::lower::Lowerer;
use super::values::{Known, Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use ndarray::{ArrayD, Axis, IxDyn};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

/// The roles of the axis labels of a two-operand einsum.
struct Roles {
    batch: Vec<char>,
    m: Vec<char>,
    n: Vec<char>,
    k: Vec<char>,
    /// Labels only the output has (size 1).
    only_out: Vec<char>,
}

impl Roles {
    fn new(a: &[char], b: &[char], out: &[char]) -> Roles {
        let pick = |from: &[char], f: &dyn Fn(char) -> bool| -> Vec<char> {
            from.iter().copied().filter(|&c| f(c)).collect()
        };
        Roles {
            batch: pick(out, &|c| a.contains(&c) && b.contains(&c)),
            m: pick(out, &|c| a.contains(&c) && !b.contains(&c)),
            n: pick(out, &|c| b.contains(&c) && !a.contains(&c)),
            k: pick(a, &|c| b.contains(&c) && !out.contains(&c)),
            only_out: pick(out, &|c| !a.contains(&c) && !b.contains(&c)),
        }
    }
}

/// One operand on its way to `[batch.., rows, cols]`.
enum Operand {
    Run(ValueId),
    /// A known tensor in a compile-time layout, and whether that layout is the tensor's own
    /// (decided from the rearrangement, never by comparing values).
    Known(Known, ArrayD<f64>, bool),
}

/// Size of label `c` in an operand with `labels` and `shape`.
fn size_of(labels: &[char], shape: &[usize], c: char) -> usize {
    labels
        .iter()
        .position(|&l| l == c)
        .map(|i| shape[i])
        .unwrap_or(1)
}

impl Lowerer<'_> {
    /// Lowers an `EinSum` with two operands.
    pub fn einsum(&mut self, node: &TypedNode, op: &EinSum) -> Result<Val, CompileError> {
        let (ins, outs) = op.axes.to_strs();
        if ins.len() != 2 || outs.len() != 1 || op.q_params.is_some() {
            return Err(self.unsupported(node, "only float einsums of two operands are supported"));
        }
        let la: Vec<char> = ins[0].chars().collect();
        let lb: Vec<char> = ins[1].chars().collect();
        let lo: Vec<char> = outs[0].chars().collect();
        for l in [&la, &lb, &lo] {
            if (1..l.len()).any(|i| l[..i].contains(&l[i])) {
                return Err(
                    self.unsupported(node, "repeated einsum labels (diagonals) are not supported")
                );
            }
        }
        let roles = Roles::new(&la, &lb, &lo);
        let a = self.operand(node, 0)?;
        let b = self.operand(node, 1)?;
        let (sa, sb) = (self.operand_shape(&a), self.operand_shape(&b));
        let rows_a: Vec<char> = roles.m.clone();
        let a = self.arrange(node, a, &la, &sa, &roles.batch, &rows_a, &roles.k)?;
        let b = self.arrange(node, b, &lb, &sb, &roles.batch, &roles.k, &roles.n)?;
        let (a, b) = self.place_pair(a, b);
        let id = self.matmul(node, a, b)?;
        let mut cur: Vec<char> = roles.batch.clone();
        cur.extend(&roles.m);
        cur.extend(&roles.n);
        cur.extend(&roles.only_out);
        let shape: Vec<usize> = cur
            .iter()
            .map(|&c| {
                if roles.batch.contains(&c) {
                    size_of(&la, &sa, c).max(size_of(&lb, &sb, c))
                } else if roles.n.contains(&c) {
                    size_of(&lb, &sb, c)
                } else {
                    size_of(&la, &sa, c)
                }
            })
            .collect();
        let id = self.reshape(id, &shape, &node.name);
        let perm: Vec<usize> = lo
            .iter()
            .map(|c| cur.iter().position(|x| x == c).unwrap_or(0))
            .collect();
        let id = self.transpose(id, &perm, &node.name);
        if self.shape(id) != self.out_shape(node)? {
            return Err(self.unsupported(node, "einsum lowering gave a wrong shape"));
        }
        Ok(Val::Sec(Sec::plain(id)))
    }

    fn operand(&mut self, node: &TypedNode, i: usize) -> Result<Operand, CompileError> {
        Ok(match self.input(node, i)? {
            Val::Known(k) => {
                let a = self.known_f64(node, &k)?;
                Operand::Known(k, a, true)
            }
            other => Operand::Run(self.sec(node, &other)?.id),
        })
    }

    fn operand_shape(&self, o: &Operand) -> Vec<usize> {
        match o {
            Operand::Run(v) => self.shape(*v),
            Operand::Known(_, a, _) => a.shape().to_vec(),
        }
    }

    /// Sums the operand's private labels, then lays it out as `[batch.., rows, cols]`.
    #[allow(clippy::too_many_arguments)]
    fn arrange(
        &mut self,
        node: &TypedNode,
        o: Operand,
        labels: &[char],
        shape: &[usize],
        batch: &[char],
        rows: &[char],
        cols: &[char],
    ) -> Result<Operand, CompileError> {
        let private: Vec<usize> = (0..labels.len())
            .filter(|&i| {
                let c = labels[i];
                !batch.contains(&c) && !rows.contains(&c) && !cols.contains(&c)
            })
            .collect();
        let mut order: Vec<char> = batch
            .iter()
            .copied()
            .filter(|c| labels.contains(c))
            .collect();
        let present_batch = order.clone();
        order.extend(rows);
        order.extend(cols);
        let perm: Vec<usize> = order
            .iter()
            .map(|c| labels.iter().position(|l| l == c).unwrap_or(0))
            .chain(private.iter().copied())
            .collect();
        let prod = |cs: &[char]| {
            cs.iter()
                .map(|&c| size_of(labels, shape, c))
                .product::<usize>()
        };
        let mut target: Vec<usize> = present_batch
            .iter()
            .map(|&c| size_of(labels, shape, c))
            .collect();
        if present_batch.len() < batch.len() {
            // A batch label this operand lacks cannot happen: batch labels are in both.
            return Err(self.unsupported(node, "einsum batch label missing from an operand"));
        }
        target.push(prod(rows));
        target.push(prod(cols));
        Ok(match o {
            Operand::Run(v) => {
                let v = if private.iter().any(|&i| shape[i] > 1) {
                    self.emit(
                        Op::ReduceSum {
                            axes: private.clone(),
                        },
                        &[v],
                        &node.name,
                    )
                } else {
                    v
                };
                let v = self.transpose(v, &perm, &node.name);
                Operand::Run(self.reshape(v, &target, &node.name))
            }
            Operand::Known(k, mut a, own) => {
                let own = own
                    && private.iter().all(|&i| shape[i] == 1)
                    && perm.iter().enumerate().all(|(i, &p)| i == p);
                for &i in &private {
                    a = a.sum_axis(Axis(i)).insert_axis(Axis(i));
                }
                let a = a.permuted_axes(IxDyn(&perm));
                let a = ArrayD::from_shape_vec(IxDyn(&target), a.iter().copied().collect())
                    .map_err(|e| self.unsupported(node, e.to_string()))?;
                Operand::Known(k, a, own)
            }
        })
    }

    /// Puts known operands into the graph (variant names keep each layout apart).
    fn place_pair(&mut self, a: Operand, b: Operand) -> (ValueId, ValueId) {
        (self.place(a), self.place(b))
    }

    fn place(&mut self, o: Operand) -> ValueId {
        match o {
            Operand::Run(v) => v,
            Operand::Known(k, a, own) => {
                let dims: Vec<String> = a.shape().iter().map(|d| d.to_string()).collect();
                let variant = format!("[{}]", dims.join("x"));
                let scale = if !k.owner && is_small_int(&a) {
                    0
                } else {
                    self.f
                };
                self.materialize_layout(&k, &a, &variant, scale, own)
            }
        }
    }

    /// Materializes a known tensor in a compile-time layout; the layout is part of the
    /// name unless it is the original one: `own` (the caller's rearrangement kept every
    /// element in place) and the same shape. Never decided by comparing values, which would
    /// make an owner tensor's name, and so the plan, depend on them.
    pub fn materialize_layout(
        &mut self,
        k: &Known,
        a: &ArrayD<f64>,
        variant: &str,
        scale: u32,
        own: bool,
    ) -> ValueId {
        let same = own && k.t.shape() == a.shape();
        self.materialize(k, a, if same { "" } else { variant }, scale)
    }

    /// Batched matmul with the truncation back to the larger operand scale.
    fn matmul(
        &mut self,
        node: &TypedNode,
        a: ValueId,
        b: ValueId,
    ) -> Result<ValueId, CompileError> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let batch = mpcc_ir::broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
            .ok_or_else(|| self.unsupported(node, "einsum batch dims do not broadcast"))?;
        let mut shape = batch;
        shape.push(sa[sa.len() - 2]);
        shape.push(sb[sb.len() - 1]);
        let (xa, xb) = (self.scale(a), self.scale(b));
        let m = self.emit(Op::MatMul, &[a, b], &node.name);
        Ok(self.rescale(m, xa.max(xb), &node.name))
    }
}
