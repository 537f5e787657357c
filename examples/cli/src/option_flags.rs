//! Options as command-line flags, made from the core's option table (each options
//! struct's `fields()`): a new option is a new flag without a change here.

use clap::{Arg, ArgAction, ArgMatches, Command};
use stylemark::doodle::DoodleOptions;
use stylemark::field::Field;
use stylemark::watermark::invisible::MarkOptions;
use stylemark::watermark::visible::{LogoOptions, TextOptions};

/// What a flag shows of an option.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    /// The option's name, `snake_case` (the flag is `--kebab-case`).
    pub name: &'static str,
    alias: Option<&'static str>,
    summary: String,
    doc: String,
    is_flag: bool,
    default_text: Option<String>,
    /// The help heading the option table gives it, if any.
    heading: Option<&'static str>,
}

impl<O: 'static> From<&Field<O>> for FlagSpec {
    fn from(field: &Field<O>) -> Self {
        FlagSpec {
            name: field.name(),
            alias: field.alias(),
            summary: one_paragraph(field.summary()),
            doc: one_paragraph(field.doc()),
            is_flag: field.is_flag(),
            default_text: field.default_text(),
            heading: field.group(),
        }
    }
}

/// A doc comment's lines as one paragraph (clap wraps help itself).
fn one_paragraph(doc: &str) -> String {
    doc.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// The options given on the command line, by name with their text, in declaration order.
pub type Given = Vec<(&'static str, String)>;

/// The values of `specs` given in `matches`.
fn given(matches: &ArgMatches, specs: &[FlagSpec]) -> Given {
    specs
        .iter()
        .filter_map(|spec| {
            if spec.is_flag {
                matches
                    .get_flag(spec.name)
                    .then(|| (spec.name, "true".to_string()))
            } else {
                matches
                    .get_one::<String>(spec.name)
                    .map(|v| (spec.name, v.clone()))
            }
        })
        .collect()
}

/// `--kebab-name` (the `snake_name` and the option's alias as aliases), with the option's
/// doc as its help; with `negative_values`, a value may start with `-` (`--rotation -30`,
/// `--offset-x -2%`).
fn flag(spec: &FlagSpec, heading: &'static str, negative_values: bool) -> Arg {
    // clap keeps flag names for the life of the program; these few are made once.
    let long: &'static str = Box::leak(spec.name.replace('_', "-").into_boxed_str());
    let default = match spec.default_text.as_ref().filter(|_| !spec.is_flag) {
        Some(default) => format!(" [default: {default}]"),
        None => String::new(),
    };
    let mut arg = Arg::new(spec.name)
        .long(long)
        .help(format!("{}{default}", spec.summary))
        .long_help(format!("{}{default}", spec.doc))
        .help_heading(spec.heading.unwrap_or(heading))
        .allow_hyphen_values(negative_values && !spec.is_flag);
    let aliases = [Some(spec.name), spec.alias].into_iter().flatten();
    for alias in aliases.filter(|alias| *alias != long) {
        arg = arg.alias(alias);
    }
    if spec.is_flag {
        arg.action(ArgAction::SetTrue)
    } else {
        arg.action(ArgAction::Set).value_name("VALUE")
    }
}

/// Flags for a list of options made at run time, under one help heading.
macro_rules! option_flags {
    ($(#[$meta:meta])* $name:ident, $heading:literal, negative values: $negative:literal, $specs:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            /// The options given, by name, with their text, in declaration order.
            pub given: Given,
        }

        impl $name {
            fn specs() -> Vec<FlagSpec> {
                $specs
            }
        }

        impl clap::FromArgMatches for $name {
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($name {
                    given: given(matches, &Self::specs()),
                })
            }

            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(matches)?;
                Ok(())
            }
        }

        impl clap::Args for $name {
            fn augment_args(command: Command) -> Command {
                Self::specs()
                    .iter()
                    .fold(command, |command, spec| command.arg(flag(spec, $heading, $negative)))
            }

            fn augment_args_for_update(command: Command) -> Command {
                Self::augment_args(command)
            }
        }
    };
}

option_flags!(
    /// The doodle options given on the command line.
    OptionFlags,
    "Doodle options",
    negative values: false,
    DoodleOptions::fields().iter().map(FlagSpec::from).collect()
);

option_flags!(
    /// The text and logo watermark options given on the command line.
    WatermarkFlags,
    "Watermark options",
    negative values: true,
    watermark_specs()
);

option_flags!(
    /// The invisible mark's options given on the command line.
    MarkFlags,
    "Mark options",
    negative values: false,
    MarkOptions::fields().iter().map(FlagSpec::from).collect()
);

/// The text options and the logo options as one set of flags: an option both have (`size`,
/// `opacity`, the placement) is one flag, whose help gives both meanings and defaults where
/// they differ.
fn watermark_specs() -> Vec<FlagSpec> {
    let mut specs: Vec<FlagSpec> = TextOptions::fields().iter().map(FlagSpec::from).collect();
    for logo in LogoOptions::fields().iter().map(FlagSpec::from) {
        match specs.iter_mut().find(|text| text.name == logo.name) {
            Some(text)
                if text.summary == logo.summary && text.default_text == logo.default_text => {}
            Some(text) => {
                text.summary = format!("Text: {} Logo: {}", text.summary, logo.summary);
                text.doc = format!("Text: {}\nLogo: {}", text.doc, logo.doc);
                text.default_text = match (&text.default_text, &logo.default_text) {
                    (Some(t), Some(l)) if t != l => Some(format!("{t} for text, {l} for a logo")),
                    (t, l) => t.clone().or(l.clone()),
                };
            }
            None => specs.push(logo),
        }
    }
    specs
}

/// `defaults` with the `given` options set from `fields`; an option not among `fields` is
/// an error saying it does not apply to `what`.
pub fn apply_fields<O: 'static>(
    mut defaults: O,
    fields: &[Field<O>],
    given: &Given,
    what: &str,
) -> stylemark::Result<O> {
    for (name, value) in given {
        let field = fields
            .iter()
            .find(|f| f.name() == *name)
            .ok_or_else(|| stylemark::Error::option(*name, format!("does not apply to {what}")))?;
        field.set_from_text(&mut defaults, value)?;
    }
    Ok(defaults)
}
