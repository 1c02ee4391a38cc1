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
//! It also keeps each citizen's 24-hour customer service window per business number
//! ([`window_opened`], read back with [`window_left`]): inside it the Conéctate sender may send
//! free-form contents, outside it only an approved template. And a send that fails with 131050
//! (the citizen stopped marketing messages) is an opt-out ([`Subscriptions::opt_out_after_failure`]).
//!
//! And Meta's latest category of each template ([`template_category_changed`], read back with
//! [`stored_category`]), which decides whether the sender uses the Marketing Messages API.

use std::time::Duration;

use jiff::Timestamp;
use schemas::{
    ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, KeyLayout, Scope, TemplateCategory, Topic,
    UserAddress, UserHasher, UserKey,
};
use store::{KvOp, SharedStore, StoreError};

use crate::channels::{InboundMessage, TemplateCategoryEvent, rate_bucket};
use crate::replies::Reply;

/// WhatsApp's customer service window: each message from a citizen opens it (or starts it
/// again) for this long, per business number.
pub const SERVICE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The write that opens or refreshes the window of `message`'s sender: the time the citizen
/// wrote, under a key that expires when the window closes. `None` when the message is already
/// older than the window (a platform retry days later).
pub fn window_opened(keys: &KeyLayout, message: &InboundMessage, user: UserKey, now: Timestamp) -> Option<KvOp> {
    let at = message.sent_at.unwrap_or(now).min(now);
    let age = now.duration_since(at).unsigned_abs();
    let left = SERVICE_WINDOW.checked_sub(age).filter(|d| !d.is_zero())?;
    Some(KvOp::Put {
        key: keys.service_window(&rate_bucket(message.channel, &message.business_number), &user),
        value: at.as_second().to_string().into_bytes(),
        ttl: Some(left),
    })
}

/// What is left of a window from its stored value (see [`window_opened`]); `None` when closed.
pub fn window_left(stored: Option<&[u8]>, now: Timestamp) -> Option<Duration> {
    let seconds: i64 = std::str::from_utf8(stored?).ok()?.parse().ok()?;
    let age = now.duration_since(Timestamp::from_second(seconds).ok()?);
    let age = if age.is_negative() { Duration::ZERO } else { age.unsigned_abs() };
    SERVICE_WINDOW.checked_sub(age).filter(|d| !d.is_zero())
}

/// Meta changed a template's category: the write that keeps it, read by every sender before a
/// template send ([`stored_category`]). A change still to come is only logged: Meta asks to
/// route on a category once it changed, never on the one announced.
pub fn template_category_changed(keys: &KeyLayout, update: &TemplateCategoryEvent) -> Option<KvOp> {
    let TemplateCategoryEvent { name, language, category, impending } = update;
    if *impending {
        tracing::info!(template = %name, %language, %category, "Meta will change a template's category.");
        return None;
    }
    tracing::info!(template = %name, %language, %category, "Meta changed a template's category.");
    Some(KvOp::Put {
        key: keys.template_category(name, language),
        value: category.as_str().as_bytes().to_vec(),
        ttl: None,
    })
}

/// A template's category as [`template_category_changed`] stored it.
pub fn stored_category(stored: Option<&[u8]>) -> Option<TemplateCategory> {
    std::str::from_utf8(stored?).ok()?.parse().ok()
}

/// Applies consent changes.
#[derive(Clone)]
pub struct Subscriptions {
    store: SharedStore,
    consent_text_version: String,
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

    /// A send to `user` failed with an opt-out code (Meta 131050, Twilio 21610): the
    /// subscription ends, ledgered with the platform's signal. Returns whether there was one.
    pub async fn opt_out_after_failure(&self, user: UserKey, code: u32, at: Timestamp) -> Result<bool, StoreError> {
        let Some(subscriber) = self.store.subscriber(&user).await? else { return Ok(false) };
        let outcome = self
            .store
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
