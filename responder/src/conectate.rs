//! Conéctate subscriptions as the responder sees them: the signals that change consent and the
//! answer that confirms each change once.
//!
//! Signals: the ALTA/BAJA keywords and their variants (keyword rules of the router table whose
//! target is `conectate_alta` or `conectate_baja`), a template's quick-reply payload or
//! Twilio's `ButtonPayload` matching one of them, Meta's `user_preferences` stop/resume, and a
//! `system` number change (which moves the subscription). Every change goes through
//! [`SubscriberStore::apply_consent`](store::SubscriberStore), which applies it and appends it
//! to the ledger atomically; its outcome picks the confirmation (a second ALTA is "ya estás
//! suscrito").
//!
//! The Conéctate issue builds on this module: the ledger export, contents, the broadcast
//! sender and the 131050-as-opt-out signal from send failures.

use jiff::Timestamp;
use schemas::{
    ChannelKind, ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, MunicipioId, Scope, Topic, UserAddress,
    UserHasher, UserKey,
};
use store::{SharedStore, StoreError};

use crate::replies::Reply;

/// Applies consent changes.
#[derive(Clone)]
pub struct Subscriptions {
    store: SharedStore,
    consent_text_version: String,
}

/// One requested change, before the store decides its outcome.
#[derive(Clone, Debug)]
pub struct Request {
    pub user: UserKey,
    pub address: UserAddress,
    pub channel: ChannelKind,
    pub business_number: String,
    pub action: ConsentAction,
    pub signal: ConsentSignal,
    pub at: Timestamp,
    /// A municipio named with ALTA ("alta León") targets contents to it.
    pub scope: Scope,
}

/// The topic of an intent when it is a consent change.
pub fn action_of(topic: Topic) -> Option<ConsentAction> {
    match topic {
        Topic::ConectateAlta => Some(ConsentAction::Subscribe),
        Topic::ConectateBaja => Some(ConsentAction::Unsubscribe),
        _ => None,
    }
}

/// The answer that confirms an outcome.
pub fn confirmation(outcome: ConsentOutcome) -> Reply {
    let topic = match outcome {
        ConsentOutcome::Subscribed => Topic::ConectateAlta,
        ConsentOutcome::AlreadySubscribed => Topic::ConectateYaSuscrito,
        ConsentOutcome::Unsubscribed => Topic::ConectateBaja,
        ConsentOutcome::NotSubscribed => Topic::ConectateNoSuscrito,
    };
    Reply::topic(topic, Scope::Estado)
}

impl Subscriptions {
    pub fn new(store: SharedStore, consent_text_version: String) -> Subscriptions {
        Subscriptions { store, consent_text_version }
    }

    /// Applies one change and returns its outcome.
    pub async fn apply(&self, request: Request) -> Result<ConsentOutcome, StoreError> {
        let municipio: Option<MunicipioId> = match request.scope {
            Scope::Municipio(id) => Some(id),
            Scope::Estado => None,
        };
        let outcome = self
            .store
            .apply_consent(&ConsentChange {
                user: request.user,
                address: request.address,
                channel: request.channel,
                business_number: request.business_number,
                action: request.action,
                signal: request.signal,
                at: request.at,
                consent_text_version: self.consent_text_version.clone(),
                municipio,
            })
            .await?;
        tracing::info!(user = %request.user, channel = request.channel.as_str(), ?outcome, "Applied a consent change.");
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
