//! `mpcc tune`: the cheapest recipe per node (and, with `--per-head`, per attention head)
//! that keeps a model's outputs within an error budget on calibration inputs.
//!
//! **Search.** Start from the base policy (`--approx`, `puma` by default), which must meet
//! the budget itself. Every node a recipe lowers (softmax, GeLU, erf, tanh, sigmoid, SiLU,
//! RMS norm, exp, division, sqrt), or every head of a per-head softmax, is a unit; every
//! recipe of the unit's kind that is cheaper than the base's under `--minimize` is a
//! candidate. Candidates are tried one at a time, the largest saving first; one is kept
//! when the simulated plan (`mpcc accuracy`'s ring-exact simulation, so no MPC run) still
//! meets the budget on every calibration input and output, and a unit takes at most one
//! candidate. A greedy descent, not an exhaustive search: two demotions that each break the
//! budget alone are never tried together, and the order favours the largest single saving.

use crate::backend;
use crate::cli::accuracy::{self, Agreement, OutputReport};
use crate::cli::compile::{human_bytes, parse_shape, policy_parser};
use crate::report::{self, Network};
use anyhow::Context;
use mpcc_ir::plan::Plan;
use mpcc_ir::Weights;
use mpcc_passes::policy::{find_recipe, recipes_for_kind};
use mpcc_passes::recipes::RecipeKind;
use mpcc_passes::{Override, Policy};
use std::path::PathBuf;

/// Find the cheapest recipes per node that keep the answer within an error budget.
///
/// Simulates the plan (the VM's arithmetic, no shares) on the calibration inputs for each
/// candidate recipe choice, keeps the cheapest set that meets --budget on every input and
/// output (against onnxruntime's outputs in the calibration files), and writes it as an
/// overrides file for `mpcc compile --approx-overrides`. Prints the chosen recipes, the
/// predicted cost against the base policy, and the accuracy reached.
///
/// Examples:
///   mpcc tune models/bert-tiny --calibrate models/bert-tiny/reference.json \
///       --budget cos=0.999 -o overrides.json
///   mpcc tune vit/model.onnx --calibrate ref.json --budget argmax=1.0 --per-head \
///       --minimize rounds -o vit-overrides.json
///   mpcc compile vit/model.onnx -o vit.plan --approx-overrides vit-overrides.json ...
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The ONNX model (a .onnx file, or the export folder holding model.onnx).
    pub model: PathBuf,

    /// Calibration inputs, as `mpcc accuracy --calibrate` takes them: a reference.json
    /// (onnx-reference-v1), a folder of NAME.npy, or a text file with one input per line
    /// (with --input-shape). Repeat for several; the budget must hold on each, against the
    /// exact model.
    #[arg(long, value_name = "FILE", required = true)]
    pub calibrate: Vec<PathBuf>,

    /// Concrete shape of an input, NAME=D0,D1,... (default: the calibration file's shapes).
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = parse_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,

    /// The error budget against onnxruntime, per output and input: cos=C (cosine at least
    /// C), maxabs=E (largest absolute error at most E) or argmax=A (at least the fraction A
    /// of rows with onnxruntime's argmax, for logits).
    #[arg(long, value_name = "cos=C|maxabs=E|argmax=A", value_parser = parse_budget)]
    pub budget: Budget,

    /// Where to write the overrides (JSON, as `mpcc compile --approx-overrides` reads).
    #[arg(short = 'o', long = "output", value_name = "FILE.json")]
    pub output: PathBuf,

    /// What to make cheapest: bytes sent, rounds, or the predicted time on the WAN (400
    /// Mbit/s, 40 ms) or LAN (5 Gbit/s, 0.4 ms) model.
    #[arg(long, value_enum, default_value = "bytes")]
    pub minimize: Minimize,

    /// The base policy the search starts from.
    #[arg(long, value_name = "POLICY", default_value = "puma", value_parser = policy_parser())]
    pub approx: Policy,

    /// Choose the softmax recipe per attention head, not per node.
    #[arg(long)]
    pub per_head: bool,

    /// Fraction bits (as `mpcc compile --frac-bits`).
    #[arg(long, value_name = "BITS", default_value_t = 18)]
    pub frac_bits: u32,
}

/// An error budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// Cosine at least this.
    Cos(f64),
    /// Largest absolute error at most this.
    MaxAbs(f64),
    /// Argmax agreement at least this (outputs without logits rows must match by cosine
    /// 0.99 or better).
    Argmax(f64),
}

impl Budget {
    /// Whether `a` meets the budget.
    pub fn met(&self, a: &Agreement) -> bool {
        match *self {
            Budget::Cos(c) => a.cosine >= c,
            Budget::MaxAbs(e) => a.max_abs <= e,
            Budget::Argmax(f) => match a.argmax {
                Some(got) => got >= f,
                None => a.cosine >= 0.99,
            },
        }
    }
}

/// Parses `cos=C`, `maxabs=E` or `argmax=A`.
pub fn parse_budget(s: &str) -> Result<Budget, String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not cos=C, maxabs=E or argmax=A"))?;
    let x: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("'{v}' in '{s}' is not a number"))?;
    match k.trim() {
        "cos" if (-1.0..=1.0).contains(&x) => Ok(Budget::Cos(x)),
        "maxabs" if x >= 0.0 => Ok(Budget::MaxAbs(x)),
        "argmax" if (0.0..=1.0).contains(&x) => Ok(Budget::Argmax(x)),
        "cos" | "argmax" => Err(format!("'{s}': {k} takes a value in [0, 1]")),
        "maxabs" => Err(format!("'{s}': maxabs takes a value of at least 0")),
        _ => Err(format!(
            "unknown budget '{k}' in '{s}' (cos, maxabs or argmax)"
        )),
    }
}

/// What `--minimize` makes cheapest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Minimize {
    /// Bytes sent by all parties.
    Bytes,
    /// Communication rounds.
    Rounds,
    /// Predicted time on the WAN model.
    TimeWan,
    /// Predicted time on the LAN model.
    TimeLan,
}

/// A plan's predicted cost: bytes, rounds, and the value `--minimize` compares.
#[derive(Clone, Copy, Debug)]
struct Cost {
    bytes: u64,
    rounds: u64,
    score: f64,
}

/// One unit of the search: a node (and head) a recipe lowers.
#[derive(Clone, Debug)]
struct Unit {
    origin: String,
    kind: RecipeKind,
    head: Option<usize>,
}

impl Unit {
    /// The override giving this unit `recipe`.
    fn with(&self, recipe: &str) -> anyhow::Result<Override> {
        let mut sel = format!("node:{}", self.origin);
        if let Some(h) = self.head {
            sel.push_str(&format!(",head:{h}"));
        }
        format!("{sel}={recipe}")
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn label(&self) -> String {
        match self.head {
            Some(h) => format!("{} head {h}", self.origin),
            None => self.origin.clone(),
        }
    }
}

/// What every candidate shares: the baseline (calibration files, exact model) and the
/// arguments.
struct Ctx {
    base: accuracy::Baseline,
    args: Args,
}

/// One evaluated recipe choice: its predicted cost, whether it meets the budget, and the
/// worst agreement per output.
struct Eval {
    cost: Cost,
    ok: bool,
    worst: Vec<(String, Agreement)>,
}

impl Ctx {
    fn compile(&self, overrides: &[Override]) -> anyhow::Result<(Plan, Weights)> {
        let opts = self.base.options(self.args.approx, overrides);
        Ok(backend::compile(&self.base.model, &opts)?)
    }

    fn cost(&self, plan: &Plan) -> Cost {
        let net = match self.args.minimize {
            Minimize::TimeLan => Network::LAN,
            _ => Network::WAN,
        };
        let t = report::predicted(plan, &net).total;
        let score = match self.args.minimize {
            Minimize::Bytes => t.bytes_sent as f64,
            Minimize::Rounds => t.rounds as f64,
            Minimize::TimeWan | Minimize::TimeLan => t.est_time_s,
        };
        Cost {
            bytes: t.bytes_sent,
            rounds: t.rounds,
            score,
        }
    }

    /// Compiles `overrides` once, then costs and measures the plan.
    fn evaluate(&self, overrides: &[Override]) -> anyhow::Result<Eval> {
        let (plan, weights) = self.compile(overrides)?;
        let agreement = |o: &OutputReport| {
            o.vs_onnxruntime
                .clone()
                .unwrap_or_else(|| o.vs_exact.clone())
        };
        let report =
            self.base
                .measure_while(&plan, &weights, self.args.approx, overrides, &|o| {
                    self.args.budget.met(&agreement(o))
                })?;
        let mut ok = true;
        let mut worst: Vec<(String, Agreement)> = Vec::new();
        for o in &report.outputs {
            let a = agreement(o);
            ok &= self.args.budget.met(&a);
            match worst.iter_mut().find(|(n, _)| *n == o.output) {
                Some((_, w)) if a.cosine < w.cosine => *w = a,
                Some(_) => {}
                None => worst.push((o.output.clone(), a)),
            }
        }
        Ok(Eval {
            cost: self.cost(&plan),
            ok,
            worst,
        })
    }
}

/// The units of the model: its nodes that a recipe lowers, split by head with `per_head`.
fn units(ctx: &Ctx) -> Vec<Unit> {
    let g = ctx.base.exact_graph();
    let mut out: Vec<Unit> = Vec::new();
    for node in &g.nodes {
        let Some(kind) = RecipeKind::of(&node.op) else {
            continue;
        };
        if out.iter().any(|u| u.origin == node.origin) {
            continue;
        }
        let heads = mpcc_passes::ctx::head_axis(g, node)
            .map(|(_, h)| h)
            .filter(|_| ctx.args.per_head);
        match heads {
            Some(h) => out.extend((0..h).map(|head| Unit {
                origin: node.origin.clone(),
                kind,
                head: Some(head),
            })),
            None => out.push(Unit {
                origin: node.origin.clone(),
                kind,
                head: None,
            }),
        }
    }
    out
}

fn describe(worst: &[(String, Agreement)]) -> String {
    worst
        .iter()
        .map(|(n, a)| {
            let mut s = format!("{n}: cosine {:.6}, max abs {:.3e}", a.cosine, a.max_abs);
            if let Some(am) = a.argmax {
                s.push_str(&format!(", argmax {:.3}", am));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs `mpcc tune`.
pub fn main(args: Args) -> anyhow::Result<()> {
    let base = accuracy::Baseline::new(
        &args.model,
        &args.calibrate,
        &args.input_shapes,
        args.frac_bits,
    )?;
    let output = args.output.clone();
    let ctx = Ctx { base, args };
    let start = ctx.evaluate(&[])?;
    let base_cost = start.cost;
    outln!(
        "base `--approx {}`: {} rounds, {} sent; {}",
        ctx.args.approx,
        base_cost.rounds,
        human_bytes(base_cost.bytes),
        describe(&start.worst)
    );
    if !start.ok {
        anyhow::bail!(
            "the base policy `{}` itself misses the budget {:?} on the calibration inputs; \
             loosen the budget or start from a more accurate --approx",
            ctx.args.approx,
            ctx.args.budget
        );
    }
    let base = ctx.args.approx.recipes();
    let mut candidates: Vec<(Unit, &'static str, f64)> = Vec::new();
    let units = units(&ctx);
    for u in &units {
        for name in recipes_for_kind(u.kind) {
            let Some(info) = find_recipe(name) else {
                continue;
            };
            let mut r = *base;
            r.set(info.recipe);
            if r == *base {
                continue;
            }
            let c = ctx.cost(&ctx.compile(&[u.with(name)?])?.0);
            if c.score < base_cost.score {
                candidates.push((u.clone(), name, base_cost.score - c.score));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
    outln!(
        "{} unit(s), {} cheaper candidate(s); trying the largest saving first",
        units.len(),
        candidates.len()
    );
    let mut chosen: Vec<(Unit, &'static str)> = Vec::new();
    let mut overrides: Vec<Override> = Vec::new();
    let mut last = start;
    for (u, name, _) in &candidates {
        if chosen.iter().any(|(c, _)| c.label() == u.label()) {
            continue;
        }
        let mut trial = overrides.clone();
        trial.push(u.with(name)?);
        let e = ctx.evaluate(&trial)?;
        outln!(
            "  {} {} = {name}: {}",
            if e.ok { "keep" } else { "drop" },
            u.label(),
            describe(&e.worst)
        );
        if e.ok {
            overrides = trial;
            chosen.push((u.clone(), name));
            last = e;
        }
    }
    let (cost, acc) = (last.cost, last.worst);
    let json: Vec<serde_json::Value> = chosen
        .iter()
        .map(|(u, name)| {
            let mut select = serde_json::Map::new();
            select.insert("node".into(), u.origin.clone().into());
            if let Some(h) = u.head {
                select.insert("head".into(), h.into());
            }
            serde_json::json!({"select": select, "recipe": name})
        })
        .collect();
    crate::io::write_file(&output, serde_json::to_string_pretty(&json)?.as_bytes())
        .with_context(|| format!("cannot write the overrides to '{}'", output.display()))?;
    outln!("chosen: {} override(s)", chosen.len());
    for (u, name) in &chosen {
        outln!("  {} = {name}", u.label());
    }
    outln!(
        "predicted: {} rounds, {} sent, against {} rounds, {} sent for `--approx {}`",
        cost.rounds,
        human_bytes(cost.bytes),
        base_cost.rounds,
        human_bytes(base_cost.bytes),
        ctx.args.approx
    );
    outln!("accuracy on the calibration inputs: {}", describe(&acc));
    outln!("overrides written to {}", output.display());
    Ok(())
}
