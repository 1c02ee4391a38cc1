//! `contacto conectate …`: what the communications team (or ops for them) does with contents,
//! straight on the store the services use: create, list, show, canary, schedule, cancel, the
//! delivery report, the consent ledger export, and the sender's state.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use conectate::content::{MetaTemplate, TwilioTemplate, parse_time};
use conectate::report::local_time;
use conectate::{ConectateConfig, Content, Contents, Draft};
use schemas::{MunicipioId, es_mx};
use settings::Settings;
use settings::secrets::{ADMIN_TOKEN, USER_HASH_KEY};
use store::{QueueName, SharedStore};

use crate::help::SUBCOMMAND_TEMPLATE;

#[derive(Debug, Subcommand)]
pub enum ConectateCommand {
    /// Crea un aviso en borrador y muestra su número.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto conectate create --title TÍTULO (--text TEXTO | --text-file ARCHIVO) [OPCIONES]"
    )]
    Create(Box<CreateArgs>),
    /// Lista los avisos y su estado.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate list")]
    List,
    /// Muestra un aviso.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate show ID")]
    Show {
        #[arg(value_name = "ID")]
        id: u64,
    },
    /// Cambia el título o el texto de un aviso antes de programarlo (también un borrador que
    /// preparó el sistema); después de una prueba vuelve a borrador.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto conectate edit ID [--title TÍTULO] [--text TEXTO | --text-file ARCHIVO]"
    )]
    Edit {
        #[arg(value_name = "ID")]
        id: u64,
        /// El nuevo título (no se envía).
        #[arg(long, value_name = "TÍTULO")]
        title: Option<String>,
        /// El nuevo mensaje.
        #[arg(long, value_name = "TEXTO", conflicts_with = "text_file")]
        text: Option<String>,
        /// El nuevo mensaje, leído de un archivo.
        #[arg(long, value_name = "ARCHIVO")]
        text_file: Option<PathBuf>,
    },
    /// Envía el aviso ahora al personal de `conectate.staff` (la prueba), antes de programarlo.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate canary ID")]
    Canary {
        #[arg(value_name = "ID")]
        id: u64,
    },
    /// Programa el envío a los suscriptores para una fecha y hora, o para ahora.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto conectate schedule ID (--at \"2021-05-27 10:00\" | --now)"
    )]
    Schedule {
        #[arg(value_name = "ID")]
        id: u64,
        /// Cuándo (hora de `timezone`, o con su desfase: 2021-05-27T10:00:00-06:00).
        #[arg(long, value_name = "FECHA", required_unless_present = "now", conflicts_with = "now")]
        at: Option<String>,
        /// En cuanto un emisor lo vea (segundos).
        #[arg(long)]
        now: bool,
    },
    /// Cancela un aviso que todavía no empieza a enviarse (a un borrador, lo descarta).
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate cancel ID")]
    Cancel {
        #[arg(value_name = "ID")]
        id: u64,
    },
    /// El reporte de entrega: a cuántos va, cuántos aceptó WhatsApp, entregados, leídos y fallas.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate report ID [--json]")]
    Report {
        #[arg(value_name = "ID")]
        id: u64,
        /// En JSON, como lo da la API de administración.
        #[arg(long)]
        json: bool,
    },
    /// Exporta la bitácora de consentimientos en CSV, con los usuarios anonimizados; con
    /// --with-addresses y el token de administración, también sus números.
    #[command(
        help_template = SUBCOMMAND_TEMPLATE,
        override_usage = "contacto conectate export [--output ARCHIVO] [--with-addresses --token TOKEN]"
    )]
    Export {
        /// El archivo a escribir; sin él, la salida estándar.
        #[arg(long, short, value_name = "ARCHIVO")]
        output: Option<PathBuf>,
        /// Incluye el número de WhatsApp de cada persona (mientras siga suscrita).
        #[arg(long, requires = "token")]
        with_addresses: bool,
        /// El token de administración (CONTACTO_ADMIN__TOKEN), obligatorio con --with-addresses.
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
    },
    /// El estado de los envíos: detenidos o no (y por qué), uso del límite de mensajería, cola.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate status")]
    Status,
    /// Reanuda los envíos que WhatsApp detuvo (131048, 131031, 368), una vez resuelto.
    #[command(help_template = SUBCOMMAND_TEMPLATE, override_usage = "contacto conectate unfreeze")]
    Unfreeze,
}

/// What a new content carries.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Un nombre para el equipo (no se envía).
    #[arg(long, value_name = "TÍTULO")]
    pub title: String,
    /// El mensaje, tal como se envía a quien escribió en las últimas 24 horas.
    #[arg(long, value_name = "TEXTO", required_unless_present = "text_file", conflicts_with = "text_file")]
    pub text: Option<String>,
    /// El mensaje, leído de un archivo (para textos largos o con saltos de línea).
    #[arg(long, value_name = "ARCHIVO")]
    pub text_file: Option<PathBuf>,
    /// Un enlace que se agrega al final del texto, con vista previa.
    #[arg(long, value_name = "URL")]
    pub link: Option<String>,
    /// Una imagen que se envía con el texto como pie.
    #[arg(long, value_name = "URL")]
    pub image: Option<String>,
    /// La plantilla aprobada en Meta para quien lleva más de 24 horas sin escribir.
    #[arg(long, value_name = "NOMBRE")]
    pub template: Option<String>,
    /// El idioma de la plantilla.
    #[arg(long, value_name = "CÓDIGO", requires = "template")]
    pub language: Option<String>,
    /// Un parámetro de la plantilla ({{1}}, {{2}}, … en orden); se puede repetir.
    #[arg(long = "param", value_name = "TEXTO", requires = "template")]
    pub params: Vec<String>,
    /// La plantilla de Twilio (ContentSid HX…).
    #[arg(long, value_name = "HX…")]
    pub content_sid: Option<String>,
    /// Una variable de la plantilla de Twilio, en orden; se puede repetir.
    #[arg(long = "variable", value_name = "TEXTO", requires = "content_sid")]
    pub variables: Vec<String>,
    /// Solo para quien se suscribió en este municipio (nombre, nombre corto o clave); se puede
    /// repetir. Sin él, para todos.
    #[arg(long = "municipio", value_name = "MUNICIPIO")]
    pub municipios: Vec<String>,
}

/// The secrets the CLI needs: made up locally for the embedded store (as `contacto run` does),
/// required from the environment with Redis.
fn secrets(settings: &mut Settings) -> anyhow::Result<()> {
    if settings.store.redis_url.is_none() {
        settings.fill_local_secrets()?;
    } else {
        settings.require(&[USER_HASH_KEY])?;
    }
    Ok(())
}

pub async fn conectate(mut settings: Settings, command: ConectateCommand) -> anyhow::Result<ExitCode> {
    secrets(&mut settings)?;
    let config = Arc::new(ConectateConfig::from_settings(&mut settings)?);
    let store = crate::deployment_store::open_store(&settings).await?;
    let contents = Contents::new(store.clone(), config.clone());
    let out = &mut std::io::stdout().lock();
    match command {
        ConectateCommand::Create(args) => {
            let CreateArgs {
                title,
                text,
                text_file,
                link,
                image,
                template,
                language,
                params,
                content_sid,
                variables,
                municipios,
            } = *args;
            let Some(text) = text_given(text, text_file)? else { bail!("falta el texto: --text o --text-file") };
            let municipios = municipios
                .iter()
                .map(|m| {
                    schemas::catalogue().find(m).with_context(|| {
                        format!("«{m}» no es un municipio de {} (nombre, nombre corto o clave)", schemas::state().name)
                    })
                })
                .collect::<anyhow::Result<Vec<MunicipioId>>>()?;
            let draft = Draft {
                title,
                text,
                link,
                image_url: image,
                template: template.map(|name| MetaTemplate {
                    name,
                    language: language.unwrap_or_else(|| config.template_language.clone()),
                    parameters: params,
                }),
                twilio: content_sid.map(|content_sid| TwilioTemplate { content_sid, variables }),
                municipios,
            };
            let content = contents.create(draft).await?;
            writeln!(
                out,
                "Se creó el aviso {} (borrador). Siguiente paso: contacto conectate canary {}",
                content.id, content.id
            )?;
        }
        ConectateCommand::List => {
            let all = contents.list().await?;
            if all.is_empty() {
                writeln!(out, "Todavía no hay avisos.")?;
            }
            for c in all {
                writeln!(out, "{}", summary(&c, &config))?;
            }
        }
        ConectateCommand::Show { id } => {
            let c = contents.get(id).await?;
            writeln!(out, "{}", summary(&c, &config))?;
            if let Some(origin) = &c.origin {
                writeln!(out, "{}", origin.reason)?;
            }
            writeln!(out, "\n{}", c.draft.message_text())?;
            if let Some(image) = &c.draft.image_url {
                writeln!(out, "imagen: {image}")?;
            }
            match &c.draft.template {
                Some(t) if t.parameters.is_empty() => writeln!(out, "plantilla de Meta: {} ({})", t.name, t.language)?,
                Some(t) => writeln!(
                    out,
                    "plantilla de Meta: {} ({}), con: «{}»",
                    t.name,
                    t.language,
                    t.parameters.join("», «")
                )?,
                None => writeln!(
                    out,
                    "plantilla de Meta: {}",
                    config
                        .channels
                        .get(&channels::meta::KIND)
                        .and_then(|outside| outside.default_template.as_ref())
                        .map_or("ninguna".to_owned(), |t| format!("{} (la predeterminada, con el texto)", t.name))
                )?,
            }
            if !c.draft.municipios.is_empty() {
                let names: Vec<&str> = c.draft.municipios.iter().map(|m| m.municipio().name.as_str()).collect();
                writeln!(out, "solo para: {}", names.join(", "))?;
            }
        }
        ConectateCommand::Edit { id, title, text, text_file } => {
            let text = text_given(text, text_file)?;
            if title.is_none() && text.is_none() {
                bail!("no hay nada que cambiar: usa --title, --text o --text-file");
            }
            let mut draft = contents.get(id).await?.draft;
            if let Some(title) = title {
                draft.title = title;
            }
            if let Some(text) = text {
                draft.text = text;
            }
            let c = contents.edit(id, draft).await?;
            writeln!(out, "Se editó el aviso {id}. Siguiente paso: contacto conectate canary {}", c.id)?;
        }
        ConectateCommand::Canary { id } => {
            let c = contents.canary(id).await?;
            let round = c.canary.as_ref().map_or(1, |c| c.round);
            writeln!(
                out,
                "Prueba {round} del aviso {id} en cola para {} personas del personal. Revisa que se vea bien y luego: contacto conectate schedule {id} --now",
                config.staff.len()
            )?;
        }
        ConectateCommand::Schedule { id, at, now } => {
            let at = if now { None } else { at.map(|t| parse_time(&t, &config.timezone)).transpose()? };
            let c = contents.schedule(id, at).await?;
            let when = c.scheduled_for.map(|t| local_time(t, &config.timezone)).unwrap_or_default();
            writeln!(out, "El aviso {id} se enviará el {when} a los suscriptores.")?;
        }
        ConectateCommand::Cancel { id } => {
            contents.cancel(id).await?;
            writeln!(out, "Se canceló el aviso {id}; no se enviará.")?;
        }
        ConectateCommand::Report { id, json } => {
            let report = contents.report(id).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                write!(out, "{}", report.render(&config.timezone))?;
            }
        }
        ConectateCommand::Export { output, with_addresses, token } => {
            if with_addresses {
                let expected = settings.secret(ADMIN_TOKEN).map(|s| s.expose().to_owned()).unwrap_or_default();
                let given = token.unwrap_or_default();
                if !admin::auth::token_matches(given.as_bytes(), &expected) {
                    bail!("el token no es el de administración (CONTACTO_ADMIN__TOKEN): no se exportan direcciones");
                }
            }
            let rows = match &output {
                Some(path) => {
                    let file =
                        std::fs::File::create(path).with_context(|| format!("no se pudo crear {}", path.display()))?;
                    conectate::ledger::export(&store, std::io::BufWriter::new(file), with_addresses, &config.timezone)
                        .await?
                }
                None => conectate::ledger::export(&store, &mut *out, with_addresses, &config.timezone).await?,
            };
            if with_addresses {
                tracing::warn!(rows, "The consent ledger was exported with addresses.");
            }
            eprintln!(
                "{} registros exportados{}.",
                es_mx::integer(rows as i64),
                if with_addresses { " con direcciones" } else { "" }
            );
        }
        ConectateCommand::Status => status(&store, &config, out).await?,
        ConectateCommand::Unfreeze => match conectate::freeze::unfreeze(&store).await? {
            Some(f) => writeln!(
                out,
                "Se reanudaron los envíos (estaban detenidos desde el {}).",
                local_time(f.at, &config.timezone)
            )?,
            None => writeln!(out, "Los envíos no estaban detenidos.")?,
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// The text given as `--text` or `--text-file`, if either.
fn text_given(text: Option<String>, file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    Ok(match (text, file) {
        (Some(t), _) => Some(t),
        (None, Some(path)) => {
            Some(std::fs::read_to_string(&path).with_context(|| format!("no se pudo leer {}", path.display()))?)
        }
        (None, None) => None,
    })
}

/// One line per content: id, state, title, when, how many subscribers, and whether the system
/// prepared it.
fn summary(c: &Content, config: &ConectateConfig) -> String {
    let when = c.scheduled_for.map(|t| local_time(t, &config.timezone)).unwrap_or_else(|| "sin programar".into());
    let to = c.deliveries.map(|n| format!(", {} suscriptores", es_mx::integer(n as i64))).unwrap_or_default();
    let by = if c.origin.is_some() { "  (preparado por el sistema)" } else { "" };
    format!("{:>4}  {:<15} «{}»  {when}{to}{by}", c.id, c.state.spanish(), c.draft.title)
}

async fn status(store: &SharedStore, config: &ConectateConfig, out: &mut impl Write) -> anyhow::Result<()> {
    match conectate::freeze::frozen(store).await? {
        Some(f) => writeln!(
            out,
            "ENVÍOS DETENIDOS desde el {} (aviso {}). {}\n  Detalle: {}\n  Para reanudar: contacto conectate unfreeze",
            local_time(f.at, &config.timezone),
            f.content,
            f.explain(),
            f.reason
        )?,
        None => writeln!(out, "Envíos activos.")?,
    }
    let reached = store.reached(std::time::Duration::from_secs(86_400)).await?;
    let limit = config.sender.messaging_limit;
    let limit = if limit == u64::MAX { "sin límite".into() } else { es_mx::integer(limit as i64) };
    writeln!(out, "Personas alcanzadas con plantilla en 24 horas: {} de {limit}.", es_mx::integer(reached as i64))?;
    writeln!(out, "Suscriptores: {}.", es_mx::integer(store.subscriber_count().await? as i64))?;
    let q = store.depth(QueueName::Broadcast).await?;
    writeln!(
        out,
        "Envíos en cola: {} por enviar, {} en curso, {} en espera.",
        es_mx::integer(q.ready as i64),
        es_mx::integer(q.pending as i64),
        es_mx::integer(q.delayed as i64)
    )?;
    Ok(())
}
