//! «¿Te refieres a…?»: when a message reads as two or three topics that score alike, the bot
//! lists those readings instead of guessing; a tap on a row, or the row's number, answers it.
//!
//! The question is assembled from the topics' labels and the municipio's name (nothing is
//! rendered from a template). Its rows carry reply ids that name the place too
//! (`t:defunciones@007`), and the session remembers the question as a menu id of its own
//! (`_q_4m7_5`, see [`menu_id`]), so a bare number picks a reading as it picks a menu's
//! entry, with nothing more stored.
//!
//! The bot also asks when a message names a place and a figure the place has no answer of its
//! own for («recuperados en Celaya»): rather than the state's figure read as Celaya's, it
//! offers the state's and the figures it has for the place ([`place_readings`]).

use schemas::{
    Answer, AnswerKey, ListMenu, ListRow, ListSection, MenuId, MunicipioId, Scope, Snapshot, Target, Topic,
    TopicCatalogue,
};

/// At most this many readings are offered.
pub const READINGS_MAX: usize = 3;

/// What opens a question's menu id: a maintainer's menu ids start with a letter.
const MENU_PREFIX: &str = "_q";

/// The menu id that stands for the question, for the session (`_q_4m7_5`: topic positions in
/// [`TopicCatalogue::all`] of the snapshot's catalogue, each with its municipio code when it
/// has one).
pub fn menu_id(readings: &[AnswerKey], topics: &TopicCatalogue) -> MenuId {
    let mut id = String::from(MENU_PREFIX);
    for key in readings.iter().take(READINGS_MAX) {
        let position = topics.all().position(|t| t == key.topic).expect("readings come from the catalogue");
        id.push_str(&format!("_{position}"));
        if let Some(m) = key.scope.municipio() {
            id.push_str(&format!("m{}", u16::from(m)));
        }
    }
    id.parse().expect("at most 3 readings fit a menu id")
}

/// The readings a question's menu id stands for; `None` for any other menu.
pub fn readings_of(menu: &MenuId, topics: &TopicCatalogue) -> Option<Vec<AnswerKey>> {
    let rest = menu.as_str().strip_prefix(MENU_PREFIX)?;
    let mut readings = Vec::new();
    for part in rest.split('_').skip(1) {
        let (topic, municipio) = match part.split_once('m') {
            Some((topic, code)) => (topic, Some(code.parse::<MunicipioId>().ok()?)),
            None => (part, None),
        };
        let topic = topics.all().nth(topic.parse::<usize>().ok()?)?;
        readings.push(AnswerKey::new(topic, municipio.map_or(Scope::Estado, Scope::Municipio)));
    }
    (!readings.is_empty()).then_some(readings)
}

/// A row's id: the topic's reply id, and the municipio's code after `@` when it has one.
pub fn reply_id(key: &AnswerKey) -> String {
    let id = Target::Topic(key.topic).reply_id();
    match key.scope.municipio() {
        Some(m) => format!("{id}@{m}"),
        None => id,
    }
}

/// The inverse of [`reply_id`], which also reads our plain ids (`t:confirmados`, `m:cifras`).
pub fn from_reply_id(id: &str, topics: &TopicCatalogue) -> Option<(Target, Scope)> {
    let (id, municipio) = match id.split_once('@') {
        Some((id, code)) => (id, Some(code.parse::<MunicipioId>().ok()?)),
        None => (id, None),
    };
    Some((Target::from_reply_id(id, topics)?, municipio.map_or(Scope::Estado, Scope::Municipio)))
}

/// "Defunciones en Celaya", "Semáforo".
pub fn reading_label(key: &AnswerKey, topics: &TopicCatalogue) -> String {
    let label = topics.label(key.topic);
    match key.scope {
        Scope::Estado => label.to_owned(),
        Scope::Municipio(_) => format!("{label} en {}", key.scope.display_name()),
    }
}

/// When `topic` differs by place ([`TopicCatalogue::differs_by_place`]) and `scope`, a municipio, has
/// no answer of its own for it: the state's answer and up to two counts the municipio has
/// (in menu order), to ask which is meant. `None` when the place has its answer, or nothing
/// else to offer (then the state's answer is sent, as for what is the same statewide).
pub fn place_readings(snapshot: &Snapshot, topic: Topic, scope: Scope) -> Option<Vec<AnswerKey>> {
    let topics = &snapshot.content.router.topics;
    if scope == Scope::Estado
        || !topics.differs_by_place(topic)
        || snapshot.answer(&AnswerKey::new(topic, scope)).is_some()
    {
        return None;
    }
    let state = AnswerKey::estado(topic);
    snapshot.answer(&state)?;
    let mut readings = vec![state];
    let place = topics
        .subjects()
        .filter(|t| *t != topic && topics.differs_by_place(*t))
        .map(|t| AnswerKey::new(t, scope))
        .filter(|k| snapshot.answer(k).is_some());
    readings.extend(place.take(READINGS_MAX - 1));
    (readings.len() > 1).then_some(readings)
}

/// The question: the readings numbered in the text (Twilio shows only the text) and as the
/// rows of a WhatsApp list.
pub fn question(readings: &[AnswerKey], topics: &TopicCatalogue) -> Answer {
    let readings = &readings[..readings.len().min(READINGS_MAX)];
    let mut text = String::from("¿Te refieres a…?\n");
    for (i, key) in readings.iter().enumerate() {
        text.push_str(&format!("\n{}. {}", i + 1, reading_label(key, topics)));
    }
    text.push_str("\n\nEscribe el número de la opción.");
    let rows = readings
        .iter()
        .map(|key| ListRow {
            id: reply_id(key),
            title: topics.label(key.topic).to_owned(),
            description: key.scope.municipio().map(|_| format!("en {}", key.scope.display_name())),
        })
        .collect();
    let list = ListMenu {
        button: "Ver opciones".into(),
        header: None,
        footer: None,
        sections: vec![ListSection { title: None, rows }],
    };
    // Labels and municipio names are within WhatsApp's limits; the text alone still asks.
    Answer::with_list(text.clone(), list).or_else(|_| Answer::text(text)).expect("a short question")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(topic: Topic, code: Option<u16>) -> AnswerKey {
        AnswerKey::new(topic, code.map_or(Scope::Estado, |c| Scope::Municipio(MunicipioId::try_from(c).unwrap())))
    }

    #[test]
    fn a_question_round_trips_through_its_menu_id_and_its_row_ids() {
        let readings = vec![
            key(Topic::from_static("defunciones"), Some(7)),
            key(Topic::from_static("recuperados"), None),
            key(Topic::from_static("transmision_comunitaria"), Some(46)),
        ];
        let topics = ingest::sources::menu::bundled_topics();
        let menu = menu_id(&readings, topics);
        assert!(menu.as_str().len() <= 32, "{menu:?}");
        assert_eq!(readings_of(&menu, topics), Some(readings.clone()));
        assert_eq!(readings_of(&MenuId::principal(), topics), None, "a maintainer's menu is not a question");
        for k in &readings {
            assert_eq!(from_reply_id(&reply_id(k), topics), Some((Target::Topic(k.topic), k.scope)));
        }
        assert_eq!(reply_id(&readings[0]), "t:defunciones@007");
        assert_eq!(from_reply_id("m:cifras", topics), Some((Target::Menu("cifras".parse().unwrap()), Scope::Estado)));
        assert_eq!(from_reply_id("t:defunciones@999", topics), None);
        assert_eq!(from_reply_id("t:dengue", topics), None, "a topic the catalogue does not have");
    }

    #[test]
    fn the_question_numbers_the_readings_in_the_text_and_lists_them() {
        let readings = [key(Topic::from_static("defunciones"), Some(7)), key(Topic::from_static("recuperados"), None)];
        let answer = question(&readings, ingest::sources::menu::bundled_topics());
        assert_eq!(
            answer.body(),
            "¿Te refieres a…?\n\n1. Defunciones en Celaya\n2. Casos recuperados\n\nEscribe el número de la opción."
        );
        let Some(schemas::Interactive::List(list)) = answer.interactive() else { panic!("a list: {answer:?}") };
        let rows: Vec<(&str, &str)> = list.sections[0].rows.iter().map(|r| (r.id.as_str(), r.title.as_str())).collect();
        assert_eq!(rows, [("t:defunciones@007", "Defunciones"), ("t:recuperados", "Casos recuperados")]);
    }
}
