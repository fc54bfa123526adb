//! Standard output that tolerates a reader that went away (`mpcc run ... | head -1`): the
//! first failed write ends the printing quietly, and the subcommand carries on, so its files
//! are written and its exit status reflects its work, not the reader's.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to standard output failed; later lines are dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to standard output, unless it is closed. A broken pipe is silent; any
/// other failure (a full disk behind a redirection) is said once on standard error.
pub fn line(args: fmt::Arguments) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let r = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = r {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to standard output ({e}); printing stops");
        }
    }
}

/// Writes `s` as is to standard output, with the same tolerance as [`line`].
pub fn text(s: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to standard output ({e}); printing stops");
        }
    }
}
