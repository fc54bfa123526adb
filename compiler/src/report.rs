//! Cost reports: predicted from the kernels' cost definitions or measured by a run, per ONNX
//! node, op type and layer, with a network time model; text, JSON and SVG renderings.

use mpcc_ir::plan::Plan;
use mpcc_runtime::RunResult;

/// A network model: bandwidth and round-trip time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
    /// Bits per second.
    pub bandwidth_bps: f64,
    /// Round-trip time in seconds.
    pub rtt_s: f64,
}

impl Network {
    /// 5 Gbit/s, 0.4 ms RTT.
    pub const LAN: Network = Network {
        bandwidth_bps: 5e9,
        rtt_s: 0.4e-3,
    };
    /// 400 Mbit/s, 40 ms RTT.
    pub const WAN: Network = Network {
        bandwidth_bps: 400e6,
        rtt_s: 40e-3,
    };
}

/// A cost report.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {}

/// The report predicted from the plan alone.
pub fn predicted(_plan: &Plan, _net: &Network) -> Report {
    Report {}
}

/// The report measured by a run.
pub fn measured(_plan: &Plan, _run: &RunResult, _net: &Network) -> Report {
    Report {}
}

impl Report {
    /// JSON form (see docs/COST-REPORT.md).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}
