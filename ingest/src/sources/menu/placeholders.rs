//! Placeholders in the menu file's texts, so that one file serves every state: `{estado}`,
//! `{gobierno}`, `{gobierno_corto}` and `{municipio_1}` to `{municipio_3}` (three example
//! municipios, [`schemas::municipio::Catalogue::examples`]). They are filled with the
//! deployment's state when the file is read, that is when the menu source publishes (and in
//! `contacto validate` and `preview --from`), never when a citizen writes: answers stay
//! pre-rendered. An unknown placeholder is an error at its own line and column.

use schemas::State;
use schemas::municipio::Catalogue;

use crate::sources::maintainer::{At, Check, position};

/// The placeholders' values for one state.
pub struct Placeholders {
    values: [(&'static str, String); 6],
}

impl Placeholders {
    /// The values for `catalogue`'s state: the deployment's, [`schemas::catalogue`].
    pub fn of(catalogue: &Catalogue) -> Placeholders {
        let state: &State = catalogue.state();
        let [first, second, third] = catalogue.examples().map(|m| m.short_name.clone());
        Placeholders {
            values: [
                ("estado", state.name.clone()),
                ("gobierno", state.government.clone()),
                ("gobierno_corto", state.short_government.clone()),
                ("municipio_1", first),
                ("municipio_2", second),
                ("municipio_3", third),
            ],
        }
    }

    /// The known placeholders as a maintainer writes them, for messages.
    fn known(&self) -> String {
        self.values.iter().map(|(name, _)| format!("{{{name}}}")).collect::<Vec<_>>().join(", ")
    }

    /// `text` with its placeholders filled. `text` is the value of `field` that starts at `at`
    /// in `source` (the file's text); an unknown placeholder is noted at its place there, and
    /// the text comes back `None`.
    pub fn fill(&self, check: &mut Check, source: &str, at: At, field: &str, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        // Where the next placeholder is looked for in the file: from the value's start on.
        let mut cursor = offset(source, at);
        let mut failed = false;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
            if name_len == 0 || !after[name_len..].starts_with('}') {
                // Not a placeholder (a lone brace): kept as written.
                out.push('{');
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            let token = &rest[open..open + name_len + 2];
            let place = source.get(cursor..).and_then(|s| s.find(token)).map(|i| cursor + i);
            if let Some(i) = place {
                cursor = i + token.len();
            }
            match self.values.iter().find(|(known, _)| *known == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    let reason = format!("«{token}» no es un marcador conocido; los marcadores son {}", self.known());
                    check.error(place.map_or(at, |i| position(source, i)), field, token, reason);
                    failed = true;
                }
            }
            rest = &after[name_len + 1..];
        }
        out.push_str(rest);
        (!failed).then_some(out)
    }
}

/// The byte offset of `at` in `text` (the inverse of [`position`]).
fn offset(text: &str, at: At) -> usize {
    let line_start: usize = text.split_inclusive('\n').take((at.line as usize).saturating_sub(1)).map(str::len).sum();
    let line = text.get(line_start..).unwrap_or("");
    line_start + line.char_indices().nth(at.column.saturating_sub(1)).map_or(line.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(text: &str) -> (Option<String>, Vec<String>) {
        let source = format!("fecha = 2021-04-30\ntexto = \"{text}\"\n");
        let mut check = Check::new("menu.toml");
        let placeholders = Placeholders::of(schemas::catalogue());
        let out = placeholders.fill(&mut check, &source, At { line: 2, column: 9 }, "texto", text);
        let errors = match check.finish(0, 0.0) {
            Ok(_) => Vec::new(),
            Err(crate::error::SourceError::Rejected { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
            Err(other) => panic!("{other}"),
        };
        (out, errors)
    }

    #[test]
    fn placeholders_take_the_states_names_and_examples() {
        let (out, errors) = filled(
            "Del {gobierno} ({gobierno_corto}): {estado}; «casos en {municipio_1}», {municipio_2}, {municipio_3}.",
        );
        assert_eq!(
            out.as_deref(),
            Some(
                "Del Gobierno del Estado de Guanajuato (Gobierno del Estado): Guanajuato; «casos en León», Celaya, Irapuato."
            )
        );
        assert!(errors.is_empty());
        let (out, _) = filled("Braces that are no placeholder stay: {}, { estado }, {a-b}.");
        assert_eq!(out.as_deref(), Some("Braces that are no placeholder stay: {}, { estado }, {a-b}."));
    }

    /// The bundled menu file, read in Guanajuato, says what it said before its texts had
    /// placeholders, to the byte.
    #[test]
    fn the_bundled_menu_reads_in_guanajuato_as_it_was_written_before_placeholders() {
        let text = crate::sources::maintainer::Text {
            file: "menu.toml".into(),
            text: include_str!("../../../../fixtures/menu/menu.toml").into(),
            checksum: String::new(),
            warnings: Vec::new(),
        };
        let menu = super::super::parse_text(text, &Default::default()).unwrap().dataset;
        let ayuda = &menu.textos["ayuda"];
        assert!(ayuda.starts_with(
            "Soy el asistente de *Contacto Ciudadano* del Gobierno del Estado de Guanajuato. Te doy información oficial sobre COVID-19.\n\n\
             Escribe *MENÚ* para ver las opciones, o pregunta directamente, por ejemplo:\n\
             • «casos en León»\n• «defunciones Celaya»\n• «hospitales Irapuato»\n• «síntomas», «semáforo», «vacunas»\n\n\
             Para recibir avisos del Gobierno del Estado escribe *ALTA*; para dejar de recibirlos, *BAJA*."
        ), "{ayuda}");
        assert!(menu.textos["conectate_alta"].starts_with(
            "¡Listo! Te suscribiste a *Conéctate*: recibirás por aquí información y avisos del Gobierno del Estado de Guanajuato.\n"
        ));
        let texto = |id: &str| menu.menus.iter().find(|m| m.id.as_str() == id).unwrap();
        assert_eq!(
            texto("principal").texto,
            "¡Hola! Soy el asistente del Gobierno del Estado de Guanajuato. ¿Qué quieres saber? Escribe el número de la opción:"
        );
        assert_eq!(
            texto("principal").opciones[6].descripcion.as_deref(),
            Some("Recibe avisos del Gobierno del Estado")
        );
        assert_eq!(
            texto("cifras").texto,
            "Cifras de COVID-19 en Guanajuato. Escribe el número de la opción (o, por ejemplo, «confirmados León» para tu municipio):"
        );
        assert_eq!(
            texto("conectate").texto,
            "Con *Conéctate* recibes por WhatsApp información y avisos del Gobierno del Estado. Escribe el número de la opción:"
        );
        assert_eq!(menu.alias.len(), 15, "Guanajuato's aliases apply in Guanajuato");
    }

    #[test]
    fn an_unknown_placeholder_is_refused_at_its_own_column() {
        let (out, errors) = filled("En {estado}, el {estdo}.");
        assert_eq!(out, None);
        let column = "texto = \"En {estado}, el ".chars().count() + 1;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(&format!(
                "menu.toml:2:{column}: texto: «{{estdo}}» no es un marcador conocido; los marcadores son {{estado}}, {{gobierno}}"
            )),
            "{errors:?}"
        );
    }
}
