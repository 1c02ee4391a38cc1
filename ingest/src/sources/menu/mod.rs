//! The menu and router table: numbered menus (the main menu `principal` and sub-menus),
//! keywords and synonyms per topic (the Conéctate ALTA and BAJA variants among them),
//! municipio aliases on top of the compiled catalogue's, and the fixed texts (ayuda and the
//! four Conéctate answers). This source alone replaces the snapshot's router table
//! ([`schemas::RouterTable`]); its answers are the menu, ayuda and the Conéctate texts.
//!
//! # File
//! TOML:
//!
//! ```toml
//! fecha = 2021-04-30                   # when these texts were last revised
//!
//! [textos]
//! ayuda = "Soy el asistente del {gobierno}. Escribe MENÚ…"   # placeholders: see below
//! conectate_alta = "¡Listo! Te suscribiste a Conéctate…"
//! conectate_ya_suscrito = "Ya estás suscrito a Conéctate…"
//! conectate_baja = "Cancelamos tu suscripción…"
//! conectate_no_suscrito = "No estás suscrito a Conéctate…"
//!
//! [[menu]]
//! id = "principal"                      # the one "hola" and "menú" open
//! titulo = "Contacto Ciudadano"         # optional, in bold above the text
//! texto = "¿Qué quieres saber? Escribe el número:"
//! boton = "Ver opciones"                # optional, the list's button (20 caracteres)
//!   [[menu.opcion]]
//!   numero = 1
//!   etiqueta = "Cifras de COVID-19"     # 24 caracteres como máximo (WhatsApp)
//!   descripcion = "Confirmados, defunciones, …"   # optional, 72 caracteres
//!   menu = "cifras"                     # a sub-menu, or tema = "hospitales"
//!
//! [[palabras]]
//! tema = "conectate_alta"               # or menu = "principal"
//! frases = ["alta", "suscribir", "suscribirme", "unirme", "conéctate"]
//!
//! [[alias]]
//! alias = "San Miguel"
//! municipio = "San Miguel de Allende"   # name, short name or INEGI code
//! entidad = 11                          # optional: left out in another state's deployment
//!
//! [[tema]]                              # the topic catalogue: see [`temas`]
//! slug = "hospitales"
//! nombre = "Hospitales habilitados"
//! fuente = "hospitales"
//! por_municipio = true
//! ```
//!
//! The fixed texts and the menus' titles, texts, buttons, labels and descriptions may name the
//! deployment's state with placeholders, filled when the file is read ([`placeholders`]):
//! `{estado}` («Guanajuato»), `{gobierno}` («Gobierno del Estado de Guanajuato»),
//! `{gobierno_corto}` («Gobierno del Estado»; «Gobierno de la Ciudad» in Ciudad de México) and
//! `{municipio_1}` to `{municipio_3}` (three example municipios: León, Celaya, Irapuato), so the
//! bundled file serves any state. WhatsApp's limits are checked on the filled text.
//!
//! `tema = "…"` in a menu option or keywords names a `[[tema]]` of the same file, or one of the
//! system answers a citizen asks for (`ayuda`, `conectate_alta`, `conectate_baja`).
//!
//! Every menu is a WhatsApp list whose rows carry [`Target::reply_id`], and its text lists the
//! same numbered options (Twilio shows text only). Every topic a citizen can ask for must be
//! reachable by a menu option or a keyword.

pub mod placeholders;
pub mod temas;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schemas::answer::{LIST_BUTTON_MAX, LIST_ROWS_MAX, ROW_DESCRIPTION_MAX, ROW_TITLE_MAX};
use schemas::{
    Answer, AnswerKey, Keyword, KeywordRule, ListMenu, ListRow, ListSection, MenuEntry, MenuId, MunicipioId,
    RouterTable, SourceName, Target, Topic, TopicCatalogue, catalogue,
};
use serde::{Deserialize, Serialize};
use settings::DraftTrigger;

use self::placeholders::Placeholders;
use super::maintainer::{self, At, Check, Table, Text};
use crate::configured_sources::ConfiguredSources;
use crate::drafts::Change;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "menu";

/// The topics whose text is in `[textos]`.
const TEXTS: [Topic; 5] = [
    Topic::AYUDA,
    Topic::CONECTATE_ALTA,
    Topic::CONECTATE_YA_SUSCRITO,
    Topic::CONECTATE_BAJA,
    Topic::CONECTATE_NO_SUSCRITO,
];

/// Topics that are outcomes of a Conéctate keyword, never asked for directly.
const OUTCOMES: [Topic; 2] = [Topic::CONECTATE_YA_SUSCRITO, Topic::CONECTATE_NO_SUSCRITO];

/// Options of `[sources.NAME]` for `kind = "menu"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MenuConfig {
    /// A table with this much fewer keywords than the published one is quarantined (a
    /// truncated file would leave citizens unanswered).
    pub max_fall_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for MenuConfig {
    fn default() -> Self {
        MenuConfig {
            max_fall_percent: 50.0,
            attribution: format!("{}, Contacto Ciudadano", schemas::state().government),
        }
    }
}

/// One option of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opcion {
    pub numero: u8,
    pub etiqueta: String,
    pub descripcion: Option<String>,
    pub destino: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuDef {
    pub id: MenuId,
    pub titulo: Option<String>,
    pub texto: String,
    pub boton: String,
    pub opciones: Vec<Opcion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuDataset {
    pub data_date: Date,
    /// The fixed texts by topic slug.
    pub textos: BTreeMap<String, String>,
    pub menus: Vec<MenuDef>,
    pub palabras: Vec<KeywordRule>,
    pub alias: BTreeMap<Keyword, MunicipioId>,
    /// The topic catalogue (`[[tema]]`); empty in a dataset stored before it existed.
    #[serde(default)]
    pub temas: TopicCatalogue,
    /// The file's name and where each topic names its template, for the error when the
    /// template is missing.
    #[serde(default)]
    pub archivo: String,
    #[serde(default)]
    pub plantillas: temas::TemplatePlaces,
    /// Where each text that becomes an answer is written, as (line, column): a menu's `texto`
    /// by `menu.ID`, a fixed text by `textos.SLUG`; an answer beyond WhatsApp's limits is
    /// reported there.
    #[serde(default)]
    pub lugares: BTreeMap<String, (u64, usize)>,
}

impl Dataset for MenuDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        format!(
            "{} temas, {} menús, {} palabras clave, {} alias de municipios; textos al {}",
            self.temas.topics.len(),
            self.menus.len(),
            self.palabras.len(),
            self.alias.len(),
            schemas::es_mx::long_date(self.data_date)
        )
    }
}

pub struct Menu {
    pub config: MenuConfig,
    /// The deployment's sources, which each `[[tema]]`'s `fuente` must name.
    pub configured: ConfiguredSources,
}

impl SourceKind for Menu {
    type Dataset = MenuDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: MenuConfig = crate::source::options(source, options)?;
        maintainer::check_percent(source, "max_fall_percent", config.max_fall_percent)?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Menu { config, configured: configured.clone() })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["textos"]) || maintainer::head_has(head, &["menu", "opcion"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<MenuDataset>, SourceError> {
        parse_text(Text::read(body)?, &self.configured)
    }

    fn implausibilities(&self, last_good: &MenuDataset, new: &MenuDataset) -> Vec<String> {
        let (before, now) = (last_good.palabras.len() as u64, new.palabras.len() as u64);
        maintainer::fell("las palabras clave", before, now, self.config.max_fall_percent).into_iter().collect()
    }

    const REPORTS_CHANGES: bool = true;

    /// One change per topic whose slug the catalogue in force before did not have (the bundled
    /// one when the previous dataset had none): each is its own announcement, which the team
    /// may send or discard apart. A removed or renamed topic is no news to announce.
    fn changes(&self, previous: &MenuDataset, new: &MenuDataset) -> Vec<Change> {
        let before = in_force(Some(&previous.temas));
        new.temas
            .topics
            .iter()
            .filter(|e| before.entry(e.topic).is_none())
            .map(|e| Change {
                trigger: DraftTrigger::TemaNuevo,
                subject: e.topic.slug().to_owned(),
                what: "un tema nuevo".into(),
                from: None,
                to: e.name.clone(),
                since: Some(new.data_date),
                // What a citizen writes to ask for it: its first keyword, if it has one.
                detail: new
                    .palabras
                    .iter()
                    .find(|k| k.target == Target::Topic(e.topic))
                    .map(|k| k.phrase.as_str().to_owned()),
                municipios: Vec::new(),
            })
            .collect()
    }

    fn render(
        &self,
        dataset: &MenuDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        missing_templates(dataset, renderer)?;
        let menus = self.menus(dataset, renderer, common)?;
        let principal = menus.get(&MenuId::principal()).expect("validated: the main menu exists");
        let mut answers = vec![(AnswerKey::estado(Topic::MENU), principal.answer.clone())];
        for topic in TEXTS {
            let key = AnswerKey::estado(topic);
            let texto = dataset.textos.get(topic.slug()).cloned().unwrap_or_default();
            let answer = renderer
                .render(key, common, minijinja::context! { texto => texto })
                .map_err(|e| dataset.located(&format!("textos.{topic}"), topic.slug(), e))?;
            answers.push((key, answer));
        }
        Ok(answers)
    }

    fn router(
        &self,
        dataset: &MenuDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Option<RouterTable>, RenderError> {
        Ok(Some(RouterTable {
            menus: self.menus(dataset, renderer, common)?,
            keywords: dataset.palabras.clone(),
            municipio_aliases: dataset.alias.clone(),
            topics: dataset.temas.clone(),
        }))
    }
}

/// Reads a menu file's text, its topics' `fuente` checked against `configured`.
fn parse_text(text: Text, configured: &ConfiguredSources) -> Result<Parsed<MenuDataset>, SourceError> {
    let mut check = Check::new(&text.file);
    let root = maintainer::toml(&text)?;
    let texts = Texts { placeholders: Placeholders::of(catalogue()), source: &text.text };
    check.only(&root, &["fecha", "textos", "menu", "palabras", "alias", "tema"]);
    let temas::Read { catalogue: temas, places: plantillas, warnings: fuentes } =
        temas::read(&mut check, &root, Some(configured));
    let data_date = check.date(&root, "fecha", true);
    let mut textos = BTreeMap::new();
    let mut lugares = BTreeMap::new();
    let mut place = |name: String, t: &Table, key: &str| {
        if let Some(e) = t.entry(key) {
            lugares.insert(name, (e.node.at.line, e.node.at.column));
        }
    };
    if let Some(t) = check.table(&root, "textos", true) {
        let slugs: Vec<&str> = TEXTS.iter().map(|t| t.slug()).collect();
        check.only(t, &slugs);
        for slug in slugs {
            if let Some(text) = texts.read(&mut check, t, slug, true) {
                textos.insert(slug.to_owned(), text);
                place(format!("textos.{slug}"), t, slug);
            }
        }
    }
    let menu_tables = check.tables(&root, "menu", true);
    let mut menus: Vec<(MenuDef, Vec<At>)> = Vec::new();
    for t in &menu_tables {
        if let Some(menu) = read_menu(&mut check, &texts, t, &temas) {
            if menus.iter().any(|(m, _)| m.id == menu.0.id) {
                check.error(t.at, "id", &menu.0.id, "ya hay un menú con este id; cada menú tiene el suyo");
            } else {
                place(format!("menu.{}", menu.0.id), t, "texto");
                menus.push(menu);
            }
        }
    }
    let ids: BTreeSet<MenuId> = menus.iter().map(|(m, _)| m.id.clone()).collect();
    if !menu_tables.is_empty() && !ids.contains(&MenuId::principal()) {
        check.error(
            At { line: 1, column: 1 },
            "menu",
            "",
            "falta el menú principal: agrega un [[menu]] con id = \"principal\"",
        );
    }
    for (menu, places) in &menus {
        for (opcion, at) in menu.opciones.iter().zip(places) {
            if let Target::Menu(m) = &opcion.destino
                && !ids.contains(m)
            {
                check.error(*at, "menu", m, "no hay un [[menu]] con este id");
            }
        }
    }
    let palabras = read_keywords(&mut check, &root, &ids, &temas);
    let alias = read_aliases(&mut check, &root);
    if !check.has_errors() {
        reachable(&mut check, &menus, &palabras, &temas);
    }
    let rows = (temas.topics.len() + menus.len() + palabras.len() + alias.len()) as u64;
    let mut warnings = check.finish(rows, 0.0)?;
    warnings.extend(fuentes);
    warnings.extend(text.warnings);
    let dataset = MenuDataset {
        data_date: data_date.expect("checked"),
        textos,
        menus: menus.into_iter().map(|(m, _)| m).collect(),
        palabras,
        alias,
        temas,
        archivo: text.file.clone(),
        plantillas,
        lugares,
    };
    Ok(Parsed { dataset, rows, checksum: text.checksum, warnings })
}

/// The catalogue in force given the published one: the bundled catalogue until a menu source
/// publishes one (a snapshot without `[[tema]]`, or no snapshot at all).
pub fn in_force(published: Option<&TopicCatalogue>) -> &TopicCatalogue {
    match published {
        Some(topics) if !topics.topics.is_empty() => topics,
        _ => bundled_topics(),
    }
}

/// The topic catalogue of the menu file at `path`, checked as a run of a deployment with the
/// sources `configured` checks it.
pub fn topics_in(path: &std::path::Path, configured: &ConfiguredSources) -> Result<TopicCatalogue, SourceError> {
    let body = Body::from_file(path).map_err(|e| SourceError::Drift(format!("{}: {e}", path.display())))?;
    Ok(parse_text(Text::read(&body)?, configured)?.dataset.temas)
}

/// The topic catalogue of the bundled menu file (`fixtures/menu/menu.toml`): the catalogue
/// in force until a menu source publishes one, so the figures sources answer what today's bot
/// answers from their first run. Only its `[[tema]]` tables are read: they name no place, so
/// they hold in every state.
pub fn bundled_topics() -> &'static TopicCatalogue {
    static BUNDLED: std::sync::OnceLock<TopicCatalogue> = std::sync::OnceLock::new();
    BUNDLED.get_or_init(|| {
        let text = Text {
            file: "menu.toml".into(),
            text: include_str!("../../../../fixtures/menu/menu.toml").into(),
            checksum: String::new(),
            warnings: Vec::new(),
        };
        let root = maintainer::toml(&text).expect("the bundled menu file is TOML (tested)");
        let mut check = Check::new(&text.file);
        let read = temas::read(&mut check, &root, None);
        check.finish(0, 0.0).expect("the bundled topics are valid (tested)");
        read.catalogue
    })
}

impl Menu {
    /// Every menu with its answer: the text from `menu.j2` (numbered options in it) and the
    /// WhatsApp list under it.
    fn menus(
        &self,
        dataset: &MenuDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<BTreeMap<MenuId, schemas::Menu>, RenderError> {
        let key = AnswerKey::estado(Topic::MENU);
        let mut out = BTreeMap::new();
        for m in &dataset.menus {
            let values = minijinja::context! {
                id => m.id.as_str(),
                titulo => m.titulo.clone(),
                texto => m.texto.clone(),
                opciones => minijinja::Value::from(minijinja::value::Serde(&m.opciones)),
            };
            let text = renderer
                .render(key, common, values)
                .map_err(|e| dataset.located(&format!("menu.{}", m.id), "texto", e))?;
            let rows = m
                .opciones
                .iter()
                .map(|o| ListRow {
                    id: o.destino.reply_id(),
                    title: o.etiqueta.clone(),
                    description: o.descripcion.clone(),
                })
                .collect();
            let list = ListMenu {
                button: m.boton.clone(),
                // The title already opens the text, in bold (Twilio shows only the text); as
                // the list's header too, WhatsApp would show it twice.
                header: None,
                footer: None,
                sections: vec![ListSection { title: None, rows }],
            };
            let answer = Answer::with_list(text.body(), list).map_err(|e| {
                let error = RenderError {
                    template: Renderer::template_name(&key),
                    key,
                    message: format!("menú «{}»: {e}", m.id),
                    cause: None,
                };
                dataset.located(&format!("menu.{}", m.id), "texto", error)
            })?;
            let entries = m
                .opciones
                .iter()
                .map(|o| MenuEntry { number: o.numero, label: o.etiqueta.clone(), target: o.destino.clone() })
                .collect();
            out.insert(m.id.clone(), schemas::Menu { id: m.id.clone(), entries, answer });
        }
        Ok(out)
    }
}

impl MenuDataset {
    /// `error` (an answer beyond WhatsApp's limits, the same check every answer passes) told
    /// where its text is written in the file: `archivo:línea:columna: campo: …`.
    fn located(&self, place: &str, field: &str, mut error: RenderError) -> RenderError {
        if let Some((line, column)) = self.lugares.get(place) {
            error.message = format!("{}:{line}:{column}: {field}: {}", self.archivo, error.message);
        }
        error
    }
}

/// A topic whose template the templates directory lacks: the menu is not published (its
/// topics would have no answers), and the error names the line and column of the file.
fn missing_templates(dataset: &MenuDataset, renderer: &Renderer) -> Result<(), RenderError> {
    let Some(entry) = dataset.temas.topics.iter().find(|e| !renderer.has_template(&e.template)) else { return Ok(()) };
    let (line, column) = dataset.plantillas.get(entry.topic.slug()).copied().unwrap_or((1, 1));
    Err(RenderError {
        template: entry.template.clone(),
        key: AnswerKey::estado(entry.topic),
        message: format!(
            "{}:{line}:{column}: plantilla: el tema «{}» usa la plantilla {} y no existe en el directorio de plantillas; créala o corrige el nombre",
            dataset.archivo, entry.topic, entry.template
        ),
        cause: None,
    })
}

/// Reads the texts citizens read, with their placeholders filled.
struct Texts<'a> {
    placeholders: Placeholders,
    /// The file's text, where an unknown placeholder is located.
    source: &'a str,
}

impl Texts<'_> {
    /// The text `key` of `t`, filled.
    fn read(&self, c: &mut Check, t: &Table, key: &str, required: bool) -> Option<String> {
        let text = c.text(t, key, required)?;
        let at = t.entry(key).expect("read").node.at;
        self.placeholders.fill(c, self.source, at, key, &text)
    }
}

/// A text no longer than `max` characters (a WhatsApp limit), once filled.
fn short(c: &mut Check, texts: &Texts, t: &Table, key: &str, required: bool, max: usize, what: &str) -> Option<String> {
    let text = texts.read(c, t, key, required)?;
    let len = text.chars().count();
    if len > max {
        let at = t.entry(key).expect("read").node.at;
        c.error(at, key, &text, format!("tiene {len} caracteres y WhatsApp admite {max} en {what}; acórtalo"));
        return None;
    }
    Some(text)
}

/// A target as the file writes it: the topic or the menu's id.
fn written(target: &Target) -> &str {
    match target {
        Target::Topic(topic) => topic.slug(),
        Target::Menu(menu) => menu.as_str(),
    }
}

/// Where a target leads, in a sentence: "al tema «confirmados»", "al menú «cifras»".
fn leads_to(target: &Target) -> String {
    match target {
        Target::Topic(_) => format!("al tema «{}»", written(target)),
        Target::Menu(_) => format!("al menú «{}»", written(target)),
    }
}

/// `tema = "…"` or `menu = "…"` (exactly one), as a target, with its place: a topic of
/// `temas` or a system answer a citizen asks for.
fn target(c: &mut Check, t: &Table, temas: &TopicCatalogue) -> Option<(Target, At)> {
    match (t.entry("tema"), t.entry("menu")) {
        (Some(e), None) => {
            let slug = c.text(t, "tema", true)?;
            match temas.all().find(|topic| topic.slug() == slug) {
                Some(topic) if OUTCOMES.contains(&topic) || topic == Topic::MENU => {
                    let reason = "no se pide directamente: es una respuesta de Conéctate o el propio menú; usa conectate_alta, conectate_baja o menu = \"principal\"";
                    c.error(e.node.at, "tema", &slug, reason);
                    None
                }
                Some(topic) => Some((Target::Topic(topic), e.node.at)),
                None => {
                    let known = temas.all().filter(|t| !OUTCOMES.contains(t) && *t != Topic::MENU);
                    let known = known.map(Topic::slug).collect::<Vec<_>>().join(", ");
                    let reason = format!(
                        "«{slug}» no es un tema conocido: agrega un [[tema]] con este slug o usa uno de estos: {known}"
                    );
                    c.error(e.node.at, "tema", &slug, reason);
                    None
                }
            }
        }
        (None, Some(e)) => {
            let id = c.text(t, "menu", true)?;
            match id.parse::<MenuId>() {
                Ok(m) => Some((Target::Menu(m), e.node.at)),
                Err(err) => {
                    c.error(e.node.at, "menu", &id, err.to_string());
                    None
                }
            }
        }
        _ => {
            c.error(t.at, "tema", "", "pon exactamente uno de tema = \"…\" (un tema) o menu = \"…\" (otro menú)");
            None
        }
    }
}

/// One `[[menu]]` and the places of its options' targets.
fn read_menu(c: &mut Check, texts: &Texts, t: &Table, temas: &TopicCatalogue) -> Option<(MenuDef, Vec<At>)> {
    c.only(t, &["id", "titulo", "texto", "boton", "opcion"]);
    let id = c.text(t, "id", true).and_then(|id| match id.parse::<MenuId>() {
        Ok(m) => Some(m),
        Err(err) => {
            c.error(t.entry("id").expect("read").node.at, "id", &id, err.to_string());
            None
        }
    });
    let titulo = texts.read(c, t, "titulo", false);
    let texto = texts.read(c, t, "texto", true);
    let boton = short(c, texts, t, "boton", false, LIST_BUTTON_MAX, "el botón de una lista")
        .unwrap_or_else(|| "Ver opciones".into());
    let rows = c.tables(t, "opcion", true);
    if rows.len() > LIST_ROWS_MAX {
        let at = rows[LIST_ROWS_MAX].at;
        c.error(
            at,
            "opcion",
            "",
            format!("un menú tiene como máximo {LIST_ROWS_MAX} opciones en WhatsApp; usa un submenú"),
        );
    }
    let mut opciones: Vec<Opcion> = Vec::new();
    let mut places = Vec::new();
    for row in rows {
        c.only(row, &["numero", "etiqueta", "descripcion", "tema", "menu"]);
        let numero = c.count(row, "numero", true).and_then(|n| {
            let ok = u8::try_from(n).ok().filter(|n| (1..=99).contains(n));
            if ok.is_none() {
                c.error(row.entry("numero").expect("read").node.at, "numero", n, "debe ser de 1 a 99");
            }
            ok
        });
        let etiqueta = short(c, texts, row, "etiqueta", true, ROW_TITLE_MAX, "el título de una opción");
        let descripcion =
            short(c, texts, row, "descripcion", false, ROW_DESCRIPTION_MAX, "la descripción de una opción");
        let destino = target(c, row, temas);
        let (Some(numero), Some(etiqueta), Some((destino, at))) = (numero, etiqueta, destino) else { continue };
        let numero_at = row.entry("numero").expect("read").node.at;
        if opciones.iter().any(|o| o.numero == numero) {
            c.error(numero_at, "numero", numero, "otra opción de este menú ya tiene este número");
        } else if opciones.iter().any(|o| o.destino == destino) {
            c.error(at, "tema", written(&destino), "otra opción de este menú ya lleva ahí");
        } else {
            opciones.push(Opcion { numero, etiqueta, descripcion, destino });
            places.push(at);
        }
    }
    Some((MenuDef { id: id?, titulo, texto: texto?, boton, opciones }, places))
}

/// `[[palabras]]`: each phrase, normalised, leads to one target only.
fn read_keywords(c: &mut Check, root: &Table, menus: &BTreeSet<MenuId>, temas: &TopicCatalogue) -> Vec<KeywordRule> {
    let mut rules: Vec<KeywordRule> = Vec::new();
    let mut seen: BTreeMap<Keyword, (Target, u64)> = BTreeMap::new();
    for t in c.tables(root, "palabras", true) {
        c.only(t, &["tema", "menu", "frases"]);
        let destino = target(c, t, temas);
        if let Some((Target::Menu(m), at)) = &destino
            && !menus.contains(m)
        {
            c.error(*at, "menu", m, "no hay un [[menu]] con este id");
        }
        for (phrase, at) in c.texts(t, "frases", true) {
            let Ok(keyword) = Keyword::parse(&phrase) else {
                c.error(at, "frases", &phrase, "sin letras ni números no hay nada que buscar; quítala");
                continue;
            };
            if keyword.as_str().bytes().all(|b| b.is_ascii_digit() || b == b' ') {
                c.error(
                    at,
                    "frases",
                    &phrase,
                    "una frase no puede ser solo un número: los números eligen opciones del menú",
                );
                continue;
            }
            let Some((destino, _)) = &destino else { continue };
            match seen.get(&keyword) {
                Some((other, line)) if other != destino => {
                    let reason = format!(
                        "ya lleva {} en la línea {line}; una frase solo puede llevar a un lugar",
                        leads_to(other)
                    );
                    c.error(at, "frases", &phrase, reason);
                }
                Some(_) => {}
                None => {
                    seen.insert(keyword.clone(), (destino.clone(), at.line));
                    rules.push(KeywordRule { phrase: keyword, target: destino.clone() });
                }
            }
        }
    }
    rules
}

/// `[[alias]]`: names citizens write for a municipio, on top of the catalogue's. An alias with
/// `entidad` (an INEGI code or a state's name) belongs to that state and is left out of another
/// state's deployment, so one file can carry the short names of several states.
fn read_aliases(c: &mut Check, root: &Table) -> BTreeMap<Keyword, MunicipioId> {
    let mut out = BTreeMap::new();
    for t in c.tables(root, "alias", false) {
        c.only(t, &["alias", "municipio", "entidad"]);
        if alias_state(c, t).is_some_and(|code| code != schemas::state().code) {
            continue;
        }
        let (Some(alias), Some(id)) = (c.text(t, "alias", true), c.municipio(t, "municipio", true)) else { continue };
        let at = t.entry("alias").expect("read").node.at;
        let Ok(keyword) = Keyword::parse(&alias) else {
            c.error(at, "alias", &alias, "sin letras ni números no hay nada que buscar; quítalo");
            continue;
        };
        let catalogued = catalogue().find(&alias).filter(|_| !schemas::state().is_named(&alias));
        match (catalogued, out.get(&keyword)) {
            (Some(other), _) | (None, Some(&other)) if other != id => {
                let reason =
                    format!("ya es el nombre de {}; un alias solo puede ser de un municipio", other.municipio().name);
                c.error(at, "alias", &alias, reason);
            }
            _ => {
                out.insert(keyword, id);
            }
        }
    }
    out
}

/// The state an `[[alias]]` names with `entidad`, if it names one: `None` without it, and
/// after an error for a value that is no state.
fn alias_state(c: &mut Check, t: &Table) -> Option<u8> {
    let entry = c.get(t, "entidad", false)?;
    let found = match &entry.node.value {
        maintainer::Value::Integer(code) => {
            u16::try_from(*code).ok().and_then(|code| schemas::state::state_by_code(code).ok())
        }
        maintainer::Value::Text(name) => schemas::state::states().iter().find(|s| s.is_named(name)),
        _ => None,
    };
    if found.is_none() {
        let at = entry.node.at;
        let reason = "debe ser la clave INEGI de una entidad (de 1 a 32, sin comillas) o su nombre entre comillas";
        c.error(at, "entidad", entry.node.value.shown(), reason);
    }
    found.map(|s| s.code)
}

/// Every topic a citizen can ask for must be reachable, and every menu openable.
fn reachable(c: &mut Check, menus: &[(MenuDef, Vec<At>)], palabras: &[KeywordRule], temas: &TopicCatalogue) {
    let mut targets: BTreeSet<Target> = palabras.iter().map(|k| k.target.clone()).collect();
    let mut open = vec![MenuId::principal()];
    let mut opened = BTreeSet::new();
    while let Some(id) = open.pop() {
        if !opened.insert(id.clone()) {
            continue;
        }
        for (m, _) in menus.iter().filter(|(m, _)| m.id == id) {
            for o in &m.opciones {
                targets.insert(o.destino.clone());
                if let Target::Menu(sub) = &o.destino {
                    open.push(sub.clone());
                }
            }
        }
    }
    for t in palabras {
        if let Target::Menu(m) = &t.target {
            opened.insert(m.clone());
        }
    }
    let start = At { line: 1, column: 1 };
    for topic in temas.all() {
        if topic == Topic::MENU || OUTCOMES.contains(&topic) || targets.contains(&Target::Topic(topic)) {
            continue;
        }
        let reason = format!(
            "nadie puede pedir «{}»: agrega una opción de menú o una palabra clave que lleve a él",
            topic.slug()
        );
        c.error(start, "palabras", "", reason);
    }
    for (m, _) in menus {
        if !opened.contains(&m.id) {
            c.error(start, "menu", &m.id, "ninguna opción ni palabra clave abre este menú");
        }
    }
    if !targets.contains(&Target::Menu(MenuId::principal())) {
        c.error(start, "palabras", "", "ninguna palabra clave abre el menú principal: agrega [[palabras]] con menu = \"principal\" (hola, menú, inicio)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLED: &str = include_str!("../../../../fixtures/menu/menu.toml");

    /// The answers of the menu file `text`, rendered with the repository's templates.
    fn rendered(text: &str) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let text = Text { file: "menu.toml".into(), text: text.into(), checksum: String::new(), warnings: Vec::new() };
        let dataset = parse_text(text, &ConfiguredSources::default()).expect("a valid file").dataset;
        let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
        let renderer = Renderer::load(&templates).unwrap();
        let menu = Menu { config: MenuConfig::default(), configured: ConfiguredSources::default() };
        let common = Common {
            data_date: dataset.data_date,
            attribution: menu.config.attribution.clone(),
            companions: crate::render::Companions::new(),
            fed: Vec::new(),
        };
        menu.render(&dataset, &renderer, &common)
    }

    #[test]
    fn a_fixed_text_beyond_a_whatsapp_message_is_reported_where_it_is_written() {
        assert!(rendered(BUNDLED).is_ok());
        // The bundled [textos] replaced by short ones, the help beyond 4,096 characters.
        let long = "Escribe MENÚ para ver las opciones. ".repeat(120);
        let start = BUNDLED.find("[textos]\n").expect("the fixed texts") + "[textos]\n".len();
        let end = start + BUNDLED[start..].find("\n[").unwrap() + 1;
        let others = ["conectate_alta", "conectate_ya_suscrito", "conectate_baja", "conectate_no_suscrito"];
        let texts: String = others.iter().map(|k| format!("{k} = \"Listo.\"\n")).collect();
        let file = format!("{}ayuda = \"{long}\"\n{texts}{}", &BUNDLED[..start], &BUNDLED[end..]);
        let line = BUNDLED[..start].matches('\n').count() + 1;
        let error = rendered(&file).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "plantilla ayuda.j2, respuesta ayuda/estado: menu.toml:{line}:9: ayuda: el texto tiene "
            )),
            "{error}"
        );
        assert!(error.ends_with("caracteres; WhatsApp admite como máximo 4,096"), "{error}");
    }
}
