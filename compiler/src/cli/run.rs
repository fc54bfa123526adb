//! `mpcc run`: run a plan with three parties in this process, from `.npy` files, text or a
//! reference file, and write the revealed outputs as `.npy`.

use crate::backend;
use crate::cli::compile::{human_bytes, party_name};
use crate::cli::memory::{self, Stage};
use crate::cli::paths::{check_distinct, output_path, run_outputs, Role};
use crate::io::{self, NpyTensor, Reference};
use crate::report::{self, Network};
use anyhow::{bail, Context};
use mpcc_ir::plan::{InputDecl, Plan};
use mpcc_runtime::{party_data, run_local, HostTensor, RunOptions, RunResult};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Run a plan with the three parties in this process (for testing and demos).
///
/// Inputs come from .npy files (--input), from text through a Hugging Face tokenizer
/// (--text with --tokenizer), or from a reference.json file (--reference, which also prints
/// the secure output beside the plaintext one). Every input is checked against the plan's
/// shape and dtype before any party starts. Each revealed output is written to
/// DIR/<output name>.npy as float32.
///
/// Examples:
///
///   mpcc run bert-tiny.plan --input input_ids=ids.npy --input attention_mask=mask.npy \
///       --input token_type_ids=types.npy --output-dir out/ --profile profile.json
///   mpcc run minilm.plan --text "The quick brown fox." --tokenizer tokenizer.json \
///       --output-dir out/
///   mpcc run bert-tiny.plan --reference models/bert-tiny/reference.json --output-dir out/
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The plan written by `mpcc compile`.
    pub plan: PathBuf,

    /// An input as NAME=FILE.npy (int64 or float32 as the plan declares; int32 and bool
    /// convert to int64, float64 and integers to float32). Repeat once per input.
    #[arg(long = "input", value_name = "NAME=FILE.npy", value_parser = parse_input)]
    pub inputs: Vec<(String, PathBuf)>,

    /// Text to tokenize into input_ids / attention_mask / token_type_ids / position_ids
    /// (those the plan declares), padded or truncated to the plan's sequence length.
    /// Repeat once per batch row.
    #[arg(long, value_name = "TEXT")]
    pub text: Vec<String>,

    /// The Hugging Face tokenizer.json used with --text (default: the one `mpcc compile`
    /// copied beside the plan from an export folder, PLAN.tokenizer.json).
    #[arg(long, value_name = "FILE", requires = "text")]
    pub tokenizer: Option<PathBuf>,

    /// An image (PNG or JPEG) for the plan's image input (pixel_values), resized and
    /// normalised as the export's preprocessor_config.json says (kept in the client file by
    /// `mpcc compile DIR`; without one, ViT's defaults: bilinear resize, 1/255, mean and std
    /// 0.5). Repeat once per batch row.
    #[arg(long, value_name = "FILE")]
    pub image: Vec<PathBuf>,

    /// For a classifier: print the N best labels of each row (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub top_k: usize,

    /// Sentence pooling of token embeddings (overrides the client file's).
    #[arg(long, value_enum)]
    pub pool: Option<crate::client::Pool>,

    /// L2-normalise pooled sentence embeddings (overrides the client file's).
    #[arg(long)]
    pub normalize: bool,

    /// Print the answers (labels and scores, or sentence embeddings) as JSON.
    #[arg(long)]
    pub json: bool,

    /// A reference.json (format onnx-reference-v1): feeds the inputs not given otherwise
    /// and compares each output with the reference (max abs error, cosine).
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,

    /// Directory for the outputs (created if needed).
    #[arg(long, value_name = "DIR")]
    pub output_dir: PathBuf,

    /// Write the measured cost report (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Network model used to estimate times in the --profile report.
    #[arg(long, value_enum, default_value = "lan")]
    pub network: NetworkArg,

    /// The weights file (default: the plan's path with extension .weights).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Shape the in-process links: `lan` (5 Gbit/s, 0.4 ms RTT), `wan` (400 Mbit/s, 40 ms
    /// RTT) or `BW,RTT`, as `mpcc party --shape`. The printed wall time is then the time under
    /// that network.
    #[arg(long, value_name = "lan|wan|BW,RTT")]
    pub shape: Option<String>,

    /// Run the ring-exact plaintext simulation instead of three parties (no shares, no
    /// messages): the VM's arithmetic and rounding on plaintext ring elements. Prints every
    /// step whose value leaves the range its protocol needs, and which of them reach the
    /// outputs. Checks a fixed-point format without an MPC run.
    #[arg(long, conflicts_with_all = ["profile", "shape"])]
    pub simulate: bool,
    /// Worker threads for the parties' local work (the matrix products), shared by the
    /// three parties of this process (default: every core). Results, rounds and bytes do not
    /// depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// A named network model.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum NetworkArg {
    /// 5 Gbit/s, 0.4 ms round trip.
    Lan,
    /// 400 Mbit/s, 40 ms round trip.
    Wan,
}

impl NetworkArg {
    fn model(self) -> Network {
        match self {
            NetworkArg::Lan => Network::LAN,
            NetworkArg::Wan => Network::WAN,
        }
    }
}

/// Parses `NAME=FILE`.
pub fn parse_input(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!(
            "'{s}' is not NAME=FILE.npy (e.g. input_ids=ids.npy)"
        )),
    }
}

/// Runs `mpcc run`.
pub fn main(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        mpcc_runtime::threads::configure(n.into())
            .map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
    }
    let plan = backend::load_plan(&args.plan)?;
    let stage = if args.simulate {
        Stage::Simulate
    } else {
        Stage::RunLocal
    };
    memory::check(&plan, stage)
        .map_err(|e| anyhow::anyhow!("cannot run '{}': {e}", args.plan.display()))?;
    let wpath = args
        .weights
        .clone()
        .unwrap_or_else(|| backend::weights_path(&args.plan));
    let weights = backend::load_weights(&wpath, &plan)?.map(Arc::new);
    let reference = args.reference.as_deref().map(Reference::load).transpose()?;
    let cpath = crate::client::client_path(&args.plan);
    let client = if cpath.exists() {
        Some(crate::client::ClientInfo::load(&cpath)?)
    } else {
        None
    };
    let tokenizer = match (
        &args.tokenizer,
        client.as_ref().and_then(|c| c.tokenizer.as_ref()),
    ) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(name)) => Some(args.plan.with_file_name(name)),
        (None, None) => None,
    };
    if !args.text.is_empty() && tokenizer.is_none() {
        bail!(
            "--text needs a tokenizer: pass --tokenizer FILE, or compile the export folder \
             (`mpcc compile DIR`), which copies its tokenizer.json beside the plan"
        );
    }
    check_outputs(&plan, &args, &wpath, tokenizer.as_deref())?;
    let inputs = gather_inputs(
        &plan,
        &args,
        reference.as_ref(),
        tokenizer.as_deref(),
        client.as_ref(),
    )?;
    let data = party_data(&plan, &inputs, weights.clone());
    for (p, d) in data.iter().enumerate() {
        mpcc_runtime::vm::check_party_data(&plan, p as u8, d)?;
    }
    std::fs::create_dir_all(&args.output_dir).with_context(|| {
        format!(
            "cannot create the output directory '{}'",
            args.output_dir.display()
        )
    })?;
    if args.simulate {
        return simulate(
            &plan,
            &inputs,
            weights.as_deref(),
            &args,
            reference.as_ref(),
        );
    }
    outln!(
        "running {} instructions with 3 parties in this process",
        plan.graph().nodes.len()
    );
    let shape = match &args.shape {
        Some(s) => Some(
            mpcc_runtime::net::LinkShape::parse(s)
                .map_err(|e| anyhow::anyhow!("--shape {s}: {e}"))?,
        ),
        None => None,
    };
    let result = run_with_progress(&plan, data, shape)?;
    // The files first, then the report: a reader of standard output that goes away (`| head`)
    // must not cost the outputs.
    // The outputs and the profile are one set: all of them are written, or none.
    let profile = match &args.profile {
        Some(path) => {
            let json = report::measured(&plan, &result, &args.network.model()).to_json();
            vec![(path.clone(), serde_json::to_vec_pretty(&json)?)]
        }
        None => Vec::new(),
    };
    let written = write_outputs(&plan, &result.outputs, &args.output_dir, profile)?;
    print_stats(&result);
    for line in &written {
        outln!("{line}");
    }
    if let Some(c) = &client {
        answers(&plan, &result, &inputs, c, &args)?;
    }
    if let Some(r) = &reference {
        compare_with_reference(&result.outputs, r, "secure");
    }
    if let Some(path) = &args.profile {
        outln!("profile written to {}", path.display());
    }
    Ok(())
}

/// `mpcc run --simulate`: the plaintext simulation, its range report, the outputs.
fn simulate(
    plan: &Plan,
    inputs: &HashMap<String, HostTensor>,
    weights: Option<&mpcc_ir::Weights>,
    args: &Args,
    reference: Option<&Reference>,
) -> anyhow::Result<()> {
    outln!(
        "simulating {} instructions on plaintext ring elements",
        plan.graph().nodes.len()
    );
    let t0 = std::time::Instant::now();
    let opts = mpcc_runtime::SimOptions::default();
    let result = mpcc_runtime::simulate(plan.graph(), inputs, weights, &opts)?;
    let written = write_outputs(plan, &result.outputs, &args.output_dir, Vec::new())?;
    outln!("wall time:  {:.3} s", t0.elapsed().as_secs_f64());
    match result.first_event() {
        None => outln!("every step stayed inside the range its protocol needs"),
        Some(_) => {
            outln!("steps outside the range their protocol needs (first 20 instructions):");
            for line in result.summary(plan.graph(), 20).lines() {
                outln!("{line}");
            }
        }
    }
    for line in &written {
        outln!("{line}");
    }
    if let Some(r) = reference {
        compare_with_reference(&result.outputs, r, "simulated");
    }
    Ok(())
}

/// Where each revealed output goes: DIR/<file-safe output name>.npy.
/// Refuses, before anything runs or is written, an output file or profile that is the same
/// file as the plan, the weights, an input, the reference, the tokenizer, or another output.
fn check_outputs(
    plan: &Plan,
    args: &Args,
    wpath: &Path,
    tokenizer: Option<&Path>,
) -> anyhow::Result<()> {
    let input_names: Vec<String> = args
        .inputs
        .iter()
        .map(|(n, _)| format!("the input file of '{n}'"))
        .collect();
    let mut inputs = vec![
        Role::new("the plan", &args.plan),
        Role::new("the weights file", wpath),
    ];
    for ((_, file), what) in args.inputs.iter().zip(&input_names) {
        inputs.push(Role::new(what, file));
    }
    if let Some(p) = &args.reference {
        inputs.push(Role::new("the reference", p));
    }
    if let Some(p) = tokenizer {
        inputs.push(Role::new("the tokenizer", p));
    }
    let files = run_outputs(plan, &args.output_dir, None, args.profile.as_deref());
    let outputs: Vec<Role> = files.iter().map(|(w, p)| Role::new(w, p)).collect();
    check_distinct(&inputs, &outputs)?;
    if let Some(p) = &args.profile {
        if p.is_dir() {
            bail!(
                "--profile '{}' is a folder; give a file name such as {}",
                p.display(),
                p.join("profile.json").display()
            );
        }
        if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
            bail!(
                "--profile '{}' exists and is not a regular file (a device, pipe or socket), \
                 which writing it would replace; give a file name (nothing was run)",
                p.display()
            );
        }
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(d) = parent.filter(|d| !d.is_dir()) {
            bail!(
                "--profile '{}': the folder '{}' does not exist; create it first (nothing was run)",
                p.display(),
                d.display()
            );
        }
    }
    Ok(())
}

/// The plan's image input (`pixel_values`, else its one rank-4 float input) made from the
/// `--image` files, one per batch row, preprocessed as the client file says.
fn image_input(
    plan: &Plan,
    images: &[PathBuf],
    client: Option<&crate::client::ClientInfo>,
) -> anyhow::Result<(String, HostTensor)> {
    let rank4: Vec<&InputDecl> = plan
        .body
        .inputs
        .iter()
        .filter(|d| d.dtype == "float32" && d.shape.len() == 4)
        .collect();
    let decl = match rank4.iter().find(|d| d.name == "pixel_values") {
        Some(d) => *d,
        None if rank4.len() == 1 => rank4[0],
        None => bail!(
            "--image fills an image input [batch, channels, height, width]; this plan declares {}",
            plan.body
                .inputs
                .iter()
                .map(|d| format!("{} {} {:?}", d.name, d.dtype, d.shape))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let [b, c, h, w] = decl.shape[..] else {
        bail!(
            "input '{}' is not [batch, channels, height, width]",
            decl.name
        )
    };
    if images.len() != b {
        bail!(
            "the plan takes {b} image(s) in '{}' (its batch); got {} --image; compile with \
             --batch {} or give {b}",
            decl.name,
            images.len(),
            images.len()
        );
    }
    let prep = match client.and_then(|c| c.image.clone()) {
        Some(p) => p,
        None => {
            outln!(
                "note: no image preprocessing in the client file (compile the export folder \
                 with its preprocessor_config.json); using ViT's defaults: bilinear resize to \
                 {h}x{w}, 1/255, mean 0.5, std 0.5"
            );
            crate::client::ImagePrep::default()
        }
    };
    let mut data = Vec::with_capacity(b * c * h * w);
    for path in images {
        data.extend(prep.pixels(path, c, h, w)?);
    }
    Ok((
        decl.name.clone(),
        HostTensor {
            shape: decl.shape.clone(),
            data,
        },
    ))
}

/// Collects every input the plan declares, from --input files, then --text, then
/// --reference, and checks each against its declaration.
fn gather_inputs(
    plan: &Plan,
    args: &Args,
    reference: Option<&Reference>,
    tokenizer: Option<&Path>,
    client: Option<&crate::client::ClientInfo>,
) -> anyhow::Result<HashMap<String, HostTensor>> {
    let mut got: HashMap<String, HostTensor> = HashMap::new();
    for (name, file) in &args.inputs {
        let decl = find_decl(plan, name)?;
        if got.contains_key(name) {
            bail!("input '{name}' is given twice");
        }
        let t = io::read_npy_for(file, decl)?;
        got.insert(name.clone(), io::check_input(plan, decl, t)?);
    }
    if let Some(tok) = tokenizer.filter(|_| !args.text.is_empty()) {
        for (name, tensor) in io::tokenize(tok, &args.text, plan)? {
            if got.contains_key(&name) {
                bail!(
                    "input '{name}' is given by --input and made by --text from the tokenizer; \
                     give it one way"
                );
            }
            let decl = find_decl(plan, &name)?;
            let t = NpyTensor {
                dtype: "int64",
                tensor,
            };
            let t = io::check_input(plan, decl, t).map_err(|e| {
                anyhow::anyhow!(
                    "{e} (made by the tokenizer '{}': does it belong to this model?)",
                    tok.display()
                )
            })?;
            got.insert(name, t);
        }
    }
    if !args.image.is_empty() {
        let (name, t) = image_input(plan, &args.image, client)?;
        if got.contains_key(&name) {
            bail!("input '{name}' is given by --input and made by --image; give it one way");
        }
        let decl = find_decl(plan, &name)?;
        let t = NpyTensor {
            dtype: "float32",
            tensor: t,
        };
        got.insert(name, io::check_input(plan, decl, t)?);
    }
    if let Some(r) = reference {
        for decl in &plan.body.inputs {
            if let (false, Some(t)) = (got.contains_key(&decl.name), r.input(&decl.name)) {
                let t = NpyTensor {
                    dtype: dtype_name(&t.dtype),
                    tensor: t.tensor(),
                };
                got.insert(decl.name.clone(), io::check_input(plan, decl, t)?);
            }
        }
    }
    let missing: Vec<String> = plan
        .body
        .inputs
        .iter()
        .filter(|d| !got.contains_key(&d.name))
        .map(|d| format!("{} ({} {:?})", d.name, d.dtype, d.shape))
        .collect();
    if !missing.is_empty() {
        bail!(
            "no data for input(s) {}; pass each as --input NAME=FILE.npy",
            missing.join(", ")
        );
    }
    Ok(got)
}

fn find_decl<'a>(plan: &'a Plan, name: &str) -> anyhow::Result<&'a InputDecl> {
    plan.body
        .inputs
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = plan.body.inputs.iter().map(|d| d.name.as_str()).collect();
            anyhow::anyhow!(
                "the plan has no input named '{name}'; it declares: {}",
                known.join(", ")
            )
        })
}

fn dtype_name(s: &str) -> &'static str {
    match s {
        "int64" => "int64",
        "int32" => "int32",
        "bool" => "bool",
        "float32" => "float32",
        "float64" => "float64",
        _ => "unknown",
    }
}

/// Runs the three parties, with a progress bar over instructions when stdout is a terminal.
fn run_with_progress(
    plan: &Plan,
    data: [mpcc_runtime::PartyData; 3],
    shape: Option<mpcc_runtime::net::LinkShape>,
) -> anyhow::Result<RunResult> {
    let mut opts = RunOptions {
        shape,
        ..RunOptions::default()
    };
    let bar = std::io::stdout().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(plan.graph().nodes.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} instructions",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    if let Some(bar) = &bar {
        let b = bar.clone();
        opts.progress = Some(Arc::new(move |done, _total| b.set_position(done as u64)));
    }
    let result = run_local(plan, data, &opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

fn print_stats(r: &RunResult) {
    let (rounds, bytes) = r.totals();
    let setup: u64 = r.setup_bytes.iter().sum();
    let slots = r.peak_slot_bytes.iter().copied().max().unwrap_or(0);
    outln!("rounds:     {rounds}");
    outln!(
        "bytes sent: {} (all parties; plus {} of set-up)",
        human_bytes(bytes),
        human_bytes(setup)
    );
    outln!(
        "wall time:  {:.3} s ({} worker threads for local work)",
        r.wall.as_secs_f64(),
        mpcc_runtime::threads::count()
    );
    match peak_rss() {
        Some(rss) => outln!(
            "peak memory: {} (process), {} of live shares (largest party)",
            human_bytes(rss),
            human_bytes(slots)
        ),
        None => outln!(
            "peak memory: {} of live shares (largest party)",
            human_bytes(slots)
        ),
    }
}

/// Peak resident set size of this process (Linux only).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Writes each revealed output as float32 .npy, with the `extra` files (the profile), as one
/// set: every file goes to a temporary name first, so a failure (a full disk) leaves none of
/// them. Returns the line to print for each output.
fn write_outputs(
    plan: &Plan,
    outputs: &BTreeMap<String, HostTensor>,
    dir: &Path,
    extra: Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for decl in &plan.body.outputs {
        let Some(t) = outputs.get(&decl.name) else {
            continue;
        };
        let path = output_path(dir, &decl.name);
        files.push((path.clone(), io::npy_f32_bytes(&path, t)?));
        let to: Vec<String> = decl.to.iter().map(|p| party_name(*p)).collect();
        lines.push(format!(
            "output {} {:?} (revealed to {}) written to {}",
            decl.name,
            t.shape,
            to.join(", "),
            path.display()
        ));
    }
    files.extend(extra);
    let set: Vec<(&Path, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    io::write_all_atomic(&set).map_err(|(path, e)| {
        anyhow::anyhow!(
            "cannot write '{}': {e}; no output of this run was written",
            path.display()
        )
    })?;
    Ok(lines)
}

/// What the client file's task makes of the revealed outputs, computed in the clear on the
/// client's own outputs: labels with softmax scores for a classifier, pooled (and normalised)
/// sentence embeddings for feature extraction (also written as sentence_embedding.npy).
fn answers(
    plan: &Plan,
    r: &RunResult,
    inputs: &HashMap<String, HostTensor>,
    c: &crate::client::ClientInfo,
    args: &Args,
) -> anyhow::Result<()> {
    use crate::client::{pool, top_classes, Task};
    let first = plan
        .body
        .outputs
        .first()
        .and_then(|d| r.outputs.get(&d.name));
    let Some(out) = first else { return Ok(()) };
    let texts = |i: usize| match (args.text.get(i), args.image.get(i)) {
        (Some(t), _) => format!("{t:?}"),
        (None, Some(p)) => p.display().to_string(),
        (None, None) => format!("row {i}"),
    };
    match c.task {
        Some(Task::TextClassification) | Some(Task::ImageClassification) => {
            let classes = *out.shape.last().unwrap_or(&1);
            let top = top_classes(&out.data, classes, args.top_k);
            let rows: Vec<serde_json::Value> = top
                .iter()
                .map(|row| {
                    serde_json::Value::Array(
                        row.iter()
                            .map(|(i, p)| serde_json::json!({"label": c.label(*i), "score": p}))
                            .collect(),
                    )
                })
                .collect();
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for (i, row) in top.iter().enumerate() {
                    let shown: Vec<String> = row
                        .iter()
                        .map(|(k, p)| format!("{} ({p:.4})", c.label(*k)))
                        .collect();
                    outln!("{}: {}", texts(i), shown.join(", "));
                }
            }
        }
        Some(Task::TokenClassification) => {
            let classes = *out.shape.last().unwrap_or(&1);
            let top = top_classes(&out.data, classes, 1);
            let seq = out.shape.get(1).copied().unwrap_or(1);
            // A label for each position the attention mask keeps (padding has none).
            let mask = inputs.get("attention_mask").map(|m| m.data.as_slice());
            let labels: Vec<Vec<String>> = top
                .chunks(seq.max(1))
                .enumerate()
                .map(|(r, row)| {
                    row.iter()
                        .enumerate()
                        .filter(|(j, _)| mask.is_none_or(|m| m.get(r * seq + j) != Some(&0.0)))
                        .map(|(_, t)| c.label(t[0].0))
                        .collect()
                })
                .collect();
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&labels)?);
            } else {
                for (i, row) in labels.iter().enumerate() {
                    outln!("{}: {}", texts(i), row.join(" "));
                }
            }
        }
        Some(Task::FeatureExtraction) => {
            let Some(how) = args.pool.or(c.pool) else {
                return Ok(());
            };
            let mask = inputs.get("attention_mask").map(|m| m.data.as_slice());
            let emb = pool(
                &out.data,
                &out.shape,
                mask,
                how,
                args.normalize || c.normalize,
            )?;
            let d = emb.first().map_or(0, Vec::len);
            let t = HostTensor {
                shape: vec![emb.len(), d],
                data: emb.iter().flatten().copied().collect(),
            };
            let path = args.output_dir.join("sentence_embedding.npy");
            io::write_npy_f32(&path, &t)?;
            if args.json {
                outln!("{}", serde_json::to_string(&emb)?);
            } else {
                for (i, e) in emb.iter().enumerate() {
                    let head: Vec<String> = e.iter().take(4).map(|x| format!("{x:.4}")).collect();
                    outln!(
                        "{}: sentence embedding [{d}] [{}, …]",
                        texts(i),
                        head.join(", ")
                    );
                }
                outln!("sentence embeddings written to {}", path.display());
            }
        }
        None => {}
    }
    Ok(())
}

fn compare_with_reference(
    outputs: &BTreeMap<String, HostTensor>,
    reference: &Reference,
    what: &str,
) {
    for (name, t) in outputs {
        let Some(want) = reference.output(name) else {
            outln!("output {name}: the reference has no output of that name");
            continue;
        };
        if want.shape != t.shape {
            outln!(
                "output {name}: shape {:?}, the reference has {:?}",
                t.shape,
                want.shape
            );
            continue;
        }
        let a = io::agreement(&t.data, &want.data);
        outln!(
            "output {name} vs reference: max abs error {:.3e}, cosine {:.6}",
            a.max_abs,
            a.cosine
        );
        outln!("  {:>12} {:>12}", what, "plaintext");
        for (g, w) in t.data.iter().zip(&want.data).take(8) {
            outln!("  {g:>12.6} {w:>12.6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NAME=FILE parses; a missing name or file is refused with a hint.
    #[test]
    fn input_parsing() {
        assert_eq!(
            parse_input("input_ids=a/b.npy").unwrap(),
            ("input_ids".to_string(), PathBuf::from("a/b.npy"))
        );
        assert!(parse_input("ids.npy").unwrap_err().contains("NAME=FILE"));
        assert!(parse_input("x=").is_err());
    }
}
