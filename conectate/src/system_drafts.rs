//! The drafts ingest prepares from the data (`ingest::drafts`), stored as contents: ingest
//! decides what changed and writes the text; this is where it becomes a content the team sees,
//! marked with its [`Origin`], and where the day's pending draft is found and rewritten.
//!
//! Finding the pending draft reads the contents (a programme has hundreds, not millions), so
//! no key of its own has to be kept in step with them. Two runs of one source never overlap
//! (the run lease), so two drafts of one key are never created at once.

use async_trait::async_trait;
use ingest::drafts::{DraftSink, Pending, Proposal, SinkError};

use store::SharedStore;

use crate::content::{Draft, Origin};
use crate::contents;
use crate::error::ConectateError;

/// Conéctate's contents as the sink of ingest's drafts. It needs only the store: a process
/// that ingests (`contacto ingest`) has no Conéctate secrets to give.
pub struct SystemDrafts {
    store: SharedStore,
}

impl SystemDrafts {
    pub fn new(store: SharedStore) -> SystemDrafts {
        SystemDrafts { store }
    }
}

fn draft(proposal: &Proposal) -> Draft {
    Draft {
        title: proposal.title.clone(),
        text: proposal.text.clone(),
        municipios: proposal.municipios.clone(),
        ..Draft::default()
    }
}

fn origin(proposal: &Proposal) -> Origin {
    Origin {
        key: proposal.key.clone(),
        reason: proposal.reason.clone(),
        source: proposal.source.to_string(),
        run: proposal.run,
        version: proposal.version,
        from: proposal.from.clone(),
    }
}

#[async_trait]
impl DraftSink for SystemDrafts {
    async fn pending(&self, key: &str) -> Result<Option<Pending>, SinkError> {
        let contents = contents::read_after(&*self.store, 0).await?;
        let found = contents.into_iter().rev().find(|c| c.origin.as_ref().is_some_and(|o| o.key == key));
        Ok(found.map(|c| Pending {
            id: c.id,
            from: c.origin.as_ref().and_then(|o| o.from.clone()),
            rewritable: c.is_untouched_system_draft(),
        }))
    }

    async fn create(&self, proposal: &Proposal) -> Result<u64, SinkError> {
        Ok(contents::insert(&*self.store, draft(proposal), Some(origin(proposal))).await?.id)
    }

    async fn update(&self, id: u64, proposal: &Proposal) -> Result<(), SinkError> {
        let (draft, origin) = (draft(proposal), origin(proposal));
        draft.validate()?;
        contents::update(&*self.store, id, |c| {
            if !c.is_untouched_system_draft() {
                return Err(ConectateError::WrongState {
                    id,
                    state: c.state,
                    what: "el equipo ya lo tomó; el sistema no lo reescribe",
                });
            }
            c.draft = draft.clone();
            c.origin = Some(origin.clone());
            Ok(())
        })
        .await?;
        Ok(())
    }
}
