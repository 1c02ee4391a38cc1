//! «Sin entender» → a keyword: the exact change to the menu file (`[[palabras]]`, see
//! [`crate::sources::menu`]) that makes a phrase citizens wrote lead to the topic a maintainer
//! picked. The console and `contacto sin-entender --frase … --tema …` show it; the maintainer
//! applies it, tries it with `contacto validate` and `contacto preview --from`, and publishes
//! the file the usual way. Nothing here writes the file: a person decides.
//!
//! The change is computed on the file's text, line by line, so the rest of the file (comments,
//! order, layout) stays as the maintainer wrote it: the phrase is appended to the `frases` of
//! the topic's `[[palabras]]` (as the first element of a list written over several lines, so
//! no comma has to move), or a new `[[palabras]]` is added after the last one when the topic
//! has none.

use std::path::PathBuf;

use schemas::masking::is_placeholder;
use schemas::{Keyword, Topic};
use settings::Settings;

/// The kind of the source that owns keywords.
const MENU_KIND: &str = "menu";

/// A change to the menu file: at `line` (from 1), `removed` (when a line is replaced) gives way
/// to `added`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordChange {
    /// The keyword added: the phrase without its hidden parts (`#`, `[nombre]`, …).
    pub keyword: String,
    pub topic: Topic,
    pub line: usize,
    pub removed: Option<String>,
    pub added: Vec<String>,
}

/// Why no change can be suggested.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeywordChangeError {
    #[error("la frase «{0}» no tiene palabras fuera de lo oculto (#, [nombre], …); no hay palabra clave que añadir")]
    NoWords(String),
    #[error(
        "«{0}» no es un tema que se pregunte: elige uno con cifras o información (confirmados, hospitales, vacunas, …)"
    )]
    NotASubject(Topic),
    #[error("«{keyword}» ya es una palabra clave del tema {topic} (línea {line} del archivo del menú)", topic = .topic.slug())]
    AlreadyThere { keyword: String, topic: Topic, line: usize },
}

/// The menu file of a configuration, when its `menu` source is a local file: the path as the
/// configuration writes it (what a maintainer types) and the path to read.
pub fn menu_file(settings: &Settings) -> Option<(String, PathBuf)> {
    let source = settings.sources.values().find(|s| s.kind == MENU_KIND)?;
    let written = source.url.strip_prefix("file://")?;
    Some((written.to_owned(), settings.resolve_path(std::path::Path::new(written))))
}

/// The change to `menu` (the menu file's text) that makes `phrase` (a masked, normalised
/// phrase from «Sin entender») lead to `topic`.
pub fn keyword_change(menu: &str, phrase: &str, topic: Topic) -> Result<KeywordChange, KeywordChangeError> {
    if topic.is_system() {
        return Err(KeywordChangeError::NotASubject(topic));
    }
    let words: Vec<&str> = phrase.split_whitespace().filter(|w| !is_placeholder(w)).collect();
    let keyword = Keyword::parse(&words.join(" ")).map_err(|_| KeywordChangeError::NoWords(phrase.to_owned()))?;
    let keyword = keyword.as_str().to_owned();
    let quoted = format!("\"{}\"", keyword.replace('\\', "\\\\").replace('"', "\\\""));
    let lines: Vec<&str> = menu.lines().collect();
    let tables = keyword_tables(&lines);
    if let Some(table) = tables.iter().find(|t| t.topic.as_deref() == Some(topic.slug()))
        && let Some(frases) = table.frases
    {
        let written = lines[frases..=table.end]
            .iter()
            .flat_map(|l| quoted_strings(l))
            .any(|s| Keyword::parse(&s).is_ok_and(|k| k.as_str() == keyword));
        if written {
            return Err(KeywordChangeError::AlreadyThere { keyword, topic, line: frases + 1 });
        }
        let line = lines[frases];
        if let Some(close) = closing_bracket(line) {
            let before = line[..close].trim_end();
            let separator = if before.ends_with('[') { "" } else { ", " };
            let replaced = format!("{before}{separator}{quoted}{}", &line[close..]);
            return Ok(KeywordChange {
                keyword,
                topic,
                line: frases + 1,
                removed: Some(line.to_owned()),
                added: vec![replaced],
            });
        }
        // A list over several lines: the phrase goes first, indented like the next element.
        let indent: String = lines.get(frases + 1).map_or("  ", |l| indentation(l)).to_owned();
        return Ok(KeywordChange {
            keyword,
            topic,
            line: frases + 2,
            removed: None,
            added: vec![format!("{indent}{quoted},")],
        });
    }
    // No keywords for the topic yet: a new table after the last one (or at the end).
    let after = tables.last().map_or(lines.len(), |t| t.end + 1);
    Ok(KeywordChange {
        keyword,
        topic,
        line: after + 1,
        removed: None,
        added: vec![
            String::new(),
            "[[palabras]]".to_owned(),
            format!("tema = \"{}\"", topic.slug()),
            format!("frases = [{quoted}]"),
        ],
    })
}

impl KeywordChange {
    /// `menu` with the change made.
    pub fn apply(&self, menu: &str) -> String {
        let mut lines: Vec<&str> = menu.lines().collect();
        let at = (self.line - 1).min(lines.len());
        let removed = usize::from(self.removed.is_some()).min(lines.len() - at);
        lines.splice(at..at + removed, self.added.iter().map(String::as_str));
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }

    /// The change as a maintainer reads it: where, and the lines removed (`-`) and added (`+`).
    pub fn diff(&self, file: &str) -> String {
        let mut out = format!("{file}, línea {}:\n", self.line);
        if let Some(removed) = &self.removed {
            out.push_str(&format!("- {removed}\n"));
        }
        for added in &self.added {
            out.push_str(&format!("+ {added}\n"));
        }
        out
    }

    /// The commands that try the changed file before publishing it, `file` being its path.
    pub fn how_to_try(&self, file: &str) -> Vec<String> {
        let dir = std::path::Path::new(file).parent().map(|d| d.display().to_string()).filter(|d| !d.is_empty());
        vec![
            format!("contacto validate {file}"),
            format!("contacto preview --from {} --mensaje \"{}\"", dir.as_deref().unwrap_or("."), self.keyword),
        ]
    }
}

/// One `[[palabras]]` table of the file: its topic, the line its `frases` start on, its last line.
struct KeywordTable {
    topic: Option<String>,
    frases: Option<usize>,
    end: usize,
}

/// Every `[[palabras]]` table, by line (from 0).
fn keyword_tables(lines: &[&str]) -> Vec<KeywordTable> {
    let mut tables: Vec<KeywordTable> = Vec::new();
    let mut inside = false;
    for (n, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !trimmed.starts_with("[\"") {
            inside = trimmed.starts_with("[[palabras]]");
            if inside {
                tables.push(KeywordTable { topic: None, frases: None, end: n });
            }
            continue;
        }
        let Some(table) = tables.last_mut().filter(|_| inside) else { continue };
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            table.end = n;
        }
        match trimmed.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("tema", value)) => table.topic = quoted_strings(value).into_iter().next(),
            Some(("frases", _)) => table.frases = Some(n),
            _ => {}
        }
    }
    tables
}

/// The `"…"` strings of a line (outside comments).
fn quoted_strings(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (&mut current, c) {
            (None, '#') => break,
            (None, '"') => current = Some(String::new()),
            (Some(s), '\\') => {
                if let Some(next) = chars.next() {
                    s.push(next);
                }
            }
            (Some(_), '"') => out.extend(current.take()),
            (Some(s), c) => s.push(c),
            (None, _) => {}
        }
    }
    out
}

/// Where the `]` closing a list that opens on this line is, outside strings and comments.
fn closing_bracket(line: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return None,
            '[' if !in_string => depth += 1,
            ']' if !in_string => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MENU: &str = r#"fecha = 2021-04-30

[[palabras]]
menu = "principal"
frases = ["hola", "menú"]

[[palabras]]
tema = "vacunas"
frases = ["vacunas", "vacuna"]   # las dos formas

[[palabras]]
tema = "hospitales"
frases = [
  "hospitales",
  "camas"
]

[[alias]]
alias = "San Miguel"
municipio = "San Miguel de Allende"
"#;

    #[test]
    fn a_phrase_joins_its_topics_list_on_one_line() {
        let change = keyword_change(MENU, "donde me vacunan mi cel #", Topic::from_static("vacunas")).unwrap();
        assert_eq!(change.keyword, "donde me vacunan mi cel");
        assert_eq!(change.line, 9);
        assert_eq!(change.removed.as_deref(), Some(r#"frases = ["vacunas", "vacuna"]   # las dos formas"#));
        assert_eq!(change.added, [r#"frases = ["vacunas", "vacuna", "donde me vacunan mi cel"]   # las dos formas"#]);
        let changed = change.apply(MENU);
        assert_eq!(changed.lines().count(), MENU.lines().count());
        assert!(changed.contains(r#""vacuna", "donde me vacunan mi cel"]"#));
        assert_eq!(
            change.diff("fixtures/menu/menu.toml"),
            "fixtures/menu/menu.toml, línea 9:\n- frases = [\"vacunas\", \"vacuna\"]   # las dos formas\n\
             + frases = [\"vacunas\", \"vacuna\", \"donde me vacunan mi cel\"]   # las dos formas\n"
        );
        assert_eq!(
            change.how_to_try("fixtures/menu/menu.toml"),
            [
                "contacto validate fixtures/menu/menu.toml",
                "contacto preview --from fixtures/menu --mensaje \"donde me vacunan mi cel\""
            ]
        );
    }

    #[test]
    fn a_list_over_several_lines_gets_the_phrase_first() {
        let change = keyword_change(MENU, "cuartos de hospital", Topic::from_static("hospitales")).unwrap();
        assert_eq!((change.line, change.removed.as_deref()), (14, None));
        assert_eq!(change.added, ["  \"cuartos de hospital\","]);
        let changed = change.apply(MENU);
        assert!(changed.contains("frases = [\n  \"cuartos de hospital\",\n  \"hospitales\",\n"), "{changed}");
    }

    #[test]
    fn a_topic_without_keywords_gets_a_table_after_the_last_one() {
        let change = keyword_change(MENU, "apoyo para mi negocio", Topic::from_static("programas")).unwrap();
        assert_eq!(change.line, 17);
        let changed = change.apply(MENU);
        assert!(
            changed.contains("  \"camas\"\n]\n\n[[palabras]]\ntema = \"programas\"\nfrases = [\"apoyo para mi negocio\"]\n\n[[alias]]"),
            "{changed}"
        );
    }

    #[test]
    fn nothing_to_add_is_said_plainly() {
        assert!(matches!(
            keyword_change(MENU, "[nombre] #", Topic::from_static("vacunas")),
            Err(KeywordChangeError::NoWords(_))
        ));
        assert!(matches!(
            keyword_change(MENU, "Vacuna", Topic::from_static("vacunas")),
            Err(KeywordChangeError::AlreadyThere { line: 9, .. })
        ));
        assert_eq!(
            keyword_change(MENU, "quiero avisos", Topic::CONECTATE_ALTA),
            Err(KeywordChangeError::NotASubject(Topic::CONECTATE_ALTA))
        );
        let text = keyword_change(MENU, "vacuna", Topic::from_static("vacunas")).unwrap_err().to_string();
        assert_eq!(text, "«vacuna» ya es una palabra clave del tema vacunas (línea 9 del archivo del menú)");
    }
}
