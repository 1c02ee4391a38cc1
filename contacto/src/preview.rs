//! `contacto preview TOPIC [MUNICIPIO]`: exactly the text a citizen would read now, from the
//! current snapshot. The municipio may be a name, an alias or an INEGI code, in any case and
//! with or without accents.

use std::process::ExitCode;

use anyhow::{Context, bail};
use schemas::{Scope, Topic, catalogue, es_mx};
use settings::Settings;

pub async fn preview(settings: Settings, topic: &str, municipio: Option<&str>) -> anyhow::Result<ExitCode> {
    let topic: Topic = topic.parse()?;
    let scope = match municipio {
        None => Scope::Estado,
        Some(text) => Scope::Municipio(catalogue().find(text).with_context(|| {
            format!("«{text}» no es un municipio de Guanajuato (escribe su nombre, un nombre corto o su clave INEGI)")
        })?),
    };
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    let Some(snapshot) = store.current_snapshot().await? else {
        bail!("todavía no hay respuestas publicadas: corre `contacto ingest --once`");
    };
    let Some(answer) = snapshot.answer_for(topic, scope) else {
        bail!(
            "la versión {} no tiene respuesta de «{}» para {}",
            snapshot.version,
            topic.label(),
            scope.display_name()
        );
    };
    println!("{}", answer.answer.body());
    let origin = match snapshot.provenance_of(answer) {
        Some(p) => format!("fuente {}, datos al {}", p.source, es_mx::long_date(p.data_date)),
        None => format!("fuente {}", answer.source),
    };
    eprintln!("({}, versión {})", origin, snapshot.version);
    Ok(ExitCode::SUCCESS)
}
