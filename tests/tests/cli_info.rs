//! `stylemark --help` and `stylemark info`.

use stylemark_e2e::{run, stylemark};

#[test]
fn help_lists_the_subcommands() {
    let (output, stdout, _) = run(stylemark().arg("--help"));
    assert!(output.status.success());
    for subcommand in ["demo", "doodle", "info", "mark", "run", "watermark"] {
        assert!(
            stdout.contains(subcommand),
            "--help lacks `{subcommand}`:\n{stdout}"
        );
    }
}

#[test]
fn info_reports_version_and_a_working_cpu_device() {
    let (output, stdout, stderr) = run(stylemark().args(["info", "--json"]));
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("info --json prints JSON");
    assert_eq!(report["version"], stylemark::VERSION);
    let devices = report["devices"].as_array().expect("a device list");
    let cpu = devices
        .iter()
        .find(|d| d["device"] == "cpu")
        .expect("cpu is listed");
    assert_eq!(cpu["compiled"], true);
    assert_eq!(cpu["works"], true, "{cpu}");
    assert_eq!(devices.len(), 3, "cpu, ndarray and wgpu are all listed");
}

#[test]
fn unknown_subcommand_fails_with_usage() {
    let (output, _, stderr) = run(stylemark().arg("paint-my-house"));
    assert!(!output.status.success());
    assert!(stderr.contains("Usage"), "{stderr}");
}
