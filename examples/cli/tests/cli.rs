//! The `stylemark` binary's own checks. Beyond testing the help text, this file makes
//! `cargo test --workspace` build `target/<profile>/stylemark`, which the end-to-end tests
//! in `tests/` run (cargo builds a package's binaries only for its integration tests).

use std::process::Command;

fn stylemark(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stylemark"))
        .args(args)
        .output()
        .expect("the stylemark binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn version_is_the_crate_version() {
    let (ok, text) = stylemark(&["--version"]);
    assert!(ok, "{text}");
    assert_eq!(
        text.trim(),
        format!("stylemark {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_subcommand_fails_with_usage() {
    let (ok, text) = stylemark(&["paint-it-black"]);
    assert!(!ok);
    assert!(text.contains("Usage: stylemark"), "{text}");
}
