//! Compiles the C example and the C API test program with the system C compiler against
//! the freshly built `libstylemark.so`, runs them, and runs the API test under valgrind
//! memcheck (no invalid reads or writes, no definite leaks).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`, where cargo put `libstylemark.so` for this test run.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn compile(source: &str, output: &str) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = library_dir();
    assert!(
        lib.join("libstylemark.so").exists(),
        "{} has no libstylemark.so: `cargo test` does not build a cdylib-only crate, so run \
         `cargo build --workspace --all-targets` first (scripts/test-all does)",
        lib.display()
    );
    let binary = lib.join(output);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg(crate_dir.join(source))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(format!("-I{}", crate_dir.join("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg("-lstylemark")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&binary)
        .status()
        .expect("the C compiler runs (install gcc)");
    assert!(status.success(), "compiling {source} failed");
    binary
}

fn scratch(name: &str) -> PathBuf {
    let dir = library_dir().join("c-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `command`, fails the test unless it exits 0, and returns its standard output.
fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_example_builds_runs_and_reads_its_mark_back() {
    let binary = compile("../examples/c/example.c", "stylemark-c-example");
    let dir = scratch("example");
    let stdout = stdout_of(Command::new(&binary).current_dir(&dir));
    assert!(
        stdout.contains("mark found: yes, payload c0ffee42"),
        "{stdout}"
    );
    for file in ["watermarked.png", "marked.jpg", "painting.png"] {
        assert!(
            dir.join(file)
                .metadata()
                .map(|m| m.len() > 100)
                .unwrap_or(false),
            "{file} written"
        );
    }
}

#[test]
fn the_api_test_passes_natively_and_under_valgrind() {
    let binary = compile("tests/c/test_api.c", "stylemark-c-test-api");
    let stdout = stdout_of(&mut Command::new(&binary));
    assert!(stdout.contains("checks passed"), "{stdout}");

    let valgrind = Command::new("valgrind")
        .args([
            "--tool=memcheck",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--track-origins=no",
            "--quiet",
        ])
        .arg(&binary)
        // The optimisation calibrates the built-in encoder, which takes minutes under
        // valgrind; the native run above covers it, this one every other function and
        // error path, a photo painted by patch synthesis included.
        .arg("--skip-doodle")
        .output()
        .expect("valgrind runs (scripts/test-all installs it)");
    let stderr = String::from_utf8_lossy(&valgrind.stderr);
    assert!(
        valgrind.status.success(),
        "valgrind found errors (exit {:?}):\n{}\n{stderr}",
        valgrind.status.code(),
        String::from_utf8_lossy(&valgrind.stdout)
    );
}

#[test]
fn install_script_writes_a_working_pkg_config_file() {
    let prefix = scratch("prefix");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let status = Command::new(repo.join("bindings-c/install.sh"))
        .arg(&prefix)
        .arg(library_dir())
        .status()
        .expect("install.sh runs");
    assert!(status.success());
    let pc =
        std::fs::read_to_string(prefix.join("lib/pkgconfig/stylemark.pc")).expect("a .pc file");
    assert!(
        pc.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{pc}"
    );
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "stylemark"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config runs");
    let flags = String::from_utf8_lossy(&flags.stdout);
    assert!(
        flags.contains(&format!("-I{}/include", prefix.display())),
        "{flags}"
    );
    assert!(flags.contains("-lstylemark"), "{flags}");
    assert!(
        prefix.join("include/stylemark.h").exists() && prefix.join("lib/libstylemark.so").exists()
    );
}

/// A trained ONNX network through the C API (by path and from bytes, every method, layers
/// by the file's names, the input convention as the weights format, a cut file refused). Needs the MobileNetV2 that `tests/onnx/make_reference.py` writes, which
/// `scripts/test-all` makes in its virtualenv and points `STYLEMARK_ONNX_REFERENCE` at.
#[test]
#[ignore = "needs STYLEMARK_ONNX_REFERENCE (scripts/test-all runs it)"]
fn an_onnx_network_paints_through_the_c_api() {
    let reference = std::env::var("STYLEMARK_ONNX_REFERENCE")
        .expect("set STYLEMARK_ONNX_REFERENCE to the output of tests/onnx/make_reference.py");
    let model = Path::new(&reference).join("mobilenet_v2/quantised.onnx");
    assert!(model.exists(), "{} is missing", model.display());
    let binary = compile("tests/c/test_onnx.c", "stylemark-c-test-onnx");
    let stdout = stdout_of(Command::new(&binary).arg(&model));
    for step in [
        "ok layers by the file's names",
        "ok an unknown layer name is refused",
        "ok the input convention",
        "ok a cut model is refused",
        "checks passed",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
}
