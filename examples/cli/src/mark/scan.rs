//! `stylemark mark detect`: reads marks from many images in parallel, one JSON line each.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use stylemark::image::ImageFormat;
use stylemark::watermark::invisible::{self as mark, Detection};
use stylemark::{Error, Result};
use stylemark::{Limits, Session};

use super::DetectArgs;
use crate::files::{check_streams, read_image};

/// The exit status when no mark was found in any image.
const NONE_FOUND: u8 = 1;
/// The exit status when no mark was found and some image could not be read.
const NONE_FOUND_AND_ERRORS: u8 = 2;

/// Scans every image the arguments name; prints a line per image, in the order given.
pub fn run(args: DetectArgs, limits: &Limits, json: bool) -> ExitCode {
    // The errors before any file is read; a file's own error is its line.
    let refuse = |message: String| {
        crate::report_error("invalid_options", &message, json);
        ExitCode::from(NONE_FOUND_AND_ERRORS)
    };
    let mut paths = args.input;
    paths.extend(args.paths);
    if paths.is_empty() {
        return refuse("give the images or directories to read (or --input FILE)".into());
    }
    if let Err(error) = check_streams(paths.iter().map(PathBuf::as_path), None, false) {
        return refuse(error.to_string());
    }
    let files = expand(&paths, args.recursive);
    let names = files.iter().map(|(name, _)| name.clone()).collect();
    let files: Vec<Result<PathBuf>> = files.into_iter().map(|(_, file)| file).collect();
    let printer = Mutex::new(Printer::new(names));
    let session = Session::default().with_limits(*limits);
    let scanned = || {
        session.mark_detect_each(
            files,
            &args.key,
            |file| file.and_then(|path| read_image(&path, &session.limits().decode)),
            |index, outcome| {
                printer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .add(index, outcome)
            },
        )
    };
    let outcome = match args.jobs {
        Some(jobs) => rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build()
            .map_err(|e| Error::Internal(format!("could not start {jobs} threads: {e}")))
            .and_then(|pool| pool.install(scanned)),
        None => scanned(),
    };
    if let Err(error) = outcome {
        eprintln!("error: {error}");
        return ExitCode::from(NONE_FOUND_AND_ERRORS);
    }
    let printer = printer.into_inner().unwrap_or_else(|e| e.into_inner());
    match (printer.found, printer.errors) {
        (0, 0) => ExitCode::from(NONE_FOUND),
        (0, _) => ExitCode::from(NONE_FOUND_AND_ERRORS),
        _ => ExitCode::SUCCESS,
    }
}

/// A file to read, named as the report names it (or why it cannot be listed).
type Listed = (String, Result<PathBuf>);

/// The files to read: files as given, directories' images (by extension) sorted by name.
/// A directory that cannot be listed is an error in its place.
fn expand(paths: &[PathBuf], recursive: bool) -> Vec<Listed> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            list_images(path, recursive, &mut files);
        } else {
            files.push((path.display().to_string(), Ok(path.clone())));
        }
    }
    files
}

fn list_images(directory: &Path, recursive: bool, files: &mut Vec<Listed>) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(e) => {
            files.push((
                directory.display().to_string(),
                Err(Error::Io {
                    action: "cannot list",
                    path: directory.to_path_buf(),
                    source: e,
                }),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if recursive {
                list_images(&path, recursive, files);
            }
        } else if ImageFormat::from_path(&path).is_ok() {
            files.push((path.display().to_string(), Ok(path)));
        }
    }
}

/// Prints outcomes in the order of the files although they finish in any order, and
/// counts what was found.
struct Printer {
    /// The files' names, by index.
    names: Vec<String>,
    /// Outcomes that finished before an earlier file's.
    waiting: BTreeMap<usize, serde_json::Value>,
    next: usize,
    found: usize,
    errors: usize,
}

impl Printer {
    fn new(names: Vec<String>) -> Printer {
        Printer {
            names,
            waiting: BTreeMap::new(),
            next: 0,
            found: 0,
            errors: 0,
        }
    }

    fn add(&mut self, index: usize, outcome: Result<Detection>) {
        let file = &self.names[index];
        let line = match outcome {
            Ok(detection) => {
                self.found += usize::from(detection.found);
                serde_json::json!({
                    "file": file,
                    "found": detection.found,
                    "payload": detection.payload.as_deref().map(mark::to_hex),
                    "confidence": detection.confidence,
                    "sync_score": detection.sync_score,
                    "scale": detection.scale,
                })
            }
            Err(error) => {
                self.errors += 1;
                let message = error.to_string();
                if message.contains(file.as_str()) {
                    eprintln!("error: {message}");
                } else {
                    eprintln!("error: {file}: {message}");
                }
                serde_json::json!({"file": file, "error": message, "kind": error.kind().name()})
            }
        };
        self.waiting.insert(index, line);
        let mut stdout = std::io::stdout().lock();
        while let Some(line) = self.waiting.remove(&self.next) {
            // A closed stdout (a pipe into `head`) ends nothing else: the exit status
            // still tells whether a mark was found.
            let _ = writeln!(stdout, "{line}");
            self.next += 1;
        }
    }
}
