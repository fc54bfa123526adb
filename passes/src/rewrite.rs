//! The rewriting machinery shared by the passes: [`rebuild`] copies a graph node by node into
//! a fresh one (remapping value ids, so the node list stays in topological order), letting a
//! pass keep, replace or drop each node; [`Emitter`] appends typed nodes for a replacement,
//! each with the origin of the node it replaces.

use crate::PassError;
use mpcc_ir::{typing, Graph, Node, NodeFacts, Op, Ring, ValueId, ValueType};

/// What a pass does with one node of the old graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Copy the node as it is (with remapped operands).
    Keep,
    /// Use this value of the new graph instead; its type must equal the node's.
    Replace(ValueId),
    /// Emit nothing; no later node may use the value.
    Drop,
}

/// Appends nodes to the graph under construction on behalf of one old node.
pub struct Emitter<'a> {
    graph: &'a mut Graph,
    map: &'a [Option<ValueId>],
    origin: &'a str,
    facts: Option<&'a NodeFacts>,
    op: &'static str,
    args: Vec<ValueId>,
}

impl Emitter<'_> {
    /// The old node's `i`-th operand, in the new graph.
    pub fn arg(&self, i: usize) -> ValueId {
        self.args[i]
    }

    /// Where an old value went in the new graph (`None` if it was dropped).
    pub fn mapped(&self, old: ValueId) -> Option<ValueId> {
        self.map.get(old.index()).copied().flatten()
    }

    /// The type of a value of the new graph.
    pub fn ty(&self, v: ValueId) -> &ValueType {
        self.graph.ty(v)
    }

    /// An error about the node being rewritten.
    pub fn unsupported(&self, message: String) -> PassError {
        PassError::Unsupported {
            op: self.op,
            origin: self.origin.to_string(),
            message,
        }
    }

    /// Appends `op` with an explicit output type; the node inherits the origin facts of the
    /// node being rewritten.
    pub fn emit(&mut self, op: Op, inputs: &[ValueId], ty: ValueType) -> ValueId {
        let v = self.graph.add(op, inputs, ty, self.origin);
        if let Some(f) = self.facts {
            self.graph.facts.node.insert(v, f.clone());
        }
        v
    }

    /// Records that every element of `v` lies in `[lo, hi]` whatever the inputs (a bound
    /// the lowering proves, such as a normalised value's), in the graph's side table;
    /// intersected with a range known before.
    pub fn bound(&mut self, v: ValueId, lo: f64, hi: f64) {
        let r = self
            .graph
            .facts
            .range
            .entry(v)
            .or_insert(mpcc_ir::Range { lo, hi });
        *r = mpcc_ir::Range {
            lo: r.lo.max(lo),
            hi: r.hi.min(hi),
        };
    }

    /// Appends a non-source `op` whose output type follows from the IR's typing rule
    /// ([`typing::output_type`]); `shape` is needed by `reshape` and `broadcast` only.
    pub fn typed(
        &mut self,
        op: Op,
        inputs: &[ValueId],
        shape: Option<&[usize]>,
    ) -> Result<ValueId, PassError> {
        let tys: Vec<&ValueType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let ty = typing::output_type(&op, &tys, shape)
            .map_err(|e| self.unsupported(format!("{}: {e}", op.name())))?;
        Ok(self.emit(op, inputs, ty))
    }

    /// Appends a unary op whose output has the operand's type (kernels keep the scale).
    pub fn same(&mut self, op: Op, x: ValueId) -> ValueId {
        let ty = self.ty(x).clone();
        self.emit(op, &[x], ty)
    }

    /// A public constant of `shape` at `scale` in `ring`.
    pub fn konst(
        &mut self,
        values: Vec<f64>,
        shape: Vec<usize>,
        scale: u32,
        ring: Ring,
    ) -> ValueId {
        let ty = ValueType {
            shape,
            ring,
            scale,
            vis: mpcc_ir::Vis::Public,
        };
        self.emit(Op::Const { values }, &[], ty)
    }

    /// A public scalar (shape `[]`, which broadcasts against anything) at `x`'s scale and ring.
    pub fn scalar_like(&mut self, value: f64, x: ValueId) -> ValueId {
        let (scale, ring) = (self.ty(x).scale, self.ty(x).ring);
        self.konst(vec![value], vec![], scale, ring)
    }

    /// `add`, `sub`, `mul` or `select` with numpy broadcasting and the IR's typing rule.
    pub fn binary(&mut self, op: Op, a: ValueId, b: ValueId) -> Result<ValueId, PassError> {
        self.typed(op, &[a, b], None)
    }

    /// `trunc` by `bits` (nothing for 0 bits).
    pub fn trunc(&mut self, x: ValueId, bits: u32) -> ValueId {
        if bits == 0 {
            return x;
        }
        let mut ty = self.ty(x).clone();
        ty.scale -= bits;
        self.emit(Op::Trunc { bits }, &[x], ty)
    }

    /// `a * b` truncated back to `a`'s scale (by `b`'s scale).
    pub fn mul_trunc(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, PassError> {
        let bits = self.ty(b).scale;
        let p = self.binary(Op::Mul, a, b)?;
        Ok(self.trunc(p, bits))
    }

    /// Brings `x` to `scale` by a truncation or a left shift.
    pub fn rescale(&mut self, x: ValueId, scale: u32) -> ValueId {
        let have = self.ty(x).scale;
        if scale >= have {
            if scale == have {
                return x;
            }
            let mut ty = self.ty(x).clone();
            ty.scale = scale;
            return self.emit(Op::Shl { bits: scale - have }, &[x], ty);
        }
        self.trunc(x, have - scale)
    }

    /// `reduce_sum` or `max_axis` over one axis, kept as size 1.
    pub fn reduce(&mut self, op: Op, x: ValueId, axis: usize) -> ValueId {
        let mut ty = self.ty(x).clone();
        ty.shape[axis] = 1;
        self.emit(op, &[x], ty)
    }

    /// `ge` bits `[x >= t]`, shape `[thresholds.len(), ..x]` at scale 0.
    pub fn ge(&mut self, x: ValueId, thresholds: Vec<f64>) -> ValueId {
        let mut ty = self.ty(x).clone();
        ty.shape.insert(0, thresholds.len());
        ty.scale = 0;
        self.emit(Op::Ge { thresholds }, &[x], ty)
    }

    /// `reshape` to `shape`.
    pub fn reshape(&mut self, x: ValueId, shape: Vec<usize>) -> ValueId {
        let mut ty = self.ty(x).clone();
        ty.shape = shape;
        self.emit(Op::Reshape, &[x], ty)
    }

    /// Checks that `axis` is an axis of `x`; returns its length.
    pub fn axis_len(&self, x: ValueId, axis: usize) -> Result<usize, PassError> {
        let shape = &self.ty(x).shape;
        shape
            .get(axis)
            .copied()
            .ok_or_else(|| self.unsupported(format!("axis {axis} out of range for {shape:?}")))
    }
}

/// Rebuilds `graph` node by node; `f` decides what to do with each node.
///
/// Operands are remapped to the new graph before `f` sees the node (through
/// [`Emitter::arg`]). A replacement must have exactly the type of the value it replaces.
/// A node with a dropped operand is dropped without calling `f`; a later use of it is an
/// error, and so is an `output` that loses its operand.
pub fn rebuild(
    graph: &Graph,
    mut f: impl FnMut(&mut Emitter<'_>, &Node) -> Result<Rewrite, PassError>,
) -> Result<Graph, PassError> {
    let mut new = Graph::new(graph.frac_bits);
    let old_range = |v: ValueId| graph.facts.range.get(&v).copied();
    let mut map: Vec<Option<ValueId>> = vec![None; graph.values.len()];
    for node in &graph.nodes {
        let bug = |message: String| PassError::Rewrite {
            op: node.op.name(),
            origin: node.origin.clone(),
            message,
        };
        let Some(args) = node.inputs.iter().map(|v| map[v.index()]).collect() else {
            // A node that uses a dropped value is dead too; an output must not be.
            if matches!(node.op, Op::Output { .. }) {
                return Err(bug("an operand of the output was dropped".into()));
            }
            continue;
        };
        let mut e = Emitter {
            graph: &mut new,
            map: &map,
            origin: &node.origin,
            facts: graph.node_facts(node.output),
            op: node.op.name(),
            args,
        };
        let out = match f(&mut e, node)? {
            Rewrite::Keep => {
                let args = std::mem::take(&mut e.args);
                let ty = graph.ty(node.output).clone();
                Some(e.emit(node.op.clone(), &args, ty))
            }
            Rewrite::Replace(v) => {
                let (got, want) = (new.ty(v), graph.ty(node.output));
                if got != want {
                    return Err(bug(format!("replacement has type {got}, expected {want}")));
                }
                Some(v)
            }
            Rewrite::Drop => None,
        };
        // The value keeps its known range, whichever node now defines it.
        if let (Some(v), Some(r)) = (out, old_range(node.output)) {
            new.facts.range.entry(v).or_insert(r);
        }
        map[node.output.index()] = out;
    }
    Ok(new)
}

/// How many nodes use each value as an operand.
pub fn use_counts(graph: &Graph) -> Vec<usize> {
    let mut uses = vec![0; graph.values.len()];
    for node in &graph.nodes {
        for v in &node.inputs {
            uses[v.index()] += 1;
        }
    }
    uses
}

/// The index of the node that defines each value.
pub fn definitions(graph: &Graph) -> Vec<Option<usize>> {
    let mut def = vec![None; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        def[node.output.index()] = Some(i);
    }
    def
}
