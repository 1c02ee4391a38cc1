//! What the communications team does: the canary to the staff before the schedule, cancelling
//! before the start, targeting municipios, texts with links and images, the template for
//! citizens outside the window, and the messaging limit.

use std::sync::Arc;
use std::time::Duration;

use conectate::content::MetaTemplate;
use conectate::{ConectateError, Contents, Draft, State};
use schemas::{ConsentAction, ConsentChange, ConsentSignal, MunicipioId, PhoneNumber, UserAddress};
use settings::MessagingLimit;
use store::QueueName;

use crate::helpers::*;

testkit::on_both_stores!(
    the_canary_goes_to_the_staff_before_the_schedule,
    a_content_can_be_cancelled_until_it_starts,
    a_content_for_a_municipio_goes_to_its_subscribers_only,
    links_preview_and_images_carry_the_text,
    the_messaging_limit_holds_templates_back,
    a_content_without_a_template_is_not_scheduled,
);

const STAFF: [&str; 2] = ["5214779990001", "5214779990002"];

async fn the_canary_goes_to_the_staff_before_the_schedule(kind: StoreKind) {
    let app = spawn_app(kind, Options { staff: STAFF.map(String::from).to_vec(), ..Options::default() }).await;
    app.subscribe(3).await;
    let strict = Contents::new(
        app.store.clone(),
        Arc::new(conectate::ConectateConfig { require_canary: true, ..(*app.config).clone() }),
    );
    let content = strict.create(draft("Aviso de prueba.")).await.unwrap();
    let early = strict.schedule(content.id, None).await.unwrap_err();
    assert!(matches!(early, ConectateError::WrongState { .. }), "{early}");
    assert!(early.to_string().contains("prueba"), "{early}");
    let canary = strict.canary(content.id).await.unwrap();
    assert_eq!((canary.state, canary.canary.as_ref().unwrap().round), (State::Canary, 1));
    let sender = app.sender("s1");
    while sender.try_send_one().await.unwrap() != conectate::Outcome::Empty {}
    let reached = app.sends_by_recipient();
    assert_eq!(reached.keys().map(String::as_str).collect::<Vec<_>>(), STAFF.to_vec(), "only the staff so far");
    assert!(app.sends()[0]["biz_opaque_callback_data"].as_str().unwrap().contains(":p1:"));
    let report = strict.report(content.id).await.unwrap();
    assert_eq!(report.canary.as_ref().unwrap().recipients.sent_template, 2);
    assert_eq!(report.recipients.settled(), 0, "the canary is not the broadcast");
    strict.schedule(content.id, None).await.unwrap();
    let report = app.drain(&sender, content.id, Duration::from_secs(20)).await;
    assert_eq!((report.planned, report.recipients.sent_template), (Some(3), 3));
    assert_eq!(app.sends_by_recipient().len(), 5);
}

async fn a_content_can_be_cancelled_until_it_starts(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(3).await;
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    let content = app.contents.create(draft("Mañana.")).await.unwrap();
    let scheduled = app.contents.schedule(content.id, Some(later)).await.unwrap();
    assert_eq!(scheduled.scheduled_for, Some(later));
    let sender = app.sender("s1");
    sender.tick().await.unwrap();
    assert_eq!(app.contents.get(content.id).await.unwrap().state, State::Scheduled, "not yet its time");
    assert_eq!(app.contents.cancel(content.id).await.unwrap().state, State::Cancelled);
    sender.tick().await.unwrap();
    assert_eq!(sender.try_send_one().await.unwrap(), conectate::Outcome::Empty);
    // Once sending has started, it cannot be cancelled.
    let now = app.broadcast(draft("Ahora.")).await;
    sender.tick().await.unwrap();
    let refused = app.contents.cancel(now.id).await.unwrap_err();
    assert!(refused.to_string().contains("no se puede cancelar"), "{refused}");
    app.drain(&sender, now.id, Duration::from_secs(20)).await;
    assert_eq!(app.graph.requests().len(), 3);
}

async fn a_content_for_a_municipio_goes_to_its_subscribers_only(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    let leon: MunicipioId = 20u16.try_into().unwrap();
    let celaya: MunicipioId = 7u16.try_into().unwrap();
    for (i, municipio) in [(0, Some(leon)), (1, Some(leon)), (2, Some(celaya)), (3, None)] {
        let address = UserAddress::Phone(PhoneNumber::parse(&phone(i)).unwrap());
        app.store
            .apply_consent(&ConsentChange {
                user: app.config.hasher.key(&address),
                address,
                channel: channels::meta::KIND,
                business_number: PNID.into(),
                action: ConsentAction::Subscribe,
                signal: ConsentSignal::Keyword("alta leon".into()),
                at: jiff::Timestamp::now(),
                consent_text_version: "2021-01".into(),
                municipio,
            })
            .await
            .unwrap();
    }
    let content = app.broadcast(Draft { municipios: vec![leon], ..draft("Vacunación en León.") }).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    assert_eq!(report.planned, Some(2));
    assert_eq!(app.sends_by_recipient().into_keys().collect::<Vec<_>>(), vec![phone(0), phone(1)]);
}

async fn links_preview_and_images_carry_the_text(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(1).await;
    app.write(&phone(0), "hola").await;
    let link = app
        .broadcast(Draft {
            link: Some("https://coronavirus.guanajuato.gob.mx/".into()),
            ..draft("Consulta el semáforo:")
        })
        .await;
    app.drain(&app.sender("s1"), link.id, Duration::from_secs(20)).await;
    let image = app
        .broadcast(Draft {
            image_url: Some("https://guanajuato.gob.mx/infografia.jpg".into()),
            ..draft("Lávate las manos.")
        })
        .await;
    app.drain(&app.sender("s1"), image.id, Duration::from_secs(20)).await;
    let sends = app.sends();
    assert_eq!(sends[0]["text"]["body"], "Consulta el semáforo:\n\nhttps://coronavirus.guanajuato.gob.mx/");
    assert_eq!(sends[0]["text"]["preview_url"], true);
    assert_eq!(sends[1]["type"], "image");
    assert_eq!(sends[1]["image"]["link"], "https://guanajuato.gob.mx/infografia.jpg");
    assert_eq!(sends[1]["image"]["caption"], "Lávate las manos.");
}

async fn the_messaging_limit_holds_templates_back(kind: StoreKind) {
    let app = spawn_app(kind, Options { messaging_limit: MessagingLimit::Limited(250), ..Options::default() }).await;
    app.subscribe(265).await;
    for i in 0..5 {
        app.write(&phone(i), "hola").await;
    }
    let template = MetaTemplate {
        name: "vacunacion_fecha".into(),
        language: "es_MX".into(),
        parameters: vec!["27 de mayo".into()],
    };
    let content = app.broadcast(Draft { template: Some(template), ..draft("Vacunación el 27 de mayo.") }).await;
    let sender = app.sender("s1");
    sender.tick().await.unwrap();
    while sender.try_send_one().await.unwrap() != conectate::Outcome::Empty {}
    sender.tick().await.unwrap();
    let report = app.contents.report(content.id).await.unwrap();
    // Inside the window free text does not count; outside it, 250 unique users a day.
    assert_eq!((report.recipients.sent_text, report.recipients.sent_template), (5, 250));
    assert_eq!(report.pending, Some(10));
    assert_eq!(app.store.depth(QueueName::Broadcast).await.unwrap().delayed, 10);
    assert_eq!(app.store.reached(Duration::from_secs(86_400)).await.unwrap(), 250);
    let t = app.sends().into_iter().find(|b| b["type"] == "template").unwrap();
    assert_eq!(t["template"]["name"], "vacunacion_fecha");
    assert_eq!(t["template"]["components"][0]["parameters"][0]["text"], "27 de mayo");
}

async fn a_content_without_a_template_is_not_scheduled(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    let mut config = (*app.config).clone();
    config.channels.get_mut(&channels::meta::KIND).expect("Meta is configured").default_template = None;
    let no_default = Contents::new(app.store.clone(), Arc::new(config));
    let content = no_default.create(draft("Aviso.")).await.unwrap();
    let refused = no_default.schedule(content.id, None).await.unwrap_err();
    assert!(matches!(refused, ConectateError::Invalid { field: "template", .. }), "{refused}");
    assert!(refused.to_string().contains("plantilla"));
    let with = Draft {
        template: Some(MetaTemplate { name: "aviso".into(), language: "es_MX".into(), parameters: vec![] }),
        ..draft("Aviso.")
    };
    let content = no_default.create(with).await.unwrap();
    assert_eq!(no_default.schedule(content.id, None).await.unwrap().state, State::Scheduled);
}
