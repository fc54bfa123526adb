//! The text rendering of a cost report: a header, one table per grouping, and totals.

use super::{Kind, Report, Tally};
use std::fmt::Write;

/// A grouping the text report shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// One row per ONNX node.
    Node,
    /// One row per ONNX op type.
    Op,
    /// One row per layer.
    Layer,
}

/// One table row: a label, a node count (none for node rows) and the costs.
struct Row<'a> {
    label: &'a str,
    nodes: Option<u64>,
    cost: &'a Tally,
}

impl Report {
    /// Text form: a header with the plan and network, then a table for each grouping in
    /// `by` (in that order), each ending with the totals.
    pub fn to_text(&self, by: &[GroupBy]) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        for g in by {
            out.push('\n');
            let (title, first, rows): (&str, &str, Vec<Row>) = match g {
                GroupBy::Node => (
                    "by ONNX node (plan order)",
                    "onnx node",
                    self.by_node
                        .iter()
                        .map(|r| Row {
                            label: display_name(&r.onnx_node),
                            nodes: None,
                            cost: &r.cost,
                        })
                        .collect(),
                ),
                GroupBy::Op => (
                    "by op type (most bytes first)",
                    "op type",
                    self.by_op
                        .iter()
                        .map(|r| Row {
                            label: &r.op_type,
                            nodes: Some(r.nodes),
                            cost: &r.cost,
                        })
                        .collect(),
                ),
                GroupBy::Layer => (
                    "by layer",
                    "layer",
                    self.by_layer
                        .iter()
                        .map(|r| Row {
                            label: &r.layer,
                            nodes: Some(r.nodes),
                            cost: &r.cost,
                        })
                        .collect(),
                ),
            };
            let _ = writeln!(out, "{title}");
            self.write_table(&mut out, first, &rows);
        }
        out
    }

    fn write_header(&self, out: &mut String) {
        let t = &self.total;
        let _ = writeln!(
            out,
            "{} cost of plan {} ({} instructions, {} ONNX nodes)",
            self.kind.name(),
            short_digest(&self.plan_digest),
            t.instructions,
            self.by_node.len()
        );
        let n = &self.network;
        let _ = writeln!(
            out,
            "network: {}, {}, RTT {}; time = rounds x RTT + busiest party's bytes x 8 / bandwidth",
            n.name,
            bits_per_s(n.bandwidth_bps),
            seconds(n.rtt_s)
        );
        let _ = writeln!(
            out,
            "total: {} rounds, {} sent ({} / {} / {} by party 0 / 1 / 2), {} MACs, est. {} ({} latency + {} transfer)",
            t.rounds,
            bytes(t.bytes_sent),
            bytes(t.bytes_per_party[0]),
            bytes(t.bytes_per_party[1]),
            bytes(t.bytes_per_party[2]),
            count(t.macs),
            seconds(t.est_time_s),
            seconds(t.latency_s),
            seconds(t.transfer_s)
        );
        if let Some(o) = &self.input_independent {
            let _ = writeln!(
                out,
                "input-independent (made before the inputs; in the total): {} instructions, {} rounds, {} sent ({} / {} / {} by party 0 / 1 / 2)",
                o.instructions,
                o.rounds,
                bytes(o.bytes_sent),
                bytes(o.bytes_per_party[0]),
                bytes(o.bytes_per_party[1]),
                bytes(o.bytes_per_party[2]),
            );
        }
        if self.kind == Kind::Measured {
            let setup = self.setup_bytes_per_party.unwrap_or_default();
            let _ = writeln!(
                out,
                "measured: run wall {}, instructions' wall {}, set-up {} sent (not in the totals)",
                seconds(self.run_wall_s.unwrap_or(0.0)),
                seconds(t.wall_s.unwrap_or(0.0)),
                bytes(setup.iter().sum())
            );
        }
    }

    fn write_table(&self, out: &mut String, first: &str, rows: &[Row]) {
        let measured = self.kind == Kind::Measured;
        let mut head = vec![
            "nodes",
            "instrs",
            "rounds",
            "sent",
            "party 0",
            "party 1",
            "party 2",
            "MACs",
            "est. time",
        ];
        if measured {
            head.push("wall");
        }
        let total = Row {
            label: "total",
            nodes: Some(self.by_node.len() as u64),
            cost: &self.total,
        };
        let cells: Vec<(String, Vec<String>)> = rows
            .iter()
            .chain(std::iter::once(&total))
            .map(|r| (r.label.to_string(), cells(r, measured)))
            .collect();
        let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
        let mut label_w = first.len();
        for (label, cs) in &cells {
            label_w = label_w.max(label.chars().count());
            for (w, c) in widths.iter_mut().zip(cs) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |label: &str, cs: &[String]| {
            let mut s = format!("  {label:<label_w$}");
            for (c, w) in cs.iter().zip(&widths) {
                let pad = w - c.chars().count();
                let _ = write!(s, "  {}{c}", " ".repeat(pad));
            }
            s
        };
        let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(out, "{}", line(first, &head));
        for (i, (label, cs)) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                let rule = label_w + widths.iter().map(|w| w + 2).sum::<usize>();
                let _ = writeln!(out, "  {}", "-".repeat(rule));
            }
            let _ = writeln!(out, "{}", line(label, cs));
        }
    }
}

fn cells(r: &Row, measured: bool) -> Vec<String> {
    let c = r.cost;
    let mut v = vec![
        r.nodes.map_or(String::new(), |n| n.to_string()),
        c.instructions.to_string(),
        c.rounds.to_string(),
        bytes(c.bytes_sent),
        bytes(c.bytes_per_party[0]),
        bytes(c.bytes_per_party[1]),
        bytes(c.bytes_per_party[2]),
        count(c.macs),
        seconds(c.est_time_s),
    ];
    if measured {
        v.push(seconds(c.wall_s.unwrap_or(0.0)));
    }
    v
}

/// The name shown for an ONNX node; instructions without an origin show as "(unnamed)".
pub(super) fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "(unnamed)"
    } else {
        name
    }
}

/// The first 12 hex digits of a digest.
pub(super) fn short_digest(d: &str) -> &str {
    &d[..d.len().min(12)]
}

/// Bytes in decimal units with three significant digits: `512 B`, `1.23 kB`, `45.6 MB`.
pub(super) fn bytes(b: u64) -> String {
    scaled(b as f64, &["B", "kB", "MB", "GB", "TB"])
}

/// A count in decimal units: `512`, `1.23k`, `45.6M`.
pub(super) fn count(n: u64) -> String {
    scaled(n as f64, &["", "k", "M", "G", "T"]).replace(' ', "")
}

/// A bandwidth such as `5 Gbit/s` or `400 Mbit/s`.
pub(super) fn bits_per_s(bps: f64) -> String {
    scaled(bps, &["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"])
}

fn scaled(v: f64, units: &[&str]) -> String {
    let mut v = v;
    let mut i = 0;
    while v >= 999.5 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 && v.fract() == 0.0 {
        return format!("{v} {}", units[0]);
    }
    format!("{} {}", sig3(v), units[i])
}

/// Seconds with a unit chosen by size: `0 s`, `563 ns`, `12.3 us`, `0.4 ms`, `1.23 s`.
pub(super) fn seconds(s: f64) -> String {
    if s == 0.0 {
        "0 s".into()
    } else if s < 1e-6 {
        format!("{} ns", sig3(s * 1e9))
    } else if s < 1e-4 {
        format!("{} us", sig3(s * 1e6))
    } else if s < 1.0 {
        format!("{} ms", sig3(s * 1e3))
    } else {
        format!("{} s", sig3(s))
    }
}

/// Three significant digits, trailing zeros dropped.
fn sig3(v: f64) -> String {
    let decimals = if v >= 99.95 {
        0
    } else if v >= 9.995 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units scale by thousands and keep three significant digits.
    #[test]
    fn formats_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1234), "1.23 kB");
        assert_eq!(bytes(45_600_000), "45.6 MB");
        assert_eq!(bytes(999_999), "1 MB");
        assert_eq!(count(123_456), "123k");
        assert_eq!(bits_per_s(5e9), "5 Gbit/s");
        assert_eq!(bits_per_s(400e6), "400 Mbit/s");
        assert_eq!(seconds(0.4e-3), "0.4 ms");
        assert_eq!(seconds(56e-6), "56 us");
        assert_eq!(seconds(5.63e-7), "563 ns");
        assert_eq!(seconds(0.04), "40 ms");
        assert_eq!(seconds(1.5), "1.5 s");
        assert_eq!(seconds(0.0), "0 s");
    }
}
