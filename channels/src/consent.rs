//! A delivery refused because the citizen stopped these messages ends their subscription,
//! whether the refusal came on the send (the Conéctate sender) or later in a status (the
//! responder's status hook).

use jiff::Timestamp;
use schemas::{ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, UserKey};
use store::{SharedStore, StoreError};

/// A send to `user` failed with an opt-out code (Meta 131050, Twilio 21610): the
/// subscription ends, ledgered with the platform's signal. Returns whether there was one.
pub async fn opt_out_after_failure(
    store: &SharedStore,
    user: UserKey,
    code: u32,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let Some(subscriber) = store.subscriber(&user).await? else { return Ok(false) };
    let outcome = store
        .apply_consent(&ConsentChange {
            user,
            address: subscriber.address,
            channel: subscriber.channel,
            business_number: subscriber.business_number,
            action: ConsentAction::Unsubscribe,
            signal: ConsentSignal::SendFailure(code),
            at,
            consent_text_version: subscriber.consent_text_version,
            municipio: subscriber.municipio,
        })
        .await?;
    tracing::info!(user = %user, code, ?outcome, "A send failure ended a subscription.");
    Ok(outcome == ConsentOutcome::Unsubscribed)
}
