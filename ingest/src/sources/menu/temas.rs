//! `[[tema]]`: the topic catalogue as the menu file declares it.
//!
//! ```toml
//! [[tema]]
//! slug = "dengue"                     # 1 to 32 of a-z, 0-9, _; what keywords and menus name
//! nombre = "Casos de dengue"          # the Spanish name citizens and maintainers read
//! fuente = "dengue"                   # the [sources.NAME] that feeds it (or a kind's name)
//! por_municipio = true                # optional (false): it has answers per municipio
//! difiere_por_lugar = true            # optional (false): its figure differs by place
//! plantilla = "dengue.j2"             # optional (SLUG.j2): its template
//! dato = "confirmados"                # optional (SLUG): which of the source's figures
//! para_lugar = true                   # optional, one topic at most: what a message naming
//!                                     # only a place («León») asks for
//! ```
//!
//! Every error names its line and column; a slug may not repeat, nor take the name of a
//! system answer (menu, ayuda, the Conéctate answers). A `fuente` must name a source of
//! `contacto.toml` or a kind (the bundled catalogue names kinds, which a source of that kind
//! under any name feeds); anything else is refused naming the configured sources, and a kind
//! no configured source has is a warning (the topic has no answers in this deployment).

use std::collections::BTreeMap;

use schemas::{SourceName, Topic, TopicCatalogue, TopicEntry};

use crate::configured_sources::ConfiguredSources;
use crate::render::EXTENSION;
use crate::sources::maintainer::{Check, Table};

/// The fields of a `[[tema]]`.
const FIELDS: [&str; 8] =
    ["slug", "nombre", "fuente", "por_municipio", "difiere_por_lugar", "plantilla", "dato", "para_lugar"];

/// Where each topic's template is named in the file (its `plantilla`, or its `slug` when the
/// template is the default one), by slug, as (line, column): a template missing from the
/// templates directory is reported there when the answers are rendered.
pub type TemplatePlaces = BTreeMap<String, (u64, usize)>;

/// What the `[[tema]]` tables of a file say.
pub struct Read {
    pub catalogue: TopicCatalogue,
    pub places: TemplatePlaces,
    /// A `fuente` that names a kind no configured source has, one line each
    /// (`file:line:column: fuente: …`).
    pub warnings: Vec<String>,
}

/// The `[[tema]]` tables of `root`, and where their templates are named; each `fuente` checked
/// against `configured` unless it is `None` (the bundled catalogue, read with no deployment)
/// or empty (nothing configured, nothing to check against).
pub fn read(c: &mut Check, root: &Table, configured: Option<&ConfiguredSources>) -> Read {
    let configured = configured.filter(|c| !c.is_empty());
    let mut warnings = Vec::new();
    let mut places = TemplatePlaces::new();
    let mut topics: Vec<TopicEntry> = Vec::new();
    let mut place_topic: Option<Topic> = None;
    for t in c.tables(root, "tema", false) {
        c.only(t, &FIELDS);
        let Some(topic) = slug(c, t, "slug", true) else { continue };
        let at = t.entry("slug").expect("read").node.at;
        if topic.is_system() {
            let reason = "es una respuesta fija del sistema (menú, ayuda, Conéctate); elige otro slug";
            c.error(at, "slug", topic, reason);
            continue;
        }
        if topics.iter().any(|e| e.topic == topic) {
            c.error(at, "slug", topic, "ya hay un [[tema]] con este slug; cada tema tiene el suyo");
            continue;
        }
        let name = c.text(t, "nombre", true);
        let source = c.text(t, "fuente", true).and_then(|s| {
            let at = t.entry("fuente").expect("read").node.at;
            let name = match s.parse::<SourceName>() {
                Ok(name) => name,
                Err(e) => {
                    c.error(at, "fuente", &s, e.to_string());
                    return None;
                }
            };
            let feeding = configured.filter(|sources| !sources.feeds(&name));
            match feeding.map(|sources| (crate::sources::KINDS.contains(&name.as_str()), sources)) {
                // Neither a configured source nor a kind: a typo.
                Some((false, sources)) => {
                    let reason = format!(
                        "no hay una fuente «{name}» en contacto.toml, así que nadie publicaría las respuestas del tema «{topic}»; las fuentes configuradas son: {}",
                        sources.names()
                    );
                    c.error(at, "fuente", &name, reason);
                    None
                }
                // A kind this deployment leaves out (a state without a hospital list).
                Some((true, sources)) => {
                    let reason = format!(
                        "ninguna fuente de contacto.toml es del tipo «{name}»: el tema «{topic}» no tendrá respuestas aquí; las fuentes configuradas son: {}",
                        sources.names()
                    );
                    warnings.push(c.warning(at, "fuente", &name, reason));
                    Some(name)
                }
                None => Some(name),
            }
        });
        let by_municipio = c.flag(t, "por_municipio", false).unwrap_or(false);
        let differs_by_place = c.flag(t, "difiere_por_lugar", false).unwrap_or(false);
        let template = c.text(t, "plantilla", false).unwrap_or_else(|| format!("{topic}.{EXTENSION}"));
        if !template.ends_with(&format!(".{EXTENSION}")) || template.contains('/') || template.starts_with('_') {
            let at = t.entry("plantilla").expect("a default is valid").node.at;
            let reason = format!(
                "debe ser el nombre de un archivo .{EXTENSION} del directorio de plantillas, sin carpetas ni _ al inicio"
            );
            c.error(at, "plantilla", &template, reason);
        }
        let figure = c.text(t, "dato", false).unwrap_or_else(|| topic.slug().to_owned());
        if c.flag(t, "para_lugar", false) == Some(true) {
            match place_topic {
                Some(other) => {
                    let at = t.entry("para_lugar").expect("read").node.at;
                    c.error(
                        at,
                        "para_lugar",
                        true,
                        format!("ya lo tiene el tema «{other}»; solo un tema puede tenerlo"),
                    );
                }
                None => place_topic = Some(topic),
            }
        }
        let (Some(name), Some(source)) = (name, source) else { continue };
        let named = t.entry("plantilla").map_or(at, |e| e.node.at);
        places.insert(topic.slug().to_owned(), (named.line, named.column));
        topics.push(TopicEntry { topic, name, by_municipio, differs_by_place, template, source, figure });
    }
    Read { catalogue: TopicCatalogue { topics, place_topic }, places, warnings }
}

/// A slug (any topic's, not checked against the catalogue).
fn slug(c: &mut Check, t: &Table, key: &str, required: bool) -> Option<Topic> {
    let text = c.text(t, key, required)?;
    match Topic::parse_slug(&text) {
        Ok(topic) => Some(topic),
        Err(e) => {
            c.error(t.entry(key).expect("read").node.at, key, &text, e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::maintainer::{self, Text};

    const FILE: &str = "[[tema]]\nslug = \"dengue\"\nnombre = \"Casos de dengue\"\nfuente = \"dengeu\"\n\n\
                        [[tema]]\nslug = \"hospitales\"\nnombre = \"Hospitales\"\nfuente = \"hospitales\"\n";

    fn read_with(configured: Option<&ConfiguredSources>) -> (Read, Result<Vec<String>, String>) {
        let text = Text { file: "menu.toml".into(), text: FILE.into(), checksum: String::new(), warnings: Vec::new() };
        let root = maintainer::toml(&text).unwrap();
        let mut check = Check::new(&text.file);
        let read = read(&mut check, &root, configured);
        let verdict = check.finish(0, 0.0).map_err(|e| match e {
            crate::error::SourceError::Rejected { errors, .. } => {
                errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
            }
            other => other.to_string(),
        });
        (read, verdict)
    }

    #[test]
    fn a_fuente_no_source_has_is_refused_at_its_place_naming_the_configured_ones() {
        let configured: ConfiguredSources = [("dengue", "cifras"), ("menu", "menu")]
            .map(|(n, k)| (n.parse().unwrap(), k.to_owned()))
            .into_iter()
            .collect();
        let (read, verdict) = read_with(Some(&configured));
        assert_eq!(
            verdict.unwrap_err(),
            "menu.toml:4:10: fuente: no hay una fuente «dengeu» en contacto.toml, así que nadie publicaría las \
             respuestas del tema «dengue»; las fuentes configuradas son: dengue, menu («dengeu»)"
        );
        // A kind no configured source has: kept, with a warning at its place.
        assert_eq!(
            read.warnings,
            ["menu.toml:9:10: fuente: ninguna fuente de contacto.toml es del tipo «hospitales»: el tema «hospitales» \
              no tendrá respuestas aquí; las fuentes configuradas son: dengue, menu («hospitales»)"]
        );
        assert_eq!(read.catalogue.subjects().map(Topic::slug).collect::<Vec<_>>(), ["hospitales"]);
    }

    #[test]
    fn with_no_deployment_to_compare_with_any_fuente_is_read() {
        for configured in [None, Some(&ConfiguredSources::default())] {
            let (read, verdict) = read_with(configured);
            assert_eq!(verdict.unwrap(), Vec::<String>::new());
            assert!(read.warnings.is_empty());
            assert_eq!(read.catalogue.topics.len(), 2);
        }
    }
}
