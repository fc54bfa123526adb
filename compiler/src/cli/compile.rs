//! `mpcc compile`: ONNX model to plan and weights files, with a short summary.

use crate::backend::{self, CompileOptions};
use crate::calibrate;
use crate::cli::memory::{self, Stage};
use crate::cli::paths::{check_distinct, Role};
use crate::frontend::{FrontendOptions, PublicConst};
use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use mpcc_ir::plan::Plan;
use mpcc_ir::{PartyId, Ring, CLIENT, HELPER, MODEL_OWNER};
use mpcc_passes::select::KEYS;
use mpcc_passes::{parse_overrides_json, Override, PassOptions, Policy, POLICIES, RECIPES};
use std::path::{Path, PathBuf};

/// Compile an ONNX model into an MPC plan and the model owner's weights file.
///
/// Writes PLAN and, next to it, PLAN with the extension `.weights` (the owner's weights,
/// bound to this plan by its digest). Every dynamic input dimension must be fixed with
/// --input-shape; the plan only runs on inputs of exactly those shapes.
///
/// Example (the bundled BERT-tiny at batch 1, sequence 16):
///
///   mpcc compile models/bert-tiny/model.onnx -o bert-tiny.plan \
///       --input-shape input_ids=1,16 --input-shape attention_mask=1,16 \
///       --input-shape token_type_ids=1,16
///
/// Approximations: --approx POLICY gives every node the policy's recipes;
/// --approx-override SELECTOR=RECIPE gives the nodes it selects another recipe
/// (repeatable; later overrides win; each must select some node). For example:
///
///   # layer 3's softmax as PUMA's paper runs it (8 exp squarings)
///   --approx-override op:Softmax,layer:3=puma-paper
///   # only head 1 of layer 0's attention softmax
///   --approx-override op:Softmax,layer:0,head:1=puma-paper-softmax
///   # PUMA's published GeLU table in every layer
///   --approx-override op:gelu=puma-paper-gelu
///   # every op of layer 1, by ONNX node name
///   --approx-override 'node:/encoder/layer.1/*=puma-paper'
///
/// Fraction bits: --frac-bits F must lie in 12..=29 (in the ring Z_2^64). A product of two
/// values at scale 2^F sits at scale 2^(2F), and a secret truncation needs |x| < 2^(k-2)
/// (k = 64), so a product, or a sum of products such as a dot product, of magnitude M
/// needs 2F + log2(M) < 62; 29 leaves room for M < 2^4 = 16, and each bit more halves it
/// (at 31 not even 1 * 1 fits). Below 12 bits the approximations' coefficients and
/// thresholds (GeLU, softmax, LayerNorm) lose too much precision to give useful outputs.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The ONNX model: the folder `optimum-cli export onnx` writes (model.onnx, config.json,
    /// tokenizer.json or preprocessor_config.json), or a bare .onnx file.
    pub model: PathBuf,

    /// Where to write the plan; the weights go to the same path with extension `.weights`.
    #[arg(short = 'o', long = "output", value_name = "PLAN")]
    pub output: PathBuf,

    /// Concrete shape of a graph input, NAME=D0,D1[,D2...] (repeat once per input; wins over
    /// --batch, --seq and --image-size).
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = parse_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,

    /// Batch size of the text inputs (input_ids, attention_mask, token_type_ids,
    /// position_ids) and of an image input; use with --seq or --image-size.
    #[arg(long, value_name = "B")]
    pub batch: Option<usize>,

    /// Sequence length of the text inputs: with --batch, fills their shapes as [B, S].
    #[arg(long, value_name = "S")]
    pub seq: Option<usize>,

    /// Height and width of an image input (pixel_values [B, C, H, W], C from the model or its config.json num_channels).
    #[arg(long, value_name = "H,W", value_parser = parse_hw)]
    pub image_size: Option<(usize, usize)>,

    /// The task (default: from the export's config.json `architectures`); written to the
    /// client file beside the plan, which `mpcc run` reads to print labels or embeddings.
    #[arg(long, value_enum)]
    pub task: Option<crate::client::Task>,

    /// Sentence pooling of a feature-extraction model's token embeddings (client side).
    #[arg(long, value_enum)]
    pub pool: Option<crate::client::Pool>,

    /// L2-normalise the pooled sentence embeddings (client side), as sentence-transformers.
    #[arg(long)]
    pub normalize: bool,

    /// Approximation policy: the recipes for GeLU, softmax, LayerNorm and friends.
    #[arg(long, value_name = "POLICY", default_value = "puma", value_parser = policy_parser())]
    pub approx: Policy,

    /// Give the nodes SELECTOR selects RECIPE instead of the policy's (repeatable), e.g.
    /// op:Softmax,layer:3=puma-paper.
    #[arg(long = "approx-override", value_name = "SELECTOR=RECIPE",
          value_parser = parse_override, long_help = override_help())]
    pub approx_override: Vec<Override>,

    /// Overrides from a JSON file: a list of {"select": {"op": "Softmax", "layer": 3},
    /// "recipe": "puma-paper"}, applied before the --approx-override flags.
    #[arg(long = "approx-overrides", value_name = "FILE.json")]
    pub approx_overrides: Option<PathBuf>,

    /// MPCViT's attention map, a JSON object layer -> head -> kind, e.g.
    /// {"0": {"0": "relu-softmax", "1": "scaling"}, "1": {"0": "softmax"}}; kinds are
    /// `relu-softmax`, `scaling` (scaling attention x / n) and `softmax` (the default
    /// policy's, `mpcc-softmax`). Each entry
    /// becomes the override op:Softmax,layer:L,head:H=RECIPE, applied before
    /// --approx-overrides and --approx-override. Without it `--approx mpcvit` gives every head
    /// ReLU-softmax.
    #[arg(long, value_name = "FILE.json")]
    pub attention_map: Option<PathBuf>,

    /// Treat the weights as public (known to all three parties): faster, but reveals the
    /// model.
    #[arg(long)]
    pub public_weights: bool,

    /// Make the initializer NAME public (repeatable): it goes into the plan as a constant
    /// that all three parties see, which is cheaper than a secret weight. By default every
    /// initializer is the owner's secret except shape and index data and one-element
    /// hyperparameters; the compile summary lists every public constant and why.
    #[arg(long = "public", value_name = "NAME")]
    pub public: Vec<String>,

    /// Make one-element initializers (learned scalars, the attention scale, epsilons) secret
    /// too; `mpcc cost` shows what it costs.
    #[arg(long)]
    pub secret_scalars: bool,

    /// Fraction bits of the fixed-point encoding, 12..=29 (the description above says why).
    #[arg(long, value_name = "BITS", default_value_t = 18, value_parser = parse_frac_bits)]
    pub frac_bits: u32,

    /// Calibration inputs (repeatable): a reference.json, a folder of NAME.npy files (one
    /// per input), or a text file with one input per line (encoded with the export's
    /// tokenizer.json). The plan is simulated on each; every value's range (rounded up to a
    /// power of two) goes into the plan and --emit-ir, the summary prints the largest per
    /// layer, and a value whose range times the margin of 4 does not fit its fixed-point
    /// format is an error naming its node (docs/FORMATS.md). A reference.json also gives
    /// the input shapes that no --input-shape gives.
    #[arg(long, value_name = "FILE")]
    pub calibrate: Vec<PathBuf>,

    /// Stop after this many passes (to bisect a bad rewrite; combine with --emit-ir).
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,

    /// Also write the IR's text form to FILE (written even when no plan can be built).
    #[arg(long, value_name = "FILE")]
    pub emit_ir: Option<PathBuf>,

    /// Compile a decoder export (text-generation, with or without past_key_values) into a
    /// generation plan for `mpcc generate`: one step program whose key/value cache stays
    /// secret-shared between steps, for a prompt plus new tokens of at most --max-seq-len
    /// (docs/GENERATION.md). Sets the input shapes itself.
    #[arg(long, requires = "max_seq_len", conflicts_with_all = ["seq", "image_size", "task"])]
    pub generate: bool,

    /// With --generate: how many tokens a generation may feed (the prompt and every new
    /// token but the last).
    #[arg(long, value_name = "L", requires = "generate")]
    pub max_seq_len: Option<usize>,

    /// With --generate: what each step reveals to the client: `token` (a secure argmax; the
    /// client learns only the id) or `logits` (the last position's logits).
    #[arg(long, value_enum, default_value = "token", requires = "generate")]
    pub reveal: crate::generate::Reveal,
}

/// The fewest fraction bits `mpcc compile` accepts: below this the approximations'
/// coefficients and thresholds (GeLU, softmax, LayerNorm) are too coarse (bert-tiny's
/// cosine against onnxruntime is 0.003 at 1 bit, right from 12 on).
pub const MIN_FRAC_BITS: u32 = 12;

/// Bits of magnitude the largest accepted fraction bits leave a product (or a sum of
/// products) below the truncation's limit: |x·y| < 2^4 = 16.
pub const PRODUCT_HEADROOM_BITS: u32 = 4;

/// The most fraction bits `mpcc compile` accepts in `ring` (Z_2^k): a product at scale
/// 2^(2f) of magnitude up to 2^PRODUCT_HEADROOM_BITS must stay below 2^(k-2), the secret
/// truncation's precondition, so f <= (k - 2 - PRODUCT_HEADROOM_BITS) / 2: 29 in Z_2^64.
pub fn max_frac_bits(ring: Ring) -> u32 {
    (ring.bits() - 2 - PRODUCT_HEADROOM_BITS) / 2
}

/// Checks `frac_bits` against [`MIN_FRAC_BITS`] and [`max_frac_bits`] of `ring`, saying why
/// a value is refused and which are allowed.
pub fn check_frac_bits(ring: Ring, frac_bits: u32) -> Result<(), String> {
    let (min, max) = (MIN_FRAC_BITS, max_frac_bits(ring));
    let k = ring.bits();
    if frac_bits > max {
        let room = match (k - 2).checked_sub(2 * frac_bits) {
            Some(r) => format!("leaves products room only below 2^{r}"),
            None => "overflows even for 1 * 1".into(),
        };
        return Err(format!(
            "{frac_bits} fraction bits are too many for the ring Z_2^{k}: a product of two \
             values sits at scale 2^{}, and the secret truncation needs |x| < 2^{}, which {room}; \
             the largest allowed value is {max} (products below 2^{PRODUCT_HEADROOM_BITS} = {})",
            2 * frac_bits,
            k - 2,
            1u32 << PRODUCT_HEADROOM_BITS
        ));
    }
    if frac_bits < min {
        return Err(format!(
            "{frac_bits} fraction bits are too few: the approximations' coefficients and \
             thresholds (GeLU, softmax, LayerNorm) lose their precision; the smallest allowed \
             value is {min} (allowed: {min}..={max})"
        ));
    }
    Ok(())
}

/// `--frac-bits`'s parser: a number in the range [`check_frac_bits`] allows in Z_2^64.
fn parse_frac_bits(s: &str) -> Result<u32, String> {
    let f: u32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of bits"))?;
    check_frac_bits(Ring::Z64, f)?;
    Ok(f)
}

/// `--approx`'s parser: the names of [`POLICIES`], each with its description in `--help`.
pub fn policy_parser() -> impl TypedValueParser<Value = Policy> {
    let names = POLICIES
        .iter()
        .map(|p| PossibleValue::new(p.name).help(p.description));
    PossibleValuesParser::new(names).map(|name| {
        name.parse::<Policy>()
            .expect("a name from POLICIES is a policy")
    })
}

/// Parses `SELECTOR=RECIPE`.
pub fn parse_override(s: &str) -> Result<Override, String> {
    s.parse::<Override>().map_err(|e| e.to_string())
}

/// `--approx-override`'s long help: the selector syntax and every recipe of [`RECIPES`].
fn override_help() -> String {
    let mut help = format!(
        "Give the nodes SELECTOR selects RECIPE instead of the policy's (repeatable; later \
         overrides win, and each must select some node).\n\n\
         SELECTOR is KEY:VALUE pairs joined by commas; keys: {}.\n\
         \x20 op:NAME     the ONNX op type (Softmax, MatMul) or the IR op lowered (softmax, gelu, \
         rms_norm), ignoring case\n\
         \x20 node:GLOB   the ONNX node name; * is any text, ? one character\n\
         \x20 layer:N     the layer (also embeddings, pooler, other)\n\
         \x20 head:N      attention head N of a softmax over [batch, heads, seq, seq] (axis 1)\n\n\
         RECIPE is a policy ({}), meaning its recipe for each selected op, or one of these \
         (it applies to the selected ops of its kind):\n",
        KEYS.join(", "),
        POLICIES
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    for r in RECIPES {
        help.push_str(&format!("  {:<20} {}\n", r.name, r.description));
    }
    help.push_str(
        "\nExamples: op:Softmax,layer:3=puma-paper; op:Softmax,layer:0,head:1=puma-paper-softmax; \
         op:gelu=puma-paper-gelu; 'node:/encoder/layer.1/*=puma-paper'",
    );
    help
}

/// The overrides of `--attention-map FILE`, of `--approx-overrides FILE` and then of the
/// `--approx-override` flags.
fn overrides(args: &Args) -> anyhow::Result<Vec<Override>> {
    let mut all = Vec::new();
    if let Some(path) = &args.attention_map {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the attention map '{}'", path.display()))?;
        all = attention_map(&text).with_context(|| format!("in '{}'", path.display()))?;
    }
    if let Some(path) = &args.approx_overrides {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the overrides file '{}'", path.display()))?;
        all.extend(
            parse_overrides_json(&text).with_context(|| format!("in '{}'", path.display()))?,
        );
    }
    all.extend(args.approx_override.iter().cloned());
    Ok(all)
}

/// MPCViT's attention map (layer -> head -> kind) as overrides of the softmax per head.
pub fn attention_map(text: &str) -> anyhow::Result<Vec<Override>> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
    let layers = v.as_object().ok_or_else(|| {
        anyhow::anyhow!("an attention map is an object layer -> head -> kind, e.g. {{\"0\": {{\"1\": \"scaling\"}}}}")
    })?;
    let mut out = Vec::new();
    for (layer, heads) in layers {
        let layer_n: usize = layer
            .parse()
            .map_err(|_| anyhow::anyhow!("layer '{layer}' is not a layer index (0, 1, …)"))?;
        let heads = heads.as_object().ok_or_else(|| {
            anyhow::anyhow!("layer {layer}: heads must be an object head -> kind")
        })?;
        for (head, kind) in heads {
            let head_n: usize = head.parse().map_err(|_| {
                anyhow::anyhow!("layer {layer}: head '{head}' is not a head index (0, 1, …)")
            })?;
            let recipe = match kind.as_str() {
                Some("relu-softmax") => "mpcvit-relu-softmax",
                Some("scaling") | Some("scaling-attention") => "mpcvit-scaling-attention",
                Some("softmax") => "mpcc-softmax",
                _ => anyhow::bail!(
                    "layer {layer} head {head}: kind {kind} is not relu-softmax, scaling or softmax"
                ),
            };
            let o: Override = format!("op:Softmax,layer:{layer_n},head:{head_n}={recipe}")
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            out.push(o);
        }
    }
    Ok(out)
}

/// Parses `NAME=D0,D1,...`.
pub fn parse_shape(s: &str) -> Result<(String, Vec<usize>), String> {
    let (name, dims) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=D0,D1,... (e.g. input_ids=1,16)"))?;
    if name.is_empty() {
        return Err(format!("'{s}' has no input name before '='"));
    }
    let dims = dims
        .split(',')
        .map(|d| match d.trim().parse::<usize>() {
            Ok(0) | Err(_) => Err(format!(
                "'{d}' in '{s}' is not a positive dimension (write e.g. {name}=1,16)"
            )),
            Ok(v) => Ok(v),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), dims))
}

/// `H,W`.
fn parse_hw(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("'{s}' is not H,W (e.g. 224,224)");
    let (h, w) = s.split_once(',').ok_or_else(bad)?;
    match (h.trim().parse::<usize>(), w.trim().parse::<usize>()) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => Err(bad()),
    }
}

/// The model file and, for an export folder, the folder.
fn model_file(model: &Path) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    if model.is_dir() {
        let file = model.join("model.onnx");
        if !file.exists() {
            anyhow::bail!(
                "the folder '{}' has no model.onnx (is it the output folder of `optimum-cli \
                 export onnx`?)",
                model.display()
            );
        }
        return Ok((file, Some(model.to_path_buf())));
    }
    if !model.exists() {
        anyhow::bail!("model file '{}' does not exist", model.display());
    }
    Ok((model.to_path_buf(), None))
}

/// The input shapes: --input-shape first, then --batch with --seq for the text inputs and
/// with --image-size for a rank-4 image input.
fn input_shapes(args: &Args, model: &Path) -> anyhow::Result<Vec<(String, Vec<usize>)>> {
    let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
    for (name, dims) in &args.input_shapes {
        match shapes.iter().find(|(n, _)| n == name) {
            Some((_, d)) if d != dims => anyhow::bail!(
                "--input-shape gives '{name}' twice, as {d:?} and as {dims:?}; give it once"
            ),
            Some(_) => {}
            None => shapes.push((name.clone(), dims.clone())),
        }
    }
    if args.batch.is_none() && args.seq.is_none() && args.image_size.is_none() {
        // The first calibration reference.json gives the shapes not given otherwise.
        if let Some(r) = args
            .calibrate
            .iter()
            .find(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        {
            for (name, dims) in crate::io::Reference::load(r)?.input_shapes() {
                if !shapes.iter().any(|(n, _)| *n == name) {
                    shapes.push((name, dims));
                }
            }
        }
        return Ok(shapes);
    }
    if args.seq.is_some() && args.batch.is_none() {
        anyhow::bail!("--seq needs --batch (the shape of a text input is [batch, seq])");
    }
    let b = args.batch.unwrap_or(1);
    let proto = crate::frontend::read_proto(model)?;
    // An image model's channel count, when the export leaves it dynamic: its config.json.
    let channels = model
        .parent()
        .map(|d| d.join("config.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["num_channels"].as_u64())
        .map(|c| c as usize);
    for input in crate::frontend::declared_inputs(&proto) {
        if shapes.iter().any(|(n, _)| *n == input.name) {
            continue;
        }
        let text = crate::io::TEXT_INPUTS.contains(&input.name.as_str());
        match (text, input.dims.len(), args.seq, args.image_size) {
            (true, 2, Some(s), _) => shapes.push((input.name, vec![b, s])),
            (false, 4, _, Some((h, w))) => {
                let c = match (input.dims[1].clone(), channels) {
                    (Ok(c), _) => c,
                    (Err(_), Some(c)) => c,
                    (Err(_), None) => anyhow::bail!(
                        "input '{}' has a dynamic channel dim and no config.json beside the \
                         model says num_channels; give its shape with --input-shape {}=B,C,H,W",
                        input.name,
                        input.name
                    ),
                };
                shapes.push((input.name, vec![b, c, h, w]));
            }
            _ => {}
        }
    }
    Ok(shapes)
}

/// Runs `mpcc compile`.
pub fn main(args: Args) -> anyhow::Result<()> {
    let (model, folder) = model_file(&args.model)?;
    if args.generate {
        return generation(args, &model, folder.as_deref());
    }
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: input_shapes(&args, &model)?,
            public_weights: args.public_weights,
            frac_bits: args.frac_bits,
            public: args.public.clone(),
            secret_scalars: args.secret_scalars,
            table_depth: None,
        },
        passes: PassOptions {
            policy: args.approx,
            overrides: overrides(&args)?,
            stop_after: args.stop_after,
        },
    };
    check_frac_bits(Ring::Z64, args.frac_bits).map_err(|e| anyhow::anyhow!("--frac-bits: {e}"))?;
    let client = client_info(&args, folder.as_deref())?;
    check_outputs(&args, &model, client.is_some())?;
    let (mut graph, weights, public) = backend::lower_listing(&model, &opts)?;
    let calibration = if args.calibrate.is_empty() {
        None
    } else {
        let tokenizer = folder
            .map(|d| d.join("tokenizer.json"))
            .filter(|p| p.exists());
        Some(calibrate(
            &mut graph,
            &weights,
            &args.calibrate,
            tokenizer.as_deref(),
        )?)
    };
    if let Some(path) = &args.emit_ir {
        let text = format!("{}{graph}", public_comment(&public));
        crate::io::write_file(path, text.as_bytes())
            .with_context(|| format!("cannot write the IR to '{}'", path.display()))?;
        outln!("IR written to {}", path.display());
    }
    let (plan, weights) = backend::build_plan(graph, weights)?;
    // Before any file of the plan is written: a plan this machine cannot hold is refused.
    memory::check(&plan, Stage::Compile).map_err(anyhow::Error::msg)?;
    let wpath = backend::write_plan(&args.output, &plan, &weights)?;
    print_summary(&plan, &args.output, &wpath);
    if let Some(cal) = &calibration {
        outln!(
            "  calibrated on {} input(s); ranges per layer (margin {}x):",
            cal.samples,
            calibrate::RANGE_MARGIN
        );
        for line in calibrate::summary(plan.graph(), cal, calibrate::RANGE_MARGIN) {
            outln!("    {line}");
        }
    }
    if let Some((info, tokenizer)) = client {
        write_client(&args.output, info, tokenizer.as_deref())?;
    }
    print_public(&public);
    Ok(())
}

/// Simulates the lowered `graph` on the calibration inputs of `paths`, puts the ranges into
/// its side table and checks them against the formats (`crate::calibrate`).
fn calibrate(
    graph: &mut mpcc_ir::Graph,
    weights: &mpcc_ir::Weights,
    paths: &[PathBuf],
    tokenizer: Option<&Path>,
) -> anyhow::Result<calibrate::Calibration> {
    // The calibration inputs are checked against the plan's input declarations; the probe
    // plan needs no weights (no copy of them).
    let probe = mpcc_ir::plan::Plan::from_graph(graph.clone())?;
    let samples = calibrate::load_inputs(paths, &probe, tokenizer)?;
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(samples.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} calibration inputs simulated",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let cal = calibrate::observe(graph, weights, &samples, |k| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    calibrate::apply(graph, &cal);
    calibrate::check(graph, &cal, calibrate::RANGE_MARGIN)?;
    Ok(cal)
}

/// `mpcc compile --generate`: the step program, its weights and the client file (with the
/// generation facts and the export's tokenizer).
fn generation(args: Args, model: &Path, folder: Option<&Path>) -> anyhow::Result<()> {
    use crate::generate;
    if args.batch.is_some_and(|b| b != 1) {
        anyhow::bail!("--generate runs one sequence at a time: leave out --batch or give 1");
    }
    let capacity = args.max_seq_len.unwrap_or(0);
    let proto = crate::frontend::read_proto(model)?;
    let declared = crate::frontend::declared_inputs(&proto);
    let (mut shapes, with_past) = generate::shapes(&declared, capacity)?;
    for (name, dims) in &args.input_shapes {
        if let Some(s) = shapes.iter_mut().find(|(n, _)| n == name) {
            s.1 = dims.clone();
        }
    }
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: shapes,
            public_weights: args.public_weights,
            frac_bits: args.frac_bits,
            public: args.public.clone(),
            secret_scalars: args.secret_scalars,
            table_depth: Some(capacity),
        },
        passes: PassOptions {
            policy: args.approx,
            overrides: overrides(&args)?,
            stop_after: None,
        },
    };
    check_frac_bits(Ring::Z64, args.frac_bits).map_err(|e| anyhow::anyhow!("--frac-bits: {e}"))?;
    check_outputs(&args, model, true)?;
    let (mut graph, weights, public) = backend::lower_listing(model, &opts)?;
    let (vocab, cache) = generate::rewrite(&mut graph, with_past, args.reveal)?;
    if let Some(path) = &args.emit_ir {
        let text = format!("{}{graph}", public_comment(&public));
        crate::io::write_file(path, text.as_bytes())
            .with_context(|| format!("cannot write the IR to '{}'", path.display()))?;
        outln!("IR written to {}", path.display());
    }
    let all = weights.clone();
    let (plan, _) = backend::build_plan(graph, weights)?;
    let weights = generate::bind_weights(&plan, all)?;
    let wpath = backend::write_plan(&args.output, &plan, &weights)?;
    print_summary(&plan, &args.output, &wpath);
    let mut info = match folder {
        Some(dir) => crate::client::ClientInfo::from_config(&dir.join("config.json"))?,
        None => crate::client::ClientInfo {
            format: crate::client::CLIENT_FORMAT.into(),
            ..Default::default()
        },
    };
    let eos = folder
        .and_then(|d| std::fs::read_to_string(d.join("config.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["eos_token_id"].as_i64());
    info.generate = Some(generate::GenerateInfo {
        capacity,
        with_past,
        reveal: args.reveal,
        vocab,
        eos_token_id: eos,
        cache,
        inputs: plan.body.inputs.iter().map(|d| d.name.clone()).collect(),
    });
    let tokenizer = folder
        .map(|d| d.join("tokenizer.json"))
        .filter(|t| t.exists());
    write_client(&args.output, info, tokenizer.as_deref())?;
    outln!(
        "generation plan: {} tokens of capacity, {}; each step reveals {} to the client",
        capacity,
        if with_past {
            "one token per step over a secret-shared key/value cache"
        } else {
            "the window of tokens recomputed each step (no cache in the export)"
        },
        match args.reveal {
            generate::Reveal::Token => "the next token's id",
            generate::Reveal::Logits => "the last position's logits",
        }
    );
    print_public(&public);
    Ok(())
}

/// The client file's contents for an export folder or a `--task`, with the tokenizer to
/// copy beside the plan; `None` for a bare .onnx file without `--task`.
fn client_info(
    args: &Args,
    folder: Option<&Path>,
) -> anyhow::Result<Option<(crate::client::ClientInfo, Option<PathBuf>)>> {
    use crate::client::{ClientInfo, CLIENT_FORMAT};
    if folder.is_none() && args.task.is_none() {
        return Ok(None);
    }
    let mut info = match folder {
        Some(dir) => ClientInfo::from_config(&dir.join("config.json"))?,
        None => ClientInfo {
            format: CLIENT_FORMAT.into(),
            ..ClientInfo::default()
        },
    };
    if args.task.is_some() {
        info.task = args.task;
    }
    info.pool = args.pool;
    info.normalize = args.normalize;
    if let Some(pre) = folder
        .map(|d| d.join("preprocessor_config.json"))
        .filter(|p| p.exists())
    {
        info.image = Some(crate::client::ImagePrep::from_file(&pre)?);
    }
    let tokenizer = folder
        .map(|d| d.join("tokenizer.json"))
        .filter(|t| t.exists());
    Ok(Some((info, tokenizer)))
}

/// Writes the client file (and the tokenizer) beside the plan.
fn write_client(
    plan: &Path,
    mut info: crate::client::ClientInfo,
    tokenizer: Option<&Path>,
) -> anyhow::Result<()> {
    let cpath = crate::client::client_path(plan);
    if let Some(t) = tokenizer {
        let tpath = crate::client::tokenizer_path(plan);
        let bytes = std::fs::read(t)
            .with_context(|| format!("cannot read the tokenizer '{}'", t.display()))?;
        crate::io::write_file(&tpath, &bytes)
            .with_context(|| format!("cannot write '{}'", tpath.display()))?;
        info.tokenizer = tpath.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    let text = serde_json::to_string_pretty(&info)?;
    crate::io::write_file(&cpath, text.as_bytes())
        .with_context(|| format!("cannot write the client file '{}'", cpath.display()))?;
    let task = info.task.map_or("unknown", |t| t.name());
    outln!(
        "client file written to {} (task {task}, {} labels{}; public: no weights)",
        cpath.display(),
        info.labels.len(),
        match (info.tokenizer.is_some(), info.image.is_some()) {
            (true, _) => ", tokenizer",
            (false, true) => ", image preprocessing",
            (false, false) => "",
        }
    );
    Ok(())
}

/// The public constants as `#` comment lines for the IR's text form.
fn public_comment(public: &[PublicConst]) -> String {
    let mut s = format!(
        "# {} public constants taken from the model (everything else from its initializers \
         is the owner's secret):\n",
        public.len()
    );
    for p in public {
        s.push_str(&format!(
            "#   {} = {}  ({})\n",
            p.name,
            p.value,
            p.why.describe()
        ));
    }
    s
}

/// Lists the public constants after the summary, grouped by why they are public.
fn print_public(public: &[PublicConst]) {
    outln!(
        "  public constants taken from the model ({}; every other initializer is the owner's \
         secret; --public NAME adds one):",
        public.len()
    );
    let mut sorted: Vec<&PublicConst> = public.iter().collect();
    sorted.sort_by_key(|p| p.why as u8);
    for p in sorted {
        outln!("    {:<32} {:<28} {}", p.name, p.value, p.why.describe());
    }
}

/// Refuses, before anything is written, a plan, weights or IR path that is the same file as
/// the model, the overrides file or another of the outputs.
fn check_outputs(args: &Args, model: &Path, client: bool) -> anyhow::Result<()> {
    let wpath = backend::weights_path(&args.output);
    let mut inputs = vec![Role::new("the model", model)];
    if let Some(p) = &args.approx_overrides {
        inputs.push(Role::new("the overrides file", p));
    }
    let mut outputs = vec![
        Role::new("the plan (-o)", &args.output),
        Role::new(
            "the weights file (the plan's path with extension .weights)",
            &wpath,
        ),
    ];
    if let Some(p) = &args.emit_ir {
        outputs.push(Role::new("the IR (--emit-ir)", p));
    }
    let (cpath, tpath) = (
        crate::client::client_path(&args.output),
        crate::client::tokenizer_path(&args.output),
    );
    if client {
        outputs.push(Role::new("the client file (PLAN.client.json)", &cpath));
        outputs.push(Role::new(
            "the tokenizer copy (PLAN.tokenizer.json)",
            &tpath,
        ));
    }
    check_distinct(&inputs, &outputs)
}

/// Short name of a party.
pub fn party_name(p: PartyId) -> String {
    match p {
        MODEL_OWNER => "owner (party 0)".into(),
        CLIENT => "client (party 1)".into(),
        HELPER => "helper (party 2)".into(),
        other => format!("party {other}"),
    }
}

fn print_summary(plan: &Plan, path: &Path, wpath: &Path) {
    let g = plan.graph();
    let (mut rounds, mut bytes) = (0u64, 0u64);
    for node in &g.nodes {
        let c = mpcc_runtime::node_cost(g, node);
        rounds += c.rounds;
        bytes += c.total_bytes();
    }
    outln!("plan written to {}", path.display());
    outln!(
        "weights written to {} ({} tensors)",
        wpath.display(),
        plan.body.weights.len()
    );
    outln!(
        "  {} instructions, frac_bits {}, digest {}",
        g.nodes.len(),
        plan.header.frac_bits,
        &plan.digest_hex()[..16]
    );
    outln!("  inputs:");
    for d in &plan.body.inputs {
        outln!(
            "    {:<20} {} {:?} from {}",
            d.name,
            d.dtype,
            d.shape,
            party_name(d.owner)
        );
    }
    outln!("  outputs:");
    for o in &plan.body.outputs {
        let to: Vec<String> = o.to.iter().map(|p| party_name(*p)).collect();
        outln!("    {:<20} {:?} to {}", o.name, o.shape, to.join(", "));
    }
    outln!(
        "  predicted: {rounds} rounds, {} sent (all parties); `mpcc cost {}` has details",
        human_bytes(bytes),
        path.display()
    );
}

/// Bytes in a human unit (B, KiB, MiB, GiB).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes parse into name and dimensions; malformed ones are refused with a hint.
    #[test]
    fn shape_parsing() {
        assert_eq!(
            parse_shape("input_ids=1,16").unwrap(),
            ("input_ids".to_string(), vec![1, 16])
        );
        assert!(parse_shape("input_ids").unwrap_err().contains("NAME=D0"));
        assert!(parse_shape("x=1,0").unwrap_err().contains("positive"));
        assert!(parse_shape("x=1,a").unwrap_err().contains("'a'"));
        assert!(parse_shape("=1").unwrap_err().contains("no input name"));
    }

    /// `mpcc compile` as a standalone command, to test its argument parsing.
    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn cli(extra: &[&str]) -> Result<Args, clap::Error> {
        use clap::Parser;
        let mut argv = vec!["mpcc-compile", "m.onnx", "-o", "m.plan"];
        argv.extend(extra);
        Cli::try_parse_from(argv).map(|c| c.args)
    }

    /// `--approx` takes the names of the policy table and lists them when refused; the
    /// override flags parse selectors, refuse bad ones with the reason, and the help lists
    /// every policy and recipe.
    #[test]
    fn approximation_flags() {
        let a = cli(&[
            "--approx",
            "puma-paper",
            "--approx-override",
            "op:Softmax,layer:1=puma",
        ])
        .unwrap();
        assert_eq!(a.approx, Policy::PUMA_PAPER);
        assert_eq!(a.approx_override[0].to_string(), "op:Softmax,layer:1=puma");
        assert_eq!(cli(&[]).unwrap().approx, Policy::PUMA);
        let e = cli(&["--approx", "fast"]).unwrap_err().to_string();
        assert!(
            e.contains("[possible values: puma, puma-paper, mpcformer, secformer, mpcvit]"),
            "{e}"
        );
        let e = cli(&["--approx-override", "op:Softmax"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected SELECTOR=RECIPE"), "{e}");
        let e = cli(&["--approx-override", "op:Softmax=nope"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown recipe 'nope' (recipes: puma-softmax"),
            "{e}"
        );
        let help = {
            use clap::CommandFactory;
            Cli::command().render_long_help().to_string()
        };
        for name in POLICIES
            .iter()
            .map(|p| p.name)
            .chain(RECIPES.iter().map(|r| r.name))
        {
            assert!(help.contains(name), "{name} missing from the help:\n{help}");
        }
        assert!(help.contains("op:Softmax,layer:0,head:1=puma-paper-softmax"));
    }

    /// The JSON overrides come before the flags, so a flag wins.
    #[test]
    fn overrides_file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        let json = r#"[{"select": {"op": "Softmax"}, "recipe": "puma-paper"}]"#;
        std::fs::write(&path, json).unwrap();
        let p = path.to_str().unwrap();
        let a = cli(&["--approx-overrides", p, "--approx-override", "layer:1=puma"]).unwrap();
        let all: Vec<String> = overrides(&a)
            .unwrap()
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(all, ["op:Softmax=puma-paper", "layer:1=puma"]);
        std::fs::write(&path, "[{}]").unwrap();
        let e = format!("{:#}", overrides(&a).unwrap_err());
        assert!(e.contains("o.json") && e.contains("entry 0"), "{e}");
    }

    fn bert_tiny_options(overrides: &[&str]) -> CompileOptions {
        let shapes = ["input_ids", "attention_mask", "token_type_ids"];
        CompileOptions {
            frontend: FrontendOptions {
                input_shapes: shapes
                    .iter()
                    .map(|n| (n.to_string(), vec![1, 16]))
                    .collect(),
                public_weights: false,
                frac_bits: 18,
                ..FrontendOptions::default()
            },
            passes: PassOptions {
                overrides: overrides.iter().map(|o| o.parse().unwrap()).collect(),
                ..PassOptions::default()
            },
        }
    }

    /// Each node's ops and types by origin, without value ids.
    fn by_origin(g: &mpcc_ir::Graph) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
        for n in &g.nodes {
            let line = format!("{:?} : {}", n.op, g.ty(n.output));
            m.entry(n.origin.clone()).or_default().push(line);
        }
        m
    }

    /// On bert-tiny, an override of layer 1's softmax and one of head 1 of layer 0's change
    /// only those softmax nodes against the plain `puma` compile (`layer:` reads the origin
    /// facts the front end fills).
    #[test]
    fn bert_tiny_overrides_change_only_the_selected_nodes() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/bert-tiny/model.onnx");
        let lower = |o: &[&str]| backend::lower(&model, &bert_tiny_options(o));
        let plain = lower(&[]).unwrap().0;
        let by_layer = ["op:Softmax,layer:1=puma-paper"];
        assert!(
            !plain.facts.node.is_empty(),
            "the front end fills the origin facts"
        );
        let base = by_origin(&plain);
        for (overrides, origin, golden) in [
            (
                &by_layer[..],
                "/encoder/layer.1/attention/self/Softmax",
                "bert_tiny_softmax_layer1_puma_paper",
            ),
            (
                &["op:Softmax,layer:0,head:1=puma-paper"][..],
                "/encoder/layer.0/attention/self/Softmax",
                "bert_tiny_softmax_layer0_head1_puma_paper",
            ),
        ] {
            let got = by_origin(&lower(overrides).unwrap().0);
            assert_eq!(
                base.keys().collect::<Vec<_>>(),
                got.keys().collect::<Vec<_>>()
            );
            let changed: Vec<&String> = base.keys().filter(|k| base[*k] != got[*k]).collect();
            assert_eq!(changed, [origin], "{overrides:?}");
            // The selected softmax as lowered: bless with INSTA_UPDATE=always.
            insta::assert_snapshot!(golden, got[origin].join("\n"));
        }
    }

    /// Byte counts print in binary units.
    #[test]
    fn bytes_print_in_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(3 << 20), "3.00 MiB");
    }
}
