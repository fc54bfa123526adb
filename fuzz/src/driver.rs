//! The driver: runs a target on mutations of its seeds for a number of iterations or a time,
//! catches panics (the crash is saved under `fuzz/crashes/TARGET/<hash>` and reported),
//! watches for hangs (an input that runs past the target's time limit is saved as
//! `hang-<hash>` and the process exits), and keeps in the corpus every input whose outcome
//! (the text a target returns, digits dropped) is new.

use crate::mutate::{mutate, Rng};
use crate::Target;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// How long a run goes on.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// This many mutated inputs (the seeds come first and are not counted).
    Iterations(u64),
    /// Until this much time has passed.
    Time(Duration),
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seed of the mutation engine.
    pub seed: u64,
    /// How long to go on.
    pub budget: Budget,
    /// Where crashes go (`DIR/TARGET/<hash>`); `None` keeps them in memory only.
    pub crash_dir: Option<PathBuf>,
}

/// A distinct panic found.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The panic message and where it was raised.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
    /// Where it was saved, if it was.
    pub path: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Inputs run, seeds included.
    pub iterations: u64,
    /// Distinct crashes (by message and location).
    pub crashes: Vec<Crash>,
    /// Corpus size at the end.
    pub corpus: usize,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// The input being run and the target's name, for the hang watchdog and the allocator.
struct Current {
    target: &'static str,
    dir: Option<PathBuf>,
    input: Vec<u8>,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);
/// Milliseconds since [`epoch`] when the current input started; 0 when idle.
static STARTED: AtomicU64 = AtomicU64::new(0);
/// Panics raised (in any thread) while the current input runs, and whether each was raised
/// in the workspace's own code.
static PANICS: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());

fn epoch() -> Instant {
    static E: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64 + 1
}

/// The first 16 hex digits of the SHA-256 of `input`: a crash file's name.
pub fn hash_name(input: &[u8]) -> String {
    Sha256::digest(input)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Saves the input being run as `DIR/TARGET/<kind>-<hash>` (hangs and unbounded
/// allocations, which end the process). Never blocks.
pub fn save_current(kind: &str) {
    let Ok(guard) = CURRENT.try_lock() else {
        return;
    };
    if let Some(c) = guard.as_ref() {
        let name = format!("{kind}-{}", hash_name(&c.input));
        match &c.dir {
            Some(d) => match save(d, c.target, &name, &c.input) {
                Ok(p) => eprintln!("mpcc-fuzz: {kind} in '{}': saved {}", c.target, p.display()),
                Err(e) => eprintln!("mpcc-fuzz: {kind} in '{}': cannot save: {e}", c.target),
            },
            None => eprintln!("mpcc-fuzz: {kind} in '{}', input {:?}", c.target, c.input),
        }
    }
}

fn save(dir: &Path, target: &str, name: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    let d = dir.join(target);
    std::fs::create_dir_all(&d)?;
    let p = d.join(name);
    std::fs::write(&p, input)?;
    Ok(p)
}

/// Installs the panic hook (records the message and location; prints each distinct one once)
/// and starts the hang watchdog, once per process.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let seen = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| {
            let msg = match info.payload().downcast_ref::<&str>() {
                Some(s) => s.to_string(),
                None => info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "panic".into()),
            };
            let (at, ours) = info.location().map_or((String::new(), false), |l| {
                // Workspace sources have relative paths; dependencies and std absolute ones.
                let ours = !l.file().starts_with('/') && !l.file().contains(":\\");
                (format!("{}:{}", l.file(), l.line()), ours)
            });
            let full = format!("{msg} at {at}");
            if seen.lock().map(|mut s| s.insert(at)).unwrap_or(false) {
                eprintln!("mpcc-fuzz: panic: {full}");
            }
            if let Ok(mut l) = PANICS.lock() {
                if l.len() < 8 {
                    l.push((full, ours));
                }
            }
        }));
        std::thread::spawn(watchdog);
    });
}

/// Ends the process when an input runs past its target's limit.
fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let started = STARTED.load(Ordering::Relaxed);
        let limit = LIMIT_MS.load(Ordering::Relaxed);
        if started != 0 && now_ms().saturating_sub(started) > limit {
            save_current("hang");
            eprintln!("mpcc-fuzz: an input ran for more than {limit} ms (a hang)");
            std::process::exit(3);
        }
    }
}

static LIMIT_MS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Runs `target` once on `input`: its outcome, or the panic message. A panic counts when it
/// unwinds out of the target, or when it was raised in the workspace's code and caught
/// on the way (by a party thread's join, or a `catch_unwind` guard); a dependency's panic
/// that the code catches on purpose (tract's, behind the front end's guard) does not.
pub fn run_one(target: &Target, input: &[u8]) -> Result<String, String> {
    install();
    if let Ok(mut l) = PANICS.lock() {
        l.clear();
    }
    let r = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let panics = PANICS
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    match r {
        Err(_) => Err(panics
            .into_iter()
            .next()
            .map_or_else(|| "panic".into(), |p| p.0)),
        Ok(o) => match panics.into_iter().find(|p| p.1) {
            Some((m, _)) => Err(format!("caught panic: {m}")),
            None => Ok(o),
        },
    }
}

/// The outcome's plain words (those of letters only, so no numbers, digests, paths or
/// quoted input, and none after "found"), the first dozen: errors that differ only in such values count as one.
fn outcome_key(o: &str) -> String {
    let mut quoted = false;
    // What follows "found" quotes the input, perhaps cut inside a quote of its own.
    let o = o.split(" found ").next().unwrap_or(o);
    let unquoted: String = o
        .chars()
        .filter(|c| {
            if matches!(c, '\'' | '"' | '`') {
                quoted = !quoted;
                return false;
            }
            !quoted
        })
        .collect();
    unquoted
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| ",;:.()[]{}".contains(c)))
        .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
        .take(12)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fuzzes `target` as `cfg` says.
pub fn fuzz(target: &Target, cfg: &Config) -> Report {
    install();
    let t0 = Instant::now();
    let seeds = (target.seeds)();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut outcomes: HashSet<String> = HashSet::new();
    let mut crash_keys: HashSet<String> = HashSet::new();
    let mut report = Report::default();
    let mut rng = Rng::new(cfg.seed);
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    queue.reverse();
    LIMIT_MS.store(target.time_limit.as_millis() as u64, Ordering::Relaxed);
    let mut mutated = 0u64;
    let show = std::env::var_os("MPCC_FUZZ_SHOW").is_some();
    loop {
        let input = match queue.pop() {
            Some(s) => s,
            None => {
                let done = match cfg.budget {
                    Budget::Iterations(n) => mutated >= n,
                    Budget::Time(d) => t0.elapsed() >= d,
                };
                if done || corpus.is_empty() && seeds.is_empty() {
                    break;
                }
                mutated += 1;
                let base = if corpus.is_empty() {
                    &seeds[rng.below(seeds.len())]
                } else {
                    &corpus[rng.below(corpus.len())]
                };
                mutate(&mut rng, base, &corpus, target.dict, target.max_len)
            }
        };
        if let Ok(mut c) = CURRENT.lock() {
            *c = Some(Current {
                target: target.name,
                dir: cfg.crash_dir.clone(),
                input: input.clone(),
            });
        }
        STARTED.store(now_ms(), Ordering::Relaxed);
        let r = run_one(target, &input);
        STARTED.store(0, Ordering::Relaxed);
        report.iterations += 1;
        match r {
            Ok(o) => {
                if outcomes.insert(outcome_key(&o)) {
                    if show {
                        eprintln!("new outcome: {o}");
                    }
                    if corpus.len() < 4096 {
                        corpus.push(input);
                    }
                }
            }
            Err(message) => {
                let key = message
                    .rsplit(" at ")
                    .next()
                    .unwrap_or(&message)
                    .to_string();
                if crash_keys.insert(key) {
                    let path = cfg.crash_dir.as_ref().and_then(|d| {
                        save(d, target.name, &hash_name(&input), &input)
                            .map_err(|e| eprintln!("mpcc-fuzz: cannot save a crash: {e}"))
                            .ok()
                    });
                    report.crashes.push(Crash {
                        message,
                        input,
                        path,
                    });
                }
            }
        }
    }
    LIMIT_MS.store(u64::MAX, Ordering::Relaxed);
    report.corpus = corpus.len();
    report.outcomes = outcomes.len();
    report.elapsed = t0.elapsed();
    report
}
