//! `stylemark`: the command-line face of the stylemark library.
//!
//! Every subcommand is a thin wrapper: it parses arguments into the library's options,
//! calls the library, and prints or writes the result.

mod demo;
mod doodle;
mod info;
mod mark;
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
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Doodle(args) => doodle::run(*args),
        Command::Info(args) => info::run(args),
        // `mark detect` tells by its exit status whether a mark was found.
        Command::Mark(args) => match mark::run(args) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
        Command::Run(args) => run::run(args),
        Command::Watermark(args) => watermark::run(*args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
