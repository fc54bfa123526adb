//! `mpcc cost`.

/// Arguments of `mpcc cost`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `mpcc cost`.
pub fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("mpcc cost is not implemented yet")
}
