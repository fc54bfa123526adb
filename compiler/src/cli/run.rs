//! `mpcc run`.

/// Arguments of `mpcc run`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `mpcc run`.
pub fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("mpcc run is not implemented yet")
}
