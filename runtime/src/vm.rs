//! The VM: runs a plan's instructions in order for one party, over its session.
//!
//! **Architecture Invariant:** the VM reconstructs a secret only at an `output` instruction,
//! and only at the parties that instruction names.

use crate::ctx::{Ctx, Stats};
use crate::kernels::{self, arith, Args};
use crate::ring::{decode, encode};
use crate::share::Val;
use crate::RtError;
use mpcc_ir::plan::Plan;
use mpcc_ir::{InputEncoding, Op, PartyId, Vis, Weights, MODEL_OWNER};
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
        }
    }
    Ok(())
}

/// Runs the whole plan as party `ctx.id`.
pub fn run_party(
    plan: &Plan,
    ctx: &mut Ctx,
    data: &PartyData,
    progress: Option<Progress>,
) -> Result<PartyResult, RtError> {
    check_party_data(plan, ctx.id, data)?;
    let g = plan.graph();
    let mut slots: Vec<Option<Val>> = vec![None; g.values.len()];
    let mut res = PartyResult::default();
    let mut live = 0u64;
    let total = g.nodes.len();
    let zero = kernels::zero_components(g);
    ctx.take_stats();
    for (index, node) in g.nodes.iter().enumerate() {
        let t0 = Instant::now();
        let out_ty = g.ty(node.output);
        let ring = out_ty.ring;
        let val = match &node.op {
            Op::Input {
                name,
                owner,
                encoding,
            } => {
                let encoded = if ctx.id == *owner {
                    let t = &data.inputs[name];
                    Some(
                        encode_input(t, encoding, out_ty.scale, ring)
                            .map_err(|e| at(plan, index, e))?,
                    )
                } else {
                    None
                };
                let s = arith::share_input(ctx, *owner, encoded.as_deref(), out_ty.len(), ring)
                    .map_err(|e| at(plan, index, e.into()))?;
                Val::Sec(s)
            }
            Op::Weight { name } => {
                let enc = |ws: &Weights| -> Vec<u64> {
                    ws.get(name)
                        .map(|t| {
                            t.data
                                .iter()
                                .map(|v| encode(*v as f64, out_ty.scale, ring))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                if out_ty.vis == Vis::Public {
                    Val::Pub(enc(data.weights.as_ref().expect("checked")))
                } else {
                    let encoded = (ctx.id == MODEL_OWNER)
                        .then(|| enc(data.weights.as_ref().expect("checked")));
                    Val::Sec(
                        arith::share_input(
                            ctx,
                            MODEL_OWNER,
                            encoded.as_deref(),
                            out_ty.len(),
                            ring,
                        )
                        .map_err(|e| at(plan, index, e.into()))?,
                    )
                }
            }
            Op::Output { name, to } => {
                let x = slots[node.inputs[0].index()]
                    .as_ref()
                    .expect("operand live");
                let revealed = match x {
                    Val::Pub(v) => to.contains(&ctx.id).then(|| v.clone()),
                    Val::Sec(s) => {
                        arith::reveal(ctx, s, to, ring).map_err(|e| at(plan, index, e.into()))?
                    }
                };
                if let Some(v) = revealed {
                    let data = v.iter().map(|x| decode(*x, out_ty.scale, ring)).collect();
                    res.outputs.insert(
                        name.clone(),
                        HostTensor {
                            shape: out_ty.shape.clone(),
                            data,
                        },
                    );
                }
                Val::Pub(Vec::new())
            }
            _ => {
                let vals: Vec<&Val> = node
                    .inputs
                    .iter()
                    .map(|v| slots[v.index()].as_ref().expect("operand live"))
                    .collect();
                let tys = node.inputs.iter().map(|v| g.ty(*v)).collect();
                let zero = node.inputs.iter().map(|v| zero[v.index()]).collect();
                let args = Args {
                    vals,
                    tys,
                    out: out_ty,
                    zero,
                };
                kernels::exec(ctx, g, node, &args).map_err(|e| at(plan, index, e))?
            }
        };
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
    Ok(res)
}

fn encode_input(
    t: &HostTensor,
    enc: &InputEncoding,
    scale: u32,
    ring: mpcc_ir::Ring,
) -> Result<Vec<u64>, RtError> {
    Ok(match enc {
        InputEncoding::Fixed => t.data.iter().map(|v| encode(*v, scale, ring)).collect(),
        InputEncoding::Int => t.data.iter().map(|v| encode(*v, 0, ring)).collect(),
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
