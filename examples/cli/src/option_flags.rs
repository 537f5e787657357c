//! The doodle options as command-line flags, made from the core's one declaration of them
//! (`DoodleOptions::specs`): a new option is a new flag without a change here.

use clap::{Arg, ArgAction, ArgMatches, Command};
use stylemark::doodle::{DoodleOptions, OptionSpec};

/// The doodle options given on the command line, with their text, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct OptionFlags {
    pub given: Vec<(&'static OptionSpec, String)>,
}

impl clap::FromArgMatches for OptionFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = DoodleOptions::specs()
            .iter()
            .filter_map(|spec| {
                if spec.is_flag() {
                    matches
                        .get_flag(spec.name())
                        .then(|| (spec, "true".to_string()))
                } else {
                    matches
                        .get_one::<String>(spec.name())
                        .map(|v| (spec, v.clone()))
                }
            })
            .collect();
        Ok(OptionFlags { given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for OptionFlags {
    fn augment_args(command: Command) -> Command {
        DoodleOptions::specs()
            .iter()
            .fold(command, |command, spec| command.arg(flag(spec)))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// `--kebab-name` (the `snake_name` as an alias), with the option's doc as its help.
fn flag(spec: &'static OptionSpec) -> Arg {
    // clap keeps flag names for the life of the program; these few are made once.
    let long: &'static str = Box::leak(spec.name().replace('_', "-").into_boxed_str());
    let help: &'static str = match spec.default_text().filter(|_| !spec.is_flag()) {
        Some(default) => {
            Box::leak(format!("{} [default: {default}]", spec.summary()).into_boxed_str())
        }
        None => spec.summary(),
    };
    let arg = Arg::new(spec.name())
        .long(long)
        .help(help)
        .long_help(spec.doc())
        .help_heading("Doodle options");
    let arg = if long == spec.name() {
        arg
    } else {
        arg.alias(spec.name())
    };
    if spec.is_flag() {
        arg.action(ArgAction::SetTrue)
    } else {
        arg.action(ArgAction::Set).value_name("VALUE")
    }
}
