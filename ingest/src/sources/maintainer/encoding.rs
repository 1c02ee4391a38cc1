//! Text encodings of maintainer files: UTF-8, or Windows-1252 (what Excel writes as "CSV"),
//! read as such with a warning that says how to save the file instead.

/// UTF-8 when it is (an optional BOM dropped), Windows-1252 otherwise (every byte is some
/// character there).
pub fn decode(file: &str, bytes: &[u8]) -> (String, Vec<String>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), Vec::new()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            let text = bytes.iter().map(|&b| windows_1252(b)).collect();
            let warning = format!(
                "{file}:{line}: el archivo no está en UTF-8; se leyó como Windows-1252 (Latin-1). Guárdalo como «CSV UTF-8» o «UTF-8» para evitar letras cambiadas"
            );
            (text, vec![warning])
        }
    }
}

/// One Windows-1252 byte as a character (0x80–0x9F hold the curly quotes and dashes that
/// Latin-1 leaves as control codes).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_is_decoded_with_a_warning() {
        let (text, warnings) = decode("h.csv", b"a\nLe\xf3n \x93x\x94\n");
        assert_eq!(text, "a\nLeón “x”\n");
        assert!(warnings[0].starts_with("h.csv:2: el archivo no está en UTF-8"), "{warnings:?}");
        assert_eq!(decode("h.csv", "\u{feff}León".as_bytes()), ("León".to_owned(), vec![]));
    }
}
