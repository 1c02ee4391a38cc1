//! The responder as ops run it: `contacto responder` refuses to start without its secrets and
//! names the variable to set; with them it serves webhooks on Redis and stops cleanly; and
//! `contacto run` serves the webhook routes too.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::contacto;

#[test]
fn the_production_responder_names_the_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = |vars: &[(&str, String)]| {
        let out = contacto(dir.path(), &["responder"], vars).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let nothing = run(&[]);
    assert!(nothing.contains("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS"), "{nothing}");
    let numbers = ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", "106540352242922".to_owned());
    let no_hash = run(std::slice::from_ref(&numbers));
    assert!(no_hash.contains("CONTACTO_PRIVACY__USER_HASH_KEY"), "{no_hash}");
    let no_secret = run(&[numbers, ("CONTACTO_PRIVACY__USER_HASH_KEY", "0123456789abcdef0123".into())]);
    assert!(no_secret.contains("CONTACTO_CHANNELS__META__APP_SECRET"), "{no_secret}");
    let twilio = run(&[
        ("CONTACTO_CHANNELS__TWILIO__PUBLIC_URL", "https://contacto.example.mx/webhooks/twilio".into()),
        ("CONTACTO_PRIVACY__USER_HASH_KEY", "0123456789abcdef0123".into()),
    ]);
    assert!(twilio.contains("CONTACTO_CHANNELS__TWILIO__AUTH_TOKEN"), "{twilio}");
}

async fn wait_for(url: &str) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return r;
        }
        assert!(Instant::now() < deadline, "{url} did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn the_production_responder_serves_webhooks_on_redis_and_stops_cleanly() {
    let Ok(redis) = std::env::var("CONTACTO_TEST_REDIS_URL") else {
        panic!("CONTACTO_TEST_REDIS_URL is not set: run scripts/test");
    };
    let dir = tempfile::tempdir().unwrap();
    let (web, internal) = (testkit::free_port(), testkit::free_port());
    let child = contacto(
        dir.path(),
        &["responder"],
        &[
            ("CONTACTO_REDIS_URL", redis),
            ("CONTACTO_STORE__KEY_PREFIX", format!("t{:08x}", std::process::id())),
            ("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{web}")),
            ("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}")),
            ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", "106540352242922".into()),
            ("CONTACTO_CHANNELS__META__APP_SECRET", "app-secret".into()),
            ("CONTACTO_CHANNELS__META__VERIFY_TOKEN", "verify-me".into()),
            ("CONTACTO_CHANNELS__META__ACCESS_TOKEN", "EAAG-token".into()),
            ("CONTACTO_PRIVACY__USER_HASH_KEY", "0123456789abcdef0123".into()),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let health: serde_json::Value =
        wait_for(&format!("http://127.0.0.1:{internal}/health")).await.json().await.unwrap();
    assert_eq!(health["store"], "redis");
    let challenge = wait_for(&format!(
        "http://127.0.0.1:{web}/webhooks/meta?hub.mode=subscribe&hub.challenge=42&hub.verify_token=verify-me"
    ))
    .await;
    assert_eq!(challenge.text().await.unwrap(), "42");
    let unsigned =
        reqwest::Client::new().post(format!("http://127.0.0.1:{web}/webhooks/meta")).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    assert!(stop(child).success());
}

#[tokio::test]
async fn contacto_run_serves_the_webhook_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (web, internal) = (testkit::free_port(), testkit::free_port());
    let child = contacto(
        dir.path(),
        &["run"],
        &[
            ("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{web}")),
            ("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}")),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for(&format!("http://127.0.0.1:{internal}/health")).await;
    // The verify token `run` made up is in the local secrets file.
    let secrets = std::fs::read_to_string(dir.path().join("data/secretos-locales.toml")).unwrap();
    let token = secrets
        .lines()
        .find_map(|l| l.strip_prefix("\"channels.meta.verify_token\" = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("a local verify token");
    let challenge = wait_for(&format!(
        "http://127.0.0.1:{web}/webhooks/meta?hub.mode=subscribe&hub.challenge=7&hub.verify_token={token}"
    ))
    .await;
    assert_eq!(challenge.text().await.unwrap(), "7");
    assert!(stop(child).success());
}
