//! The targets, by what they parse: files a user brings (`files`), the IR text form
//! (`ir_text`), ONNX models (`onnx`) and the party network layer (`net`); `vm` runs what
//! loads through the VM under step and memory budgets.

pub mod files;
pub mod ir_text;
pub mod net;
pub mod onnx;
pub mod vm;

/// An outcome for the driver: the first line of an error's text, cut short.
pub fn outcome<E: std::fmt::Display>(what: &str, r: Result<(), E>) -> String {
    match r {
        Ok(()) => format!("{what}: ok"),
        Err(e) => {
            let s = e.to_string();
            let line = s.lines().next().unwrap_or("");
            format!("{what}: {}", line.chars().take(120).collect::<String>())
        }
    }
}
