//! The CI smoke: every target runs its seeds and a few hundred mutations (a few seconds in
//! all, in release) and must find no crash. `scripts/fuzz.sh TARGET SECONDS` runs longer.

use mpcc_fuzz::driver::{fuzz, Budget, Config};
use mpcc_fuzz::TARGETS;

#[global_allocator]
static ALLOC: mpcc_fuzz::alloc::Capped = mpcc_fuzz::alloc::Capped;

/// Each target runs its seeds and the smoke's number of mutations, and nothing panics,
/// hangs or allocates without bound.
#[test]
fn every_target_survives_a_short_run() {
    let mut failures = Vec::new();
    for t in TARGETS {
        let cfg = Config {
            seed: 14,
            budget: Budget::Iterations(t.smoke_iterations),
            crash_dir: None,
        };
        let t0 = std::time::Instant::now();
        let r = fuzz(t, &cfg);
        let seeds = (t.seeds)().len() as u64;
        eprintln!(
            "{}: {} inputs, {} outcomes, {:.2} s",
            t.name,
            r.iterations,
            r.outcomes,
            t0.elapsed().as_secs_f64()
        );
        assert_eq!(r.iterations, seeds + t.smoke_iterations, "{}", t.name);
        assert!(r.outcomes >= 1 && r.corpus >= 1, "{}: nothing ran", t.name);
        for c in r.crashes {
            failures.push(format!("{}: {} (input {:?})", t.name, c.message, c.input));
        }
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}
