//! The press-conference load: CITIZENS distinct citizens each writing two messages within
//! SECONDS, «casos en M» and then «defunciones en M», sent to the responder as Meta sends them
//! under load, and then checked reply by reply against what the Graph API stand-in
//! ([`crate::graph`]) accepted.
//!
//! - **Schedule.** Each citizen writes the first message at a random moment and the second one
//!   to five seconds later; one citizen in five writes both at once, so both travel in one
//!   webhook (the case where one batch carries two messages of one citizen). The schedule is
//!   fixed by a seed, so runs are comparable.
//! - **Batches.** Every 20 ms the messages due are cut into webhooks of 1 to 10 messages (Meta
//!   batches when it is under load), never splitting one citizen's pair, each signed with the
//!   app secret. The load is open: a webhook leaves at its time whether or not earlier ones were
//!   answered, and its latency counts from that time (no coordinated omission).
//! - **Retries.** A webhook not answered 200 is sent again after 1, 2, 4, 8, 8, … seconds, as
//!   Meta retries, for up to five minutes.
//! - **Check.** Once every webhook was answered, it waits until the stand-in accepted two
//!   replies per citizen (or the drain timeout passes), then reads the stand-in's record: per
//!   citizen, a reply missing is *lost*, one too many *duplicated*, «Defunciones» before
//!   «Casos» *out of order*, unless the second message's webhook had reached the responder
//!   before the first one's was answered 200: then the responder held both at once and could
//!   take them in either order, so such a citizen is counted apart, as *taken out of order*
//!   (no responder can answer a message before it has it, nor order two it takes at once by a
//!   message it has not seen). «Reached» counts from the webhook's first attempt, refused or
//!   not: an attempt answered 503 may still be taken afterwards (the responder's request
//!   timeout answers 503 and lets the handling it started finish; a script Redis ran just before
//!   it was killed is kept though its answer was lost). How many citizens' pairs were so in
//!   flight together is reported too, whatever their replies' order, as the pairs the check
//!   could not judge. The drain time runs from the burst's start to the last reply, against
//!   the floor: replies ÷ the stand-in's cap, or the moment the last message was written if
//!   that is later; and against the floor under Meta's rule that throughput counts inbound
//!   and outbound messages together: the time the responder's governor gives the citizens'
//!   own messages (charged per counting flush, [`store::Rate::inbound_hold`]) plus replies ÷
//!   cap.
//!
//! It prints one line, `BURST {json}`, for the scripts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Municipios whose two answers (confirmados, defunciones) are in the bench snapshot.
const MUNICIPIOS: &[&str] = &["León", "Irapuato", "Celaya", "Salamanca", "Silao"];
/// The first word of the reply to each of a citizen's two messages, in order.
const EXPECTED: [&str; 2] = ["Casos", "Defunciones"];
const TICK: Duration = Duration::from_millis(20);
const MAX_BATCH: usize = 10;
const RETRY_FOR: Duration = Duration::from_secs(300);

/// What to send and where.
pub struct Plan {
    pub webhook_url: String,
    pub graph_url: String,
    pub app_secret: String,
    pub phone_number_id: String,
    pub citizens: usize,
    pub seconds: u64,
    /// Number of the first citizen, so bursts against one stand-in use different citizens.
    pub first_citizen: usize,
    pub drain_timeout: Duration,
}

impl Plan {
    /// `WEBHOOK_URL GRAPH_URL APP_SECRET PHONE_NUMBER_ID CITIZENS SECONDS FIRST_CITIZEN DRAIN_TIMEOUT_S`.
    pub fn parse(args: &[String]) -> Plan {
        let [webhook_url, graph_url, app_secret, phone_number_id, citizens, seconds, first, drain] = args else {
            panic!("bench-tools burst URL_WEBHOOK URL_GRAPH SECRETO ID CIUDADANOS SEGUNDOS PRIMERO DRENADO_S");
        };
        Plan {
            webhook_url: webhook_url.clone(),
            graph_url: graph_url.trim_end_matches('/').to_owned(),
            app_secret: app_secret.clone(),
            phone_number_id: phone_number_id.clone(),
            citizens: citizens.parse().expect("CIUDADANOS"),
            seconds: seconds.parse().expect("SEGUNDOS"),
            first_citizen: first.parse().expect("PRIMERO"),
            drain_timeout: Duration::from_secs(drain.parse().expect("DRENADO_S")),
        }
    }

    fn phone(&self, citizen: usize) -> String {
        format!("5214{:09}", 700_000_000 + self.first_citizen + citizen)
    }
}

/// One message of the schedule.
struct Written {
    at_ms: u64,
    citizen: usize,
    second: bool,
}

/// The signed webhooks of one tick.
struct Tick {
    at: Duration,
    webhooks: Vec<Webhook>,
}

/// One signed webhook and the citizens whose messages it carries (`(citizen, second message)`).
struct Webhook {
    signature: String,
    body: Vec<u8>,
    carried: Vec<(usize, bool)>,
}

fn schedule(plan: &Plan) -> Vec<Tick> {
    let mut rng = StdRng::seed_from_u64(20_200_527);
    let span_ms = (plan.seconds * 1000).saturating_sub(5000).max(1);
    let mut written = Vec::with_capacity(plan.citizens * 2);
    for citizen in 0..plan.citizens {
        let first = rng.random_range(0..span_ms);
        let gap = if rng.random_range(0..5) == 0 { 0 } else { rng.random_range(1000..5000) };
        written.push(Written { at_ms: first, citizen, second: false });
        written.push(Written { at_ms: first + gap, citizen, second: true });
    }
    written.sort_by_key(|w| (w.at_ms / TICK.as_millis() as u64, w.citizen, w.second));
    let mut ticks: Vec<Tick> = Vec::new();
    let mut i = 0;
    while i < written.len() {
        let tick = written[i].at_ms / TICK.as_millis() as u64;
        let end = written[i..]
            .iter()
            .position(|w| w.at_ms / TICK.as_millis() as u64 != tick)
            .map_or(written.len(), |n| i + n);
        let mut webhooks = Vec::new();
        let mut start = i;
        while start < end {
            let mut stop = (start + rng.random_range(1..=MAX_BATCH)).min(end);
            // Never split a citizen's pair between two webhooks of one tick.
            if stop < end && written[stop].citizen == written[stop - 1].citizen {
                stop += 1;
            }
            let (signature, body) = signed(plan, &written[start..stop], tick);
            let carried = written[start..stop].iter().map(|w| (w.citizen, w.second)).collect();
            webhooks.push(Webhook { signature, body, carried });
            start = stop;
        }
        ticks.push(Tick { at: TICK * tick as u32, webhooks });
        i = end;
    }
    ticks
}

/// One webhook carrying `messages` in Meta's wire form, and its signature.
fn signed(plan: &Plan, messages: &[Written], tick: u64) -> (String, Vec<u8>) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut contacts = Vec::new();
    let mut bodies = Vec::new();
    for w in messages {
        let from = plan.phone(w.citizen);
        let municipio = MUNICIPIOS[w.citizen % MUNICIPIOS.len()];
        let text = if w.second { format!("defunciones en {municipio}") } else { format!("casos en {municipio}") };
        let id = format!("wamid.PRESS{:09}{}{tick:08}", plan.first_citizen + w.citizen, u8::from(w.second));
        contacts.push(serde_json::json!({"profile": {"name": "Ciudadana"}, "wa_id": from}));
        bodies.push(serde_json::json!({"from": from, "id": id, "timestamp": (now + w.at_ms / 1000).to_string(),
                                       "type": "text", "text": {"body": text}}));
    }
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": plan.phone_number_id},
            "contacts": contacts,
            "messages": bodies,
        }}]}]
    });
    let body = testkit::wire_form(&body);
    (channels::meta::signature(&plan.app_secret, &body), body)
}

#[derive(Default)]
struct Sent {
    /// Microseconds from each webhook's scheduled time to its first answer.
    latencies_us: Vec<u64>,
    /// When each webhook's first attempt left, by its number.
    first_sent: HashMap<usize, Instant>,
    /// When each webhook was answered 200, by its number.
    accepted: HashMap<usize, Instant>,
    refused_first: u64,
    retries: u64,
    gave_up: u64,
}

pub async fn run(plan: Plan) {
    let ticks = schedule(&plan);
    let webhooks: usize = ticks.iter().map(|t| t.webhooks.len()).sum();
    let arrivals: Vec<(Duration, usize)> =
        ticks.iter().map(|t| (t.at, t.webhooks.iter().map(|w| w.carried.len()).sum())).collect();
    let last_written = ticks.last().map_or(Duration::ZERO, |t| t.at).as_secs_f64();
    // Which webhook carried each citizen's first and second message.
    let mut carrier = vec![[0usize; 2]; plan.citizens];
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("an HTTP client");
    let before = count(&http, &plan.graph_url).await;
    let sent = Arc::new(Mutex::new(Sent::default()));
    let started = Instant::now();
    let started_ms = unix_ms();
    let mut tasks = tokio::task::JoinSet::new();
    let mut number = 0;
    for tick in ticks {
        tokio::time::sleep_until((started + tick.at).into()).await;
        for Webhook { signature, body, carried } in tick.webhooks {
            for (citizen, second) in carried {
                carrier[citizen][usize::from(second)] = number;
            }
            let (http, url, sent) = (http.clone(), plan.webhook_url.clone(), sent.clone());
            let due = started + tick.at;
            tasks.spawn(async move { deliver(&http, &url, &signature, body, due, number, &sent).await });
            number += 1;
        }
    }
    let sending_s = started.elapsed().as_secs_f64();
    while tasks.join_next().await.is_some() {}
    let answered_s = started.elapsed().as_secs_f64();

    let expected = 2 * plan.citizens as u64;
    let drain_started = Instant::now();
    while count(&http, &plan.graph_url).await < before + expected && drain_started.elapsed() < plan.drain_timeout {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // time for a duplicate to show up
    let report: serde_json::Value = http
        .get(format!("{}/report", plan.graph_url))
        .send()
        .await
        .expect("the stand-in")
        .json()
        .await
        .expect("a report");
    let replies = http
        .get(format!("{}/replies", plan.graph_url))
        .send()
        .await
        .expect("the stand-in")
        .text()
        .await
        .expect("replies");
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let held = held(&carrier, &sent);
    let check = check(&plan, &replies, &held);

    let mut latencies = sent.latencies_us;
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let last_ms = report["last_accept_ms"].as_u64().unwrap_or(0);
    let drain_s = last_ms.saturating_sub(started_ms) as f64 / 1000.0;
    // No reply can leave before its message is written, nor faster than the cap.
    let cap = report["cap"].as_u64();
    let floor_s = cap.map(|cap| (expected as f64 / cap as f64).max(last_written));
    // Nor while the citizens' own messages use the cap (Meta counts inbound and outbound
    // together): the time the responder's governor gives them, as it charges them.
    let inbound_s = cap.map(|cap| inbound_held(&arrivals, cap).as_secs_f64());
    let floor_inbound_s = cap.zip(inbound_s).map(|(cap, held)| (held + expected as f64 / cap as f64).max(last_written));
    let line = serde_json::json!({
        "citizens": plan.citizens, "messages": expected, "webhooks": webhooks,
        "sending_s": round(sending_s), "answered_s": round(answered_s),
        "p50_ms": round(percentile(0.50)), "p99_ms": round(percentile(0.99)), "max_ms": round(percentile(1.0)),
        "refused_first": sent.refused_first, "retries": sent.retries, "gave_up": sent.gave_up,
        "replies": check.replies, "lost": check.lost, "duplicated": check.duplicated, "out_of_order": check.out_of_order,
        "taken_out_of_order": check.taken_out_of_order,
        "taken_out_of_order_accepted_in_reverse": check.accepted_in_reverse,
        "pairs_in_flight_together": held.iter().filter(|h| **h != Held::Apart).count(),
        "drain_s": round(drain_s), "floor_s": floor_s.map(round), "drain_x_floor": floor_s.map(|f| round(drain_s / f)),
        "inbound_s": inbound_s.map(round), "floor_inbound_s": floor_inbound_s.map(round),
        "drain_x_floor_inbound": floor_inbound_s.map(|f| round(drain_s / f)),
        "graph": report,
    });
    println!("BURST {line}");
}

/// How long the messages arriving at `arrivals` (when, how many) hold replies back at `cap`
/// a second: the responder charges the messages of each counting flush to its governor
/// ([`store::Rate::inbound_hold`]), and replies wait throughout the burst, since the messages
/// come faster than the cap. The flush is the responder's default (`counters_flush_ms`).
fn inbound_held(arrivals: &[(Duration, usize)], cap: u64) -> Duration {
    let rate = store::Rate::per_second(u32::try_from(cap).unwrap_or(u32::MAX));
    let flush = Duration::from_millis(settings::ResponderSettings::default().counters_flush_ms);
    let mut per_flush: std::collections::BTreeMap<u128, u32> = std::collections::BTreeMap::new();
    for (at, messages) in arrivals {
        *per_flush.entry(at.as_millis() / flush.as_millis()).or_default() += *messages as u32;
    }
    per_flush.values().map(|used| rate.inbound_hold(*used, flush)).sum()
}

/// Whether the responder held a citizen's two messages at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// The first message's webhook was answered 200 before the second's left (or one webhook
    /// carried both): the first was taken first, and must be answered first.
    Apart,
    /// The second's webhook reached the responder (its first attempt left) before the first's
    /// was answered 200: the responder held both at once and may take them in either order. A
    /// refused attempt counts, since its handling may still finish after the 503 (see the
    /// module's doc).
    Together,
    /// Together, and the second's webhook was even answered 200 before the first's.
    AcceptedInReverse,
}

/// Per citizen, how the responder held their two messages, from when each webhook left and
/// was answered 200 (`carrier[c]`: the webhooks of citizen c's first and second message).
fn held(carrier: &[[usize; 2]], sent: &Sent) -> Vec<Held> {
    carrier
        .iter()
        .map(|[first, second]| {
            let accepted = |w| sent.accepted.get(w);
            match (accepted(first), sent.first_sent.get(second), accepted(second)) {
                _ if first == second => Held::Apart,
                (Some(a), _, Some(b)) if b < a => Held::AcceptedInReverse,
                (Some(a), Some(reached), _) if reached < a => Held::Together,
                _ => Held::Apart,
            }
        })
        .collect()
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn count(http: &reqwest::Client, graph_url: &str) -> u64 {
    let answer = http.get(format!("{graph_url}/count")).send().await.expect("the stand-in answers");
    answer.text().await.expect("a count").trim().parse().expect("a number")
}

async fn deliver(
    http: &reqwest::Client,
    url: &str,
    signature: &str,
    body: Vec<u8>,
    due: Instant,
    number: usize,
    sent: &Mutex<Sent>,
) {
    let mut wait = Duration::from_secs(1);
    let mut first = true;
    sent.lock().unwrap().first_sent.insert(number, Instant::now());
    loop {
        let answer = http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body.clone())
            .send()
            .await;
        let ok = answer.is_ok_and(|a| a.status().is_success());
        {
            let mut s = sent.lock().unwrap();
            if first {
                s.latencies_us.push(due.elapsed().as_micros() as u64);
                s.refused_first += u64::from(!ok);
            }
            if ok {
                s.accepted.insert(number, Instant::now());
                return;
            }
            if due.elapsed() > RETRY_FOR {
                s.gave_up += 1;
                return;
            }
            s.retries += 1;
        }
        first = false;
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

#[derive(Debug, Default, PartialEq)]
struct Check {
    replies: u64,
    lost: u64,
    duplicated: u64,
    /// Answered in the reverse of the order the responder took them in.
    out_of_order: u64,
    /// Answered in the reverse of the order written, but the responder held both messages at
    /// once (see [`Held`]), so it may have taken them so; not counted as out of order.
    taken_out_of_order: u64,
    /// Of those, the citizens whose second message's webhook was even answered 200 first.
    accepted_in_reverse: u64,
}

/// Compares the stand-in's record (`recipient<TAB>first word` lines) with what each citizen
/// of `plan` wrote. Recipients are matched on their last ten digits (a Mexican mobile is
/// written `521…` and answered `52…`); other recipients are not this burst's. `held[c]` says
/// how the responder held citizen c's two messages.
fn check(plan: &Plan, replies: &str, held: &[Held]) -> Check {
    let last_ten = |phone: &str| phone.get(phone.len().saturating_sub(10)..).unwrap_or("").to_owned();
    let citizens: HashMap<String, usize> = (0..plan.citizens).map(|c| (last_ten(&plan.phone(c)), c)).collect();
    let mut got: Vec<Vec<&str>> = vec![Vec::new(); plan.citizens];
    for line in replies.lines() {
        let Some((to, word)) = line.split_once('\t') else { continue };
        if let Some(&c) = citizens.get(&last_ten(to)) {
            got[c].push(word);
        }
    }
    let mut check = Check::default();
    for (words, held) in got.iter().zip(held) {
        check.replies += words.len() as u64;
        for expected in EXPECTED {
            let n = words.iter().filter(|w| **w == expected).count() as u64;
            check.lost += u64::from(n == 0);
            check.duplicated += n.saturating_sub(1);
        }
        check.duplicated += words.iter().filter(|w| !EXPECTED.contains(w)).count() as u64;
        let position = |e: &str| words.iter().position(|w| *w == e);
        if let (Some(a), Some(b)) = (position(EXPECTED[0]), position(EXPECTED[1]))
            && b < a
        {
            match held {
                Held::Apart => check.out_of_order += 1,
                Held::Together => check.taken_out_of_order += 1,
                Held::AcceptedInReverse => {
                    check.taken_out_of_order += 1;
                    check.accepted_in_reverse += 1;
                }
            }
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(citizens: usize) -> Plan {
        Plan::parse(&["http://w", "http://g", "s", "1", &citizens.to_string(), "10", "0", "1"].map(String::from))
    }

    #[test]
    fn lost_duplicated_and_out_of_order_replies_are_told_apart() {
        let plan = plan(3);
        // Citizen 0 answered right (as 52…), citizen 1 in reverse and twice, citizen 2 once.
        let replies = "524700000000\tCasos\n524700000000\tDefunciones\n5214700000001\tDefunciones\n\
                       5214700000001\tCasos\n5214700000001\tCasos\n5214700000002\tCasos\n5219999999999\tCasos\n";
        let expected = Check { replies: 6, lost: 1, duplicated: 1, out_of_order: 1, ..Check::default() };
        assert_eq!(check(&plan, replies, &[Held::Apart; 3]), expected);
        // Citizen 1's messages reached the responder together: answering so is not its fault.
        let together = Check { out_of_order: 0, taken_out_of_order: 1, ..expected };
        assert_eq!(check(&plan, replies, &[Held::Apart, Held::Together, Held::Apart]), together);
        let reversed = Check { accepted_in_reverse: 1, ..together };
        assert_eq!(check(&plan, replies, &[Held::Apart, Held::AcceptedInReverse, Held::Apart]), reversed);
    }

    #[test]
    fn two_webhooks_are_held_together_when_the_second_left_before_the_first_was_accepted() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut sent = Sent::default();
        // Webhook 0 accepted at 50 ms, webhook 1 left at 1,000 ms: apart.
        sent.first_sent.extend([(0, at(0)), (1, at(1000))]);
        sent.accepted.extend([(0, at(50)), (1, at(1050))]);
        // Webhook 2 refused, accepted at 9,000 ms; webhook 3 left (and was refused) at 2,000 ms
        // and accepted at 12,000 ms: together, whatever became of webhook 3's first attempt.
        sent.first_sent.extend([(2, at(500)), (3, at(2000))]);
        sent.accepted.extend([(2, at(9000)), (3, at(12_000))]);
        // Webhook 5 accepted before webhook 4: accepted in reverse.
        sent.first_sent.extend([(4, at(0)), (5, at(3000))]);
        sent.accepted.extend([(4, at(20_000)), (5, at(11_000))]);
        // One webhook carrying both messages, even refused first: handled in order.
        sent.first_sent.insert(6, at(100));
        sent.accepted.insert(6, at(15_000));
        let carrier = [[0, 1], [2, 3], [4, 5], [6, 6], [0, 7]];
        let expected = [Held::Apart, Held::Together, Held::AcceptedInReverse, Held::Apart, Held::Apart];
        assert_eq!(held(&carrier, &sent), expected);
    }

    #[test]
    fn every_message_is_scheduled_once_within_the_burst_and_pairs_stay_whole() {
        let plan = plan(500);
        let ticks = schedule(&plan);
        let mut seen = HashMap::new();
        for tick in &ticks {
            assert!(tick.at < Duration::from_secs(10));
            for webhook in &tick.webhooks {
                let value: serde_json::Value = serde_json::from_slice(&webhook.body).unwrap();
                let messages = value["entry"][0]["changes"][0]["value"]["messages"].as_array().unwrap();
                assert!((1..=MAX_BATCH + 1).contains(&messages.len()));
                for m in messages {
                    *seen.entry(m["id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
                }
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(seen.values().all(|n| *n == 1));
    }
}
