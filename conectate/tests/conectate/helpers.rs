//! `spawn_app()`: a store of its own (embedded, or the test Redis under a fresh prefix), a
//! stand-in for the Graph API that, like Meta, reports the status of each message it accepted
//! to our webhook, the responder serving that webhook on the same store, and Conéctate on top.
//! Typed helpers subscribe citizens, open their 24-hour window, broadcast a content and run
//! the sender until its report is complete.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use channels::{Channels, meta};
use conectate::{ConectateConfig, Content, Contents, Draft, Outcome, Report, Sender};
use responder::{Responder, ResponderConfig};
use schemas::{ChannelKind, PhoneNumber, UserAddress, UserKey};
use serde_json::{Value, json};
use settings::{MessagingLimit, Settings};
use store::SharedStore;
pub use testkit::meta_status as status;
use testkit::{Recorded, RecordingServer, StatusReporter, TestServer, TestStore, meta_status};

pub use testkit::{APP_SECRET, PNID, StoreKind, TWILIO_FROM, TWILIO_TOKEN, phone};
pub const TEMPLATE: &str = "aviso_conectate";
pub const CONTENT_SID: &str = "HX0123456789abcdef0123456789abcdef";

/// What a test may change.
#[derive(Clone, Debug)]
pub struct Options {
    /// No rate governor (the big broadcasts).
    pub unpaced: bool,
    pub messages_per_second: u32,
    pub concurrency: usize,
    pub staff: Vec<String>,
    pub messaging_limit: MessagingLimit,
    pub reclaim_idle_secs: u64,
    pub in_doubt_secs: u64,
    pub retry_base_ms: u64,
    /// The stand-in reports a `sent` status for every message it accepts, as Meta does.
    pub statuses: bool,
    /// MARKETING templates go through Meta's Marketing Messages API.
    pub marketing_messages: bool,
    /// Meta's category of each template, as configured.
    pub template_categories: BTreeMap<String, schemas::TemplateCategory>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            unpaced: true,
            messages_per_second: 1000,
            concurrency: 32,
            staff: Vec::new(),
            messaging_limit: MessagingLimit::Unlimited,
            reclaim_idle_secs: 3,
            in_doubt_secs: 4,
            retry_base_ms: 50,
            statuses: true,
            marketing_messages: false,
            template_categories: BTreeMap::new(),
        }
    }
}

/// How the Graph API stand-in answers one send (by its JSON body): `None` for success.
pub type Rule = Arc<dyn Fn(&Value) -> Option<Response> + Send + Sync>;

pub struct TestApp {
    pub store: SharedStore,
    pub graph: RecordingServer,
    pub twilio: RecordingServer,
    pub responder_url: String,
    pub config: Arc<ConectateConfig>,
    pub channels: Channels,
    pub contents: Contents,
    pub settings_graph_url: String,
    rule: Arc<Mutex<Option<Rule>>>,
    twilio_rule: Arc<Mutex<Option<Rule>>>,
    _store: TestStore,
    _graph_server: TestServer,
    _twilio_server: TestServer,
    _responder_stop: tokio::sync::oneshot::Sender<()>,
}

pub use testkit::fixture_snapshot;

pub fn settings(graph_url: &str, twilio_url: &str, options: &Options) -> Settings {
    let mut s = testkit::channel_settings(graph_url, twilio_url);
    s.channels.meta.messages_per_second = options.messages_per_second;
    s.channels.meta.marketing_messages = options.marketing_messages;
    let c = &mut s.conectate;
    c.staff = options.staff.clone();
    c.require_canary = false;
    c.default_template = Some(TEMPLATE.into());
    c.default_content_sid = Some(CONTENT_SID.into());
    c.template_categories = options.template_categories.clone();
    c.unpaced = options.unpaced;
    c.sender_concurrency = options.concurrency;
    c.messaging_limit = options.messaging_limit;
    c.reclaim_idle_secs = options.reclaim_idle_secs;
    c.in_doubt_secs = options.in_doubt_secs;
    c.retry_base_ms = options.retry_base_ms;
    c.retry_max_secs = 1;
    c.schedule_poll_secs = 1;
    s.validate().expect("test settings are valid");
    s
}

/// The Graph API stand-in: answers by the test's rule (success by default) and, like Meta,
/// posts a `sent` status for each accepted message to the responder, in batches.
fn graph_fake(
    rule: Arc<Mutex<Option<Rule>>>,
    statuses: Arc<Mutex<Option<StatusReporter>>>,
) -> impl Fn(&Recorded) -> Response + Send + Sync + 'static {
    let n = Arc::new(AtomicU64::new(0));
    move |r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let custom = rule.lock().unwrap().clone();
        if let Some(answer) = custom.and_then(|rule| rule(&body)) {
            return answer;
        }
        let id = format!("wamid.OUT{}", n.fetch_add(1, Ordering::SeqCst));
        if let Some(reporter) = statuses.lock().unwrap().as_ref() {
            let tag = body["biz_opaque_callback_data"].as_str();
            reporter.report(meta_status(&id, "sent", recipient(&body), tag, None));
        }
        axum::Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}],
                          "messages": [{"id": id}]}))
        .into_response()
    }
}

/// Twilio's stand-in: a message resource for each send, or the rule's error.
fn twilio_fake(rule: Arc<Mutex<Option<Rule>>>) -> impl Fn(&Recorded) -> Response + Send + Sync + 'static {
    let n = Arc::new(AtomicU64::new(0));
    move |r| {
        let form: BTreeMap<String, String> =
            form_urlencoded::parse(&r.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let body = serde_json::to_value(&form).unwrap();
        let custom = rule.lock().unwrap().clone();
        if let Some(answer) = custom.and_then(|rule| rule(&body)) {
            return answer;
        }
        let sid = format!("SM{:032x}", n.fetch_add(1, Ordering::SeqCst));
        (StatusCode::CREATED, axum::Json(json!({"sid": sid, "status": "queued"}))).into_response()
    }
}

/// Who a Graph API send went to.
pub fn recipient(body: &Value) -> &str {
    body["to"].as_str().or_else(|| body["recipient"].as_str()).unwrap_or("")
}

/// A Twilio error answer.
pub fn twilio_error(code: u32) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"code": code, "message": "failure", "status": 400}))).into_response()
}

pub async fn spawn_app(kind: StoreKind, options: Options) -> TestApp {
    spawn_app_on(kind.open().await, options).await
}

/// [`spawn_app`] on a store the test opened itself.
pub async fn spawn_app_on(test_store: TestStore, options: Options) -> TestApp {
    let store = test_store.store.clone();
    store.publish(&fixture_snapshot(), None, 5).await.expect("publish the fixture snapshot");
    let rule: Arc<Mutex<Option<Rule>>> = Arc::default();
    let twilio_rule: Arc<Mutex<Option<Rule>>> = Arc::default();
    let reporter: Arc<Mutex<Option<StatusReporter>>> = Arc::default();
    let (graph, graph_server) = RecordingServer::start(graph_fake(rule.clone(), reporter.clone())).await;
    let (twilio, twilio_server) = RecordingServer::start(twilio_fake(twilio_rule.clone())).await;
    let mut settings = settings(&graph_server.url(""), &twilio_server.url(""), &options);
    let responder_config = ResponderConfig::from_settings(&mut settings).expect("a responder configuration");
    let channels = Channels::from_config(&responder_config.channels, &reqwest::Client::new());
    let responder = Responder::build(responder_config, store.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let responder_url = format!("http://{}", public.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(responder.clone().serve(public, internal, async {
        let _ = stopped.await;
    }));
    if options.statuses {
        let sign = |body: &[u8]| (meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body));
        *reporter.lock().unwrap() =
            Some(StatusReporter::start(format!("{responder_url}/webhooks/meta"), PNID.into(), sign));
    }
    let config = Arc::new(ConectateConfig::from_settings(&mut settings).expect("a Conéctate configuration"));
    let contents = Contents::new(store.clone(), config.clone());
    TestApp {
        store,
        graph,
        twilio,
        responder_url,
        config,
        channels,
        contents,
        settings_graph_url: graph_server.url(""),
        rule,
        twilio_rule,
        _store: test_store,
        _graph_server: graph_server,
        _twilio_server: twilio_server,
        _responder_stop: stop,
    }
}

/// A Meta webhook carrying `statuses` for our number.
pub fn meta_statuses(statuses: &[Value]) -> Vec<u8> {
    testkit::meta_statuses(PNID, statuses)
}

impl TestApp {
    /// From now on the Graph API stand-in answers by `rule` (`None` from it: success).
    pub fn graph_rule(&self, rule: impl Fn(&Value) -> Option<Response> + Send + Sync + 'static) {
        *self.rule.lock().unwrap() = Some(Arc::new(rule));
    }

    pub fn twilio_rule(&self, rule: impl Fn(&Value) -> Option<Response> + Send + Sync + 'static) {
        *self.twilio_rule.lock().unwrap() = Some(Arc::new(rule));
    }

    pub fn sender(&self, consumer: &str) -> Sender {
        Sender::new(self.store.clone(), self.channels.clone(), self.config.clone(), consumer.into())
    }

    pub fn user(&self, phone: &str) -> UserKey {
        self.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse(phone).unwrap()))
    }

    /// Subscribes citizens `from..to` (on Meta unless `channel` says otherwise), as an ALTA
    /// would, many at once.
    pub async fn subscribe_range(&self, from: usize, to: usize, channel: ChannelKind) {
        let business = if channel == channels::twilio::KIND { TWILIO_FROM } else { PNID };
        testkit::subscribe_citizens(&self.store, &self.config.hasher, from..to, channel, business).await;
    }

    pub async fn subscribe(&self, n: usize) {
        self.subscribe_range(0, n, channels::meta::KIND).await;
    }

    /// Posts a signed Meta webhook to the responder.
    pub async fn post_meta(&self, body: &[u8]) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/webhooks/meta", self.responder_url))
            .header("content-type", "application/json")
            .header(meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// The citizen writes `text` now (which opens their 24-hour window).
    pub async fn write(&self, from: &str, text: &str) {
        static N: AtomicU64 = AtomicU64::new(0);
        let id = format!("wamid.IN{}-{}", N.fetch_add(1, Ordering::SeqCst), rand_id());
        let body = testkit::meta_text_at(PNID, from, &id, text, jiff::Timestamp::now().as_second());
        assert_eq!(self.post_meta(&body).await.status(), 200);
    }

    /// Creates `draft` and schedules it now.
    pub async fn broadcast(&self, draft: Draft) -> Content {
        let content = self.contents.create(draft).await.expect("create");
        self.contents.schedule(content.id, None).await.expect("schedule")
    }

    /// Runs `sender` step by step (starting due contents on the way) until `id`'s report has
    /// nothing pending, or `limit` passes.
    pub async fn drain(&self, sender: &Sender, id: u64, limit: Duration) -> Report {
        let start = Instant::now();
        loop {
            sender.tick().await.expect("tick");
            loop {
                match sender.try_send_one().await.expect("the store answers") {
                    Outcome::Empty | Outcome::Frozen => break,
                    _ => {}
                }
            }
            sender.tick().await.expect("tick");
            let report = self.contents.report(id).await.unwrap();
            if report.state == conectate::State::Done {
                return report;
            }
            assert!(start.elapsed() < limit, "content {id} not done in {limit:?}: {report:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The Graph API sends so far, as JSON.
    pub fn sends(&self) -> Vec<Value> {
        self.graph.requests().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
    }

    /// How many Graph API sends each recipient got.
    pub fn sends_by_recipient(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for body in self.sends() {
            *out.entry(recipient(&body).to_owned()).or_default() += 1;
        }
        out
    }
}

fn rand_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A plain content.
pub fn draft(text: &str) -> Draft {
    Draft { title: "Aviso".into(), text: text.into(), ..Draft::default() }
}
