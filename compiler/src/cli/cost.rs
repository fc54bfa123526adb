//! `mpcc cost`: the predicted cost of a plan, per ONNX node, op type and layer, as text,
//! JSON or an SVG picture.

use crate::cli::out;
use crate::cli::paths::{check_distinct, Role};
use crate::report::{self, GroupBy, Network};
use anyhow::Context;
use mpcc_ir::plan::Plan;
use std::path::{Path, PathBuf};

/// Predict a plan's rounds, bytes and time, per ONNX node, op type and layer.
///
/// The figures come from each instruction's cost function, the same that `mpcc run`
/// measures against (docs/COST-REPORT.md); time is rounds x RTT plus the busiest party's
/// bytes over the bandwidth of the --network model.
///
/// Examples:
///   mpcc cost model.plan
///   mpcc cost model.plan --network wan --by node --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The plan file written by `mpcc compile`.
    pub plan: PathBuf,
    /// Print the report as JSON (schema in docs/COST-REPORT.md) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Network model for the estimated time: lan (5 Gbit/s, 0.4 ms RTT), wan (400 Mbit/s,
    /// 40 ms RTT), or BANDWIDTH,RTT in bits/s and seconds (1e9,0.01) or with units
    /// (1gbit,10ms; bandwidth k/m/g[bit|bps], RTT s/ms/us).
    #[arg(long, default_value = "lan", value_parser = parse_network)]
    pub network: Network,
    /// Tables the text report shows, in order (comma-separated or repeated); JSON always
    /// holds all three groupings.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [GroupBy::Op, GroupBy::Layer])]
    pub by: Vec<GroupBy>,
    /// Also draw where the bytes and rounds go, by op type and by layer, into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,
}

fn parse_network(s: &str) -> Result<Network, report::NetworkSpecError> {
    s.parse()
}

/// Reads and decodes a plan file.
pub fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plan '{}'", path.display()))?;
    Plan::from_bytes(&bytes).with_context(|| format!("cannot load plan '{}'", path.display()))
}

/// Runs `mpcc cost`.
pub fn main(args: Args) -> anyhow::Result<()> {
    if let Some(svg) = &args.svg {
        check_distinct(
            &[Role::new("the plan", &args.plan)],
            &[Role::new("the picture (--svg)", svg)],
        )?;
    }
    let plan = load_plan(&args.plan)?;
    let r = report::predicted(&plan, &args.network);
    if let Some(svg) = &args.svg {
        crate::io::write_file(svg, r.to_svg().as_bytes())
            .with_context(|| format!("cannot write '{}'", svg.display()))?;
    }
    let generation = crate::client::ClientInfo::load(&crate::client::client_path(&args.plan))
        .ok()
        .and_then(|c| c.generate)
        .map(|g| -> anyhow::Result<_> {
            let setup = crate::generate::setup_plan(&plan)?;
            Ok((g, report::predicted(&setup, &args.network).total))
        })
        .transpose()?;
    // A reader that went away (`mpcc cost ... | head`) is no error.
    if args.json {
        let mut v = r.to_json();
        if let Some((g, setup)) = &generation {
            v["generation"] = generation_json(g, &r.total, setup);
        }
        out::text(&(serde_json::to_string_pretty(&v)? + "\n"));
    } else {
        out::text(&r.to_text(&args.by));
        if let Some((g, setup)) = &generation {
            out::text(&generation_text(g, &r.total, setup));
        }
    }
    Ok(())
}

/// How a generation plan's one program makes the prefill and each decode step.
fn generation_json(
    g: &crate::generate::GenerateInfo,
    step: &report::Tally,
    setup: &report::Tally,
) -> serde_json::Value {
    serde_json::json!({
        "capacity": g.capacity,
        "kv_cache": g.with_past,
        "setup": {"rounds": setup.rounds, "bytes_sent": setup.bytes_sent, "est_time_s": setup.est_time_s},
        "step": {"rounds": step.rounds, "bytes_sent": step.bytes_sent, "est_time_s": step.est_time_s},
        "prefill_steps": if g.with_past { "one per prompt token" } else { "one for the whole prompt" },
        "decode_steps": "one per new token but the last",
    })
}

fn generation_text(
    g: &crate::generate::GenerateInfo,
    step: &report::Tally,
    setup: &report::Tally,
) -> String {
    let prefill = if g.with_past {
        format!(
            "a prompt of P tokens takes P steps (P x {} rounds)",
            step.rounds
        )
    } else {
        "the whole prompt takes one step (the window is recomputed each step)".into()
    };
    format!(
        "\ngeneration plan, capacity {} tokens: the report above is one step\n  set-up, once per \
         generation (the owner shares the weights): {} rounds, {} sent, {:.3} s estimated\n  \
         decode: one step per new token: {} rounds, {} sent, {:.3} s estimated\n  prefill: \
         {prefill}\n",
        g.capacity,
        setup.rounds,
        crate::cli::compile::human_bytes(setup.bytes_sent),
        setup.est_time_s,
        step.rounds,
        crate::cli::compile::human_bytes(step.bytes_sent),
        step.est_time_s
    )
}
