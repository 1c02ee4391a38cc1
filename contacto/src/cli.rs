//! The commands of `contacto`. Help texts are in Spanish: maintainers, ops and the
//! communications team read them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use settings::Settings;

const HELP_TEMPLATE: &str = "{about}\n\nUso: {usage}\n\nÓrdenes:\n{subcommands}\n\nOpciones:\n{options}";
/// The help layout of each subcommand; give every new subcommand `help_template` and
/// `override_usage` so its help reads in Spanish too.
const SUBCOMMAND_TEMPLATE: &str = "{about}\n\nUso: {usage}\n\nOpciones:\n{options}";

/// Contacto Ciudadano: respuestas oficiales sobre COVID-19 por WhatsApp y difusión Conéctate.
#[derive(Debug, Parser)]
#[command(
    name = "contacto",
    version,
    about = "Contacto Ciudadano: respuestas oficiales sobre COVID-19 por WhatsApp y difusión Conéctate.",
    help_template = HELP_TEMPLATE,
    override_usage = "contacto [OPCIONES] <ORDEN>",
    disable_help_subcommand = true,
    disable_help_flag = true,
    disable_version_flag = true,
    subcommand_help_heading = "Órdenes",
    subcommand_value_name = "ORDEN",
    next_help_heading = "Opciones"
)]
pub struct Cli {
    /// Muestra esta ayuda.
    #[arg(short, long, global = true, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// Muestra la versión.
    #[arg(short = 'V', long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,

    /// Archivo de configuración (TOML). Las variables CONTACTO_* lo sobrescriben.
    #[arg(long, short, global = true, env = "CONTACTO_CONFIG", default_value = settings::DEFAULT_FILE)]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Arranca todo el sistema en un proceso (ingesta de los datos incluidos, respuestas,
    /// envíos y consola) sobre el almacén local, sin Redis.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto run [OPCIONES]")]
    Run,
    /// Atiende los webhooks de WhatsApp (Meta y Twilio) y envía las respuestas pendientes.
    /// Servicio de producción: no arranca sin sus secretos (CONTACTO_…).
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto responder [OPCIONES]")]
    Responder,
}

/// Loads the configuration, starts logging and runs the command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&cli.config)?;
    crate::telemetry::init(&settings.telemetry);
    match cli.command {
        Command::Run => crate::run::run(settings).await,
        Command::Responder => crate::responder::responder(settings).await,
    }
}
