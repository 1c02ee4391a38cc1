//! Conéctate as ops and the communications team run it, through the built binary:
//! `contacto sender` refuses to start without its secrets; killed with SIGKILL halfway through
//! 52,013 subscribers and started again, it sends every subscriber the content exactly once;
//! `contacto conectate` drives a content and exports the consent ledger.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use channels::meta;
use responder::{Responder, ResponderConfig};
use schemas::{KeyLayout, UserHasher};
use settings::{Secret, Settings};
use testkit::{APP_SECRET, HASH_KEY, PNID, RecordingServer, StatusReporter};

use crate::common::contacto;

fn ok(output: Output) -> String {
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "stdout: {out}\nstderr: {err}");
    out.into_owned()
}

fn failed(output: Output) -> String {
    assert!(!output.status.success(), "it should have failed: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_production_sender_names_the_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = |vars: &[(&str, String)]| failed(contacto(dir.path(), &["sender"], vars).output().unwrap());
    let numbers = ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", PNID.to_owned());
    assert!(run(&[]).contains("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS"));
    assert!(run(std::slice::from_ref(&numbers)).contains("CONTACTO_PRIVACY__USER_HASH_KEY"));
    let no_token = run(&[numbers, ("CONTACTO_PRIVACY__USER_HASH_KEY", HASH_KEY.into())]);
    assert!(no_token.contains("CONTACTO_CHANNELS__META__APP_SECRET"), "{no_token}");
}

#[test]
fn the_team_drives_a_content_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("CONTACTO_DATA_DIR", dir.path().join("data").display().to_string())];
    let run = |args: &[&str]| contacto(dir.path(), args, &vars).output().unwrap();
    let created =
        ok(run(&["conectate", "create", "--title", "Vacunación", "--text", "Mañana en León.", "--municipio", "león"]));
    assert!(created.contains("Se creó el aviso 1 (borrador)"), "{created}");
    let bad = failed(run(&["conectate", "create", "--title", "x", "--text", "y", "--municipio", "Springfield"]));
    assert!(bad.contains("«Springfield» no es un municipio de Guanajuato"), "{bad}");
    let no_staff = failed(run(&["conectate", "canary", "1"]));
    assert!(no_staff.contains("CONTACTO_CONECTATE__STAFF"), "{no_staff}");
    let early = failed(run(&["conectate", "schedule", "1", "--now"]));
    assert!(early.contains("primero envía la prueba"), "{early}");
    let list = ok(run(&["conectate", "list"]));
    assert!(list.contains("borrador") && list.contains("«Vacunación»"), "{list}");
    let show = ok(run(&["conectate", "show", "1"]));
    assert!(show.contains("solo para: León"), "{show}");
    let edited = ok(run(&["conectate", "edit", "1", "--text", "El jueves en León."]));
    assert!(edited.contains("Se editó el aviso 1"), "{edited}");
    let show = ok(run(&["conectate", "show", "1"]));
    assert!(show.contains("El jueves en León.") && show.contains("solo para: León"), "{show}");
    let nothing = failed(run(&["conectate", "edit", "1"]));
    assert!(nothing.contains("no hay nada que cambiar"), "{nothing}");
    let cancelled = ok(run(&["conectate", "cancel", "1"]));
    assert!(cancelled.contains("Se canceló el aviso 1"), "{cancelled}");
    let report = ok(run(&["conectate", "report", "1"]));
    assert!(report.contains("Contenido 1 «Vacunación»: cancelado"), "{report}");
    let status = ok(run(&["conectate", "status"]));
    assert!(status.contains("Envíos activos.") && status.contains("de 250"), "{status}");
    // The ledger: hashed by default; addresses only with the admin token.
    let export = ok(run(&["conectate", "export"]));
    assert!(export.starts_with("secuencia,fecha,usuario,canal,"), "{export}");
    let refused = failed(run(&["conectate", "export", "--with-addresses", "--token", "not-it"]));
    assert!(refused.contains("no es el de administración"), "{refused}");
    let without_token = failed(run(&["conectate", "export", "--with-addresses"]));
    assert!(without_token.contains("--token"), "{without_token}");
    let secrets = std::fs::read_to_string(dir.path().join("data/secretos-locales.toml")).unwrap();
    let token = secrets
        .lines()
        .find_map(|l| l.strip_prefix("\"admin.token\" = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("the local admin token");
    let with = ok(run(&["conectate", "export", "--with-addresses", "--token", &token]));
    assert!(with.starts_with("secuencia,fecha,usuario,direccion,"), "{with}");
    let help = ok(run(&["conectate", "--help"]));
    assert!(help.contains("Uso: contacto conectate <ORDEN>") && help.contains("canary"), "{help}");
}

/// `contacto run` serves the admin API on its internal port, behind the admin token.
#[tokio::test]
async fn contacto_run_serves_the_admin_api_behind_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let internal = testkit::free_port();
    let vars = [
        ("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{}", testkit::free_port())),
        ("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}")),
    ];
    let mut child = contacto(dir.path(), &["run"], &vars).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let url = format!("http://127.0.0.1:{internal}/admin/conectate/status");
    let start = Instant::now();
    let refused = loop {
        if let Ok(r) = reqwest::get(&url).await {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "contacto run did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused.status(), 401);
    let secrets = std::fs::read_to_string(dir.path().join("data/secretos-locales.toml")).unwrap();
    let token =
        secrets.lines().find_map(|l| l.strip_prefix("\"admin.token\" = ")).unwrap().trim_matches('"').to_owned();
    let status: serde_json::Value =
        reqwest::Client::new().get(&url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["frozen"].is_null(), status["messaging_limit"].as_u64()), (true, Some(250)));
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
}

/// Starts `contacto sender` with `vars`, its log in `log`.
fn start_sender(dir: &Path, vars: &[(&str, String)], log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    contacto(dir, &["sender"], vars).stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

/// 52,013 subscribers, the Conéctate audience of the seed programme, on one real Redis. The
/// sender is a child process of the built binary; it is killed with SIGKILL halfway, with
/// sends in flight, and started again: every subscriber gets the content exactly once. The
/// Graph API stand-in behaves like Meta and reports a status for each message it accepted,
/// which is what settles the deliveries the killed sender left in doubt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_halfway_through_52013_subscribers_restarts_and_sends_each_once() {
    const N: usize = 52_013;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyLayout::new(&format!("t{:016x}", rand::random::<u64>())).unwrap();
    let store =
        store::open(&store::StoreConfig::Redis { url: testkit::redis_url(), keys: keys.clone() }).await.unwrap();
    // The Graph API stand-in, and the responder that receives its statuses.
    let reporter: Arc<Mutex<Option<StatusReporter>>> = Arc::default();
    let ids = Arc::new(AtomicU64::new(0));
    let (graph, graph_server) = {
        let reporter = reporter.clone();
        RecordingServer::start(move |r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let id = format!("wamid.OUT{}", ids.fetch_add(1, Ordering::SeqCst));
            if let Some(reporter) = reporter.lock().unwrap().as_ref() {
                let to = body["to"].as_str().unwrap_or("");
                reporter.report(testkit::meta_status(&id, "sent", to, body["biz_opaque_callback_data"].as_str(), None));
            }
            axum::Json(serde_json::json!({"messaging_product": "whatsapp", "messages": [{"id": id}]})).into_response()
        })
        .await
    };
    let mut settings = Settings::default();
    settings.privacy.user_hash_key = Some(Secret::new(HASH_KEY));
    settings.channels.meta.app_secret = Some(Secret::new(APP_SECRET));
    settings.channels.meta.verify_token = Some(Secret::new("verify"));
    settings.channels.meta.access_token = Some(Secret::new("EAAG-token"));
    settings.channels.meta.phone_number_ids = vec![PNID.into()];
    let responder = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), store.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!("http://{}/webhooks/meta", public.local_addr().unwrap());
    tokio::spawn(responder.serve(public, internal, std::future::pending()));
    let sign = |body: &[u8]| (meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body));
    *reporter.lock().unwrap() = Some(StatusReporter::start(webhook, PNID.into(), sign));

    let hasher = UserHasher::new(HASH_KEY.as_bytes()).unwrap();
    testkit::subscribe_citizens(&store, &hasher, 0..N, channels::meta::KIND, PNID).await;

    let mut vars = testkit::service_env(&keys, &graph_server.url(""));
    vars.extend([
        ("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{}", testkit::free_port())),
        ("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{}", testkit::free_port())),
        ("CONTACTO_CHANNELS__META__GRAPH_TIMEOUT_SECS", "2".into()),
        ("CONTACTO_CHANNELS__TWILIO__TIMEOUT_SECS", "2".into()),
        ("CONTACTO_CONECTATE__SENDER_CONCURRENCY", "128".into()),
        ("CONTACTO_CONECTATE__RECLAIM_IDLE_SECS", "3".into()),
        ("CONTACTO_CONECTATE__IN_DOUBT_SECS", "5".into()),
    ]);
    let cli = |args: &[&str]| contacto(dir.path(), args, &vars).output().unwrap();
    ok(cli(&["conectate", "create", "--title", "Conéctate", "--text", "Aviso de prueba."]));
    ok(cli(&["conectate", "schedule", "1", "--now"]));

    let mut first = start_sender(dir.path(), &vars, "first.log");
    let start = Instant::now();
    while graph.requests().len() < N / 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the first sender stalled: {}",
            log(dir.path(), "first.log")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(Command::new("kill").args(["-KILL", &first.id().to_string()]).status().unwrap().success());
    first.wait().unwrap();
    assert!(graph.requests().len() < N, "killed before the end");
    let mut second = start_sender(dir.path(), &vars, "second.log");
    let health = format!("http://{}/health", vars.iter().find(|(k, _)| k.ends_with("INTERNAL_LISTEN")).unwrap().1);
    let start = Instant::now();
    let health: serde_json::Value = loop {
        if let Ok(r) = reqwest::get(&health).await {
            break r.json().await.unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no /health: {}", log(dir.path(), "second.log"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((health["status"].as_str(), health["store"].as_str()), (Some("ok"), Some("redis")));
    let start = Instant::now();
    loop {
        let report: serde_json::Value =
            serde_json::from_str(&ok(cli(&["conectate", "report", "1", "--json"]))).unwrap();
        if report["state"] == "done" {
            assert_eq!(report["recipients"]["sent_template"], N);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "not done: {report}\n{}", log(dir.path(), "second.log"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(Command::new("kill").args(["-TERM", &second.id().to_string()]).status().unwrap().success());
    assert!(second.wait().unwrap().success(), "the sender stops cleanly on SIGTERM");
    let requests = graph.requests();
    let mut recipients: Vec<String> = requests
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["to"].as_str().unwrap().to_owned())
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!((requests.len(), recipients.len()), (N, N), "exactly one send per subscriber");
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}
