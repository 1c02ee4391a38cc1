//! State figures the national file lacks: casos recuperados and casos de transmisión
//! comunitaria, as the state's health secretariat publishes them, optionally with the state's
//! own totals (which the answers quote beside them) and per-municipio figures.
//!
//! # File
//! TOML:
//!
//! ```toml
//! fecha = 2020-04-13
//! recuperados = 33
//! transmision_comunitaria = 10
//! # optional: the state's own totals
//! confirmados = 102
//! sospechosos = 135          # en investigación
//! descartados = 1455
//! defunciones = 5
//! fase = "FASE DOS"
//!
//! [[municipio]]              # optional, any of the figures
//! municipio = "León"         # name, short name or INEGI code
//! recuperados = 12
//! ```
//!
//! Or the state portal's JSON (`coronavirus.guanajuato.gob.mx/infectados.json`, docs/formats.md
//! §d.1) as it comes, `{"casos": {…}, "listado": {"León": [{"confirmados": 36}, …], …}}`
//! (figures in `casos` are strings), or as third-party scrapers store it (`resumen`,
//! `estados`, `timestamp`). Its data date is `fecha` when present, else the scrape
//! `timestamp`, else the server's `Last-Modified`, else the day it was fetched.

use std::collections::BTreeMap;

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::{Answer, AnswerKey, MunicipioId, Scope, SourceName, catalogue, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, Check, Node, Table, Text, Value};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "estatal";

/// Options of `[sources.NAME]` for `kind = "estatal"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EstatalConfig {
    /// Recuperados and transmisión comunitaria are cumulative: any fall quarantines, and so
    /// does a rise beyond this percentage in one publication.
    pub max_jump_percent: f64,
    /// The time zone of the portal's scrape timestamp and of the fetch day.
    pub timezone: String,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for EstatalConfig {
    fn default() -> Self {
        EstatalConfig {
            max_jump_percent: 50.0,
            timezone: "America/Mexico_City".into(),
            attribution: format!("Secretaría de Salud de {}", schemas::state().name),
        }
    }
}

/// Figures of one scope; any may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cifras {
    pub recuperados: Option<u64>,
    pub transmision_comunitaria: Option<u64>,
    pub confirmados: Option<u64>,
    pub sospechosos: Option<u64>,
    pub descartados: Option<u64>,
    pub defunciones: Option<u64>,
}

/// The figure names of the TOML file, and the state portal's names for them.
const FIGURES: [(&str, &str); 6] = [
    ("recuperados", "recuperados"),
    ("transmision_comunitaria", "comunitaria"),
    ("confirmados", "confirmados"),
    ("sospechosos", "investigacion"),
    ("descartados", "descartados"),
    ("defunciones", "fallecidos"),
];

impl Cifras {
    /// The figure `name` (one of [`FIGURES`]' names), if given.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.clone().slot(name).take()
    }

    fn slot(&mut self, name: &str) -> &mut Option<u64> {
        match name {
            "recuperados" => &mut self.recuperados,
            "transmision_comunitaria" => &mut self.transmision_comunitaria,
            "confirmados" => &mut self.confirmados,
            "sospechosos" => &mut self.sospechosos,
            "descartados" => &mut self.descartados,
            _ => &mut self.defunciones,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstatalDataset {
    pub data_date: Date,
    pub estado: Cifras,
    pub fase: Option<String>,
    /// By municipio code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub municipios: BTreeMap<MunicipioId, Cifras>,
}

impl Dataset for EstatalDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        let n = |x: Option<u64>| x.map_or_else(|| "—".to_owned(), |x| es_mx::integer(x as i64));
        format!(
            "{} recuperados, {} de transmisión comunitaria, {} municipios con cifras; datos al {}",
            n(self.estado.recuperados),
            n(self.estado.transmision_comunitaria),
            self.municipios.len(),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Estatal {
    pub config: EstatalConfig,
    timezone: jiff::tz::TimeZone,
}

impl SourceKind for Estatal {
    type Dataset = EstatalDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: EstatalConfig = crate::source::options(source, options)?;
        let field =
            |field: &str, message: String| ConfigError { name: source.to_string(), field: field.into(), message };
        if config.max_jump_percent.is_nan() || config.max_jump_percent < 0.0 {
            return Err(field("max_jump_percent", "debe ser 0 o mayor".into()));
        }
        let timezone = jiff::tz::TimeZone::get(&config.timezone)
            .map_err(|_| field("timezone", format!("«{}» no es una zona horaria IANA", config.timezone)))?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Estatal { config, timezone })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["recuperados"]) || maintainer::head_has(head, &["casos", "listado"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<EstatalDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let json = text.file.to_ascii_lowercase().ends_with(".json") || text.text.trim_start().starts_with('{');
        let (dataset, records) = if json {
            let root = match maintainer::json(&text)? {
                Node { value: Value::Table(t), .. } => t,
                node => {
                    check.error(node.at, "JSON", "", "se esperaba un objeto {\"casos\": …, \"listado\": …}");
                    Table::default()
                }
            };
            self.portal(&mut check, &root, body)
        } else {
            let root = maintainer::toml(&text)?;
            toml_file(&mut check, &root)
        };
        let mut warnings = check.finish(records, 0.0)?;
        warnings.extend(text.warnings);
        let dataset = dataset.expect("no errors, so a dataset");
        Ok(Parsed { dataset, rows: records, checksum: text.checksum, warnings })
    }

    fn implausibilities(&self, last_good: &EstatalDataset, new: &EstatalDataset) -> Vec<String> {
        let pairs = [
            ("los casos recuperados", last_good.estado.recuperados, new.estado.recuperados),
            (
                "los casos de transmisión comunitaria",
                last_good.estado.transmision_comunitaria,
                new.estado.transmision_comunitaria,
            ),
        ];
        pairs
            .into_iter()
            .filter_map(|(what, before, now)| maintainer::cumulative(what, before?, now?, self.config.max_jump_percent))
            .collect()
    }

    fn render(
        &self,
        dataset: &EstatalDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let mut answers = Vec::new();
        let estado = J::from(minijinja::value::Serde(&dataset.estado));
        // Each topic the catalogue feeds from this source shows one figure (`dato`): answered
        // for the state and for every municipio that has that figure.
        let names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
        for entry in super::maintainer::figures_named(&common.fed, &names)? {
            let scopes = std::iter::once(Scope::Estado).chain(
                dataset
                    .municipios
                    .iter()
                    .filter(|(_, c)| c.get(&entry.figure).is_some())
                    .map(|(id, _)| Scope::Municipio(*id)),
            );
            for scope in scopes {
                let cifras = match scope {
                    Scope::Estado => &dataset.estado,
                    Scope::Municipio(id) => &dataset.municipios[&id],
                };
                let values = minijinja::context! {
                    cifras => J::from(minijinja::value::Serde(cifras)),
                    estado => estado.clone(),
                    fase => dataset.fase.clone(),
                };
                answers.push(renderer.render_topic(entry, scope, common, values)?);
            }
        }
        Ok(answers)
    }
}

/// The maintainer's TOML file.
fn toml_file(check: &mut Check, root: &Table) -> (Option<EstatalDataset>, u64) {
    let mut allowed: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
    allowed.extend(["fecha", "fase", "municipio"]);
    check.only(root, &allowed);
    let data_date = check.date(root, "fecha", true);
    let mut estado = Cifras::default();
    for (name, _) in FIGURES {
        let required = matches!(name, "recuperados" | "transmision_comunitaria");
        *estado.slot(name) = check.count(root, name, required);
    }
    let fase = check.text(root, "fase", false);
    let rows = check.tables(root, "municipio", false);
    let mut municipios = BTreeMap::new();
    for row in &rows {
        let read = check.record(|c| {
            let mut fields: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
            fields.push("municipio");
            c.only(row, &fields);
            let id = c.municipio(row, "municipio", true);
            let mut cifras = Cifras::default();
            for (name, _) in FIGURES {
                *cifras.slot(name) = c.count(row, name, false);
            }
            Some((id?, cifras, row.at))
        });
        if let Some((id, cifras, at)) = read
            && municipios.insert(id, cifras).is_some()
        {
            check.error(
                at,
                "municipio",
                &id.municipio().name,
                "este municipio ya tiene cifras más arriba; deja una sola tabla",
            );
        }
    }
    let dataset = data_date.map(|data_date| EstatalDataset { data_date, estado, fase, municipios });
    (dataset, 1 + rows.len() as u64)
}

impl Estatal {
    /// The state portal's JSON, raw (`casos`, `listado`) or as scrapers store it (`resumen`,
    /// `estados`).
    fn portal(&self, check: &mut Check, root: &Table, body: &Body) -> (Option<EstatalDataset>, u64) {
        let (casos_key, listado_key) =
            if root.entry("resumen").is_some() { ("resumen", "estados") } else { ("casos", "listado") };
        let casos = check.table(root, casos_key, true);
        let mut estado = Cifras::default();
        let mut fase = None;
        if let Some(casos) = casos {
            for (name, portal) in FIGURES {
                let required = matches!(name, "recuperados" | "transmision_comunitaria");
                *estado.slot(name) = check.count(casos, portal, required);
            }
            fase = check.text(casos, "fase", false);
        }
        let mut municipios = BTreeMap::new();
        let mut records = 1;
        if let Some(listado) = check.get(root, listado_key, false) {
            match &listado.node.value {
                Value::Table(listado) => {
                    for entry in &listado.entries {
                        records += 1;
                        if let Some((id, cifras)) = check.record(|c| portal_municipio(c, entry)).flatten() {
                            municipios.insert(id, cifras);
                        }
                    }
                }
                _ => check.error(listado.node.at, listado_key, "", "debe ser un objeto con un campo por municipio"),
            }
        }
        let data_date = self.portal_date(check, root, body);
        let dataset = data_date.map(|data_date| EstatalDataset { data_date, estado, fase, municipios });
        (dataset, records)
    }

    fn portal_date(&self, check: &mut Check, root: &Table, body: &Body) -> Option<Date> {
        if root.entry("fecha").is_some() {
            return check.date(root, "fecha", true);
        }
        let in_zone = |t: jiff::Timestamp| t.to_zoned_datetime(self.timezone.clone()).date();
        if let Some(entry) = root.entry("timestamp") {
            let seconds = match &entry.node.value {
                Value::Integer(i) => Some(*i as f64),
                Value::Float(x) => Some(*x),
                _ => None,
            };
            let stamp = seconds.and_then(|s| jiff::Timestamp::from_second(s as i64).ok());
            if stamp.is_none() {
                check.error(entry.node.at, "timestamp", "", "debe ser segundos desde 1970 (un número)");
            }
            return stamp.map(in_zone);
        }
        let modified = body.validators.last_modified.as_deref().and_then(|h| jiff::fmt::rfc2822::parse(h).ok());
        Some(modified.map_or_else(|| in_zone(jiff::Timestamp::now()), |z| in_zone(z.timestamp())))
    }
}

/// One municipio of the portal's `listado`: a list of one-field objects (raw) or one object.
/// "No residente" (no `id`) is skipped: it is nobody's municipio.
fn portal_municipio(c: &mut Check, entry: &maintainer::Entry) -> Option<Option<(MunicipioId, Cifras)>> {
    let merged = match &entry.node.value {
        Value::Table(t) => t.clone(),
        Value::List(items) => {
            let mut t = Table { at: entry.node.at, entries: Vec::new() };
            for item in items {
                match &item.value {
                    Value::Table(one) => t.entries.extend(one.entries.iter().cloned()),
                    _ => c.error(item.at, &entry.label, "", "cada elemento debe ser un objeto {\"campo\": número}"),
                }
            }
            t
        }
        _ => {
            c.error(entry.node.at, &entry.label, "", "debe ser un objeto con las cifras del municipio");
            return None;
        }
    };
    let by_name = catalogue().find(&entry.key);
    let id = match merged.entry("id") {
        None if by_name.is_none() => return Some(None),
        None => by_name,
        Some(_) => c.municipio(&merged, "id", true),
    };
    if let (Some(id), Some(named)) = (id, by_name)
        && id != named
    {
        let reason =
            format!("la clave {id} es de {}, no de «{}»; corrige una de las dos", id.municipio().name, entry.key);
        c.error(entry.key_at, &entry.label, "", reason);
    }
    let mut cifras = Cifras::default();
    for (name, portal) in FIGURES {
        *cifras.slot(name) = c.count(&merged, portal, false);
    }
    Some(Some((id?, cifras)))
}
