//! The mpcc command line: compile ONNX models to MPC plans, run them, report their cost,
//! and run parties as separate processes.

use clap::{Parser, Subcommand};
use mpcc_compiler::cli;

/// mpcc: private Transformer inference with 3-party secure computation.
///
/// A typical session:
///
///   mpcc inspect model.onnx
///   mpcc compile model.onnx -o model.plan --input-shape input_ids=1,16 ...
///   mpcc cost model.plan --network wan
///   mpcc run model.plan --input input_ids=ids.npy ... --output-dir out/
///   mpcc compile decoder/ -o gen.plan --generate --max-seq-len 32
///   mpcc generate gen.plan --prompt "Once upon a time" --max-new-tokens 16 --output-dir out/
#[derive(Parser)]
#[command(name = "mpcc", version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Compile(cli::compile::Args),
    Run(cli::run::Args),
    Cost(cli::cost::Args),
    Inspect(cli::inspect::Args),
    Accuracy(cli::accuracy::Args),
    Tune(cli::tune::Args),
    Generate(cli::generate::Args),
    Party(cli::party::Args),
    Keygen(cli::keygen::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Compile(a) => cli::compile::main(a),
        Cmd::Run(a) => cli::run::main(a),
        Cmd::Cost(a) => cli::cost::main(a),
        Cmd::Inspect(a) => cli::inspect::main(a),
        Cmd::Generate(a) => cli::generate::main(a),
        Cmd::Accuracy(a) => cli::accuracy::main(a),
        Cmd::Tune(a) => cli::tune::main(a),
        Cmd::Party(a) => cli::party::main(a),
        Cmd::Keygen(a) => cli::keygen::main(a),
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
