//! A text for the whole state, optionally one per municipio, for any topic of the catalogue:
//! the generic kind a maintainer feeds a notice with (a heat-wave advisory, a vaccination
//! campaign whose sedes and hours differ in a few municipios) without a line of code.
//!
//! # File
//! TOML, each text between `"""` as in the menu file:
//!
//! ```toml
//! fecha = 2026-12-01          # the text's date: the data date its answers state
//! texto = """
//! Se espera calor extremo del 1 al 5 de diciembre. Toma agua aunque no tengas sed…
//! """
//!
//! [[municipio]]               # optional, one per municipio with a text of its own
//! nombre = "Celaya"           # name, short name or INEGI code
//! texto = """
//! En Celaya el albergue temporal está en el auditorio municipal…
//! """
//! ```
//!
//! Every text must say something and fit in one WhatsApp message (4,096 characters); a
//! municipio may have one text only. A municipio without a text of its own gets the state's.
//!
//! # Answers
//! The texts go through the topic's template like every other answer, so each one states its
//! date and source with the shared `_fuente.j2` and fits WhatsApp's limits once the template
//! has added its title and footer; the bundled `texto.j2` serves any topic of this kind
//! (`plantilla = "texto.j2"`). Every topic whose `fuente` is this source is rendered for the
//! state and, when it has `por_municipio = true`, for every municipio of the state (texts per
//! municipio are read only for such topics). A template sees `texto` (the scope's text: the
//! municipio's own, else the state's), `propio` (whether that text is the municipio's own;
//! true for the state), `texto_estatal` (the state's) and `tema` (the topic's name).

use std::collections::BTreeMap;

use jiff::civil::Date;
use schemas::{Answer, AnswerError, AnswerKey, MunicipioId, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, Check, GenericConfig, Table, Text, Value};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "texto";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextoDataset {
    pub data_date: Date,
    /// The state's text, which every municipio without its own gets.
    pub texto: String,
    /// The municipios' own texts.
    pub municipios: BTreeMap<MunicipioId, String>,
}

impl Dataset for TextoDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        let own = match self.municipios.len() {
            0 => "ningún municipio con texto propio".to_owned(),
            n => {
                let names: Vec<&str> = self.municipios.keys().map(|m| m.municipio().name.as_str()).collect();
                let word = if n == 1 { "municipio" } else { "municipios" };
                format!("{} {word} con texto propio ({})", es_mx::integer(n as i64), names.join(", "))
            }
        };
        format!(
            "texto del estado de {} caracteres y {own}; fecha {}",
            es_mx::integer(self.texto.chars().count() as i64),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Texto {
    pub config: GenericConfig,
}

impl SourceKind for Texto {
    type Dataset = TextoDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        Ok(Texto { config: GenericConfig::read(source, options)? })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<TextoDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let root = maintainer::toml(&text)?;
        check.only(&root, &["fecha", "texto", "municipio"]);
        let data_date = check.date(&root, "fecha", true);
        let texto = read_text(&mut check, &root);
        let mut municipios = BTreeMap::new();
        let mut first_line = BTreeMap::new();
        let tables = check.tables(&root, "municipio", false);
        for t in &tables {
            check.only(t, &["nombre", "texto"]);
            let id = check.municipio(t, "nombre", true);
            let own = read_text(&mut check, t);
            let (Some(id), Some(own)) = (id, own) else { continue };
            let at = t.entry("nombre").expect("read").node.at;
            if let Some(first) = first_line.insert(id, at.line) {
                let reason = format!("este municipio ya tiene su texto en la línea {first}; deja uno solo");
                check.error(at, "nombre", &id.municipio().name, reason);
                continue;
            }
            municipios.insert(id, own);
        }
        let records = 1 + tables.len() as u64;
        let mut warnings = check.finish(records, 0.0)?;
        warnings.extend(text.warnings);
        let dataset =
            TextoDataset { data_date: data_date.expect("checked"), texto: texto.expect("checked"), municipios };
        Ok(Parsed { dataset, rows: records, checksum: text.checksum, warnings })
    }

    /// A notice may be shortened, replaced or lose its municipios' texts from one file to the
    /// next; nothing is held back but a date going back (the pipeline's own check).
    fn implausibilities(&self, _last_good: &TextoDataset, _new: &TextoDataset) -> Vec<String> {
        Vec::new()
    }

    fn render(
        &self,
        dataset: &TextoDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let mut answers = Vec::new();
        for entry in &common.fed {
            for scope in Scope::all().filter(|s| entry.by_municipio || *s == Scope::Estado) {
                let own = scope.municipio().and_then(|m| dataset.municipios.get(&m));
                let values = minijinja::context! {
                    texto => own.unwrap_or(&dataset.texto),
                    propio => scope == Scope::Estado || own.is_some(),
                    texto_estatal => &dataset.texto,
                    tema => &entry.name,
                };
                answers.push(renderer.render_topic(entry, scope, common, values)?);
            }
        }
        Ok(answers)
    }
}

/// The `texto` of `t`: required, a text, not blank, and within one WhatsApp message.
fn read_text(check: &mut Check, t: &Table) -> Option<String> {
    // `Check::text` treats a blank text as missing; here it is an error at the text itself.
    if let Some(entry) = t.entry("texto")
        && let Value::Text(s) = &entry.node.value
        && s.trim().is_empty()
    {
        let reason = "el texto está vacío: escribe el aviso entre las comillas \"\"\" o quita esta tabla";
        check.error(entry.node.at, "texto", "", reason);
        return None;
    }
    let texto = check.text(t, "texto", true)?;
    match Answer::text(&texto) {
        Ok(_) => Some(texto),
        Err(e @ AnswerError::TooLong { .. }) => {
            let at = t.entry("texto").expect("read").node.at;
            check.error(at, "texto", "", format!("{e}; acórtalo (la plantilla le agrega además título y fuente)"));
            None
        }
        Err(e) => {
            let at = t.entry("texto").expect("read").node.at;
            check.error(at, "texto", "", e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> Result<TextoDataset, SourceError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ola_de_calor.toml");
        std::fs::write(&path, toml).unwrap();
        let kind = Texto { config: GenericConfig::default() };
        let body = Body::from_file(&path).unwrap();
        kind.parse(&body, &crate::progress::Progress::shared()).map(|p| p.dataset)
    }

    fn errors(toml: &str) -> Vec<String> {
        match parse(toml) {
            Err(SourceError::Rejected { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
            other => panic!("rejected, not {other:?}"),
        }
    }

    #[test]
    fn the_state_has_a_text_and_some_municipios_their_own() {
        let file = "fecha = 2026-12-01\ntexto = \"\"\"\nCalor extremo en todo el estado.\n\"\"\"\n\n\
                    [[municipio]]\nnombre = \"Celaya\"\ntexto = \"\"\"\nAlbergue en el auditorio.\n\"\"\"\n\n\
                    [[municipio]]\nnombre = \"020\"\ntexto = \"Hidratación en la Plaza.\"\n";
        let parsed = parse(file).unwrap();
        assert_eq!(parsed.data_date, jiff::civil::date(2026, 12, 1));
        assert_eq!(parsed.texto, "Calor extremo en todo el estado.");
        let celaya = MunicipioId::try_from(7).unwrap();
        let leon = MunicipioId::try_from(20).unwrap();
        assert_eq!(parsed.municipios[&celaya], "Albergue en el auditorio.");
        assert_eq!(parsed.municipios[&leon], "Hidratación en la Plaza.", "by INEGI code");
        assert_eq!(
            parsed.summary(),
            "texto del estado de 32 caracteres y 2 municipios con texto propio (Celaya, León); fecha 1 de diciembre de 2026"
        );
        let alone = parse("fecha = 2026-12-01\ntexto = \"Solo el estado.\"\n").unwrap();
        assert!(alone.municipios.is_empty());
    }

    #[test]
    fn every_bad_text_is_named_by_line_and_column() {
        let long = "x".repeat(schemas::answer::TEXT_MAX + 1);
        let file = format!(
            "fecha = 2026-12-01\ntexto = \"\"\"\n   \n\"\"\"\n\
             [[municipio]]\nnombre = \"Tijuana\"\ntexto = \"a\"\n\
             [[municipio]]\nnombre = \"Celaya\"\ntexto = \"uno\"\n\
             [[municipio]]\nnombre = \"celaya\"\ntexto = \"dos\"\n\
             [[municipio]]\nnombre = \"León\"\ntexto = \"{long}\"\n\
             [[municipio]]\nnombre = \"Irapuato\"\nhorario = \"8 a 14\"\n"
        );
        let lines = errors(&file);
        let expected = [
            "ola_de_calor.toml:2:9: texto: el texto está vacío",
            "ola_de_calor.toml:6:10: nombre: no es un municipio de Guanajuato",
            "ola_de_calor.toml:12:10: nombre: este municipio ya tiene su texto en la línea 9; deja uno solo («Celaya»)",
            "ola_de_calor.toml:16:9: texto: el texto tiene 4,097 caracteres; WhatsApp admite como máximo 4,096; acórtalo",
            "ola_de_calor.toml:19:1: horario: campo desconocido; los campos aquí son: nombre, texto",
        ];
        for want in expected {
            assert!(lines.iter().any(|l| l.starts_with(want)), "wanted: {want}\nall: {lines:#?}");
        }
        assert!(lines.iter().any(|l| l.contains(": texto: falta «texto»")), "Irapuato has no text: {lines:#?}");
        assert_eq!(lines.len(), 6, "{lines:#?}");
    }

    #[test]
    fn a_file_without_the_states_text_or_its_date_is_refused() {
        let lines = errors("[[municipio]]\nnombre = \"Celaya\"\ntexto = \"uno\"\n");
        assert!(lines.iter().any(|l| l.starts_with("ola_de_calor.toml:1:1: fecha: falta «fecha»")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("ola_de_calor.toml:1:1: texto: falta «texto»")), "{lines:?}");
    }

    #[test]
    fn a_municipio_without_a_text_of_its_own_gets_the_states_and_only_topics_por_municipio_have_municipios() {
        let dir = tempfile::tempdir().unwrap();
        let template =
            "{% if not propio %}(aviso estatal) {% endif %}{{ tema }}: {{ texto }}\n{{ fuente }}, {{ fecha_datos }}";
        std::fs::write(dir.path().join("aviso.j2"), template).unwrap();
        let renderer = Renderer::load(dir.path()).unwrap();
        let entry = |slug: &'static str, by_municipio| schemas::TopicEntry {
            topic: schemas::Topic::from_static(slug),
            name: "Ola de calor".into(),
            by_municipio,
            differs_by_place: false,
            template: "aviso.j2".into(),
            source: "ola".parse().unwrap(),
            figure: slug.into(),
        };
        let common = Common {
            data_date: jiff::civil::date(2026, 12, 1),
            attribution: "Secretaría de Salud de Guanajuato".into(),
            companions: crate::render::Companions::new(),
            fed: vec![entry("ola_de_calor", true), entry("ola_estatal", false)],
        };
        let dataset = parse(
            "fecha = 2026-12-01\ntexto = \"Calor.\"\n[[municipio]]\nnombre = \"Celaya\"\ntexto = \"Albergue.\"\n",
        )
        .unwrap();
        let kind = Texto { config: GenericConfig::default() };
        let answers: BTreeMap<AnswerKey, Answer> =
            kind.render(&dataset, &renderer, &common).unwrap().into_iter().collect();
        assert_eq!(
            answers.len(),
            1 + MunicipioId::all().count() + 1,
            "every municipio of one topic, the state of both"
        );
        let body =
            |slug: &'static str, scope| answers[&AnswerKey::new(schemas::Topic::from_static(slug), scope)].body();
        let footer = "Secretaría de Salud de Guanajuato, 1 de diciembre de 2026";
        assert_eq!(body("ola_de_calor", Scope::Estado), format!("Ola de calor: Calor.\n{footer}"));
        let celaya = Scope::Municipio(MunicipioId::try_from(7).unwrap());
        assert_eq!(body("ola_de_calor", celaya), format!("Ola de calor: Albergue.\n{footer}"));
        let leon = Scope::Municipio(MunicipioId::try_from(20).unwrap());
        assert_eq!(body("ola_de_calor", leon), format!("(aviso estatal) Ola de calor: Calor.\n{footer}"));
        assert_eq!(body("ola_estatal", Scope::Estado), format!("Ola de calor: Calor.\n{footer}"));
    }
}
