//! The one error type every public function returns.
//!
//! Each variant says what went wrong *and what to do about it*, so the message can be
//! shown to an end user as is. [`Error::kind`] groups the variants into a few stable
//! categories that the Python and C layers map onto their own exception classes and
//! status codes.

use std::path::PathBuf;

/// Shorthand for `Result<T, stylemark::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in stylemark.
///
/// ```
/// use stylemark::{io::{decode, DecodeLimits}, Error, ErrorKind};
///
/// let err = decode(&[], &DecodeLimits::default()).unwrap_err();
/// assert!(matches!(err, Error::EmptyInput));
/// assert_eq!(err.kind(), ErrorKind::InvalidImage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- image input -----
    /// The encoded image had no bytes at all.
    #[error("the image is empty (0 bytes): pass the contents of a PNG, JPEG or WebP file")]
    EmptyInput,

    /// The encoded image is larger than [`DecodeLimits::max_input_bytes`](crate::io::DecodeLimits).
    #[error(
        "the encoded image is {size} bytes, over the limit of {limit} bytes; \
         send a smaller file or raise `max_input_bytes`"
    )]
    InputTooLarge {
        /// Size of the input in bytes.
        size: u64,
        /// The configured limit in bytes.
        limit: u64,
    },

    /// The bytes are not in any image format stylemark reads.
    #[error(
        "{what} is not an image stylemark can read{hint}; \
         supported formats: PNG, JPEG, WebP, GIF, BMP, TIFF, QOI, PNM, TGA"
    )]
    UnrecognizedFormat {
        /// What was being read (`"the input"` or a file path).
        what: String,
        /// Extra detail, such as what the file's extension claimed (may be empty).
        hint: String,
    },

    /// The header announces more pixels than [`DecodeLimits::max_pixels`](crate::io::DecodeLimits):
    /// a very large photo, or a decompression bomb (a tiny file claiming huge dimensions).
    #[error(
        "the image is {width}x{height} ({pixels} pixels), over the limit of {limit} pixels; \
         resize it before sending it, or raise `max_pixels` if you trust the source"
    )]
    TooManyPixels {
        /// Width from the image header.
        width: u32,
        /// Height from the image header.
        height: u32,
        /// `width * height`.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The image has a width or height of zero.
    #[error("the image is {width}x{height}: an image needs at least one pixel in each direction")]
    ZeroSizedImage {
        /// Width from the image header.
        width: u32,
        /// Height from the image header.
        height: u32,
    },

    /// The data ends before the image does (an interrupted upload or copy).
    #[error(
        "the {format} image is truncated: its data ends before the picture does; \
         upload or export the file again"
    )]
    TruncatedImage {
        /// The detected format, for example `PNG`.
        format: String,
    },

    /// The data is in a known format but is damaged or uses an unsupported variant.
    #[error("the {format} image could not be decoded: {detail}")]
    CorruptImage {
        /// The detected format, for example `JPEG`.
        format: String,
        /// What the decoder reported.
        detail: String,
    },

    /// A call would do more work or hold more memory than one of the limits that keep a
    /// call bounded (how many marks a tiling draws, ...). Nothing was allocated for it.
    #[error("{what} would be {amount}, over the limit of {limit}; {fix}")]
    LimitExceeded {
        /// What is counted, for example `"the number of tiled marks"`.
        what: &'static str,
        /// How much the call asked for.
        amount: u64,
        /// The limit.
        limit: u64,
        /// What to change.
        fix: &'static str,
    },

    /// A job step would start after the job's deadline (its `time_budget`, or the
    /// deadline given to [`Session::run_job_until`](crate::Session::run_job_until)).
    #[error(
        "job.steps[{step}] ({op}) would start {spent_ms} ms into the job, past its time budget of {budget_ms} ms; raise the time budget (the job's `time_budget`; over HTTP, STYLEMARK_TIMEOUT_S), give the doodle steps smaller budgets, or split the job"
    )]
    JobOutOfTime {
        /// The step's index.
        step: usize,
        /// The step's `op`.
        op: &'static str,
        /// Milliseconds since the job started.
        spent_ms: u64,
        /// Milliseconds the job had.
        budget_ms: u64,
    },

    /// Decoding would need more memory than [`DecodeLimits::max_alloc_bytes`](crate::io::DecodeLimits).
    #[error(
        "decoding the {format} image needs more than the allowed {limit} bytes of memory; \
         send a smaller image or raise `max_alloc_bytes`"
    )]
    AllocationLimit {
        /// The detected format.
        format: String,
        /// The configured limit in bytes.
        limit: u64,
    },

    /// An image given in memory (not encoded) has inconsistent dimensions or buffer size.
    #[error("invalid raw image: {0}")]
    InvalidRawImage(String),

    // ----- image output -----
    /// The requested output format cannot be written.
    #[error(
        "cannot write images as `{requested}`: use a .png, .jpg/.jpeg or .webp file name \
         (or the format names png, jpeg, webp)"
    )]
    UnsupportedOutputFormat {
        /// The extension or format name that was asked for.
        requested: String,
    },

    /// The encoder failed to write the image.
    #[error("could not encode the image as {format}: {detail}")]
    EncodeFailed {
        /// Output format.
        format: String,
        /// What the encoder reported.
        detail: String,
    },

    // ----- files -----
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, for example `"cannot read"`.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    // ----- options -----
    /// An option has a value that cannot be used.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// The option's name, as in the CLI and job format.
        name: String,
        /// Why the value is wrong and what is accepted.
        reason: String,
    },

    // ----- devices -----
    /// The device was not compiled into this build.
    #[error(
        "device `{device}` is not compiled into this build of stylemark; \
         rebuild with the cargo feature `{feature}` (or pick another device: {available})"
    )]
    DeviceNotCompiled {
        /// The device asked for.
        device: String,
        /// The cargo feature that enables it.
        feature: &'static str,
        /// The devices this build has.
        available: String,
    },

    /// The device is compiled in but does not work on this machine.
    #[error("device `{device}` is not available on this machine: {reason}")]
    DeviceUnavailable {
        /// The device asked for.
        device: String,
        /// What failed, and how to fix it.
        reason: String,
    },

    /// A computation failed on the device (out of device memory, a lost GPU...).
    #[error("the computation failed on device `{device}`: {detail}")]
    Compute {
        /// The device that failed.
        device: String,
        /// What the backend reported.
        detail: String,
    },

    // ----- encoder weights -----
    /// No weights file at the given path.
    #[error(
        "no VGG19 weights at {path}. stylemark does not download anything: get the Caffe-trained \
         VGG19 (best for style transfer) from https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth \
         or torchvision's from https://download.pytorch.org/models/vgg19-dcbb9e9d.pth, then either pass the \
         .pth as is or shrink it to a 40 MB f16 file with \
         `scripts/convert-vgg19 vgg19-d01eb7cb.pth vgg19-caffe.safetensors` and pass that path. \
         Or use the built-in encoder, which needs no file"
    )]
    WeightsNotFound {
        /// The path that was tried.
        path: PathBuf,
    },

    /// The weights are not a safetensors or PyTorch file.
    #[error(
        "{source_name} is not a weights file stylemark can read ({detail}); \
         pass a .safetensors file or a PyTorch .pth/.pt checkpoint"
    )]
    UnrecognizedWeights {
        /// The file path, or `"weights bytes"`.
        source_name: String,
        /// What was found instead.
        detail: String,
    },

    /// The weights file is damaged.
    #[error("the weights in {source_name} could not be read: {detail}")]
    CorruptWeights {
        /// The file path, or `"weights bytes"`.
        source_name: String,
        /// What the reader reported.
        detail: String,
    },

    /// A layer the encoder needs is not in the weights file.
    #[error(
        "{source_name} has no weights for layer {layer}: looked for {tried}; \
         the file should hold VGG19's convolution layers in torchvision's layout \
         (`features.N.weight`) or as `convX_Y.weight` (the file has {found_count} tensors{examples})"
    )]
    MissingLayer {
        /// The file path, or `"weights bytes"`.
        source_name: String,
        /// The layer, for example `conv3_1`.
        layer: String,
        /// The keys that were looked for.
        tried: String,
        /// How many tensors the file has.
        found_count: usize,
        /// A few of the file's keys, to help spot a different layout.
        examples: String,
    },

    /// A tensor in the weights file has the wrong shape.
    #[error(
        "tensor `{key}` in {source_name} has shape {found:?} but VGG19's {layer} needs {expected:?}; \
         is this a VGG19 (not VGG16 or another network)?"
    )]
    WeightsShape {
        /// The file path, or `"weights bytes"`.
        source_name: String,
        /// The tensor's key.
        key: String,
        /// The layer it belongs to.
        layer: String,
        /// The shape VGG19 needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// A tensor in the weights file has a type that is not a float.
    #[error(
        "tensor `{key}` in {source_name} is stored as {dtype}; weights must be float32, float16, \
         bfloat16 or float64"
    )]
    WeightsDtype {
        /// The file path, or `"weights bytes"`.
        source_name: String,
        /// The tensor's key.
        key: String,
        /// The type found.
        dtype: String,
    },

    // ----- watermarks -----
    /// The image is too small to carry an invisible mark that reads back reliably.
    #[error(
        "the image is {width}x{height}: too small for an invisible mark, which needs at least \
         {min_side} px on its shorter side to read back reliably; use a larger image"
    )]
    ImageTooSmallForMark {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// The smallest shorter side that works.
        min_side: u32,
    },

    /// Embedding was refused because the mark would not survive ordinary recompression.
    #[error(
        "this image cannot hold the mark reliably: {reason}; the mark was not embedded. \
         Raise `strength`, or mark a larger or more detailed image"
    )]
    MarkWouldNotSurvive {
        /// What the check after embedding measured.
        reason: String,
    },

    /// No font given to a text watermark has a glyph for some characters.
    #[error(
        "no available font has a glyph for {characters}; the fonts searched were: {fonts}. \
         Pass a font that covers these characters (for example a Noto Sans CJK or Noto Sans \
         Arabic file) with `font`"
    )]
    MissingGlyphs {
        /// The characters without a glyph, quoted.
        characters: String,
        /// The font families that were searched.
        fonts: String,
    },

    /// A font file could not be read.
    #[error(
        "{source_name} is not a font stylemark can use: pass a TrueType (.ttf/.ttc) or OpenType (.otf) file"
    )]
    UnreadableFont {
        /// The path, or `"font bytes"`.
        source_name: String,
    },

    // ----- everything else -----
    /// A bug in stylemark (a broken invariant). Never the caller's fault.
    #[error("internal error: {0}; this is a bug in stylemark, please report it")]
    Internal(String),
}

/// A stable grouping of [`Error`] variants, for bindings and for deciding what to do.
///
/// ```
/// use stylemark::{Error, ErrorKind};
/// let err = Error::InvalidOption { name: "phases".into(), reason: "must be at least 1".into() };
/// assert_eq!(err.kind(), ErrorKind::InvalidOptions);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The image is empty, unreadable, corrupt or truncated.
    InvalidImage,
    /// An input exceeded a configured limit (bytes, pixels, memory).
    LimitExceeded,
    /// An option or a job description is invalid.
    InvalidOptions,
    /// Encoder weights are missing or unusable.
    Weights,
    /// A device is not compiled in, not present, or failed.
    Device,
    /// A file could not be read or written, or an output could not be encoded.
    Io,
    /// A bug in stylemark.
    Internal,
}

impl ErrorKind {
    /// A short lowercase name (`"invalid_image"`, `"limit_exceeded"`, ...), used in JSON errors.
    ///
    /// ```
    /// assert_eq!(stylemark::ErrorKind::LimitExceeded.name(), "limit_exceeded");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidImage => "invalid_image",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::InvalidOptions => "invalid_options",
            ErrorKind::Weights => "weights",
            ErrorKind::Device => "device",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyInput
            | Error::UnrecognizedFormat { .. }
            | Error::ZeroSizedImage { .. }
            | Error::TruncatedImage { .. }
            | Error::CorruptImage { .. }
            | Error::InvalidRawImage(_) => ErrorKind::InvalidImage,
            Error::InputTooLarge { .. }
            | Error::TooManyPixels { .. }
            | Error::AllocationLimit { .. }
            | Error::LimitExceeded { .. }
            | Error::JobOutOfTime { .. } => ErrorKind::LimitExceeded,
            Error::ImageTooSmallForMark { .. } | Error::MarkWouldNotSurvive { .. } => {
                ErrorKind::InvalidImage
            }
            // The caller asked for a format that cannot be written: their option, so a
            // bad request (HTTP 400), not a server failure.
            Error::InvalidOption { .. }
            | Error::UnsupportedOutputFormat { .. }
            | Error::MissingGlyphs { .. }
            | Error::UnreadableFont { .. } => ErrorKind::InvalidOptions,
            Error::WeightsNotFound { .. }
            | Error::UnrecognizedWeights { .. }
            | Error::CorruptWeights { .. }
            | Error::MissingLayer { .. }
            | Error::WeightsShape { .. }
            | Error::WeightsDtype { .. } => ErrorKind::Weights,
            Error::DeviceNotCompiled { .. }
            | Error::DeviceUnavailable { .. }
            | Error::Compute { .. } => ErrorKind::Device,
            Error::EncodeFailed { .. } | Error::Io { .. } => ErrorKind::Io,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Shorthand for [`Error::InvalidOption`].
    ///
    /// ```
    /// let err = stylemark::Error::option("iterations", "must be at least 1");
    /// assert_eq!(err.to_string(), "invalid option `iterations`: must be at least 1");
    /// ```
    pub fn option(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// The error for a caught panic (a bug), for bindings that must not let one cross
    /// into their language.
    ///
    /// ```
    /// let caught = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// let err = stylemark::Error::from_panic(&*caught);
    /// assert_eq!(err.kind(), stylemark::ErrorKind::Internal);
    /// assert!(err.to_string().contains("boom"));
    /// ```
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        Error::Internal(crate::panic_message(payload))
    }

    /// `Ok` when `amount` is within `limit`, else the [`Error::LimitExceeded`] naming
    /// `what` and the `fix`: the one check behind every counted limit.
    pub(crate) fn check_limit(
        what: &'static str,
        amount: u64,
        limit: u64,
        fix: &'static str,
    ) -> Result<(), Error> {
        if amount > limit {
            return Err(Error::LimitExceeded {
                what,
                amount,
                limit,
                fix,
            });
        }
        Ok(())
    }

    /// Wraps an I/O error with the file it concerns.
    ///
    /// ```
    /// let e = std::io::Error::from(std::io::ErrorKind::NotFound);
    /// let err = stylemark::Error::io("cannot read", "job.json", e);
    /// assert!(err.to_string().starts_with("cannot read job.json"));
    /// ```
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
