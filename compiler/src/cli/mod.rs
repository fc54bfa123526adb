//! Subcommands of the `mpcc` CLI, one file each.

pub mod compile;
pub mod cost;
pub mod keygen;
pub mod party;
pub mod run;
