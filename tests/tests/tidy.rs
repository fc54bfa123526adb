//! Tidy checks over the whole workspace: file headers, no machine paths, no wildcard arms
//! over `mpcc_ir::Op`, and docs that name only the passes and operators that exist.
//!
//! Each check walks the files under the workspace root (`CARGO_MANIFEST_DIR/..`), skipping
//! `.git`, every directory whose name starts with `target`, and the root's `out/` (ignored
//! build output, see `.gitignore`). A failure lists every offending `file:line`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every file of the workspace, as a path relative to the root with `/` separators, sorted.
fn files() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let ty = entry.file_type().expect("file type");
            if ty.is_dir() {
                let skip = name == ".git" || name.starts_with("target") || path == "out";
                if !skip {
                    walk(&entry.path(), &path, out);
                }
            } else if ty.is_file() {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), "", &mut out);
    out.sort();
    out
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rust_files() -> Vec<String> {
    files().into_iter().filter(|f| f.ends_with(".rs")).collect()
}

/// Panics with `what` and one offender per line when there are any.
fn assert_none(what: &str, offenders: &[String]) {
    if !offenders.is_empty() {
        let mut msg = format!("{what}: {} offender(s)\n", offenders.len());
        for o in offenders {
            let _ = writeln!(msg, "  {o}");
        }
        panic!("{msg}");
    }
}

/// Every `.rs` file opens with a `//!` line saying what it holds (docs/ARCHITECTURE.md).
#[test]
fn rust_files_open_with_a_module_doc() {
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|f| !read(f).starts_with("//!"))
        .map(|f| format!("{f}:1: first line is not a `//!` doc"))
        .collect();
    assert_none("files without a `//!` first line", &offenders);
}

/// The machine-path prefixes refused by [`no_absolute_machine_paths`], built here so that
/// this file does not hold them.
fn machine_paths() -> Vec<String> {
    ["work", "home", "root", "Users", "tmp"]
        .iter()
        .map(|d| format!("/{d}/"))
        .collect()
}

/// Whether `rel` is checked for machine paths: Rust, Markdown, shell, TOML and JSON files and
/// the CI script, except the JSON under `models/` and `tests/fixtures/`, which is model data
/// (tokenizers, reference outputs, fixtures) rather than text anyone wrote.
fn checked_for_paths(rel: &str) -> bool {
    let data = rel.ends_with(".json")
        && (rel.starts_with("models/") || rel.starts_with("tests/fixtures/"));
    let ext = [".rs", ".md", ".sh", ".toml", ".json"];
    !data && (rel == ".ci/run" || ext.iter().any(|e| rel.ends_with(e)))
}

/// The machine paths on one line: an occurrence counts when it starts a path, i.e. it is not
/// preceded by a path character (so `a/work/b` is a relative path, not a machine path).
fn machine_paths_in(line: &str, needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for n in needles {
        for (at, _) in line.match_indices(n.as_str()) {
            let prev = line[..at].chars().next_back();
            let in_path = prev.is_some_and(|c| c.is_alphanumeric() || "._-".contains(c));
            if !in_path {
                found.push(n.clone());
            }
        }
    }
    found
}

/// No absolute machine paths in the code, docs, scripts and manifests: no path that starts
/// with the directory work, home, root, Users or tmp at the file system's root (see
/// [`machine_paths`]); such paths hold only on one machine. Paths outside the repository are
/// written relative to its root (`../shared/models/`). Scripts that need scratch space use
/// `mktemp -d` or `${TMPDIR:-/tmp}`, which honour `TMPDIR` and which this check accepts (the
/// prefix it refuses ends with a slash after tmp); a fixed directory under tmp is refused,
/// since it collides between users and runs. Rust code uses `tempfile` or
/// `std::env::temp_dir()`.
#[test]
fn no_absolute_machine_paths() {
    let needles = machine_paths();
    let mut offenders = Vec::new();
    for f in files().into_iter().filter(|f| checked_for_paths(f)) {
        let Ok(text) = std::fs::read_to_string(root().join(&f)) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            for n in machine_paths_in(line, &needles) {
                offenders.push(format!("{f}:{}: `{n}` in {:?}", i + 1, line.trim()));
            }
        }
    }
    assert_none("absolute machine paths", &offenders);
}

/// The Rust scanner the wildcard check and the ONNX-OPS check use.
#[path = "tidy/scan.rs"]
mod scan;

/// The catch-all arms of matches over `Op` in one source file, as `file:line: ...` lines.
fn wildcard_op_arms(file: &str, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in scan::matches(src).iter().filter(|m| m.over_op()) {
        for a in m.arms.iter().filter(|a| a.catch_all) {
            let what = format!("`{} =>` in the match over Op at line {}", a.pattern, m.line);
            out.push((a.line, format!("{file}:{}: {what}", a.line)));
        }
    }
    out.sort();
    out.into_iter().map(|(_, o)| o).collect()
}

/// No `match` over `mpcc_ir::Op` has a catch-all arm (`_ =>`, a bare binding such as
/// `other =>`, with or without a guard), so adding an op breaks the build at every match
/// until the op is handled (docs/ADDING-AN-OP.md). A match is over `Op` when one of its own
/// arms names an `Op::` variant, at any depth of the pattern or guard; only the top level of
/// an arm is tested for a catch-all (`Some(_)` beside `Some(Op::Add)` is not caught).
#[test]
fn no_wildcard_arms_over_op() {
    let mut offenders = Vec::new();
    for f in rust_files() {
        offenders.extend(wildcard_op_arms(&f, &read(&f)));
    }
    assert_none("catch-all arms in matches over mpcc_ir::Op", &offenders);
}

/// The cells of a Markdown table row (`| a | b |`), trimmed; `None` for other lines.
fn table_cells(line: &str) -> Option<Vec<&str>> {
    let l = line.trim();
    let inner = l.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    Some(inner.split('|').map(str::trim).collect())
}

/// Whether a row is a table's `|---|---|` separator.
fn is_separator(cells: &[&str]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| "-: ".contains(ch)))
}

/// The backticked spans of a piece of Markdown.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// For each table whose header's first cell satisfies `header`, the 1-based line and the
/// cell in column `col` of each body row.
fn table_column(md: &str, header: impl Fn(&str) -> bool, col: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    // None outside tables; inside one, whether its header matched.
    let mut table: Option<bool> = None;
    for (i, line) in md.lines().enumerate() {
        let Some(cells) = table_cells(line) else {
            table = None;
            continue;
        };
        let Some(matched) = table else {
            table = Some(header(cells[0]));
            continue;
        };
        if matched && !is_separator(&cells) {
            if let Some(c) = cells.get(col) {
                out.push((i + 1, *c));
            }
        }
    }
    out
}

/// docs/PASSES.md documents exactly the passes of `mpcc_passes::PASSES`, in their order.
/// A pass is named in the `pass` column of the table whose header reads `| # | pass | ...`
/// (the list), and by a heading that starts with a backticked name (`## \`fuse_trunc\`
/// rules`); each such name must be in `PASSES`, and the list must hold every pass of
/// `PASSES`, in order.
#[test]
fn passes_doc_names_only_existing_passes() {
    let md = read("docs/PASSES.md");
    let names: Vec<&str> = mpcc_passes::PASSES.iter().map(|p| p.name).collect();
    let mut offenders = Vec::new();
    let listed: Vec<(usize, &str)> = table_column(&md, |h| h == "#", 1)
        .into_iter()
        .flat_map(|(line, cell)| backticked(cell).into_iter().map(move |n| (line, n)))
        .collect();
    let headings = md.lines().enumerate().filter_map(|(i, l)| {
        let h = l.strip_prefix('#')?.trim_start_matches('#').trim();
        h.starts_with('`').then(|| (i + 1, backticked(h)[0]))
    });
    for (line, n) in listed.iter().copied().chain(headings) {
        if !names.contains(&n) {
            offenders.push(format!("docs/PASSES.md:{line}: `{n}` is not in PASSES"));
        }
    }
    let order: Vec<&str> = listed.iter().map(|(_, n)| *n).collect();
    for n in names.iter().filter(|n| !order.contains(n)) {
        offenders.push(format!(
            "docs/PASSES.md: pass `{n}` is missing from the list"
        ));
    }
    let known: Vec<&str> = order.into_iter().filter(|n| names.contains(n)).collect();
    let expected: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| known.contains(n))
        .collect();
    if known != expected {
        offenders.push(format!(
            "docs/PASSES.md: the list's order {known:?} is not PASSES' {expected:?}"
        ));
    }
    assert_none("docs/PASSES.md against mpcc_passes::PASSES", &offenders);
}

/// What the front end's source must contain for it to lower the tract operator `name`.
/// The front end dispatches on tract's op types (`node.op_as::<EinSum>()`) and, for binary
/// and elementwise ops, on tract's name strings (`"Add"`, `"Tanh"`). A few names tract prints
/// are not its type names: the four axis ops are `AxisOp` variants, `Reduce<R>` is the
/// `Reduce` op with reducer `Reducer::R`, and a `Const` is a node with a constant fact.
/// Each returned group is a set of alternatives; all groups must be found.
fn frontend_needles(name: &str) -> Vec<Vec<String>> {
    let exact = |s: &str| vec![vec![s.to_string()]];
    if let Some(r) = name
        .strip_prefix("Reduce<")
        .and_then(|r| r.strip_suffix('>'))
    {
        return vec![
            vec!["op_as::<Reduce>".into()],
            vec![format!("Reducer::{r}")],
        ];
    }
    match name {
        "Source" => exact("op_as::<TypedSource>"),
        "Const" => exact("fact.konst"),
        "Concat" => exact("op_as::<TypedConcat>"),
        "AddAxis" | "RmAxis" | "Reshape" => exact("op_as::<AxisOp>"),
        "MoveAxis" => exact("AxisOp::Move"),
        _ => vec![vec![
            format!("\"{name}\""),
            format!("op_as::<{name}>"),
            format!("downcast_ref::<{name}>"),
        ]],
    }
}

/// docs/ONNX-OPS.md names only operators the front end lowers: every backticked name in the
/// first column of its operator table (header `tract op (ONNX op)`) is dispatched on in
/// `compiler/src/frontend/*.rs` (comments do not count; see [`frontend_needles`]). A row whose
/// first cell starts with "any" is a category ("any elementwise op (`Cos`, `Sin`, ...) on a
/// lookup table"): its names are examples of ops handled generically, and are not checked.
#[test]
fn onnx_ops_doc_names_only_lowered_operators() {
    let md = read("docs/ONNX-OPS.md");
    let dir = "compiler/src/frontend";
    let mut tokens = Vec::new();
    for f in files()
        .into_iter()
        .filter(|f| f.starts_with(dir) && f.ends_with(".rs"))
    {
        if !f[dir.len() + 1..].contains('/') {
            tokens.extend(scan::tokenize(&read(&f)));
        }
    }
    assert!(!tokens.is_empty(), "no sources under {dir}");
    let mut offenders = Vec::new();
    let rows = table_column(&md, |h| h.starts_with("tract op"), 0);
    assert!(
        !rows.is_empty(),
        "docs/ONNX-OPS.md: no `| tract op (ONNX op) |` table"
    );
    for (line, cell) in rows.into_iter().filter(|(_, c)| !c.starts_with("any")) {
        for name in backticked(cell) {
            let needles = frontend_needles(name);
            let found = needles
                .iter()
                .all(|alts| alts.iter().any(|n| scan::contains_tokens(&tokens, n)));
            if !found {
                offenders.push(format!(
                    "docs/ONNX-OPS.md:{line}: `{name}`: none of {needles:?} in {dir}/*.rs"
                ));
            }
        }
    }
    assert_none(
        "docs/ONNX-OPS.md operators the front end does not lower",
        &offenders,
    );
}

/// The scanner finds a wildcard over `Op`, and leaves a wildcard over another enum alone.
#[test]
fn scanner_catches_wildcard_over_op_only() {
    let src = r#"
fn f(op: &Op, k: Kind) -> u32 {
    let a = match op {
        Op::Add => 1,
        _ => 2,
    };
    let b = match k {
        Kind::A => 1,
        _ => 2,
    };
    a + b
}
"#;
    let found = wildcard_op_arms("x.rs", src);
    assert_eq!(found, ["x.rs:5: `_ =>` in the match over Op at line 3"]);
}

/// Bare bindings, guarded or not, are catch-alls; bindings bound to a pattern are not.
#[test]
fn scanner_catches_bindings_and_guards() {
    let src = r#"
fn f(op: &Op) -> u32 {
    match op {
        Op::Add | Op::Sub => 1,
        o @ (Op::Mul | Op::MatMul) => 2,
        op if op.is_kernel() => 3,
        other => 4,
    }
}
"#;
    let found = wildcard_op_arms("x.rs", src);
    assert_eq!(
        found,
        [
            "x.rs:6: `op if op . is_kernel ( ) =>` in the match over Op at line 3",
            "x.rs:7: `other =>` in the match over Op at line 3",
        ]
    );
}

/// The arms of a nested match belong to it: a wildcard over a `u32` inside an arm of a match
/// over `Op` is not caught, and a wildcard over `Op` inside a match over another enum is.
#[test]
fn scanner_nested_matches() {
    let src = r#"
fn f(op: &Op, n: u32, k: Kind) -> u32 {
    match op {
        Op::Add => match n {
            0 => 1,
            _ => 2,
        },
        Op::Sub => { match k { Kind::A => 3, _ => 4 } }
        Op::Mul => 5,
    };
    match k {
        Kind::A => match op { Op::Add => 1, _ => 0 },
        Kind::B => 2,
        _ => 3,
    }
}
"#;
    let found = wildcard_op_arms("x.rs", src);
    assert_eq!(found, ["x.rs:12: `_ =>` in the match over Op at line 12"]);
}

/// Strings, chars, lifetimes and comments do not confuse the scanner.
#[test]
fn scanner_skips_strings_and_comments() {
    let src = r##"
fn f<'a>(op: &'a Op) -> &'a str {
    // match op { Op::Add => 1, _ => 2 }
    /* match op { Op::Add => 1, /* nested */ _ => 2 } */
    let _s = "match op { Op::Add => 1, _ => 2 }";
    let _r = r#"match op { Op::Add => 1, _ => 2 } "# ;
    let _c = ('{', '}', b'"', '\'');
    match op {
        Op::Add => "}",
        Op::Sub => "{ _ => ",
        Op::Mul => HashMap::<u8, u8>::new().len(),
    }
}
"##;
    assert_eq!(wildcard_op_arms("x.rs", src), Vec::<String>::new());
    let m = scan::matches(src);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].line, 8);
    assert_eq!(m[0].arms.len(), 3, "{m:?}");
}

/// A machine path counts where a path starts, not inside a relative one.
#[test]
fn machine_path_detection() {
    let needles = machine_paths();
    let w = format!("see {}shared", needles[0]);
    assert_eq!(machine_paths_in(&w, &needles), [needles[0].clone()]);
    let rel = format!("../shared{}x", needles[0]);
    assert!(machine_paths_in(&rel, &needles).is_empty());
    assert!(machine_paths_in("OUT=\"$(mktemp -d)\" ${TMPDIR:-/tmp}", &needles).is_empty());
}
