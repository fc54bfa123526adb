//! The ring-exact plaintext simulation of a plan: every instruction computed on plaintext
//! ring elements exactly as its protocol computes the shared value, without shares, parties
//! or messages, so that a plan's fixed-point format can be checked without an MPC run.
//!
//! - **Same arithmetic.** Values are ring elements (Z_2^64 or Z_2^32, per value type) at
//!   their scales; sums, products and shifts wrap modulo 2^k; public operands go through
//!   the VM's own public paths; the approximation kernels run their protocols' steps
//!   ([`kernels`]): the same tables, constants, power trees and truncations.
//! - **Same rounding.** A secret truncation by d bits gives `floor(x/2^d)` or one more, as
//!   the VM's does; [`Rounding::Vm`] draws the choice with the VM's probabilities (its mask
//!   is uniform), [`Rounding::Floor`] always takes the lower. So a simulated output agrees
//!   with a VM run bit for bit where no secret truncation rounds, and otherwise differs by
//!   what those truncations' choices (one unit each) amount to downstream
//!   (`tests/sim.rs` checks each kernel, and bundled models, against the VM).
//! - **What it adds.** Every step checks the range its protocol needs ([`EventKind`]):
//!   results that leave the ring's signed range (the shares wrap with them), secret
//!   truncations of `|x| >= 2^(k-2)`, upcasts beyond 2^30, comparisons whose difference
//!   wraps, kernel inputs outside their valid range. Each instruction reports its events,
//!   its largest value and its bits; a [taint](taint) follows the elements those events
//!   reached (an exact zero factor stops it), so [`SimResult::origins`] names the
//!   instructions whose overflow reaches an output.
//!
//! **Architecture Invariant:** the simulation has no instruction semantics of its own: each
//! instruction's `sim` sits in the op table beside its `exec` and `cost` (`crate::ops`).

pub mod fixed;
pub mod kernels;
pub mod taint;

pub use fixed::{Event, EventKind, Rounding};

use crate::error::RtError;
use crate::kernels::matmul::{matmul_dims, matmul_operand};
use crate::ops::{op_flow, op_sim, SimArgs};
use crate::protocol::Host;
use crate::ring::{decode, encode, to_signed};
use crate::vm::{encode_input, HostTensor};
use fixed::{signed, Sim};
use mpcc_ir::{Graph, InputEncoding, Op, Ring, ValueType, Weights};
use std::collections::{BTreeMap, HashMap};
use taint::{Taint, CLEAN};

/// Options of a simulation.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimOptions {
    /// How secret truncations round.
    pub rounding: Rounding,
}

/// What the simulation saw at one instruction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstrReport {
    /// The largest magnitude of the output as a real (ring integer over 2^scale).
    pub max_abs: f64,
    /// Bits of the largest output ring integer's magnitude (headroom: k - 1 - bits).
    pub bits: u32,
    /// Out-of-range steps inside the instruction.
    pub events: Vec<Event>,
    /// Output elements that an out-of-range step reached (this one's or an earlier one's).
    pub tainted: usize,
}

/// The outcome of a simulation.
#[derive(Clone, Debug, Default)]
pub struct SimResult {
    /// Every output, decoded (as the parties an output names would learn it).
    pub outputs: BTreeMap<String, HostTensor>,
    /// One report per instruction.
    pub instrs: Vec<InstrReport>,
    /// Per output: the instructions whose out-of-range steps reach it, with how many of its
    /// elements each reaches first.
    pub output_taint: BTreeMap<String, BTreeMap<usize, usize>>,
}

impl SimResult {
    /// The first instruction with an out-of-range step, if any.
    pub fn first_event(&self) -> Option<usize> {
        self.instrs.iter().position(|r| !r.events.is_empty())
    }

    /// The instructions whose out-of-range steps reach some output, in order.
    pub fn origins(&self) -> Vec<usize> {
        let mut o: Vec<usize> = self
            .output_taint
            .values()
            .flat_map(|m| m.keys().copied())
            .collect();
        o.sort_unstable();
        o.dedup();
        o
    }

    /// A text summary: each instruction with events (at most `limit`), and what reaches the
    /// outputs.
    pub fn summary(&self, graph: &Graph, limit: usize) -> String {
        let mut s = String::new();
        let name = |i: usize| {
            let n = &graph.nodes[i];
            format!("#{i} {} from '{}'", n.op.name(), n.origin)
        };
        for (i, r) in self
            .instrs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.events.is_empty())
            .take(limit)
        {
            s += &format!("{}: max |value| {:.4e}\n", name(i), r.max_abs);
            for e in &r.events {
                s += &format!(
                    "    {:?} at {}: {} element(s), up to 2^{:.1} (|real| {:.4e})\n",
                    e.kind, e.step, e.count, e.bits, e.worst
                );
            }
        }
        for (out, origins) in &self.output_taint {
            for (o, n) in origins {
                s += &format!("output '{out}': {n} element(s) reached from {}\n", name(*o));
            }
        }
        s
    }
}

/// A callback that sees each instruction's output (index, type, ring elements).
pub type Observer<'a> = &'a mut dyn FnMut(usize, &ValueType, &[u64]);

/// Simulates `graph` (a plan's graph, kernels only) on `inputs` (by input name, as
/// `run_local` takes them) and the owner's `weights`.
pub fn simulate(
    graph: &Graph,
    inputs: &HashMap<String, HostTensor>,
    weights: Option<&Weights>,
    opts: &SimOptions,
) -> Result<SimResult, RtError> {
    simulate_observed(graph, inputs, weights, opts, &mut |_, _, _| {})
}

/// [`simulate`], handing every instruction's output to `observe`.
pub fn simulate_observed(
    graph: &Graph,
    inputs: &HashMap<String, HostTensor>,
    weights: Option<&Weights>,
    opts: &SimOptions,
    observe: Observer<'_>,
) -> Result<SimResult, RtError> {
    graph
        .verify(true)
        .map_err(|e| RtError::Input(format!("the graph does not verify: {e}")))?;
    let mut last_use = vec![0usize; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in &node.inputs {
            last_use[v.index()] = i;
        }
    }
    let mut host = SimHost {
        inputs,
        weights,
        outputs: BTreeMap::new(),
    };
    let mut s = Sim::new(opts.rounding);
    let mut vals: Vec<Option<Vec<u64>>> = vec![None; graph.values.len()];
    let mut taints: Vec<Taint> = vec![None; graph.values.len()];
    let mut res = SimResult::default();
    for (index, node) in graph.nodes.iter().enumerate() {
        let at = |e: RtError| RtError::At {
            index,
            op: node.op.name(),
            origin: node.origin.clone(),
            cause: Box::new(e),
        };
        let out = graph.ty(node.output);
        let args = SimArgs {
            vals: node
                .inputs
                .iter()
                .map(|v| vals[v.index()].as_deref().expect("operand live"))
                .collect(),
            tys: node.inputs.iter().map(|v| graph.ty(*v)).collect(),
            out,
        };
        let data = op_sim(&mut s, &mut host, &node.op, &args).map_err(at)?;
        let want = if matches!(node.op, Op::Output { .. }) {
            0
        } else {
            out.len()
        };
        if data.len() != want {
            return Err(at(RtError::Input(format!(
                "{} elements where the type holds {want}",
                data.len()
            ))));
        }
        let (events, marks) = s.take();
        let operand_taints: Vec<Option<&[u32]>> = node
            .inputs
            .iter()
            .map(|v| taints[v.index()].as_deref())
            .collect();
        let mut t = taint::propagate(
            &node.op,
            op_flow(&node.op),
            &args.vals,
            &args.tys,
            out,
            &operand_taints,
        );
        if !marks.is_empty() {
            let t = t.get_or_insert_with(|| vec![CLEAN; data.len()]);
            for m in marks {
                t[m] = t[m].min(index as u32);
            }
        }
        if let Op::Output { name, .. } = &node.op {
            let mut origins = BTreeMap::new();
            for o in operand_taints[0]
                .into_iter()
                .flatten()
                .filter(|o| **o != CLEAN)
            {
                *origins.entry(*o as usize).or_insert(0) += 1;
            }
            res.output_taint.insert(name.clone(), origins);
        }
        res.instrs.push(report(&data, out, events, t.as_deref()));
        observe(index, out, &data);
        vals[node.output.index()] = Some(data);
        taints[node.output.index()] = t;
        for v in &node.inputs {
            if last_use[v.index()] == index {
                vals[v.index()] = None;
                taints[v.index()] = None;
            }
        }
    }
    res.outputs = host.outputs;
    Ok(res)
}

fn report(data: &[u64], ty: &ValueType, events: Vec<Event>, t: Option<&[u32]>) -> InstrReport {
    let top = data
        .iter()
        .map(|x| to_signed(*x, ty.ring).unsigned_abs())
        .max()
        .unwrap_or(0);
    InstrReport {
        max_abs: top as f64 / (ty.scale as f64).exp2(),
        bits: u64::BITS - top.leading_zeros(),
        events,
        tainted: t.map_or(0, |t| t.iter().filter(|o| **o != CLEAN).count()),
    }
}

/// The inputs, weights and revealed outputs of a simulation.
struct SimHost<'d> {
    inputs: &'d HashMap<String, HostTensor>,
    weights: Option<&'d Weights>,
    outputs: BTreeMap<String, HostTensor>,
}

impl Host for SimHost<'_> {
    fn input(
        &self,
        name: &str,
        encoding: &InputEncoding,
        ty: &ValueType,
    ) -> Result<Vec<u64>, RtError> {
        let t = self
            .inputs
            .get(name)
            .ok_or_else(|| RtError::Input(format!("no data for input '{name}'")))?;
        let v = encode_input(t, encoding, ty.scale, ty.ring)?;
        if v.len() != ty.len() {
            return Err(RtError::Input(format!(
                "input '{name}' has shape {:?} and {} values; the plan expects shape {:?}",
                t.shape,
                t.data.len(),
                ty.shape
            )));
        }
        Ok(v)
    }
    fn weight(&self, name: &str, ty: &ValueType) -> Result<Vec<u64>, RtError> {
        let t = self
            .weights
            .and_then(|w| w.get(name))
            .ok_or_else(|| RtError::Input(format!("no weight tensor '{name}'")))?;
        if t.data.len() != ty.len() {
            return Err(RtError::Input(format!(
                "weight '{name}' has shape {:?} and {} values; the plan expects shape {:?}",
                t.shape,
                t.data.len(),
                ty.shape
            )));
        }
        Ok(t.data
            .iter()
            .map(|v| encode(*v as f64, ty.scale, ty.ring))
            .collect())
    }
    fn output(&mut self, name: &str, ty: &ValueType, values: &[u64]) -> Result<(), RtError> {
        let data = values
            .iter()
            .map(|x| decode(*x, ty.scale, ty.ring))
            .collect();
        let t = HostTensor {
            shape: ty.shape.clone(),
            data,
        };
        self.outputs.insert(name.to_string(), t);
        Ok(())
    }
}

/// `matmul` on plaintext ring elements: the wrapping product the shares reconstruct to
/// (`kernels::matmul::plain`), with [`EventKind::Wrap`] for each output whose exact sum
/// leaves the ring's signed range.
pub(crate) fn matmul(
    s: &mut Sim,
    a: &[u64],
    b: &[u64],
    sa: &[usize],
    sb: &[usize],
    out: &ValueType,
) -> Vec<u64> {
    let ring = out.ring;
    let y = crate::kernels::matmul::plain(a, b, sa, sb, ring);
    let (batch, m, k, n) = matmul_dims(sa, sb);
    let big = |x: &[u64]| x.iter().map(|v| to_signed(*v, ring).unsigned_abs()).max();
    let bound = big(a).unwrap_or(0) as f64 * big(b).unwrap_or(0) as f64 * k as f64;
    let lim = ((ring.bits() - 1) as f64).exp2();
    if bound < lim {
        return y;
    }
    let (a, b) = (matmul_operand(a, sa, &batch), matmul_operand(b, sb, &batch));
    let f = |x: &[u64]| -> Vec<f64> { x.iter().map(|v| to_signed(*v, ring) as f64).collect() };
    let (a, b) = (f(&a), f(&b));
    let nb: usize = batch.iter().product();
    let mut acc = vec![0f64; n];
    for bi in 0..nb {
        for i in 0..m {
            acc.iter_mut().for_each(|v| *v = 0.0);
            for kk in 0..k {
                let av = a[(bi * m + i) * k + kk];
                let row = &b[(bi * k + kk) * n..(bi * k + kk + 1) * n];
                for (o, bv) in acc.iter_mut().zip(row) {
                    *o += av * bv;
                }
            }
            for (j, v) in acc.iter().enumerate() {
                if v.abs() >= lim {
                    s.elem = (bi * m + i) * n + j;
                    s.flag(fixed::EventKind::Wrap, "matmul", *v as i128, out.scale);
                }
            }
        }
    }
    y
}

/// `reduce_sum` on plaintext ring elements, with [`EventKind::Wrap`] for each sum that
/// leaves the ring's signed range.
pub(crate) fn reduce_sum(
    s: &mut Sim,
    x: &[u64],
    shape: &[usize],
    axes: &[usize],
    ty: &ValueType,
) -> Vec<u64> {
    let ring: Ring = ty.ring;
    let mut cur: Vec<i128> = x.iter().map(|v| signed(*v, ring)).collect();
    let mut cur_shape = shape.to_vec();
    for &axis in axes {
        let outer: usize = cur_shape[..axis].iter().product();
        let inner: usize = cur_shape[axis + 1..].iter().product();
        let d = cur_shape[axis];
        let mut out = vec![0i128; outer * inner];
        for o in 0..outer {
            for kk in 0..d {
                for i in 0..inner {
                    out[o * inner + i] += cur[(o * d + kk) * inner + i];
                }
            }
        }
        cur = out;
        cur_shape[axis] = 1;
    }
    cur.iter()
        .enumerate()
        .map(|(i, v)| {
            s.elem = i;
            s.fit(*v, ring, "reduce_sum", ty.scale)
        })
        .collect()
}
