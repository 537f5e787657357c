//! The web page, built into the binary: plain HTML, CSS and JavaScript, no build step.

use crate::http::Response;

const INDEX_HTML: &str = include_str!("../page/index.html");
const APP_JS: &str = include_str!("../page/app.js");
const STYLE_CSS: &str = include_str!("../page/style.css");

/// The page's file at `path`, if there is one.
pub fn asset(path: &str) -> Option<Response> {
    let (body, content_type) = match path {
        "/" | "/index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "/style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    Some(
        Response::new(200, content_type, body.as_bytes().to_vec())
            .header("Cache-Control", "no-cache")
            .header("X-Content-Type-Options", "nosniff"),
    )
}
