//! The Graph API stand-in of the benchmarks and the fault drills: it accepts
//! `POST /{version}/{number}/messages` with Meta's success body and records, for each
//! recipient, the first word of every reply it accepted, in order, so the press-conference
//! drill can tell lost, duplicated and out-of-order replies apart.
//!
//! It can be told to behave like the real platform under pressure:
//! - `--cap N`: at most N messages a second (a token bucket holding one second's worth); a
//!   message over the cap gets Meta's throughput error (HTTP 429, code 130429), counted as
//!   `over_cap`, so a sender that does not keep the pace shows up;
//! - `POST /fault?down=S&throttle=S&retry_after=S`: from now on, S seconds «down» (HTTP 503 with
//!   Meta's error body, code 2: «service temporarily unavailable»), then S seconds answering 429 with
//!   `Retry-After`, then normal again. In the throttled phase a 429 opens a window of
//!   `retry_after` seconds; an attempt inside that window more than half a second after it opened
//!   (so not one already in flight) is counted as `early`: the sender ignored `Retry-After`.
//!
//! `GET /count` answers the accepted messages, `GET /report` every counter as JSON, and
//! `GET /replies` one line per accepted reply, `recipient<TAB>first word`, in acceptance order.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// What the stand-in was told at start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Messages a second it accepts; `None` for no cap.
    pub cap: Option<u32>,
}

impl Options {
    /// Reads `[--cap N]`.
    pub fn parse(args: &[String]) -> Options {
        match args {
            [] => Options { cap: None },
            [flag, n] if flag == "--cap" => Options { cap: Some(n.parse().expect("--cap N")) },
            _ => panic!("bench-tools graph DIRECCIÓN [--cap N]"),
        }
    }
}

/// A fault the drill asked for, as it unfolds from `from`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
struct Fault {
    #[serde(default)]
    down: u64,
    #[serde(default)]
    throttle: u64,
    #[serde(default = "default_retry_after")]
    retry_after: u64,
}

fn default_retry_after() -> u64 {
    10
}

#[derive(Debug, Default, serde::Serialize)]
struct Counters {
    accepted: u64,
    over_cap: u64,
    down_refused: u64,
    throttled: u64,
    early: u64,
    /// The most messages accepted within one calendar second.
    max_per_second: u64,
    /// Unix milliseconds of the first and the last accepted message.
    first_accept_ms: u64,
    last_accept_ms: u64,
}

struct Recorder {
    options: Options,
    counters: Counters,
    /// The fault, and when it started.
    fault: Option<(Fault, Instant)>,
    /// When the open `Retry-After` window of the throttled phase began.
    throttle_window: Option<Instant>,
    /// The token bucket of the cap: tokens and when it was last filled.
    tokens: f64,
    filled: Instant,
    /// The calendar second being counted and how many were accepted in it.
    second: (u64, u64),
    /// `recipient<TAB>first word` of every accepted reply.
    replies: String,
}

enum Phase {
    Normal,
    Down,
    Throttled(Duration),
}

type Shared = Arc<Mutex<Recorder>>;

pub fn router(options: Options) -> Router {
    let recorder = Recorder {
        options,
        counters: Counters::default(),
        fault: None,
        throttle_window: None,
        tokens: f64::from(options.cap.unwrap_or(0)),
        filled: Instant::now(),
        second: (0, 0),
        replies: String::new(),
    };
    Router::new()
        .route("/{version}/{number}/messages", post(message))
        .route("/fault", post(fault))
        .route("/count", get(|State(r): State<Shared>| async move { r.lock().unwrap().counters.accepted.to_string() }))
        .route("/report", get(|State(r): State<Shared>| async move { axum::Json(report(&r)) }))
        .route("/replies", get(|State(r): State<Shared>| async move { r.lock().unwrap().replies.clone() }))
        .with_state(Arc::new(Mutex::new(recorder)))
}

fn report(recorder: &Shared) -> serde_json::Value {
    let r = recorder.lock().unwrap();
    let mut value = serde_json::to_value(&r.counters).expect("counters serialise");
    value["cap"] = serde_json::json!(r.options.cap);
    value
}

async fn fault(State(recorder): State<Shared>, Query(fault): Query<Fault>) -> StatusCode {
    let mut r = recorder.lock().unwrap();
    r.fault = Some((fault, Instant::now()));
    r.throttle_window = None;
    StatusCode::NO_CONTENT
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Recorder {
    fn phase(&self, now: Instant) -> Phase {
        let Some((fault, from)) = self.fault else { return Phase::Normal };
        let elapsed = now.duration_since(from).as_secs();
        if elapsed < fault.down {
            Phase::Down
        } else if elapsed < fault.down + fault.throttle {
            Phase::Throttled(Duration::from_secs(fault.retry_after))
        } else {
            Phase::Normal
        }
    }

    /// Takes one token of the cap, if there is a cap.
    fn within_cap(&mut self, now: Instant) -> bool {
        let Some(cap) = self.options.cap else { return true };
        let cap = f64::from(cap);
        self.tokens = (self.tokens + now.duration_since(self.filled).as_secs_f64() * cap).min(cap);
        self.filled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn accept(&mut self, body: &[u8]) {
        let now_ms = unix_ms();
        let c = &mut self.counters;
        c.accepted += 1;
        if c.first_accept_ms == 0 {
            c.first_accept_ms = now_ms;
        }
        c.last_accept_ms = now_ms;
        let second = now_ms / 1000;
        self.second = if self.second.0 == second { (second, self.second.1 + 1) } else { (second, 1) };
        c.max_per_second = c.max_per_second.max(self.second.1);
        let (to, first_word) = recipient_and_first_word(body);
        let _ = writeln!(self.replies, "{to}\t{first_word}");
    }
}

/// The recipient and the first word of a text reply (`interactive` for the other kinds).
fn recipient_and_first_word(body: &[u8]) -> (String, String) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return ("?".into(), "unreadable".into());
    };
    let to = value["to"].as_str().or(value["recipient"].as_str()).unwrap_or("?").to_owned();
    let word = match value["text"]["body"].as_str() {
        Some(text) => text.split_whitespace().next().unwrap_or("").to_owned(),
        None => "interactive".to_owned(),
    };
    (to, word)
}

async fn message(State(recorder): State<Shared>, body: Bytes) -> Response {
    let now = Instant::now();
    let mut r = recorder.lock().unwrap();
    match r.phase(now) {
        Phase::Down => {
            r.counters.down_refused += 1;
            return graph_error(StatusCode::SERVICE_UNAVAILABLE, 2, None);
        }
        Phase::Throttled(retry_after) => {
            r.counters.throttled += 1;
            match r.throttle_window {
                Some(opened) if now.duration_since(opened) < retry_after => {
                    if now.duration_since(opened) > Duration::from_millis(500) {
                        r.counters.early += 1;
                    }
                }
                _ => r.throttle_window = Some(now),
            }
            return graph_error(StatusCode::TOO_MANY_REQUESTS, 130_429, Some(retry_after));
        }
        Phase::Normal => {}
    }
    if !r.within_cap(now) {
        r.counters.over_cap += 1;
        return graph_error(StatusCode::TOO_MANY_REQUESTS, 130_429, None);
    }
    r.accept(&body);
    let n = r.counters.accepted;
    format!(r#"{{"messaging_product":"whatsapp","messages":[{{"id":"wamid.bench{n}"}}]}}"#).into_response()
}

/// An error in Meta's body, with `Retry-After` when given.
fn graph_error(status: StatusCode, code: u32, retry_after: Option<Duration>) -> Response {
    let mut response = testkit::graph_error(status, code);
    if let Some(after) = retry_after {
        let value = HeaderValue::from_str(&after.as_secs().to_string()).expect("digits are a header value");
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_of_a_text_reply_is_recorded_with_its_recipient() {
        let body = br#"{"messaging_product":"whatsapp","to":"524770000001","type":"text","text":{"body":"Casos confirmados en Le\u00f3n: 612."}}"#;
        assert_eq!(recipient_and_first_word(body), ("524770000001".into(), "Casos".into()));
        let interactive = br#"{"to":"524770000001","type":"interactive","interactive":{}}"#;
        assert_eq!(recipient_and_first_word(interactive).1, "interactive");
    }
}
