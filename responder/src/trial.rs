//! «Probar el bot»: what the bot would answer to a message, for the console, decided by the
//! same code as a webhook's answer
//! ([`Understanding::understand_content`](crate::understanding::Understanding::understand_content)
//! and [`Asked`]) from
//! the same snapshot, and resolved as the outbox worker resolves it ([`Reply::resolve`]).
//!
//! Nothing is written: a trial is not counted, changes no subscription, keeps no session and
//! sends nothing. The caller carries the last menu shown from one trial to the next, as the
//! store does for a citizen.

use schemas::{Answer, ConsentAction, ConsentOutcome, MenuId, Scope, Target, TopicCatalogue};

use crate::conectate::confirmation;
use crate::mirror::Prepared;
use crate::replies::{Asked, Reply};
use crate::understanding::Intent;
use channels::Content;

/// What the bot answers to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trial {
    /// What the message was understood as; `None` without a snapshot, or for what asks
    /// nothing (a reaction).
    pub intent: Option<Intent>,
    /// The Conéctate change a citizen's message would make (nothing changes in a trial).
    pub consent: Option<ConsentAction>,
    /// The reply, by reference; `None` when the bot answers nothing.
    pub reply: Option<Reply>,
    /// Exactly what the citizen would read.
    pub answer: Option<Answer>,
    /// The menu a bare number refers to next.
    pub menu: Option<MenuId>,
    /// A municipio was asked for, but the topic has no answer of its own there (the hospital
    /// list has, the vaccination figures have not): the state's answer is sent.
    pub state_answer_instead: bool,
    /// The snapshot's topic catalogue, for the topics' names.
    pub topics: TopicCatalogue,
}

/// The bot's answer to `content` from `prepared` (none: nothing published yet), with
/// `last_menu` the menu shown last.
pub fn answer(prepared: Option<&Prepared>, content: &Content, last_menu: Option<&MenuId>) -> Trial {
    let mut trial = Trial {
        intent: None,
        consent: None,
        reply: None,
        answer: None,
        menu: last_menu.cloned(),
        state_answer_instead: false,
        topics: prepared.map(|p| p.snapshot.content.router.topics.clone()).unwrap_or_default(),
    };
    let reply = match prepared {
        None => Some(Reply::NotReady),
        Some(p) => {
            trial.intent = p
                .understanding
                .understand_content(&p.snapshot.content.router, content, last_menu)
                .map(|intent| intent.for_answers(&p.snapshot));
            trial.intent.clone().map(|intent| match Asked::of(intent, &trial.topics) {
                Asked::Reply { reply, shows } => {
                    trial.menu = shows.or(trial.menu.take());
                    reply
                }
                Asked::Consent { action, .. } => {
                    trial.consent = Some(action);
                    // As for someone not subscribed yet, or subscribed until now.
                    confirmation(match action {
                        ConsentAction::Subscribe => ConsentOutcome::Subscribed,
                        ConsentAction::Unsubscribe => ConsentOutcome::Unsubscribed,
                    })
                }
            })
        }
    };
    if let (Some(p), Some(Reply::Answer { key })) = (prepared, &reply) {
        trial.state_answer_instead = key.scope != Scope::Estado && p.snapshot.answer(key).is_none();
    }
    trial.answer = reply.as_ref().map(|r| r.resolve(prepared).into_owned());
    trial.reply = reply;
    trial
}

impl Trial {
    /// In Spanish, what the message was understood as: "Casos confirmados en León", "el menú
    /// «cifras»", "ningún tema reconocido (se responde con la ayuda)".
    pub fn understood_as(&self) -> String {
        let Some(intent) = &self.intent else {
            return match self.reply {
                Some(Reply::NotReady) => "todavía no hay respuestas publicadas".into(),
                _ => "nada que responder".into(),
            };
        };
        match (intent, self.consent) {
            (_, Some(ConsentAction::Subscribe)) => "Conéctate: alta (en la prueba no se suscribe a nadie)".into(),
            (_, Some(ConsentAction::Unsubscribe)) => "Conéctate: baja (en la prueba no se da de baja a nadie)".into(),
            (Intent::Help, None) => "ningún tema reconocido (se responde con la ayuda)".into(),
            (Intent::Ask { readings }, None) => format!(
                "dudoso: se pregunta «¿Te refieres a…?» con {} (con un número o un toque en la lista se contesta)",
                readings
                    .iter()
                    .map(|k| format!("«{}»", crate::asking::reading_label(k, &self.topics)))
                    .collect::<Vec<_>>()
                    .join(" o ")
            ),
            (Intent::Show { target: Target::Menu(menu), .. }, None) => menu_name(menu),
            (Intent::Show { target: Target::Topic(topic), scope }, None) => match scope {
                Scope::Estado => self.topics.label(*topic).to_owned(),
                Scope::Municipio(_) if self.state_answer_instead => format!(
                    "{} en {} (no hay respuesta propia del municipio: se contesta con la del estado)",
                    self.topics.label(*topic),
                    scope.display_name()
                ),
                Scope::Municipio(_) => format!("{} en {}", self.topics.label(*topic), scope.display_name()),
            },
        }
    }
}

/// "el menú principal", "el menú «cifras»".
pub fn menu_name(menu: &MenuId) -> String {
    if *menu == MenuId::principal() { "el menú principal".into() } else { format!("el menú «{}»", menu.as_str()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{Snapshot, SnapshotVersion, Topic};

    fn text(body: &str) -> Content {
        Content::Text { body: body.into() }
    }

    fn prepared() -> Prepared {
        let content = testkit::fixture_snapshot();
        Prepared::new(Snapshot { version: SnapshotVersion(3), created_at: jiff::Timestamp::UNIX_EPOCH, content })
    }

    #[test]
    fn a_number_after_a_sub_menu_is_that_menus_entry_and_the_context_carries_on() {
        let p = prepared();
        let first = answer(Some(&p), &text("1"), None);
        let cifras = &p.snapshot.content.router.menu(&"cifras".parse().unwrap()).unwrap().answer;
        assert_eq!(first.answer.as_ref(), Some(cifras));
        assert_eq!(first.menu, Some("cifras".parse().unwrap()));
        let second = answer(Some(&p), &text("4"), first.menu.as_ref());
        assert_eq!(second.reply, Some(Reply::topic(Topic::from_static("defunciones"), Scope::Estado)));
        assert_eq!(second.understood_as(), "Defunciones");
        let expected = &p.snapshot.answer_for(Topic::from_static("defunciones"), Scope::Estado).unwrap().answer;
        assert_eq!(second.answer.as_ref(), Some(expected), "the published answer, as a citizen reads it");
        assert_eq!(second.menu, first.menu, "a topic answer leaves the last menu in place");
    }

    #[test]
    fn a_municipio_in_the_sentence_is_named_and_consent_is_only_described() {
        let p = prepared();
        let leon = answer(Some(&p), &text("¿Cuántos CASOS hay en leon?"), None);
        assert_eq!(leon.understood_as(), "Casos confirmados en León");
        let symptoms = answer(Some(&p), &text("síntomas en León"), None);
        assert_eq!(
            symptoms.understood_as(),
            "Signos y síntomas en León (no hay respuesta propia del municipio: se contesta con la del estado)"
        );
        assert_eq!(
            symptoms.answer.as_ref(),
            Some(&p.snapshot.answer_for(Topic::from_static("sintomas"), Scope::Estado).unwrap().answer)
        );
        let alta = answer(Some(&p), &text("ALTA"), None);
        assert_eq!(alta.consent, Some(ConsentAction::Subscribe));
        assert_eq!(alta.reply, Some(confirmation(ConsentOutcome::Subscribed)));
        assert!(alta.understood_as().contains("no se suscribe a nadie"), "{}", alta.understood_as());
        let help = answer(Some(&p), &text("qwerty"), None);
        assert_eq!(
            (help.reply.clone(), help.understood_as().as_str()),
            (Some(Reply::Help), "ningún tema reconocido (se responde con la ayuda)")
        );
        let tapped = answer(Some(&p), &Content::Reply { id: "m:cifras".into(), title: "Cifras".into() }, None);
        assert_eq!(tapped.understood_as(), "el menú «cifras»");
        let reaction = answer(Some(&p), &Content::Reaction, None);
        assert_eq!((reaction.answer.is_none(), reaction.understood_as().as_str()), (true, "nada que responder"));
    }

    #[test]
    fn a_message_that_reads_two_ways_is_explained_as_a_question_and_a_number_answers_it() {
        let p = prepared();
        let asked = answer(Some(&p), &text("muertes y recuperados en Celaya"), None);
        assert_eq!(
            asked.understood_as(),
            "dudoso: se pregunta «¿Te refieres a…?» con «Defunciones en Celaya» o «Casos recuperados» (con un \
             número o un toque en la lista se contesta)"
        );
        assert!(asked.answer.as_ref().unwrap().body().starts_with("¿Te refieres a…?"));
        let first = answer(Some(&p), &text("1"), asked.menu.as_ref());
        assert_eq!(first.understood_as(), "Defunciones en Celaya");
    }

    #[test]
    fn a_figure_the_place_has_no_answer_for_is_explained_as_a_question() {
        let p = prepared();
        let asked = answer(Some(&p), &text("recuperados en Celaya"), None);
        assert_eq!(
            asked.understood_as(),
            "dudoso: se pregunta «¿Te refieres a…?» con «Casos recuperados» o «Casos confirmados en Celaya» o \
             «Defunciones en Celaya» (con un número o un toque en la lista se contesta)"
        );
        let second = answer(Some(&p), &text("2"), asked.menu.as_ref());
        assert_eq!(second.understood_as(), "Casos confirmados en Celaya");
    }

    #[test]
    fn without_a_snapshot_the_citizen_reads_the_getting_ready_text() {
        let trial = answer(None, &text("hola"), None);
        assert_eq!(trial.answer.as_ref().unwrap().body(), crate::replies::NOT_READY_TEXT);
        assert_eq!(trial.understood_as(), "todavía no hay respuestas publicadas");
    }
}
