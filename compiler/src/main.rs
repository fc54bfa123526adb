//! The mpcc command line.
fn main() {}
