//! From a citizen's words to what to answer, with the router table of the current snapshot.
//!
//! The text is normalised ([`schemas::normalize`]: case, accents, punctuation, emoji, every
//! kind of space) and then, in order:
//! 1. a bare number ("2", "dos") picks an entry of the last menu shown (the main menu if none),
//!    or a reading of the last question asked ([`crate::asking`]);
//! 2. the municipio is found anywhere in the sentence (catalogue names and aliases plus the
//!    table's own, longest first), with the short forms of the words inside place names
//!    ("Sn", "Sta", "Dr", "Cd": [`words::place_word`]) read in full, so "casos en Sn Luis de
//!    la Paz" is confirmados for San Luis de la Paz;
//! 3. keywords and phrases of the table are found in the rest on their Spanish stems
//!    ([`words::stem`]: "vacunarme" finds "vacunas", "contagiados" finds "contagios"), with the
//!    small words people put inside a phrase skipped («recibir *los* avisos» is «recibir
//!    avisos»: [`words::is_function_word`]); a Conéctate keyword of one word only as written
//!    ("alta" is not "alto"), and an opt-in with a negation shortly before it («no quiero
//!    recibir avisos») is read as the opt-out, never as a subscription; right after a negation
//!    any form of an opt-in word counts («nunca me suscribí»), since it can only lead to the
//!    opt-out;
//! 4. the most specific reading wins: a topic's before a Conéctate word alone or «ayuda»,
//!    those before a greeting's or a menu's; then a phrase with a word of its own topic before
//!    one made only of words several topics share («casos» alone is confirmados, «casos de
//!    muertes» is defunciones); then the longest. When two topics both have words of their
//!    own («muertes y recuperados»), the bot asks which ([`Intent::Ask`]);
//! 5. when no topic matched exactly, words of five letters or more are matched with typos
//!    (one edit, two from eight letters: "sintomaz", "irapuatro") that keep the word's first
//!    sound ("bacunas" is vacunas, "dolor" is not color); never an opt-in; and a word read in
//!    full from a short form is never taken for a typo of another («Pto Nuevo» is Puerto Nuevo,
//!    not Pueblo Nuevo);
//! 6. a municipio alone means its confirmed cases; nothing at all means help.
//!
//! [`closest`] suggests the topics nearest to a phrase not understood, for «Sin entender».
//!
//! [`Understanding::compile`] indexes the table once per snapshot (stems included), so matching
//! a message costs a few hash lookups, a stem per word and small vectors of its words.

mod closest;
mod words;

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use schemas::normalize::normalize;
use schemas::{AnswerKey, MenuId, MunicipioId, RouterTable, Scope, Snapshot, Target, Topic, TopicCatalogue, catalogue};

use crate::asking;
use channels::Content;

/// What the citizen asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// A topic (for a scope) or a menu.
    Show { target: Target, scope: Scope },
    /// Two or three topics read alike: ask which one was meant.
    Ask { readings: Vec<AnswerKey> },
    /// Nothing we understood: the help answer.
    Help,
}

impl Intent {
    fn topic(topic: Topic, scope: Scope) -> Intent {
        Intent::Show { target: Target::Topic(topic), scope }
    }

    /// The intent against the answers of `snapshot`: a figure asked for a place that has no
    /// answer of its own for it becomes the question of [`asking::place_readings`]. Two or
    /// three lookups in memory, and only for a topic asked with a place.
    pub fn for_answers(self, snapshot: &Snapshot) -> Intent {
        if let Intent::Show { target: Target::Topic(topic), scope: scope @ Scope::Municipio(_) } = &self
            && let Some(readings) = asking::place_readings(snapshot, *topic, *scope)
        {
            return Intent::Ask { readings };
        }
        self
    }
}

/// A phrase of one or more words and what it leads to.
#[derive(Clone, Debug)]
struct Phrase<T> {
    /// What a message's words are compared with: stems for keywords, words for places.
    keys: Vec<String>,
    /// The words as written, for phrases matched only as written.
    words: Vec<String>,
    /// Matched only as written, not by stem.
    as_written: bool,
    /// Matched with typos too.
    fuzzy: bool,
    /// The phrase as one string, for typo matching.
    joined: String,
    value: T,
}

/// Phrases indexed by their first key, longest first within each list.
#[derive(Clone, Debug)]
struct PhraseIndex<T> {
    by_first_key: HashMap<String, Vec<Phrase<T>>>,
    all: Vec<Phrase<T>>,
    /// Whether a phrase's words may have small words in between as people write them
    /// ([`words::is_function_word`]): keywords yes, place names no.
    gaps: bool,
}

/// A phrase found in a message.
struct Match<'a, T> {
    start: usize,
    /// The words of the message it covers, small words in between included.
    span: usize,
    /// The words of the phrase itself, what «the longest» compares.
    len: usize,
    value: &'a T,
}

impl<T: Clone> PhraseIndex<T> {
    fn new(phrases: impl IntoIterator<Item = Phrase<T>>, gaps: bool) -> Self {
        let mut by_first_key: HashMap<String, Vec<Phrase<T>>> = HashMap::new();
        let mut all = Vec::new();
        for phrase in phrases {
            let Some(first) = phrase.keys.first().cloned() else { continue };
            all.push(phrase.clone());
            by_first_key.entry(first).or_default().push(phrase);
        }
        for list in by_first_key.values_mut() {
            // Stable: among phrases of one length, the table's order decides.
            list.sort_by_key(|p| Reverse(p.keys.len()));
        }
        PhraseIndex { by_first_key, all, gaps }
    }

    /// Every exact occurrence, skipping `excluded` positions. `keys` are what the phrases' keys
    /// are compared with, `words` the words as written.
    fn find<'a>(
        &'a self,
        keys: &'a [&str],
        words: &'a [&str],
        excluded: &'a [bool],
    ) -> impl Iterator<Item = Match<'a, T>> + 'a {
        (0..keys.len()).filter(|&i| !excluded[i]).flat_map(move |i| {
            self.by_first_key.get(keys[i]).into_iter().flatten().filter_map(move |p| {
                let end = self.match_at(p, i, keys, words, excluded)?;
                Some(Match { start: i, span: end - i, len: p.keys.len(), value: &p.value })
            })
        })
    }

    /// Where `phrase` ends if its keys follow one another from word `start` (with at most
    /// [`words::GAP_MAX`] small words between two of them where the index allows gaps), as
    /// written where the phrase is matched only so.
    fn match_at(
        &self,
        phrase: &Phrase<T>,
        start: usize,
        keys: &[&str],
        words: &[&str],
        excluded: &[bool],
    ) -> Option<usize> {
        let mut at = start;
        for (n, key) in phrase.keys.iter().enumerate() {
            if n > 0 && self.gaps {
                let gap_end = (at + words::GAP_MAX).min(keys.len());
                while at < gap_end && keys[at] != key && !excluded[at] && words::is_function_word(words[at]) {
                    at += 1;
                }
            }
            if at >= keys.len()
                || excluded[at]
                || keys[at] != key
                || (phrase.as_written && words[at] != phrase.words[n])
            {
                return None;
            }
            at += 1;
        }
        Some(at)
    }

    /// The closest phrase of at least `min_len` letters within the typo allowance, over
    /// windows of consecutive words. `written` are the words as typed: a word of `words` that
    /// differs was read in full from a short form («pto» → «puerto»), which nobody mistyped, so
    /// it must be the phrase's own word («Pto Nuevo» is not Pueblo Nuevo).
    fn find_fuzzy(
        &self,
        words: &[&str],
        written: &[&str],
        excluded: &[bool],
        min_len: usize,
    ) -> Option<(usize, usize, &T)> {
        let mut best: Option<(usize, usize, usize, &T)> = None; // (distance, start, len, value)
        for phrase in &self.all {
            let allowance = typo_allowance(phrase.joined.len());
            if !phrase.fuzzy || allowance == 0 || phrase.joined.len() < min_len {
                continue;
            }
            let n = phrase.words.len();
            for start in 0..words.len().saturating_sub(n - 1) {
                if (start..start + n).any(|j| excluded[j]) {
                    continue;
                }
                let read_in_full = |k: usize| words[start + k] != written[start + k];
                if (0..n).any(|k| read_in_full(k) && words[start + k] != phrase.words[k]) {
                    continue;
                }
                let window = words[start..start + n].join(" ");
                if window.len().abs_diff(phrase.joined.len()) > allowance || !same_start(&window, &phrase.joined) {
                    continue;
                }
                if let Some(d) = distance_within(&window, &phrase.joined, allowance)
                    && best.is_none_or(|(bd, _, bn, _)| (d, Reverse(n)) < (bd, Reverse(bn)))
                {
                    best = Some((d, start, n, &phrase.value));
                }
            }
        }
        best.map(|(_, start, n, value)| (start, n, value))
    }
}

/// Keywords of five letters or more are matched with typos.
const KEYWORD_TYPO_MIN: usize = 5;
/// Municipio names from six letters: a shorter one is too close to common words ("valle",
/// "calle").
const MUNICIPIO_TYPO_MIN: usize = 6;

/// The fewest letters of an opt-in word's stem for its forms to count under a negation
/// («suscrib»): a shorter one begins too many other words.
const OPT_IN_STEM_MIN: usize = 5;

/// Edits tolerated in a phrase of `len` letters: none below five, one up to seven, then two.
fn typo_allowance(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// Whether two words start with the same sound, as a typo leaves them: the same letter, letters
/// that sound alike in Mexican Spanish (b/v, c/s/z/k, g/j, i/y), or one dropping a silent h
/// ("ospital"). So "dolor" is not read as "color", nor "colores" as Dolores.
fn same_start(a: &str, b: &str) -> bool {
    const ALIKE: [&[u8]; 4] = [b"bv", b"cszk", b"gj", b"iy"];
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (Some(&x), Some(&y)) = (a.first(), b.first()) else { return false };
    x == y
        || ALIKE.iter().any(|class| class.contains(&x) && class.contains(&y))
        || (x == b'h' && a.get(1) == Some(&y))
        || (y == b'h' && b.get(1) == Some(&x))
}

/// The optimal-string-alignment distance (insertions, deletions, substitutions and swaps of
/// neighbours) if it is at most `max`.
fn distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
    }
    let d = rows[a.len()][b.len()];
    (d <= max).then_some(d)
}

/// How strongly a keyword's target claims a message, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// A greeting or a menu's word.
    Menu,
    /// «ayuda», or a Conéctate word alone ("alta", "baja").
    Weak,
    /// A topic, or a Conéctate phrase of several words.
    Topic,
}

/// A keyword of the table, as indexed.
#[derive(Clone, Debug)]
struct Meaning {
    target: Target,
    strength: Strength,
    /// Has a word no other target's keywords have ("muertes"), unlike "casos".
    specific: bool,
}

/// A keyword found in a message.
struct Found {
    start: usize,
    /// The words it covers, small words in between included.
    span: usize,
    /// The words of the keyword itself.
    len: usize,
    target: Target,
    strength: Strength,
    specific: bool,
}

fn is_consent(target: &Target) -> bool {
    matches!(target, Target::Topic(t) if t.consent_action().is_some())
}

/// The router table of one snapshot, indexed for matching.
#[derive(Clone, Debug)]
pub struct Understanding {
    keywords: PhraseIndex<Meaning>,
    /// The stems of the one-word opt-in keywords long enough to name their word
    /// ([`Understanding::find_negated_opt_ins`]).
    opt_in_stems: Vec<String>,
    municipios: PhraseIndex<MunicipioId>,
    /// The snapshot's topic catalogue: which topics exist, which have answers per municipio,
    /// and what a place alone asks for.
    topics: TopicCatalogue,
}

/// The menu entry number in a message that is only a number ("2", " 2. ", "dos", "Cinco").
pub fn menu_number(text: &str) -> Option<u8> {
    let t = text.trim().trim_end_matches(['.', ')', '!']);
    if !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    // Only a word short enough to be a number word is normalised.
    if t.len() > 8 {
        return None;
    }
    const WORDS: [&str; 10] = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"];
    let word = normalize(t);
    let number = WORDS.iter().position(|w| *w == word || (word == "una" && *w == "uno"))?;
    u8::try_from(number + 1).ok()
}

fn split_words(text: &str) -> Vec<String> {
    text.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

impl Understanding {
    pub fn compile(table: &RouterTable) -> Understanding {
        let stemmed = |words: &[String]| -> Vec<String> { words.iter().map(|w| words::stem(w).into_owned()).collect() };
        // A stem is shared when keywords of two targets or more have it ("casos").
        let mut targets_of: HashMap<String, HashSet<&Target>> = HashMap::new();
        for rule in &table.keywords {
            for key in stemmed(&split_words(rule.phrase.as_str())) {
                targets_of.entry(key).or_default().insert(&rule.target);
            }
        }
        let keywords = PhraseIndex::new(
            table.keywords.iter().map(|rule| {
                let words = split_words(rule.phrase.as_str());
                let keys = stemmed(&words);
                let consent = is_consent(&rule.target);
                let strength = match &rule.target {
                    Target::Menu(_) | Target::Topic(Topic::MENU) => Strength::Menu,
                    Target::Topic(Topic::AYUDA) => Strength::Weak,
                    _ if consent && words.len() == 1 => Strength::Weak,
                    _ => Strength::Topic,
                };
                let specific = keys.iter().any(|k| targets_of.get(k).is_some_and(|t| t.len() == 1));
                let opt_in = matches!(rule.target, Target::Topic(Topic::CONECTATE_ALTA));
                Phrase {
                    joined: words.join(" "),
                    as_written: consent && words.len() == 1,
                    fuzzy: !opt_in,
                    keys,
                    words,
                    value: Meaning { target: rule.target.clone(), strength, specific },
                }
            }),
            true,
        );
        let place = |alias: &str| -> Vec<String> {
            alias.split(' ').filter(|w| !w.is_empty()).map(|w| words::place_word(w).to_owned()).collect()
        };
        let aliases = table
            .municipio_aliases
            .iter()
            .map(|(alias, id)| (place(alias.as_str()), *id))
            .chain(catalogue().aliases_longest_first().iter().map(|(alias, id)| (place(alias), *id)))
            .map(|(words, id)| Phrase {
                joined: words.join(" "),
                keys: words.clone(),
                words,
                as_written: false,
                fuzzy: true,
                value: id,
            });
        let mut opt_in_stems: Vec<String> = table
            .keywords
            .iter()
            .filter(|rule| rule.target == Target::Topic(Topic::CONECTATE_ALTA))
            .filter_map(|rule| match split_words(rule.phrase.as_str())[..] {
                [ref word] => Some(words::stem(word).into_owned()),
                _ => None,
            })
            .filter(|stem| stem.chars().count() >= OPT_IN_STEM_MIN)
            .collect();
        opt_in_stems.sort();
        opt_in_stems.dedup();
        Understanding {
            keywords,
            opt_in_stems,
            municipios: PhraseIndex::new(aliases, false),
            topics: table.topics.clone(),
        }
    }

    /// What a typed text asks for. `last_menu` is the menu (or question) shown last to this
    /// citizen, used only for a bare number.
    pub fn understand(&self, table: &RouterTable, text: &str, last_menu: Option<&MenuId>) -> Intent {
        if let Some(number) = menu_number(text) {
            if let Some(readings) = last_menu.and_then(|m| asking::readings_of(m, &self.topics)) {
                return match readings.get(usize::from(number).wrapping_sub(1)) {
                    Some(key) => Intent::topic(key.topic, key.scope),
                    // A number the question does not have: ask again.
                    None => Intent::Ask { readings },
                };
            }
            let principal = MenuId::principal();
            let menu_id = last_menu.unwrap_or(&principal);
            let Some(menu) = table.menu(menu_id).or_else(|| table.main_menu()) else { return Intent::Help };
            return match menu.entry(number) {
                Some(entry) => Intent::Show { target: entry.target.clone(), scope: Scope::Estado },
                // A number the menu does not have: show the menu again.
                None => Intent::Show { target: Target::Menu(menu.id.clone()), scope: Scope::Estado },
            };
        }
        let normalized = normalize(text);
        let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return Intent::Help;
        }
        let places: Vec<&str> = words.iter().map(|w| words::place_word(w)).collect();
        let mut excluded = vec![false; words.len()];
        let exclude = |excluded: &mut Vec<bool>, start: usize, len: usize| {
            excluded[start..start + len].iter_mut().for_each(|e| *e = true);
        };
        // Exact matches first: the longest municipio name, then the keywords (see the module
        // documentation for which wins); typos only where no exact topic was found.
        let mut municipio = self
            .municipios
            .find(&places, &places, &excluded)
            .max_by_key(|m| (m.span, Reverse(m.start)))
            .map(|m| (m.start, m.span, *m.value));
        if let Some((start, len, _)) = municipio {
            exclude(&mut excluded, start, len);
        }
        let stems: Vec<std::borrow::Cow<'_, str>> = words.iter().map(|w| words::stem(w)).collect();
        let stems: Vec<&str> = stems.iter().map(|s| s.as_ref()).collect();
        let mut found: Vec<Found> = self
            .keywords
            .find(&stems, &words, &excluded)
            .map(|found| {
                let m = found.value;
                // «no quiero recibir avisos» asks not to be subscribed: the opt-out, never an
                // opt-in.
                let opt_in = matches!(m.target, Target::Topic(Topic::CONECTATE_ALTA));
                let target = if opt_in && words::negated(&words, found.start) {
                    Target::Topic(Topic::CONECTATE_BAJA)
                } else {
                    m.target.clone()
                };
                Found {
                    start: found.start,
                    span: found.span,
                    len: found.len,
                    target,
                    strength: m.strength,
                    specific: m.specific,
                }
            })
            .collect();
        self.find_negated_opt_ins(&words, &excluded, &mut found);
        if found.iter().any(|f| f.target == Target::Topic(Topic::CONECTATE_BAJA)) {
            // An opt-out beside an opt-in: a wrong subscription is worse than a wrong opt-out.
            found.retain(|f| f.target != Target::Topic(Topic::CONECTATE_ALTA));
        }
        found.sort_by_key(|f| Reverse((f.strength, f.specific, f.len, Reverse(f.start))));
        // The readings that do not overlap, strongest first.
        let mut chosen: Vec<&Found> = Vec::new();
        for f in &found {
            if (f.start..f.start + f.span).all(|j| !excluded[j]) {
                exclude(&mut excluded, f.start, f.span);
                chosen.push(f);
            }
        }
        let mut keyword = chosen.first().map(|f| (f.target.clone(), f.strength));
        if municipio.is_none() {
            municipio = self
                .municipios
                .find_fuzzy(&places, &words, &excluded, MUNICIPIO_TYPO_MIN)
                .map(|(s, l, id)| (s, l, *id));
            if let Some((start, len, _)) = municipio {
                exclude(&mut excluded, start, len);
            }
        }
        let scope = municipio.map_or(Scope::Estado, |(_, _, id)| Scope::Municipio(id));
        if !matches!(keyword, Some((_, Strength::Topic))) {
            // A topic with a typo beats a greeting spelt right ("hola, sintomaz").
            let fuzzy = self.keywords.find_fuzzy(&words, &words, &excluded, KEYWORD_TYPO_MIN);
            if let Some((_, _, m)) = fuzzy
                && (keyword.is_none() || m.strength == Strength::Topic)
            {
                keyword = Some((m.target.clone(), m.strength));
            }
        } else if let Some(readings) = self.close_readings(&chosen, scope) {
            return Intent::Ask { readings };
        }
        match (keyword.map(|(target, _)| target), municipio) {
            (Some(Target::Topic(topic)), _) => Intent::topic(topic, scope),
            (Some(Target::Menu(menu)), _) => Intent::Show { target: Target::Menu(menu), scope: Scope::Estado },
            // A place alone asks for what the catalogue says (`para_lugar`), if anything.
            (None, Some(_)) => self.topics.place_topic.map_or(Intent::Help, |topic| Intent::topic(topic, scope)),
            (None, None) => Intent::Help,
        }
    }

    /// Any form of an opt-in word said right after a negation, as the opt-out: «nunca me
    /// suscribí», «yo no me suscribí y me llegan mensajes» are someone who wants no messages,
    /// said as a complaint. A one-word opt-in counts otherwise only as written; here a wider
    /// reading can only lead to the opt-out, never to a subscription, and the negation must be
    /// the verb's own (only pronouns between: [`words::negated_closely`]), so «no, ya me
    /// suscribí» is not an opt-out. A form is a word that begins with the stem of an opt-in word
    /// (the stem alone would miss «suscribí», whose accent the normalisation took away).
    fn find_negated_opt_ins(&self, words: &[&str], excluded: &[bool], found: &mut Vec<Found>) {
        if self.opt_in_stems.is_empty() || !words.iter().any(|w| words::is_negation(w)) {
            return;
        }
        for (i, word) in words.iter().enumerate() {
            let covered = excluded[i] || found.iter().any(|f| (f.start..f.start + f.span).contains(&i));
            if !covered
                && self.opt_in_stems.iter().any(|s| word.starts_with(s.as_str()))
                && words::negated_closely(words, i)
            {
                found.push(Found {
                    start: i,
                    span: 1,
                    len: 1,
                    target: Target::Topic(Topic::CONECTATE_BAJA),
                    strength: Strength::Weak,
                    specific: true,
                });
            }
        }
    }

    /// Two or three topics that each have words of their own in the message («muertes y
    /// recuperados en Celaya»): the readings to ask about, with the place where the topic has
    /// figures by municipio.
    fn close_readings(&self, chosen: &[&Found], scope: Scope) -> Option<Vec<AnswerKey>> {
        let mut readings: Vec<AnswerKey> = Vec::new();
        for f in chosen.iter().filter(|f| f.strength == Strength::Topic && f.specific) {
            let Target::Topic(topic) = f.target else { continue };
            let scope = if self.topics.by_municipio(topic) || is_consent(&f.target) { scope } else { Scope::Estado };
            if readings.len() < asking::READINGS_MAX && !readings.iter().any(|k| k.topic == topic) {
                readings.push(AnswerKey::new(topic, scope));
            }
        }
        (readings.len() > 1).then_some(readings)
    }

    /// What a message asks for, whatever its kind: typed text, a tap on one of our rows or
    /// buttons, a template's quick reply; media, locations and the like get help. `None` for
    /// what asks the bot nothing (a reaction, a number change, another platform notice).
    pub fn understand_content(
        &self,
        table: &RouterTable,
        content: &Content,
        last_menu: Option<&MenuId>,
    ) -> Option<Intent> {
        Some(match content {
            Content::Text { body } => self.understand(table, body, last_menu),
            Content::Reply { id, .. } => self.understand_payload(id),
            Content::Button { payload, text } => match self.understand_payload(payload) {
                Intent::Help => self.understand(table, text, None),
                found => found,
            },
            Content::Location
            | Content::Media { .. }
            | Content::Contacts
            | Content::Order
            | Content::Unsupported { .. } => Intent::Help,
            Content::Reaction | Content::NumberChanged { .. } | Content::System { .. } => return None,
        })
    }

    /// What a button payload or an interactive reply id asks for: one of our ids
    /// (`t:confirmados`, `m:cifras`, a question's `t:defunciones@007`), else a keyword of the
    /// table ("BAJA"), else help.
    pub fn understand_payload(&self, payload: &str) -> Intent {
        if let Some((target, scope)) = asking::from_reply_id(payload.trim(), &self.topics) {
            return Intent::Show { target, scope };
        }
        let normalized = normalize(payload);
        let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
        let stems: Vec<std::borrow::Cow<'_, str>> = words.iter().map(|w| words::stem(w)).collect();
        let stems: Vec<&str> = stems.iter().map(|s| s.as_ref()).collect();
        let excluded = vec![false; words.len()];
        match self.keywords.find(&stems, &words, &excluded).find(|m| m.start == 0 && m.span == words.len()) {
            Some(m) => Intent::Show { target: m.value.target.clone(), scope: Scope::Estado },
            None => Intent::Help,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{Answer, Keyword, KeywordRule, Menu, MenuEntry};

    pub(super) fn table() -> RouterTable {
        let menu = |id: &str, entries: Vec<(u8, Target)>| {
            let id: MenuId = id.parse().unwrap();
            let entries = entries
                .into_iter()
                .map(|(number, target)| MenuEntry { number, label: format!("opción {number}"), target })
                .collect();
            (id.clone(), Menu { id, entries, answer: Answer::text("menú").unwrap() })
        };
        let rule = |phrase: &str, target: Target| KeywordRule { phrase: Keyword::parse(phrase).unwrap(), target };
        let cifras: MenuId = "cifras".parse().unwrap();
        RouterTable {
            menus: [
                menu(
                    "principal",
                    vec![(1, Target::Menu(cifras.clone())), (2, Target::Topic(Topic::from_static("sintomas")))],
                ),
                menu(
                    "cifras",
                    vec![
                        (1, Target::Topic(Topic::from_static("confirmados"))),
                        (2, Target::Topic(Topic::from_static("defunciones"))),
                    ],
                ),
            ]
            .into(),
            keywords: vec![
                rule("hola", Target::Menu(MenuId::principal())),
                rule("buenos días", Target::Menu(MenuId::principal())),
                rule("casos", Target::Topic(Topic::from_static("confirmados"))),
                rule("casos sospechosos", Target::Topic(Topic::from_static("sospechosos"))),
                rule("síntomas", Target::Topic(Topic::from_static("sintomas"))),
                rule("defunciones", Target::Topic(Topic::from_static("defunciones"))),
                rule("hospitales", Target::Topic(Topic::from_static("hospitales"))),
                rule("vacunas", Target::Topic(Topic::from_static("vacunas"))),
                rule("color", Target::Topic(Topic::from_static("semaforo"))),
                rule("baja", Target::Topic(Topic::CONECTATE_BAJA)),
                rule("no más", Target::Topic(Topic::CONECTATE_BAJA)),
                rule("contagios", Target::Topic(Topic::from_static("confirmados"))),
                rule("muertes", Target::Topic(Topic::from_static("defunciones"))),
                rule("recuperados", Target::Topic(Topic::from_static("recuperados"))),
                rule("contagio comunitario", Target::Topic(Topic::from_static("transmision_comunitaria"))),
                rule("alta", Target::Topic(Topic::CONECTATE_ALTA)),
                rule("suscribir", Target::Topic(Topic::CONECTATE_ALTA)),
                rule("recibir avisos", Target::Topic(Topic::CONECTATE_ALTA)),
            ],
            municipio_aliases: [(Keyword::parse("SMA").unwrap(), MunicipioId::try_from(3).unwrap())].into(),
            topics: ingest::sources::menu::bundled_topics().clone(),
        }
    }

    fn m(code: u16) -> Scope {
        Scope::Municipio(MunicipioId::try_from(code).unwrap())
    }

    #[test]
    fn sentences_become_topics_and_scopes() {
        let t = table();
        let u = Understanding::compile(&t);
        let topic = |topic, scope| Intent::Show { target: Target::Topic(topic), scope };
        let cases = [
            ("casos en León", topic(Topic::from_static("confirmados"), m(20))),
            ("¿Cuántos CASOS hay en leon? 🙏", topic(Topic::from_static("confirmados"), m(20))),
            ("casos\u{00A0}en\u{200B} Silao de la Victoria", topic(Topic::from_static("confirmados"), m(37))),
            ("casos sospechosos en celaya", topic(Topic::from_static("sospechosos"), m(7))),
            ("defunciones sma", topic(Topic::from_static("defunciones"), m(3))),
            ("hola, ¿cuántos casos?", topic(Topic::from_static("confirmados"), Scope::Estado)),
            (
                "Hola buenos días, quisiera saber cuántos casos hay en Acámbaro",
                topic(Topic::from_static("confirmados"), m(2)),
            ),
            ("hola buenos dias, sintomaz", topic(Topic::from_static("sintomas"), Scope::Estado)),
            ("buenos días", Intent::Show { target: Target::Menu(MenuId::principal()), scope: Scope::Estado }),
            ("Hola", Intent::Show { target: Target::Menu(MenuId::principal()), scope: Scope::Estado }),
            ("León", topic(Topic::from_static("confirmados"), m(20))),
            ("Dolores Hidalgo", topic(Topic::from_static("confirmados"), m(14))),
            ("sintomaz", topic(Topic::from_static("sintomas"), Scope::Estado)),
            ("defunsiones en irapuatro", topic(Topic::from_static("defunciones"), m(17))),
            ("hospitales salamnca", topic(Topic::from_static("hospitales"), m(27))),
            ("ya no más por favor", topic(Topic::CONECTATE_BAJA, Scope::Estado)),
            ("quiero información", Intent::Help),
            ("👍", Intent::Help),
            ("leo", Intent::Help),
            ("hospitales en la calle", topic(Topic::from_static("hospitales"), Scope::Estado)),
            // Typos keep a word's first sound.
            ("bacunas", topic(Topic::from_static("vacunas"), Scope::Estado)),
            ("ospitales en zelaya", topic(Topic::from_static("hospitales"), m(7))),
            ("dolor de cabeza", Intent::Help),
            // «colores» is a form of «color», never Dolores.
            ("colores de casos", topic(Topic::from_static("semaforo"), Scope::Estado)),
        ];
        for (text, expected) in cases {
            assert_eq!(u.understand(&t, text, None), expected, "{text:?}");
        }
    }

    #[test]
    fn a_number_picks_from_the_last_menu_shown() {
        let t = table();
        let u = Understanding::compile(&t);
        let cifras: MenuId = "cifras".parse().unwrap();
        let show = |target| Intent::Show { target, scope: Scope::Estado };
        assert_eq!(u.understand(&t, "1", None), show(Target::Menu(cifras.clone())));
        assert_eq!(u.understand(&t, "2", None), show(Target::Topic(Topic::from_static("sintomas"))));
        assert_eq!(u.understand(&t, " 2. ", Some(&cifras)), show(Target::Topic(Topic::from_static("defunciones"))));
        assert_eq!(
            u.understand(&t, "Dos", Some(&cifras)),
            show(Target::Topic(Topic::from_static("defunciones"))),
            "in words"
        );
        assert_eq!(u.understand(&t, "9", Some(&cifras)), show(Target::Menu(cifras.clone())), "the menu again");
        let gone: MenuId = "viejo".parse().unwrap();
        assert_eq!(
            u.understand(&t, "2", Some(&gone)),
            show(Target::Topic(Topic::from_static("sintomas"))),
            "a menu no longer there"
        );
    }

    #[test]
    fn payloads_are_our_ids_or_keywords() {
        let u = Understanding::compile(&table());
        let show = |target| Intent::Show { target, scope: Scope::Estado };
        assert_eq!(u.understand_payload("t:defunciones"), show(Target::Topic(Topic::from_static("defunciones"))));
        assert_eq!(u.understand_payload("m:cifras"), show(Target::Menu("cifras".parse().unwrap())));
        assert_eq!(u.understand_payload("BAJA"), show(Target::Topic(Topic::CONECTATE_BAJA)));
        assert_eq!(u.understand_payload("quiero la baja"), Intent::Help, "a payload must be the whole keyword");
    }

    #[test]
    fn a_keyword_listed_once_finds_its_other_forms() {
        let t = table();
        let u = Understanding::compile(&t);
        let topic = |topic, scope| Intent::Show { target: Target::Topic(topic), scope };
        let cases = [
            ("¿cuándo me toca vacunarme?", topic(Topic::from_static("vacunas"), Scope::Estado)),
            ("ya empezó la vacunación en León", topic(Topic::from_static("vacunas"), m(20))),
            ("una defunción en celaya", topic(Topic::from_static("defunciones"), m(7))),
            ("cuantos recuperados y recuperadas", topic(Topic::from_static("recuperados"), Scope::Estado)),
            ("hay mucho contagio en Irapuato", topic(Topic::from_static("confirmados"), m(17))),
            ("el hospital de Salamanca", topic(Topic::from_static("hospitales"), m(27))),
        ];
        for (text, expected) in cases {
            assert_eq!(u.understand(&t, text, None), expected, "{text:?}");
        }
    }

    #[test]
    fn the_most_specific_keyword_wins_over_words_topics_share() {
        let t = table();
        let u = Understanding::compile(&t);
        let topic = |topic, scope| Intent::Show { target: Target::Topic(topic), scope };
        let cases = [
            ("casos", topic(Topic::from_static("confirmados"), Scope::Estado)),
            ("casos de muertes en Celaya", topic(Topic::from_static("defunciones"), m(7))),
            ("casos recuperados", topic(Topic::from_static("recuperados"), Scope::Estado)),
            ("contagios en León", topic(Topic::from_static("confirmados"), m(20))),
            ("contagios comunitarios en León", topic(Topic::from_static("transmision_comunitaria"), m(20))),
            ("hola, casos sospechosos", topic(Topic::from_static("sospechosos"), Scope::Estado)),
            ("hola, ayuda con las vacunas", topic(Topic::from_static("vacunas"), Scope::Estado)),
            ("nivel alto de casos", topic(Topic::from_static("confirmados"), Scope::Estado)),
        ];
        for (text, expected) in cases {
            assert_eq!(u.understand(&t, text, None), expected, "{text:?}");
        }
    }

    #[test]
    fn short_forms_inside_place_names_are_read_in_full_for_every_municipio() {
        let t = table();
        let u = Understanding::compile(&t);
        let cases = [
            ("casos en Sn Luis de la Paz", m(33)),
            ("muertes Sn. José Iturbide", m(32)),
            ("casos Sta. Catarina", m(34)),
            ("casos en Dr Mora", m(13)),
            ("casos en Cd. Manuel Doblado", m(8)),
            ("casos Cd de Gto", m(15)),
            ("casos en Celaya, Gto.", m(7)),
        ];
        for (text, scope) in cases {
            let Intent::Show { scope: found, .. } = u.understand(&t, text, None) else { panic!("{text:?}") };
            assert_eq!(found, scope, "{text:?}");
        }
    }

    #[test]
    fn an_opt_in_is_never_read_from_a_negation_a_typo_or_another_word() {
        let t = table();
        let u = Understanding::compile(&t);
        let topic = |topic| Intent::Show { target: Target::Topic(topic), scope: Scope::Estado };
        assert_eq!(u.understand(&t, "Alta", None), topic(Topic::CONECTATE_ALTA));
        assert_eq!(u.understand(&t, "quiero recibir avisos", None), topic(Topic::CONECTATE_ALTA));
        for text in ["no quiero recibir avisos", "no me quiero suscribir", "yo nunca pedí recibir avisos"] {
            assert_eq!(u.understand(&t, text, None), topic(Topic::CONECTATE_BAJA), "{text:?}");
        }
        // Any form of an opt-in word under a negation is an opt-out, said as a complaint too.
        for text in ["nunca me suscribí y me llegan mensajes", "yo no me suscribí a nada", "jamás me suscribieron"] {
            assert_eq!(u.understand(&t, text, None), topic(Topic::CONECTATE_BAJA), "{text:?}");
        }
        for text in [
            "no me suscribas",
            "suscribanme no",
            "alto",
            "subir",
            "quiero avisos ya no más",
            "me suscribieron sin permiso",
            "ya me suscribí",
        ] {
            let intent = u.understand(&t, text, None);
            assert_ne!(intent, topic(Topic::CONECTATE_ALTA), "{text:?} must not subscribe");
        }
        // An opt-in's other forms count only under the verb's own negation.
        for text in ["no, ya me suscribí", "no sé si me suscribí"] {
            assert_eq!(u.understand(&t, text, None), Intent::Help, "{text:?}");
        }
    }

    #[test]
    fn small_words_inside_a_phrase_are_skipped_as_people_write_them() {
        let t = table();
        let u = Understanding::compile(&t);
        let topic = |topic, scope| Intent::Show { target: Target::Topic(topic), scope };
        let cases = [
            ("me gustaría recibir sus avisos", topic(Topic::CONECTATE_ALTA, Scope::Estado)),
            ("casos de los sospechosos en Celaya", topic(Topic::from_static("sospechosos"), m(7))),
            // Not more than two small words, and no other word, between a phrase's words.
            ("recibir de la de los avisos", Intent::Help),
            ("casos hoy sospechosos", topic(Topic::from_static("confirmados"), Scope::Estado)),
            ("ya no recibir los avisos", topic(Topic::CONECTATE_BAJA, Scope::Estado)),
        ];
        for (text, expected) in cases {
            assert_eq!(u.understand(&t, text, None), expected, "{text:?}");
        }
        assert_eq!(u.understand_payload("recibir los avisos"), topic(Topic::CONECTATE_ALTA, Scope::Estado));
    }

    #[test]
    fn a_word_read_from_a_short_form_is_never_a_typo_of_another_place() {
        let t = table();
        let u = Understanding::compile(&t);
        let confirmados = |scope| Intent::Show { target: Target::Topic(Topic::from_static("confirmados")), scope };
        // «pto» is «puerto», not a mistyped «pueblo»: no municipio of the state.
        assert_eq!(u.understand(&t, "casos en Pto Nuevo", None), confirmados(Scope::Estado));
        // A typo in a word typed in full still counts beside a short form read in full.
        assert_eq!(u.understand(&t, "casos en Sn Jose Iturbid", None), confirmados(m(32)));
        assert_eq!(u.understand(&t, "casos en Pueblo Nuebo", None), confirmados(m(24)));
        assert_eq!(u.understand(&t, "casos en Sta Catarna", None), confirmados(m(34)));
    }

    #[test]
    fn two_topics_with_words_of_their_own_are_asked_about_and_a_number_answers() {
        let t = table();
        let u = Understanding::compile(&t);
        let asked = u.understand(&t, "muertes y recuperados en Celaya", None);
        let readings = vec![
            AnswerKey::new(Topic::from_static("defunciones"), m(7)),
            AnswerKey::new(Topic::from_static("recuperados"), Scope::Estado),
        ];
        assert_eq!(asked, Intent::Ask { readings: readings.clone() });
        let question = asking::menu_id(&readings, &t.topics);
        let show = |topic, scope| Intent::Show { target: Target::Topic(topic), scope };
        assert_eq!(u.understand(&t, "1", Some(&question)), show(Topic::from_static("defunciones"), m(7)));
        assert_eq!(u.understand(&t, "dos", Some(&question)), show(Topic::from_static("recuperados"), Scope::Estado));
        assert_eq!(u.understand(&t, "3", Some(&question)), Intent::Ask { readings }, "a number it lacks asks again");
        assert_eq!(
            u.understand_payload("t:defunciones@007"),
            show(Topic::from_static("defunciones"), m(7)),
            "a row tapped"
        );
        // One topic's words twice, or a shared word beside a topic's own, are not doubts.
        assert_eq!(
            u.understand(&t, "muertes y defunciones", None),
            show(Topic::from_static("defunciones"), Scope::Estado)
        );
        assert_eq!(u.understand(&t, "casos y muertes", None), show(Topic::from_static("defunciones"), Scope::Estado));
        assert_eq!(u.understand(&t, "qwerty", None), Intent::Help, "nothing recognisable keeps the help text");
    }

    #[test]
    fn distances() {
        assert_eq!(distance_within("irapauto", "irapuato", 2), Some(1), "a swap is one edit");
        assert_eq!(distance_within("salamnca", "salamanca", 1), Some(1));
        assert_eq!(distance_within("celaya", "casos", 1), None);
        assert_eq!(menu_number("12"), Some(12));
        assert_eq!(menu_number("123"), None);
        assert_eq!(menu_number("1a"), None);
        assert_eq!(menu_number("Dos"), Some(2));
        assert_eq!(menu_number(" cinco. "), Some(5));
        assert_eq!(menu_number("una"), Some(1));
        assert_eq!(menu_number("dos casos"), None, "a number word only when it is the whole message");
    }
}
