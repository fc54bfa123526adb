//! Guards on the files a subcommand reads and writes: no output may be the same file as an
//! input or as another output, checked before anything is written.

use mpcc_ir::{plan::Plan, PartyId};
use std::path::{Component, Path, PathBuf};

/// A file a subcommand reads or writes, with what it is for the error message (e.g.
/// "the model", "the plan (-o)").
#[derive(Clone, Copy, Debug)]
pub struct Role<'a> {
    /// What the file is, as the user named it.
    pub what: &'a str,
    /// Its path as given.
    pub path: &'a Path,
}

impl<'a> Role<'a> {
    /// A file named `what` at `path`.
    pub fn new(what: &'a str, path: &'a Path) -> Role<'a> {
        Role { what, path }
    }
}

/// Refuses any output that is the same file as an input or as another output (a symlink or
/// hard link to a file counts as that file). Checked before anything is written, so a
/// refusal leaves every file as it was.
pub fn check_distinct(inputs: &[Role], outputs: &[Role]) -> anyhow::Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        for input in inputs {
            if same_file(out.path, input.path) {
                anyhow::bail!(
                    "{} '{}' is the same file as {} '{}': writing it would destroy {}; \
                     choose another path for {}",
                    out.what,
                    out.path.display(),
                    input.what,
                    input.path.display(),
                    input.what,
                    out.what
                );
            }
        }
        for other in &outputs[..i] {
            if same_file(out.path, other.path) {
                anyhow::bail!(
                    "{} '{}' and {} '{}' are the same file, so one would overwrite the \
                     other; give them different paths",
                    other.what,
                    other.path.display(),
                    out.what,
                    out.path.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same file: the same device and inode where both exist,
/// otherwise the same resolved path ([`identity`]).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    identity(a) == identity(b)
}

/// A path's identity: its canonical form where it exists; otherwise the canonical form of
/// the nearest existing ancestor joined with the rest, normalized (`.` dropped, `..`
/// applied). A dangling symlink resolves to where it points, which is where a write lands.
pub fn identity(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    if let Ok(target) = std::fs::read_link(p) {
        let base = p.parent().unwrap_or(Path::new(""));
        return normalize(&base.join(target));
    }
    normalize(p)
}

/// `p` made absolute, its longest existing prefix canonicalized, the rest normalized
/// lexically.
fn normalize(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    let mut out = PathBuf::new();
    let mut exists = true;
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
        if exists {
            match std::fs::canonicalize(&out) {
                Ok(canon) => out = canon,
                Err(_) => exists = false,
            }
        }
    }
    out
}

/// Where a run writes output `name` under `dir`: `DIR/<file-safe name>.npy`.
pub fn output_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{}.npy", crate::io::file_stem(name)))
}

/// The files a run writes, with what each is: every output of `plan` revealed to `party`
/// (every output for `None`) under `dir`, then the profile if one is asked for.
pub fn run_outputs(
    plan: &Plan,
    dir: &Path,
    party: Option<PartyId>,
    profile: Option<&Path>,
) -> Vec<(String, PathBuf)> {
    let outputs = plan.body.outputs.iter();
    let mut files: Vec<(String, PathBuf)> = outputs
        .filter(|d| party.is_none_or(|p| d.to.contains(&p)))
        .map(|d| {
            let what = format!("output '{}' (in --output-dir)", d.name);
            (what, output_path(dir, &d.name))
        })
        .collect();
    if let Some(p) = profile {
        files.push(("the profile (--profile)".into(), p.to_path_buf()));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Different spellings of one path, and a symlink to a file, are the same file;
    /// siblings are not.
    #[test]
    fn spellings_and_links_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("m.onnx"), b"x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        assert!(same_file(&d.join("m.onnx"), &d.join("sub/../m.onnx")));
        assert!(same_file(&d.join("new.plan"), &d.join("./sub/../new.plan")));
        assert!(!same_file(&d.join("a.plan"), &d.join("b.plan")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.join("m.onnx"), d.join("link.onnx")).unwrap();
            assert!(same_file(&d.join("link.onnx"), &d.join("m.onnx")));
            std::os::unix::fs::symlink(d.join("gone.plan"), d.join("dangling")).unwrap();
            assert!(same_file(&d.join("dangling"), &d.join("gone.plan")));
        }
    }
}
