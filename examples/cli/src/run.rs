//! `stylemark run JOB.json`: a pipeline job, as every entry point runs it.

use std::path::{Path, PathBuf};

use clap::Args;
use stylemark::encoder::EncoderSpec;
use stylemark::io::probe;
use stylemark::job::{Job, JobInputs};
use stylemark::watermark::visible::Font;
use stylemark::{DeviceKind, Error, Limits, Result, Session};

use crate::Common;
use crate::files::{check_streams, is_stdio, read_image, shown, write_stdout};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The job file (JSON; see docs/JOBS.md), or `-` for standard input.
    job: PathBuf,
    /// A named input, `NAME=PATH` (repeat it; `NAME=-` reads standard input). Font files
    /// (.ttf, .otf, .ttc) become fonts.
    #[arg(long = "input", value_parser = parse_named, help_heading = "Input and output")]
    inputs: Vec<(String, PathBuf)>,
    /// Where to write the final image (in the job's output format); `-` writes standard
    /// output.
    #[arg(long, help_heading = "Input and output")]
    output: Option<PathBuf>,
    /// Compute device for doodle steps: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    device: DeviceKind,
    /// Encoder for doodle steps: `builtin`, an ONNX model (.onnx) or VGG19 weights.
    #[arg(long, default_value = "builtin")]
    encoder: String,
}

fn parse_named(text: &str) -> std::result::Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or("expected NAME=PATH, e.g. photo=in.jpg")?;
    if name.is_empty() {
        return Err("the name before `=` is empty".into());
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

pub fn run(args: RunArgs, common: &Common) -> Result<()> {
    let limits = &common.limits;
    let stdin_users = std::iter::once(args.job.as_path())
        .chain(args.inputs.iter().map(|(_, path)| path.as_path()));
    check_streams(stdin_users, args.output.as_deref(), common.json)?;
    let text = if is_stdio(&args.job) {
        read_job_from_stdin(limits.decode.max_input_bytes)?
    } else {
        std::fs::read_to_string(&args.job).map_err(|e| Error::io("cannot read", &args.job, e))?
    };
    let job = Job::from_json(&text)?;
    // Checked against the limits before any input is read; `--encoder` is read only when a
    // step paints (a job that only marks never looks at the weights).
    let mut session = Session::default().with_limits(*limits);
    session.check_job(&job, args.inputs.len())?;
    check_total_pixels(&args.inputs, limits)?;
    let mut inputs = JobInputs::default();
    for (name, path) in &args.inputs {
        if is_font(path) {
            inputs.fonts.insert(name.clone(), Font::from_path(path)?);
        } else {
            inputs
                .images
                .insert(name.clone(), read_image(path, &limits.decode)?);
        }
    }
    if job.needs_engine() {
        session = Session::new(args.device, args.encoder.parse::<EncoderSpec>()?, *limits)?;
    }
    let outcome = session.run_job(&job, &inputs)?;
    match &args.output {
        // The job's own output format, the whole image encoded before a byte is written.
        Some(path) if is_stdio(path) => {
            let bytes = outcome.encoded()?;
            write_stdout(&bytes)?;
        }
        Some(path) => {
            let bytes = outcome.encoded()?;
            std::fs::write(path, bytes).map_err(|e| Error::io("cannot write", path, e))?;
            eprintln!("wrote {}", path.display());
        }
        None if outcome.image.is_some() => {
            eprintln!("note: the job made an image; pass --output to save it");
        }
        None => {}
    }
    if common.json {
        let output = args.output.as_deref().map(shown);
        common.print_json(serde_json::json!({"output": output, "steps": outcome.report_json()}));
    } else if args.output.as_deref().is_some_and(is_stdio) {
        // Standard output holds the image: the report goes beside the messages.
        eprintln!("{}", outcome.report_json());
    } else {
        println!("{}", outcome.report_json());
    }
    Ok(())
}

fn is_font(path: &Path) -> bool {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    ["ttf", "otf", "ttc", "otc"].contains(&extension.as_str())
}

/// Refuses, before decoding any, images whose pixels together exceed
/// `max_total_pixels` (their sizes read from the headers; a file that cannot be probed
/// is left to the decoder, which says what is wrong with it).
fn check_total_pixels(inputs: &[(String, PathBuf)], limits: &Limits) -> Result<()> {
    let sizes = inputs
        .iter()
        .filter(|(_, path)| !is_font(path) && !is_stdio(path))
        .filter_map(|(_, path)| stylemark::io::read_file(path, &limits.decode).ok())
        .filter_map(|bytes| probe(&bytes).ok())
        .map(|(_, width, height)| (width, height));
    limits.check_total_pixels(sizes)
}

/// The job's JSON from standard input, refused past `max_bytes` (a job is a few lines).
fn read_job_from_stdin(max_bytes: u64) -> Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(max_bytes.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    let amount = text.len() as u64;
    if amount > max_bytes {
        return Err(Error::LimitExceeded {
            what: "the job read from standard input, in bytes (max_input_bytes)",
            amount,
            limit: max_bytes,
            fix: "give the job as a file",
        });
    }
    Ok(text)
}
