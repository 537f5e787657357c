//! The doodle options' one declaration: every option reaches every consumer.

use stylemark::doodle::{DoodleOptions, Method};
use stylemark::job::{Job, Step};

#[test]
fn every_option_parses_from_text_and_validates_its_default() {
    DoodleOptions::default().validate().unwrap();
    for spec in DoodleOptions::specs() {
        assert!(!spec.summary().is_empty(), "{} has no doc", spec.name());
        assert!(
            !spec.methods().is_empty(),
            "{} applies to no method",
            spec.name()
        );
        // The default written as text parses back to the default.
        if let Some(text) = spec.default_text() {
            let mut options = DoodleOptions::default();
            spec.set_from_text(&mut options, &text).unwrap();
            let mut expected = DoodleOptions::default();
            // An optimiser is written by kind only; its parameters come back as the kind's.
            if spec.name() == "optimizer" {
                expected = expected.optimizer(text.parse().unwrap());
            }
            assert_eq!(options, expected, "{} from `{text}`", spec.name());
        }
        // Garbage is an error naming the option in its one spelling.
        if !spec.is_flag() {
            let mut options = DoodleOptions::default();
            if let Err(error) = spec.set_from_text(&mut options, "\u{1F4A9}") {
                assert!(error.to_string().contains(spec.name()), "{error}");
            }
        }
    }
}

#[test]
fn the_form_takes_every_option_under_both_spellings() {
    for spec in DoodleOptions::specs() {
        let Some(text) = spec.default_text() else {
            continue;
        };
        for name in [spec.name().to_string(), spec.name().replace('_', "-")] {
            let job = Job::from_fields("doodle", [(name.as_str(), text.as_str())], &["style"])
                .unwrap_or_else(|e| panic!("{name}={text}: {e}"));
            let Step::Doodle { options, .. } = &job.steps[0] else {
                panic!("not a doodle");
            };
            assert_eq!(options.method, Method::Patch);
        }
    }
}

#[test]
fn the_documentation_has_a_row_for_every_option() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DOODLE.md")).unwrap();
    for spec in DoodleOptions::specs() {
        let row = format!(
            "| `{}` / `--{}` |",
            spec.name(),
            spec.name().replace('_', "-")
        );
        assert!(doc.contains(&row), "docs/DOODLE.md lacks the row {row}");
    }
}
