//! The `forge` command. IMPLEMENTATION OWNER: the engine helper (CLI lives in src/cli/).
fn main() {}
