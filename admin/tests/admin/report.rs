//! The programme report through the admin API, JSON and CSV, on both stores: the seed
//! programme's 814,906 interactions written into the counters and recounted here, subscribers
//! from consent changes inside and outside the range, and the contents of a real broadcast.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use jiff::civil::{Date, date};
use jiff::{Timestamp, ToSpan};
use reqwest::StatusCode;
use schemas::{ConsentAction, PhoneNumber, Topic, UserAddress, UserKey};
use serde_json::Value;
use store::Interaction;

use crate::helpers::{TestApp, spawn_app};
use testkit::StoreKind;

/// The seed programme: 23 March 2020 to 30 April 2021, 814,906 messages answered.
const FIRST: Date = date(2020, 3, 23);
const LAST: Date = date(2021, 4, 30);
const TOTAL: u64 = 814_906;
/// Distinct citizens writing to it (a pool the interactions cycle through).
const USERS: usize = 30_000;

/// What the test wrote, recounted independently of the store: per day, interactions and the
/// exact set of users.
#[derive(Default)]
struct Recount {
    days: BTreeMap<Date, (u64, HashSet<usize>)>,
}

impl Recount {
    fn interactions(&self, from: Date, to: Date) -> u64 {
        self.days.range(from..=to).map(|(_, (n, _))| n).sum()
    }

    fn users(&self, from: Date, to: Date) -> usize {
        self.days.range(from..=to).flat_map(|(_, (_, u))| u.iter()).collect::<BTreeSet<_>>().len()
    }
}

/// Writes the programme into the counters: day `i` gets a share proportional to
/// `(i × 37) mod 101` (so some days have none), the rounding left on the busiest day, topics
/// and users cycled; plus interactions the day before and the day after, outside the range.
async fn write_programme(app: &TestApp) -> Recount {
    let users: Vec<UserKey> = (0..USERS)
        .map(|i| app.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147{i:08}")).unwrap())))
        .collect();
    let days: Vec<Date> = FIRST.series(1.day()).take_while(|d| *d <= LAST).collect();
    assert_eq!(days.len(), 404);
    let weights: Vec<u64> = (0..days.len() as u64).map(|i| (i * 37) % 101).collect();
    let sum: u64 = weights.iter().sum();
    let mut counts: Vec<u64> = weights.iter().map(|w| TOTAL * w / sum).collect();
    let busiest = (0..days.len()).max_by_key(|&i| weights[i]).unwrap();
    counts[busiest] += TOTAL - counts.iter().sum::<u64>();
    let mut recount = Recount::default();
    let mut batch = Vec::new();
    let mut next = 0usize;
    let outside = [(FIRST.yesterday().unwrap(), 700u64), (LAST.tomorrow().unwrap(), 900)];
    for (day, n) in days.iter().copied().zip(counts).chain(outside) {
        for _ in 0..n {
            let user = (next * 7_919) % USERS;
            let topic = [
                Topic::from_static("confirmados"),
                Topic::MENU,
                Topic::from_static("hospitales"),
                Topic::from_static("vacunas"),
            ][next % 4];
            next += 1;
            batch.push(Interaction { day, topic, user: users[user] });
            let entry = recount.days.entry(day).or_default();
            entry.0 += 1;
            entry.1.insert(user);
            if batch.len() == 20_000 {
                app.store.record_interactions(&batch).await.unwrap();
                batch.clear();
            }
        }
    }
    app.store.record_interactions(&batch).await.unwrap();
    recount
}

/// Within the HyperLogLog's error (about 1 %; 3 % allowed for small days).
fn close(estimate: u64, exact: usize) -> bool {
    (estimate as f64 - exact as f64).abs() <= (exact as f64 * 0.03).max(2.0)
}

async fn report(app: &TestApp, from: &str, to: &str) -> Value {
    let (status, body) = app.get(&format!("/admin/report?from={from}&to={to}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn the_report_recounts_the_seed_programme(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let recount = write_programme(&app).await;
    assert_eq!(recount.interactions(FIRST, LAST), TOTAL);

    let body = report(&app, "2020-03-23", "2021-04-30").await;
    assert_eq!((body["from"].as_str(), body["to"].as_str()), (Some("2020-03-23"), Some("2021-04-30")));
    assert_eq!(body["total_interactions"], TOTAL);
    // 814,906 over 404 days: 2,017.1 a day (the seed's «1,570.5» does not follow from its total).
    assert_eq!(body["average_per_day"], 2017.1);
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 404, "every day of the range, zeros included");
    assert_eq!(days[0]["interactions"], 0, "23 March has weight 0");
    for day in days {
        let date: Date = day["date"].as_str().unwrap().parse().unwrap();
        let (n, users) = recount.days.get(&date).map(|(n, u)| (*n, u.len())).unwrap_or_default();
        assert_eq!(day["interactions"], n, "{date}");
        let estimate = day["unique_users"].as_u64().unwrap();
        assert!(close(estimate, users), "{date}: {day} vs {users}");
        assert!(estimate <= n, "{date}: more users than interactions: {day}");
    }
    let unique = body["unique_users"].as_u64().unwrap();
    assert!(close(unique, recount.users(FIRST, LAST)), "{unique} vs {}", recount.users(FIRST, LAST));

    // The seed's second period: 1 June to 31 December 2020.
    let (june, december) = (date(2020, 6, 1), date(2020, 12, 31));
    let body = report(&app, "2020-06-01", "2020-12-31").await;
    assert_eq!(body["total_interactions"], recount.interactions(june, december));
    assert_eq!(body["days"].as_array().unwrap().len(), 214);
    let average = (recount.interactions(june, december) as f64 / 214.0 * 10.0).round() / 10.0;
    assert_eq!(body["average_per_day"].as_f64(), Some(average));
    let unique = body["unique_users"].as_u64().unwrap();
    assert!(close(unique, recount.users(june, december)));

    // The days outside the programme are counted only when asked for.
    let body = report(&app, "2020-03-22", "2020-03-22").await;
    assert_eq!((body["total_interactions"].as_u64(), body["average_per_day"].as_f64()), (Some(700), Some(700.0)));

    // The CSV: one row per day, then the totals, as an attachment.
    let response =
        app.request(reqwest::Method::GET, "/admin/report.csv?from=2020-03-23&to=2021-04-30").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"reporte_2020-03-23_2021-04-30.csv\"");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "fecha,interacciones,usuarios_unicos");
    assert_eq!(lines.len(), 1 + 404 + 9);
    let may_27 = date(2020, 5, 27);
    let row = lines.iter().find(|l| l.starts_with("2020-05-27,")).unwrap();
    assert_eq!(row.split(',').nth(1).unwrap().parse::<u64>().unwrap(), recount.days[&may_27].0);
    assert!(lines[405].starts_with(&format!("total,{TOTAL},")), "{}", lines[405]);
    assert_eq!(lines[406], "promedio_por_dia,2017.1,");
    assert_eq!(lines[407], "suscriptores_nuevos,0,");
    assert_eq!(lines[413], "respuestas_no_entregadas,0,");
}

async fn bad_ranges_answer_400_naming_the_parameter(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for (query, field, says) in [
        ("to=2021-04-30", "from", "falta"),
        ("from=2020-03-23", "to", "falta"),
        ("from=2020-3-23&to=2021-04-30", "from", "AAAA-MM-DD"),
        ("from=2020-03-23&to=30/04/2021", "to", "AAAA-MM-DD"),
        ("from=2020-02-30&to=2021-04-30", "from", "no es una fecha válida"),
        ("from=2021-04-30&to=2020-03-23", "to", "anterior al inicio"),
        ("from=1990-01-01&to=2021-04-30", "to", "el máximo es 3,660"),
    ] {
        for path in ["/admin/report", "/admin/report.csv"] {
            let (status, body) = app.get(&format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(body["error"]["campo"], field, "{query}: {body}");
            let message = body["error"]["mensaje"].as_str().unwrap();
            assert!(message.starts_with(&format!("`{field}`: ")) && message.contains(says), "{query}: {message}");
        }
    }
    let (status, body) = app.get("/admin/report?desde=2020-03-23&hasta=2021-04-30").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::BAD_REQUEST, Some("parametro_desconocido")));
}

async fn subscribers_are_counted_from_the_consent_ledger(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let at = |t: &str| -> Timestamp { t.parse().unwrap() };
    use ConsentAction::{Subscribe, Unsubscribe};
    for (phone, action, when) in [
        ("5214770000001", Subscribe, "2020-05-10T12:00:00Z"), // before: counts at the end only
        ("5214770000002", Subscribe, "2020-06-15T12:00:00Z"), // new
        ("5214770000002", Subscribe, "2020-08-01T12:00:00Z"), // a second ALTA: nothing
        ("5214770000003", Subscribe, "2020-07-01T12:00:00Z"), // new …
        ("5214770000003", Unsubscribe, "2020-11-30T12:00:00Z"), // … and left
        ("5214770000004", Subscribe, "2020-03-01T12:00:00Z"), // before …
        ("5214770000004", Unsubscribe, "2021-01-15T12:00:00Z"), // … and left after: subscribed at the end
        ("5214770000005", Subscribe, "2021-02-01T12:00:00Z"), // after: nothing
        ("5214770000006", Subscribe, "2021-01-01T05:30:00Z"), // 23:30 of 31 December in Guanajuato: new
        ("5214770000007", Subscribe, "2020-06-01T04:30:00Z"), // 23:30 of 31 May in Guanajuato (CDT): before
        ("5214770000008", Unsubscribe, "2020-09-01T12:00:00Z"), // never subscribed: nothing
    ] {
        app.consent(phone, action, at(when)).await;
    }
    let body = report(&app, "2020-06-01", "2020-12-31").await;
    assert_eq!(body["subscribers"], serde_json::json!({"new": 3, "left": 1, "total_at_end": 5}), "{body}");
    let body = report(&app, "2021-01-01", "2021-02-28").await;
    assert_eq!(body["subscribers"], serde_json::json!({"new": 1, "left": 1, "total_at_end": 5}), "{body}");
    let body = report(&app, "2020-01-01", "2020-02-29").await;
    assert_eq!(body["subscribers"], serde_json::json!({"new": 0, "left": 0, "total_at_end": 0}), "{body}");
}

async fn contents_sent_count_a_real_broadcast(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for i in 0..3 {
        app.subscribe(&format!("52147712{i:05}")).await;
    }
    let delivery = app.broadcast("Vacunación").await;
    assert_eq!(delivery["state"], "done");
    // A draft never sent does not count.
    let (status, _) =
        app.post("/admin/conectate/contents", serde_json::json!({"title": "Borrador", "text": "Todavía no."})).await;
    assert_eq!(status, StatusCode::CREATED);
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
    let today = tz.to_datetime(Timestamp::now()).date();
    let body = report(&app, &today.yesterday().unwrap().to_string(), &today.to_string()).await;
    assert_eq!(body["contents_sent"], serde_json::json!({"contents": 1, "messages": 3, "delivered": 0}), "{body}");
    assert_eq!(body["subscribers"]["new"], 3);
    let body = report(&app, "2020-03-23", "2021-04-30").await;
    assert_eq!(body["contents_sent"]["contents"], 0);
    assert_eq!(body["subscribers"]["total_at_end"], 0);
}

/// Failures recorded by the outbox, added up over the range by reason, most frequent first.
async fn failed_replies_are_added_up_by_reason(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let mut failures = Vec::new();
    for (day, reason, n) in [
        (date(2020, 5, 27), "unreachable:131026", 2),
        (date(2020, 5, 28), "unreachable:131026", 3),
        (date(2020, 5, 28), "config:190", 1),
        (date(2020, 6, 1), "expired", 4),
    ] {
        failures.extend(std::iter::repeat_n((day, reason.to_owned()), n));
    }
    app.store.record_failed_replies(&failures).await.unwrap();
    let body = report(&app, "2020-05-27", "2020-05-31").await;
    assert_eq!(
        body["failed_replies"],
        serde_json::json!({"total": 6, "by_reason": [
            {"reason": "unreachable:131026", "description": "el número no está disponible en WhatsApp (código 131026)", "count": 5},
            {"reason": "config:190", "description": "error de configuración (token, número o permisos) (código 190)", "count": 1},
        ]}),
        "{body}"
    );
    let response = app.request(reqwest::Method::GET, "/admin/report.csv?from=2020-05-27&to=2020-06-01").send().await;
    let csv = response.unwrap().text().await.unwrap();
    assert!(csv.ends_with("respuestas_no_entregadas,10,\nrespuestas_no_entregadas:unreachable:131026,5,\nrespuestas_no_entregadas:expired,4,\nrespuestas_no_entregadas:config:190,1,\n"), "{csv}");
}

testkit::on_both_stores!(
    failed_replies_are_added_up_by_reason,
    the_report_recounts_the_seed_programme,
    bad_ranges_answer_400_naming_the_parameter,
    subscribers_are_counted_from_the_consent_ledger,
    contents_sent_count_a_real_broadcast,
);
