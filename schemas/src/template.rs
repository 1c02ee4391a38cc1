//! A WhatsApp template's category, which Meta fixes at review and may change later.
//!
//! On Meta it decides where a template is sent: a MARKETING one to the Marketing Messages API
//! (`/{phone_number_id}/marketing_messages`) when that is configured, any other to
//! `/{phone_number_id}/messages`. The category comes from the settings and is kept current by
//! Meta's `template_category_update` webhook.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A template category as Meta spells it (`MARKETING`, `UTILITY`, `AUTHENTICATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

impl TemplateCategory {
    pub const fn as_str(self) -> &'static str {
        match self {
            TemplateCategory::Marketing => "MARKETING",
            TemplateCategory::Utility => "UTILITY",
            TemplateCategory::Authentication => "AUTHENTICATION",
        }
    }
}

impl fmt::Display for TemplateCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category Meta does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no es una categoría de plantilla de WhatsApp (MARKETING, UTILITY o AUTHENTICATION)")]
pub struct UnknownCategory(pub String);

impl FromStr for TemplateCategory {
    type Err = UnknownCategory;

    /// Meta's spelling, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MARKETING" => Ok(TemplateCategory::Marketing),
            "UTILITY" => Ok(TemplateCategory::Utility),
            "AUTHENTICATION" => Ok(TemplateCategory::Authentication),
            _ => Err(UnknownCategory(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_spellings_read_back_and_others_are_refused() {
        for c in [TemplateCategory::Marketing, TemplateCategory::Utility, TemplateCategory::Authentication] {
            assert_eq!(c.as_str().parse::<TemplateCategory>(), Ok(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        assert_eq!("utility".parse::<TemplateCategory>(), Ok(TemplateCategory::Utility));
        assert!("SERVICE".parse::<TemplateCategory>().unwrap_err().to_string().contains("«SERVICE»"));
    }
}
