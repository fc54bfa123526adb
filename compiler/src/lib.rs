//! mpcc's compiler: the ONNX front end (tract-onnx), lowering into the MPC IR, the plan
//! backend, cost reports, and the `mpcc` CLI's subcommands.

pub mod backend;
pub mod calibrate;
pub mod cli;
pub mod client;
pub mod frontend;
pub mod generate;
pub mod io;
pub mod report;
