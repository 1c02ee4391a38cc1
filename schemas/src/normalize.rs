//! The one text normalisation used on both sides of every match.
//!
//! Citizens write "¿Cuántos casos hay en LEÓN? 🙏", "leon", "León " with a no-break space or a
//! zero-width joiner pasted from another app. Maintainers write keywords with accents. Both pass
//! through [`normalize`] so that they compare equal: lower case, no accents, no punctuation or
//! emoji, single ASCII spaces.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Normalises free text for matching.
///
/// - letters are lower-cased and stripped of diacritics (`Ñ` → `n`, `é` → `e`);
/// - ASCII digits are kept;
/// - zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and variation selectors vanish;
/// - everything else (punctuation, symbols, emoji, any kind of space) separates words;
/// - a letter written three times or more in a row is one letter («holaaa», «siii»,
///   «graciasss»): Spanish doubles letters («leer», «llamar», «perro») but never triples
///   them, so only emphasis is lost; digits are kept as written («1000»);
/// - runs of separators become one space, and the ends are trimmed.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    // The last letter written and how many times in a row.
    let mut run = ('\0', 0usize);
    for c in text.nfd() {
        if is_combining_mark(c) || is_invisible(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
                run = (' ', 1);
            }
            pending_space = false;
            for lower in c.to_lowercase() {
                if lower == run.0 && lower.is_alphabetic() {
                    run.1 += 1;
                    if run.1 == 3 {
                        out.pop(); // the second of the run goes too: one letter stays
                    }
                    if run.1 >= 3 {
                        continue;
                    }
                } else {
                    run = (lower, 1);
                }
                out.push(lower);
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// Characters that carry no meaning and must not split a word: zero-width spaces and joiners,
/// the word joiner, the byte-order mark, soft hyphens and emoji variation selectors.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{FE00}'..='\u{FE0F}')
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn table() {
        let cases = [
            ("Hola", "hola"),
            ("¿Cuántos casos hay en LEÓN? 🙏", "cuantos casos hay en leon"),
            ("casos\u{00A0}en\u{2003}León", "casos en leon"),
            ("le\u{200B}ón", "leon"),
            ("  1.  ", "1"),
            ("Dolores  Hidalgo,\tGto.", "dolores hidalgo gto"),
            ("PURÍSIMA", "purisima"),
            ("Peñjamo", "penjamo"),
            ("Pe\u{0301}njamo", "penjamo"),
            ("👍🏽", ""),
            ("❤️ síntomas", "sintomas"),
            ("no más", "no mas"),
            ("Holaaa", "hola"),
            ("HOLAAAAA buenaaas", "hola buenas"),
            ("siii graciasss", "si gracias"),
            ("leer llamar perro", "leer llamar perro"),
            ("1000 casos", "1000 casos"),
            ("ééé", "e"),
            ("a aa aaa", "a aa a"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "input {input:?}");
        }
    }
}
