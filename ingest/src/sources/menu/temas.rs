//! `[[tema]]`: the topic catalogue as the menu file declares it.
//!
//! ```toml
//! [[tema]]
//! slug = "dengue"                     # 1 to 32 of a-z, 0-9, _; what keywords and menus name
//! nombre = "Casos de dengue"          # the Spanish name citizens and maintainers read
//! fuente = "dengue"                   # the [sources.NAME] that feeds it
//! por_municipio = true                # optional (false): it has answers per municipio
//! difiere_por_lugar = true            # optional (false): its figure differs by place
//! plantilla = "dengue.j2"             # optional (SLUG.j2): its template
//! dato = "confirmados"                # optional (SLUG): which of the source's figures
//! para_lugar = true                   # optional, one topic at most: what a message naming
//!                                     # only a place («León») asks for
//! ```
//!
//! Every error names its line and column; a slug may not repeat, nor take the name of a
//! system answer (menu, ayuda, the Conéctate answers).

use std::collections::BTreeMap;

use schemas::{SourceName, Topic, TopicCatalogue, TopicEntry};

use crate::render::EXTENSION;
use crate::sources::maintainer::{Check, Table};

/// The fields of a `[[tema]]`.
const FIELDS: [&str; 8] =
    ["slug", "nombre", "fuente", "por_municipio", "difiere_por_lugar", "plantilla", "dato", "para_lugar"];

/// Where each topic's template is named in the file (its `plantilla`, or its `slug` when the
/// template is the default one), by slug, as (line, column): a template missing from the
/// templates directory is reported there when the answers are rendered.
pub type TemplatePlaces = BTreeMap<String, (u64, usize)>;

/// The `[[tema]]` tables of `root`, and where their templates are named.
pub fn read(c: &mut Check, root: &Table) -> (TopicCatalogue, TemplatePlaces) {
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
        let source = c.text(t, "fuente", true).and_then(|s| match s.parse::<SourceName>() {
            Ok(name) => Some(name),
            Err(e) => {
                c.error(t.entry("fuente").expect("read").node.at, "fuente", &s, e.to_string());
                None
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
    (TopicCatalogue { topics, place_topic }, places)
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
