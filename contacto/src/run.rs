//! `contacto run`: the whole system in one process (ingest, responder, Conéctate sender, admin
//! API), on the embedded store unless a Redis is configured, with local secrets made up on
//! first start so nothing has to be set by hand.

use std::process::ExitCode;

use settings::Settings;

pub async fn run(mut settings: Settings) -> anyhow::Result<ExitCode> {
    if let Some(path) = settings.fill_local_secrets()? {
        eprintln!(
            "Se crearon secretos locales para esta máquina en {}. En producción define las variables CONTACTO_… en su lugar.",
            path.display()
        );
    }
    let store = crate::deployment_store::open_store(&settings).await?;
    // One registry for every part: the responder's `/metrics` shows them all.
    let metrics = std::sync::Arc::new(metrics::Metrics::new());
    // Ingest of the configured sources (the bundled fixtures out of the box): once now, so
    // answers exist from the start, then on each source's schedule.
    // A publish that changes what citizens care about prepares a Conéctate draft.
    let drafts = std::sync::Arc::new(conectate::SystemDrafts::new(store.clone()));
    let ingest = std::sync::Arc::new(
        ingest::Ingest::from_settings(&settings, store.clone())?.with_metrics(metrics.clone()).with_draft_sink(drafts),
    );
    let scheduler = ingest::Scheduler::start(ingest, ingest::scheduler::timezone(&settings), true).await?;
    // The Conéctate sender, then the responder with the admin API; the sender stops last so
    // a batch in hand is finished.
    let sender = crate::sender::start(&mut settings, store.clone(), metrics.clone())?;
    tracing::info!(store = store.kind(), "Contacto Ciudadano is running.");
    eprintln!(
        "Contacto Ciudadano está en marcha: webhooks en http://{}/webhooks/…, consola en http://{}/console/ (entra con admin.token de data/secretos-locales.toml o CONTACTO_ADMIN__TOKEN). Para conversar con el bot sin WhatsApp: http://{}/console/#/probar",
        settings.responder.listen, settings.responder.internal_listen, settings.responder.internal_listen
    );
    if settings.channels.meta.phone_number_ids.is_empty() && settings.channels.twilio.from.is_none() {
        eprintln!(
            "Todavía no se contesta ningún número de WhatsApp: define CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS (o los datos de Twilio) como dice docs/guias/conectar-meta-twilio.md."
        );
    }
    crate::responder::serve(&mut settings, store, metrics, crate::shutdown::signal()).await?;
    sender.stop().await;
    scheduler.shutdown().await;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}
