//! `mpcc compile`.

/// Arguments of `mpcc compile`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `mpcc compile`.
pub fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("mpcc compile is not implemented yet")
}
