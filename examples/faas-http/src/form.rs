//! The uploaded `multipart/form-data` form (RFC 7578), read as it streams in by `multer`:
//! bounded in bytes (the whole body and each part), in parts, and in the memory that all
//! uploads in flight may hold together, so slow or many uploaders cannot exhaust memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::problem::Problem;

/// The most parts (fields and files) a form may have: every function takes far fewer (a
/// doodle with every option about 40), and checking fields against each other costs more
/// per field as they grow (100,000 empty fields once took 30 s of CPU before a 400).
pub const MAX_FORM_PARTS: usize = 128;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The form: text fields (from the query string, then the body) and files by field name.
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: BTreeMap<String, Vec<u8>>,
    /// The share of the upload budget this form's bytes hold until it is dropped.
    _held: Reservation,
}

impl Form {
    /// Removes and returns the first field called `name`.
    pub fn take_field(&mut self, name: &str) -> Option<String> {
        let index = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(index).1)
    }

    /// The text fields as string pairs.
    pub fn field_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// How many bytes all request bodies being read or worked on may hold at once
/// (`STYLEMARK_MAX_UPLOAD_BYTES`); an upload that would pass it is answered 503.
#[derive(Clone)]
pub struct UploadBudget {
    permits: Arc<Semaphore>,
}

impl UploadBudget {
    /// A budget of `bytes` (at most what a semaphore counts).
    pub fn new(bytes: u64) -> Self {
        let bytes = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        UploadBudget {
            permits: Arc::new(Semaphore::new(bytes)),
        }
    }
}

/// Bytes of the upload budget held by one request.
#[derive(Default)]
struct Reservation(Option<OwnedSemaphorePermit>);

/// An upload refused because the budget is spent.
#[derive(Debug)]
struct BudgetSpent;

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the uploads in flight fill the server's upload budget")
    }
}

impl std::error::Error for BudgetSpent {}

impl Reservation {
    fn grow(&mut self, budget: &UploadBudget, bytes: usize) -> Result<(), BudgetSpent> {
        let bytes = u32::try_from(bytes).map_err(|_| BudgetSpent)?;
        let more = budget
            .permits
            .clone()
            .try_acquire_many_owned(bytes)
            .map_err(|_| BudgetSpent)?;
        match &mut self.0 {
            Some(held) => held.merge(more),
            None => self.0 = Some(more),
        }
        Ok(())
    }
}

/// The boundary from a `Content-Type: multipart/form-data; boundary=...` header, or why
/// the header does not announce a form (answered 415).
pub fn boundary(content_type: Option<&str>) -> Result<String, String> {
    let content_type =
        content_type.ok_or("the request has no Content-Type; send multipart/form-data")?;
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!(
            "the body is `{kind}`; send multipart/form-data (an HTML form with enctype=\"multipart/form-data\", or curl -F)"
        ));
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| "the multipart Content-Type has no valid boundary".to_string())
}

/// Reads the form from `body`: the `query` pairs first, then the body's fields and files.
/// At most `max_body_bytes` in all, [`MAX_FORM_PARTS`] parts, and the bytes are charged
/// to `budget` as they arrive.
pub async fn read(
    body: &mut Incoming,
    boundary: String,
    query: Vec<(String, String)>,
    max_body_bytes: u64,
    budget: &UploadBudget,
) -> Result<Form, Problem> {
    if query.len() > MAX_FORM_PARTS {
        return Err(too_many_parts());
    }
    let held = std::sync::Mutex::new(Reservation::default());
    let mut form_fields = query;
    let mut files = BTreeMap::new();
    {
        let upload = Upload {
            chunks: body.into_data_stream(),
            pending: BytesMut::new(),
            opening: format!("--{boundary}").into_bytes(),
            checked_opening: false,
            held: &held,
            budget,
        };
        let charged = futures_util::stream::unfold(upload, |mut upload| async move {
            let piece = upload.next_piece().await?;
            Some((piece, upload))
        });
        let limits = multer::SizeLimit::new()
            .whole_stream(max_body_bytes)
            .per_field(max_body_bytes);
        let mut multipart = multer::Multipart::with_constraints(
            charged,
            boundary,
            multer::Constraints::new().size_limit(limits),
        );
        let mut parts = form_fields.len();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => return Err(problem(error)),
            };
            parts += 1;
            if parts > MAX_FORM_PARTS {
                return Err(Problem::new(
                    400,
                    "bad_form",
                    format!(
                        "the form has more than {MAX_FORM_PARTS} parts; a function takes at most {MAX_FORM_PARTS}"
                    ),
                ));
            }
            let name = field
                .name()
                .ok_or_else(|| {
                    Problem::new(400, "bad_form", "a part's Content-Disposition has no name")
                })?
                .to_string();
            let is_file = field.file_name().is_some();
            let data = field.bytes().await.map_err(problem)?;
            if is_file {
                if data.is_empty() {
                    continue; // a file input left empty
                }
                if files.insert(name.clone(), Vec::from(data)).is_some() {
                    return Err(Problem::new(
                        400,
                        "bad_form",
                        format!("the file `{name}` is given twice"),
                    )
                    .field(name));
                }
            } else {
                let value = String::from_utf8(Vec::from(data)).map_err(|_| {
                    Problem::new(
                        400,
                        "bad_form",
                        format!("the field `{name}` is not UTF-8 text"),
                    )
                    .field(name.clone())
                })?;
                form_fields.push((name, value));
            }
        }
    }
    Ok(Form {
        fields: form_fields,
        files,
        _held: held.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}

fn too_many_parts() -> Problem {
    Problem::new(
        400,
        "bad_form",
        format!(
            "the form (query string included) has more than {MAX_FORM_PARTS} parts; a function takes at most {MAX_FORM_PARTS}"
        ),
    )
}

/// Bytes handed to multer at a time (the last piece may be shorter). multer searches its
/// whole buffer again each time it is handed more while it looks for a boundary or the
/// end of a part's headers, so a client trickling many tiny segments would make that
/// quadratic; whole pieces keep it to a few hundred searches for the largest body.
const PIECE_BYTES: usize = 64 * 1024;

/// The body as multer reads it: charged to the upload budget, in whole pieces, and
/// refused at once unless it starts with its boundary (RFC 7578 clients send no preamble,
/// and a body without a boundary would otherwise be searched to its end).
struct Upload<'a> {
    chunks: http_body_util::BodyDataStream<&'a mut Incoming>,
    pending: BytesMut,
    opening: Vec<u8>,
    checked_opening: bool,
    held: &'a std::sync::Mutex<Reservation>,
    budget: &'a UploadBudget,
}

impl Upload<'_> {
    async fn next_piece(&mut self) -> Option<Result<Bytes, BoxError>> {
        loop {
            match self.chunks.next().await {
                Some(Ok(chunk)) => {
                    let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(spent) = held.grow(self.budget, chunk.len()) {
                        return Some(Err(Box::new(spent)));
                    }
                    drop(held);
                    self.pending.extend_from_slice(&chunk);
                    if let Err(e) = self.check_opening(false) {
                        return Some(Err(e));
                    }
                    if self.pending.len() >= PIECE_BYTES {
                        return Some(Ok(self.pending.split().freeze()));
                    }
                }
                Some(Err(e)) => return Some(Err(Box::new(e))),
                None => {
                    if let Err(e) = self.check_opening(true) {
                        return Some(Err(e));
                    }
                    return (!self.pending.is_empty()).then(|| Ok(self.pending.split().freeze()));
                }
            }
        }
    }

    /// Once enough has arrived (or the body ended), checks it opens with `--boundary`,
    /// allowing one leading line end.
    fn check_opening(&mut self, ended: bool) -> Result<(), BoxError> {
        if self.checked_opening {
            return Ok(());
        }
        let body = &self.pending[..];
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        if body.len() < self.opening.len() && !ended {
            return Ok(()); // not enough yet
        }
        if !body.starts_with(&self.opening) {
            return Err(Box::new(NoOpening));
        }
        self.checked_opening = true;
        Ok(())
    }
}

/// A body that does not start with its boundary.
#[derive(Debug)]
struct NoOpening;

impl std::fmt::Display for NoOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the body does not start with the boundary its Content-Type names (or is empty); send multipart/form-data")
    }
}

impl std::error::Error for NoOpening {}

/// The answer for a form multer could not read.
fn problem(error: multer::Error) -> Problem {
    use multer::Error as E;
    match error {
        E::FieldSizeExceeded { limit, .. } | E::StreamSizeExceeded { limit } => Problem::new(
            413,
            "body_too_large",
            format!(
                "the body is over {limit} bytes, the most this function takes (STYLEMARK_MAX_BODY_BYTES)"
            ),
        ),
        E::StreamReadFailed(cause) if cause.is::<BudgetSpent>() => {
            Problem::new(503, "busy", format!("{cause}; retry")).retry_after(1)
        }
        E::StreamReadFailed(cause) if cause.is::<NoOpening>() => {
            Problem::new(400, "bad_form", cause.to_string())
        }
        E::StreamReadFailed(cause) => Problem::new(
            400,
            "body_incomplete",
            format!("the body did not arrive in full: {cause}"),
        ),
        E::IncompleteStream | E::IncompleteFieldData { .. } => Problem::new(
            400,
            "bad_form",
            "the body ends inside a part (no closing boundary)",
        ),
        other => Problem::new(400, "bad_form", format!("the form is malformed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        assert_eq!(
            boundary(Some("multipart/form-data; boundary=\"a b\"")).unwrap(),
            "a b"
        );
        assert!(
            boundary(Some("application/json"))
                .unwrap_err()
                .contains("multipart")
        );
        assert!(boundary(None).is_err());
        assert!(boundary(Some("multipart/form-data")).is_err());
    }

    #[test]
    fn the_upload_budget_is_shared_and_given_back() {
        let budget = UploadBudget::new(1000);
        let in_use = |budget: &UploadBudget| 1000 - budget.permits.available_permits();
        let mut first = Reservation::default();
        first.grow(&budget, 600).unwrap();
        first.grow(&budget, 300).unwrap();
        assert_eq!(in_use(&budget), 900);
        let mut second = Reservation::default();
        assert!(second.grow(&budget, 200).is_err(), "past the budget");
        drop(first);
        assert_eq!(in_use(&budget), 0);
        second.grow(&budget, 200).unwrap();
        assert_eq!(in_use(&budget), 200);
    }
}
