//! The five functions. Each turns a form into a core [`Job`] (the same job format as
//! `stylemark run`, Python's `run` and C's `stylemark_run_job`), runs it, and answers with
//! the image or JSON; so this layer only converts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use stylemark::doodle::{CancelToken, DoodleOptions, Method};
use stylemark::image::DynamicImage;
use stylemark::io::decode;
use stylemark::job::{Job, JobInputs, JobOutcome, Step};
use stylemark::watermark::visible::Font;
use stylemark::{Error, Session};

use crate::config::Config;
use crate::form::Form;
use crate::http::Response;
use crate::problem::{Problem, not_found};

/// Response headers a browser page on another origin may read.
pub const EXPOSED_HEADERS: &str = "X-Request-Id, X-Stylemark-Status, X-Stylemark-Seconds, \
     X-Stylemark-Evaluations, X-Stylemark-Random-Seed, X-Stylemark-Size, X-Stylemark-Mode, X-Stylemark-Method, \
     X-Stylemark-Warnings, X-Stylemark-Marks, X-Stylemark-Note, X-Stylemark-Psnr-Db, \
     X-Stylemark-Steps, Retry-After";

/// Time kept back from a doodle's budget for encoding and sending its image.
const ENCODE_MARGIN: Duration = Duration::from_millis(300);

/// An endpoint that does work (and so takes a concurrency slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Doodle,
    Watermark,
    MarkEmbed,
    MarkDetect,
    Jobs,
}

impl Function {
    const ALL: [(Function, &'static str); 5] = [
        (Function::Doodle, "/v1/doodle"),
        (Function::Watermark, "/v1/watermark"),
        (Function::MarkEmbed, "/v1/mark/embed"),
        (Function::MarkDetect, "/v1/mark/detect"),
        (Function::Jobs, "/v1/jobs"),
    ];

    /// The function's name in statistics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Function::Doodle => "doodle",
            Function::Watermark => "watermark",
            Function::MarkEmbed => "mark_embed",
            Function::MarkDetect => "mark_detect",
            Function::Jobs => "jobs",
        }
    }

    /// The function a request is for: `Ok(None)` for the page, health, statistics and
    /// CORS preflights, an error for unknown paths and wrong methods.
    pub fn route(method: &str, path: &str) -> Result<Option<Function>, Problem> {
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        if method == "OPTIONS" {
            return Ok(None);
        }
        if let Some((function, _)) = Function::ALL.iter().find(|(_, p)| *p == path) {
            return match method {
                "POST" => Ok(Some(*function)),
                _ => Err(Problem::new(
                    405,
                    "method_not_allowed",
                    format!("{path} takes POST with a multipart/form-data body"),
                )),
            };
        }
        const PAGES: [&str; 6] = [
            "/",
            "/index.html",
            "/app.js",
            "/style.css",
            "/healthz",
            "/v1/stats",
        ];
        match method {
            "GET" => Ok(None),
            _ if PAGES.contains(&path) => Err(Problem::new(
                405,
                "method_not_allowed",
                format!("{path} takes GET"),
            )),
            _ => Err(not_found(path)),
        }
    }
}

/// A form the function cannot take, answered as the core's own option errors are (400,
/// `invalid_options`, the field named).
fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Problem {
    Error::option(field, reason).into()
}

/// A finished call.
pub struct Done {
    pub response: Response,
    /// A doodle stopped at the server's time budget.
    pub timed_out: bool,
}

/// Builds the job `form` describes, runs it and makes the answer; `accepts_json` when the
/// client asked for JSON (`Accept: application/json`) instead of the image. `cancel`
/// stops the work (the client went away, or the server is stopping).
pub fn run(
    session: &Session,
    config: &Config,
    function: Function,
    mut form: Form,
    accepts_json: bool,
    started: Instant,
    cancel: &CancelToken,
) -> Result<Done, Problem> {
    let (job, inputs) = build(session, function, &mut form)?;
    drop(form); // the uploaded bytes, decoded now
    let (job, server_bound) = bound_doodles(config, job, started);
    // The request's deadline covers every step, counted from the end of its head (reading and
    // decoding the upload included), with room kept to encode and send the answer.
    let deadline = started + config.timeout.saturating_sub(ENCODE_MARGIN);
    let outcome = session
        .run_job_until(&job, &inputs, cancel, Some(deadline))
        .map_err(|error| {
            let own_budget = matches!(error, Error::JobOutOfTime { .. }) && !server_bound;
            let mut problem = Problem::from(error);
            if own_budget {
                // The job's own `time_budget` ran out, not the server's deadline.
                problem.status = 413;
            }
            problem
        })?;
    let timed_out = server_bound && stopped_at_budget(&outcome);
    let only_reads = job.steps.iter().all(|s| matches!(s, Step::MarkDetect(_)));
    let response = respond(function, accepts_json, &outcome, only_reads)?;
    Ok(Done {
        response,
        timed_out,
    })
}

/// The job a form describes, and its decoded inputs.
fn build(
    session: &Session,
    function: Function,
    form: &mut Form,
) -> Result<(Job, JobInputs), Problem> {
    let mut inputs = JobInputs::default();
    if function == Function::Jobs {
        let json = form
            .take_field("job")
            .ok_or_else(|| invalid("job", "give the job as the form field `job` (docs/JOBS.md)"))?;
        if let Some((name, _)) = form.fields.first() {
            return Err(invalid(
                name.clone(),
                "is not a field of /v1/jobs: options go inside the job; images are files",
            ));
        }
        let job = Job::from_json(&json)?;
        // Its limits (steps above all) are checked before any file is decoded.
        session.check_job(&job, form.files.len())?;
        // Only files the job names are decoded (127 unnamed 40 MP PNGs were all decoded).
        let named = job.input_names();
        if let Some(unnamed) = form.files.keys().find(|f| !named.contains(f.as_str())) {
            return Err(invalid(
                unnamed.clone(),
                format!(
                    "is a file no step of the job uses; the job uses {}",
                    named.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        decode_files(session, &form.files, &mut inputs, true)?;
        return Ok((job, inputs));
    }
    let demo_style = function == Function::Doodle
        && form.take_field("style").is_some_and(|v| v.trim() == "demo");
    if demo_style && form.files.contains_key("style") {
        return Err(invalid(
            "style",
            "give a style file or `style=demo`, not both",
        ));
    }
    // The files' names are checked before any is decoded: an unexpected name must not
    // cost a decode (280 small PNGs in one form each decoded to 40 MP first).
    let mut names: Vec<&str> = form.files.keys().map(String::as_str).collect();
    if demo_style {
        names.push("style");
        if names.contains(&"content_map") {
            names.push("style_map");
        }
    }
    names.sort_unstable();
    let op = match function {
        Function::Doodle => "doodle",
        Function::Watermark => match (
            form.fields.iter().any(|(n, _)| n == "text"),
            names.contains(&"logo"),
        ) {
            (true, false) => "watermark_text",
            (false, true) => "watermark_logo",
            (true, true) => {
                return Err(invalid("text", "give `text` or a `logo` file, not both"));
            }
            (false, false) => {
                return Err(invalid("text", "give `text` (a field) or `logo` (a file)"));
            }
        },
        Function::MarkEmbed => "mark_embed",
        Function::MarkDetect => "mark_detect",
        Function::Jobs => unreachable!("handled above"),
    };
    if let Some(unexpected) = names.iter().find(|n| !expected_files(op).contains(n)) {
        return Err(invalid(
            unexpected.to_string(),
            format!(
                "is not a file this function takes; it takes {}",
                expected_files(op).join(", ")
            ),
        ));
    }
    decode_files(session, &form.files, &mut inputs, false)?;
    if demo_style {
        let scene = demo_scene();
        inputs
            .images
            .insert("style".into(), DynamicImage::ImageRgb8(scene.style.clone()));
        if inputs.images.contains_key("content_map") {
            inputs.images.insert(
                "style_map".into(),
                DynamicImage::ImageRgb8(scene.style_map.clone()),
            );
        }
    }
    let job = Job::from_fields(op, form.field_pairs(), &names)?;
    Ok((job, inputs))
}

/// The built-in demo painting behind `style=demo`, generated once per process.
fn demo_scene() -> &'static stylemark::samples::DemoScene {
    static SCENE: std::sync::OnceLock<stylemark::samples::DemoScene> = std::sync::OnceLock::new();
    SCENE.get_or_init(|| stylemark::samples::demo_scene(256, 192, 1))
}

fn expected_files(op: &str) -> &'static [&'static str] {
    match op {
        "doodle" => &["style", "style_map", "content", "content_map"],
        "watermark_logo" => &["image", "logo"],
        _ => &["image"],
    }
}

/// Decodes every uploaded file under the upload limits; for jobs, files named `*.ttf`,
/// `*.otf` or `*.ttc` are fonts.
fn decode_files(
    session: &Session,
    files: &BTreeMap<String, Vec<u8>>,
    inputs: &mut JobInputs,
    fonts_allowed: bool,
) -> Result<(), Problem> {
    let limits = session.limits();
    let mut sizes = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        if fonts_allowed && looks_like_font(bytes) {
            let font = Font::from_bytes(bytes.clone())
                .map_err(|e| Problem::from(e).field(name.clone()))?;
            inputs.fonts.insert(name.clone(), font);
            continue;
        }
        // All of a request's images together, checked before each is decoded.
        if let Ok((_, width, height)) = stylemark::io::probe(bytes) {
            sizes.push((width, height));
            limits
                .check_total_pixels(sizes.iter().copied())
                .map_err(|e| Problem::from(e).field(name.clone()))?;
        }
        let image = decode(bytes, &limits.decode).map_err(|e| {
            let mut problem = Problem::from(e);
            problem.message = format!("file `{name}`: {}", problem.message);
            problem.field(name.clone())
        })?;
        inputs.images.insert(name.clone(), image);
    }
    Ok(())
}

/// TrueType, OpenType and collection files, by their first four bytes.
fn looks_like_font(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"\x00\x01\x00\x00" | b"OTTO" | b"true" | b"ttcf")
    )
}

/// Caps every doodle step's painting size by the server's. Returns whether the server's
/// deadline, rather than a step's own `time_budget`, is the one that binds.
fn bound_doodles(config: &Config, mut job: Job, started: Instant) -> (Job, bool) {
    let left = config
        .timeout
        .saturating_sub(started.elapsed() + ENCODE_MARGIN);
    let mut server_bound = job.time_budget.is_none_or(|asked| asked > left);
    for step in &mut job.steps {
        if let Step::Doodle(doodle) = step {
            let content = &doodle.content;
            let options: &mut DoodleOptions = &mut doodle.options;
            server_bound &= options.time_budget.is_none_or(|asked| asked > left);
            // A photo painted by patches costs a working size plus a pass over its
            // pixels; everything else paints every output pixel.
            let cap = if content.is_some() && options.method == Method::Patch {
                config.photo_max_size
            } else {
                config.doodle_max_size
            };
            options.max_size = Some(options.max_size.map_or(cap, |asked| asked.min(cap)));
        }
    }
    (job, server_bound)
}

fn stopped_at_budget(outcome: &JobOutcome) -> bool {
    outcome
        .steps
        .iter()
        .any(|s| s.details["status"] == "time_budget_exhausted")
}

/// The image with the run's figures; JSON for a detection, and for a job that only reads
/// (its image would be the input, unchanged).
fn respond(
    function: Function,
    wants_json: bool,
    outcome: &JobOutcome,
    only_reads: bool,
) -> Result<Response, Problem> {
    let steps = outcome.report_json();
    if function == Function::MarkDetect {
        let detection = &outcome.steps[0].details;
        return Ok(Response::json(200, detection));
    }
    if only_reads || outcome.image.is_none() {
        return Ok(Response::json(200, &serde_json::json!({"steps": steps})));
    }
    let bytes = outcome.encoded()?;
    let mime = outcome.output.mime_type();
    let mut response = if wants_json {
        Response::json(
            200,
            &serde_json::json!({
                "mime_type": mime,
                "image_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                "steps": steps,
            }),
        )
    } else {
        Response::new(200, mime, bytes).header(
            "Content-Disposition",
            format!(
                "inline; filename=\"stylemark-{}.{}\"",
                function.name(),
                outcome.output.extension()
            ),
        )
    };
    for (name, value) in once_each(summary_headers(outcome)) {
        response = response.header(name, value);
    }
    Ok(response.header("Cache-Control", "no-store"))
}

/// One header per name for a job of several steps: a figure (seconds, size, marks, ...) is
/// the last step's, and the warnings and notes of every step are joined with `; `.
fn once_each(headers: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut merged: Vec<(&'static str, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let joins = matches!(name, "X-Stylemark-Warnings" | "X-Stylemark-Note");
        match merged.iter_mut().find(|(known, _)| *known == name) {
            Some((_, existing)) if joins => {
                existing.push_str("; ");
                existing.push_str(&value);
            }
            Some((_, existing)) => *existing = value,
            None => merged.push((name, value)),
        }
    }
    merged
}

/// The run's key figures as `X-Stylemark-*` headers.
fn summary_headers(outcome: &JobOutcome) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    let mut status = "completed".to_string();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for step in &outcome.steps {
        let d = &step.details;
        match step.op {
            "doodle" => {
                let report = &d["report"];
                if d["status"] != "completed" {
                    status = text(&d["status"]);
                }
                let evaluations: u64 = report["phases"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|p| p["evaluations"].as_u64()).sum())
                    .unwrap_or(0);
                headers.push((
                    "X-Stylemark-Seconds",
                    format!("{:.3}", report["seconds"].as_f64().unwrap_or(0.0)),
                ));
                headers.push(("X-Stylemark-Evaluations", evaluations.to_string()));
                headers.push(("X-Stylemark-Random-Seed", text(&report["random_seed"])));
                headers.push(("X-Stylemark-Mode", text(&report["mode"])));
                headers.push(("X-Stylemark-Method", text(&report["method"])));
                headers.push((
                    "X-Stylemark-Size",
                    format!("{}x{}", report["width"], report["height"]),
                ));
                if let Some(warnings) = report["warnings"].as_array().filter(|w| !w.is_empty()) {
                    let joined: Vec<String> = warnings.iter().map(text).collect();
                    headers.push(("X-Stylemark-Warnings", joined.join("; ")));
                }
            }
            "watermark_text" | "watermark_logo" => {
                if d["status"]["status"] == "skipped" && status == "completed" {
                    status = "skipped".into();
                    headers.push(("X-Stylemark-Note", text(&d["status"]["reason"])));
                }
                headers.push(("X-Stylemark-Marks", text(&d["marks"])));
                if let Some(note) = d["note"].as_str() {
                    headers.push(("X-Stylemark-Note", note.to_string()));
                }
            }
            "mark_embed" => {
                headers.push((
                    "X-Stylemark-Psnr-Db",
                    format!("{:.2}", d["psnr_db"].as_f64().unwrap_or(0.0)),
                ));
            }
            _ => {}
        }
    }
    headers.push(("X-Stylemark-Status", status));
    headers.push(("X-Stylemark-Steps", outcome.steps.len().to_string()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_statuses_by_what_went_wrong() {
        let out_of_time = Error::JobOutOfTime {
            step: 1,
            op: "mark_embed",
            spent_ms: 5000,
            budget_ms: 4700,
        };
        let too_large = Error::LimitExceeded {
            what: "the number of tiled marks (max_tiled_marks)",
            amount: 7,
            limit: 5,
            fix: "fewer",
        };
        let problem = Problem::from(out_of_time);
        assert_eq!((problem.status, problem.kind), (504, "limit_exceeded"));
        assert!(problem.message.contains("steps[1]"), "{}", problem.message);
        assert_eq!(Problem::from(too_large).status, 413);
        assert_eq!(Problem::from(Error::option("size", "bad")).status, 400);
        let internal = Problem::from(Error::Internal("index out of bounds at x.rs".into()));
        assert_eq!(internal.status, 500);
        assert!(!internal.message.contains("x.rs"), "{}", internal.message);
    }

    #[test]
    fn a_header_appears_once_whatever_the_steps() {
        let headers = vec![
            ("X-Stylemark-Seconds", "1.0".to_string()),
            ("X-Stylemark-Warnings", "a".to_string()),
            ("X-Stylemark-Seconds", "2.0".to_string()),
            ("X-Stylemark-Warnings", "b".to_string()),
            ("X-Stylemark-Status", "completed".to_string()),
        ];
        assert_eq!(
            once_each(headers),
            vec![
                ("X-Stylemark-Seconds", "2.0".to_string()),
                ("X-Stylemark-Warnings", "a; b".to_string()),
                ("X-Stylemark-Status", "completed".to_string()),
            ]
        );
    }
}
