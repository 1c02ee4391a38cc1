//! The security headers of the console and of the admin API it calls.
//!
//! The page holds the admin token, so it runs only its own scripts (no inline script, no other
//! origin), cannot be framed, sends no referrer, and is never stored by a cache; forms cannot
//! be submitted by the browser itself (the scripts send them), so a token typed into a page
//! whose scripts failed never ends up in a URL.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// What the page may load: its own files and the admin API, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers every console answer carries.
const ALWAYS: [(HeaderName, &str); 6] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()"),
];

/// Adds the console's headers: the page (HTML) is `no-store`; scripts and styles are
/// revalidated on each load (`no-cache` with their `ETag`), so an upgrade shows at once.
pub async fn console(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html") || t.as_bytes().starts_with(b"text/plain"));
    let headers = response.headers_mut();
    for (name, value) in ALWAYS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let cache = if html { "no-store" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Marks an admin API answer `no-store` (unless it says otherwise) and `nosniff`.
pub async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
