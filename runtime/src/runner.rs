//! Runs a plan with three parties in one process (three threads, in-process links).

use crate::ctx::{Ctx, Stats};
use crate::error::RtError;
use crate::share::Val;
use crate::transport::{LocalTransport, Transport};
use crate::vm::{run_party, HostTensor, PartyData, PartyResult, Progress};
use mpcc_ir::plan::Plan;
use mpcc_ir::{Weights, MODEL_OWNER};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of a local run.
#[derive(Clone)]
pub struct RunOptions {
    /// How long a party waits for a message before failing.
    pub timeout: Duration,
    /// Progress callback (party 0's view).
    pub progress: Option<Progress>,
    /// Optional link shaping (bandwidth and latency) between the local parties.
    pub shape: Option<crate::net::LinkShape>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(120),
            progress: None,
            shape: None,
        }
    }
}

/// Measured traffic and time of one instruction, over the three parties.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InstrRecord {
    /// Rounds (the same at every party).
    pub rounds: u64,
    /// Bytes sent by each party.
    pub bytes: [u64; 3],
    /// Messages sent by each party.
    pub messages: [u64; 3],
    /// Slowest party's wall time.
    pub wall: Duration,
}

/// The result of a run.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Revealed outputs (as the first party named by each output learns them).
    pub outputs: BTreeMap<String, HostTensor>,
    /// Per-instruction measurements.
    pub profile: Vec<InstrRecord>,
    /// Set-up traffic (seed agreement), per party.
    pub setup_bytes: [u64; 3],
    /// Wall time of the whole run.
    pub wall: Duration,
    /// Peak bytes held in live slots, per party.
    pub peak_slot_bytes: [u64; 3],
    /// Each party's shares of the outputs to no party (the state of the next run).
    pub state: [BTreeMap<String, Val>; 3],
}

impl RunResult {
    /// Totals over all instructions: (rounds, bytes summed over parties).
    pub fn totals(&self) -> (u64, u64) {
        self.profile.iter().fold((0, 0), |(r, b), p| {
            (r + p.rounds, b + p.bytes.iter().sum::<u64>())
        })
    }
}

/// Splits user data into what each party brings: inputs go to their owners, the weights to
/// the model owner (and to all parties when the plan has public weights).
pub fn party_data(
    plan: &Plan,
    inputs: &HashMap<String, HostTensor>,
    weights: Option<Arc<Weights>>,
) -> [PartyData; 3] {
    let any_public = plan.body.weights.iter().any(|w| w.public);
    std::array::from_fn(|p| {
        let mut d = PartyData::default();
        for decl in &plan.body.inputs {
            if decl.owner as usize == p {
                if let Some(t) = inputs.get(&decl.name) {
                    d.inputs.insert(decl.name.clone(), t.clone());
                }
            }
        }
        if p == MODEL_OWNER as usize || any_public {
            d.weights = weights.clone();
        }
        d
    })
}

/// Runs a plan with three local parties and merges their profiles.
pub fn run_local(
    plan: &Plan,
    data: [PartyData; 3],
    opts: &RunOptions,
) -> Result<RunResult, RtError> {
    for (p, d) in data.iter().enumerate() {
        crate::vm::check_party_data(plan, p as u8, d)?;
    }
    let t0 = Instant::now();
    let links: [Box<dyn Transport>; 3] = match opts.shape {
        None => LocalTransport::triple(opts.timeout).map(|l| Box::new(l) as Box<dyn Transport>),
        Some(shape) => crate::net::Shaped::triple(LocalTransport::triple(opts.timeout), shape)
            .map(|l| Box::new(l) as Box<dyn Transport>),
    };
    let results: Vec<Result<(PartyResult, Stats), RtError>> = std::thread::scope(|s| {
        let handles: Vec<_> = links
            .into_iter()
            .zip(data.iter())
            .map(|(link, d)| {
                let progress = if link.id() == 0 {
                    opts.progress.clone()
                } else {
                    None
                };
                s.spawn(move || -> Result<(PartyResult, Stats), RtError> {
                    let mut ctx = Ctx::setup(link)?;
                    let setup = ctx.take_stats();
                    let r = run_party(plan, &mut ctx, d, progress)?;
                    Ok((r, setup))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(RtError::Internal("a party thread panicked".into())))
            })
            .collect()
    });
    let mut parts = Vec::new();
    // Report the first error that is not a consequence of another party failing.
    let mut errors: Vec<RtError> = Vec::new();
    for r in results {
        match r {
            Ok(x) => parts.push(x),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.is_disconnect());
        return Err(errors.remove(0));
    }
    let mut out = RunResult {
        wall: t0.elapsed(),
        ..Default::default()
    };
    out.profile = vec![InstrRecord::default(); plan.graph().nodes.len()];
    for (p, (r, setup)) in parts.iter_mut().enumerate() {
        out.state[p] = std::mem::take(&mut r.state);
        out.setup_bytes[p] = setup.bytes_sent;
        out.peak_slot_bytes[p] = r.peak_slot_bytes;
        for (rec, ip) in out.profile.iter_mut().zip(&r.profile) {
            rec.rounds = rec.rounds.max(ip.stats.rounds);
            rec.bytes[p] = ip.stats.bytes_sent;
            rec.messages[p] = ip.stats.messages;
            rec.wall = rec.wall.max(ip.wall);
        }
        for (k, v) in &r.outputs {
            out.outputs.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(out)
}
