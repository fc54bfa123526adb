//! `mpcc keygen`.

/// Arguments of `mpcc keygen`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `mpcc keygen`.
pub fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("mpcc keygen is not implemented yet")
}
