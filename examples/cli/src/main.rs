//! `stylemark`: the command-line face of the stylemark library.
//!
//! Every subcommand is a thin wrapper: it parses arguments into the library's options,
//! calls the library, and prints or writes the result.

mod demo;
mod doodle;
mod info;
mod mark;
mod option_flags;
mod run;
mod watermark;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Paint photos and doodles like a painting; watermark images visibly and invisibly.
#[derive(Parser)]
#[command(
    name = "stylemark",
    version,
    about,
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Change a resource limit, for example `--limit max_pixels=100000000` (repeatable;
    /// `stylemark info` lists the limits and their defaults).
    #[arg(long = "limit", global = true, value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

/// The default limits with the `--limit` assignments applied.
fn limits(assignments: &[String]) -> stylemark::Result<stylemark::Limits> {
    let mut limits = stylemark::Limits::default();
    for assignment in assignments {
        limits.assign(assignment)?;
    }
    Ok(limits)
}

#[derive(Subcommand)]
enum Command {
    /// Paint a generated doodle from a generated painting (no files needed) into a directory.
    Demo(demo::DemoArgs),
    /// Paint a doodle or a photo in the style of a painting (semantic style transfer).
    Doodle(Box<doodle::DoodleArgs>),
    /// Print the version, the compiled devices and which of them work on this machine.
    Info(info::InfoArgs),
    /// Hide or read an invisible mark that survives JPEG, resizing and cropping.
    Mark(mark::MarkArgs),
    /// Run a pipeline job (JSON): doodle, watermark, mark, detect, in any order.
    Run(run::RunArgs),
    /// Draw a visible text or logo watermark.
    Watermark(Box<watermark::WatermarkArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match limits(&cli.limits).and_then(|limits| dispatch(cli.command, &limits)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the subcommand; `mark detect` tells by its exit status whether a mark was found.
fn dispatch(command: Command, limits: &stylemark::Limits) -> stylemark::Result<ExitCode> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Doodle(args) => doodle::run(*args, limits),
        Command::Info(args) => info::run(args, limits),
        Command::Mark(args) => return mark::run(args, limits),
        Command::Run(args) => run::run(args, limits),
        Command::Watermark(args) => watermark::run(*args, limits),
    }
    .map(|()| ExitCode::SUCCESS)
}
