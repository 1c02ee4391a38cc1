//! The admin HTTP API of Contacto Ciudadano, served on the internal port (never the webhook
//! port) under `/admin/`, described by `admin/openapi.yaml`.
//!
//! Every route of every module sits behind one bearer token (`admin.token`, compared in
//! constant time; 401 without it or with a wrong one), one request size limit, and one error
//! shape: `{"error": {"codigo": "…", "mensaje": "…"}}` with the message in Spanish, for the
//! people and the console that read it. A module is a function returning its routes
//! (`conectate::routes`); the binary mounts the modules it runs with [`AdminApi::mount`] and
//! serves [`AdminApi::router`] beside the responder's health and metrics.
//!
//! # Layout
//! - [`auth`]: the bearer-token check.
//! - [`error`]: [`ApiError`] and the JSON body extractor whose rejections speak Spanish.
//! - [`conectate`]: contents, canary, schedule, cancel, delivery reports, the consent ledger
//!   export, the sender's state.

pub mod auth;
pub mod conectate;
pub mod error;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use error::ApiError;

/// The largest request body accepted (contents are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// The admin API being put together.
pub struct AdminApi {
    token: Arc<str>,
    routes: Router,
}

impl AdminApi {
    /// An API that answers only requests carrying `token`.
    pub fn new(token: &str) -> AdminApi {
        AdminApi { token: Arc::from(token), routes: Router::new() }
    }

    /// Adds a module's routes; their paths are relative to `/admin`.
    pub fn mount(mut self, routes: Router) -> AdminApi {
        self.routes = self.routes.merge(routes);
        self
    }

    /// Every mounted route under `/admin`, behind the token, the size limit and the error shape.
    pub fn router(self) -> Router {
        let inner = self
            .routes
            .fallback(|| async {
                ApiError::not_found("ruta_desconocida", "no existe esa ruta de la API de administración")
            })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn_with_state(self.token, auth::require_token));
        Router::new().nest("/admin", inner)
    }
}
