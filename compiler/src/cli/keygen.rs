//! `mpcc keygen`: a party's TLS key pair and self-signed certificate for `mpcc party`.

use anyhow::{bail, Context};
use mpcc_runtime::net::{cert_fingerprint, generate_keys, key_file_names};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Make a party's TLS key pair (ECDSA P-256) and self-signed certificate.
///
/// Writes DIR/partyN.key (private, mode 0600) and DIR/partyN.crt. Keep the key on the
/// party's machine; give the certificate to the two other parties, who pin it: a peer that
/// presents any other key is refused. Compare the printed fingerprint out of band.
///
/// Examples:
///
///   mpcc keygen --id 0 --out-dir keys/
///   mpcc keygen --id 0,1,2 --out-dir keys/     (all three, for a test on one machine)
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The party (0 = model owner, 1 = client, 2 = helper); several as 0,1,2.
    #[arg(long, value_delimiter = ',', required = true,
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub id: Vec<u8>,

    /// Directory for the files (created if needed).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// Runs `mpcc keygen`.
pub fn main(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create the directory '{}'", args.out_dir.display()))?;
    for &id in &args.id {
        let (key_name, cert_name) = key_file_names(id);
        let (key_path, cert_path) = (args.out_dir.join(key_name), args.out_dir.join(cert_name));
        for p in [&key_path, &cert_path] {
            if p.exists() && !args.force {
                bail!("'{}' exists; pass --force to replace it", p.display());
            }
        }
        let (key, cert) = generate_keys(id)?;
        write_private(&key_path, key.as_bytes())?;
        std::fs::write(&cert_path, cert.as_bytes())
            .with_context(|| format!("cannot write '{}'", cert_path.display()))?;
        outln!(
            "party {id}: key {} (keep it secret), certificate {} (give it to the other parties)",
            key_path.display(),
            cert_path.display()
        );
        outln!("  certificate SHA-256 {}", cert_fingerprint(&cert)?);
    }
    Ok(())
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write '{}'", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write '{}'", path.display()))
}
