//! Rows per municipio rendered by a template, for any topic of the catalogue: the generic kind
//! of the hospital list's shape, for a maintainer who lists places (vaccination sedes,
//! shelters, testing points…) without a line of code.
//!
//! # File
//! CSV, one row per place; a `municipio` column and any others, named as the template reads
//! them (headers without case, accents or punctuation, spaces as `_`):
//!
//! ```csv
//! municipio,sede,domicilio,horario
//! León,Centro de Salud León I,"Blvd. Juan Alonso de Torres 1104",Lunes a viernes de 8:00 a 14:00
//! Celaya,Hospital General Celaya,"Av. Irrigación s/n",Todos los días de 9:00 a 13:00
//! ```
//!
//! | column | required | what |
//! |---|---|---|
//! | `municipio` | yes | a municipio of the state by name, short name or INEGI code; a municipio may have many rows |
//! | `fecha` (or `fecha_datos`) | no | the data date, the same in every row; without it, the `AAAA-MM-DD` in the file name |
//! | any other | at least one | text the template shows, by the column's name (`Horario de atención` is `horario_de_atencion`); may be empty |
//!
//! A date of each row (the day a brigade visits) goes in a column of another name (`dia`).
//!
//! # Answers
//! Every topic whose `fuente` is this source is rendered with its template for the state and,
//! when it has `por_municipio = true`, for every municipio of the state, those without rows
//! too (their answer says so and how to ask for the list). A template sees `filas` (the
//! scope's rows: the municipio's, or every row for the state, in file order; each a map by
//! column name with `municipio` as the municipio's proper name), `grupos` (`[{municipio,
//! filas}]`, the municipios with rows in the order the file first names them), `total` (rows
//! in the file), `municipios` (how many municipios have rows) and `tema` (the topic's name).
//! What the state's answer shows is the template's choice: the whole list grouped by municipio
//! while it is short, else how many places in how many municipios and how to ask for one's
//! own (the guide's example), since one message holds 4,096 characters.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::{Answer, AnswerKey, MunicipioId, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, At, Check, GenericConfig, Text};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "tabla";

/// The columns that are not the rows' values, with the other names they may have.
const PLACE: (&str, &[&str]) = ("municipio", &[]);
const DATE: (&str, &[&str]) = ("fecha", &["fecha_datos"]);

/// One row: its municipio and its values by column name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fila {
    pub municipio: MunicipioId,
    pub valores: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablaDataset {
    pub data_date: Date,
    /// The value columns, in file order.
    pub columnas: Vec<String>,
    /// Every row, in file order.
    pub filas: Vec<Fila>,
}

impl TablaDataset {
    /// The municipios with rows, in the order the file first names them.
    fn municipios(&self) -> Vec<MunicipioId> {
        let mut seen = BTreeSet::new();
        self.filas.iter().map(|f| f.municipio).filter(|m| seen.insert(*m)).collect()
    }
}

impl Dataset for TablaDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        format!(
            "{} filas en {} municipios, columnas {}; datos al {}",
            es_mx::integer(self.filas.len() as i64),
            es_mx::integer(self.municipios().len() as i64),
            self.columnas.join(", "),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Tabla {
    pub config: GenericConfig,
}

impl SourceKind for Tabla {
    type Dataset = TablaDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        Ok(Tabla { config: GenericConfig::read(source, options)? })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<TablaDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let fixed = |name: &str| [PLACE, DATE].iter().any(|(n, others)| *n == name || others.contains(&name));
        let headers = maintainer::header_names(&text);
        let columnas: Vec<String> = headers.iter().filter(|h| !fixed(h)).cloned().collect();
        let mut aliases: Vec<(&str, &[&str])> = vec![PLACE, DATE];
        aliases.extend(columnas.iter().map(|c| (c.as_str(), &[] as &[&str])));
        let root = maintainer::csv(&text, "fila", &aliases, &mut check)?;
        if !headers.iter().any(|h| h == PLACE.0) {
            check.error(At { line: 1, column: 1 }, "cabecera", "", "falta la columna municipio; agrégala");
        }
        if columnas.is_empty() {
            let reason = "no hay columnas de datos: agrega al menos una además de municipio y fecha (por ejemplo sede)";
            check.error(At { line: 1, column: 1 }, "cabecera", "", reason);
        }
        let rows = check.tables(&root, "fila", true);
        let mut dates = BTreeSet::new();
        let mut filas = Vec::new();
        for row in &rows {
            if let Some(date) = check.date(row, "fecha", false) {
                dates.insert((date, row.entry("fecha").map_or(row.at, |e| e.node.at)));
            }
            let Some(municipio) = check.municipio(row, "municipio", true) else { continue };
            // Every CSV field is text; a short row (an error already) lacks its last ones.
            let valores = columnas
                .iter()
                .filter_map(|c| match &row.entry(c)?.node.value {
                    maintainer::Value::Text(s) => Some((c.clone(), s.clone())),
                    _ => None,
                })
                .collect();
            filas.push(Fila { municipio, valores });
        }
        let data_date = maintainer::csv_date(&mut check, &text.file, &dates, "vacunacion_2026-12-01.csv");
        let mut warnings = check.finish(rows.len() as u64, 0.0)?;
        warnings.extend(text.warnings);
        Ok(Parsed {
            rows: rows.len() as u64,
            dataset: TablaDataset { data_date: data_date.expect("checked"), columnas, filas },
            checksum: text.checksum,
            warnings,
        })
    }

    /// Places open and close from one list to the next (a campaign's sedes), so nothing is
    /// held back but a data date going back (the pipeline's own check).
    fn implausibilities(&self, _last_good: &TablaDataset, _new: &TablaDataset) -> Vec<String> {
        Vec::new()
    }

    fn render(
        &self,
        dataset: &TablaDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let view = |f: &Fila| {
            let mut row = f.valores.clone();
            row.insert("municipio".into(), f.municipio.municipio().name.clone());
            row
        };
        let mut by_municipio: BTreeMap<MunicipioId, Vec<BTreeMap<String, String>>> = BTreeMap::new();
        for f in &dataset.filas {
            by_municipio.entry(f.municipio).or_default().push(view(f));
        }
        let order = dataset.municipios();
        let grupos: Vec<serde_json::Value> = order
            .iter()
            .map(|m| serde_json::json!({ "municipio": m.municipio().name, "filas": by_municipio[m] }))
            .collect();
        let todas: Vec<_> = dataset.filas.iter().map(view).collect();
        let shared = minijinja::context! {
            grupos => J::from(minijinja::value::Serde(&grupos)),
            total => dataset.filas.len(),
            municipios => order.len(),
        };
        let none = Vec::new();
        let mut answers = Vec::new();
        for scope in Scope::all() {
            let filas = match scope {
                Scope::Estado => &todas,
                Scope::Municipio(id) => by_municipio.get(&id).unwrap_or(&none),
            };
            let values = minijinja::context! { filas => J::from(minijinja::value::Serde(filas)), ..shared.clone() };
            for entry in common.fed.iter().filter(|e| e.by_municipio || scope == Scope::Estado) {
                let values = minijinja::context! { tema => &entry.name, ..values.clone() };
                answers.push(renderer.render_topic(entry, scope, common, values)?);
            }
        }
        Ok(answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &str) -> Result<TablaDataset, SourceError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vacunacion_2026-12-01.csv");
        std::fs::write(&path, csv).unwrap();
        let kind = Tabla { config: GenericConfig::default() };
        let body = Body::from_file(&path).unwrap();
        kind.parse(&body, &crate::progress::Progress::shared()).map(|p| p.dataset)
    }

    fn errors(csv: &str) -> Vec<String> {
        match parse(csv) {
            Err(SourceError::Rejected { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
            other => panic!("rejected, not {other:?}"),
        }
    }

    #[test]
    fn rows_keep_every_column_by_its_normalised_name() {
        let parsed =
            parse("Municipio,Sede,Horario de atención,Teléfono\nLeón,Centro de Salud I,8 a 14,\n007,Hospital General,9 a 13,4611234567\nLeón,Plaza Expiatorio,10 a 12,\n")
                .unwrap();
        assert_eq!(parsed.columnas, ["sede", "horario_de_atencion", "telefono"]);
        assert_eq!(parsed.data_date, jiff::civil::date(2026, 12, 1), "the date in the file's name");
        assert_eq!(parsed.filas.len(), 3);
        let celaya = MunicipioId::try_from(7).unwrap();
        let leon = MunicipioId::try_from(20).unwrap();
        assert_eq!(parsed.municipios(), [leon, celaya], "in the order the file names them");
        assert_eq!(parsed.filas[1].municipio, celaya, "by INEGI code");
        assert_eq!(parsed.filas[1].valores["horario_de_atencion"], "9 a 13");
        assert_eq!(parsed.filas[0].valores["telefono"], "", "an empty field is kept empty");
        assert_eq!(
            parsed.summary(),
            "3 filas en 2 municipios, columnas sede, horario_de_atencion, telefono; datos al 1 de diciembre de 2026"
        );
        let dated = parse("municipio,fecha,sede\nLeón,2026-12-03,Centro\n").unwrap();
        assert_eq!(dated.data_date, jiff::civil::date(2026, 12, 3), "the fecha column wins over the name");
    }

    #[test]
    fn bad_rows_and_headers_are_named_by_line_and_column() {
        let lines = errors(
            "municipio,fecha,sede,sede\nTijuana,2026-12-01,Centro,x\nLeón,2026-12-02,Plaza,y\nCelaya,2026-12-01\n",
        );
        let expected = [
            "vacunacion_2026-12-01.csv:1:4: sede: la columna «sede» aparece dos veces",
            "vacunacion_2026-12-01.csv:2:1: municipio: no es un municipio de Guanajuato",
            "vacunacion_2026-12-01.csv:3:2: fecha: todas las filas deben tener la misma fecha de los datos",
            "vacunacion_2026-12-01.csv:4:3: fila: tiene 2 campos y la cabecera 4",
        ];
        assert_eq!(lines.len(), expected.len(), "{lines:#?}");
        for (line, want) in lines.iter().zip(expected) {
            assert!(line.starts_with(want), "{line}\nwanted: {want}");
        }
        let lines = errors("sede,domicilio\nCentro,Calle 1\n");
        assert!(
            lines[0].starts_with("vacunacion_2026-12-01.csv:1:1: cabecera: falta la columna municipio"),
            "{lines:?}"
        );
        let lines = errors("municipio,fecha\nLeón,2026-12-01\n");
        assert!(lines[0].starts_with("vacunacion_2026-12-01.csv:1:1: cabecera: no hay columnas de datos"), "{lines:?}");
        let lines = errors("municipio,sede\n");
        assert!(lines[0].contains("la lista está vacía"), "{lines:?}");
    }

    #[test]
    fn every_municipio_is_answered_with_its_rows_or_none_and_the_state_with_every_group() {
        let dir = tempfile::tempdir().unwrap();
        let template = "{{ tema }} en {{ alcance.nombre }}: {{ filas | length }} de {{ total }}; \
                        {% for f in filas %}{{ f.sede }} ({{ f.municipio }}) {% endfor %}\
                        [{% for g in grupos %}{{ g.municipio }}={{ g.filas | length }} {% endfor %}en {{ municipios }}]\n\
                        {{ fuente }}, {{ fecha_datos }}";
        std::fs::write(dir.path().join("sedes.j2"), template).unwrap();
        let renderer = Renderer::load(dir.path()).unwrap();
        let entry = |slug: &'static str, by_municipio| schemas::TopicEntry {
            topic: schemas::Topic::from_static(slug),
            name: "Sedes".into(),
            by_municipio,
            differs_by_place: false,
            template: "sedes.j2".into(),
            source: "sedes".parse().unwrap(),
            figure: slug.into(),
        };
        let common = Common {
            data_date: jiff::civil::date(2026, 12, 1),
            attribution: "Secretaría de Salud de Guanajuato".into(),
            companions: crate::render::Companions::new(),
            fed: vec![entry("sedes", true), entry("sedes_estatal", false)],
        };
        let dataset = parse("municipio,sede\nCelaya,Hospital\nLeón,Centro\nCelaya,Plaza\n").unwrap();
        let kind = Tabla { config: GenericConfig::default() };
        let answers: BTreeMap<AnswerKey, Answer> =
            kind.render(&dataset, &renderer, &common).unwrap().into_iter().collect();
        assert_eq!(
            answers.len(),
            1 + MunicipioId::all().count() + 1,
            "every municipio of one topic, the state of both"
        );
        let body =
            |slug: &'static str, scope| answers[&AnswerKey::new(schemas::Topic::from_static(slug), scope)].body();
        let groups = "[Celaya=2 León=1 en 2]\nSecretaría de Salud de Guanajuato, 1 de diciembre de 2026";
        assert_eq!(
            body("sedes", Scope::Estado),
            format!("Sedes en Guanajuato: 3 de 3; Hospital (Celaya) Centro (León) Plaza (Celaya) {groups}")
        );
        let celaya = Scope::Municipio(MunicipioId::try_from(7).unwrap());
        assert_eq!(
            body("sedes", celaya),
            format!("Sedes en Celaya: 2 de 3; Hospital (Celaya) Plaza (Celaya) {groups}")
        );
        let irapuato = Scope::Municipio(MunicipioId::try_from(17).unwrap());
        assert_eq!(body("sedes", irapuato), format!("Sedes en Irapuato: 0 de 3; {groups}"));
        assert!(body("sedes_estatal", Scope::Estado).starts_with("Sedes en Guanajuato: 3 de 3;"));
    }
}
