//! mpcc compiler.
