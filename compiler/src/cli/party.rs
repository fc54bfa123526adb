//! `mpcc party`.

/// Arguments of `mpcc party`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `mpcc party`.
pub fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("mpcc party is not implemented yet")
}
