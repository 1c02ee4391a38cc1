//! `contacto console` as its own process: it refuses to start without the admin token, naming
//! the variable; with it, it serves the console, the admin API behind the token, and `/health`
//! on `console.listen`, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn console(dir: &std::path::Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contacto"));
    command
        .arg("console")
        .current_dir(dir)
        .env_remove("CONTACTO_REDIS_URL")
        .env_remove("CONTACTO_ADMIN__TOKEN")
        .env("CONTACTO_CONFIG", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contacto.toml"))
        .env("CONTACTO_DATA_DIR", dir.join("data"))
        .env("CONTACTO_CONSOLE__LISTEN", format!("127.0.0.1:{port}"))
        .env("CONTACTO_PRIVACY__USER_HASH_KEY", "user-hash-key-for-tests-0123456789")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn console_refuses_to_start_without_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = console(dir.path(), testkit::free_port()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CONTACTO_ADMIN__TOKEN"), "{stderr}");
}

#[tokio::test]
async fn console_serves_the_pages_the_api_and_health_on_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let mut child = console(dir.path(), port).env("CONTACTO_ADMIN__TOKEN", "token-de-prueba-0123").spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let health: serde_json::Value = loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await
            && r.status().is_success()
        {
            break r.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "contacto console did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "embedded");

    let page = reqwest::get(format!("{base}/console/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Consola — Contacto Ciudadano"));
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{base}/admin/runs")).send().await.unwrap().status(), 401);
    let runs = http.get(format!("{base}/admin/runs")).bearer_auth("token-de-prueba-0123").send().await.unwrap();
    assert_eq!(runs.status(), 200);
    // Prometheus scrapes the console too: the store's gauges, without a token.
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("contacto_queue_depth{queue=\"broadcast\",state=\"pending\"} 0"), "{metrics}");

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "contacto console did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{status}\n{stderr}");
    assert!(stderr.contains(&format!("La consola está en http://127.0.0.1:{port}/console/")), "{stderr}");
}
