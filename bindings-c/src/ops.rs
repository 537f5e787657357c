//! The operations: doodle, text and logo watermarks, invisible marks, and jobs. Each
//! converts its arguments, calls the core, and converts the result; nothing else.

use std::ffi::{c_char, c_void};

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use stylemark_core::Session;
use stylemark_core::doodle::{
    CancelToken, DoodleOptions, DoodleOutcome, DoodleRequest, Observer, Progress,
};
use stylemark_core::image::DynamicImage;
use stylemark_core::io::{OutputFormat, encode};
use stylemark_core::job::{Job, JobInputs};
use stylemark_core::watermark::invisible::MarkOptions;
use stylemark_core::watermark::visible::{LogoOptions, TextOptions};

use crate::engine::{StylemarkEngine, engine_ref};
use crate::input::{
    StylemarkImage, optional_image, optional_str, output_format, required_image, required_str,
};
use crate::memory::{StylemarkBuffer, into_c_string};
use crate::options::StylemarkOptions;
use crate::status::{Failure, StylemarkStatus, guard};

/// What a progress callback receives after each evaluation of a doodle.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct StylemarkProgress {
    /// Phase number, from 1.
    pub phase: u32,
    /// Number of phases.
    pub phases: u32,
    /// Evaluation within the phase, from 1.
    pub evaluation: u32,
    /// Evaluations per phase.
    pub evaluations: u32,
    /// Fraction of the run done, 0 to 1.
    pub fraction: f64,
    /// The total loss of this evaluation.
    pub loss: f64,
    /// Seconds since the run started.
    pub elapsed_seconds: f64,
    /// No evaluation ended: this is the last progress again (time updated), sent about
    /// once a second while one evaluation takes longer, so that `false` stops even that.
    pub heartbeat: bool,
}

/// A progress callback: return `false` to cancel the run (the best image so far is still
/// returned, with status `cancelled` in the report), even in the middle of a long
/// evaluation. Called on the thread that called `stylemark_doodle` (the run itself works
/// on another and waits for the answer).
pub type StylemarkProgressCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, progress: *const StylemarkProgress) -> bool,
>;

/// What `stylemark_mark_detect` found.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct StylemarkDetection {
    /// Whether a mark made with the key was found.
    pub found: bool,
    /// The payload (its first `payload_len` bytes), when found.
    pub payload: [u8; 8],
    /// Number of payload bytes (0 when not found).
    pub payload_len: usize,
    /// How clearly the chips agree with the decoded bits, 0 (chance) to 1.
    pub confidence: f32,
    /// How far the sync peak stands out, in standard deviations (found needs 5.5).
    pub sync_score: f32,
}

/// How often the callback hears from a run whose evaluation takes longer.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What the working thread tells the caller's.
enum FromRun {
    Progress(StylemarkProgress),
    Done(stylemark_core::Result<DoodleOutcome>),
}

/// Paints on a worker thread while this thread calls `tell` with each evaluation's
/// progress (and the worker waits for its answer), and with a heartbeat when an
/// evaluation runs past [`HEARTBEAT`]: a `false` answer to either cancels the run.
fn doodle_reporting_here(
    session: &Session,
    request: &DoodleRequest,
    options: &DoodleOptions,
    mut tell: impl FnMut(&StylemarkProgress) -> bool,
) -> stylemark_core::Result<DoodleOutcome> {
    let cancel = CancelToken::new();
    let (to_caller, from_run) = mpsc::sync_channel::<FromRun>(0);
    let (to_run, answers) = mpsc::sync_channel::<bool>(0);
    std::thread::scope(|scope| {
        let run_cancel = cancel.clone();
        scope.spawn(move || {
            let progress_sender = to_caller.clone();
            let mut on_progress = move |p: &Progress| {
                let report = StylemarkProgress {
                    phase: p.phase as u32,
                    phases: p.phases as u32,
                    evaluation: p.evaluation as u32,
                    evaluations: p.evaluations as u32,
                    fraction: p.fraction(),
                    loss: f64::from(p.losses.total),
                    elapsed_seconds: p.elapsed.as_secs_f64(),
                    heartbeat: false,
                };
                progress_sender.send(FromRun::Progress(report)).is_ok()
                    && answers.recv().unwrap_or(false)
            };
            let observer = Observer::default()
                .progress(&mut on_progress)
                .cancel_token(run_cancel);
            let outcome = session.doodle(request, options, observer);
            let _ = to_caller.send(FromRun::Done(outcome));
        });
        let started = Instant::now();
        let mut last = StylemarkProgress::default();
        loop {
            match from_run.recv_timeout(HEARTBEAT) {
                Ok(FromRun::Progress(report)) => {
                    last = report;
                    let _ = to_run.send(tell(&report));
                }
                Ok(FromRun::Done(outcome)) => return outcome,
                Err(RecvTimeoutError::Timeout) => {
                    let beat = StylemarkProgress {
                        elapsed_seconds: started.elapsed().as_secs_f64(),
                        heartbeat: true,
                        ..last
                    };
                    if !tell(&beat) {
                        cancel.cancel();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(stylemark_core::Error::from_panic(&"the painting stopped"));
                }
            }
        }
    })
}

/// Writes an encoded image and an optional JSON report to the out-parameters.
///
/// # Safety
/// `out_image` is writable; `out_report` is NULL or writable.
unsafe fn deliver(
    image: &DynamicImage,
    format: OutputFormat,
    report: serde_json::Value,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> Result<(), Failure> {
    let bytes = encode(image, format)?;
    // SAFETY: checked non-NULL by the callers before any work.
    unsafe { out_image.write(StylemarkBuffer::from_vec(bytes)) };
    if !out_report.is_null() {
        // SAFETY: the caller passes NULL or writable memory for a pointer.
        unsafe { out_report.write(into_c_string(report.to_string())) };
    }
    Ok(())
}

/// The engine, output format and input image every image operation starts with.
///
/// # Safety
/// As the entry points: `engine` NULL or live, `format` NULL or NUL-terminated, `image`
/// NULL or a valid description.
unsafe fn image_call<'a>(
    engine: *const StylemarkEngine,
    format: *const c_char,
    image: *const StylemarkImage,
) -> Result<(&'a StylemarkEngine, OutputFormat, DynamicImage), Failure> {
    // SAFETY: forwarded from the caller.
    unsafe {
        let engine = engine_ref(engine)?;
        let format = output_format(optional_str(format, "format")?)?;
        let image = required_image(image, "image", &engine.session.limits().decode)?;
        Ok((engine, format, image))
    }
}

fn require_out<T>(pointer: *mut T, name: &str) -> Result<(), Failure> {
    if pointer.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// Paints `content` (or the `content_map` doodle, or a texture) in the style of `style`.
///
/// `style_map`, `content`, `content_map`, `options`, `progress` and `out_report` may be
/// NULL. Options are the doodle options (`phases`, `iterations`, `content_weight`, ...,
/// `time_budget` in seconds, `random_seed`) plus `output_size` (`[width, height]`).
/// `format` is NULL (PNG), `png`, `jpeg`, `jpeg:QUALITY` or `webp`. On success
/// `*out_image` holds the encoded painting (free it with `stylemark_buffer_free`) and
/// `*out_report`, if asked for, the run's JSON report (free it with
/// `stylemark_string_free`), whose `status` says whether it completed or stopped early.
///
/// # Safety
/// Pointers are NULL (where allowed) or valid for their types; images as described at
/// `StylemarkImage`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn stylemark_doodle(
    engine: *const StylemarkEngine,
    style: *const StylemarkImage,
    style_map: *const StylemarkImage,
    content: *const StylemarkImage,
    content_map: *const StylemarkImage,
    options: *const StylemarkOptions,
    progress: StylemarkProgressCallback,
    user_data: *mut c_void,
    format: *const c_char,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> StylemarkStatus {
    guard(|| {
        require_out(out_image, "out_image")?;
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let engine = engine_ref(engine)?;
            let session = &engine.session;
            let limits = &session.limits().decode;
            let format = output_format(optional_str(format, "format")?)?;
            let (doodle_options, extra): (DoodleOptions, _) =
                StylemarkOptions::parse(options.as_ref(), &["output_size"])?;
            let mut request = DoodleRequest::new(required_image(style, "style", limits)?);
            request.style_map = optional_image(style_map, "style_map", limits)?;
            request.content = optional_image(content, "content", limits)?;
            request.content_map = optional_image(content_map, "content_map", limits)?;
            if let Some(size) = extra.get("output_size") {
                request.output_size = Some(serde_json::from_value(size.clone()).map_err(|_| {
                    Failure {
                        status: StylemarkStatus::InvalidOptions,
                        message:
                            "invalid option `output_size`: write [width, height], e.g. [512, 384]"
                                .into(),
                    }
                })?);
            }
            // Opened here, on the caller's thread, before any progress is reported: the
            // callback hears the painting, not the weights loading.
            session.engine()?;
            let outcome = match progress {
                None => session.doodle(&request, &doodle_options, Observer::default())?,
                Some(callback) => {
                    // SAFETY: the caller's callback, with the caller's user data, called
                    // on the caller's thread.
                    let tell = |report: &StylemarkProgress| callback(user_data, report);
                    doodle_reporting_here(session, &request, &doodle_options, tell)?
                }
            };
            let report = outcome.report_json();
            deliver(
                &DynamicImage::ImageRgb8(outcome.image),
                format,
                report,
                out_image,
                out_report,
            )
        }
    })
}

/// Draws `text` on `image`. Options: `size`, `color`, `opacity`, `outline`, `shadow`,
/// `placement.position`, `placement.rotation`...; fonts with
/// `stylemark_options_add_font_file`. See `stylemark_doodle` for `format` and the outputs.
///
/// # Safety
/// As `stylemark_doodle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_watermark_text(
    engine: *const StylemarkEngine,
    image: *const StylemarkImage,
    text: *const c_char,
    options: *const StylemarkOptions,
    format: *const c_char,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> StylemarkStatus {
    guard(|| {
        require_out(out_image, "out_image")?;
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let (engine, format, image) = image_call(engine, format, image)?;
            let text = required_str(text, "text")?;
            let (mut text_options, _): (TextOptions, _) =
                StylemarkOptions::parse(options.as_ref(), &[])?;
            text_options.fonts = StylemarkOptions::fonts(options.as_ref());
            let marked = engine.session.watermark_text(&image, text, &text_options)?;
            let report = marked.report_json();
            deliver(&marked.image, format, report, out_image, out_report)
        }
    })
}

/// Draws `logo` on `image`. Options: `size`, `opacity`, `upscale`, `min_width`,
/// `min_height`, `placement.*`. When the image is below the minimum size it is returned
/// unchanged and the report's status is `skipped`.
///
/// # Safety
/// As `stylemark_doodle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_watermark_logo(
    engine: *const StylemarkEngine,
    image: *const StylemarkImage,
    logo: *const StylemarkImage,
    options: *const StylemarkOptions,
    format: *const c_char,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> StylemarkStatus {
    guard(|| {
        require_out(out_image, "out_image")?;
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let (engine, format, image) = image_call(engine, format, image)?;
            let logo = required_image(logo, "logo", &engine.session.limits().decode)?;
            let (logo_options, _): (LogoOptions, _) =
                StylemarkOptions::parse(options.as_ref(), &[])?;
            let marked = engine
                .session
                .watermark_logo(&image, &logo, &logo_options)?;
            let report = marked.report_json();
            deliver(&marked.image, format, report, out_image, out_report)
        }
    })
}

/// Hides `payload` (1 to 8 bytes) in `image` under `key`. Options: `strength`, `verify`.
/// Keep the output lossless (PNG) or high quality; the mark survives JPEG, but every
/// generation costs margin.
///
/// # Safety
/// As `stylemark_doodle`; `payload` points to `payload_len` bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn stylemark_mark_embed(
    engine: *const StylemarkEngine,
    image: *const StylemarkImage,
    payload: *const u8,
    payload_len: usize,
    key: *const c_char,
    options: *const StylemarkOptions,
    format: *const c_char,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> StylemarkStatus {
    guard(|| {
        require_out(out_image, "out_image")?;
        if payload.is_null() {
            return Err(Failure::null("payload"));
        }
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let (engine, format, image) = image_call(engine, format, image)?;
            let payload = std::slice::from_raw_parts(payload, payload_len);
            let key = required_str(key, "key")?;
            let (mark_options, _): (MarkOptions, _) =
                StylemarkOptions::parse(options.as_ref(), &[])?;
            let marked = engine
                .session
                .mark_embed(&image, payload, key, &mark_options)?;
            let report = marked.report_json();
            deliver(&marked.image, format, report, out_image, out_report)
        }
    })
}

/// Looks for a mark made with `key` in `image`. Not finding one is not an error:
/// `out->found` is false.
///
/// # Safety
/// As `stylemark_doodle`; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_mark_detect(
    engine: *const StylemarkEngine,
    image: *const StylemarkImage,
    key: *const c_char,
    out: *mut StylemarkDetection,
) -> StylemarkStatus {
    guard(|| {
        require_out(out, "out")?;
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let engine = engine_ref(engine)?;
            let session = &engine.session;
            let image = required_image(image, "image", &session.limits().decode)?;
            let detection = session.mark_detect(&image, required_str(key, "key")?)?;
            let mut result = StylemarkDetection {
                found: detection.found,
                confidence: detection.confidence,
                sync_score: detection.sync_score,
                ..StylemarkDetection::default()
            };
            if let Some(payload) = &detection.payload {
                result.payload[..payload.len()].copy_from_slice(payload);
                result.payload_len = payload.len();
            }
            out.write(result);
            Ok(())
        }
    })
}

/// Runs a pipeline job (the JSON format of docs/JOBS.md) on `count` named images
/// (`names[i]` names `images[i]`). `*out_image` gets the final image in the job's output
/// format (`{NULL, 0}` when no step made one) and `*out_report`, if asked for, the JSON
/// array of step reports.
///
/// # Safety
/// As `stylemark_doodle`; `names` and `images` point to `count` entries each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_run_job(
    engine: *const StylemarkEngine,
    job_json: *const c_char,
    names: *const *const c_char,
    images: *const StylemarkImage,
    count: usize,
    out_image: *mut StylemarkBuffer,
    out_report: *mut *mut c_char,
) -> StylemarkStatus {
    guard(|| {
        require_out(out_image, "out_image")?;
        if count > 0 && (names.is_null() || images.is_null()) {
            return Err(Failure::null("names or images"));
        }
        // SAFETY: every pointer argument is as documented above (the whole block relies on it).
        unsafe {
            let engine = engine_ref(engine)?;
            let session = &engine.session;
            let job = Job::from_json(required_str(job_json, "job_json")?)?;
            session.check_job(&job, count)?;
            let mut inputs = JobInputs::default();
            for i in 0..count {
                let name = required_str(*names.add(i), "names[i]")?;
                let image = required_image(images.add(i), name, &session.limits().decode)?;
                inputs.images.insert(name.to_string(), image);
            }
            let outcome = session.run_job(&job, &inputs)?;
            let bytes = match &outcome.image {
                Some(_) => outcome.encoded()?,
                None => Vec::new(),
            };
            out_image.write(if bytes.is_empty() {
                StylemarkBuffer {
                    data: std::ptr::null_mut(),
                    len: 0,
                }
            } else {
                StylemarkBuffer::from_vec(bytes)
            });
            if !out_report.is_null() {
                out_report.write(into_c_string(outcome.report_json().to_string()));
            }
            Ok(())
        }
    })
}
