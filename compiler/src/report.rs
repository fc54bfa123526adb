//! Cost reports: predicted from the kernels' cost definitions or measured by a run, per ONNX
//! node, op type and layer, with a network time model; text, JSON and SVG renderings.
//!
//! The numbers come from [`mpcc_runtime::node_cost`] (predicted) or from the run's
//! per-instruction records (measured), never from a table kept here. The JSON schema and the
//! time model are documented in `docs/COST-REPORT.md`.

mod network;
mod svg;
mod text;

pub use network::{Network, NetworkSpecError};
pub use text::GroupBy;

use mpcc_ir::plan::Plan;
use mpcc_ir::Layer;
use mpcc_runtime::{node_cost, RunResult};
use serde::Serialize;
use std::collections::HashMap;

/// Version of the JSON schema written by [`Report::to_json`].
pub const SCHEMA_VERSION: u32 = 1;

/// Whether a report comes from the plan alone or from a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// From the kernels' cost definitions.
    #[default]
    Predicted,
    /// From the traffic counted during a run.
    Measured,
}

impl Kind {
    /// "predicted" or "measured".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Predicted => "predicted",
            Kind::Measured => "measured",
        }
    }
}

/// Costs summed over some instructions, with their estimated network time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Plan instructions.
    pub instructions: u64,
    /// Communication rounds.
    pub rounds: u64,
    /// Bytes sent, summed over the three parties.
    pub bytes_sent: u64,
    /// Bytes sent by each party.
    pub bytes_per_party: [u64; 3],
    /// Local multiply-adds per party (from the kernels' cost definitions, in both kinds).
    pub macs: u64,
    /// Messages sent by each party (measured reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_per_party: Option<[u64; 3]>,
    /// Network time spent on round latency: rounds × RTT.
    pub latency_s: f64,
    /// Network time spent transferring: per instruction, the busiest party's bits / bandwidth.
    pub transfer_s: f64,
    /// Estimated network time, `latency_s + transfer_s`.
    pub est_time_s: f64,
    /// Measured wall time, the slowest party's per instruction (measured reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
}

impl Tally {
    /// The tally of one instruction with the given traffic under `net`.
    fn instruction(rounds: u64, bytes: [u64; 3], macs: u64, net: &Network) -> Tally {
        let (latency_s, transfer_s) = net.time(rounds, bytes);
        Tally {
            instructions: 1,
            rounds,
            bytes_sent: bytes.iter().sum(),
            bytes_per_party: bytes,
            macs,
            messages_per_party: None,
            latency_s,
            transfer_s,
            est_time_s: latency_s + transfer_s,
            wall_s: None,
        }
    }

    /// Rounds the times to 12 significant digits, dropping the noise of summing floats.
    fn round_times(&mut self) {
        for t in [
            &mut self.latency_s,
            &mut self.transfer_s,
            &mut self.est_time_s,
        ] {
            *t = round12(*t);
        }
        self.wall_s = self.wall_s.map(round12);
    }

    /// Adds `o` into `self`.
    fn add(&mut self, o: &Tally) {
        self.instructions += o.instructions;
        self.rounds += o.rounds;
        self.bytes_sent += o.bytes_sent;
        self.macs += o.macs;
        for p in 0..3 {
            self.bytes_per_party[p] += o.bytes_per_party[p];
        }
        self.messages_per_party = match (self.messages_per_party, o.messages_per_party) {
            (Some(a), Some(b)) => Some([0, 1, 2].map(|p| a[p] + b[p])),
            (a, b) => a.or(b),
        };
        self.latency_s += o.latency_s;
        self.transfer_s += o.transfer_s;
        self.est_time_s += o.est_time_s;
        self.wall_s = match (self.wall_s, o.wall_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

/// The cost of one ONNX node: all plan instructions whose `origin` names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeRow {
    /// The ONNX node name (the instructions' `origin`).
    pub onnx_node: String,
    /// Its ONNX op type, from the plan's origin facts (`ir::facts`; the IR op's name for an
    /// instruction without them).
    pub op_type: String,
    /// Its layer, from the origin facts (`other` without them); data a layer brings in
    /// (weights named like `onnx::MatMul_296`) counts in the layer of its first consumer.
    pub layer: String,
    /// Its costs.
    #[serde(flatten)]
    pub cost: Tally,
}

/// The cost of all ONNX nodes of one op type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpRow {
    /// The ONNX op type.
    pub op_type: String,
    /// Number of ONNX nodes.
    pub nodes: u64,
    /// Their costs.
    #[serde(flatten)]
    pub cost: Tally,
}

/// The cost of all ONNX nodes of one layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRow {
    /// The layer: `layer.N`-style, `embeddings`, `pooler` or `other`.
    pub layer: String,
    /// Number of ONNX nodes.
    pub nodes: u64,
    /// Their costs.
    #[serde(flatten)]
    pub cost: Tally,
}

/// The network a report's times are estimated for.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NetworkInfo {
    /// "lan", "wan" or "custom".
    pub name: String,
    /// Bits per second of each party's link.
    pub bandwidth_bps: f64,
    /// Round-trip time in seconds; each round costs one RTT.
    pub rtt_s: f64,
    /// The time model, as a formula.
    pub model: String,
}

/// A cost report (see `docs/COST-REPORT.md` for its JSON form).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Version of the JSON schema.
    pub schema: u32,
    /// Predicted or measured.
    pub kind: Kind,
    /// The plan's digest, lower-case hex.
    pub plan_digest: String,
    /// The network model.
    pub network: NetworkInfo,
    /// Totals over all instructions.
    pub total: Tally,
    /// Per ONNX node, in order of first appearance in the plan.
    pub by_node: Vec<NodeRow>,
    /// Per op type, most bytes first.
    pub by_op: Vec<OpRow>,
    /// Per layer: `embeddings`, the numbered layers in plan order, `pooler`, `other`.
    pub by_layer: Vec<LayerRow>,
    /// The input-independent instructions (correlated randomness such as `sin_prep`,
    /// which the parties make before any input exists), included in `total`; absent when
    /// the plan has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_independent: Option<Tally>,
    /// Seed-agreement traffic before the first instruction, per party (measured only; not
    /// in `total`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_bytes_per_party: Option<[u64; 3]>,
    /// Wall time of the whole run, set-up included (measured only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_wall_s: Option<f64>,
}

/// The report predicted from the plan alone.
pub fn predicted(plan: &Plan, net: &Network) -> Report {
    let g = plan.graph();
    let tallies = g
        .nodes
        .iter()
        .map(|node| {
            let c = node_cost(g, node);
            Tally::instruction(c.rounds, c.bytes, c.macs, net)
        })
        .collect();
    build(plan, Kind::Predicted, tallies, net)
}

/// The report measured by a run. Instructions the run has no record of count as zero.
pub fn measured(plan: &Plan, run: &RunResult, net: &Network) -> Report {
    let g = plan.graph();
    let tallies = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let rec = run.profile.get(i).copied().unwrap_or_default();
            let macs = node_cost(g, node).macs;
            let mut t = Tally::instruction(rec.rounds, rec.bytes, macs, net);
            t.messages_per_party = Some(rec.messages);
            t.wall_s = Some(rec.wall.as_secs_f64());
            t
        })
        .collect();
    let mut r = build(plan, Kind::Measured, tallies, net);
    r.setup_bytes_per_party = Some(run.setup_bytes);
    r.run_wall_s = Some(run.wall.as_secs_f64());
    r
}

/// Groups per-instruction tallies by ONNX node, op type and layer.
fn build(plan: &Plan, kind: Kind, tallies: Vec<Tally>, net: &Network) -> Report {
    let g = plan.graph();
    let mut total = Tally::default();
    let mut offline: Option<Tally> = None;
    let mut by_node: Vec<NodeRow> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (node, t) in g.nodes.iter().zip(&tallies) {
        total.add(t);
        if node.op.input_independent() {
            offline.get_or_insert_with(Tally::default).add(t);
        }
        let i = *index.entry(node.origin.as_str()).or_insert_with(|| {
            by_node.push(NodeRow {
                onnx_node: node.origin.clone(),
                op_type: g
                    .node_facts(node.output)
                    .map_or_else(|| node.op.name().to_string(), |f| f.op_type.clone()),
                layer: g
                    .node_facts(node.output)
                    .map_or(Layer::Other, |f| f.layer)
                    .to_string(),
                cost: Tally::default(),
            });
            by_node.len() - 1
        });
        by_node[i].cost.add(t);
    }
    let mut by_op: Vec<OpRow> = group(&by_node, |n| &n.op_type)
        .into_iter()
        .map(|(op_type, nodes, cost)| OpRow {
            op_type,
            nodes,
            cost,
        })
        .collect();
    by_op.sort_by(|a, b| {
        (b.cost.bytes_sent, b.cost.rounds)
            .cmp(&(a.cost.bytes_sent, a.cost.rounds))
            .then_with(|| a.op_type.cmp(&b.op_type))
    });
    let mut by_layer: Vec<LayerRow> = group(&by_node, |n| &n.layer)
        .into_iter()
        .map(|(layer, nodes, cost)| LayerRow { layer, nodes, cost })
        .collect();
    by_layer.sort_by_key(|r| layer_rank(&r.layer));
    total.round_times();
    if let Some(t) = offline.as_mut() {
        t.round_times();
    }
    by_node.iter_mut().for_each(|r| r.cost.round_times());
    by_op.iter_mut().for_each(|r| r.cost.round_times());
    by_layer.iter_mut().for_each(|r| r.cost.round_times());
    Report {
        schema: SCHEMA_VERSION,
        kind,
        plan_digest: plan.digest_hex(),
        network: NetworkInfo {
            name: net.name().into(),
            bandwidth_bps: net.bandwidth_bps,
            rtt_s: net.rtt_s,
            model: network::MODEL.into(),
        },
        total,
        by_node,
        by_op,
        by_layer,
        input_independent: offline,
        setup_bytes_per_party: None,
        run_wall_s: None,
    }
}

/// Layer order in reports: embeddings, numbered layers (in plan order), pooler, other.
fn layer_rank(layer: &str) -> u8 {
    match layer {
        "embeddings" => 0,
        "pooler" => 2,
        "other" => 3,
        _ => 1,
    }
}

fn round12(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// Sums node rows by a key, in order of the key's first appearance: (key, nodes, tally).
fn group(rows: &[NodeRow], key: impl Fn(&NodeRow) -> &String) -> Vec<(String, u64, Tally)> {
    let mut out: Vec<(String, u64, Tally)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for r in rows {
        let k = key(r);
        let i = *index.entry(k.as_str()).or_insert_with(|| {
            out.push((k.clone(), 0, Tally::default()));
            out.len() - 1
        });
        out[i].1 += 1;
        out[i].2.add(&r.cost);
    }
    out
}

/// Where a measured report's traffic differs from a predicted one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The ONNX node ("total" for the totals).
    pub onnx_node: String,
    /// Predicted (rounds, bytes per party).
    pub predicted: (u64, [u64; 3]),
    /// Measured (rounds, bytes per party).
    pub measured: (u64, [u64; 3]),
}

impl Report {
    /// JSON form (see docs/COST-REPORT.md).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report serializes")
    }

    /// Pretty JSON text, with the fields in schema order (`kind`, `total`, then the
    /// groupings), as `mpcc cost --json` prints and `mpcc run --profile` writes it.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The ONNX nodes (and the total) whose rounds or per-party bytes differ between
    /// `self` and `other`; empty when the two agree exactly.
    pub fn mismatches(&self, other: &Report) -> Vec<Mismatch> {
        let key = |t: &Tally| (t.rounds, t.bytes_per_party);
        let mut out = Vec::new();
        let mut check = |name: &str, a: &Tally, b: &Tally| {
            if key(a) != key(b) {
                out.push(Mismatch {
                    onnx_node: name.into(),
                    predicted: key(a),
                    measured: key(b),
                });
            }
        };
        let empty = Tally::default();
        let n = self.by_node.len().max(other.by_node.len());
        for i in 0..n {
            let a = self.by_node.get(i);
            let b = other.by_node.get(i);
            let name = a.or(b).map(|r| r.onnx_node.as_str()).unwrap_or("");
            check(
                name,
                a.map_or(&empty, |r| &r.cost),
                b.map_or(&empty, |r| &r.cost),
            );
        }
        check("total", &self.total, &other.total);
        out
    }
}
