//! The memory check of `mpcc compile`, `mpcc run` and `mpcc party`: a plan too large for this
//! machine is refused up front, with the figure, before any file is written or any party
//! starts, instead of growing until the kernel kills the process.
//!
//! The estimate is [`mpcc_runtime::vm::peak_slot_bytes`]: the bytes of values the VM holds
//! at once at its peak (16 bytes per secret element, 8 per public one, each value dropped
//! after its last use), computed from the plan's types in closed form. It is exact for the
//! VM's slots (tested against a run) and a lower bound for the process, since kernels hold
//! temporaries on top (a comparison over t thresholds about 8·t words per element): a
//! refusal is always right, and a plan that passes may still need more. A plan is compared
//! with `MemTotal` of `/proc/meminfo` at compile time (the run may come later, on a quieter
//! machine) and with `MemAvailable` before a run; where `/proc/meminfo` cannot be read the
//! check is skipped.

use crate::cli::compile::human_bytes;
use mpcc_ir::plan::Plan;

/// What this machine has, from `/proc/meminfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// `MemTotal`, bytes.
    pub total: u64,
    /// `MemAvailable`, bytes (the total where the kernel does not report it).
    pub available: u64,
}

/// When the check runs, which sets the figure it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `mpcc compile`: one party's need against the machine's total memory.
    Compile,
    /// `mpcc run`: three parties in this process, against the available memory.
    RunLocal,
    /// `mpcc run --simulate`: one plaintext word per element (half a share's bytes).
    Simulate,
    /// `mpcc party`: one party, against the available memory.
    Party,
}

/// This machine's memory, or `None` where `/proc/meminfo` cannot be read or parsed.
pub fn machine() -> Option<Machine> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemTotal` and `MemAvailable` of a `/proc/meminfo` text.
pub fn parse_meminfo(text: &str) -> Option<Machine> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        kib.checked_mul(1024)
    };
    let total = field("MemTotal:")?;
    Some(Machine {
        total,
        available: field("MemAvailable:").unwrap_or(total),
    })
}

/// Refuses `plan` at `stage` when its memory lower bound exceeds this machine's memory;
/// passes when it fits or when the machine's memory is unknown.
pub fn check(plan: &Plan, stage: Stage) -> Result<(), String> {
    match machine() {
        Some(m) => check_against(mpcc_runtime::vm::peak_slot_bytes(plan), stage, m),
        None => Ok(()),
    }
}

/// [`check`] for a plan whose VM holds `slots` bytes at its peak, on machine `m`.
pub fn check_against(slots: u64, stage: Stage, m: Machine) -> Result<(), String> {
    let (need, have, what) = match stage {
        Stage::Compile => (slots, m.total, "in all"),
        Stage::RunLocal => (slots.saturating_mul(3), m.available, "available"),
        Stage::Simulate => (slots / 2, m.available, "available"),
        Stage::Party => (slots, m.available, "available"),
    };
    if need <= have {
        return Ok(());
    }
    let who = match stage {
        Stage::Compile | Stage::Party => "each party needs",
        Stage::RunLocal => "its three parties in this process need",
        Stage::Simulate => "its simulation needs",
    };
    let todo = match stage {
        Stage::Compile => "compile with a smaller --batch or --seq (or --input-shape)",
        _ => {
            "compile the model again with a smaller --batch or --seq, or run on a machine \
              with more memory"
        }
    };
    Err(format!(
        "the plan is too large for this machine: {who} at least {} of memory (the values live \
         at once at the plan's peak; kernels' temporaries come on top), and this machine has {} \
         {what}; {todo}",
        human_size(need),
        human_size(have)
    ))
}

/// Bytes in a human unit, with TiB and beyond for the figures of absurd plans.
fn human_size(b: u64) -> String {
    const TIB: u64 = 1 << 40;
    if b == u64::MAX {
        "more than 16 EiB".into()
    } else if b >= TIB {
        format!("{:.2} TiB", b as f64 / TIB as f64)
    } else {
        human_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const M: Machine = Machine {
        total: 16 * GIB,
        available: 8 * GIB,
    };

    /// `/proc/meminfo` gives the total and available bytes; without MemAvailable the total
    /// stands in; unreadable text gives nothing.
    #[test]
    fn reads_meminfo() {
        let text = "MemTotal:       16384000 kB\nMemFree:  100 kB\nMemAvailable:    8192000 kB\n";
        assert_eq!(
            parse_meminfo(text),
            Some(Machine {
                total: 16_384_000 * 1024,
                available: 8_192_000 * 1024
            })
        );
        let old = "MemTotal: 1000 kB\n";
        assert_eq!(parse_meminfo(old).unwrap().available, 1_024_000);
        assert_eq!(parse_meminfo("garbage"), None);
    }

    /// Compile compares one party with the total, a local run three parties with the
    /// available memory; a refusal gives both figures and what to do.
    #[test]
    fn refuses_with_the_figures() {
        assert!(check_against(12 * GIB, Stage::Compile, M).is_ok());
        let e = check_against(12 * GIB, Stage::Party, M).unwrap_err();
        assert!(
            e.contains("at least 12.00 GiB") && e.contains("8.00 GiB available"),
            "{e}"
        );
        let e = check_against(3 * GIB, Stage::RunLocal, M).unwrap_err();
        assert!(
            e.contains("three parties") && e.contains("at least 9.00 GiB"),
            "{e}"
        );
        assert!(check_against(3 * GIB, Stage::Party, M).is_ok());
        assert!(check_against(15 * GIB, Stage::Simulate, M).is_ok());
        let e = check_against(3 << 40, Stage::Compile, M).unwrap_err();
        assert!(
            e.contains("3.00 TiB") && e.contains("16.00 GiB in all"),
            "{e}"
        );
        assert!(e.contains("smaller --batch or --seq"), "{e}");
        let e = check_against(u64::MAX, Stage::Compile, M).unwrap_err();
        assert!(e.contains("more than 16 EiB"), "{e}");
    }
}
