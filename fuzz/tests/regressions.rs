//! Replays every input saved under `fuzz/regressions/TARGET/` (each a crash the fuzzer
//! found, kept after its fix) through its target: none may crash again.

use mpcc_fuzz::driver::run_one;
use mpcc_fuzz::target;
use std::path::Path;

#[global_allocator]
static ALLOC: mpcc_fuzz::alloc::Capped = mpcc_fuzz::alloc::Capped;

/// Every regression input runs through its target without a panic, and every directory
/// names a target.
#[test]
fn saved_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut ran = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/regressions")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    for d in dirs {
        let name = d.file_name().to_string_lossy().into_owned();
        let t = target(&name).unwrap_or_else(|| panic!("fuzz/regressions/{name}: no such target"));
        let mut files: Vec<_> = std::fs::read_dir(d.path())
            .expect("target directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).expect("regression input");
            ran += 1;
            if let Err(m) = run_one(t, &bytes) {
                failures.push(format!("{}: {m}", f.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "regressions crash again:\n{}",
        failures.join("\n")
    );
    eprintln!("{ran} regression input(s) replayed");
}
