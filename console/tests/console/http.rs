//! What the console answers over HTTP, before any script runs: the page and its files from the
//! binary, the security headers, revalidation, and the admin API's answers kept out of caches.

use crate::app::{self, TOKEN};

#[tokio::test]
async fn the_page_and_its_files_come_with_the_security_headers() {
    let app = app::spawn_app().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let bare = http.get(app.internal.url("/console")).send().await.unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/console/");

    let page = http.get(app.console("")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store", "the page holds the token");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<meta name="zona-horaria" content="America/Mexico_City">"#), "{html}");
    assert!(html.contains(r#"<html lang="es-MX">"#));
    assert!(
        !html.contains("<script>") && !html.contains("http://") && !html.contains("https://"),
        "no inline script, nothing from another site"
    );

    // Every script the page loads is served, as JavaScript, and revalidated by its ETag.
    let script = http.get(app.console("js/app.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let etag = script.headers()["etag"].clone();
    let again = http.get(app.console("js/app.js")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    let municipios: serde_json::Value =
        http.get(app.console("municipios.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(municipios.as_array().unwrap().len(), 46);

    let missing = http.get(app.console("js/nada.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), "No existe ese archivo de la consola.");

    // The admin API beside it: token-protected as before, and never cached.
    let refused = http.get(app.internal.url("/admin/conectate/status")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let status = http.get(app.internal.url("/admin/conectate/status")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(status.status(), 200);
    assert_eq!(status.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn every_file_the_pages_import_is_served() {
    let app = app::spawn_app().await;
    let http = reqwest::Client::new();
    // Follow the imports from the page down, as the browser does.
    let mut pending = vec!["js/app.js".to_owned(), "consola.css".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let response = http.get(app.console(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.unwrap();
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for import in text.split(['\'', '"']).filter(|s| s.starts_with("./") || s.starts_with("../")) {
            if !import.ends_with(".js") {
                continue;
            }
            let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
            for part in import.split('/') {
                match part {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    p => parts.push(p),
                }
            }
            pending.push(parts.join("/"));
        }
    }
    assert!(seen.len() >= 10, "{seen:?}");
}
