//! Calibration (`mpcc compile --calibrate FILE`): the range of every value of a lowered
//! graph, observed by the ring-exact plaintext simulation (`mpcc_runtime::simulate`, the
//! VM's arithmetic without shares) on the model owner's sample inputs, and the format check
//! against them.
//!
//! - **Inputs** ([`load_inputs`]): a `reference.json` (onnx-reference-v1), a folder of
//!   `NAME.npy` files (one per plan input), or a text file with one input per line, encoded
//!   with the export's tokenizer (rows fill the plan's batch; the last is repeated to fill
//!   it).
//! - **Ranges** ([`observe`]): per instruction, the largest magnitude over all calibration
//!   inputs, rounded up to a power of two before it goes into the graph's side table
//!   (`facts.range`, printed by `--emit-ir` and stored in the plan). Only the exponent is
//!   kept, since the plan is public to every party: it tells them no more than the format it
//!   picks would.
//! - **Skipped values.** An instruction whose own steps leave their valid range on some
//!   element, or that an earlier such step reaches, gets no range; if such a step reaches
//!   an output, the calibration input overflows the format and compiling fails, naming the
//!   instruction. Steps that a zero factor discards downstream (softmax entries below the
//!   cut-off, whose exp polynomial may wrap) reach no output and are allowed.
//! - **The guarantee** ([`check`]): with margin M ([`RANGE_MARGIN`] = 4), every ranged
//!   value v at scale s in Z_2^k holds `M · range(v) · 2^s < 2^(k-1)`, and `< 2^(k-2)` when
//!   a secret truncation reads it (the truncation's precondition). So for inputs whose
//!   activations stay within M times the calibrated ranges, no instruction output wraps
//!   and no truncation leaves its precondition. Beyond M the first value to leave its
//!   format wraps modulo 2^k (a confident wrong answer; `mpcc run --simulate` names it), so
//!   calibrate on inputs like the ones the model will see. The kernels' internal steps
//!   (power trees, normalisation) are checked on the calibration inputs themselves, not
//!   with the margin.

use crate::io::{self, Reference};
use anyhow::Context;
use mpcc_ir::plan::Plan;
use mpcc_ir::{Graph, Layer, Op, Range, ValueId, Weights};
use mpcc_runtime::vm::HostTensor;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The margin M of the format check: a calibrated value may grow M-fold before its format
/// overflows.
pub const RANGE_MARGIN: f64 = 4.0;

/// One calibration input: a label (file, line) and the host tensors by input name.
pub type Sample = (String, HashMap<String, HostTensor>);

/// Reads the calibration inputs of `paths` for `plan` (see the module doc for the formats).
/// `tokenizer` encodes text files.
pub fn load_inputs(
    paths: &[PathBuf],
    plan: &Plan,
    tokenizer: Option<&Path>,
) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for path in paths {
        let label = path.display().to_string();
        if path.is_dir() {
            let mut host = HashMap::new();
            for decl in &plan.body.inputs {
                let file = path.join(format!("{}.npy", io::file_stem(&decl.name)));
                if !file.exists() {
                    anyhow::bail!(
                        "calibration folder '{label}' has no '{}' for input '{}' (one NAME.npy per input)",
                        file.display(),
                        decl.name
                    );
                }
                let t = io::read_npy_for(&file, decl)?;
                host.insert(decl.name.clone(), io::check_input(plan, decl, t)?);
            }
            out.push((label, host));
        } else if path.extension().is_some_and(|e| e == "json") {
            let r = Reference::load(path)?;
            let mut host = HashMap::new();
            for decl in &plan.body.inputs {
                let t = r.input(&decl.name).with_context(|| {
                    format!("calibration file '{label}' has no input '{}'", decl.name)
                })?;
                let checked = io::check_input(plan, decl, t.npy())
                    .with_context(|| format!("in calibration file '{label}'"))?;
                host.insert(decl.name.clone(), checked);
            }
            out.push((label, host));
        } else {
            let tok = tokenizer.with_context(|| {
                format!(
                    "'{label}' is read as text (one input per line), which needs the export's \
                     tokenizer.json: compile the export folder, or give a reference.json or a \
                     folder of NAME.npy files"
                )
            })?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the calibration text '{label}'"))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            if lines.is_empty() {
                anyhow::bail!("calibration text '{label}' has no non-empty line");
            }
            let batch = plan.body.inputs.first().map_or(1, |d| d.shape[0].max(1));
            for (i, chunk) in lines.chunks(batch).enumerate() {
                let mut rows = chunk.to_vec();
                while rows.len() < batch {
                    rows.push(rows[rows.len() - 1].clone());
                }
                let host = io::tokenize(tok, &rows, plan)?;
                out.push((format!("{label}:{}", i * batch + 1), host));
            }
        }
    }
    Ok(out)
}

/// What calibration observed.
#[derive(Clone, Debug, Default)]
pub struct Calibration {
    /// Per value: the power of two at or above its largest magnitude.
    pub ranges: BTreeMap<ValueId, f64>,
    /// Per value: its largest magnitude, as observed (the check uses it).
    pub observed: BTreeMap<ValueId, f64>,
    /// The bounds the passes proved before calibration (`facts.range`), which hold for
    /// every input and so need no margin.
    pub proved: BTreeMap<ValueId, f64>,
    /// Calibration inputs run.
    pub samples: usize,
}

/// Why a calibration failed.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// A calibration input overflows the format on its way to an output.
    #[error(
        "calibration input '{sample}' overflows the fixed-point format at instruction #{index} \
         ({op} from ONNX node '{origin}'), and the overflow reaches output '{output}':\n{detail}\
         Lower --frac-bits for more integer headroom, or check that the input is one the model \
         is meant for"
    )]
    Overflow {
        /// The calibration input.
        sample: String,
        /// The instruction.
        index: usize,
        /// Its op.
        op: &'static str,
        /// Its ONNX node.
        origin: String,
        /// An output it reaches.
        output: String,
        /// The simulation's summary.
        detail: String,
    },
    /// A value's calibrated range, times the margin, does not fit its format.
    #[error(
        "the value of instruction #{index} ({op} from ONNX node '{origin}') reaches {range:.4e} \
         on the calibration inputs; with the margin of {margin}× it needs 2^{need} at scale \
         2^{scale}, but Z_2^{ring} holds only 2^{limit} (signed{trunc}); lower --frac-bits (each bit \
         doubles the room) or calibrate on inputs like the ones the model will see"
    )]
    NoRoom {
        /// The instruction.
        index: usize,
        /// Its op.
        op: &'static str,
        /// Its ONNX node.
        origin: String,
        /// The calibrated range.
        range: f64,
        /// The margin M.
        margin: f64,
        /// Bits the value needs at its scale.
        need: u32,
        /// Its scale.
        scale: u32,
        /// Its ring's bits.
        ring: u32,
        /// What the ring holds, in bits.
        limit: u32,
        /// ", below the truncation's 2^(k-2)" when a truncation reads it.
        trunc: &'static str,
    },
    /// The simulation failed.
    #[error(transparent)]
    Sim(#[from] mpcc_runtime::RtError),
}

/// Simulates `graph` on every sample and collects the ranges (see the module doc).
pub fn observe(
    graph: &Graph,
    weights: &Weights,
    samples: &[Sample],
    mut progress: impl FnMut(usize),
) -> Result<Calibration, CalibrateError> {
    let n = graph.nodes.len();
    let mut max = vec![0.0f64; n];
    let mut skip = vec![false; n];
    for (k, (label, host)) in samples.iter().enumerate() {
        let sim = mpcc_runtime::simulate(
            graph,
            host,
            Some(weights),
            &mpcc_runtime::SimOptions::default(),
        )?;
        if let Some((output, origins)) = sim.output_taint.iter().find(|(_, o)| !o.is_empty()) {
            let index = *origins.keys().next().expect("a non-empty map");
            let node = &graph.nodes[index];
            return Err(CalibrateError::Overflow {
                sample: label.clone(),
                index,
                op: node.op.name(),
                origin: node.origin.clone(),
                output: output.clone(),
                detail: sim.summary(graph, 3),
            });
        }
        for (i, r) in sim.instrs.iter().enumerate() {
            if !r.events.is_empty() || r.tainted > 0 {
                skip[i] = true;
            } else {
                max[i] = max[i].max(r.max_abs);
            }
        }
        progress(k + 1);
    }
    let (mut ranges, mut observed) = (BTreeMap::new(), BTreeMap::new());
    for (i, node) in graph.nodes.iter().enumerate() {
        if skip[i] || matches!(node.op, Op::Output { .. }) {
            continue;
        }
        let scale = graph.ty(node.output).scale;
        // The smallest representable step, so that a constant zero still gets a range.
        let floor = (-(scale as f64)).exp2();
        ranges.insert(node.output, pow2_ceil(max[i].max(floor)));
        observed.insert(node.output, max[i]);
    }
    let proved = graph
        .facts
        .range
        .iter()
        .map(|(&v, r)| (v, r.lo.abs().max(r.hi.abs())))
        .collect();
    Ok(Calibration {
        ranges,
        observed,
        proved,
        samples: samples.len(),
    })
}

/// The power of two at or above `x > 0`.
fn pow2_ceil(x: f64) -> f64 {
    x.log2().ceil().exp2()
}

/// Puts the ranges into `graph`'s side table, keeping a narrower one the front end knew.
pub fn apply(graph: &mut Graph, cal: &Calibration) {
    for (&v, &m) in &cal.ranges {
        let r = graph
            .facts
            .range
            .entry(v)
            .or_insert(Range { lo: -m, hi: m });
        *r = Range {
            lo: r.lo.max(-m),
            hi: r.hi.min(m),
        };
    }
}

/// Bits a value of magnitude `m` (times the margin) needs at `scale`: the smallest b with
/// `margin · m · 2^scale < 2^b`.
fn bits_needed(m: f64, scale: u32, margin: f64) -> u32 {
    ((margin * m).log2() + scale as f64).floor().max(0.0) as u32 + 1
}

/// The bits of room value `v` has: k - 1, or k - 2 when a secret truncation reads it.
fn limit_bits(graph: &Graph, v: ValueId, truncated: &[bool]) -> (u32, bool) {
    let ty = graph.ty(v);
    let t = truncated[v.index()];
    (ty.ring.bits() - if t { 2 } else { 1 }, t)
}

/// The values a secret truncation (or a downcast with a shift) reads.
fn truncated_values(graph: &Graph) -> Vec<bool> {
    let mut t = vec![false; graph.values.len()];
    for node in &graph.nodes {
        let reads = if let Op::Trunc { bits } = node.op {
            bits > 0
        } else if let Op::Downcast { shift } = node.op {
            shift > 0
        } else {
            false
        };
        if reads && graph.ty(node.inputs[0]).vis.is_secret() {
            t[node.inputs[0].index()] = true;
        }
    }
    t
}

/// A calibrated value's room in its format: the bits it needs (its proved bound without a
/// margin when that fits, since it holds for every input; else its observed range times
/// `margin`), the bits its format holds, and whether a truncation reads it. `None` for a
/// value without a range.
fn room(
    graph: &Graph,
    cal: &Calibration,
    v: ValueId,
    margin: f64,
    truncated: &[bool],
) -> Option<(u32, u32, bool)> {
    let &m = cal.observed.get(&v)?;
    let scale = graph.ty(v).scale;
    let (limit, t) = limit_bits(graph, v, truncated);
    let proved = cal
        .proved
        .get(&v)
        .filter(|&&b| b > 0.0)
        .map(|&b| bits_needed(b, scale, 1.0))
        .filter(|&need| need <= limit);
    let need = proved.unwrap_or_else(|| bits_needed(m, scale, margin));
    Some((need, limit, t))
}

/// Checks every calibrated value against its format with margin `margin` (the module doc's
/// guarantee); a value with a bound the passes proved (a normalised one: `|x / rms(x)| <=
/// sqrt(n)`) is checked against that bound without a margin, since it holds for every input.
pub fn check(graph: &Graph, cal: &Calibration, margin: f64) -> Result<(), CalibrateError> {
    let truncated = truncated_values(graph);
    for (index, node) in graph.nodes.iter().enumerate() {
        let Some((need, limit, t)) = room(graph, cal, node.output, margin, &truncated) else {
            continue;
        };
        if need > limit {
            let ty = graph.ty(node.output);
            return Err(CalibrateError::NoRoom {
                index,
                op: node.op.name(),
                origin: node.origin.clone(),
                range: cal.observed[&node.output],
                margin,
                need,
                scale: ty.scale,
                ring: ty.ring.bits(),
                limit,
                trunc: if t {
                    ", below the truncation's 2^(k-2)"
                } else {
                    ""
                },
            });
        }
    }
    Ok(())
}

/// One line per layer: the largest calibrated range, where it is, and the least headroom
/// (bits between a value's need with the margin and its format's limit).
pub fn summary(graph: &Graph, cal: &Calibration, margin: f64) -> Vec<String> {
    let truncated = truncated_values(graph);
    let mut per: BTreeMap<Layer, (f64, usize, u32)> = BTreeMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let (Some(&m), Some((need, limit, _))) = (
            cal.ranges.get(&node.output),
            room(graph, cal, node.output, margin, &truncated),
        ) else {
            continue;
        };
        let layer = graph
            .node_facts(node.output)
            .map_or(Layer::Other, |f| f.layer);
        let e = per.entry(layer).or_insert((0.0, i, u32::MAX));
        if m > e.0 {
            e.0 = m;
            e.1 = i;
        }
        e.2 = e.2.min(limit.saturating_sub(need));
    }
    per.into_iter()
        .map(|(layer, (m, i, room))| {
            format!(
                "{layer:<12} max |x| <= 2^{} (at '{}'), least headroom {room} bits",
                m.log2() as i32,
                graph.nodes[i].origin
            )
        })
        .collect()
}
