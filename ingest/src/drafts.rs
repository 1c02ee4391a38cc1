//! Conéctate drafts prepared from the data: when a publish changes something citizens care
//! about (a semáforo's colour, a vaccination stage that opens, a topic added to the
//! catalogue, data a maintainer forced through), ingest writes the draft the communications team would otherwise write after
//! reading the news. It never sends anything: the team reviews, edits, canaries and schedules
//! the draft like any content, or discards it.
//!
//! - A kind says what changed between the last good dataset and the new one
//!   ([`SourceKind::changes`](crate::SourceKind::changes)); the pipeline adds the forced
//!   publish, and the run report carries the [`Change`]s of a publish that succeeded.
//! - [`Drafts`] applies the rules of `conectate.drafts` (which changes, which sources), renders
//!   the text from its template (`conectate.drafts.template` in the templates directory, with
//!   the same checks as an answer: it states the data date and the source, and fits WhatsApp's
//!   limits) and hands the draft to a [`DraftSink`], which stores it as a content. The sink
//!   lives in the `conectate` crate, which owns contents; ingest only knows this trait.
//!
//! # One draft per change and day
//! A draft's key is its change, source, subject, target and the programme's day
//! (`semaforo/semaforo/color/estado/2021-04-12`). A second change with the same key (the colour
//! flapping back and forth) rewrites the pending draft instead of adding another, from the
//! value before the day's first change to the latest one, so the team reads one draft that is
//! still true; a change undone the same day leaves the draft saying so. A draft the team
//! already took up (edited, canaried, scheduled, discarded) is left as it is: the team decided
//! on that day's change, and the next day's change makes a new draft. Updating rather than
//! keying by day alone means the text never lags behind the data it announces.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::civil::Date;
use minijinja::context;
use schemas::{IngestRun, MunicipioId, SnapshotVersion, SourceName, es_mx};
use settings::{DraftSettings, DraftTrigger, Settings};

use crate::render::Renderer;

/// Something citizens care about that a publish changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub trigger: DraftTrigger,
    /// What changed within the source, for the draft's key: `color`, `etapa-4`, `datos`.
    pub subject: String,
    /// What changed, as a sentence names it: «el semáforo federal de riesgo epidémico».
    pub what: String,
    /// The value before (none when the thing is new).
    pub from: Option<String>,
    pub to: String,
    /// Since when the new value holds, when the data says.
    pub since: Option<Date>,
    /// More to say (a stage's period, why the data was quarantined).
    pub detail: Option<String>,
    /// The municipios affected; empty: the whole state.
    pub municipios: Vec<MunicipioId>,
}

impl Change {
    /// The change in one Spanish clause, for the reason a draft exists.
    pub fn summary(&self) -> String {
        match &self.from {
            Some(from) => format!("{} pasó de {from} a {}", self.what, self.to),
            None => format!("{}: {}", self.what, self.to),
        }
    }

    /// The target part of the key: `estado`, or the municipios' codes.
    fn target(&self) -> String {
        if self.municipios.is_empty() {
            return "estado".into();
        }
        self.municipios.iter().map(ToString::to_string).collect::<Vec<_>>().join("+")
    }
}

/// What a publish changed, as its run report carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// Who publishes the source's data, as the draft must name it.
    pub attribution: String,
    pub data_date: Option<Date>,
    pub changes: Vec<Change>,
}

/// A draft as ingest proposes it to the [`DraftSink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// One draft per key (see the module's doc).
    pub key: String,
    pub title: String,
    pub text: String,
    /// Empty: every subscriber.
    pub municipios: Vec<MunicipioId>,
    /// Why it exists, in Spanish, for the team.
    pub reason: String,
    pub source: SourceName,
    pub run: u64,
    pub version: Option<SnapshotVersion>,
    /// The value before the day's first change, kept for the later updates of the day.
    pub from: Option<String>,
}

/// The draft already made for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: u64,
    /// [`Proposal::from`] as it was stored.
    pub from: Option<String>,
    /// Still an untouched draft, which the system may rewrite.
    pub rewritable: bool,
}

/// What became of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    Created(u64),
    /// The pending draft of the day was rewritten.
    Updated(u64),
    /// The team already took up the day's draft; it stays as it is.
    Kept(u64),
}

/// Why a sink could not store a draft (its own error, kept as the cause).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where drafts go: Conéctate's contents (`conectate::SystemDrafts`).
#[async_trait]
pub trait DraftSink: Send + Sync {
    /// The draft already made under `key`, if any.
    async fn pending(&self, key: &str) -> Result<Option<Pending>, SinkError>;
    /// Stores a new draft; its content id.
    async fn create(&self, proposal: &Proposal) -> Result<u64, SinkError>;
    /// Rewrites the pending draft `id` (only while it is [`Pending::rewritable`]).
    async fn update(&self, id: u64, proposal: &Proposal) -> Result<(), SinkError>;
}

/// Why a draft could not be prepared; the run itself stands (its answers are out).
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("plantilla {template}: {message}")]
    Template {
        template: String,
        message: String,
        #[source]
        cause: Option<minijinja::Error>,
    },
    #[error(transparent)]
    Templates(#[from] crate::error::TemplatesError),
    #[error("no se pudo guardar el borrador: {0}")]
    Sink(#[source] SinkError),
}

/// The rules of `conectate.drafts` and where drafts go.
pub struct Drafts {
    enabled: bool,
    triggers: Vec<DraftTrigger>,
    sources: Vec<String>,
    template: String,
    timezone: jiff::tz::TimeZone,
    sink: Option<Arc<dyn DraftSink>>,
}

impl Drafts {
    /// The rules of `settings` (checked by `Settings::validate`), with no sink yet.
    pub fn from_settings(settings: &Settings) -> Drafts {
        let timezone = jiff::tz::TimeZone::get(&settings.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        Drafts::new(&settings.conectate.drafts, timezone)
    }

    pub fn new(settings: &DraftSettings, timezone: jiff::tz::TimeZone) -> Drafts {
        Drafts {
            enabled: settings.enabled,
            triggers: settings.triggers(),
            sources: settings.sources.clone(),
            template: settings.template.clone(),
            timezone,
            sink: None,
        }
    }

    pub fn with_sink(mut self, sink: Arc<dyn DraftSink>) -> Drafts {
        self.sink = Some(sink);
        self
    }

    /// Whether `change` of `source` makes a draft.
    fn applies(&self, source: &SourceName, change: &Change) -> bool {
        self.enabled
            && self.triggers.contains(&change.trigger)
            && (self.sources.is_empty() || self.sources.iter().any(|s| s == source.as_str()))
    }

    /// Prepares the drafts of a finished run (none without a sink, or when nothing applies).
    pub async fn prepare(
        &self,
        templates_dir: &std::path::Path,
        run: &IngestRun,
        changed: &Changed,
    ) -> Vec<Result<Prepared, DraftError>> {
        let Some(sink) = &self.sink else { return Vec::new() };
        let wanted: Vec<&Change> = changed.changes.iter().filter(|c| self.applies(&run.source, c)).collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let renderer = match Renderer::load(templates_dir) {
            Ok(r) => r,
            Err(e) => return vec![Err(e.into())],
        };
        let mut out = Vec::new();
        for change in wanted {
            out.push(self.prepare_one(&**sink, &renderer, run, changed, change).await);
        }
        out
    }

    async fn prepare_one(
        &self,
        sink: &dyn DraftSink,
        renderer: &Renderer,
        run: &IngestRun,
        changed: &Changed,
        change: &Change,
    ) -> Result<Prepared, DraftError> {
        let day = self.timezone.to_datetime(run.finished_at).date();
        let key = format!("{}/{}/{}/{}/{day}", change.trigger.name(), run.source, change.subject, change.target());
        let pending = sink.pending(&key).await.map_err(DraftError::Sink)?;
        if let Some(p) = &pending
            && !p.rewritable
        {
            tracing::info!(source = %run.source, content = p.id, "The team already took up today's draft for this change; leaving it.");
            return Ok(Prepared::Kept(p.id));
        }
        // The day's story: from the value before its first change to the latest one.
        let from = match &pending {
            Some(p) => p.from.clone(),
            None => change.from.clone(),
        };
        let reverted = pending.is_some() && from.as_deref() == Some(change.to.as_str());
        let data_date = changed.data_date.unwrap_or(day);
        let text = self.render(renderer, change, from.as_deref(), reverted, data_date, &changed.attribution)?;
        let version = run.version.map_or_else(|| "sin versión".to_owned(), |v| v.to_string());
        let mut reason = format!(
            "Lo preparó el sistema al publicar la corrida #{} de «{}» ({version}, datos al {}): {}.",
            run.id,
            run.source,
            es_mx::long_date(data_date),
            Change { from: from.clone(), ..change.clone() }.summary()
        );
        if reverted {
            reason.push_str(
                " El cambio se revirtió el mismo día: quizá ya no haga falta enviarlo; si es así, descártalo.",
            );
        } else if pending.is_some() {
            reason.push_str(" Se actualizó con el último cambio del día.");
        }
        let proposal = Proposal {
            key,
            title: title(change),
            text,
            municipios: change.municipios.clone(),
            reason,
            source: run.source.clone(),
            run: run.id,
            version: run.version,
            from,
        };
        match pending {
            Some(p) => {
                sink.update(p.id, &proposal).await.map_err(DraftError::Sink)?;
                tracing::info!(source = %run.source, content = p.id, "Conéctate draft updated from the data.");
                Ok(Prepared::Updated(p.id))
            }
            None => {
                let id = sink.create(&proposal).await.map_err(DraftError::Sink)?;
                tracing::info!(source = %run.source, content = id, "Conéctate draft prepared from the data.");
                Ok(Prepared::Created(id))
            }
        }
    }

    /// The draft's text from its template.
    pub fn render(
        &self,
        renderer: &Renderer,
        change: &Change,
        from: Option<&str>,
        reverted: bool,
        data_date: Date,
        attribution: &str,
    ) -> Result<String, DraftError> {
        let values = context! {
            cambio => change.trigger.name(),
            que => change.what.as_str(),
            anterior => from,
            nuevo => change.to.as_str(),
            desde => change.since.map(es_mx::long_date),
            detalle => change.detail.as_deref(),
            revertido => reverted,
        };
        let answer = renderer.render_text(&self.template, data_date, attribution, values).map_err(|refused| {
            DraftError::Template { template: self.template.clone(), message: refused.message, cause: refused.cause }
        })?;
        Ok(answer.body().to_owned())
    }
}

/// A draft's title for the team (at most 120 characters, as every content's).
fn title(change: &Change) -> String {
    let title = format!("Borrador automático: {}", change.summary());
    if title.chars().count() <= 120 {
        return title;
    }
    title.chars().take(119).chain(['…']).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
    }

    fn drafts() -> Drafts {
        Drafts::new(&DraftSettings::default(), jiff::tz::TimeZone::UTC)
    }

    fn colour(from: &str, to: &str) -> Change {
        Change {
            trigger: DraftTrigger::Semaforo,
            subject: "color".into(),
            what: "el semáforo estatal".into(),
            from: Some(from.into()),
            to: to.into(),
            since: Some(jiff::civil::date(2020, 6, 8)),
            detail: None,
            municipios: Vec::new(),
        }
    }

    const FUENTE: &str = "Gobierno del Estado de Guanajuato";

    #[test]
    fn the_template_says_what_changed_since_when_and_from_whom() {
        let renderer = Renderer::load(&templates()).unwrap();
        let day = jiff::civil::date(2020, 6, 5);
        let change = colour("rojo", "naranja");
        let text = drafts().render(&renderer, &change, Some("rojo"), false, day, FUENTE).unwrap();
        assert_eq!(
            text,
            "*Cambia el semáforo estatal*: pasa de rojo a *naranja* a partir del 8 de junio de 2020.\n\
             Consulta qué actividades se permiten y sigue cuidándote: escribe *semáforo* para ver el detalle.\n\n\
             Fuente: Gobierno del Estado de Guanajuato. Datos al 5 de junio de 2020."
        );
        let undone = drafts().render(&renderer, &colour("naranja", "rojo"), Some("rojo"), true, day, FUENTE).unwrap();
        assert!(
            undone.starts_with("*El semáforo estatal* sigue en *rojo*: hoy cambió y volvió a su color."),
            "{undone}"
        );

        let stage = Change {
            trigger: DraftTrigger::EtapaVacunacion,
            subject: "etapa-4".into(),
            what: "la etapa 4 de la vacunación".into(),
            from: None,
            to: "Personas de 40 a 49 años".into(),
            since: None,
            detail: Some("Periodo: mayo a junio de 2021.".into()),
            municipios: Vec::new(),
        };
        let text = drafts().render(&renderer, &stage, None, false, day, FUENTE).unwrap();
        assert!(
            text.starts_with(
                "*Abre la etapa 4 de la vacunación*: Personas de 40 a 49 años. Periodo: mayo a junio de 2021.\n"
            ),
            "{text}"
        );
        assert_eq!(title(&stage), "Borrador automático: la etapa 4 de la vacunación: Personas de 40 a 49 años");

        // A topic reached only from the menu (no keyword of its own) points to the menu.
        let topic = Change {
            trigger: DraftTrigger::TemaNuevo,
            subject: "dengue".into(),
            what: "un tema nuevo".into(),
            from: None,
            to: "Casos de dengue".into(),
            since: Some(day),
            detail: None,
            municipios: Vec::new(),
        };
        let text = drafts().render(&renderer, &topic, None, false, day, FUENTE).unwrap();
        assert!(
            text.starts_with(
                "*Nuevo tema: Casos de dengue*, a partir del 5 de junio de 2020.\nEscribe *menú* para ver todas las opciones.\n\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_template_that_forgets_the_date_or_breaks_whatsapps_limit_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("borrador_conectate.j2"), "Cambió {{ que }}. Fuente: {{ fuente }}.").unwrap();
        let renderer = Renderer::load(dir.path()).unwrap();
        let day = jiff::civil::date(2020, 6, 5);
        let error = drafts().render(&renderer, &colour("rojo", "naranja"), None, false, day, FUENTE).unwrap_err();
        assert_eq!(
            error.to_string(),
            "plantilla borrador_conectate.j2: el texto no dice la fecha de los datos («5 de junio de 2020»); inclúyela con {{ fecha_datos }}"
        );
        std::fs::write(
            dir.path().join("borrador_conectate.j2"),
            "{{ fecha_datos }} {{ fuente }} {% for i in range(5000) %}x{% endfor %}",
        )
        .unwrap();
        let renderer = Renderer::load(dir.path()).unwrap();
        let error = drafts().render(&renderer, &colour("rojo", "naranja"), None, false, day, FUENTE).unwrap_err();
        assert!(error.to_string().starts_with("plantilla borrador_conectate.j2: "), "{error}");
    }
}
