//! `contacto run` on a fresh machine: it starts with no Redis and no secrets set, serves its
//! health endpoint and the open data on the public port, and stops cleanly on SIGTERM and on
//! ctrl-c (SIGINT).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    public: u16,
    internal: u16,
}

fn start(dir: &std::path::Path) -> Running {
    let (web, internal) = (testkit::free_port(), testkit::free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_contacto"))
        .arg("run")
        .current_dir(dir)
        .env_remove("CONTACTO_REDIS_URL")
        .env("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{web}"))
        .env("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}"))
        .env("CONTACTO_CONFIG", dir.join("contacto.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running { child, public: web, internal }
}

async fn wait_healthy(port: u16) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/health")).await
            && r.status().is_success()
        {
            return r.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "contacto run did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut running: Running, signal: &str) -> (std::process::ExitStatus, String) {
    let pid = running.child.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            let out = running.child.wait_with_output().unwrap();
            return (status, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        assert!(Instant::now() < deadline, "contacto run did not stop after {signal}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn run_starts_without_redis_or_secrets_and_stops_cleanly_on_sigterm_and_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();

    let first = start(dir.path());
    let health = wait_healthy(first.internal).await;
    assert_eq!(health["store"], "embedded");
    // The open data is on the public port, with no token, and not on the internal one.
    let open = reqwest::get(format!("http://127.0.0.1:{}/datos/reporte.json", first.public)).await.unwrap();
    assert_eq!(open.status(), reqwest::StatusCode::OK);
    let open: serde_json::Value = open.json().await.unwrap();
    assert_eq!(open["dias"].as_array().map(Vec::len), Some(90), "{open}");
    let internal = reqwest::get(format!("http://127.0.0.1:{}/datos/", first.internal)).await.unwrap();
    assert_eq!(internal.status(), reqwest::StatusCode::NOT_FOUND);
    let (status, stderr) = stop(first, "-TERM");
    assert!(status.success(), "exit after SIGTERM: {status}\n{stderr}");
    assert!(stderr.contains("Se crearon secretos locales"), "the first start says where it put secrets:\n{stderr}");
    assert!(stderr.contains("/console/#/probar"), "it says where to talk to the bot:\n{stderr}");
    assert!(
        stderr.contains("Todavía no se contesta ningún número de WhatsApp"),
        "with no business number set it says so:\n{stderr}"
    );
    assert!(dir.path().join("data/secretos-locales.toml").exists());
    assert!(dir.path().join("data/contacto.redb").exists(), "the embedded store lives in the data directory");

    let second = start(dir.path());
    wait_healthy(second.internal).await;
    let (status, stderr) = stop(second, "-INT");
    assert!(status.success(), "exit after ctrl-c: {status}\n{stderr}");
    assert!(!stderr.contains("Se crearon secretos locales"), "secrets are announced once only:\n{stderr}");
}

#[tokio::test]
async fn run_ingests_the_bundled_fixture_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let repo_config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contacto.toml");
    let (web, internal) = (testkit::free_port(), testkit::free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_contacto"))
        .arg("run")
        .current_dir(dir.path())
        .env_remove("CONTACTO_REDIS_URL")
        .env("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{web}"))
        .env("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}"))
        .env("CONTACTO_CONFIG", &repo_config)
        .env("CONTACTO_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = Running { child, public: web, internal };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = wait_healthy(running.internal).await;
        // Every bundled source publishes its own version; the first one is enough here.
        if health["snapshot"].as_u64().is_some_and(|v| v >= 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot published: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The console's trial answers from the responder's own snapshot, with the local token.
    let secrets = std::fs::read_to_string(dir.path().join("data/secretos-locales.toml")).unwrap();
    let secrets: toml::Table = toml::from_str(&secrets).unwrap();
    let token = secrets["admin.token"].as_str().unwrap();
    loop {
        let tried: serde_json::Value = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/admin/bot/try", running.internal))
            .bearer_auth(token)
            .json(&serde_json::json!({"text": "hola"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The menu source may publish after the first one.
        if tried["understood_as"] == "el menú principal" {
            break;
        }
        assert!(Instant::now() < deadline, "the bundled menu never answered «hola»: {tried}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, stderr) = stop(running, "-TERM");
    assert!(status.success(), "exit after SIGTERM: {status}\n{stderr}");
    assert!(stderr.contains("Snapshot published."), "{stderr}");
}
