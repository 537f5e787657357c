//! Helpers for the end-to-end tests: locating the built binaries and running them, and
//! comparing the images they make.

pub mod http;
pub mod mutate;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The directory holding the workspace's built binaries (`target/<profile>`), found from
/// the test executable's own location (`target/<profile>/deps/<test>`).
pub fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test executables live in target/<profile>/deps")
        .to_path_buf()
}

/// A command for the `stylemark` CLI built in this workspace.
///
/// `cargo test --workspace` builds it before running tests; run
/// `cargo build -p stylemark-cli` first when testing this crate alone.
pub fn stylemark() -> Command {
    let path = binary_dir().join(format!("stylemark{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p stylemark-cli` (cargo test --workspace does)",
        path.display()
    );
    Command::new(path)
}

/// Runs a command and returns its output, with stdout and stderr as text for assertions.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("the command starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Runs a command with `input` on its standard input; returns its output (stdout as bytes,
/// for images) and its stderr as text.
pub fn run_with_stdin(command: &mut Command, input: &[u8]) -> (Output, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A command that refuses early may close its input: that is not the test's failure.
    let _ = stdin.write_all(input);
    drop(stdin);
    let output = child.wait_with_output().expect("the command ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

/// A fresh, empty directory under the target directory for one test's files.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = binary_dir().join("e2e-scratch").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The mean absolute difference of two images' bytes (0-255; same size and layout).
pub fn mean_difference(a: &stylemark::image::RgbImage, b: &stylemark::image::RgbImage) -> f64 {
    let total: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum();
    total / a.as_raw().len().max(1) as f64
}
