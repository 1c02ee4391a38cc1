//! From a citizen's words to what to answer, with the router table of the current snapshot.
//!
//! The text is normalised ([`schemas::normalize`]: case, accents, punctuation, emoji, every
//! kind of space) and then, in order:
//! 1. a bare number ("2", "dos") picks an entry of the last menu shown (the main menu if none);
//! 2. the municipio is found anywhere in the sentence (catalogue names and aliases plus the
//!    table's own, longest first), so "casos en León" is confirmados for León;
//! 3. a keyword or phrase of the table found in the rest decides the topic: a topic's before
//!    a greeting's or a menu's, however long ("hola, buenos días, ¿casos?" wants the figures),
//!    then the longest ("casos sospechosos" before "casos");
//! 4. when no topic matched exactly, words of five letters or more are matched with typos
//!    (one edit, two from eight letters: "sintomaz", "irapuatro") that keep the word's first
//!    sound ("bacunas" is vacunas, "dolor" is not color);
//! 5. a municipio alone means its confirmed cases; nothing at all means help.
//!
//! [`Understanding::compile`] indexes the table once per snapshot, so matching a message costs
//! a few hash lookups and no allocation beyond the normalised text.

use std::collections::HashMap;

use schemas::normalize::normalize;
use schemas::{MenuId, MunicipioId, RouterTable, Scope, Target, Topic, catalogue};

use crate::channels::Content;

/// What the citizen asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// A topic (for a scope) or a menu.
    Show { target: Target, scope: Scope },
    /// Nothing we understood: the help answer.
    Help,
}

impl Intent {
    fn topic(topic: Topic, scope: Scope) -> Intent {
        Intent::Show { target: Target::Topic(topic), scope }
    }
}

/// A phrase of one or more words and what it leads to.
#[derive(Clone, Debug)]
struct Phrase<T> {
    words: Vec<String>,
    /// The phrase as one string, for typo matching.
    joined: String,
    value: T,
}

/// Phrases indexed by their first word, longest first within each list.
#[derive(Clone, Debug)]
struct PhraseIndex<T> {
    by_first_word: HashMap<String, Vec<Phrase<T>>>,
    all: Vec<Phrase<T>>,
}

impl<T: Clone> PhraseIndex<T> {
    fn new(entries: impl IntoIterator<Item = (String, T)>) -> Self {
        let mut by_first_word: HashMap<String, Vec<Phrase<T>>> = HashMap::new();
        let mut all = Vec::new();
        for (text, value) in entries {
            let words: Vec<String> = text.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
            let Some(first) = words.first().cloned() else { continue };
            let phrase = Phrase { joined: words.join(" "), words, value };
            all.push(phrase.clone());
            by_first_word.entry(first).or_default().push(phrase);
        }
        for list in by_first_word.values_mut() {
            // Stable: among phrases of one length, the table's order decides.
            list.sort_by_key(|p| std::cmp::Reverse(p.words.len()));
        }
        PhraseIndex { by_first_word, all }
    }

    /// Every exact occurrence: (start, word count, value), skipping `excluded` positions.
    fn find<'a>(&'a self, words: &'a [&str], excluded: &'a [bool]) -> impl Iterator<Item = (usize, usize, &'a T)> + 'a {
        (0..words.len()).filter(|&i| !excluded[i]).flat_map(move |i| {
            self.by_first_word.get(words[i]).into_iter().flatten().filter_map(move |p| {
                let end = i + p.words.len();
                let fits = end <= words.len()
                    && (i..end).all(|j| !excluded[j])
                    && p.words.iter().zip(&words[i..end]).all(|(a, b)| a == b);
                fits.then_some((i, p.words.len(), &p.value))
            })
        })
    }

    /// The closest phrase of at least `min_len` letters within the typo allowance, over
    /// windows of consecutive words.
    fn find_fuzzy(&self, words: &[&str], excluded: &[bool], min_len: usize) -> Option<(usize, usize, &T)> {
        let mut best: Option<(usize, usize, usize, &T)> = None; // (distance, start, len, value)
        for phrase in &self.all {
            let allowance = typo_allowance(phrase.joined.len());
            if allowance == 0 || phrase.joined.len() < min_len {
                continue;
            }
            let n = phrase.words.len();
            for start in 0..words.len().saturating_sub(n - 1) {
                if (start..start + n).any(|j| excluded[j]) {
                    continue;
                }
                let window = words[start..start + n].join(" ");
                if window.len().abs_diff(phrase.joined.len()) > allowance || !same_start(&window, &phrase.joined) {
                    continue;
                }
                if let Some(d) = distance_within(&window, &phrase.joined, allowance)
                    && best.is_none_or(|(bd, _, bn, _)| (d, std::cmp::Reverse(n)) < (bd, std::cmp::Reverse(bn)))
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

/// The router table of one snapshot, indexed for matching.
#[derive(Clone, Debug)]
pub struct Understanding {
    keywords: PhraseIndex<Target>,
    municipios: PhraseIndex<MunicipioId>,
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

impl Understanding {
    pub fn compile(table: &RouterTable) -> Understanding {
        let keywords =
            PhraseIndex::new(table.keywords.iter().map(|k| (k.phrase.as_str().to_owned(), k.target.clone())));
        let aliases = table
            .municipio_aliases
            .iter()
            .map(|(alias, id)| (alias.as_str().to_owned(), *id))
            .chain(catalogue().aliases_longest_first().iter().cloned());
        Understanding { keywords, municipios: PhraseIndex::new(aliases) }
    }

    /// What a typed text asks for. `last_menu` is the menu shown last to this citizen, used
    /// only for a bare number.
    pub fn understand(&self, table: &RouterTable, text: &str, last_menu: Option<&MenuId>) -> Intent {
        if let Some(number) = menu_number(text) {
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
        let mut excluded = vec![false; words.len()];
        let exclude = |excluded: &mut Vec<bool>, start: usize, len: usize| {
            excluded[start..start + len].iter_mut().for_each(|e| *e = true);
        };
        // Exact matches first: the longest municipio name, then a topic's keyword before a
        // greeting's or a menu's, however long ("hola, buenos días, ¿casos en Acámbaro?" wants
        // the figures), the longest among them; typos only where no exact topic was found.
        let mut municipio = self
            .municipios
            .find(&words, &excluded)
            .max_by_key(|&(start, len, _)| (len, std::cmp::Reverse(start)))
            .map(|(start, len, id)| (start, len, *id));
        if let Some((start, len, _)) = municipio {
            exclude(&mut excluded, start, len);
        }
        let mut keyword = self
            .keywords
            .find(&words, &excluded)
            .max_by_key(|&(start, len, target)| (matches!(target, Target::Topic(_)), len, std::cmp::Reverse(start)))
            .map(|(start, len, target)| (start, len, target.clone()));
        if let Some((start, len, _)) = keyword {
            exclude(&mut excluded, start, len);
        }
        if municipio.is_none() {
            municipio = self.municipios.find_fuzzy(&words, &excluded, MUNICIPIO_TYPO_MIN).map(|(s, l, id)| (s, l, *id));
            if let Some((start, len, _)) = municipio {
                exclude(&mut excluded, start, len);
            }
        }
        if !matches!(keyword, Some((_, _, Target::Topic(_)))) {
            // A topic with a typo beats a greeting spelt right ("hola, sintomaz").
            let fuzzy = self.keywords.find_fuzzy(&words, &excluded, KEYWORD_TYPO_MIN);
            if keyword.is_none() || matches!(fuzzy, Some((_, _, Target::Topic(_)))) {
                keyword = fuzzy.map(|(s, l, t)| (s, l, t.clone())).or(keyword);
            }
        }
        let scope = municipio.map_or(Scope::Estado, |(_, _, id)| Scope::Municipio(id));
        let keyword = keyword.map(|(_, _, target)| target);
        match (keyword, municipio) {
            (Some(Target::Topic(topic)), _) => Intent::topic(topic, scope),
            (Some(Target::Menu(menu)), _) => Intent::Show { target: Target::Menu(menu), scope: Scope::Estado },
            (None, Some(_)) => Intent::topic(Topic::Confirmados, scope),
            (None, None) => Intent::Help,
        }
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
    /// (`t:confirmados`, `m:cifras`), else a keyword of the table ("BAJA"), else help.
    pub fn understand_payload(&self, payload: &str) -> Intent {
        if let Some(target) = Target::from_reply_id(payload.trim()) {
            return Intent::Show { target, scope: Scope::Estado };
        }
        let normalized = normalize(payload);
        let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
        let excluded = vec![false; words.len()];
        match self.keywords.find(&words, &excluded).find(|&(start, len, _)| start == 0 && len == words.len()) {
            Some((_, _, target)) => Intent::Show { target: target.clone(), scope: Scope::Estado },
            None => Intent::Help,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{Answer, Keyword, KeywordRule, Menu, MenuEntry};

    fn table() -> RouterTable {
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
                menu("principal", vec![(1, Target::Menu(cifras.clone())), (2, Target::Topic(Topic::Sintomas))]),
                menu("cifras", vec![(1, Target::Topic(Topic::Confirmados)), (2, Target::Topic(Topic::Defunciones))]),
            ]
            .into(),
            keywords: vec![
                rule("hola", Target::Menu(MenuId::principal())),
                rule("buenos días", Target::Menu(MenuId::principal())),
                rule("casos", Target::Topic(Topic::Confirmados)),
                rule("casos sospechosos", Target::Topic(Topic::Sospechosos)),
                rule("síntomas", Target::Topic(Topic::Sintomas)),
                rule("defunciones", Target::Topic(Topic::Defunciones)),
                rule("hospitales", Target::Topic(Topic::Hospitales)),
                rule("vacunas", Target::Topic(Topic::Vacunas)),
                rule("color", Target::Topic(Topic::Semaforo)),
                rule("baja", Target::Topic(Topic::ConectateBaja)),
                rule("no más", Target::Topic(Topic::ConectateBaja)),
            ],
            municipio_aliases: [(Keyword::parse("SMA").unwrap(), MunicipioId::try_from(3).unwrap())].into(),
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
            ("casos en León", topic(Topic::Confirmados, m(20))),
            ("¿Cuántos CASOS hay en leon? 🙏", topic(Topic::Confirmados, m(20))),
            ("casos\u{00A0}en\u{200B} Silao de la Victoria", topic(Topic::Confirmados, m(37))),
            ("casos sospechosos en celaya", topic(Topic::Sospechosos, m(7))),
            ("defunciones sma", topic(Topic::Defunciones, m(3))),
            ("hola, ¿cuántos casos?", topic(Topic::Confirmados, Scope::Estado)),
            ("Hola buenos días, quisiera saber cuántos casos hay en Acámbaro", topic(Topic::Confirmados, m(2))),
            ("hola buenos dias, sintomaz", topic(Topic::Sintomas, Scope::Estado)),
            ("buenos días", Intent::Show { target: Target::Menu(MenuId::principal()), scope: Scope::Estado }),
            ("Hola", Intent::Show { target: Target::Menu(MenuId::principal()), scope: Scope::Estado }),
            ("León", topic(Topic::Confirmados, m(20))),
            ("Dolores Hidalgo", topic(Topic::Confirmados, m(14))),
            ("sintomaz", topic(Topic::Sintomas, Scope::Estado)),
            ("defunsiones en irapuatro", topic(Topic::Defunciones, m(17))),
            ("hospitales salamnca", topic(Topic::Hospitales, m(27))),
            ("ya no más por favor", topic(Topic::ConectateBaja, Scope::Estado)),
            ("quiero información", Intent::Help),
            ("👍", Intent::Help),
            ("leo", Intent::Help),
            ("hospitales en la calle", topic(Topic::Hospitales, Scope::Estado)),
            // Typos keep a word's first sound.
            ("bacunas", topic(Topic::Vacunas, Scope::Estado)),
            ("ospitales en zelaya", topic(Topic::Hospitales, m(7))),
            ("dolor de cabeza", Intent::Help),
            ("colores de casos", topic(Topic::Confirmados, Scope::Estado)),
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
        assert_eq!(u.understand(&t, "2", None), show(Target::Topic(Topic::Sintomas)));
        assert_eq!(u.understand(&t, " 2. ", Some(&cifras)), show(Target::Topic(Topic::Defunciones)));
        assert_eq!(u.understand(&t, "Dos", Some(&cifras)), show(Target::Topic(Topic::Defunciones)), "in words");
        assert_eq!(u.understand(&t, "9", Some(&cifras)), show(Target::Menu(cifras.clone())), "the menu again");
        let gone: MenuId = "viejo".parse().unwrap();
        assert_eq!(u.understand(&t, "2", Some(&gone)), show(Target::Topic(Topic::Sintomas)), "a menu no longer there");
    }

    #[test]
    fn payloads_are_our_ids_or_keywords() {
        let u = Understanding::compile(&table());
        let show = |target| Intent::Show { target, scope: Scope::Estado };
        assert_eq!(u.understand_payload("t:defunciones"), show(Target::Topic(Topic::Defunciones)));
        assert_eq!(u.understand_payload("m:cifras"), show(Target::Menu("cifras".parse().unwrap())));
        assert_eq!(u.understand_payload("BAJA"), show(Target::Topic(Topic::ConectateBaja)));
        assert_eq!(u.understand_payload("quiero la baja"), Intent::Help, "a payload must be the whole keyword");
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
