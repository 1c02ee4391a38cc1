//! Recognising a maintainer file: its format, and its kind by what its first bytes say.

use schemas::normalize::normalize;

/// Whether a file is TOML: by its extension, else by its first line that says something
/// (`clave = …` or `[tabla]`; a CSV header has neither).
pub fn is_toml(file: &str, text: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".toml") {
        return true;
    }
    if lower.ends_with(".csv") {
        return false;
    }
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with('[') || l.split_once('=').is_some_and(|(k, _)| !k.contains(',')))
}

/// Whether the first bytes of a file hold all of `words` (for recognising a kind by content).
pub fn head_has(head: &[u8], words: &[&str]) -> bool {
    let head = normalize(&String::from_utf8_lossy(head));
    words.iter().all(|w| head.contains(w))
}
