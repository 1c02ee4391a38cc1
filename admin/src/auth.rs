//! The bearer token every admin request must carry (`Authorization: Bearer …`), compared in
//! constant time so its value cannot be guessed from response times.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// Whether `given` is the admin token, compared in constant time (the CLI uses it too).
pub fn token_matches(given: &[u8], token: &str) -> bool {
    !token.is_empty() && bool::from(given.ct_eq(token.as_bytes()))
}

/// Whether `header` (an `Authorization` value) carries `token`.
pub fn authorized(header: Option<&[u8]>, token: &str) -> bool {
    header.and_then(|h| h.strip_prefix(b"Bearer ")).is_some_and(|given| token_matches(given, token))
}

/// Lets the request through only with the token; 401 otherwise, with nothing processed.
pub async fn require_token(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if authorized(header, &token) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "Refused an admin request without a valid token.");
    let mut response = ApiError::unauthorized().into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(authorized(Some(b"Bearer s3cr3t"), "s3cr3t"));
        for header in
            [None, Some(&b"s3cr3t"[..]), Some(b"Bearer s3cr3"), Some(b"Bearer s3cr3tt"), Some(b"Basic s3cr3t")]
        {
            assert!(!authorized(header, "s3cr3t"), "{header:?}");
        }
        assert!(!authorized(Some(b"Bearer "), ""), "an empty token never passes");
    }
}
