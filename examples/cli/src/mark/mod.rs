//! `stylemark mark embed|detect`: invisible marks.

mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use stylemark::watermark::invisible::{MarkOptions, parse_hex};
use stylemark::{Result, Session};

use crate::Common;
use crate::files::{
    ImagePaths, OutputFlags, check_streams, described, read_image, shown, write_image,
};
use crate::option_flags::{MarkFlags, apply_fields};

#[derive(Args, Debug)]
pub struct MarkArgs {
    #[command(subcommand)]
    command: MarkCommand,
}

#[derive(Subcommand, Debug)]
enum MarkCommand {
    /// Hide a payload (up to 8 bytes) in an image under a secret key.
    #[command(after_help = "Examples:\n  \
        STYLEMARK_MARK_KEY=secret stylemark mark embed --payload c0ffee photo.jpg marked.png\n  \
        cat photo.jpg | stylemark mark embed --key secret --payload c0ffee - - > marked.png")]
    Embed(EmbedArgs),
    /// Look for marks in images or directories, in parallel; prints one JSON line per
    /// image and exits 0 when any mark was found, 1 when none was, 2 when none was and an
    /// image could not be read.
    #[command(after_help = "Examples:\n  \
        STYLEMARK_MARK_KEY=secret stylemark mark detect marked.jpg\n  \
        STYLEMARK_MARK_KEY=secret stylemark mark detect --recursive --jobs 4 uploads/")]
    Detect(DetectArgs),
}

#[derive(Args, Debug)]
struct EmbedArgs {
    #[command(flatten)]
    paths: ImagePaths,
    /// The payload in hex, 1 to 8 bytes (e.g. `c0ffee`).
    #[arg(long)]
    payload: String,
    /// The secret key (or set STYLEMARK_MARK_KEY, which keeps it out of process lists).
    #[arg(long, env = "STYLEMARK_MARK_KEY", hide_env_values = true)]
    key: String,
    #[command(flatten)]
    output_format: OutputFlags,
    #[command(flatten)]
    options: MarkFlags,
}

#[derive(Args, Debug)]
pub(crate) struct DetectArgs {
    /// Images to read, and directories whose images to read (by extension); `-` reads one
    /// image from standard input.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// An image to read (the same as giving it as a PATH; may be repeated).
    #[arg(long)]
    pub(crate) input: Vec<PathBuf>,
    /// The secret key (or set STYLEMARK_MARK_KEY).
    #[arg(long, env = "STYLEMARK_MARK_KEY", hide_env_values = true)]
    pub(crate) key: String,
    /// Look into the subdirectories of directories too.
    #[arg(long, short)]
    pub(crate) recursive: bool,
    /// Images read at once, 1 to 256 (default: one per core).
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) jobs: Option<u16>,
}

pub fn run(args: MarkArgs, common: &Common) -> Result<ExitCode> {
    let limits = &common.limits;
    match args.command {
        MarkCommand::Embed(args) => {
            let (input, output) = args.paths.resolve()?;
            args.output_format.check(&output)?;
            check_streams([input.as_path()], Some(&output), common.json)?;
            let options = apply_fields(
                MarkOptions::default(),
                MarkOptions::fields(),
                &args.options.given,
                "a mark",
            )?;
            let session = Session::default().with_limits(*limits);
            let marked = session.mark_embed(
                &read_image(&input, &limits.decode)?,
                &parse_hex(&args.payload)?,
                &args.key,
                &options,
            )?;
            write_image(&marked.image, &output, &args.output_format)?;
            eprintln!(
                "wrote {} (PSNR {:.1} dB)",
                described(&output),
                marked.psnr_db
            );
            let mut json = marked.report_json();
            json["output"] = shown(&output).into();
            common.print_json(json);
        }
        MarkCommand::Detect(args) => return Ok(scan::run(args, limits, common.json)),
    }
    Ok(ExitCode::SUCCESS)
}
