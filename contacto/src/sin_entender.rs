//! `contacto sin-entender`: the phrases citizens wrote that the bot did not understand, masked
//! and only those at least `responder.unmatched_min_citizens` distinct citizens wrote, with the
//! topics whose keywords come closest, so a maintainer knows which keyword to add where; with
//! `--frase` and `--tema`, the exact change to the menu file that gives a phrase its topic
//! ([`ingest::keyword_change`]) and the commands that try it.

use std::process::ExitCode;

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use responder::understanding::Understanding;
use schemas::{Topic, es_mx};
use settings::Settings;
use store::UnmatchedPhrase;

/// Topics suggested per phrase.
const SUGGESTIONS: usize = 3;

pub async fn sin_entender(settings: Settings) -> anyhow::Result<ExitCode> {
    let timezone = TimeZone::get(&settings.timezone)
        .with_context(|| format!("timezone: «{}» no es una zona horaria", settings.timezone))?;
    let store = crate::deployment_store::open_store(&settings).await?;
    let r = &settings.responder;
    let phrases = store.unmatched(r.unmatched_min_citizens, Timestamp::now(), r.unmatched_keep()).await?;
    let understanding = store.current_snapshot().await?.map(|s| Understanding::compile(&s.content.router));
    print!("{}", render(&phrases, understanding.as_ref(), r.unmatched_min_citizens, r.unmatched_days, &timezone));
    Ok(ExitCode::SUCCESS)
}

/// Prints the change to the configured menu file that makes `phrase` lead to `topic`.
pub fn keyword_change(settings: &Settings, phrase: &str, topic: &str) -> anyhow::Result<ExitCode> {
    let Some((file, path)) = ingest::keyword_change::menu_file(settings) else {
        bail!(
            "la fuente del menú no se lee de un archivo local (file://…): haz el cambio en el archivo que se publica"
        );
    };
    let topics = ingest::sources::menu::topics_in(&path, &ingest::ConfiguredSources::new(&settings.sources))?;
    let topic = topics.find(topic)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("no se pudo leer el archivo del menú {file}"))?;
    let change = ingest::keyword_change::keyword_change(&text, phrase, topic)?;
    print!("{}", render_change(&change, &file, topics.label(topic)));
    Ok(ExitCode::SUCCESS)
}

/// The change and how to try it, in Spanish.
fn render_change(change: &ingest::keyword_change::KeywordChange, file: &str, label: &str) -> String {
    let mut out = format!(
        "Para que «{}» lleve a {}, cambia {}\n",
        change.keyword,
        label,
        change.diff(file).trim_end_matches('\n').replacen(":\n", ":\n\n", 1)
    );
    out.push_str("\nPruébalo antes de publicarlo:\n");
    for command in change.how_to_try(file) {
        out.push_str(&format!("  {command}\n"));
    }
    out.push_str("y publícalo como siempre (la siguiente corrida de la fuente del menú).\n");
    out
}

/// The listing, in Spanish.
fn render(
    phrases: &[UnmatchedPhrase],
    understanding: Option<&Understanding>,
    min_citizens: u64,
    days: u64,
    timezone: &TimeZone,
) -> String {
    let mut out = format!(
        "Mensajes sin entender de los últimos {} días que escribieron al menos {} ciudadanos distintos \
         (números, teléfonos, correos, enlaces y nombres ocultos):\n",
        es_mx::integer(days as i64),
        es_mx::integer(min_citizens as i64)
    );
    if phrases.is_empty() {
        out.push_str("\nNinguno por ahora.\n");
        return out;
    }
    let when = |t: Timestamp| es_mx::date_time(timezone.to_datetime(t));
    for p in phrases {
        let closest = match understanding {
            Some(u) => topics(&u.closest_topics(&p.phrase, SUGGESTIONS)),
            None => "sin respuestas publicadas todavía".to_owned(),
        };
        out.push_str(&format!(
            "\n«{}»\n  ciudadanos: {}\n  primera vez: {}\n  última vez: {}\n  temas más cercanos: {}\n",
            p.phrase,
            es_mx::integer(p.citizens as i64),
            when(p.first_seen),
            when(p.last_seen),
            closest
        ));
    }
    out
}

/// «vacunas, hospitales», or «ninguno».
fn topics(topics: &[Topic]) -> String {
    if topics.is_empty() {
        return "ninguno".to_owned();
    }
    topics.iter().map(|t| t.slug()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_reads_in_spanish_with_es_mx_figures_and_dates() {
        let at: Timestamp = "2020-05-27T16:05:00Z".parse().unwrap();
        let phrase = UnmatchedPhrase {
            phrase: "donde me vacunan mi cel #".into(),
            citizens: 1_248,
            first_seen: at,
            last_seen: at,
        };
        let tz = TimeZone::get("America/Mexico_City").unwrap();
        let text = render(&[phrase], None, 5, 30, &tz);
        assert!(text.contains("«donde me vacunan mi cel #»\n  ciudadanos: 1,248\n"), "{text}");
        assert!(text.contains("primera vez: 27 de mayo de 2020 a las 11:05"), "{text}");
        assert!(text.contains("al menos 5 ciudadanos distintos"), "{text}");
        assert!(render(&[], None, 5, 30, &tz).contains("Ninguno por ahora."));
        assert_eq!(topics(&[]), "ninguno");
        assert_eq!(topics(&[Topic::from_static("vacunas"), Topic::from_static("hospitales")]), "vacunas, hospitales");
    }

    #[test]
    fn the_change_reads_as_lines_removed_and_added_with_the_commands_to_try_it() {
        let menu = "[[palabras]]\ntema = \"vacunas\"\nfrases = [\"vacunas\"]\n";
        let change =
            ingest::keyword_change::keyword_change(menu, "mi certificado #", Topic::from_static("vacunas")).unwrap();
        assert_eq!(
            render_change(&change, "fixtures/menu/menu.toml", "Vacunación"),
            "Para que «mi certificado» lleve a Vacunación, cambia fixtures/menu/menu.toml, línea 3:\n\n\
             - frases = [\"vacunas\"]\n\
             + frases = [\"vacunas\", \"mi certificado\"]\n\n\
             Pruébalo antes de publicarlo:\n\
             \x20 contacto validate fixtures/menu/menu.toml\n\
             \x20 contacto preview --from fixtures/menu --mensaje \"mi certificado\"\n\
             y publícalo como siempre (la siguiente corrida de la fuente del menú).\n"
        );
    }
}
