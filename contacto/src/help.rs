//! The layout of `--help` in Spanish (clap's own headings are English), apart from the
//! commands so every module that declares subcommands can use it.

/// The help layout of `contacto` itself.
pub const HELP_TEMPLATE: &str = "{about}\n\nUso: {usage}\n\nÓrdenes:\n{subcommands}\n\nOpciones:\n{options}";
/// The help layout of each subcommand; give every new subcommand `help_template` and
/// `override_usage` so its help reads in Spanish too.
pub const SUBCOMMAND_TEMPLATE: &str = "{about}\n\nUso: {usage}\n\nOpciones:\n{options}";
