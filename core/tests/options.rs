//! Every option's one declaration (the doodle options' table, the watermark and mark
//! options' text fields): every option reaches every consumer.

use std::fmt::Debug;

use stylemark::doodle::{DoodleOptions, Method};
use stylemark::field::Field;
use stylemark::job::{Job, Step};
use stylemark::watermark::invisible::MarkOptions;
use stylemark::watermark::visible::{LogoOptions, TextOptions};

#[test]
fn every_option_parses_from_text_and_validates_its_default() {
    DoodleOptions::default().validate().unwrap();
    for spec in DoodleOptions::fields() {
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
    for spec in DoodleOptions::fields() {
        let Some(text) = spec.default_text() else {
            continue;
        };
        for name in [spec.name().to_string(), spec.name().replace('_', "-")] {
            let job = Job::from_fields("doodle", [(name.as_str(), text.as_str())], &["style"])
                .unwrap_or_else(|e| panic!("{name}={text}: {e}"));
            let Step::Doodle(doodle) = &job.steps[0] else {
                panic!("not a doodle");
            };
            assert_eq!(doodle.options.method, Method::Patch);
        }
    }
}

#[test]
fn the_documentation_has_a_row_for_every_option() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DOODLE.md")).unwrap();
    for spec in DoodleOptions::fields() {
        let row = format!(
            "| `{}` / `--{}` |",
            spec.name(),
            spec.name().replace('_', "-")
        );
        assert!(doc.contains(&row), "docs/DOODLE.md lacks the row {row}");
    }
}

/// The watermark and mark operations, their options' text fields as names, and the
/// images and fields each needs besides its options.
fn watermark_ops() -> Vec<(&'static str, Vec<&'static str>, &'static [&'static str])> {
    let names = |fields: Vec<&'static str>| fields;
    vec![
        (
            "watermark_text",
            names(TextOptions::fields().iter().map(Field::name).collect()),
            &["text"],
        ),
        (
            "watermark_logo",
            names(LogoOptions::fields().iter().map(Field::name).collect()),
            &[],
        ),
        (
            "mark_embed",
            names(MarkOptions::fields().iter().map(Field::name).collect()),
            &["payload", "key"],
        ),
    ]
}

/// Each field's default, written as text, parses back to the default (a field that
/// refines another is given that one first), garbage is an error naming the field, and
/// no two fields share a spelling.
fn check_fields<O: Default + PartialEq + Debug + 'static>(fields: &[Field<O>]) {
    let mut spellings: Vec<&str> = fields
        .iter()
        .flat_map(|f| std::iter::once(f.name()).chain(f.alias()))
        .collect();
    let count = spellings.len();
    spellings.sort_unstable();
    spellings.dedup();
    assert_eq!(
        spellings.len(),
        count,
        "a spelling is used twice: {spellings:?}"
    );
    for field in fields {
        assert!(!field.summary().is_empty(), "{} has no doc", field.name());
        if let Some(text) = field.default_text() {
            let (mut options, mut expected) = (O::default(), O::default());
            if field.name() == "outline_width" {
                let outline = fields.iter().find(|f| f.name() == "outline").unwrap();
                outline.set_from_text(&mut options, "#000000").unwrap();
                outline.set_from_text(&mut expected, "#000000").unwrap();
            }
            field.set_from_text(&mut options, &text).unwrap();
            assert_eq!(options, expected, "{} from `{text}`", field.name());
        }
        if !field.is_flag() && field.name() != "outline_width" {
            let error = field
                .set_from_text(&mut O::default(), "\u{1F4A9}")
                .unwrap_err();
            assert!(error.to_string().contains(field.name()), "{error}");
        }
    }
}

#[test]
fn every_watermark_and_mark_field_parses_its_default_and_names_itself() {
    TextOptions::default().validate().unwrap();
    LogoOptions::default().validate().unwrap();
    MarkOptions::default().validate().unwrap();
    check_fields(TextOptions::fields());
    check_fields(LogoOptions::fields());
    check_fields(MarkOptions::fields());
}

#[test]
fn the_form_takes_every_watermark_field_under_both_spellings() {
    for (op, fields, required) in watermark_ops() {
        for field in fields {
            for name in [field.to_string(), field.replace('_', "-")] {
                let value = match field {
                    "outline_width" => continue,
                    "outline" | "color" => "#102030",
                    "position" => "tile",
                    "tiling" => "staggered",
                    "no_shadow" | "no_verify" | "upscale" => "true",
                    "strength" => "2",
                    "opacity" => "0.5",
                    "min_width" | "min_height" => "7",
                    _ => "3",
                };
                let mut given = vec![(name.as_str(), value)];
                given.extend(required.iter().map(|r| (*r, "c0ffee")));
                let job = Job::from_fields(op, given, &["image", "logo"])
                    .unwrap_or_else(|e| panic!("{op} {name}={value}: {e}"));
                // The field reached the options: they differ from the defaults.
                let differs = match &job.steps[0] {
                    Step::WatermarkText(step) => step.options != TextOptions::default(),
                    Step::WatermarkLogo(step) => step.options != LogoOptions::default(),
                    Step::MarkEmbed(step) => step.options != MarkOptions::default(),
                    other => panic!("{op}: {other:?}"),
                };
                assert!(differs, "{op} {name}={value} changed nothing");
            }
        }
    }
}

#[test]
fn the_documentation_has_a_row_for_every_watermark_and_mark_field() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/WATERMARKS.md"
    ))
    .unwrap();
    for (op, fields, _) in watermark_ops() {
        for field in fields {
            let row = format!("| `{}` / `--{}` |", field, field.replace('_', "-"));
            assert!(
                doc.contains(&row),
                "docs/WATERMARKS.md lacks the row {row} ({op})"
            );
        }
    }
}
