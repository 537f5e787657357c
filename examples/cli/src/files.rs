//! Where the CLI reads images from and writes them to: a file, or `-` for standard input
//! and output, so `curl ... | stylemark watermark --text x - - | ...` works. Standard input
//! is read at most once and within the decoding limits; an image for standard output is
//! encoded whole before a byte is written, so an error never leaves half an image in a pipe.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use stylemark::image::DynamicImage;
use stylemark::io::{DecodeLimits, OutputFormat, decode, encode, load, save};
use stylemark::{Error, Result};

/// The path that stands for standard input or output.
pub const STDIO: &str = "-";

/// Whether `path` is `-`.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

/// How an image written to standard output is encoded (a file's follows its extension).
#[derive(Args, Debug, Clone, Default)]
pub struct OutputFlags {
    /// Output format when writing to standard output (`--output -`): png (default), jpeg
    /// or webp.
    #[arg(long, value_name = "FORMAT", help_heading = "Input and output")]
    pub format: Option<String>,
    /// JPEG/WebP quality 1-100 when the output is lossy.
    #[arg(long, help_heading = "Input and output")]
    pub quality: Option<u8>,
}

/// The image a command reads and the one it writes, as flags (`--input`, `--output`) or
/// as plain arguments (`stylemark watermark --text x - -`); `-` is standard input or
/// output.
#[derive(Args, Debug, Clone)]
pub struct ImagePaths {
    /// The image to read; `-` reads standard input.
    #[arg(
        long = "input",
        value_name = "INPUT",
        help_heading = "Input and output"
    )]
    input_flag: Option<PathBuf>,
    /// Where to write the result (the format follows the extension: .png, .jpg, .webp);
    /// `-` writes standard output (the format from --format, PNG by default).
    #[arg(
        long = "output",
        value_name = "OUTPUT",
        help_heading = "Input and output"
    )]
    output_flag: Option<PathBuf>,
    /// The image to read and where to write the result, as plain arguments, for the ones
    /// not given as flags (`-` for standard input and output).
    #[arg(value_name = "INPUT OUTPUT", num_args = 0..=2)]
    plain: Vec<PathBuf>,
}

impl ImagePaths {
    /// The input and output paths: each from its flag, else from the plain arguments in
    /// order; a missing or extra one is an error.
    pub fn resolve(&self) -> Result<(PathBuf, PathBuf)> {
        let mut plain = self.plain.iter().cloned();
        let input = self.input_flag.clone().or_else(|| plain.next());
        let output = self.output_flag.clone().or_else(|| plain.next());
        if let Some(extra) = plain.next() {
            return Err(Error::option(
                "output",
                format!(
                    "`{}` is one path too many: give INPUT and OUTPUT once",
                    extra.display()
                ),
            ));
        }
        match (input, output) {
            (Some(input), Some(output)) => Ok((input, output)),
            (None, _) => Err(Error::option(
                "input",
                "give the image to read (`-` for standard input)",
            )),
            (_, None) => Err(Error::option(
                "output",
                "give where to write the result (`-` for standard output)",
            )),
        }
    }
}

impl OutputFlags {
    /// The format for standard output, checked before any work: `--format` names one of
    /// png, jpeg and webp, with a `--quality` it takes, and only for `-` (a file's
    /// extension picks its format).
    pub fn check(&self, output: &Path) -> Result<()> {
        if !is_stdio(output) {
            return match self.format {
                Some(_) => Err(Error::option(
                    "format",
                    "applies to standard output (`--output -`); a file's extension picks its format",
                )),
                None => Ok(()),
            };
        }
        self.stdout_format().map(|_| ())
    }

    /// The format of an image written to standard output.
    fn stdout_format(&self) -> Result<OutputFormat> {
        let format: OutputFormat = self.format.as_deref().unwrap_or("png").parse()?;
        match self.quality {
            Some(quality) => format.with_quality(quality),
            None => Ok(format),
        }
    }
}

/// Reads an image from `path`, or from standard input for `-`, within `limits`.
pub fn read_image(path: &Path, limits: &DecodeLimits) -> Result<DynamicImage> {
    if !is_stdio(path) {
        return load(path, limits);
    }
    let mut bytes = Vec::new();
    // One byte past the limit is enough to know the input is too large.
    std::io::stdin()
        .lock()
        .take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    decode(&bytes, limits)
}

/// Writes `image` to `path` (the format from its extension), or to standard output for
/// `-` (the format from `flags`, PNG by default).
pub fn write_image(image: &DynamicImage, path: &Path, flags: &OutputFlags) -> Result<()> {
    if !is_stdio(path) {
        return save(image, path, flags.quality);
    }
    write_stdout(&encode(image, flags.stdout_format()?)?)
}

/// Writes an encoded image to standard output in one piece.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write", "standard output", e))
}

/// Refuses more than one of `paths` reading standard input, and `--json` with an image
/// written to standard output (both would share the stream).
pub fn check_streams<'a>(
    inputs: impl IntoIterator<Item = &'a Path>,
    output: Option<&Path>,
    json: bool,
) -> Result<()> {
    if inputs.into_iter().filter(|p| is_stdio(p)).count() > 1 {
        return Err(Error::option(
            "input",
            "only one input can be `-` (standard input is read once)",
        ));
    }
    if json && output.is_some_and(is_stdio) {
        return Err(Error::option(
            "json",
            "cannot print JSON and write the image to standard output; give --output a file",
        ));
    }
    Ok(())
}

/// How a written image is named in JSON: its path, or `-`.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// How a written image is named in messages for people.
pub fn described(path: &Path) -> String {
    if is_stdio(path) {
        "standard output".into()
    } else {
        path.display().to_string()
    }
}
