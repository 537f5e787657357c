//! Help that explains: each flag's text from the option table, grouped, an example per
//! command, and man pages and shell completions from the same definition.

use stylemark::doodle::DoodleOptions;
use stylemark_e2e::{run, scratch_dir, stylemark};

const COMMANDS: [&str; 8] = [
    "demo",
    "doodle",
    "info",
    "mark",
    "run",
    "watermark",
    "completions",
    "man",
];

#[test]
fn doodle_help_groups_the_flags_and_takes_their_text_from_the_option_table() {
    let (status, help, _) = run(stylemark().args(["doodle", "--help"]));
    assert!(status.status.success());
    for heading in [
        "Input and output:",
        "Device and encoder:",
        "Method:",
        "Photo:",
        "Patch synthesis:",
        "Style and content:",
        "Optimisation:",
        "Limits:",
        "Examples:",
    ] {
        assert!(help.contains(heading), "no {heading} in\n{help}");
    }
    // Each option is under the heading its declaration names, with its doc as the text.
    for field in DoodleOptions::fields() {
        let flag = format!("--{}", field.name().replace('_', "-"));
        let at = help
            .find(&format!("{flag} "))
            .or_else(|| help.find(&format!("{flag}\n")))
            .unwrap_or_else(|| panic!("{flag} missing"));
        let heading_at = help
            .find(&format!("\n{}:\n", field.group().unwrap()))
            .unwrap();
        assert!(heading_at < at, "{flag} is not under {:?}", field.group());
        let first_words: String = field
            .doc()
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        let text: String = help[at..].split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(&first_words), "{flag}: no {first_words:?}");
    }
}

#[test]
fn every_command_shows_an_example() {
    for command in COMMANDS {
        let (status, help, stderr) = run(stylemark().args([command, "--help"]));
        assert!(status.status.success(), "{command}: {stderr}");
        assert!(
            help.contains("Example"),
            "{command} --help has no example:\n{help}"
        );
        assert!(
            help.contains("stylemark "),
            "{command}: the example runs stylemark"
        );
    }
}

#[test]
fn man_pages_and_completions_come_from_the_same_definition() {
    let dir = scratch_dir("cli_help_man");
    let (status, _, stderr) = run(stylemark().arg("man").arg(&dir));
    assert!(status.status.success(), "{stderr}");
    for page in [
        "stylemark",
        "stylemark-doodle",
        "stylemark-watermark",
        "stylemark-mark-embed",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1"))).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is not a man page"
        );
    }
    let doodle = std::fs::read_to_string(dir.join("stylemark-doodle.1")).unwrap();
    assert!(
        doodle.contains("stroke\\-scale"),
        "the table's flags are in the page"
    );
    assert!(
        doodle.contains("how large the painting"),
        "with the table's text"
    );

    for shell in ["bash", "zsh", "fish"] {
        let (status, script, stderr) = run(stylemark().args(["completions", shell]));
        assert!(status.status.success(), "{shell}: {stderr}");
        assert!(
            script.contains("stroke-scale"),
            "{shell} completes the table's flags"
        );
        assert!(
            script.contains("watermark"),
            "{shell} completes the commands"
        );
    }
    let (status, _, stderr) = run(stylemark().args(["completions", "tcsh"]));
    assert!(!status.status.success());
    assert!(stderr.contains("tcsh"), "{stderr}");
}
