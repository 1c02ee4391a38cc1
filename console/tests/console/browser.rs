//! Headless Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`
//! (`scripts/test` installs them when missing). Each test file opens one [`Browser`]: its own
//! chromedriver on a free port and one session, closed at the end even when the test fails
//! (a screenshot of the failure is kept first).
//!
//! Waits are on DOM conditions, polled briefly, never fixed sleeps. Screenshots go to
//! `target/console-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{Value, json};

/// How long a DOM condition may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// One chromedriver and one browser session.
pub struct Browser {
    pub client: Client,
    /// The test's name, prefixed to its screenshots.
    name: &'static str,
    driver: Child,
    downloads: tempfile::TempDir,
}

/// Where the screenshots are kept: `target/console-screenshots/`.
pub fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("create target/console-screenshots");
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (es-MX, a 1280×900 window).
    pub async fn start(name: &'static str) -> Browser {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = testkit::free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {chromedriver} ({e}): run scripts/test, which installs chromium and chromium-driver"
                )
            });
        let webdriver = format!("http://127.0.0.1:{port}");
        let downloads = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", "--window-size=1280,900", "--lang=es-MX",
                ],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&webdriver).await {
                Ok(client) => break client,
                Err(error) => {
                    assert!(Instant::now() < deadline, "no WebDriver session from {chromedriver}: {error}");
                    tokio::time::sleep(POLL).await;
                }
            }
        };
        Browser { client, name, driver, downloads }
    }

    /// Runs the test's scenario, then closes the session and chromedriver, even on failure
    /// (keeping a screenshot of the page as it failed).
    pub async fn run(self, scenario: impl AsyncFnOnce(&Browser)) {
        let outcome = std::panic::AssertUnwindSafe(scenario(&self)).catch_unwind().await;
        if outcome.is_err() {
            self.screenshot("fallo").await;
        }
        let Browser { client, mut driver, .. } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// Saves a screenshot of the whole page as `target/console-screenshots/{test}-{what}.png`.
    pub async fn screenshot(&self, what: &str) {
        let height = self.client.execute("return document.documentElement.scrollHeight;", vec![]).await;
        let height = height.ok().and_then(|h| h.as_u64()).unwrap_or(900).clamp(900, 6000) as u32;
        let _ = self.client.set_window_size(1280, height).await;
        if let Ok(png) = self.client.screenshot().await {
            let path = screenshots_dir().join(format!("{}-{what}.png", self.name));
            std::fs::write(&path, png).expect("write the screenshot");
        }
        let _ = self.client.set_window_size(1280, 900).await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Waits until `css` matches an element whose text satisfies `ready`, and returns the text.
    pub async fn wait_text(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if ready(&text) {
                    return text;
                }
                last = Some(text);
            }
            if Instant::now() > deadline {
                self.screenshot("espera").await;
                panic!("`{css}` did not reach the expected text; last seen: {last:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `css` has an element containing `text`.
    pub async fn wait_contains(&self, css: &str, text: &str) -> String {
        self.wait_text(css, |t| t.contains(text)).await
    }

    /// Waits until the page's script `condition` (an expression) is true.
    pub async fn wait_until(&self, what: &str, condition: &str) {
        let deadline = Instant::now() + PATIENCE;
        let script = format!("return Boolean({condition});");
        loop {
            if self.client.execute(&script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot("espera").await;
                panic!("{what}: `{condition}` never became true");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element `css` once it is there.
    pub async fn click(&self, css: &str) {
        let element = self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap_or_else(|e| {
            panic!("no `{css}` to click: {e}");
        });
        element.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Replaces the value of the input `css` with `text` as typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap();
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Sets the value of a date or select control `css` and announces the change, as a person
    /// picking it would (typing into date pickers depends on the browser's locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap();
        let script = "const e = document.querySelector(arguments[0]); e.value = arguments[1];
             e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));";
        self.client.execute(script, vec![json!(css), json!(value)]).await.unwrap();
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap_or_default());
        }
        texts
    }

    /// Answers the confirmation dialog: its action button, or Cancel. Returns its title.
    pub async fn confirm(&self, yes: bool) -> String {
        self.wait_until("the confirmation dialog opens", "document.getElementById('confirmar').open").await;
        let title = self.wait_text("#confirmar-titulo", |t| !t.is_empty()).await;
        self.click(if yes { "#confirmar-si" } else { "#confirmar-no" }).await;
        self.wait_until("the confirmation dialog closes", "!document.getElementById('confirmar').open").await;
        title
    }

    /// A file the page downloaded, once it is complete.
    pub async fn downloaded(&self, name: &str) -> String {
        let path = self.downloads.path().join(name);
        let deadline = Instant::now() + PATIENCE;
        while !path.exists() {
            assert!(Instant::now() < deadline, "{name} was not downloaded");
            tokio::time::sleep(POLL).await;
        }
        std::fs::read_to_string(path).unwrap()
    }
}
