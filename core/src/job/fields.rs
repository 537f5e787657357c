//! One-step jobs from text fields named like the CLI's flags (`--content-weight 5` is the
//! field `content-weight=5`), as an HTML form or a query string sends them. The HTTP
//! function builds its jobs here, so its form fields and the CLI's flags have the same
//! names, parsing and errors.
//!
//! ```
//! use stylemark::job::Job;
//!
//! let fields = [("text", "© Ada"), ("position", "tile"), ("rotate", "-30"), ("format", "jpeg")];
//! let job = Job::from_fields("watermark_text", fields, &["image"])?;
//! assert_eq!(job.input.as_deref(), Some("image"));
//! assert_eq!(job.output, stylemark::io::OutputFormat::Jpeg { quality: 90 });
//!
//! let err = Job::from_fields("doodle", [("iteratons", "5")], &["style"]).unwrap_err();
//! assert!(err.to_string().contains("iteratons"), "{err}");
//! # Ok::<(), stylemark::Error>(())
//! ```

use std::str::FromStr;

use super::form::{Fields, Roles};
use super::{Job, Step};
use crate::Result;
use crate::io::OutputFormat;

impl Job {
    /// A one-step job from text fields named like the CLI's flags, as an HTML form or a
    /// query string sends them (`content_weight=5` or `content-weight=5`).
    ///
    /// ```
    /// use stylemark::job::Job;
    ///
    /// let fields = [("text", "© Ada"), ("position", "tile"), ("format", "jpeg")];
    /// let job = Job::from_fields("watermark_text", fields, &["image"])?;
    /// assert_eq!(job.input.as_deref(), Some("image"));
    /// let err = Job::from_fields("doodle", [("iteratons", "5")], &["style"]).unwrap_err();
    /// assert!(err.to_string().contains("iteratons"), "{err}");
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    ///
    /// `op` is a step's `op` (`doodle`, `watermark_text`, `watermark_logo`, `mark_embed`,
    /// `mark_detect`); `images` are the names of the images the caller will pass to
    /// [`Session::run_job`](crate::Session::run_job): the step refers to them by role (`image` for the image to mark or
    /// read, `logo`, and for a doodle `style`, `style_map`, `content`, `content_map`).
    /// Field names may use `-` or `_`; `format` (`png`, `jpeg`, `webp`) and `quality`
    /// choose the output. An unknown or repeated field, a bad value or a missing image is
    /// an error naming the field.
    pub fn from_fields<'a>(
        op: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        images: &[&str],
    ) -> Result<Job> {
        let fields = Fields::new(fields)?;
        let roles = Roles::new(images);
        let (step, input) = Step::from_fields(&op.trim().replace('-', "_"), &fields, &roles)?;
        // Validated as a step, not as a job, so errors name the form field (`phases`),
        // not its place in a job (`job.steps[0].phases`).
        step.validate()?;
        Ok(Job {
            input,
            steps: vec![step],
            output: output_format(&fields)?,
            time_budget: None,
        })
    }
}

fn output_format(fields: &Fields) -> Result<OutputFormat> {
    let format = fields
        .parse_with("format", OutputFormat::from_str)?
        .unwrap_or(OutputFormat::Png);
    match fields.parse::<u8>("quality")? {
        Some(quality) => format.with_quality(quality),
        None => Ok(format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doodle::{DoodleOptions, Method, Optimizer};
    use crate::job::{DoodleStep, MarkEmbedStep, WatermarkTextStep};
    use crate::watermark::visible::{Length, Outline, Position};
    use std::time::Duration;

    fn job(op: &str, fields: &[(&str, &str)], images: &[&str]) -> Result<Job> {
        Job::from_fields(op, fields.iter().copied(), images)
    }

    fn error_of(op: &str, fields: &[(&str, &str)], images: &[&str]) -> String {
        job(op, fields, images).unwrap_err().to_string()
    }

    #[test]
    fn doodle_fields_use_the_cli_names_and_defaults() {
        let job = job(
            "doodle",
            &[
                ("iterations", "7"),
                ("content_weight", "2.5"),
                ("style-layers", "3_1,4_1,5_1"),
                ("seed-range", "0:255"),
                ("optimizer", "adam"),
                ("time-budget", "1.5"),
                ("output-size", "64x48"),
                ("random-seed", "9"),
                ("method", "patch"),
                ("patch-size", "7"),
                ("strength", "0.25"),
                ("preserve_colors", "on"),
            ],
            &["style", "style_map", "content_map"],
        )
        .unwrap();
        let Step::Doodle(DoodleStep {
            style,
            style_map,
            content,
            content_map,
            output_size,
            options,
        }) = &job.steps[0]
        else {
            panic!("not a doodle: {job:?}");
        };
        assert_eq!(style, "style");
        assert_eq!(style_map.as_deref(), Some("style_map"));
        assert_eq!(content, &None);
        assert_eq!(content_map.as_deref(), Some("content_map"));
        assert_eq!(*output_size, Some((64, 48)));
        assert_eq!(options.iterations, 7);
        assert_eq!(options.content_weight, 2.5);
        assert_eq!(options.style_layers.len(), 3);
        assert_eq!(options.seed_range, (0, 255));
        assert_eq!(options.optimizer, Optimizer::Adam { learning_rate: 4.0 });
        assert_eq!(options.time_budget, Some(Duration::from_millis(1500)));
        assert_eq!(options.random_seed, Some(9));
        assert_eq!((options.method, options.patch_size), (Method::Patch, 7));
        assert_eq!((options.strength, options.preserve_colors), (0.25, true));
        let defaults = DoodleOptions::default();
        assert_eq!(options.phases, defaults.phases);
        assert_eq!(options.style_weight, defaults.style_weight);
        assert_eq!(job.input, None);
        assert_eq!(job.output, OutputFormat::Png);
    }

    #[test]
    fn text_fields_build_placement_outline_and_output() {
        let job = job(
            "watermark-text",
            &[
                ("text", "© Ada"),
                ("position", "tile"),
                ("rotate", "-30"),
                ("tiling", "staggered"),
                ("outline", "#000000"),
                ("no-shadow", ""),
                ("size", "6%"),
                ("format", "jpeg"),
                ("quality", "80"),
            ],
            &["image"],
        )
        .unwrap();
        let Step::WatermarkText(WatermarkTextStep { text, options, .. }) = &job.steps[0] else {
            panic!("not text: {job:?}");
        };
        assert_eq!(text, "© Ada");
        assert_eq!(options.placement.position, Position::Tile);
        assert_eq!(options.placement.rotation, -30.0);
        assert_eq!(options.outline.unwrap().width, Outline::default().width);
        assert_eq!(options.shadow, None);
        assert_eq!(options.size, Length::Fraction(0.06));
        assert_eq!(job.input.as_deref(), Some("image"));
        assert_eq!(job.output, OutputFormat::Jpeg { quality: 80 });
    }

    #[test]
    fn mark_fields() {
        let job = job(
            "mark_embed",
            &[("payload", "c0ffee"), ("key", "k"), ("no-verify", "true")],
            &["image"],
        )
        .unwrap();
        assert!(matches!(
            &job.steps[0],
            Step::MarkEmbed(MarkEmbedStep { payload, options, .. })
                if payload == "c0ffee" && !options.verify
        ));
    }

    #[test]
    fn errors_name_the_field() {
        // (op, fields, images, what the error must mention)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
        let cases: &[Case] = &[
            ("doodle", &[("iteratons", "5")], &["style"], "`iteratons`"),
            (
                "doodle",
                &[("iterations", "many")],
                &["style"],
                "`iterations`",
            ),
            ("doodle", &[("phases", "0")], &["style"], "`phases`"),
            ("doodle", &[], &[], "`style`"),
            ("doodle", &[("seed-range", "9")], &["style"], "`seed_range`"),
            ("doodle", &[("seed", "image")], &["style"], "`seed`"),
            (
                "doodle",
                &[("time-budget", "-1")],
                &["style"],
                "`time_budget`",
            ),
            // Too large for a `Duration`: an option error, not a panic.
            (
                "doodle",
                &[("time-budget", "1e20")],
                &["style"],
                "`time_budget`",
            ),
            (
                "doodle",
                &[("time-budget", "1e300")],
                &["style"],
                "`time_budget`",
            ),
            (
                "doodle",
                &[("style-layers", "conv1_1,conv3_1,conv1_1")],
                &["style"],
                "`style_layers`",
            ),
            (
                "doodle",
                &[("output-size", "big")],
                &["style"],
                "`output_size`",
            ),
            ("watermark_text", &[], &["image"], "`text`"),
            ("watermark_text", &[("text", "x")], &[], "`image`"),
            (
                "watermark_text",
                &[("text", "x"), ("position", "upper-left")],
                &["image"],
                "`position`",
            ),
            (
                "watermark_text",
                &[("text", "x"), ("opacity", "2")],
                &["image"],
                "opacity",
            ),
            (
                "watermark_text",
                &[("text", "x"), ("Text", "y")],
                &["image"],
                "twice",
            ),
            (
                "watermark_text",
                &[("text", "x"), ("outline-width", "0.1")],
                &["image"],
                "`outline_width`",
            ),
            ("watermark_logo", &[], &["image"], "`logo`"),
            ("mark_embed", &[("key", "k")], &["image"], "`payload`"),
            (
                "mark_embed",
                &[("key", "k"), ("payload", "xyz")],
                &["image"],
                "payload",
            ),
            (
                "mark_detect",
                &[("key", "k"), ("format", "gif")],
                &["image"],
                "gif",
            ),
            ("paint", &[], &["image"], "`op`"),
        ];
        for (op, fields, images, expected) in cases {
            let message = error_of(op, fields, images);
            assert!(
                message.contains(expected),
                "{op} {fields:?}: `{message}` does not mention {expected}"
            );
        }
    }

    #[test]
    fn fields_give_the_same_job_as_json() {
        let from_fields = job(
            "watermark_text",
            &[("text", "hi"), ("opacity", "0.5"), ("position", "north")],
            &["image"],
        )
        .unwrap();
        let from_json = Job::from_json(
            r#"{"input": "image", "steps": [{"op": "watermark_text", "text": "hi",
                "options": {"opacity": 0.5, "placement": {"position": "north"}}}]}"#,
        )
        .unwrap();
        assert_eq!(from_fields, from_json);
    }
}
