//! Runs a plan that loaded through the VM (three local parties) and the ring-exact
//! simulation, on small generated inputs and weights, under budgets: a plan with more than
//! [`MAX_NODES`] instructions, a value of more than [`MAX_ELEMENTS`] elements or a predicted
//! slot peak over [`MAX_PEAK_BYTES`] is refused before it runs, and each party waits at most
//! [`TIMEOUT`] for a message. A party that panics is a finding (the runner reports it as an
//! internal error, which this turns back into a panic).

use mpcc_ir::plan::Plan;
use mpcc_ir::{InputEncoding, Op, WeightTensor, Weights};
use mpcc_runtime::{party_data, run_local, HostTensor, RtError, RunOptions};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Most instructions a fuzzed plan may run.
pub const MAX_NODES: usize = 4000;
/// Most elements of any one value.
pub const MAX_ELEMENTS: usize = 1 << 16;
/// Most predicted slot bytes at the peak (`vm::peak_slot_bytes`).
pub const MAX_PEAK_BYTES: u64 = 64 << 20;
/// How long a party waits for a message.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a plan is not run, or `Ok(())` when it fits the budgets.
pub fn within_budget(plan: &Plan) -> Result<(), String> {
    let g = plan.graph();
    if g.nodes.len() > MAX_NODES {
        return Err(format!("{} instructions", g.nodes.len()));
    }
    let big = g.values.iter().any(|t| {
        t.shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .is_none_or(|n| n > MAX_ELEMENTS)
    });
    if big {
        return Err("a value is too large".into());
    }
    if mpcc_runtime::vm::peak_slot_bytes(plan) > MAX_PEAK_BYTES {
        return Err("slot peak too large".into());
    }
    if !plan.body.state.is_empty() {
        return Err("plan takes state".into());
    }
    Ok(())
}

/// Small values for a tensor of `n` elements.
fn values(n: usize, salt: usize) -> Vec<f64> {
    (0..n)
        .map(|k| ((k + salt) % 7) as f64 * 0.125 - 0.375)
        .collect()
}

/// Weights of the declared shapes, bound to `plan`.
pub fn weights_for(plan: &Plan) -> Weights {
    Weights {
        plan_digest: plan.header.digest,
        tensors: plan
            .body
            .weights
            .iter()
            .enumerate()
            .map(|(i, w)| WeightTensor {
                name: w.name.clone(),
                shape: w.shape.clone(),
                data: values(w.shape.iter().product(), i)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
            })
            .collect(),
    }
}

/// Inputs of the declared shapes: small reals, ids inside the vocabulary, 0/1 integers.
pub fn inputs_for(plan: &Plan) -> HashMap<String, HostTensor> {
    let g = plan.graph();
    let mut out = HashMap::new();
    for (i, d) in plan.body.inputs.iter().enumerate() {
        let n: usize = d.shape.iter().product();
        let enc = g.nodes.iter().find(|n| n.output == d.slot).and_then(|n| {
            if let Op::Input { encoding, .. } = &n.op {
                Some(encoding.clone())
            } else {
                None
            }
        });
        let data = match enc {
            Some(InputEncoding::OneHot { depth }) => {
                (0..n).map(|k| (k % depth.max(1)) as f64).collect()
            }
            Some(InputEncoding::Int) => (0..n).map(|k| (k % 2) as f64).collect(),
            _ => values(n, i),
        };
        out.insert(
            d.name.clone(),
            HostTensor {
                shape: d.shape.clone(),
                data,
            },
        );
    }
    out
}

/// Runs `plan` with `weights` (or generated ones) if it fits the budgets; the outcome.
pub fn run(plan: &Plan, weights: Option<Weights>) -> String {
    if let Err(why) = within_budget(plan) {
        return format!("vm: skipped ({why})");
    }
    let weights = weights.unwrap_or_else(|| weights_for(plan));
    let inputs = inputs_for(plan);
    let sim = mpcc_runtime::simulate(plan.graph(), &inputs, Some(&weights), &Default::default());
    let data = party_data(plan, &inputs, Some(Arc::new(weights)));
    let opts = RunOptions {
        timeout: TIMEOUT,
        ..RunOptions::default()
    };
    let r = run_local(plan, data, &opts);
    if let Err(RtError::Internal(m)) = &r {
        assert!(!m.contains("panicked"), "VM: {m}");
    }
    let sim = super::outcome("sim", sim.map(drop));
    format!("{sim}; {}", super::outcome("vm", r.map(drop)))
}
