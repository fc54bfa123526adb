//! The before → after example in each pass's module doc is what the pass does: the "before"
//! text is parsed, the pass runs, and the printed result matches the "after" text (where a
//! line of the doc holds `…`, any text may stand in its place).

use mpcc_ir::text::parse;
use mpcc_passes::{find_pass, PassCtx, PASSES};

const SOURCES: &[(&str, &str)] = &[
    (
        "lower_activations",
        include_str!("../src/lower_activations.rs"),
    ),
    ("lower_softmax", include_str!("../src/lower_softmax.rs")),
    ("lower_rms_norm", include_str!("../src/lower_rms_norm.rs")),
    ("lower_arith", include_str!("../src/lower_arith.rs")),
    ("fuse_trunc", include_str!("../src/fuse_trunc.rs")),
    ("dead_code", include_str!("../src/dead_code.rs")),
];

/// The ```text blocks of a file's `//!` doc.
fn text_blocks(src: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in src.lines().filter_map(|l| l.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (&mut cur, line) {
            (None, "```text") => cur = Some(String::new()),
            (Some(_), "```") => blocks.extend(cur.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// True when `actual` matches `expected`, whose `…` stand for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return expected == actual;
    }
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Each pass's doc example, run through the pass, prints as documented.
#[test]
fn doc_examples_hold() {
    assert_eq!(
        SOURCES.len(),
        PASSES.len(),
        "every pass has its doc example checked"
    );
    for (name, src) in SOURCES {
        let blocks = text_blocks(src);
        assert_eq!(
            blocks.len(),
            2,
            "{name}: expected a before and an after block"
        );
        let mut g = parse(&blocks[0]).unwrap_or_else(|e| panic!("{name}: before: {e}"));
        g.verify(false).unwrap();
        (find_pass(name).unwrap().run)(&PassCtx::default(), &mut g).unwrap();
        let got = g.to_string();
        let (want, have): (Vec<&str>, Vec<&str>) =
            (blocks[1].lines().collect(), got.lines().collect());
        assert_eq!(want.len(), have.len(), "{name}: line count\n{got}");
        for (w, h) in want.iter().zip(&have) {
            assert!(line_matches(w, h), "{name}:\n  doc: {w}\n  got: {h}\n{got}");
        }
    }
}
