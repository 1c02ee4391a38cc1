//! The semáforo answer, which both semáforo kinds render (each reading the other's last good
//! record as its companion), so a change in either shows at once.

use schemas::{Answer, AnswerKey, Scope, es_mx};

use super::semaforo_records::{EstatalRecord, SemaforoDataset, periodo};
use crate::error::RenderError;
use crate::render::{Common, Renderer};

/// A companion's dataset of type `T`, if it has one that reads.
pub fn companion<T: serde::de::DeserializeOwned>(common: &Common, name: &str) -> Option<T> {
    let stored = common.companions.get(name)?;
    serde_json::from_value(stored.dataset.clone()).ok()
}

/// The semáforo answer of each topic the catalogue feeds from either semáforo source: the
/// federal colour and the state's own, each with its period and source. Both semáforo kinds
/// render it, so a change in either shows at once.
pub fn answer(
    federal: Option<&SemaforoDataset>,
    estatal: Option<&EstatalRecord>,
    renderer: &Renderer,
    common: &Common,
) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
    let federal = federal.map(|f| {
        minijinja::context! {
            color => f.color.nombre(),
            emoji => f.color.emoji(),
            periodo => f.desde.zip(f.hasta).map(|(d, h)| periodo(d, h)),
            consultado => es_mx::long_date(f.consultado),
            fuente => f.fuente.clone(),
        }
    });
    let estatal = estatal.map(|e| {
        minijinja::context! {
            nombre => e.nombre.clone(),
            color => e.color.nombre(),
            emoji => e.color.emoji(),
            periodo => periodo(e.vigente_desde, e.vigente_hasta),
            nota => e.nota.clone(),
            aforos => minijinja::Value::from(minijinja::value::Serde(&e.aforos)),
            fuente_url => e.fuente_url.clone(),
            fuente => e.fuente.clone(),
        }
    });
    let values = minijinja::context! { federal => federal, estatal => estatal };
    common.fed.iter().map(|entry| renderer.render_topic(entry, Scope::Estado, common, values.clone())).collect()
}
