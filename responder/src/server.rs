//! The service: webhook routes on the internet-facing port, health and metrics on the internal
//! one, built over listeners and a shutdown future so tests bind `127.0.0.1:0`.
//!
//! Every route of every channel goes through `receive`: verify the signature over the raw
//! bytes (401/403, nothing processed), parse (400), hand the events to the [`Pipeline`], then
//! answer 200 (or the channel's inline reply), or 503 when the store failed so the platform
//! retries. Requests have a timeout and a concurrency limit; bodies over `max_body_bytes` are
//! answered 413 from their `Content-Length` without being read.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get};
use metrics::scrape::Scrape;
use metrics::{ChannelSeries, Metrics, WebhookOutcome};
use schemas::Answer;
use store::SharedStore;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::conectate::Subscriptions;
use crate::config::ResponderConfig;
use crate::counting::Counting;
use crate::delivery::DeliveryStatuses;
use crate::mirror::Mirror;
use crate::outbox::OutboxWorker;
use crate::pipeline::{Limits, Pipeline};
use crate::replies::Reply;
use channels::{Channel, Channels, Hook, InboundEvent, WebhookRequest};

/// The responder, built and ready to serve. Clones share everything (tests keep one to drain
/// the outbox and flush counters while another serves).
#[derive(Clone)]
pub struct Responder {
    state: Arc<AppState>,
    worker: OutboxWorker,
    config: ResponderConfig,
    /// Stops the background tasks (snapshot mirror, counters) once the servers are done.
    background: Arc<watch::Sender<bool>>,
    /// Routes other crates serve on the internal port (the admin API), mounted by the binary.
    internal_routes: Router,
    /// Routes other crates serve on the public port beside the webhooks (the open data),
    /// mounted by the binary; the webhooks' limits do not apply to them.
    public_routes: Router,
}

struct AppState {
    channels: Channels,
    pipeline: Pipeline,
    mirror: Arc<Mirror>,
    counting: Counting,
    metrics: Arc<Metrics>,
    scrape: Arc<Scrape>,
    store: SharedStore,
    /// Webhooks being handled. Each runs as a task of its own, so it is handled to the end even
    /// when its request goes away (the platform gave up waiting and will retry, or the request
    /// timed out): otherwise a message could be answered but never counted, or leave a lease
    /// that holds its retry back. Shutdown waits for them.
    handling: TaskTracker,
    /// One per webhook being handled, held by its task: a store that stalls cannot gather
    /// more handlings than `responder.max_concurrent_requests`, however often the platform
    /// gives up and retries.
    handling_permits: Arc<Semaphore>,
}

impl Responder {
    /// Builds the channels, loads the current snapshot (if any) and starts following the
    /// store's announcements and flushing counters, with metrics of its own.
    pub async fn build(config: ResponderConfig, store: SharedStore) -> Responder {
        Responder::build_with_metrics(config, store, Arc::new(Metrics::new())).await
    }

    /// [`Responder::build`], recording into `metrics` (shared with the other parts of the
    /// process).
    pub async fn build_with_metrics(config: ResponderConfig, store: SharedStore, metrics: Arc<Metrics>) -> Responder {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(config.outbox.concurrency)
            .build()
            .expect("a default HTTP client builds");
        let channels = Channels::from_config(&config.channels, &http);
        Responder::build_with_channels(config, store, metrics, channels).await
    }

    /// [`Responder::build_with_metrics`] over `channels` instead of those `config` names: the
    /// configured ones plus a platform registered elsewhere ([`Channels::with`]).
    pub async fn build_with_channels(
        config: ResponderConfig,
        store: SharedStore,
        metrics: Arc<Metrics>,
        channels: Channels,
    ) -> Responder {
        let mirror = Arc::new(Mirror::default());
        if let Err(error) = mirror.refresh(&store).await {
            tracing::warn!(%error, "Cannot read the current snapshot yet; answering that the service is getting ready.");
        }
        let (background, stop) = watch::channel(false);
        tokio::spawn(mirror.clone().follow(store.clone(), config.snapshot_poll, stop.clone()));
        let counting =
            Counting::start(store.clone(), config.timezone.clone(), config.counters_flush, config.unmatched_keep, stop);
        tokio::spawn(follow_answering_version(mirror.loaded(), metrics.clone()));
        let pipeline = Pipeline::new(
            store.clone(),
            config.hasher.clone(),
            mirror.clone(),
            counting.clone(),
            Subscriptions::new(store.clone(), config.consent_text_version.clone()),
            DeliveryStatuses::new(metrics.clone(), store.clone(), channels.clone(), config.delivery.clone()),
            metrics.clone(),
            Limits {
                flood_per_minute: config.flood_per_minute,
                session_ttl: config.session_ttl,
                dedupe_ttl: config.dedupe_ttl,
                lease: config.request_timeout * 3,
                // Longer than a dead worker's replies take to be re-claimed, so a re-claimed
                // reply still holds its citizen's turn and goes first.
                turn_lease: config.outbox.reclaim_idle * 2,
            },
        );
        let consumer = format!("responder-{}-{:08x}", std::process::id(), rand::random::<u32>());
        let worker = OutboxWorker::new(
            store.clone(),
            channels.clone(),
            mirror.clone(),
            metrics.clone(),
            config.outbox.clone(),
            consumer,
        );
        let scrape = Arc::new(Scrape::new(metrics.clone(), store.clone(), config.timezone.clone()));
        let state = Arc::new(AppState {
            channels,
            pipeline,
            mirror,
            counting,
            metrics,
            scrape,
            store,
            handling: TaskTracker::new(),
            handling_permits: Arc::new(Semaphore::new(config.max_concurrent_requests)),
        });
        Responder {
            state,
            worker,
            config,
            background: Arc::new(background),
            internal_routes: Router::new(),
            public_routes: Router::new(),
        }
    }

    /// Serves `routes` on the internal port beside `/health` and `/metrics` (the admin API).
    pub fn with_internal_routes(mut self, routes: Router) -> Responder {
        self.internal_routes = self.internal_routes.merge(routes);
        self
    }

    /// Serves `routes` on the public port beside the webhooks (the open data).
    pub fn with_public_routes(mut self, routes: Router) -> Responder {
        self.public_routes = self.public_routes.merge(routes);
        self
    }

    /// The internet-facing routes: every channel's webhooks, and the public routes mounted.
    pub fn app(&self) -> Router {
        let mut routes: Vec<(&'static str, MethodRouter)> = Vec::new();
        for channel in self.state.channels.iter() {
            let series = self.state.metrics.channel(channel.kind());
            for spec in channel.routes() {
                let filter = MethodFilter::try_from(spec.method.clone()).expect("channels use standard methods");
                let handler = route_handler(self.state.clone(), channel.clone(), series.clone(), spec.hook, filter);
                match routes.iter_mut().find(|(path, _)| *path == spec.path) {
                    Some((_, methods)) => *methods = std::mem::take(methods).merge(handler),
                    None => routes.push((spec.path, handler)),
                }
            }
        }
        let router = routes.into_iter().fold(Router::new(), |router, (path, methods)| router.route(path, methods));
        router
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, self.config.request_timeout))
            .layer(ConcurrencyLimitLayer::new(self.config.max_concurrent_requests))
            .layer(DefaultBodyLimit::disable())
            .layer(RequestBodyLimitLayer::new(self.config.max_body_bytes))
            .merge(self.public_routes.clone())
    }

    /// The internal routes: `/health` and `/metrics`.
    pub fn internal_app(&self) -> Router {
        let health = self.state.clone();
        Router::new()
            .route("/health", get(move || health_check(health.clone())))
            .merge(metrics::scrape::routes(self.state.scrape.clone()))
            .merge(self.internal_routes.clone())
    }

    /// A worker on this process's outbox consumer.
    pub fn outbox_worker(&self) -> OutboxWorker {
        self.worker.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    pub fn mirror(&self) -> Arc<Mirror> {
        self.state.mirror.clone()
    }

    /// Writes the counters gathered so far.
    pub async fn flush_counters(&self) {
        self.state.counting.flush().await;
    }

    /// Serves both ports and runs the outbox worker until `shutdown` completes, then stops in
    /// order: no new requests, the requests in flight finish, the sends in flight finish, the
    /// counters are written.
    pub async fn run(
        self,
        public: TcpListener,
        internal: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_worker, worker_stop) = watch::channel(false);
        let worker = tokio::spawn(self.worker.clone().run(worker_stop));
        let served = self.serve(public, internal, shutdown).await;
        let _ = stop_worker.send(true);
        let _ = worker.await;
        served
    }

    /// Serves both ports (without an outbox worker) until `shutdown` completes.
    pub async fn serve(
        self,
        public: TcpListener,
        internal: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let signal = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tracing::info!(
            public = %public.local_addr()?,
            internal = %internal.local_addr()?,
            channels = ?self.state.channels.iter().map(|c| c.kind().to_string()).collect::<Vec<_>>(),
            "The responder is listening."
        );
        let public = axum::serve(public, self.app()).with_graceful_shutdown(signal(stopped.clone()));
        let internal = axum::serve(internal, self.internal_app()).with_graceful_shutdown(signal(stopped));
        let (public, internal) = tokio::join!(public.into_future(), internal.into_future());
        self.state.handling.close();
        self.state.handling.wait().await;
        self.state.counting.flush().await;
        let _ = self.background.send(true);
        public.and(internal)
    }
}

fn route_handler(
    state: Arc<AppState>,
    channel: Arc<dyn Channel>,
    series: ChannelSeries,
    hook: Hook,
    filter: MethodFilter,
) -> MethodRouter {
    match hook {
        Hook::Handshake => axum::routing::on(filter, move |RawQuery(query): RawQuery| {
            let (channel, series) = (channel.clone(), series.clone());
            async move {
                match channel.handshake(query.as_deref()) {
                    Ok(challenge) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge).into_response(),
                    Err(rejection) => {
                        series.webhook(WebhookOutcome::Rejected);
                        tracing::warn!(channel = channel.kind().as_str(), %rejection, "Refused a webhook handshake.");
                        rejection.status().into_response()
                    }
                }
            }
        }),
        Hook::Events | Hook::Statuses => axum::routing::on(filter, move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            let (channel, series) = (channel.clone(), series.clone());
            async move {
                let span = tracing::debug_span!("webhook", channel = channel.kind().as_str(), bytes = body.len());
                let Ok(permit) = state.handling_permits.clone().acquire_owned().await else {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                };
                let handling = state.handling.clone();
                let task = handling.spawn(
                    async move {
                        let _held = (permit, state.metrics.webhook_in_progress());
                        receive(&state, channel.as_ref(), &series, hook, &uri, &headers, &body).await
                    }
                    .instrument(span),
                );
                task.await.unwrap_or_else(|failed| {
                    tracing::error!(error = %failed, "Handling a webhook failed unexpectedly; the platform will retry it.");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                })
            }
        }),
    }
}

/// One webhook request, from signature to response.
async fn receive(
    state: &AppState,
    channel: &dyn Channel,
    series: &ChannelSeries,
    hook: Hook,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let started = std::time::Instant::now();
    let request = WebhookRequest { uri, headers, body };
    let channel_kind = channel.kind();
    let kind = channel_kind.as_str();
    let count = |outcome| series.webhook(outcome);
    if let Err(rejection) = channel.verify(hook, &request) {
        count(WebhookOutcome::Rejected);
        tracing::warn!(channel = kind, %rejection, "Rejected a webhook; nothing of it was processed.");
        return rejection.status().into_response();
    }
    let events = match channel.parse(hook, &request) {
        Ok(events) => events,
        Err(rejection) => {
            count(WebhookOutcome::Unreadable);
            tracing::warn!(channel = kind, %rejection, "Rejected a signed webhook that cannot be read.");
            return rejection.status().into_response();
        }
    };
    // Statuses outnumber messages; only a webhook with a message to answer has a reply latency.
    let replies = events.iter().any(|e| matches!(e, InboundEvent::Message(_)));
    match state.pipeline.handle(channel, events).await {
        Ok(answers) => {
            let answers: Vec<&Answer> = answers.iter().collect();
            let response = channel.respond(&answers);
            count(WebhookOutcome::Handled);
            if replies {
                series.reply_latency(started.elapsed());
            }
            response
        }
        Err(error) if channel.replies_inline() => {
            count(WebhookOutcome::Failed);
            // Twilio does not retry: better an honest "write again" than silence.
            tracing::warn!(channel = kind, %error, "A webhook could not be handled; answered that the service is busy.");
            let not_ready = Reply::NotReady.resolve(None);
            channel.respond(&[not_ready.as_ref()])
        }
        Err(error) => {
            count(WebhookOutcome::Failed);
            tracing::warn!(channel = kind, %error, "A webhook could not be handled now; the platform will retry it.");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn health_check(state: Arc<AppState>) -> Response {
    let channels: Vec<schemas::ChannelKind> = state.channels.iter().map(|c| c.kind()).collect();
    let snapshot = state.mirror.version().map(|v| v.0);
    match state.store.current_version().await {
        Ok(_) => axum::Json(serde_json::json!({
            "status": "ok",
            "store": state.store.kind(),
            "snapshot": snapshot,
            "channels": channels,
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                serde_json::json!({"status": "unavailable", "store": state.store.kind(), "error": error.to_string()}),
            ),
        )
            .into_response(),
    }
}

/// Keeps `contacto_answering_snapshot_version` on the version the mirror answers from.
async fn follow_answering_version(
    mut loaded: watch::Receiver<Option<schemas::SnapshotVersion>>,
    metrics: Arc<Metrics>,
) {
    loop {
        if let Some(version) = *loaded.borrow_and_update() {
            metrics.answering(version.0);
        }
        if loaded.changed().await.is_err() {
            return;
        }
    }
}
