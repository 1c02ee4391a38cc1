//! Source files checked and rendered without a store or a schedule: what `contacto validate`
//! (is this file valid, and what does it hold?) and `contacto preview --from DIR` (what will
//! the bot say once these files are published?) do. The same parsing, validation and
//! templates as a run, so that a file that passes here passes there.

use std::path::Path;

use jiff::civil::Date;
use schemas::{Answer, AnswerKey, RouterTable, SourceName, TopicCatalogue};

use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::Progress;
use crate::render::{Common, Companions, Renderer};
use crate::source::{Dataset, SourceKind};
use crate::sources::{self, KINDS, KindVisitor};

/// A file that passed: what it holds and what the bot would say.
#[derive(Debug)]
pub struct Checked {
    /// One Spanish line: what the file holds.
    pub summary: String,
    pub data_date: Date,
    pub rows: u64,
    /// Problems tolerated (within the error budget), one line each.
    pub warnings: Vec<String>,
    pub answers: Vec<(AnswerKey, Answer)>,
    pub router: Option<RouterTable>,
    /// The dataset as stored, for kinds that show it beside their own (semáforo).
    pub dataset: serde_json::Value,
}

/// Why a file did not pass.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Invalid(SourceError),
    #[error(transparent)]
    Render(RenderError),
}

impl Problem {
    /// Every line a maintainer should read: each located error, or the one message.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Problem::Invalid(SourceError::Rejected { errors, .. }) if !errors.is_empty() => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => vec![crate::error::with_causes(other)],
        }
    }
}

/// A configured kind, usable without a store.
pub trait OfflineKind: Send + Sync {
    /// The sources whose last good datasets its answers also show.
    fn companions(&self) -> Vec<SourceName>;
    /// Parses and validates `body`, then renders every answer with `renderer`, for the topics
    /// of `topics` this source feeds.
    fn check(
        &self,
        body: &Body,
        renderer: &Renderer,
        companions: Companions,
        topics: &TopicCatalogue,
    ) -> Result<Checked, Problem>;
}

/// A kind, the configured source's name and the kind's name.
struct Offline<K>(K, SourceName, &'static str);

impl<K: SourceKind> OfflineKind for Offline<K> {
    fn companions(&self) -> Vec<SourceName> {
        self.0.companions()
    }

    fn check(
        &self,
        body: &Body,
        renderer: &Renderer,
        companions: Companions,
        topics: &TopicCatalogue,
    ) -> Result<Checked, Problem> {
        let parsed = self.0.parse(body, &Progress::shared()).map_err(Problem::Invalid)?;
        let data_date = parsed.dataset.data_date();
        let fed = crate::render::fed(topics, &self.1, self.2, &self.0.companions());
        let common = Common { data_date, attribution: self.0.attribution().to_owned(), companions, fed };
        let answers = self.0.render(&parsed.dataset, renderer, &common).map_err(Problem::Render)?;
        let router = self.0.router(&parsed.dataset, renderer, &common).map_err(Problem::Render)?;
        Ok(Checked {
            summary: parsed.dataset.summary(),
            data_date,
            rows: parsed.rows,
            warnings: parsed.warnings,
            answers,
            router,
            dataset: serde_json::to_value(&parsed.dataset).expect("datasets serialise"),
        })
    }
}

/// The kind `kind` with the options of source `name`, in a deployment of the sources
/// `configured`.
pub fn kind(
    kind: &str,
    name: &SourceName,
    options: &std::collections::BTreeMap<String, serde_json::Value>,
    configured: &ConfiguredSources,
) -> Result<Box<dyn OfflineKind>, ConfigError> {
    struct Build<'a> {
        name: &'a SourceName,
        kind: &'static str,
        options: &'a std::collections::BTreeMap<String, serde_json::Value>,
        configured: &'a ConfiguredSources,
    }
    impl KindVisitor for Build<'_> {
        type Output = Result<Box<dyn OfflineKind>, ConfigError>;
        fn visit<K: SourceKind>(self) -> Self::Output {
            let built = K::from_options(self.name, self.options, self.configured)?;
            Ok(Box::new(Offline(built, self.name.clone(), self.kind)))
        }
    }
    let Some(known) = KINDS.into_iter().find(|k| *k == kind) else {
        return Err(sources::unknown_kind(name.as_str(), kind));
    };
    sources::visit(known, Build { name, kind: known, options, configured })
        .unwrap_or_else(|| Err(sources::unknown_kind(name.as_str(), kind)))
}

/// The kind a file looks like: a kind's name in the file's name (the longest that fits:
/// `semaforo_estatal.toml` is not `semaforo`), else what its first bytes hold.
pub fn recognise(path: &Path) -> Option<&'static str> {
    let file_name = path.file_name()?.to_string_lossy().into_owned();
    let mut by_length = KINDS;
    by_length.sort_by_key(|k| (std::cmp::Reverse(k.len()), *k));
    let normalized = schemas::normalize::normalize(&file_name).replace(' ', "_");
    if let Some(kind) = by_length.iter().find(|k| normalized.contains(*k)) {
        return Some(kind);
    }
    // The national file is named for what it is, not for its kind (docs/formats.md §a.1).
    if ["datos_abiertos", "covid19mexico"].iter().any(|n| normalized.contains(n)) {
        return Some(sources::covid::KIND);
    }
    let mut head = vec![0u8; 4096];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).ok()?;
    head.truncate(n);
    struct Recognises<'a>(&'a str, &'a [u8]);
    impl KindVisitor for Recognises<'_> {
        type Output = bool;
        fn visit<K: SourceKind>(self) -> bool {
            K::recognises(self.0, self.1)
        }
    }
    // `KINDS` lists the most specific marks first.
    KINDS.into_iter().find(|k| sources::visit(k, Recognises(&file_name, &head)) == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_file_is_recognised_by_its_content_under_any_name() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("semaforo/semaforo.html", "semaforo"),
            ("semaforo/semaforo_estatal.toml", "semaforo_estatal"),
            ("estatal/estatal.toml", "estatal"),
            ("estatal/infectados_json_parsed_2020-04-14.json", "estatal"),
            ("hospitales/hospitales_2020-09-24.csv", "hospitales"),
            ("programas/programas_2020-07-09.csv", "programas"),
            ("sintomas/sintomas.toml", "sintomas"),
            ("vacunas/vacunas.toml", "vacunas"),
            ("menu/menu.toml", "menu"),
        ];
        for (i, (file, kind)) in cases.into_iter().enumerate() {
            let anonymous = dir.path().join(format!("archivo{i}.dat"));
            std::fs::copy(fixtures.join(file), &anonymous).unwrap();
            assert_eq!(recognise(&anonymous), Some(kind), "{file}");
            assert_eq!(recognise(&fixtures.join(file)), Some(kind), "{file} by its name");
        }
        assert_eq!(recognise(&fixtures.join("covid19mexico/datos_abiertos_covid19.zip")), Some("covid"));
        let unknown = dir.path().join("notas.txt");
        std::fs::write(&unknown, "nada que ver").unwrap();
        assert_eq!(recognise(&unknown), None);
    }
}

/// The topic catalogue files are checked against: that of the first of `files` that is a valid
/// menu file (a maintainer checks a new topic together with the menu that declares it), else
/// that of the configured menu source's local file, else the bundled one.
pub fn topics(settings: &settings::Settings, files: &[std::path::PathBuf]) -> TopicCatalogue {
    let menus = files.iter().filter(|f| recognise(f) == Some(sources::menu::KIND)).cloned();
    let configured = crate::keyword_change::menu_file(settings).map(|(_, path)| path);
    let deployed = ConfiguredSources::new(&settings.sources);
    menus
        .chain(configured)
        .find_map(|path| sources::menu::topics_in(&path, &deployed).ok())
        .unwrap_or_else(|| sources::menu::bundled_topics().clone())
}

/// The kind and configured source a file is checked as: the source whose `file://` URL is
/// this file, else the one source whose URL ends in this file's name (the next version of its
/// file, waiting in another directory: `pendientes/ola_de_calor.toml`), else the kind `kind`
/// (or the one the file looks like, see [`recognise`]) with the options of the first source of
/// that kind, or its defaults.
pub struct Resolved {
    pub kind: &'static str,
    /// The configured source it belongs to, or the kind's name.
    pub source: SourceName,
    pub checker: Box<dyn OfflineKind>,
}

/// Why a file could not be given a kind.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{file}: no se sabe qué tipo de archivo es; indícalo con --kind (uno de: {kinds})")]
    Unknown { file: String, kinds: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Resolves `path` as described in [`Resolved`].
pub fn resolve(settings: &settings::Settings, path: &Path, kind: Option<&str>) -> Result<Resolved, ResolveError> {
    let same = |url: &str| {
        let Some(rest) = url.strip_prefix("file://") else { return false };
        let configured = settings.resolve_path(Path::new(rest));
        match (configured.canonicalize(), path.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    };
    let of_kind = |s: &settings::SourceSettings| kind.is_none_or(|k| k == s.kind);
    let file_name = path.file_name().and_then(|n| n.to_str());
    let mut named_alike = settings.sources.iter().filter(|(_, s)| of_kind(s) && s.url.rsplit('/').next() == file_name);
    // A file whose name two sources' URLs end in belongs to neither for sure.
    let alike = named_alike.next().filter(|_| named_alike.next().is_none());
    let configured = settings.sources.iter().find(|(_, s)| same(&s.url) && of_kind(s)).or(alike);
    let kind = match (configured, kind) {
        (Some((_, s)), _) => s.kind.clone(),
        (None, Some(k)) => k.to_owned(),
        (None, None) => recognise(path)
            .map(str::to_owned)
            .ok_or_else(|| ResolveError::Unknown { file: path.display().to_string(), kinds: KINDS.join(", ") })?,
    };
    let kind: &'static str = KINDS.iter().find(|k| **k == kind).copied().ok_or_else(|| ConfigError {
        name: "--kind".into(),
        field: "kind".into(),
        message: format!("«{kind}» no es un tipo de fuente conocido; los tipos son: {}", KINDS.join(", ")),
    })?;
    let (source, options) = match configured.or_else(|| settings.sources.iter().find(|(_, s)| s.kind == kind)) {
        Some((name, s)) => (name.clone(), s.options.clone()),
        None => (kind.parse().expect("kind names are source names"), Default::default()),
    };
    let checker = self::kind(kind, &source, &options, &ConfiguredSources::new(&settings.sources))?;
    Ok(Resolved { kind, source, checker })
}
