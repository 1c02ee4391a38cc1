//! Names in Spanish capitalisation from the federal catalogues, which are upper case.

/// Words that stay lower case inside a name unless they open it.
const PARTICLES: [&str; 7] = ["de", "del", "la", "las", "los", "el", "y"];

/// «SAN DIEGO DE LA UNIÓN» → «San Diego de la Unión»: every word capitalised except the Spanish
/// particles, accents kept.
pub fn spanish_title_case(upper: &str) -> String {
    upper
        .split_whitespace()
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                lower
            } else {
                let mut chars = lower.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particles_stay_lower_case_inside_names_and_accents_stay() {
        assert_eq!(spanish_title_case("LEÓN"), "León");
        assert_eq!(spanish_title_case("SAN DIEGO DE LA UNIÓN"), "San Diego de la Unión");
        assert_eq!(spanish_title_case("LA MAGDALENA CONTRERAS"), "La Magdalena Contreras");
        assert_eq!(spanish_title_case("GUSTAVO A. MADERO"), "Gustavo A. Madero");
        assert_eq!(spanish_title_case("SAN PEDRO Y SAN PABLO AYUTLA"), "San Pedro y San Pablo Ayutla");
        assert_eq!(
            spanish_title_case("HEROICA VILLA TEZOATLÁN DE SEGURA Y LUNA, CUNA DE LA INDEPENDENCIA DE OAXACA"),
            "Heroica Villa Tezoatlán de Segura y Luna, Cuna de la Independencia de Oaxaca"
        );
    }
}
