//! mpcc passes.
