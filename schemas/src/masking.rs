//! What may be kept of a message the bot did not understand: its words, never who wrote it.
//!
//! Maintainers learn which keywords are missing from the phrases citizens write that end in
//! the help answer («Sin entender»). Those phrases come from citizens, so before anything is
//! kept the text is normalised ([`normalize`]) and everything that could name or reach a
//! person is replaced by a placeholder:
//! - e-mail addresses by «[correo]», links (`http…`, `www.…`, `dominio.com/…`) by «[enlace]»;
//! - every word with a digit (phone numbers, ages, CURP, dates, amounts) by «#», a run of them
//!   by one «#» («477 123 45 67» is one number);
//! - the words after «me llamo», «mi nombre es», «soy» or «habla», up to a word that cannot be
//!   part of a name, by «[nombre]» (privacy first: «soy diabético» is masked too).
//!
//! What is left is cut to [`MAX_CHARS`], and a message with no word of its own left (only
//! placeholders) gives nothing to keep.

use crate::normalize::normalize;

/// Placeholders, as maintainers read them.
pub const NUMBER: &str = "#";
pub const EMAIL: &str = "[correo]";
pub const LINK: &str = "[enlace]";
pub const NAME: &str = "[nombre]";

/// A masked phrase keeps at most this many characters (whole words).
pub const MAX_CHARS: usize = 160;

/// A name is at most this many words long («María de la Luz Gómez»).
const NAME_WORDS: usize = 5;

/// Words that end a name: conjunctions, prepositions and the verbs that start the question.
const ENDS_A_NAME: &[&str] = &[
    "a", "al", "busco", "como", "con", "cual", "cuando", "donde", "e", "en", "es", "hay", "me", "mi", "necesito", "no",
    "o", "para", "por", "pregunto", "puedo", "que", "queria", "quiero", "quisiera", "se", "si", "su", "tengo", "y",
];

/// After «soy» or «habla», words that show no name follows («soy de León», «soy el papá»).
const NO_NAME_AFTER_SOY: &[&str] = &["de", "del", "el", "la", "las", "los", "un", "una"];

/// The normalised, masked phrase to keep, or `None` when nothing but placeholders is left.
pub fn masked_phrase(text: &str) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for token in text.split_whitespace() {
        if is_email(token) {
            words.push(EMAIL.to_owned());
        } else if is_link(token) {
            words.push(LINK.to_owned());
        } else {
            let normalized = normalize(token);
            words.extend(
                normalized
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(|w| if w.bytes().any(|b| b.is_ascii_digit()) { NUMBER.to_owned() } else { w.to_owned() }),
            );
        }
    }
    mask_names(&mut words);
    words.dedup_by(|a, b| a == NUMBER && b == NUMBER);
    if words.iter().all(|w| is_placeholder(w)) {
        return None;
    }
    let mut out = String::new();
    for word in &words {
        if out.len() + word.len() + 1 > MAX_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Some(out)
}

/// Whether a word of a masked phrase is a placeholder rather than the citizen's.
pub fn is_placeholder(word: &str) -> bool {
    matches!(word, NUMBER | EMAIL | LINK | NAME)
}

/// Replaces the words after «me llamo», «mi nombre es», «soy» and «habla» with one «[nombre]».
fn mask_names(words: &mut Vec<String>) {
    let mut i = 0;
    while i < words.len() {
        let next = |n: usize| words.get(i + n).map(String::as_str);
        // (where the name starts, whether it is said for sure)
        let after = match (words[i].as_str(), next(1), next(2)) {
            ("me", Some("llamo"), _) => Some((i + 2, true)),
            ("mi", Some("nombre"), Some("es")) => Some((i + 3, true)),
            ("soy" | "habla", _, _) => Some((i + 1, false)),
            _ => None,
        };
        let Some((start, sure)) = after else {
            i += 1;
            continue;
        };
        let limit = words.len().min(start + NAME_WORDS);
        let ends = |j: usize| {
            let w = words[j].as_str();
            ENDS_A_NAME.contains(&w) || is_placeholder(w) || (!sure && NO_NAME_AFTER_SOY.contains(&w))
        };
        let end = (start..limit).find(|&j| ends(j)).unwrap_or(limit);
        if end > start {
            words.splice(start..end, [NAME.to_owned()]);
        }
        i = start + 1;
    }
}

/// `alguien@dominio.mx`, also inside punctuation («(ana@x.com)»).
fn is_email(token: &str) -> bool {
    token.split_once('@').is_some_and(|(user, domain)| {
        user.chars().any(char::is_alphanumeric) && domain.contains('.') && domain.chars().any(char::is_alphanumeric)
    })
}

/// `https://…`, `www.…`, or a word with a dot before a known ending (`gob.mx`, `bit.ly/x`).
fn is_link(token: &str) -> bool {
    let t = token.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    if t.starts_with("http") && t.contains("://") || t.starts_with("www.") {
        return true;
    }
    let host = t.split('/').next().unwrap_or_default();
    let Some((name, ending)) = host.rsplit_once('.') else { return false };
    !name.is_empty()
        && (t.contains('/')
            || matches!(ending, "com" | "mx" | "org" | "net" | "gob" | "ly" | "io" | "info" | "edu" | "me" | "co"))
}

#[cfg(test)]
mod tests {
    use super::masked_phrase;

    #[test]
    fn numbers_phones_mails_links_and_names_are_masked() {
        let cases = [
            ("¿Dónde me vacuno? mi cel es 477 123 45 67", "donde me vacuno mi cel es #"),
            ("mi número +52 (477) 123-4567 gracias", "mi numero # gracias"),
            ("Tengo 34 años y fiebre", "tengo # anos y fiebre"),
            ("Escríbanme a ana.lopez@correo.com por favor", "escribanme a [correo] por favor"),
            ("vi esto en https://bit.ly/abc123 es cierto?", "vi esto en [enlace] es cierto"),
            ("lo leí en www.ejemplo.mx/nota", "lo lei en [enlace]"),
            ("salud.guanajuato.gob.mx no abre", "[enlace] no abre"),
            ("Hola, me llamo Juan Pérez y quiero saber", "hola me llamo [nombre] y quiero saber"),
            ("Mi nombre es María de la Luz, tengo tos", "mi nombre es [nombre] tengo tos"),
            ("soy Rosa Elena, necesito una cita", "soy [nombre] necesito una cita"),
            ("Buenas, habla Pedro", "buenas habla [nombre]"),
            ("soy de León y quiero prueba", "soy de leon y quiero prueba"),
            ("ME LLAMO ana 4771234567", "me llamo [nombre] #"),
        ];
        for (text, masked) in cases {
            assert_eq!(masked_phrase(text).as_deref(), Some(masked), "{text}");
        }
    }

    #[test]
    fn a_message_with_nothing_but_placeholders_keeps_nothing() {
        for text in ["4771234567", "ana@x.com", "https://x.com", "👍", "", "12 34"] {
            assert_eq!(masked_phrase(text), None, "{text}");
        }
    }

    #[test]
    fn long_messages_are_cut_at_a_word() {
        let text = "palabra ".repeat(100);
        let masked = masked_phrase(&text).unwrap();
        assert!(masked.len() <= super::MAX_CHARS);
        assert!(masked.ends_with("palabra"));
    }
}
