//! «Sin entender»: what citizens wrote that the bot did not understand, for maintainers to add
//! keywords, as `contacto sin-entender` shows it.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /unmatched` | the phrases at least `responder.unmatched_min_citizens` distinct citizens wrote in the last `responder.unmatched_days` days (already masked by the responder), with citizens, first and last seen and the closest topics; and the topics a phrase may be given |
//! | `GET /unmatched/keyword-change?phrase=…&topic=…` | the exact change to the menu file that makes the phrase lead to the topic, and the commands that try it |
//!
//! Phrases fewer citizens wrote never leave the store: the threshold is applied by the store's
//! query, not by the page. The change is computed, never written: a maintainer applies it and
//! publishes the menu the usual way.

use std::path::PathBuf;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ingest::keyword_change::{KeywordChange, KeywordChangeError, keyword_change};
use jiff::Timestamp;
use responder::understanding::Understanding;
use schemas::Topic;
use serde::Serialize;
use settings::Settings;

use crate::error::{ApiError, Params};
use crate::{Ops, Routes};

/// Topics suggested per phrase.
const SUGGESTIONS: usize = 3;

/// What «Sin entender» shows and where keywords are declared, from the configuration.
#[derive(Clone, Debug)]
pub struct UnmatchedView {
    /// `responder.unmatched_min_citizens`.
    pub min_citizens: u64,
    /// `responder.unmatched_days`.
    pub days: u64,
    pub keep: Duration,
    /// The menu file as the configuration names it and the path to read, when it is local.
    pub menu_file: Option<(String, PathBuf)>,
}

impl UnmatchedView {
    pub fn from_settings(settings: &Settings) -> UnmatchedView {
        let r = &settings.responder;
        UnmatchedView {
            min_citizens: r.unmatched_min_citizens,
            days: r.unmatched_days,
            keep: r.unmatched_keep(),
            menu_file: ingest::keyword_change::menu_file(settings),
        }
    }
}

pub fn routes(ops: Ops) -> Routes {
    Routes::default().get("/unmatched", list).get("/unmatched/keyword-change", change).with_state(ops)
}

#[derive(Serialize)]
struct Listing {
    min_citizens: u64,
    days: u64,
    phrases: Vec<Phrase>,
    /// The topics a phrase may be given, in menu order.
    topics: Vec<TopicChoice>,
}

#[derive(Serialize)]
struct Phrase {
    phrase: String,
    citizens: u64,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The topics whose keywords come closest, the closest first; empty before anything is
    /// published or when none is close.
    closest_topics: Vec<Topic>,
}

#[derive(Serialize)]
struct TopicChoice {
    topic: Topic,
    label: String,
}

async fn list(State(ops): State<Ops>, params: Params) -> Result<Json<Listing>, ApiError> {
    params.only(&[])?;
    let view = &ops.unmatched;
    let found = ops.store.unmatched(view.min_citizens, Timestamp::now(), view.keep).await?;
    let snapshot = ops.store.current_snapshot().await?;
    let understanding = snapshot.as_ref().map(|s| Understanding::compile(&s.content.router));
    let phrases = found
        .into_iter()
        .map(|p| Phrase {
            closest_topics: understanding
                .as_ref()
                .map(|u| u.closest_topics(&p.phrase, SUGGESTIONS))
                .unwrap_or_default(),
            phrase: p.phrase,
            citizens: p.citizens,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
        })
        .collect();
    let catalogue = ingest::sources::menu::in_force(snapshot.as_ref().map(|s| &s.content.router.topics));
    let topics = catalogue.topics.iter().map(|e| TopicChoice { topic: e.topic, label: e.name.clone() }).collect();
    Ok(Json(Listing { min_citizens: view.min_citizens, days: view.days, phrases, topics }))
}

#[derive(Serialize)]
struct Change {
    /// The menu file, as the configuration names it.
    file: String,
    keyword: String,
    topic: Topic,
    /// The line (from 1) the change is at.
    line: usize,
    /// The line replaced, when one is.
    removed: Option<String>,
    added: Vec<String>,
    /// The change as text: `-` the line removed, `+` the lines added.
    diff: String,
    /// The commands that try the changed file before publishing it.
    try_with: Vec<String>,
}

async fn change(State(ops): State<Ops>, params: Params) -> Result<Json<Change>, ApiError> {
    let params = params.only(&["phrase", "topic"])?;
    let phrase = params.text("phrase").filter(|p| !p.trim().is_empty());
    let phrase = phrase.ok_or_else(|| ApiError::bad_parameter("phrase", "falta la frase"))?;
    let topic = params.text("topic").ok_or_else(|| ApiError::bad_parameter("topic", "falta el tema"))?;
    let published = ops.store.current_snapshot().await?;
    let catalogue = ingest::sources::menu::in_force(published.as_ref().map(|s| &s.content.router.topics));
    let topic = catalogue.find(topic).map_err(|e| ApiError::bad_parameter("topic", e))?;
    let Some((file, path)) = &ops.unmatched.menu_file else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "menu_no_local",
            "la fuente del menú no se lee de un archivo local (file://…): haz el cambio en el archivo que se publica",
        ));
    };
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "menu_ilegible",
            format!("no se pudo leer el archivo del menú {file}: {e}"),
        )
    })?;
    let change: KeywordChange = keyword_change(&text, phrase, topic).map_err(|e| match e {
        KeywordChangeError::NotASubject(_) => ApiError::bad_parameter("topic", e),
        _ => ApiError::bad_parameter("phrase", e),
    })?;
    Ok(Json(Change {
        diff: change.diff(file),
        try_with: change.how_to_try(file),
        file: file.clone(),
        keyword: change.keyword,
        topic: change.topic,
        line: change.line,
        removed: change.removed,
        added: change.added,
    }))
}
