//! The SVG rendering of a cost report: where the bytes and the rounds go, by op type and by
//! layer, as two panels of horizontal bars.

use super::text::{bits_per_s, bytes, seconds, short_digest};
use super::{Report, Tally};
use std::fmt::Write;

const WIDTH: f64 = 960.0;
const MARGIN: f64 = 20.0;
const ROW_H: f64 = 22.0;
const BAR_H: f64 = 14.0;
/// Room kept right of a bar for its value label.
const VALUE_ROOM: f64 = 110.0;
/// Most rows a panel shows; the rest are summed into one "others" row.
const MAX_ROWS: usize = 18;
/// Longest label shown whole.
const MAX_LABEL: usize = 34;
const BYTES_COLOR: &str = "#4e79a7";
const ROUNDS_COLOR: &str = "#f28e2b";
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// One bar row: a label and its costs.
struct Bar {
    label: String,
    cost: Tally,
}

/// Column positions shared by both panels.
struct Layout {
    label_right: f64,
    bytes_x: f64,
    rounds_x: f64,
    bar_max: f64,
}

impl Report {
    /// SVG picture: two panels (by op type, by layer), each with a bar for the bytes sent
    /// and a bar for the rounds of each group, as a share of the total.
    pub fn to_svg(&self) -> String {
        let ops: Vec<Bar> = self
            .by_op
            .iter()
            .map(|r| bar(&r.op_type, &r.cost))
            .collect();
        let layers: Vec<Bar> = self
            .by_layer
            .iter()
            .map(|r| bar(&r.layer, &r.cost))
            .collect();
        let (ops, ops_quiet) = visible(ops);
        let (layers, layers_quiet) = visible(layers);
        let longest = ops
            .iter()
            .chain(&layers)
            .map(|b| b.label.chars().count())
            .max()
            .unwrap_or(0);
        let label_right = MARGIN + 12.0 + 7.0 * longest.min(MAX_LABEL + 1) as f64;
        let col_w = (WIDTH - label_right - 2.0 * MARGIN) / 2.0;
        let lay = Layout {
            label_right,
            bytes_x: label_right + 12.0,
            rounds_x: label_right + 12.0 + col_w + MARGIN,
            bar_max: col_w - VALUE_ROOM,
        };
        let mut body = String::new();
        let mut y = self.svg_title(&mut body);
        y = self.svg_panel(&mut body, y, "By op type", &ops, &ops_quiet, &lay);
        y = self.svg_panel(&mut body, y, "By layer", &layers, &layers_quiet, &lay);
        let h = y + MARGIN;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" font-family=\"{FONT}\" font-size=\"12\">\n<rect width=\"{WIDTH}\" height=\"{h}\" fill=\"white\"/>\n{body}</svg>\n"
        )
    }

    /// Writes the title lines; returns the y where the first panel starts.
    fn svg_title(&self, out: &mut String) -> f64 {
        let t = &self.total;
        let n = &self.network;
        let title = format!(
            "mpcc cost ({}) of plan {}",
            self.kind.name(),
            short_digest(&self.plan_digest)
        );
        let sub = format!(
            "{} rounds, {} sent over 3 parties, {} instructions; est. {} on {} ({}, RTT {})",
            t.rounds,
            bytes(t.bytes_sent),
            t.instructions,
            seconds(t.est_time_s),
            n.name,
            bits_per_s(n.bandwidth_bps),
            seconds(n.rtt_s)
        );
        text(
            out,
            MARGIN,
            32.0,
            "start",
            "font-size=\"18\" font-weight=\"bold\"",
            &title,
        );
        text(out, MARGIN, 54.0, "start", "fill=\"#555\"", &sub);
        76.0
    }

    /// Writes one panel starting at `y`; returns the y below it.
    fn svg_panel(
        &self,
        out: &mut String,
        y: f64,
        title: &str,
        bars: &[Bar],
        quiet: &[String],
        lay: &Layout,
    ) -> f64 {
        let mut y = y + 18.0;
        text(
            out,
            MARGIN,
            y,
            "start",
            "font-size=\"15\" font-weight=\"bold\"",
            title,
        );
        y += 20.0;
        let head = "fill=\"#555\" font-weight=\"bold\"";
        text(
            out,
            lay.bytes_x,
            y,
            "start",
            head,
            "bytes sent (all parties)",
        );
        text(out, lay.rounds_x, y, "start", head, "rounds");
        y += 8.0;
        let (tb, tr) = (self.total.bytes_sent.max(1), self.total.rounds.max(1));
        let max_b = bars
            .iter()
            .map(|b| b.cost.bytes_sent)
            .max()
            .unwrap_or(0)
            .max(1);
        let max_r = bars.iter().map(|b| b.cost.rounds).max().unwrap_or(0).max(1);
        for (i, b) in bars.iter().enumerate() {
            if i % 2 == 0 {
                let _ = writeln!(
                    out,
                    "<rect x=\"{MARGIN}\" y=\"{y}\" width=\"{}\" height=\"{ROW_H}\" fill=\"#f4f6f8\"/>",
                    WIDTH - 2.0 * MARGIN
                );
            }
            let mid = y + ROW_H / 2.0 + 4.0;
            text(out, lay.label_right, mid, "end", "", &clip(&b.label));
            let c = &b.cost;
            let bv = format!("{} ({})", bytes(c.bytes_sent), percent(c.bytes_sent, tb));
            let rv = format!("{} ({})", c.rounds, percent(c.rounds, tr));
            let bl = lay.bar_max * c.bytes_sent as f64 / max_b as f64;
            let rl = lay.bar_max * c.rounds as f64 / max_r as f64;
            bar_rect(out, lay.bytes_x, y, bl, BYTES_COLOR, &bv);
            bar_rect(out, lay.rounds_x, y, rl, ROUNDS_COLOR, &rv);
            y += ROW_H;
        }
        if !quiet.is_empty() {
            y += 16.0;
            let names = quiet.iter().map(|q| clip(q)).collect::<Vec<_>>().join(", ");
            let note = format!("no communication: {}", clip_long(&names, 130));
            text(
                out,
                MARGIN,
                y,
                "start",
                "fill=\"#777\" font-style=\"italic\"",
                &note,
            );
        }
        y + 10.0
    }
}

fn bar(label: &str, cost: &Tally) -> Bar {
    Bar {
        label: label.to_string(),
        cost: cost.clone(),
    }
}

/// Splits rows into those with traffic (at most [`MAX_ROWS`], the rest summed into an
/// "others" row) and the labels of those without.
fn visible(bars: Vec<Bar>) -> (Vec<Bar>, Vec<String>) {
    let (mut shown, quiet): (Vec<Bar>, Vec<Bar>) = bars
        .into_iter()
        .partition(|b| b.cost.bytes_sent > 0 || b.cost.rounds > 0);
    if shown.len() > MAX_ROWS {
        let rest = shown.split_off(MAX_ROWS - 1);
        let mut cost = Tally::default();
        for b in &rest {
            cost.add(&b.cost);
        }
        shown.push(Bar {
            label: format!("{} others", rest.len()),
            cost,
        });
    }
    (shown, quiet.into_iter().map(|b| b.label).collect())
}

fn bar_rect(out: &mut String, x: f64, y: f64, len: f64, color: &str, value: &str) {
    let top = y + (ROW_H - BAR_H) / 2.0;
    let len = if len > 0.0 { len.max(1.5) } else { 0.0 };
    let _ = writeln!(
        out,
        "<rect x=\"{x}\" y=\"{top}\" width=\"{len:.1}\" height=\"{BAR_H}\" fill=\"{color}\"/>"
    );
    text(
        out,
        x + len + 6.0,
        y + ROW_H / 2.0 + 4.0,
        "start",
        "",
        value,
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, attrs: &str, s: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" {attrs}>{}</text>",
        escape(s)
    );
}

fn percent(part: u64, whole: u64) -> String {
    let p = 100.0 * part as f64 / whole as f64;
    if p > 0.0 && p < 1.0 {
        "<1%".into()
    } else {
        format!("{p:.0}%")
    }
}

fn clip(s: &str) -> String {
    clip_long(s, MAX_LABEL)
}

fn clip_long(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
