//! `mpcc accuracy`: what a policy and its overrides do to a model's answer, without an MPC
//! run. It compiles as `mpcc compile` would, runs the plan in the ring-exact plaintext
//! simulation (the VM's arithmetic and rounding, no shares, so it is fast) on calibration
//! inputs, and compares each output with the exact float model (the front end's graph,
//! before any approximation, in the IR's f64 interpreter) and with onnxruntime's output in
//! the calibration file.

use crate::backend::{self, CompileOptions};
use crate::cli::compile::{parse_shape, policy_parser};
use crate::frontend::FrontendOptions;
use crate::io::{self, Reference};
use anyhow::Context;
use mpcc_ir::plan::Plan;
use mpcc_ir::{Op, Weights};
use mpcc_passes::{Override, PassOptions, Policy};
use mpcc_runtime::HostTensor;
use std::collections::HashMap;
use std::path::PathBuf;

/// Measure what the approximations of a policy do to a model's outputs.
///
/// Compiles MODEL as `mpcc compile` would, runs the plan in the ring-exact plaintext
/// simulation on each calibration file's inputs, and prints per output: the max abs error,
/// the mean relative error (sum |a - b| / sum |b|), the cosine and, for an output whose
/// rows are logits, the argmax agreement, against the exact float model (no approximation,
/// f64) and against onnxruntime's output in the file; then the same figures per layer, for
/// the output of each layer's last ONNX node against the exact model. The simulation
/// computes what `mpcc run` computes up to the truncations' random rounding (one unit of
/// 2^-frac_bits per truncation).
///
/// Examples:
///   mpcc accuracy models/bert-tiny/model.onnx --calibrate models/bert-tiny/reference.json
///   mpcc accuracy minilm/model.onnx --calibrate ref.json --approx mpcformer --json
///   mpcc accuracy minilm --calibrate sentences.txt --input-shape input_ids=1,128 \
///       --input-shape attention_mask=1,128 --input-shape token_type_ids=1,128
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The ONNX model (a .onnx file, or the export folder holding model.onnx).
    pub model: PathBuf,

    /// Calibration inputs: a reference.json (format onnx-reference-v1, as the bundled
    /// models carry) with inputs and onnxruntime's outputs; a folder with one NAME.npy per
    /// input; or a text file with one input per line, encoded with the export's
    /// tokenizer.json (give the shapes with --input-shape). Only a reference.json has
    /// onnxruntime's outputs to compare with; every input is compared with the exact model.
    /// Repeat for several.
    #[arg(long, value_name = "FILE", required = true)]
    pub calibrate: Vec<PathBuf>,

    /// Concrete shape of an input, NAME=D0,D1,... (default: the calibration file's shapes).
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = parse_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,

    /// Approximation policy (as `mpcc compile --approx`).
    #[arg(long, value_name = "POLICY", default_value = "puma", value_parser = policy_parser())]
    pub approx: Policy,

    /// Per-node recipes (as `mpcc compile --approx-override`).
    #[arg(long = "approx-override", value_name = "SELECTOR=RECIPE", value_parser = crate::cli::compile::parse_override)]
    pub approx_override: Vec<Override>,

    /// Fraction bits (as `mpcc compile --frac-bits`).
    #[arg(long, value_name = "BITS", default_value_t = 18)]
    pub frac_bits: u32,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One output's agreement with one reference.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Agreement {
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Sum |a - b| / sum |b|.
    pub mean_rel: f64,
    /// Cosine of the flat vectors.
    pub cosine: f64,
    /// Fraction of rows (over the last axis) whose argmax agrees, for logits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argmax: Option<f64>,
}

/// One output of one calibration input.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OutputReport {
    /// The calibration file.
    pub input: String,
    /// The output.
    pub output: String,
    /// The simulated plan against the exact float model.
    pub vs_exact: Agreement,
    /// The simulated plan against onnxruntime (when the file holds this output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_onnxruntime: Option<Agreement>,
    /// The simulated values.
    #[serde(skip)]
    pub simulated: Vec<f64>,
}

/// One layer's value on one calibration input: the output of the layer's last ONNX node,
/// simulated against the exact float model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerReport {
    /// The calibration file.
    pub input: String,
    /// The layer (`embeddings`, `layer.N`, `pooler`, `other`).
    pub layer: String,
    /// The ONNX node whose output is compared.
    pub node: String,
    /// The simulated value against the exact float model's.
    pub vs_exact: Agreement,
}

/// The report: the policy, the overrides and every output of every calibration input.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Policy name.
    pub policy: String,
    /// Overrides as written.
    pub overrides: Vec<String>,
    /// Per input and output.
    pub outputs: Vec<OutputReport>,
    /// Per input and layer.
    pub layers: Vec<LayerReport>,
}

/// The last node of a layer of the exact graph: the layer, the node's ONNX name, its index
/// and its output's shape.
type LayerEnd = (String, String, usize, Vec<usize>);

/// The [`LayerEnd`] of each layer of the exact graph.
fn layer_ends(exact: &mpcc_ir::Graph) -> Vec<LayerEnd> {
    let mut last: std::collections::BTreeMap<mpcc_ir::Layer, usize> = Default::default();
    for (i, n) in exact.nodes.iter().enumerate() {
        if n.op.is_source() || matches!(n.op, Op::Output { .. }) {
            continue;
        }
        if let Some(f) = exact.node_facts(n.output) {
            last.insert(f.layer, i);
        }
    }
    last.into_iter()
        .map(|(layer, i)| {
            let n = &exact.nodes[i];
            let shape = exact.ty(n.output).shape.clone();
            (layer.to_string(), n.origin.clone(), i, shape)
        })
        .collect()
}

fn agreement(got: &[f64], want: &[f64], logits: Option<usize>) -> Agreement {
    let a = io::agreement(got, want);
    let diff: f64 = got.iter().zip(want).map(|(x, y)| (x - y).abs()).sum();
    let norm: f64 = want.iter().map(|y| y.abs()).sum();
    let argmax = logits.filter(|n| *n > 1).map(|n| {
        let best = |r: &[f64]| {
            (0..r.len())
                .max_by(|i, j| r[*i].total_cmp(&r[*j]))
                .unwrap_or(0)
        };
        let rows: Vec<(usize, usize)> = got
            .chunks(n)
            .zip(want.chunks(n))
            .map(|(g, w)| (best(g), best(w)))
            .collect();
        rows.iter().filter(|(g, w)| g == w).count() as f64 / rows.len().max(1) as f64
    });
    Agreement {
        max_abs: a.max_abs,
        mean_rel: if norm > 0.0 { diff / norm } else { diff },
        cosine: a.cosine,
        argmax,
    }
}

/// The exact model's answer on one calibration file: its outputs, and the value at each
/// layer end ([`layer_ends`], by node index).
struct ExactRun {
    outputs: HashMap<String, Vec<f64>>,
    at: HashMap<usize, Vec<f64>>,
}

/// What measuring any recipe choice of one model shares, computed once: the calibration
/// files, the front end's options, the exact model with its layer ends, and (at the first
/// measurement) its answer on each file. `mpcc tune` measures many plans against one.
pub struct Baseline {
    /// The ONNX file.
    pub model: PathBuf,
    /// The front end's options (the calibration files' shapes, `--input-shape` over them).
    pub frontend: FrontendOptions,
    refs: Vec<(PathBuf, Reference)>,
    exact: crate::frontend::Loaded,
    ends: Vec<LayerEnd>,
    runs: std::cell::OnceCell<Vec<ExactRun>>,
}

impl Baseline {
    /// Loads the calibration files and the exact model. `model` is a .onnx file or the
    /// export folder holding model.onnx.
    pub fn new(
        model: &std::path::Path,
        calibrate: &[PathBuf],
        input_shapes: &[(String, Vec<usize>)],
        frac_bits: u32,
    ) -> anyhow::Result<Baseline> {
        let model = if model.is_dir() {
            model.join("model.onnx")
        } else {
            model.to_path_buf()
        };
        let is_json = |p: &PathBuf| p.extension().is_some_and(|e| e == "json");
        let mut refs: Vec<(PathBuf, Reference)> = calibrate
            .iter()
            .filter(|p| is_json(p))
            .map(|p| Ok((p.clone(), Reference::load(p)?)))
            .collect::<Result<_, io::IoError>>()?;
        if calibrate.is_empty() {
            anyhow::bail!("give at least one --calibrate file");
        }
        let mut shapes = refs.first().map(|r| r.1.input_shapes()).unwrap_or_default();
        for (name, dims) in input_shapes {
            match shapes.iter_mut().find(|(n, _)| n == name) {
                Some(s) => s.1 = dims.clone(),
                None => shapes.push((name.clone(), dims.clone())),
            }
        }
        let frontend = FrontendOptions {
            input_shapes: shapes,
            frac_bits,
            ..FrontendOptions::default()
        };
        let exact = crate::frontend::load(&model, &frontend)?;
        let others: Vec<PathBuf> = calibrate.iter().filter(|p| !is_json(p)).cloned().collect();
        if !others.is_empty() {
            // Text files and folders of NAME.npy, read as `mpcc compile --calibrate` reads
            // them (for a probe plan's inputs), as references without onnxruntime outputs.
            let (probe, _) = backend::compile(
                &model,
                &CompileOptions {
                    frontend: frontend.clone(),
                    passes: PassOptions::default(),
                },
            )?;
            let tokenizer = model.with_file_name("tokenizer.json");
            let tokenizer = tokenizer.exists().then_some(tokenizer.as_path());
            for (label, host) in crate::calibrate::load_inputs(&others, &probe, tokenizer)? {
                let inputs = probe
                    .body
                    .inputs
                    .iter()
                    .filter_map(|d| {
                        host.get(&d.name).map(|t| io::RefTensor {
                            name: d.name.clone(),
                            dtype: d.dtype.clone(),
                            shape: t.shape.clone(),
                            data: t.data.clone(),
                        })
                    })
                    .collect();
                let r = Reference {
                    format: "calibration input".into(),
                    model: String::new(),
                    inputs,
                    outputs: Vec::new(),
                };
                refs.push((PathBuf::from(label), r));
            }
        }
        let ends = layer_ends(&exact.graph);
        Ok(Baseline {
            model,
            frontend,
            refs,
            exact,
            ends,
            runs: std::cell::OnceCell::new(),
        })
    }

    /// The exact model's graph (the front end's, before any lowering).
    pub fn exact_graph(&self) -> &mpcc_ir::Graph {
        &self.exact.graph
    }

    /// The compile options of `policy` with `overrides`.
    pub fn options(&self, policy: Policy, overrides: &[Override]) -> CompileOptions {
        CompileOptions {
            frontend: self.frontend.clone(),
            passes: PassOptions {
                policy,
                overrides: overrides.to_vec(),
                ..PassOptions::default()
            },
        }
    }

    /// Each calibration file's inputs as `plan` checks them.
    fn inputs(&self, plan: &Plan) -> anyhow::Result<Vec<HashMap<String, HostTensor>>> {
        self.refs
            .iter()
            .map(|(path, r)| {
                let mut host = HashMap::new();
                for decl in &plan.body.inputs {
                    let t = r.input(&decl.name).with_context(|| {
                        format!("'{}' has no input '{}'", path.display(), decl.name)
                    })?;
                    host.insert(decl.name.clone(), io::check_input(plan, decl, t.npy())?);
                }
                Ok(host)
            })
            .collect()
    }

    /// The exact model's answers, evaluated at the first call.
    fn exact_runs(&self, inputs: &[HashMap<String, HostTensor>]) -> anyhow::Result<&[ExactRun]> {
        if let Some(r) = self.runs.get() {
            return Ok(r);
        }
        let mut runs = Vec::new();
        for host in inputs {
            let plain = host
                .iter()
                .map(|(k, t)| (k.clone(), t.data.clone()))
                .collect();
            let mut at = HashMap::new();
            let outputs = mpcc_ir::interp::eval_observed(
                &self.exact.graph,
                &plain,
                &self.exact.weights,
                &mut |i, t| {
                    if self.ends.iter().any(|e| e.2 == i) {
                        at.insert(i, t.data.clone());
                    }
                },
            )
            .map_err(|e| anyhow::anyhow!("the exact model does not evaluate: {e}"))?;
            runs.push(ExactRun { outputs, at });
        }
        Ok(self.runs.get_or_init(|| runs))
    }

    /// Simulates `plan` with `weights` on every calibration file and compares it with the
    /// exact model and onnxruntime; `policy` and `overrides` label the report.
    pub fn measure(
        &self,
        plan: &Plan,
        weights: &Weights,
        policy: Policy,
        overrides: &[Override],
    ) -> anyhow::Result<Report> {
        self.measure_while(plan, weights, policy, overrides, &|_| true)
    }

    /// As [`Baseline::measure`], but stops after the first calibration input with an output
    /// for which `keep_going` is false (`mpcc tune` drops a candidate at its first miss, so
    /// a failing candidate costs one simulation instead of one per input).
    pub fn measure_while(
        &self,
        plan: &Plan,
        weights: &Weights,
        policy: Policy,
        overrides: &[Override],
        keep_going: &dyn Fn(&OutputReport) -> bool,
    ) -> anyhow::Result<Report> {
        let inputs = self.inputs(plan)?;
        let exact = self.exact_runs(&inputs)?;
        // Per layer end, the plan instruction that defines the same ONNX node's value.
        let g = plan.graph();
        let points: Vec<(&LayerEnd, usize)> = self
            .ends
            .iter()
            .filter_map(|e| {
                g.nodes
                    .iter()
                    .rposition(|m| {
                        m.origin == e.1
                            && !matches!(m.op, Op::Output { .. })
                            && g.ty(m.output).shape == e.3
                    })
                    .map(|j| (e, j))
            })
            .collect();
        let mut outputs = Vec::new();
        let mut layers = Vec::new();
        for (((path, r), host), want) in self.refs.iter().zip(&inputs).zip(exact) {
            let first = outputs.len();
            let mut sim_at: HashMap<usize, Vec<f64>> = HashMap::new();
            let sim = mpcc_runtime::sim::simulate_observed(
                g,
                host,
                Some(weights),
                &mpcc_runtime::SimOptions::default(),
                &mut |j, ty, vals| {
                    if points.iter().any(|p| p.1 == j) {
                        let d = vals
                            .iter()
                            .map(|v| mpcc_runtime::ring::decode(*v, ty.scale, ty.ring))
                            .collect();
                        sim_at.insert(j, d);
                    }
                },
            )?;
            for ((layer, node, i, _), j) in &points {
                if let (Some(a), Some(b)) = (sim_at.get(j), want.at.get(i)) {
                    layers.push(LayerReport {
                        input: path.display().to_string(),
                        layer: layer.clone(),
                        node: node.clone(),
                        vs_exact: agreement(a, b, None),
                    });
                }
            }
            for node in &g.nodes {
                let Op::Output { name, .. } = &node.op else {
                    continue;
                };
                let Some(got) = sim.outputs.get(name) else {
                    continue;
                };
                let logits = name
                    .contains("logits")
                    .then(|| got.shape.last().copied())
                    .flatten();
                let exact_v = want
                    .outputs
                    .get(name)
                    .with_context(|| format!("no exact '{name}'"))?;
                outputs.push(OutputReport {
                    input: path.display().to_string(),
                    output: name.clone(),
                    vs_exact: agreement(&got.data, exact_v, logits),
                    vs_onnxruntime: r
                        .output(name)
                        .map(|o| agreement(&got.data, &o.data, logits)),
                    simulated: got.data.clone(),
                });
            }
            if !outputs[first..].iter().all(keep_going) {
                break;
            }
        }
        Ok(Report {
            policy: policy.name().to_string(),
            overrides: overrides.iter().map(|o| o.to_string()).collect(),
            outputs,
            layers,
        })
    }
}

/// Measures `args`'s policy on `args`'s calibration inputs.
pub fn measure(args: &Args) -> anyhow::Result<Report> {
    let base = Baseline::new(
        &args.model,
        &args.calibrate,
        &args.input_shapes,
        args.frac_bits,
    )?;
    let opts = base.options(args.approx, &args.approx_override);
    let (plan, weights) = backend::compile(&base.model, &opts)?;
    base.measure(&plan, &weights, args.approx, &args.approx_override)
}

/// Runs `mpcc accuracy`.
pub fn main(args: Args) -> anyhow::Result<()> {
    let r = measure(&args)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    outln!(
        "policy {}{}: the simulated plan against the exact float model and onnxruntime",
        r.policy,
        if r.overrides.is_empty() {
            String::new()
        } else {
            format!(" with {}", r.overrides.join(" "))
        }
    );
    let show = |a: &Agreement| {
        format!(
            "max abs {:.3e}, mean rel {:.3e}, cosine {:.6}{}",
            a.max_abs,
            a.mean_rel,
            a.cosine,
            a.argmax
                .map(|x| format!(", argmax {:.1}%", 100.0 * x))
                .unwrap_or_default()
        )
    };
    for o in &r.outputs {
        outln!("{} / {}:", o.input, o.output);
        outln!("  vs exact:       {}", show(&o.vs_exact));
        if let Some(a) = &o.vs_onnxruntime {
            outln!("  vs onnxruntime: {}", show(a));
        }
    }
    let mut input = "";
    for l in &r.layers {
        if l.input != input {
            input = &l.input;
            outln!("{input}: per layer (the output of its last ONNX node), vs exact:");
        }
        outln!("  {:<12} {} ('{}')", l.layer, show(&l.vs_exact), l.node);
    }
    Ok(())
}
