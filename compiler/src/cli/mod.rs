//! Subcommands of the `mpcc` CLI, one file each, and what they share: [`paths`] (outputs
//! never overwrite inputs) and [`out`] with `outln!` (printing that survives a closed
//! standard output; subcommands print with it, never with `println!`).

/// `println!` that tolerates a closed standard output (see [`out::line`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}

pub mod accuracy;
pub mod compile;
pub mod cost;
pub mod generate;
pub mod inspect;
pub mod keygen;
pub mod memory;
pub mod out;
pub mod party;
pub mod paths;
pub mod run;
pub mod tune;
