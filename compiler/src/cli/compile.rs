//! `mpcc compile`: ONNX model to plan and weights files, with a short summary.

use crate::backend::{self, CompileOptions};
use crate::frontend::FrontendOptions;
use anyhow::Context;
use mpcc_ir::plan::Plan;
use mpcc_ir::{PartyId, CLIENT, HELPER, MODEL_OWNER};
use mpcc_passes::{PassOptions, Policy};
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
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The ONNX model (e.g. exported by `optimum-cli export onnx`).
    pub model: PathBuf,

    /// Where to write the plan; the weights go to the same path with extension `.weights`.
    #[arg(short = 'o', long = "output", value_name = "PLAN")]
    pub output: PathBuf,

    /// Concrete shape of a graph input, NAME=D0,D1[,D2...] (repeat once per input).
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = parse_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,

    /// Approximation recipes for GeLU, softmax, LayerNorm and friends.
    #[arg(long, value_name = "POLICY", default_value = "puma")]
    pub approx: Policy,

    /// Treat the weights as public (known to all three parties): faster, but reveals the
    /// model.
    #[arg(long)]
    pub public_weights: bool,

    /// Fraction bits of the fixed-point encoding.
    #[arg(long, value_name = "BITS", default_value_t = 18,
          value_parser = clap::value_parser!(u32).range(1..=40))]
    pub frac_bits: u32,

    /// Stop after this many passes (to bisect a bad rewrite; combine with --emit-ir).
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,

    /// Also write the IR's text form to FILE (written even when no plan can be built).
    #[arg(long, value_name = "FILE")]
    pub emit_ir: Option<PathBuf>,
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

/// Runs `mpcc compile`.
pub fn main(args: Args) -> anyhow::Result<()> {
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: args.input_shapes.clone(),
            public_weights: args.public_weights,
            frac_bits: args.frac_bits,
        },
        passes: PassOptions {
            policy: args.approx,
            stop_after: args.stop_after,
        },
    };
    if !args.model.exists() {
        anyhow::bail!("model file '{}' does not exist", args.model.display());
    }
    let (graph, weights) = backend::lower(&args.model, &opts)?;
    if let Some(path) = &args.emit_ir {
        std::fs::write(path, graph.to_string())
            .with_context(|| format!("cannot write the IR to '{}'", path.display()))?;
        println!("IR written to {}", path.display());
    }
    let (plan, weights) = backend::build_plan(graph, weights)?;
    let wpath = backend::write_plan(&args.output, &plan, &weights)?;
    print_summary(&plan, &args.output, &wpath);
    Ok(())
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
    println!("plan written to {}", path.display());
    println!(
        "weights written to {} ({} tensors)",
        wpath.display(),
        plan.body.weights.len()
    );
    println!(
        "  {} instructions, frac_bits {}, digest {}",
        g.nodes.len(),
        plan.header.frac_bits,
        &plan.digest_hex()[..16]
    );
    println!("  inputs:");
    for d in &plan.body.inputs {
        println!(
            "    {:<20} {} {:?} from {}",
            d.name,
            d.dtype,
            d.shape,
            party_name(d.owner)
        );
    }
    println!("  outputs:");
    for o in &plan.body.outputs {
        let to: Vec<String> = o.to.iter().map(|p| party_name(*p)).collect();
        println!("    {:<20} {:?} to {}", o.name, o.shape, to.join(", "));
    }
    println!(
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

    /// Byte counts print in binary units.
    #[test]
    fn bytes_print_in_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(3 << 20), "3.00 MiB");
    }
}
