//! The fuzz driver's command line: `fuzz list`, `fuzz TARGET [--seconds S | --iterations N]
//! [--seed X] [--crashes DIR]`, and `fuzz replay TARGET FILE...`. Crashes go to
//! `fuzz/crashes/TARGET/<hash>` unless `--crashes` says otherwise; the exit status is 1
//! when a run found one.

use mpcc_fuzz::driver::{fuzz, run_one, Budget, Config};
use mpcc_fuzz::{target, TARGETS};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[global_allocator]
static ALLOC: mpcc_fuzz::alloc::Capped = mpcc_fuzz::alloc::Capped;

const USAGE: &str = "usage: fuzz list
       fuzz TARGET [--seconds S | --iterations N] [--seed X] [--crashes DIR]
       fuzz replay TARGET FILE...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("list") => {
            for t in TARGETS {
                println!("{:<16} {}", t.name, t.about);
            }
            ExitCode::SUCCESS
        }
        Some("replay") => replay(&args[1..]),
        Some(name) => match parse_run(name, &args[1..]) {
            Ok(cfg) => run(name, &cfg),
            Err(e) => {
                eprintln!("fuzz: {e}\n{USAGE}");
                ExitCode::from(2)
            }
        },
    }
}

fn parse_run(name: &str, rest: &[String]) -> Result<Config, String> {
    if target(name).is_none() {
        return Err(format!("no target '{name}' (see `fuzz list`)"));
    }
    let mut cfg = Config {
        seed: 1,
        budget: Budget::Time(Duration::from_secs(60)),
        crash_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crashes")),
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--seconds" => cfg.budget = Budget::Time(Duration::from_secs(num()?)),
            "--iterations" => cfg.budget = Budget::Iterations(num()?),
            "--seed" => cfg.seed = num()?,
            "--crashes" => cfg.crash_dir = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(cfg)
}

fn run(name: &str, cfg: &Config) -> ExitCode {
    let Some(t) = target(name) else {
        return ExitCode::from(2);
    };
    let r = fuzz(t, cfg);
    println!(
        "{name}: {} inputs in {:.1} s ({:.0}/s), {} outcomes, corpus {}, {} unique crash(es)",
        r.iterations,
        r.elapsed.as_secs_f64(),
        r.iterations as f64 / r.elapsed.as_secs_f64().max(1e-9),
        r.outcomes,
        r.corpus,
        r.crashes.len()
    );
    for c in &r.crashes {
        let at = c
            .path
            .as_ref()
            .map_or_else(|| "not saved".to_string(), |p| p.display().to_string());
        println!("  crash: {}\n    saved: {at}", c.message);
    }
    if r.crashes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn replay(args: &[String]) -> ExitCode {
    let Some((name, files)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Some(t) = target(name) else {
        eprintln!("fuzz: no target '{name}'");
        return ExitCode::from(2);
    };
    let mut failed = false;
    for f in files {
        match std::fs::read(f) {
            Err(e) => {
                eprintln!("{f}: {e}");
                failed = true;
            }
            Ok(bytes) => match run_one(t, &bytes) {
                Ok(o) => println!("{f}: {o}"),
                Err(m) => {
                    println!("{f}: CRASH {m}");
                    failed = true;
                }
            },
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
