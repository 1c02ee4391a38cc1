//! The words of a message as the matcher compares them: Spanish stems, so that a keyword listed
//! once finds its other forms; the short forms of the common words inside place names, for
//! every municipio at once; and the words that negate what follows them.

use std::borrow::Cow;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static SPANISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Spanish));

/// The Snowball Spanish stem of a normalised word: "vacunas", "vacunacion" and "vacunarme"
/// are all "vacun"; "defuncion" and "defunciones" are "defuncion". Forms whose stem differs
/// ("murio" beside "muertes") must be listed themselves.
///
/// A stem shorter than [`SHORT_STEM`] letters says too little: Snowball cuts both "casa" and
/// "casos" to "cas", and «me quedo en casa» is not a question about cases. Such a word is
/// compared by its singular instead ("casos" and "caso" alike, "casa" apart).
pub fn stem(word: &str) -> Cow<'_, str> {
    // Snowball's nouns in "-ación", "-ución" carry the accent that normalising took away.
    if let Some(base) = word.strip_suffix("cion") {
        return Cow::Owned(SPANISH.stem(&format!("{base}ción")).into_owned());
    }
    let stem = SPANISH.stem(word);
    if stem.chars().count() < SHORT_STEM {
        return Cow::Borrowed(word.strip_suffix('s').filter(|w| !w.is_empty()).unwrap_or(word));
    }
    stem
}

/// The fewest letters a stem needs to stand for a word's forms (see [`stem`]).
const SHORT_STEM: usize = 4;

/// How citizens shorten the common words of place names ("Sn Luis de la Paz", "Sta. Catarina",
/// "Dr. Mora", "Cd. Manuel Doblado", "Dolores Hgo."), as rules for the whole catalogue rather
/// than aliases of each municipio. Applied to both sides of a municipio match.
const PLACE_ABBREVIATIONS: [(&str, &str); 12] = [
    ("sn", "san"),
    ("sta", "santa"),
    ("sto", "santo"),
    ("stgo", "santiago"),
    ("gral", "general"),
    ("dr", "doctor"),
    ("cd", "ciudad"),
    ("gto", "guanajuato"),
    ("hgo", "hidalgo"),
    ("fco", "francisco"),
    ("gde", "grande"),
    ("pto", "puerto"),
];

/// The word as it would be written in full inside a place name ("sn" → "san").
pub fn place_word(word: &str) -> &str {
    PLACE_ABBREVIATIONS.iter().find(|(short, _)| *short == word).map_or(word, |(_, full)| full)
}

/// The small words people put between the words of a phrase as they write it («recibir *los*
/// avisos», «dolor *de la* cabeza», «cancelar *mi* suscripción»): articles, possessives and «de»,
/// «a». A keyword's words may have a few of them in between ([`GAP_MAX`]); other words may not,
/// so «casos» and «confirmados» far apart in a sentence are not the phrase «casos confirmados».
const FUNCTION_WORDS: [&str; 23] = [
    "el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "mi", "mis", "tu", "tus", "su", "sus", "nuestro",
    "nuestra", "nuestros", "nuestras", "de", "del", "a", "al",
];

/// How many small words may sit between two words of a keyword («quiero *de la*…»).
pub const GAP_MAX: usize = 2;

/// Whether a normalised word is one of the small words a phrase may have in between.
pub fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS.contains(&word)
}

/// Words that turn a request around: «*no* quiero recibir avisos», «*nunca* me suscribí».
const NEGATIONS: [&str; 5] = ["no", "ni", "nunca", "jamas", "tampoco"];

/// How many words before a phrase a negation still reaches it («no *me quiero* suscribir»).
const NEGATION_REACH: usize = 3;

/// Whether a normalised word negates what follows it.
pub fn is_negation(word: &str) -> bool {
    NEGATIONS.contains(&word)
}

/// The unstressed pronouns and auxiliaries that sit between a negation and its verb («nunca *me*
/// suscribí», «no *me he* suscrito»).
const CLITICS: [&str; 12] = ["me", "te", "se", "nos", "le", "les", "lo", "la", "he", "ha", "han", "hemos"];

/// Whether the word at `at` is the verb a negation says directly: nothing but unstressed
/// pronouns and auxiliaries between them («nunca me suscribí»; not «no, ya me suscribí»).
pub fn negated_closely(words: &[&str], at: usize) -> bool {
    words[..at].iter().rev().find(|w| !CLITICS.contains(w)).is_some_and(|w| is_negation(w))
}

/// Whether a negation comes shortly before the phrase that starts at `start`.
pub fn negated(words: &[&str], start: usize) -> bool {
    words[start.saturating_sub(NEGATION_REACH)..start].iter().any(|w| is_negation(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_stem_compares_singulars_so_casa_is_not_casos() {
        assert_eq!(stem("casos"), stem("caso"));
        assert_ne!(stem("casa"), stem("casos"));
        assert_eq!(stem("vacunas"), stem("vacunacion"));
    }

    #[test]
    fn forms_of_a_word_share_its_stem() {
        let same = [
            ("defuncion", "defunciones"),
            ("recuperado", "recuperados"),
            ("recuperado", "recuperacion"),
            ("contagio", "contagios"),
            ("contagio", "contagiados"),
            ("vacuna", "vacunas"),
            ("vacuna", "vacunacion"),
            ("vacuna", "vacunarme"),
            ("hospital", "hospitales"),
            ("sintomas", "sintoma"),
        ];
        for (a, b) in same {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_ne!(stem("muertes"), stem("murio"), "irregular forms are listed on their own");
    }

    #[test]
    fn place_abbreviations_and_negations() {
        let words: Vec<&str> = "sn luis dr mora cd leon".split(' ').map(place_word).collect();
        assert_eq!(words, ["san", "luis", "doctor", "mora", "ciudad", "leon"]);
        let words = ["no", "me", "quiero", "suscribir"];
        assert!(negated(&words, 3));
        assert!(!negated(&words, 0));
        assert!(!negated(&["quiero", "recibir", "avisos"], 1));
        assert!(!negated(&["no", "gracias", "ya", "entendi", "quiero", "avisos"], 4), "too far away");
        assert!(negated_closely(&["yo", "nunca", "me", "he", "suscrito"], 4));
        assert!(!negated_closely(&["no", "ya", "me", "suscribi"], 3), "«ya» stands between");
        assert!(!negated_closely(&["me", "suscribi"], 1));
    }
}
