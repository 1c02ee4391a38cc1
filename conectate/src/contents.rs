//! What the communications team does with contents, the same through `contacto conectate`
//! and the admin API: create, list, show, edit, canary, schedule, cancel (a draft's discard),
//! and the delivery report.
//!
//! Every change reads the content, applies one lifecycle step ([`Content`]'s methods) and
//! writes it back only if nobody changed it meanwhile (compare-and-set), re-reading a few times
//! when they did. The canary puts one delivery per staff member in the broadcast queue; the
//! sender sends it like any other, through the same checks and the same report.

use std::sync::Arc;

use channels::delivery::{Delivery, DeliveryId, Recipient};
use jiff::Timestamp;
use store::{ContentStore, QueueName, SharedStore};

use crate::config::ConectateConfig;
use crate::content::{Content, Draft, Origin};
use crate::error::ConectateError;
use crate::report::Report;
use crate::state::State;

/// How many times a change is tried again after losing a compare-and-set.
const ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct Contents {
    store: SharedStore,
    config: Arc<ConectateConfig>,
}

impl Contents {
    pub fn new(store: SharedStore, config: Arc<ConectateConfig>) -> Contents {
        Contents { store, config }
    }

    pub fn config(&self) -> &ConectateConfig {
        &self.config
    }

    /// Stores a new draft.
    pub async fn create(&self, draft: Draft) -> Result<Content, ConectateError> {
        insert(&*self.store, draft, None).await
    }

    pub async fn get(&self, id: u64) -> Result<Content, ConectateError> {
        get(&*self.store, id).await
    }

    /// Contents with ids above `after`, in id order (all of them with 0).
    pub async fn list_after(&self, after: u64) -> Result<Vec<Content>, ConectateError> {
        read_after(&*self.store, after).await
    }

    pub async fn list(&self) -> Result<Vec<Content>, ConectateError> {
        self.list_after(0).await
    }

    /// Applies `step` to the stored content and writes it back with compare-and-set.
    pub(crate) async fn update<T>(
        &self,
        id: u64,
        step: impl Fn(&mut Content) -> Result<T, ConectateError>,
    ) -> Result<(Content, T), ConectateError> {
        update(&*self.store, id, step).await
    }

    /// Replaces the content's title, text, link, image, templates and municipios (before it
    /// is scheduled).
    pub async fn edit(&self, id: u64, draft: Draft) -> Result<Content, ConectateError> {
        let (content, ()) = self.update(id, |c| c.edit(draft.clone(), Timestamp::now())).await?;
        tracing::info!(content = id, "Conéctate content edited.");
        Ok(content)
    }

    /// Sends the content to the staff list now (a new round each time), before scheduling.
    pub async fn canary(&self, id: u64) -> Result<Content, ConectateError> {
        if self.config.staff.is_empty() {
            return Err(ConectateError::NoStaff);
        }
        let Some((channel, business_number)) = self.config.canary_origin.clone() else {
            return Err(ConectateError::NoChannel);
        };
        let staff = u32::try_from(self.config.staff.len()).unwrap_or(u32::MAX);
        let (content, round) = self.update(id, |c| c.start_canary(staff, Timestamp::now())).await?;
        let deliveries: Vec<Vec<u8>> = self
            .config
            .staff
            .iter()
            .map(|(user, address)| {
                Delivery {
                    id: DeliveryId { content: id, user: *user, canary: Some(round), resend: false },
                    to: Some(Recipient { address: address.clone(), channel, business_number: business_number.clone() }),
                    attempt: 0,
                    template_only: false,
                }
                .encode()
            })
            .collect();
        self.store.enqueue(QueueName::Broadcast, &deliveries).await?;
        tracing::info!(content = id, round, staff, "Conéctate canary queued for the staff.");
        Ok(content)
    }

    /// Schedules the content for `at`, or now.
    pub async fn schedule(&self, id: u64, at: Option<Timestamp>) -> Result<Content, ConectateError> {
        let current = self.get(id).await?;
        self.check_templates(&current)?;
        let require = self.config.require_canary;
        let (content, ()) = self
            .update(id, |c| {
                let now = Timestamp::now();
                c.schedule(at.unwrap_or(now), require, now)
            })
            .await?;
        tracing::info!(content = id, at = ?content.scheduled_for, "Conéctate content scheduled.");
        Ok(content)
    }

    /// Subscribers outside the 24-hour window can only get a template: a content without one
    /// (and no default) would skip them all, so it is not scheduled.
    fn check_templates(&self, content: &Content) -> Result<(), ConectateError> {
        let c = &self.config;
        let missing = c.channels.iter().find(|(channel, outside)| {
            outside.default_template.is_none() && content.draft.own_template(**channel).is_none()
        });
        if let Some((_, outside)) = missing {
            let (field, setting) = (outside.field, outside.setting);
            return Err(ConectateError::Invalid {
                field,
                message: format!(
                    "falta la plantilla aprobada para quien no ha escrito en las últimas 24 horas \
                     (indícala en el aviso o define {setting})"
                ),
            });
        }
        Ok(())
    }

    /// Cancels the content, only before sending starts.
    pub async fn cancel(&self, id: u64) -> Result<Content, ConectateError> {
        let (content, ()) = self.update(id, |c| c.cancel(Timestamp::now())).await?;
        tracing::info!(content = id, "Conéctate content cancelled.");
        Ok(content)
    }

    /// The delivery report, from the counts the sender and the statuses keep.
    pub async fn report(&self, id: u64) -> Result<Report, ConectateError> {
        let content = self.get(id).await?;
        let counts = self.store.report_counts(id).await?;
        Ok(Report::new(&content, &counts))
    }

    /// Whether the content is still to be (or being) sent.
    pub fn is_open(content: &Content) -> bool {
        !matches!(content.state, State::Done | State::Cancelled)
    }
}

/// Contents with ids above `after`, in id order, read straight from the store (the programme
/// report reads them without the rest of the Conéctate configuration).
pub async fn read_after(store: &dyn ContentStore, after: u64) -> Result<Vec<Content>, ConectateError> {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let page = store.content_records(after, 500).await?;
        let Some((last, _)) = page.last() else { return Ok(out) };
        after = *last;
        for (id, stored) in page {
            out.push(
                Content::decode(&stored.record, stored.revision)
                    .map_err(|cause| ConectateError::Corrupt { record: format!("aviso {id}"), cause })?,
            );
        }
    }
}

/// Stores a new draft, prepared by the system when `origin` says why. Contents are kept by the
/// store alone, so the system drafts need none of the rest of the configuration.
pub(crate) async fn insert(
    store: &dyn ContentStore,
    draft: Draft,
    origin: Option<Origin>,
) -> Result<Content, ConectateError> {
    draft.validate()?;
    let id = store.next_content_id().await?;
    let mut content = Content::new(id, draft, Timestamp::now());
    content.origin = origin;
    content.revision = store.put_content_record(id, 0, &content.encode()).await?.ok_or(ConectateError::Conflict(id))?;
    tracing::info!(content = id, "Conéctate content created.");
    Ok(content)
}

pub(crate) async fn get(store: &dyn ContentStore, id: u64) -> Result<Content, ConectateError> {
    let stored = store.content_record(id).await?.ok_or(ConectateError::NotFound(id))?;
    Content::decode(&stored.record, stored.revision)
        .map_err(|cause| ConectateError::Corrupt { record: format!("aviso {id}"), cause })
}

/// Applies `step` to the stored content and writes it back with compare-and-set, reading it
/// again when another writer got there first.
pub(crate) async fn update<T>(
    store: &dyn ContentStore,
    id: u64,
    step: impl Fn(&mut Content) -> Result<T, ConectateError>,
) -> Result<(Content, T), ConectateError> {
    for _ in 0..ATTEMPTS {
        let mut content = get(store, id).await?;
        let out = step(&mut content)?;
        if let Some(revision) = store.put_content_record(id, content.revision, &content.encode()).await? {
            content.revision = revision;
            return Ok((content, out));
        }
    }
    Err(ConectateError::Conflict(id))
}
