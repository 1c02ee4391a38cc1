//! Rendering answers from templates that maintainers edit without recompiling.
//!
//! Templates are minijinja files in one directory (`ingest.templates_dir`, `templates/` at the
//! repository root): the template the topic catalogue names for each topic (`TOPIC.j2` unless
//! it says otherwise; `TOPIC.j2` for the fixed system answers), rendered once per scope, and shared pieces
//! whose names start with `_` (`{% include "_fuente.j2" %}`). The directory is read afresh
//! at each run, so an edit applies to the next run.
//!
//! Every template sees, besides what its source gives it:
//! - `fecha_datos`: the data date, es-MX (`27 de mayo de 2020`); `fuente`: the source's
//!   attribution; `alcance`: `{tipo: "estado"|"municipio", nombre, clave}`; `entidad`: the
//!   name of the state the deployment serves («Guanajuato», [`schemas::state`]), `gobierno`
//!   its government («Gobierno del Estado de Guanajuato», «Gobierno de la Ciudad de México»)
//!   and `gobierno_corto` the same without the name («Gobierno del Estado»), so no template
//!   names a state;
//! - filters `numero` (`1,248`), `decimal(n)` (`1,570.5`), `porcentaje` (`12.5 %`) and
//!   `fecha` (`2020-05-27` → `27 de mayo de 2020`).
//!
//! A rendered answer must state its data date and its source (the run fails otherwise), and it
//! must fit WhatsApp's limits ([`schemas::Answer`] checks them). Undefined variables are errors,
//! so a misspelt name fails the run instead of leaving a blank in a citizen's answer. Every
//! failure names the template and the answer key.

use std::path::Path;

use jiff::civil::Date;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use schemas::{Answer, AnswerKey, Scope, SourceName, TopicCatalogue, TopicEntry, es_mx};

use crate::error::{RenderError, TemplatesError};
/// Other sources' last good datasets, which a kind renders beside its own (kept by [`crate::state`]).
pub use crate::state::Companions;

/// The file extension of templates.
pub const EXTENSION: &str = "j2";

/// The loaded templates.
pub struct Renderer {
    env: Environment<'static>,
    dir: String,
}

/// What every answer of one dataset shares.
#[derive(Debug, Clone)]
pub struct Common {
    pub data_date: Date,
    /// Who publishes the data, as answers name it.
    pub attribution: String,
    /// The last good datasets of the sources the kind names in
    /// [`SourceKind::companions`](crate::SourceKind::companions) that have one.
    pub companions: Companions,
    /// The topics of the catalogue in force that this source feeds (their `fuente` is its
    /// name): a kind renders each of them with its template, and nothing else but the
    /// system answers.
    pub fed: Vec<TopicEntry>,
}

impl Renderer {
    /// Reads every `*.j2` of `dir`; a syntax error fails here, naming the file and line.
    pub fn load(dir: &Path) -> Result<Renderer, TemplatesError> {
        let fail = |message: String, cause: Box<dyn std::error::Error + Send + Sync>| TemplatesError {
            dir: dir.display().to_string(),
            message,
            cause,
        };
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        let state = schemas::state();
        env.add_global("entidad", state.name.as_str());
        env.add_global("gobierno", state.government.as_str());
        env.add_global("gobierno_corto", state.short_government.as_str());
        env.add_filter("numero", |n: i64| es_mx::integer(n));
        env.add_filter("decimal", |x: f64, places: Option<usize>| es_mx::decimal(x, places.unwrap_or(1)));
        env.add_filter("porcentaje", |ratio: f64| es_mx::percent(ratio));
        env.add_filter("fecha", |iso: String| -> Result<String, minijinja::Error> {
            iso.parse::<Date>().map(es_mx::long_date).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("«{iso}» no es una fecha: {e}"))
            })
        });
        let unreadable = |e: std::io::Error| {
            fail("no se pudo leer el directorio; revisa que exista y sus permisos".into(), e.into())
        };
        let entries = std::fs::read_dir(dir).map_err(unreadable)?;
        let mut names = Vec::new();
        for entry in entries {
            let path = entry.map_err(unreadable)?.path();
            if path.extension().is_some_and(|e| e == EXTENSION) {
                let name = path.file_name().expect("a file").to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| fail(format!("{name}: no se pudo leer el archivo; revisa sus permisos"), e.into()))?;
                names.push((name, text));
            }
        }
        names.sort();
        for (name, text) in names {
            env.add_template_owned(name, text)
                .map_err(|e| fail(format!("{}: corrige la sintaxis", located(&e)), e.into()))?;
        }
        Ok(Renderer { env, dir: dir.display().to_string() })
    }

    /// The template file of a topic.
    pub fn template_name(key: &AnswerKey) -> String {
        format!("{}.{EXTENSION}", key.topic.slug())
    }

    /// Renders the answer for `key` from its topic's template (`TOPIC.j2`: the system answers)
    /// with `values` (a map) added to the common variables, and checks what every answer must
    /// say and fit.
    pub fn render(&self, key: AnswerKey, common: &Common, values: Value) -> Result<Answer, RenderError> {
        self.render_with(Self::template_name(&key), key, common, values)
    }

    /// Renders the catalogue topic `entry` for `scope` with the template the catalogue names.
    pub fn render_topic(
        &self,
        entry: &TopicEntry,
        scope: Scope,
        common: &Common,
        values: Value,
    ) -> Result<(AnswerKey, Answer), RenderError> {
        let key = AnswerKey::new(entry.topic, scope);
        Ok((key, self.render_with(entry.template.clone(), key, common, values)?))
    }

    /// Whether the directory has the template `name`.
    pub fn has_template(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    fn render_with(
        &self,
        template: String,
        key: AnswerKey,
        common: &Common,
        values: Value,
    ) -> Result<Answer, RenderError> {
        let values = context! { alcance => scope_value(key.scope), ..values };
        self.render_text(&template, common.data_date, &common.attribution, values).map_err(|refused| RenderError {
            template: template.clone(),
            key,
            message: refused.message,
            cause: refused.cause,
        })
    }

    /// Renders `template` with `fecha_datos` (es-MX) and `fuente` added to `values`, and checks
    /// that the text states both and fits WhatsApp's limits: what answers and the drafts of
    /// Conéctate ([`crate::drafts`]) both owe citizens.
    pub fn render_text(
        &self,
        template: &str,
        data_date: Date,
        attribution: &str,
        values: Value,
    ) -> Result<Answer, Refused> {
        let tmpl = self
            .env
            .get_template(template)
            .map_err(|_| Refused::from(format!("no existe la plantilla {template} en {}", self.dir)))?;
        let fecha_datos = es_mx::long_date(data_date);
        let ctx = context! { fecha_datos => fecha_datos.clone(), fuente => attribution, ..values };
        let text = tmpl
            .render(ctx)
            .map_err(|e| Refused { message: format!("{}: corrige la plantilla", located(&e)), cause: Some(e) })?;
        let text = text.trim();
        if !text.contains(&fecha_datos) {
            return Err(Refused::from(format!(
                "el texto no dice la fecha de los datos («{fecha_datos}»); inclúyela con {{{{ fecha_datos }}}}"
            )));
        }
        if !text.contains(attribution) {
            return Err(Refused::from(format!(
                "el texto no dice su fuente («{attribution}»); inclúyela con {{{{ fuente }}}}"
            )));
        }
        Answer::text(text).map_err(|e| Refused::from(e.to_string()))
    }
}

/// The topics of `topics` that the source `source` of kind `kind` feeds: those whose `fuente`
/// is its name, or the name of one of its `companions` (both semáforo sources render the
/// semáforo answer). A source no topic names feeds the topics whose `fuente` is its kind's
/// name, so a source configured under another name (`[sources.nacional]`, `kind = "covid"`)
/// still answers the bundled catalogue's topics.
pub fn fed(topics: &TopicCatalogue, source: &SourceName, kind: &str, companions: &[SourceName]) -> Vec<TopicEntry> {
    let named = topics.topics.iter().any(|e| e.source == *source);
    let feeds = |e: &&TopicEntry| {
        e.source == *source || companions.contains(&e.source) || (!named && e.source.as_str() == kind)
    };
    topics.topics.iter().filter(feeds).cloned().collect()
}

/// The `alcance` variable.
fn scope_value(scope: Scope) -> Value {
    match scope {
        Scope::Estado => context! { tipo => "estado", nombre => scope.display_name(), clave => "estado" },
        Scope::Municipio(id) => {
            context! { tipo => "municipio", nombre => scope.display_name(), clave => id.to_string() }
        }
    }
}

/// Why a template gave no text that can be sent: the reason a maintainer reads, in Spanish,
/// and minijinja's error when the engine failed (what it found, kept as the cause).
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub cause: Option<minijinja::Error>,
}

impl From<String> for Refused {
    fn from(message: String) -> Refused {
        Refused { message, cause: None }
    }
}

/// Where minijinja failed, for the message: the template file (an included piece, when the
/// error is there) and the line.
fn located(e: &minijinja::Error) -> String {
    match (e.name(), e.line()) {
        (Some(name), Some(line)) => format!("{name}, línea {line}"),
        (Some(name), None) => name.to_owned(),
        _ => "la plantilla".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(name: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        dir
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line_and_keeps_minijinjas_error() {
        let dir = dir_with("roto.j2", "{{ fuente }}\n{% if %}\n");
        let error = Renderer::load(dir.path()).err().expect("a syntax error");
        assert!(error.message.starts_with("roto.j2, línea 2: corrige la sintaxis"), "{error}");
        let cause = std::error::Error::source(&error).expect("minijinja's error").to_string();
        assert!(cause.contains("roto.j2"), "{cause}");
        let line = crate::error::with_causes(&error);
        assert_eq!(line.matches("corrige la sintaxis").count(), 1, "{line}");
    }

    #[test]
    fn an_undefined_variable_names_the_template_line_and_key_and_keeps_the_cause() {
        let dir = dir_with("defunciones.j2", "{{ fuente }} {{ fecha_datos }}\n{{ cifras.muertes }}\n");
        let renderer = Renderer::load(dir.path()).unwrap();
        let common = Common {
            data_date: jiff::civil::date(2020, 4, 13),
            attribution: "Secretaría de Salud".into(),
            companions: Companions::new(),
            fed: Vec::new(),
        };
        let key = AnswerKey::new(schemas::Topic::from_static("defunciones"), Scope::Estado);
        let error = renderer.render(key, &common, context! {}).unwrap_err();
        assert_eq!(
            error.to_string(),
            "plantilla defunciones.j2, respuesta defunciones/estado: defunciones.j2, línea 2: corrige la plantilla"
        );
        assert!(std::error::Error::source(&error).is_some_and(|c| c.to_string().contains("undefined")), "{error:?}");
    }
}
