//! Conéctate subscriptions as the responder sees them: the signals that change consent and the
//! answer that confirms, once, each change a citizen wrote for. A platform's signal (Meta's
//! `user_preferences`, a number change) is ledgered like any change and answered with nothing:
//! the citizen wrote no message.
//!
//! Signals: the ALTA/BAJA keywords and their variants (keyword rules of the router table whose
//! target is `conectate_alta` or `conectate_baja`), a template's quick-reply payload or
//! Twilio's `ButtonPayload` matching one of them, Meta's `user_preferences` stop/resume, and a
//! `system` number change (which moves the subscription). Every change goes through
//! [`SubscriberStore::apply_consent`](store::SubscriberStore), which applies it and appends it
//! to the ledger atomically; its outcome picks the confirmation (a second ALTA is "ya estás
//! suscrito").
//!
//! The citizen's 24-hour window and Meta's template categories, which the webhook also keeps,
//! are shared with the Conéctate sender and live in the `channels` crate
//! ([`channels::window`], [`channels::template_category`]); so does the opt-out a failed
//! delivery makes ([`channels::consent`]).

use jiff::Timestamp;
use schemas::{
    ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, Scope, Topic, UserAddress, UserHasher, UserKey,
};
use store::{SharedStore, StoreError};

use crate::replies::Reply;

/// Applies consent changes.
#[derive(Clone)]
pub struct Subscriptions {
    store: SharedStore,
    consent_text_version: String,
}

/// The answer that confirms an outcome.
pub fn confirmation(outcome: ConsentOutcome) -> Reply {
    let topic = match outcome {
        ConsentOutcome::Subscribed => Topic::CONECTATE_ALTA,
        ConsentOutcome::AlreadySubscribed => Topic::CONECTATE_YA_SUSCRITO,
        ConsentOutcome::Unsubscribed => Topic::CONECTATE_BAJA,
        ConsentOutcome::NotSubscribed => Topic::CONECTATE_NO_SUSCRITO,
    };
    Reply::topic(topic, Scope::Estado)
}

impl Subscriptions {
    pub fn new(store: SharedStore, consent_text_version: String) -> Subscriptions {
        Subscriptions { store, consent_text_version }
    }

    /// The version of the consent text citizens are shown, which every change records.
    pub fn consent_text_version(&self) -> &str {
        &self.consent_text_version
    }

    /// Applies one change and returns its outcome.
    pub async fn apply(&self, change: ConsentChange) -> Result<ConsentOutcome, StoreError> {
        let outcome = self.store.apply_consent(&change).await?;
        tracing::info!(user = %change.user, channel = change.channel.as_str(), ?outcome, "Applied a consent change.");
        Ok(outcome)
    }

    /// A citizen changed number: a subscription moves to the new address, with its municipio
    /// and consent version, as two ledger lines. Returns whether there was one to move.
    pub async fn move_subscription(
        &self,
        hasher: &UserHasher,
        old: UserKey,
        new: &UserAddress,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(subscriber) = self.store.subscriber(&old).await? else { return Ok(false) };
        let new_user = hasher.key(new);
        if new_user == old {
            return Ok(false);
        }
        let change = |user, address: UserAddress, action| ConsentChange {
            user,
            address,
            channel: subscriber.channel,
            business_number: subscriber.business_number.clone(),
            action,
            signal: ConsentSignal::NumberChanged,
            at,
            consent_text_version: subscriber.consent_text_version.clone(),
            municipio: subscriber.municipio,
        };
        self.store.apply_consent(&change(old, subscriber.address.clone(), ConsentAction::Unsubscribe)).await?;
        self.store.apply_consent(&change(new_user, new.clone(), ConsentAction::Subscribe)).await?;
        tracing::info!(user = %old, new_user = %new_user, "Moved a subscription to a changed number.");
        Ok(true)
    }
}
