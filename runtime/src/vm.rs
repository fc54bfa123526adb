//! The VM: runs a plan's instructions in order for one party, over its session, through the
//! protocol the plan header names ([`protocol_for`]); frees slots after their last use.
//!
//! **Architecture Invariant:** the VM reconstructs a secret only at an `output` instruction,
//! and only at the parties that instruction names.

use crate::ctx::{Ctx, Stats};
use crate::error::RtError;
use crate::ops;
use crate::protocol::{Args, Host, Protocol};
use crate::ring::{decode, encode};
use crate::share::Val;
use mpcc_ir::plan::{self, Plan};
use mpcc_ir::{InputEncoding, PartyId, ValueType, Weights, MODEL_OWNER};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A plaintext tensor supplied by a party or returned to it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major (integer inputs hold whole numbers).
    pub data: Vec<f64>,
}

/// What one party brings to a run.
#[derive(Clone, Default)]
pub struct PartyData {
    /// Inputs this party owns, by name.
    pub inputs: HashMap<String, HostTensor>,
    /// The weights file, for the model owner (and for every party when weights are public).
    pub weights: Option<Arc<Weights>>,
    /// This party's shares of the plan's state inputs, kept from an earlier run (shared
    /// pointers: a generation keeps them across steps without copying them for each).
    pub state: HashMap<String, Arc<Val>>,
}

/// Traffic and time of one instruction at one party.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InstrProfile {
    /// Counted traffic.
    pub stats: Stats,
    /// Wall time.
    pub wall: Duration,
}

/// What one party ends a run with.
#[derive(Clone, Debug, Default)]
pub struct PartyResult {
    /// Outputs revealed to this party.
    pub outputs: BTreeMap<String, HostTensor>,
    /// One entry per instruction.
    pub profile: Vec<InstrProfile>,
    /// Peak bytes held in live slots.
    pub peak_slot_bytes: u64,
    /// This party's shares of the outputs to no party, the state of the next run.
    pub state: BTreeMap<String, Val>,
}

/// Called after each instruction with (done, total).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

fn at(plan: &Plan, index: usize, e: RtError) -> RtError {
    let node = &plan.graph().nodes[index];
    RtError::At {
        index,
        op: node.op.name(),
        origin: node.origin.clone(),
        cause: Box::new(e),
    }
}

/// Checks that `data` holds what party `id` must supply, with the declared shapes.
pub fn check_party_data(plan: &Plan, id: PartyId, data: &PartyData) -> Result<(), RtError> {
    for d in &plan.body.inputs {
        if d.owner != id {
            continue;
        }
        let t = data.inputs.get(&d.name).ok_or_else(|| {
            RtError::Input(format!("party {id} has no data for input '{}'", d.name))
        })?;
        if t.shape != d.shape {
            return Err(RtError::Input(format!(
                "input '{}' has shape {:?}, the plan expects {:?}",
                d.name, t.shape, d.shape
            )));
        }
        if t.data.len() != d.shape.iter().product::<usize>() {
            return Err(RtError::Input(format!(
                "input '{}' holds {} values for its shape {:?}",
                d.name,
                t.data.len(),
                d.shape
            )));
        }
    }
    for s in &plan.body.state {
        let n: usize = s.shape.iter().product();
        match data.state.get(&s.name) {
            None => {
                return Err(RtError::Input(format!(
                    "party {id} has no share of state '{}' (it comes from the previous step)",
                    s.name
                )))
            }
            Some(v) if v.len() != n => {
                return Err(RtError::Input(format!(
                    "party {id}'s share of state '{}' holds {} elements, the plan expects {:?}",
                    s.name,
                    v.len(),
                    s.shape
                )))
            }
            Some(_) => {}
        }
    }
    for w in &plan.body.weights {
        if w.public || id == MODEL_OWNER {
            let ws = data
                .weights
                .as_ref()
                .ok_or_else(|| RtError::Input(format!("party {id} needs the weights file")))?;
            let t = ws
                .get(&w.name)
                .ok_or_else(|| RtError::Input(format!("weights file lacks tensor '{}'", w.name)))?;
            if t.shape != w.shape {
                return Err(RtError::Input(format!(
                    "weight '{}' has shape {:?}, the plan expects {:?}",
                    w.name, t.shape, w.shape
                )));
            }
            // A weights file is the owner's input: its values must fill the shape exactly,
            // or the owner's shares and its peers' would differ in length.
            if t.data.len() != w.shape.iter().product::<usize>() {
                return Err(RtError::Input(format!(
                    "weights file tensor '{}' holds {} values for its shape {:?}",
                    w.name,
                    t.data.len(),
                    w.shape
                )));
            }
        }
    }
    Ok(())
}

/// The protocol implementation for a plan header's protocol id.
pub fn protocol_for(id: plan::Protocol) -> &'static dyn Protocol {
    match id {
        plan::Protocol::Aby3 => &ops::Aby3,
    }
}

/// A party's data and the outputs revealed to it, as the protocol's [`Host`].
struct PartyHost<'d> {
    data: &'d PartyData,
    outputs: BTreeMap<String, HostTensor>,
    kept: BTreeMap<String, Val>,
}

impl Host for PartyHost<'_> {
    fn input(
        &self,
        name: &str,
        encoding: &InputEncoding,
        ty: &ValueType,
    ) -> Result<Vec<u64>, RtError> {
        let t = self
            .data
            .inputs
            .get(name)
            .ok_or_else(|| RtError::Input(format!("no data for input '{name}'")))?;
        encode_input(t, encoding, ty.scale, ty.ring)
    }
    fn weight(&self, name: &str, ty: &ValueType) -> Result<Vec<u64>, RtError> {
        let ws = self
            .data
            .weights
            .as_ref()
            .ok_or_else(|| RtError::Input("this party needs the weights file".into()))?;
        Ok(ws
            .get(name)
            .map(|t| {
                t.data
                    .iter()
                    .map(|v| encode(*v as f64, ty.scale, ty.ring))
                    .collect()
            })
            .unwrap_or_default())
    }
    fn output(&mut self, name: &str, ty: &ValueType, values: &[u64]) -> Result<(), RtError> {
        let data = values
            .iter()
            .map(|x| decode(*x, ty.scale, ty.ring))
            .collect();
        self.outputs.insert(
            name.to_string(),
            HostTensor {
                shape: ty.shape.clone(),
                data,
            },
        );
        Ok(())
    }
    fn state(&self, name: &str, _ty: &ValueType) -> Result<Val, RtError> {
        self.data
            .state
            .get(name)
            .map(|v| Val::clone(v))
            .ok_or_else(|| RtError::Input(format!("no share of state '{name}'")))
    }
    fn keep(&mut self, name: &str, value: Val) -> Result<(), RtError> {
        self.kept.insert(name.to_string(), value);
        Ok(())
    }
}

/// Runs the whole plan as party `ctx.id`, with the protocol its header names.
pub fn run_party(
    plan: &Plan,
    ctx: &mut Ctx,
    data: &PartyData,
    progress: Option<Progress>,
) -> Result<PartyResult, RtError> {
    check_party_data(plan, ctx.id, data)?;
    let g = plan.graph();
    let protocol = protocol_for(plan.header.protocol);
    let mut host = PartyHost {
        data,
        outputs: BTreeMap::new(),
        kept: BTreeMap::new(),
    };
    let mut slots: Vec<Option<Val>> = vec![None; g.values.len()];
    let mut res = PartyResult::default();
    let mut live = 0u64;
    let total = g.nodes.len();
    let zero = protocol.zero_components(g);
    ctx.take_stats();
    for (index, node) in g.nodes.iter().enumerate() {
        let t0 = Instant::now();
        let vals: Vec<&Val> = node
            .inputs
            .iter()
            .map(|v| slots[v.index()].as_ref().expect("operand live"))
            .collect();
        let args = Args {
            vals,
            tys: node.inputs.iter().map(|v| g.ty(*v)).collect(),
            out: g.ty(node.output),
            zero: node.inputs.iter().map(|v| zero[v.index()]).collect(),
        };
        let val = protocol
            .exec(ctx, &mut host, node, &args)
            .map_err(|e| at(plan, index, e))?;
        live += val.mem_bytes();
        slots[node.output.index()] = Some(val);
        res.peak_slot_bytes = res.peak_slot_bytes.max(live);
        for v in &plan.body.frees[index] {
            if let Some(x) = slots[v.index()].take() {
                live -= x.mem_bytes();
            }
        }
        res.profile.push(InstrProfile {
            stats: ctx.take_stats(),
            wall: t0.elapsed(),
        });
        if let Some(p) = &progress {
            p(index + 1, total);
        }
    }
    res.outputs = host.outputs;
    res.state = host.kept;
    Ok(res)
}

/// The bytes of live slots [`run_party`] holds at its peak on `plan` (its
/// `PartyResult::peak_slot_bytes`, the same for every party), from the types alone and
/// without running anything: a secret value takes 16 bytes an element (two ring words), a
/// public one 8, an `output` instruction's slot none; slots are counted when written and
/// dropped after their last use, as the VM does. Saturates instead of overflowing, so a plan
/// of absurd shapes gives `u64::MAX`. Kernels hold temporaries beyond this, so it is a lower
/// bound on a party's memory.
pub fn peak_slot_bytes(plan: &Plan) -> u64 {
    let g = plan.graph();
    let size = |node: &mpcc_ir::Node| -> u64 {
        if matches!(node.op, mpcc_ir::Op::Output { .. }) {
            return 0;
        }
        let ty = g.ty(node.output);
        let word = if ty.vis.is_secret() { 16u64 } else { 8 };
        ty.shape
            .iter()
            .try_fold(word, |acc, d| acc.checked_mul(*d as u64))
            .unwrap_or(u64::MAX)
    };
    let mut held: Vec<u64> = vec![0; g.values.len()];
    let (mut live, mut peak) = (0u64, 0u64);
    for (index, node) in g.nodes.iter().enumerate() {
        let b = size(node);
        held[node.output.index()] = b;
        live = live.saturating_add(b);
        peak = peak.max(live);
        for v in &plan.body.frees[index] {
            live = live.saturating_sub(std::mem::take(&mut held[v.index()]));
        }
    }
    peak
}

/// Encodes a party's input tensor as ring elements (the owner's side of input sharing).
pub(crate) fn encode_input(
    t: &HostTensor,
    enc: &InputEncoding,
    scale: u32,
    ring: mpcc_ir::Ring,
) -> Result<Vec<u64>, RtError> {
    Ok(match enc {
        InputEncoding::Fixed => t.data.iter().map(|v| encode(*v, scale, ring)).collect(),
        InputEncoding::Int => t.data.iter().map(|v| encode(*v, 0, ring)).collect(),
        InputEncoding::State => {
            return Err(RtError::Input(
                "secret-shared state is not data a party encodes".into(),
            ))
        }
        InputEncoding::OneHot { depth } => {
            let one = encode(1.0, scale, ring);
            let mut out = vec![0u64; t.data.len() * depth];
            for (i, v) in t.data.iter().enumerate() {
                if *v < 0.0 || *v >= *depth as f64 || v.fract() != 0.0 {
                    return Err(RtError::Input(format!(
                        "id {v} at position {i} is outside the vocabulary 0..{depth}"
                    )));
                }
                out[i * depth + *v as usize] = one;
            }
            out
        }
    })
}
