//! The admin API over real HTTP, on both stores (Redis: the `redis-server` of `scripts/test`):
//! the token guards every route the router serves, `openapi.yaml` describes exactly those
//! routes, and each module does what ops and the communications team rely on.

mod helpers;

mod bot;
mod conectate;
mod open_data;
mod ops;
mod report;
mod unmatched;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use helpers::{TOKEN, spawn_app};
use testkit::StoreKind;

/// Every route the router serves (its own list), plus an unknown one, answers 401 without the
/// token or with a wrong one, and nothing happens.
async fn every_route_needs_the_token(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let api = helpers::full_api(&app.settings, &app.store, &app.config);
    let mut paths: Vec<(String, String)> = api
        .endpoints()
        .iter()
        .map(|e| {
            (
                e.method.to_owned(),
                format!("/admin{}", e.path.replace("{id}", "1").replace("{name}", "covid").replace("{version}", "1")),
            )
        })
        .collect();
    assert!(paths.len() >= 20, "{paths:?}");
    paths.push(("GET".into(), "/admin/no-such-route".into()));
    for (method, path) in paths {
        let method: reqwest::Method = method.parse().unwrap();
        for auth in [None, Some("Bearer wrong-token"), Some("Bearer admin-token-for-tests-012"), Some(TOKEN)] {
            let mut request = app.http.request(method.clone(), app.api.url(&path)).json(&json!({}));
            if let Some(a) = auth {
                request = request.header("authorization", a);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {auth:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["codigo"], "no_autorizado");
            assert!(body["error"]["mensaje"].as_str().unwrap().contains("token"));
        }
    }
    assert_eq!(app.store.content_records(0, 10).await.unwrap().len(), 0, "nothing was created");
    assert!(app.store.pointer_history(10).await.unwrap().is_empty(), "nothing was rolled back");
    assert!(app.store.runs(&Default::default()).await.unwrap().is_empty(), "nothing was run");
}

/// The routes `openapi.yaml` describes: `METHOD /admin/path`, read from its `paths:` section.
fn described_routes() -> BTreeSet<(String, String)> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let mut out = BTreeSet::new();
    let mut path = None;
    let mut in_paths = false;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(method) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':'))
            && ["get", "post", "put", "patch", "delete"].contains(&method)
        {
            out.insert((method.to_uppercase(), path.clone().expect("a method under a path")));
        }
    }
    out
}

/// `openapi.yaml` describes every route the router serves, and no other.
#[tokio::test]
async fn the_openapi_file_describes_exactly_the_routes_served() {
    let app = spawn_app(StoreKind::Embedded).await;
    let api = helpers::full_api(&app.settings, &app.store, &app.config);
    let served: BTreeSet<(String, String)> =
        api.endpoints().iter().map(|e| (e.method.to_owned(), format!("/admin{}", e.path))).collect();
    let described = described_routes();
    let missing: Vec<_> = served.difference(&described).collect();
    let extra: Vec<_> = described.difference(&served).collect();
    assert!(missing.is_empty(), "served but not in openapi.yaml: {missing:?}");
    assert!(extra.is_empty(), "in openapi.yaml but not served: {extra:?}");
    assert!(described.contains(&("GET".into(), "/admin/report.csv".into())), "{described:?}");
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(spec.contains("bearerAuth"));
}

testkit::on_both_stores!(every_route_needs_the_token);

/// Topics are data (the catalogue a snapshot publishes), so the API describes every topic it
/// takes or gives as one of the catalogue's slugs, never as a fixed list a new topic would
/// break: each field or parameter named for topics refers to `TopicSlug`, which has no enum.
#[test]
fn the_openapi_file_describes_topics_as_the_catalogues_slugs_not_a_fixed_list() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let slug_ref = "#/components/schemas/TopicSlug";
    let named_for_topics: Vec<&str> = spec
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            ["topic: {", "topics: {", "closest_topics: {", "- { name: topic,"].iter().any(|k| l.starts_with(k))
        })
        .collect();
    // The unmatched phrases and their keyword change, the trial route, stale answers, the report.
    assert!(named_for_topics.len() >= 7, "{named_for_topics:#?}");
    for line in named_for_topics {
        assert!(line.contains(slug_ref), "a topic not described as the catalogue's slug: {line}");
        assert!(!line.contains("enum"), "{line}");
    }
    let schema: String = spec
        .lines()
        .skip_while(|l| l.trim_end() != "    TopicSlug:")
        .skip(1)
        .take_while(|l| l.starts_with("      "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!schema.contains("enum"), "{schema}");
    assert!(schema.contains("topic catalogue published in the current snapshot"), "{schema}");
    assert!(
        schema.contains("pattern: \"^[a-z0-9_]{1,32}$\""),
        "the slug's syntax, the same as `Topic::parse_slug`: {schema}"
    );
}
