//! The admin HTTP API of Contacto Ciudadano, served on the internal port (never the webhook
//! port) under `/admin/`, described by `admin/openapi.yaml`; and, apart from it, the
//! programme's figures as open data ([`open_data`]), which need no token and which the binary
//! serves on the public port.
//!
//! Every route of every module sits behind one bearer token (`admin.token`, compared in
//! constant time; 401 without it or with a wrong one), one request size limit, and one error
//! shape: `{"error": {"codigo": "…", "mensaje": "…", "campo": "…"}}` with the message in
//! Spanish, for the people and the console that read it. A module is a function returning its
//! [`Routes`] (`conectate::routes`, `runs::routes`, …); the binary mounts the modules it runs
//! with [`AdminApi::mount`] and serves [`AdminApi::router`] beside health and metrics.
//! [`AdminApi::endpoints`] lists every route mounted, which a test compares with the OpenAPI
//! file both ways.
//!
//! # Layout
//! - [`auth`]: the bearer-token check.
//! - [`error`]: [`ApiError`], the JSON body extractor and the query parameters ([`error::Params`])
//!   whose rejections speak Spanish and name the field.
//! - [`conectate`]: contents, canary, schedule, cancel, delivery reports, the consent ledger
//!   export, the sender's state.
//! - [`runs`]: the ingest run log, filtered by source and result.
//! - [`sources`]: each configured source's health, the stale answers and why, forcing a
//!   quarantined dataset.
//! - [`snapshots`]: the kept versions, what changed between two, rollback, and the audit trail
//!   (which version citizens read at a given moment, who moved it).
//! - [`bot`]: «Probar el bot», what the bot answers to a message, from the current answers,
//!   with nothing written.
//! - [`report`]: the programme report (interactions, users, subscribers, contents sent) for any
//!   date range, as data, JSON, CSV and the text `contacto report` prints.
//! - [`unmatched`]: «Sin entender», the phrases the bot did not understand that enough
//!   citizens wrote, and the change to the menu file that gives one a topic.
//! - [`open_data`]: the same figures, per day, topic and month, with small counts masked, as
//!   public files and a page at `/datos/` (no token; not part of [`AdminApi`]).

pub mod auth;
pub mod bot;
pub mod conectate;
pub mod error;
pub mod open_data;
pub mod report;
pub mod runs;
pub mod snapshots;
pub mod sources;
pub mod unmatched;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};
use ingest::Ingest;
use jiff::tz::TimeZone;
use schemas::SourceName;
use settings::{Settings, SourceSettings};
use store::SharedStore;

pub use error::ApiError;

/// The largest request body accepted (contents are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// One route: its method and its path relative to `/admin`, as in `openapi.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
}

/// A module's routes, and the list of them; built with [`Routes::get`] and [`Routes::post`]
/// so that the list is the router's own.
pub struct Routes<S = ()> {
    router: Router<S>,
    endpoints: Vec<Endpoint>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes { router: Router::new(), endpoints: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("GET", path, get(handler))
    }

    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("POST", path, post(handler))
    }

    fn add(mut self, method: &'static str, path: &'static str, route: MethodRouter<S>) -> Self {
        // Axum merges the methods of one path.
        self.router = self.router.route(path, route);
        self.endpoints.push(Endpoint { method, path });
        self
    }

    /// The routes with their state, ready to mount.
    pub fn with_state(self, state: S) -> Routes {
        Routes { router: self.router.with_state(state), endpoints: self.endpoints }
    }
}

/// What the ops modules share: the store, the configured sources and the way to run them, and
/// the time zones times and days are read in.
#[derive(Clone)]
pub struct Ops {
    pub store: SharedStore,
    pub ingest: Arc<Ingest>,
    pub sources: Arc<BTreeMap<SourceName, SourceSettings>>,
    /// The programme's time zone (`timezone`): run times, staleness and the report's days.
    pub timezone: TimeZone,
    /// What «Sin entender» shows, and the menu file its keyword changes are to.
    pub unmatched: unmatched::UnmatchedView,
}

impl Ops {
    /// The ops context of a process configured by `settings`.
    pub fn from_settings(settings: &Settings, store: SharedStore) -> Result<Ops, ingest::ConfigError> {
        // A forced publish may prepare a Conéctate draft, as it does from the command line.
        let drafts = Arc::new(::conectate::SystemDrafts::new(store.clone()));
        let ingest = Arc::new(Ingest::from_settings(settings, store.clone())?.with_draft_sink(drafts));
        Ok(Ops {
            store,
            ingest,
            sources: Arc::new(settings.sources.clone()),
            timezone: TimeZone::get(&settings.timezone).unwrap_or(TimeZone::UTC),
            unmatched: unmatched::UnmatchedView::from_settings(settings),
        })
    }
}

/// The admin API being put together.
pub struct AdminApi {
    token: Arc<str>,
    routes: Routes,
}

impl AdminApi {
    /// An API that answers only requests carrying `token`.
    pub fn new(token: &str) -> AdminApi {
        AdminApi { token: Arc::from(token), routes: Routes::default() }
    }

    /// Adds a module's routes; their paths are relative to `/admin`.
    pub fn mount(mut self, routes: Routes) -> AdminApi {
        self.routes.router = self.routes.router.merge(routes.router);
        self.routes.endpoints.extend(routes.endpoints);
        self
    }

    /// Every module, as the binary serves them: Conéctate over `contents`, the bot tried on
    /// `mirror`, and the ops modules over `ops`.
    pub fn mount_all(
        self,
        contents: ::conectate::Contents,
        ops: Ops,
        mirror: Arc<responder::mirror::Mirror>,
    ) -> AdminApi {
        let store = ops.store.clone();
        self.mount(conectate::routes(contents, store.clone())).mount(bot::routes(store, mirror)).mount_ops(ops)
    }

    /// Every ops module ([`runs`], [`sources`], [`snapshots`], [`report`], [`unmatched`]) over `ops`.
    pub fn mount_ops(self, ops: Ops) -> AdminApi {
        self.mount(runs::routes(ops.clone()))
            .mount(unmatched::routes(ops.clone()))
            .mount(sources::routes(ops.clone()))
            .mount(snapshots::routes(ops.clone()))
            .mount(report::routes(ops))
    }

    /// Every route mounted, in order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut out = self.routes.endpoints.clone();
        out.sort();
        out
    }

    /// Every mounted route under `/admin`, behind the token, the size limit and the error shape.
    pub fn router(self) -> Router {
        let inner = self
            .routes
            .router
            .fallback(|| async {
                ApiError::not_found("ruta_desconocida", "no existe esa ruta de la API de administración")
            })
            .method_not_allowed_fallback(|method: axum::http::Method| async move {
                ApiError::new(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    "metodo_no_permitido",
                    format!("esta ruta no acepta {method}; revisa admin/openapi.yaml"),
                )
            })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn_with_state(self.token, auth::require_token));
        Router::new().nest("/admin", inner)
    }
}
