//! `stylemark`: the command-line face of the stylemark library.
//!
//! Every subcommand is a thin wrapper: it parses arguments into the library's options,
//! calls the library, and prints or writes the result.

mod demo;
mod docs;
mod doodle;
mod files;
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
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Change a resource limit, for example `--limit max_pixels=100000000` (repeatable;
    /// `stylemark info` lists the limits and their defaults).
    #[arg(
        long = "limit",
        global = true,
        value_name = "NAME=VALUE",
        help_heading = "Limits"
    )]
    limits: Vec<String>,
    /// Print one JSON object on standard output with what the command did (sizes,
    /// seconds, method, warnings, detections), or `{"error": {...}}` when it failed, for
    /// scripts; messages for people still go to standard error.
    #[arg(long, global = true, help_heading = "Input and output")]
    json: bool,
}

/// What every command gets besides its own arguments: the global flags.
pub struct Common {
    /// The default limits with the `--limit` assignments applied.
    pub limits: stylemark::Limits,
    /// `--json`: the command prints one JSON object on standard output.
    pub json: bool,
}

impl Common {
    /// Prints `value` as one line of JSON on standard output when `--json` was given.
    pub fn print_json(&self, value: serde_json::Value) {
        if self.json {
            println!("{value}");
        }
    }
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
    #[command(
        after_help = "Example:\n  stylemark demo --out demo-output   # style.png, its map, the doodle and result.png"
    )]
    Demo(demo::DemoArgs),
    /// Paint a doodle or a photo in the style of a painting (semantic style transfer).
    #[command(after_help = "Examples:\n  \
        stylemark doodle --style Monet.jpg --content photo.jpg --output painted.jpg\n  \
        stylemark doodle --style Monet.jpg --content-map Coastline_sem.png --output Coastline.png\n  \
        curl -s URL | stylemark doodle --style Monet.jpg --content - --output - --format jpeg > painted.jpg")]
    Doodle(Box<doodle::DoodleArgs>),
    /// Print the version, the compiled devices and which of them work on this machine.
    #[command(
        after_help = "Examples:\n  stylemark info\n  stylemark info --json\n  stylemark info --encoder model.onnx   # the network's layers"
    )]
    Info(info::InfoArgs),
    /// Hide or read an invisible mark that survives JPEG, resizing and cropping.
    #[command(after_help = "Examples:\n  \
        STYLEMARK_MARK_KEY=secret stylemark mark embed --payload c0ffee photo.jpg marked.png\n  \
        STYLEMARK_MARK_KEY=secret stylemark mark detect --recursive uploads/")]
    Mark(mark::MarkArgs),
    /// Run a pipeline job (JSON): doodle, watermark, mark, detect, in any order.
    #[command(
        after_help = "Example:\n  stylemark run job.json --input photo=photo.jpg --output out.jpg   # docs/JOBS.md"
    )]
    Run(run::RunArgs),
    /// Draw a visible text or logo watermark.
    #[command(after_help = "Examples:\n  \
        stylemark watermark --text \"© Ada\" --position tile --rotate -30 photo.jpg marked.jpg\n  \
        stylemark watermark --logo logo.png --size 15% photo.jpg marked.png\n  \
        cat photo.jpg | stylemark watermark --text \"© Ada\" - - > marked.png")]
    Watermark(Box<watermark::WatermarkArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  stylemark completions bash > /etc/bash_completion.d/stylemark"
    )]
    Completions(docs::CompletionsArgs),
    /// Write man pages for stylemark and each of its commands into a directory.
    #[command(after_help = "Example:\n  stylemark man /usr/local/share/man/man1")]
    Man(docs::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let outcome =
        limits(&cli.limits).and_then(|limits| dispatch(cli.command, &Common { limits, json }));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            report_error(error.kind().name(), &error.to_string(), json);
            ExitCode::FAILURE
        }
    }
}

/// Says why a command failed: on standard error, and with `--json` as
/// `{"error": {"kind": ..., "message": ...}}` on standard output.
pub fn report_error(kind: &str, message: &str, json: bool) {
    eprintln!("error: {message}");
    if json {
        println!(
            "{}",
            serde_json::json!({"error": {"kind": kind, "message": message}})
        );
    }
}

/// Runs the subcommand; `mark detect` tells by its exit status whether a mark was found.
fn dispatch(command: Command, common: &Common) -> stylemark::Result<ExitCode> {
    match command {
        Command::Demo(args) => demo::run(args, common),
        Command::Doodle(args) => doodle::run(*args, common),
        Command::Info(args) => info::run(args, common),
        Command::Mark(args) => return mark::run(args, common),
        Command::Run(args) => run::run(args, common),
        Command::Watermark(args) => watermark::run(*args, common),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
    .map(|()| ExitCode::SUCCESS)
}
