//! The commands of `contacto`. Help texts are in Spanish: maintainers, ops and the
//! communications team read them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use settings::Settings;

use crate::help::{HELP_TEMPLATE, SUBCOMMAND_TEMPLATE};

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

    /// Archivo de configuración (TOML; por omisión contacto.toml, o el de CONTACTO_CONFIG). Las
    /// variables CONTACTO_* lo sobrescriben.
    #[arg(
        long,
        short,
        global = true,
        value_name = "ARCHIVO",
        env = "CONTACTO_CONFIG",
        hide_env = true,
        default_value = settings::DEFAULT_FILE,
        hide_default_value = true
    )]
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

    /// Ingesta de fuentes: sin opciones, el programador de cada fuente según su cron (un
    /// servicio de producción, sobre Redis o el almacén local); con --once, una corrida y sale.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto ingest [--once [--source NOMBRE]] [--force NOMBRE]"
    )]
    Ingest {
        /// Corre cada fuente (o solo --source) una vez y termina.
        #[arg(long, conflicts_with = "force")]
        once: bool,
        /// Con --once: solo esta fuente.
        #[arg(long, value_name = "NOMBRE", requires = "once")]
        source: Option<String>,
        /// Publica los datos en cuarentena de esta fuente, ya revisados por una persona.
        #[arg(long, value_name = "NOMBRE")]
        force: Option<String>,
    },

    /// Muestra exactamente lo que un ciudadano leería ahora sobre TEMA, en el estado o en un
    /// municipio (nombre, nombre corto o clave INEGI; sin importar mayúsculas ni acentos); con
    /// --mensaje, qué entiende el bot de un mensaje y qué contesta. Con --from, lo que leería
    /// cuando se publiquen los archivos de DIR (menú y palabras clave incluidos).
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto preview TEMA [MUNICIPIO] [--from DIR]\n       contacto preview --mensaje TEXTO [--from DIR]"
    )]
    Preview {
        /// confirmados, sospechosos (en investigación), descartados, defunciones, …
        #[arg(value_name = "TEMA", required_unless_present = "mensaje")]
        topic: Option<String>,
        /// León, «san miguel», 020, 11020, …
        #[arg(value_name = "MUNICIPIO", num_args = 1..)]
        municipio: Vec<String>,
        /// Lo que escribe un ciudadano, p. ej. «casos en León» o «dolor de cabeza».
        #[arg(long, value_name = "TEXTO", conflicts_with_all = ["topic", "municipio"])]
        mensaje: Option<String>,
        /// Un directorio con archivos de fuentes todavía sin publicar; se validan y su respuesta
        /// reemplaza a la publicada.
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },

    /// Revisa archivos de fuentes sin publicarlos ni conectarse a nada: cada error como
    /// archivo:línea:columna: campo: qué corregir, o un resumen de una línea si el archivo es
    /// válido. Termina con error si algún archivo lo tiene.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto validate [--kind TIPO] ARCHIVO...")]
    Validate {
        /// Los archivos a revisar.
        #[arg(value_name = "ARCHIVO", required = true)]
        files: Vec<PathBuf>,
        /// El tipo de fuente (hospitales, programas, menu, …); sin él se deduce del archivo.
        #[arg(long, value_name = "TIPO")]
        kind: Option<String>,
    },

    /// La bitácora de corridas de ingesta, de la más reciente a la más antigua; con --stale,
    /// las respuestas más viejas que la cadencia de su fuente y por qué.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto runs [--source NOMBRE] [--limit N] [--stale]"
    )]
    Runs {
        /// Solo esta fuente.
        #[arg(long, value_name = "NOMBRE")]
        source: Option<schemas::SourceName>,
        /// Cuántas corridas mostrar (20 por omisión).
        #[arg(long, value_name = "N", default_value_t = 20, hide_default_value = true)]
        limit: usize,
        /// Lista las respuestas vencidas (datos más viejos que `cadence_hours`) y por qué.
        #[arg(long)]
        stale: bool,
    },

    /// Vuelve a responder con la versión anterior de las respuestas, o con VERSIÓN (p. ej. v12).
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto rollback [VERSIÓN]")]
    Rollback {
        #[arg(value_name = "VERSIÓN")]
        version: Option<schemas::SnapshotVersion>,
    },
    /// El reporte del programa de DESDE a HASTA (fechas AAAA-MM-DD, ambas incluidas): interacciones
    /// por día y en total, promedio diario, usuarios únicos, suscriptores de Conéctate y
    /// contenidos enviados. Con --csv, una fila por día y luego los totales.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto report DESDE HASTA [--csv]")]
    Report {
        /// Primer día, p. ej. 2020-03-23.
        #[arg(value_name = "DESDE")]
        from: String,
        /// Último día, p. ej. 2021-04-30.
        #[arg(value_name = "HASTA")]
        to: String,
        /// Escribe CSV (para una hoja de cálculo) en lugar del texto.
        #[arg(long)]
        csv: bool,
    },

    /// Lo que escribieron los ciudadanos y el bot no entendió (se contestó con la ayuda), para
    /// añadir palabras clave: solo lo que escribieron al menos `responder.unmatched_min_citizens`
    /// ciudadanos distintos, con números, teléfonos, correos, enlaces y nombres ocultos, y los
    /// temas más cercanos a cada frase. Con --frase y --tema, el cambio exacto al archivo del
    /// menú que hace que esa frase lleve a ese tema, y cómo probarlo antes de publicarlo.
    #[command(
        name = "sin-entender",
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto sin-entender [--frase FRASE --tema TEMA]"
    )]
    SinEntender {
        /// Una frase de la lista, tal como aparece.
        #[arg(long, value_name = "FRASE", requires = "tema")]
        frase: Option<String>,
        /// El tema al que debe llevar: vacunas, hospitales, síntomas, …
        #[arg(long, value_name = "TEMA", requires = "frase")]
        tema: Option<String>,
    },

    /// Atiende los webhooks de WhatsApp (Meta y Twilio) y envía las respuestas pendientes.
    /// Servicio de producción: no arranca sin sus secretos (CONTACTO_…).
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto responder [OPCIONES]")]
    Responder,

    /// La consola web (operación y equipo de comunicación) y la API de administración en su
    /// propio proceso, en `console.listen`. No arranca sin el token de administración
    /// (CONTACTO_ADMIN__TOKEN) ni la llave de anonimización (CONTACTO_PRIVACY__USER_HASH_KEY).
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto console [OPCIONES]")]
    Console,

    /// Envía los contenidos de Conéctate programados, a la velocidad que permiten WhatsApp y el
    /// límite de mensajería. Servicio de producción: no arranca sin sus secretos (CONTACTO_…);
    /// varios emisores sobre un mismo Redis se reparten el trabajo.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto sender [OPCIONES]")]
    Sender,

    /// Conéctate para el equipo de comunicación: crear, probar con el personal, programar,
    /// cancelar, el reporte de entrega y la bitácora de consentimientos.
    #[command(
        help_template = "{about}\n\nUso: {usage}\n\nÓrdenes:\n{subcommands}\n\nOpciones:\n{options}",
        override_usage = "contacto conectate <ORDEN>",
        subcommand_value_name = "ORDEN",
        disable_help_subcommand = true
    )]
    Conectate {
        #[command(subcommand)]
        command: crate::conectate::ConectateCommand,
    },
}

/// Loads the configuration, starts logging and runs the command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&cli.config)?;
    // Before anything reads a place: the municipios, names and texts are this state's.
    schemas::select_state(settings.state_code)?;
    let service = matches!(
        cli.command,
        Command::Run
            | Command::Ingest { once: false, force: None, .. }
            | Command::Responder
            | Command::Console
            | Command::Sender
    );
    crate::telemetry::init(&settings.telemetry, service);
    match cli.command {
        Command::Run => crate::run::run(settings).await,
        Command::Ingest { once, source, force } => {
            let mode = match (once, force) {
                (_, Some(source)) => crate::ingest::Mode::Force { source },
                (true, None) => crate::ingest::Mode::Once { source },
                (false, None) => crate::ingest::Mode::Service,
            };
            crate::ingest::ingest(settings, mode).await
        }
        Command::Preview { topic, municipio, mensaje, from } => {
            let asked = match (mensaje, topic) {
                (Some(text), _) => crate::preview::Asked::Message(text),
                (None, topic) => crate::preview::Asked::Topic {
                    topic: topic.unwrap_or_default(),
                    municipio: (!municipio.is_empty()).then(|| municipio.join(" ")),
                },
            };
            crate::preview::preview(settings, asked, from.as_deref()).await
        }
        Command::Validate { files, kind } => crate::validate::validate(settings, &files, kind.as_deref()),
        Command::Runs { source, limit, stale: false } => crate::runs::runs(settings, source, limit).await,
        Command::Runs { source, stale: true, .. } => crate::runs::stale(settings, source).await,
        Command::Rollback { version } => crate::rollback::rollback(settings, version).await,
        Command::Report { from, to, csv } => crate::report::report(settings, &from, &to, csv).await,
        Command::SinEntender { frase: Some(phrase), tema: Some(topic) } => {
            crate::sin_entender::keyword_change(&settings, &phrase, &topic)
        }
        Command::SinEntender { .. } => crate::sin_entender::sin_entender(settings).await,
        Command::Responder => crate::responder::responder(settings).await,
        Command::Console => crate::console::console(settings).await,
        Command::Sender => crate::sender::sender(settings).await,
        Command::Conectate { command } => crate::conectate::conectate(settings, command).await,
    }
}
