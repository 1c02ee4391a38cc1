//! The web console of Contacto Ciudadano, for ops and the communications team, in Spanish.
//!
//! It is served by the binary itself on the internal port at `/console/`, beside `/admin`,
//! `/health` and `/metrics`. Its pages are plain HTML, CSS and JavaScript modules written by
//! hand and compiled into the binary (no Node build step, nothing fetched from the internet):
//! a person logs in with the admin token, which the page keeps in `sessionStorage` and sends
//! as the bearer token of every admin API call. A 401 sends them back to the login page.
//!
//! The pages: ingest runs and source health (with forcing a quarantined dataset), the
//! interactions chart and the programme report (interactions by topic as the published
//! catalogue names them; CSV download), snapshot versions with their
//! diff and rollback, and Conéctate (compose, canary, schedule, cancel, the delivery report
//! updating while it sends, the sender's state), and «Sin entender» (what citizens wrote that
//! the bot did not understand, and the change to the menu file that gives a phrase a topic). Times are shown on the calendar of
//! `timezone` (Mexico City) and numbers and dates in es-MX (1,248; 27 de mayo de
//! 2020).
//!
//! # Layout
//! - [`router`]: the console's routes; [`with_admin`]: the console beside the admin API, as
//!   the binary mounts them.
//! - [`assets`]: the embedded files, their types and validators.
//! - [`headers`]: the security headers every answer carries.
//! - `assets/`: the pages themselves (`index.html`, `consola.css`, `js/*.js`).

pub mod assets;
pub mod headers;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Where the console is served.
pub const PATH: &str = "/console/";

/// The console's routes: `/console/` and its assets, with the security headers. `timezone` is
/// the IANA zone people read times in (`timezone`).
pub fn router(timezone: &str) -> Router {
    let files = assets::Assets::new(timezone);
    let index = files.clone();
    Router::new()
        .route("/console", get(|| async { Redirect::permanent(PATH) }))
        .route("/console/", get(move |request: Request| async move { index.index(request.headers()) }))
        .route(
            "/console/{*file}",
            get(move |Path(file): Path<String>, request: Request| async move { files.get(&file, request.headers()) }),
        )
        .layer(axum::middleware::map_response(headers::console))
}

/// The admin API (`admin`, already behind its token) and the console, as the binary serves
/// them on the internal port. The API's answers are marked `no-store`: they hold what only the
/// token may read, and must not stay in a browser's or a proxy's cache.
pub fn with_admin(admin: Router, timezone: &str) -> Router {
    admin.layer(axum::middleware::map_response(headers::no_store)).merge(router(timezone))
}

/// A plain-text 404 in Spanish for a file the console does not have.
fn not_found() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "No existe ese archivo de la consola.",
    )
        .into_response()
}
