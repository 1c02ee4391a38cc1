//! Templates by their category (Meta's "Route template messages by category"): with the
//! Marketing Messages API configured, a MARKETING template sent outside the 24-hour window goes
//! to `/{phone_number_id}/marketing_messages`, any other to `/messages`; the category is the
//! configured one until Meta's signed `template_category_update` webhook changes it, which
//! nobody is ever answered for.

use std::time::Duration;

use schemas::TemplateCategory;
use serde_json::{Value, json};

use crate::helpers::*;

testkit::on_both_stores!(
    marketing_templates_follow_their_latest_category_to_the_marketing_messages_api,
    without_the_marketing_messages_api_or_for_a_utility_template_sends_use_messages,
);

const MESSAGES: &str = "/v23.0/106540352242922/messages";
const MARKETING_MESSAGES: &str = "/v23.0/106540352242922/marketing_messages";

/// Broadcasts a content to every subscriber (none wrote: each gets the template) and returns
/// the path of each Graph API request it made.
async fn broadcast_paths(app: &TestApp, text: &str) -> Vec<String> {
    let before = app.graph.requests().len();
    let content = app.broadcast(draft(text)).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(30)).await;
    assert_eq!(report.recipients.sent_template, 3, "{report:#?}");
    let requests = app.graph.requests().split_off(before);
    for r in &requests {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["type"], "template", "the same template body to either endpoint");
        assert_eq!(body["template"]["name"], TEMPLATE);
    }
    requests.into_iter().map(|r| r.uri).collect()
}

/// Meta's `template_category_update` webhook, in its documented shape.
fn category_update(value: Value) -> Vec<u8> {
    testkit::wire_form(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": 1_765_000_000,
        "changes": [{"field": "template_category_update", "value": value}]}]}),
    )
}

async fn marketing_templates_follow_their_latest_category_to_the_marketing_messages_api(kind: StoreKind) {
    let app = spawn_app(kind, Options { marketing_messages: true, ..Options::default() }).await;
    app.subscribe(3).await;
    assert_eq!(broadcast_paths(&app, "Jornada de vacunación el sábado.").await, vec![MARKETING_MESSAGES; 3]);

    // Meta announces a change: nothing moves until it is made.
    let impending = category_update(json!({"message_template_id": 1_234_567, "message_template_name": TEMPLATE,
        "message_template_language": "es_MX", "correct_category": "UTILITY", "new_category": "MARKETING",
        "category_update_timestamp": 1_765_086_400}));
    assert_eq!(app.post_meta(&impending).await.status(), 200);
    assert_eq!(broadcast_paths(&app, "Segunda jornada.").await, vec![MARKETING_MESSAGES; 3]);

    // Meta made it UTILITY: the next send goes to /messages.
    let sends_before_change = app.graph.requests().len();
    let completed = category_update(json!({"message_template_id": 1_234_567, "message_template_name": TEMPLATE,
        "message_template_language": "es_MX", "previous_category": "MARKETING", "new_category": "UTILITY"}));
    assert_eq!(app.post_meta(&completed).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.graph.requests().len(), sends_before_change, "a platform signal is never answered");
    assert_eq!(broadcast_paths(&app, "Tercera jornada.").await, vec![MESSAGES; 3]);

    // And back to MARKETING.
    let back = category_update(json!({"message_template_id": 1_234_567, "message_template_name": TEMPLATE,
        "message_template_language": "es_MX", "previous_category": "UTILITY", "new_category": "MARKETING"}));
    assert_eq!(app.post_meta(&back).await.status(), 200);
    assert_eq!(broadcast_paths(&app, "Cuarta jornada.").await, vec![MARKETING_MESSAGES; 3]);
}

async fn without_the_marketing_messages_api_or_for_a_utility_template_sends_use_messages(kind: StoreKind) {
    let off = spawn_app(kind, Options::default()).await;
    off.subscribe(3).await;
    assert_eq!(broadcast_paths(&off, "Aviso.").await, vec![MESSAGES; 3], "the setting is off by default");

    let categories = [(TEMPLATE.to_owned(), TemplateCategory::Utility)].into_iter().collect();
    let utility =
        spawn_app(kind, Options { marketing_messages: true, template_categories: categories, ..Options::default() })
            .await;
    utility.subscribe(3).await;
    assert_eq!(broadcast_paths(&utility, "Aviso.").await, vec![MESSAGES; 3], "a UTILITY template");
}
