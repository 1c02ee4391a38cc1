//! The outbound clients the Conéctate sender reuses: the exact requests they make (a template
//! with its parameters and tag, a text, a business-scoped recipient) and how each platform's
//! errors are classified.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use channels::meta::GraphClient;
use channels::meta::MetaConfig;
use channels::twilio::TwilioClient;
use channels::twilio::TwilioConfig;
use channels::{Outbound, OutboundContent, SendError, Template, ThrottleScope};
use schemas::{Answer, Bsuid, PhoneNumber, UserAddress};
use serde_json::json;
use testkit::RecordingServer;

use crate::helpers::*;

fn phone(p: &str) -> UserAddress {
    UserAddress::Phone(PhoneNumber::parse(p).unwrap())
}

fn template() -> OutboundContent {
    OutboundContent::Template(Template {
        name: "aviso_conectate".into(),
        language: "es_MX".into(),
        parameters: vec!["27 de mayo de 2020".into(), "https://guanajuato.gob.mx/coronavirus/".into()],
        category: schemas::TemplateCategory::Marketing,
    })
}

#[tokio::test]
async fn the_graph_client_sends_templates_texts_and_bsuid_recipients() {
    let (graph, server) = RecordingServer::start(graph_ok()).await;
    let config = MetaConfig {
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        access_token: ACCESS_TOKEN.into(),
        phone_number_ids: vec![PNID.into()],
        graph_base_url: server.url("/"),
        graph_version: "v23.0".into(),
        messages_per_second: 80,
        graph_timeout: std::time::Duration::from_secs(2),
        marketing_messages: false,
    };
    let client = GraphClient::new(&config, reqwest::Client::new());
    let cases = [
        (
            Outbound {
                business_number: PNID.into(),
                to: phone("5214771308001"),
                content: template(),
                tag: Some("contenido-17".into()),
            },
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5214771308001", "type": "template",
                   "template": {"name": "aviso_conectate", "language": {"code": "es_MX"}, "components": [{"type": "body", "parameters": [
                       {"type": "text", "text": "27 de mayo de 2020"}, {"type": "text", "text": "https://guanajuato.gob.mx/coronavirus/"}]}]},
                   "biz_opaque_callback_data": "contenido-17"}),
        ),
        (
            Outbound {
                business_number: PNID.into(),
                to: UserAddress::Bsuid(Bsuid::parse("MX.1038472951662094").unwrap()),
                content: OutboundContent::Answer(Answer::text("Hola").unwrap()),
                tag: None,
            },
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": "MX.1038472951662094",
                   "type": "text", "text": {"body": "Hola"}}),
        ),
    ];
    for (i, (message, expected)) in cases.iter().enumerate() {
        let sent = client.send(message).await.unwrap();
        assert_eq!(sent.message_id, format!("wamid.OUT{i}"));
        let request = &graph.requests()[i];
        assert_eq!(request.uri, format!("/v23.0/{PNID}/messages"));
        assert_eq!(request.headers["authorization"], format!("Bearer {ACCESS_TOKEN}"));
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&request.body).unwrap(), *expected);
    }
    let message = &cases[0].0;
    let classified = [
        (graph_error(StatusCode::BAD_REQUEST, 131047), "needs_template"),
        (graph_error(StatusCode::BAD_REQUEST, 131050), "opted_out"),
        (graph_error(StatusCode::BAD_REQUEST, 131048), "frozen"),
        (graph_error(StatusCode::BAD_REQUEST, 132001), "permanent"),
        (graph_error(StatusCode::INTERNAL_SERVER_ERROR, 131000), "transient"),
        ((StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response(), "transient"),
    ];
    for (response, class) in classified {
        let response = std::sync::Mutex::new(Some(response));
        graph.respond_with(move |_| {
            response.lock().unwrap().take().unwrap_or_else(|| StatusCode::IM_A_TEAPOT.into_response())
        });
        assert_eq!(client.send(message).await.unwrap_err().class(), class);
    }
    graph.respond_with(|_| {
        let mut r = graph_error(StatusCode::BAD_REQUEST, 130429);
        r.headers_mut().insert("retry-after", "3".parse().unwrap());
        r
    });
    assert_eq!(
        client.send(message).await.unwrap_err(),
        SendError::Throttled {
            scope: ThrottleScope::BusinessNumber,
            retry_after: Some(std::time::Duration::from_secs(3)),
            code: Some(130429)
        }
    );
    drop(server);
    assert_eq!(client.send(message).await.unwrap_err().class(), "transient", "unreachable API");
}

#[tokio::test]
async fn the_twilio_client_posts_the_messages_form() {
    let (twilio, server) = RecordingServer::start(|_| {
        (StatusCode::CREATED, axum::Json(json!({"sid": "SM0123", "status": "queued"}))).into_response()
    })
    .await;
    let config = TwilioConfig {
        auth_token: TWILIO_TOKEN.into(),
        public_url: TWILIO_URL.into(),
        status_url: TWILIO_STATUS_URL.into(),
        account_sid: Some("AC7a1b2c3d4e5f60718293a4b5c6d7e8f9".into()),
        from: Some(TWILIO_FROM.into()),
        api_base_url: server.url(""),
        timeout: std::time::Duration::from_secs(2),
        broadcast_messages_per_second: 10,
    };
    let client = TwilioClient::new(&config, reqwest::Client::new());
    let message = Outbound {
        business_number: TWILIO_FROM.into(),
        to: phone("5214771308002"),
        content: template(),
        tag: Some("contenido-17".into()),
    };
    assert_eq!(client.send(&message).await.unwrap().message_id, "SM0123");
    let request = &twilio.requests()[0];
    assert_eq!(request.uri, "/2010-04-01/Accounts/AC7a1b2c3d4e5f60718293a4b5c6d7e8f9/Messages.json");
    assert!(request.headers["authorization"].to_str().unwrap().starts_with("Basic "));
    let form: Vec<(String, String)> =
        form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let expected: Vec<(String, String)> = [
        ("To", "whatsapp:+5214771308002"),
        ("From", TWILIO_FROM),
        ("ContentSid", "aviso_conectate"),
        ("ContentVariables", r#"{"1":"27 de mayo de 2020","2":"https://guanajuato.gob.mx/coronavirus/"}"#),
        ("StatusCallback", "https://contacto.example.mx/webhooks/twilio/status?tag=contenido-17"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    assert_eq!(form, expected);
    twilio.respond_with(|_| {
        (StatusCode::BAD_REQUEST, axum::Json(json!({"code": 63016, "message": "Outside the window", "status": 400})))
            .into_response()
    });
    assert_eq!(client.send(&message).await.unwrap_err(), SendError::NeedsTemplate { code: 63016 });
    let bsuid = Outbound { to: UserAddress::Bsuid(Bsuid::parse("MX.1038472951662094").unwrap()), ..message };
    assert_eq!(client.send(&bsuid).await.unwrap_err().class(), "permanent");
}

/// Whatever a client sends, signed or not, the service answers and keeps answering.
async fn nothing_a_client_sends_crashes_the_service(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let valid = fixture("webhooks/meta/batch_with_unusable.json");
    let mut bodies: Vec<Vec<u8>> = (0..valid.len()).step_by(97).map(|n| valid[..n].to_vec()).collect();
    bodies.extend((0..50).map(|_| (0..rand::random_range(0..2000)).map(|_| rand::random::<u8>()).collect()));
    bodies.push(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[1,"x",null,{"id":5}]}}]}]}"#.to_vec());
    bodies.push(br#"{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"5214771234599","id":"wamid.Z","type":"text","text":{"body":null}}],"statuses":[{"id":"x","status":"weird"}]}}]}]}"#.to_vec());
    for body in &bodies {
        let status = app.post_meta(body).await.status().as_u16();
        assert!(status == 200 || status == 400, "{status} for {:?}", String::from_utf8_lossy(body));
        let twilio = app.post_twilio("/webhooks/twilio", TWILIO_URL, body, Signing::Valid).await.status().as_u16();
        assert!(twilio == 200 || twilio == 400, "{twilio}");
    }
    assert_eq!(app.post_meta(&valid).await.status(), 200, "still serving");
}

testkit::on_both_stores!(nothing_a_client_sends_crashes_the_service);
