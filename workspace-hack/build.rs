//! Empty: it makes the build-dependencies (the host's features) count.
fn main() {}
