//! «Probar el bot»: what the bot answers to a message, from the answers citizens read now.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /bot/try` | `{"text": "casos en León"}` or `{"choice": "t:confirmados"}` (a row or button of an earlier answer, tapped), with `"menu"` the previous trial's menu: what the message is understood as and the answer, exactly as WhatsApp would show it |
//!
//! The decision is the responder's own ([`responder::trial`]), from the current snapshot
//! through the process's mirror, so the console can show maintainers and the communications
//! team how a phrase is routed after a keyword or menu change. Nothing is written: a trial is
//! not counted, subscribes no one and sends nothing.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use channels::Content;
use responder::mirror::Mirror;
use responder::replies::Reply;
use schemas::{Answer, ConsentAction, MenuId, MunicipioId, SnapshotVersion, Topic};
use serde::{Deserialize, Serialize};
use store::SharedStore;

use crate::Routes;
use crate::error::ApiError;

/// WhatsApp's longest text message.
const MAX_TEXT_CHARS: usize = 4096;

#[derive(Clone)]
struct Bot {
    store: SharedStore,
    mirror: Arc<Mirror>,
}

/// The trial route over `mirror`, which each trial brings up to date with the store first (the
/// responder's own mirror where the responder runs in the same process).
pub fn routes(store: SharedStore, mirror: Arc<Mirror>) -> Routes {
    Routes::default().post("/bot/try", try_message).with_state(Bot { store, mirror })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryRequest {
    /// What the citizen writes.
    #[serde(default)]
    text: Option<String>,
    /// The id of a list row or button the citizen taps.
    #[serde(default)]
    choice: Option<String>,
    /// The menu shown last, from the previous trial's `menu`.
    #[serde(default)]
    menu: Option<String>,
}

#[derive(Serialize)]
struct Tried {
    /// The version of the answers tried; `null` before anything is published.
    version: Option<SnapshotVersion>,
    /// In Spanish, what the message was understood as.
    understood_as: String,
    /// The topic the interaction would count under.
    topic: Option<Topic>,
    /// The municipio whose answer this is (the state's when `null`).
    municipio: Option<MunicipioId>,
    /// The menu shown by this answer, when it is one.
    shows_menu: Option<MenuId>,
    /// The Conéctate change a citizen's message would make (none is made).
    consent: Option<ConsentAction>,
    /// What the citizen reads; `null` when the bot answers nothing.
    answer: Option<Answer>,
    /// The menu a bare number refers to next: send it back as `menu`.
    menu: Option<MenuId>,
}

async fn try_message(
    State(bot): State<Bot>,
    crate::error::Json(request): crate::error::Json<TryRequest>,
) -> Result<Json<Tried>, ApiError> {
    let content = match (request.text, request.choice) {
        (Some(text), None) if text.trim().is_empty() => {
            return Err(ApiError::invalid("text", "escribe un mensaje como lo haría un ciudadano"));
        }
        (Some(text), None) if text.chars().count() > MAX_TEXT_CHARS => {
            return Err(ApiError::invalid(
                "text",
                format!(
                    "un mensaje de WhatsApp tiene como máximo {} caracteres",
                    schemas::es_mx::integer(MAX_TEXT_CHARS as i64)
                ),
            ));
        }
        (Some(body), None) => Content::Text { body },
        (None, Some(id)) if !id.trim().is_empty() => Content::Reply { title: id.clone(), id },
        (None, Some(_)) => return Err(ApiError::invalid("choice", "falta el id de la opción elegida")),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dato_invalido",
                "da `text` (lo que escribe el ciudadano) o `choice` (la opción que elige), uno de los dos",
            ));
        }
    };
    let menu: Option<MenuId> = match request.menu.filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(m.parse().map_err(|e| ApiError::invalid("menu", e))?),
    };
    bot.mirror.refresh(&bot.store).await?;
    let prepared = bot.mirror.current();
    let trial = responder::trial::answer(prepared.as_deref(), &content, menu.as_ref());
    let (municipio, shows_menu) = match &trial.reply {
        Some(Reply::Answer { key }) => (key.scope.municipio(), None),
        Some(Reply::Menu { menu }) => (None, Some(menu.clone())),
        _ => (None, None),
    };
    Ok(Json(Tried {
        version: prepared.map(|p| p.snapshot.version),
        understood_as: trial.understood_as(),
        topic: trial.reply.as_ref().and_then(Reply::counted_topic),
        municipio,
        shows_menu,
        consent: trial.consent,
        answer: trial.answer,
        menu: trial.menu,
    }))
}
