//! The programme's figures as open data, served with no token on the responder's **public**
//! port (the binary mounts [`OpenData::router`] there with `Responder::with_public_routes`):
//!
//! - `GET /datos/reporte.csv` and `GET /datos/reporte.json`: interactions per day and per
//!   topic, the total, unique users per month, Conéctate subscribers at the end of each day,
//!   contents and messages sent per day ([`figures`]);
//! - `GET /datos/`: a page in Spanish with a chart of the same figures, the links to the files
//!   and how each figure is counted ([`page`]).
//!
//! `desde` and `hasta` (`AAAA-MM-DD`) choose the days, by default the last
//! [`DEFAULT_DAYS`] up to today in the programme's time zone, at most [`MAX_DAYS`]. The figures
//! come from the same computation as the admin report ([`crate::report::count`]): the day
//! counters and HyperLogLogs, the consent ledger's quarter-hour counts and the contents' delivery counts,
//! never what citizens wrote; they are computed at most once per range every
//! `open_data.max_age_secs` and served with a strong `ETag` (304 to `If-None-Match`) and
//! `Cache-Control: public`.
//!
//! # Layout
//! - [`figures`]: the figures as published (small counts masked), JSON and CSV.
//! - [`page`]: the HTML page and its SVG chart.

pub mod figures;
pub mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Unit};
use schemas::es_mx;
use settings::Settings;
use sha2::{Digest, Sha256};
use store::SharedStore;

use crate::error::{ApiError, Params};
use crate::report::{ReportError, count, parse_date};
use figures::{Figures, Masking};

/// Days shown when `desde` is not given: the last 90, today included.
pub const DEFAULT_DAYS: i64 = 90;
/// The longest range served (two years and a day), which keeps a request cheap.
pub const MAX_DAYS: i64 = 731;
/// Ranges whose figures are kept in memory at once.
const CACHED_RANGES: usize = 64;

/// What the page may load: its own stylesheet, nothing else, no script at all.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The page's stylesheet.
const STYLESHEET: &str = include_str!("open_data/datos.css");

/// The open-data routes, ready to build.
#[derive(Clone)]
pub struct OpenData {
    store: SharedStore,
    timezone: TimeZone,
    masking: Masking,
    max_age: Duration,
    cache: Arc<Mutex<Cache>>,
}

/// The figures of each range asked for lately (`desde`, `hasta`), with when they were read.
type Cache = HashMap<(Date, Date), (Instant, Arc<Figures>)>;

impl OpenData {
    /// The open data of the store, as `settings` (`open_data`, `timezone`) say.
    pub fn from_settings(settings: &Settings, store: SharedStore) -> OpenData {
        let o = &settings.open_data;
        OpenData {
            store,
            timezone: TimeZone::get(&settings.timezone).unwrap_or(TimeZone::UTC),
            masking: Masking { min_count: o.min_count, publish_small_counts: o.publish_small_counts },
            max_age: Duration::from_secs(o.max_age_secs),
            cache: Arc::default(),
        }
    }

    /// `/datos/`, its stylesheet and the two files.
    pub fn router(self) -> Router {
        Router::new()
            .route("/datos", get(|| async { axum::response::Redirect::permanent("/datos/") }))
            .route("/datos/", get(html))
            .route("/datos/reporte.csv", get(csv))
            .route("/datos/reporte.json", get(json))
            .route("/datos/datos.css", get(stylesheet))
            .with_state(self)
    }

    /// The days `params` ask for, or a 400 naming the parameter.
    fn range(&self, params: Params) -> Result<(Date, Date), ApiError> {
        let params = params.only(&["desde", "hasta"])?;
        let date = |name: &'static str| {
            params.text(name).map(|text| parse_date(text).map_err(|message| ApiError::bad_parameter(name, message)))
        };
        let today = self.timezone.to_datetime(Timestamp::now()).date();
        let to = date("hasta").transpose()?.unwrap_or(today);
        let from = match date("desde").transpose()? {
            Some(from) => from,
            None => to.checked_sub((DEFAULT_DAYS - 1).days()).map_err(|_| {
                ApiError::bad_parameter("hasta", format!("{to} está demasiado cerca del inicio del calendario"))
            })?,
        };
        if to < from {
            return Err(ApiError::bad_parameter("hasta", format!("{to} es anterior a `desde` ({from})")));
        }
        let days = from.until((Unit::Day, to)).map(|span| i64::from(span.get_days()) + 1).unwrap_or(i64::MAX);
        if days > MAX_DAYS {
            return Err(ApiError::bad_parameter(
                "hasta",
                format!(
                    "el periodo tiene {} días y el máximo es {}; pide menos días",
                    es_mx::integer(days),
                    es_mx::integer(MAX_DAYS)
                ),
            ));
        }
        Ok((from, to))
    }

    /// The figures of the range asked for, from the cache while they are fresh.
    async fn figures(&self, params: Params) -> Result<Arc<Figures>, ApiError> {
        let range = self.range(params)?;
        let cached = self.cache.lock().expect("cache lock").get(&range).cloned();
        if let Some((at, figures)) = cached
            && at.elapsed() < self.max_age
        {
            return Ok(figures);
        }
        let store = &*self.store;
        let counted = count(store, range.0, range.1, &self.timezone).await.map_err(|e| match e {
            ReportError::Range { message, .. } => ApiError::bad_parameter("hasta", message),
            ReportError::Store(error) => ApiError::store(error),
            ReportError::Conectate(error) => error.into(),
        })?;
        let figures = Arc::new(Figures::new(store, &counted, self.masking).await?);
        let mut cache = self.cache.lock().expect("cache lock");
        cache.retain(|_, (at, _)| at.elapsed() < self.max_age);
        if cache.len() >= CACHED_RANGES {
            cache.clear();
        }
        cache.insert(range, (Instant::now(), figures.clone()));
        Ok(figures)
    }

    /// `body` with its strong `ETag` and `Cache-Control`, or 304 when the client's copy
    /// (`If-None-Match`) is this one.
    fn cacheable(&self, request: &HeaderMap, content_type: &'static str, body: String) -> Response {
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(body.as_bytes()))[..32]);
        let fresh = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|tags| {
            tags.split(',').map(str::trim).any(|t| t == etag || t == "*" || t.strip_prefix("W/") == Some(etag.as_str()))
        });
        let cache_control = format!("public, max-age={}", self.max_age.as_secs());
        let headers = [
            (header::ETAG, HeaderValue::from_str(&etag).expect("a hex etag")),
            (header::CACHE_CONTROL, HeaderValue::from_str(&cache_control).expect("ASCII")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ];
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (headers, [(header::CONTENT_TYPE, content_type)], body).into_response()
    }
}

async fn json(State(data): State<OpenData>, request: HeaderMap, params: Params) -> Result<Response, ApiError> {
    let figures = data.figures(params).await?;
    let body = serde_json::to_string(&*figures).expect("figures serialise");
    Ok(data.cacheable(&request, "application/json", body))
}

async fn csv(State(data): State<OpenData>, request: HeaderMap, params: Params) -> Result<Response, ApiError> {
    let figures = data.figures(params).await?;
    let mut response = data.cacheable(&request, "text/csv; charset=utf-8", figures.csv());
    let disposition = format!("attachment; filename=\"reporte_{}_{}.csv\"", figures.desde, figures.hasta);
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ASCII dates"));
    Ok(response)
}

/// The page; a bad parameter is shown on a page of its own, in Spanish, with status 400.
async fn html(State(data): State<OpenData>, request: HeaderMap, params: Params) -> Response {
    let mut response = match data.figures(params).await {
        Ok(figures) => data.cacheable(&request, "text/html; charset=utf-8", page::render(&figures)),
        Err(error) => (error.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page::error(&error.message))
            .into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    response
}

async fn stylesheet(State(data): State<OpenData>, request: HeaderMap) -> Response {
    data.cacheable(&request, "text/css; charset=utf-8", STYLESHEET.to_owned())
}
