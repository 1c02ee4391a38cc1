//! The admin API's query parameters and JSON bodies. Every admin route needs a store, so the
//! extractors every route uses are driven directly: [`admin::error::Params`] (the query) and
//! [`admin::error::Json`] of a Conéctate [`Draft`] (the largest body), then what the routes do
//! with them first (known names, typed values, the draft's validation, a time to schedule).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{Request, header};
use conectate::Draft;

use admin::error::{Json, Params};

use crate::first_line;

/// Input: the query string (without `?`), a line break, the JSON body.
///
/// Reading never panics; every refusal is an error response with a status of 400 or more.
pub fn admin_requests(data: &[u8]) {
    let (query, body) = first_line(data);
    let Ok(query) = std::str::from_utf8(query) else { return };
    let Ok(request) = Request::builder()
        .method("POST")
        .uri(format!("/admin/conectate?{query}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let (mut parts, body) = request.into_parts();
    futures::executor::block_on(async {
        match Params::from_request_parts(&mut parts, &()).await {
            Ok(params) => {
                let _ = params.parse::<u32>("limite", "un número");
                let _ = params.parse::<jiff::civil::Date>("desde", "una fecha");
                if let Some(at) = params.text("a_las") {
                    let _ = conectate::content::parse_time(at, &jiff::tz::TimeZone::UTC);
                }
                if let Err(error) = params.only(&["limite", "desde", "a_las"]) {
                    refused(error);
                }
            }
            Err(error) => refused(error),
        }
        match Json::<Draft>::from_request(Request::from_parts(parts, body), &()).await {
            Ok(Json(draft)) => {
                if draft.validate().is_ok() {
                    let _ = draft.message_text();
                }
            }
            Err(error) => refused(error),
        }
    });
}

fn refused(error: impl axum::response::IntoResponse) {
    let status = error.into_response().status();
    assert!(status.is_client_error() || status.is_server_error(), "a refusal answered {status}");
}
