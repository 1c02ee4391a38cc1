//! `GET /datos/`: the figures of a range on one page in Spanish, written here as HTML with its
//! chart as hand-written SVG (no script, nothing from another site), es-MX numbers and dates,
//! the links to the files, how each figure is counted and what is not published.

use std::fmt::Write as _;

use jiff::civil::Date;
use schemas::es_mx;
use schemas::html::escape;

use super::figures::{Cell, Figures};

/// The chart's size and the room its axes take, in SVG units.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 32.0;
const TOP: f64 = 12.0;

fn int(n: u64) -> String {
    es_mx::integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A published cell as a person reads it: `1,248`, `<5`, `reservado`.
fn cell(c: Cell) -> String {
    match c {
        Cell::Count(n) => int(n),
        other => other.text(),
    }
}

/// `1 sep`: the short label of a day on the chart's axis.
fn short_date(d: Date) -> String {
    let month: String = es_mx::month_name(d.month()).chars().take(3).collect();
    format!("{} {month}", d.day())
}

/// The page of `figures`.
pub fn render(f: &Figures) -> String {
    let days = f.dias.len() as u64;
    let query = format!("desde={}&amp;hasta={}", f.desde, f.hasta);
    let mut out = head("Datos abiertos del programa");
    let _ = write!(
        out,
        r#"<header><h1>Datos abiertos del programa</h1>
<p id="periodo">Del {} al {} ({} {}). Cifras de las conversaciones por WhatsApp con el número oficial y de los avisos de Conéctate.</p>
<form method="get" action="/datos/"><label>Desde <input type="date" name="desde" value="{}"></label>
<label>Hasta <input type="date" name="hasta" value="{}"></label><button type="submit">Ver</button></form></header>
<main>
<section aria-labelledby="t-totales"><h2 id="t-totales">Totales del periodo</h2><dl class="totales">
<div><dt>Interacciones</dt><dd id="total-interacciones">{}</dd></div>
<div><dt>Promedio por día</dt><dd id="promedio">{}</dd></div>
<div><dt>Suscriptores de Conéctate al final</dt><dd id="suscriptores">{}</dd></div>
<div><dt>Contenidos enviados</dt><dd id="contenidos">{}</dd></div>
<div><dt>Mensajes enviados</dt><dd id="mensajes">{}</dd></div>
</dl></section>
<section aria-labelledby="t-grafica"><h2 id="t-grafica">Interacciones por día</h2>
<figure>{}<figcaption>Mensajes respondidos cada día, todos los temas juntos. Pasa el cursor sobre una barra para ver la cifra del día.</figcaption></figure></section>
"#,
        es_mx::long_date(f.desde),
        es_mx::long_date(f.hasta),
        int(days),
        if days == 1 { "día" } else { "días" },
        f.desde,
        f.hasta,
        int(f.total_interacciones),
        es_mx::decimal(f.total_interacciones as f64 / days.max(1) as f64, 1),
        int(f.suscriptores_al_final),
        int(f.contenidos_enviados),
        int(f.mensajes_enviados),
        chart(f),
    );
    out.push_str(
        "<section aria-labelledby=\"t-usuarios\"><h2 id=\"t-usuarios\">Usuarios únicos por mes</h2>\n\
         <table id=\"usuarios-por-mes\"><thead><tr><th>Mes</th><th>Días contados</th><th class=\"n\">Usuarios únicos</th></tr></thead><tbody>\n",
    );
    for m in &f.usuarios_unicos_por_mes {
        let mut notes = Vec::new();
        if m.parcial {
            notes.push("mes incompleto en el periodo");
        }
        if m.acotado {
            notes.push("estimación acotada a las interacciones del mes");
        }
        let notes = if notes.is_empty() { String::new() } else { format!(" <small>({})</small>", notes.join("; ")) };
        let _ = writeln!(
            out,
            "<tr><td>{} de {}{notes}</td><td>del {} al {}</td><td class=\"n\">{}</td></tr>",
            es_mx::month_name(m.desde.month()),
            m.desde.year(),
            m.desde.day(),
            es_mx::long_date(m.hasta),
            cell(m.usuarios_unicos)
        );
    }
    out.push_str(
        "</tbody></table></section>\n<section aria-labelledby=\"t-dias\"><h2 id=\"t-dias\">Las cifras de cada día</h2>\n\
         <details><summary>Ver la tabla de los días</summary><table id=\"dias\"><thead><tr><th>Fecha</th>\
         <th class=\"n\">Interacciones</th><th class=\"n\">Suscriptores al final del día</th>\
         <th class=\"n\">Contenidos enviados</th><th class=\"n\">Mensajes enviados</th></tr></thead><tbody>\n",
    );
    for d in &f.dias {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            es_mx::long_date(d.fecha),
            int(d.interacciones),
            int(d.suscriptores_al_final),
            int(d.contenidos_enviados),
            int(d.mensajes_enviados)
        );
    }
    let threshold = f.umbral;
    let masking = if f.cifras_pequenas_publicadas {
        "Por decisión del programa, las cifras pequeñas de cada tema se publican tal como son.".to_owned()
    } else {
        format!(
            "Cuando un tema tuvo de 1 a {} interacciones en un día, la cifra se publica como «&lt;{threshold}»; si en un día \
             solo un tema quedó así, otro tema de ese día se oculta también («&lt;{threshold}» si tuvo menos de {threshold}, \
             «reservado» si tuvo más), para que no pueda deducirse restando del total del día. Un mes con menos de \
             {threshold} usuarios únicos se publica como «&lt;{threshold}».",
            threshold.saturating_sub(1)
        )
    };
    let _ = write!(
        out,
        r#"</tbody></table></details></section>
<section aria-labelledby="t-archivos" id="archivos"><h2 id="t-archivos">Descarga los datos</h2>
<ul><li><a id="enlace-csv" href="/datos/reporte.csv?{query}">reporte.csv</a>: una tabla con las columnas <code>desde</code>, <code>hasta</code>, <code>cifra</code>, <code>tema</code> y <code>valor</code>; una fila por cifra y periodo (cada día, cada mes y el periodo completo). <code>tema</code> va vacío en las cifras de todos los temas juntos.</li>
<li><a id="enlace-json" href="/datos/reporte.json?{query}">reporte.json</a>: las mismas cifras; por día, <code>por_tema</code> lleva un número o el texto <code>"&lt;{threshold}"</code> o <code>"reservado"</code>.</li></ul>
<p>Ambos aceptan <code>desde</code> y <code>hasta</code> (fechas AAAA-MM-DD); sin ellos cubren los últimos 90 días hasta hoy. El periodo puede tener hasta 731 días. Los días son días del calendario local del estado.</p></section>
<section aria-labelledby="t-metodo" id="metodo"><h2 id="t-metodo">Cómo se cuenta cada cifra</h2>
<dl>
<dt>Interacciones</dt><dd>Cada mensaje que el número oficial respondió, una vez, en el día en que llegó. El tema es el de la respuesta (casos confirmados, hospitales, menú, ayuda…).</dd>
<dt>Usuarios únicos por mes</dt><dd>Personas distintas que escribieron en el mes, estimadas con un contador HyperLogLog (error cercano al 1 %). Como la estimación puede pasar del número de mensajes que cuenta, nunca se publica más que las interacciones del mes; la tabla lo señala cuando ocurre. No se suman los días: quien escribe varios días cuenta una vez.</dd>
<dt>Suscriptores de Conéctate al final de cada día</dt><dd>Altas menos bajas registradas hasta el final del día (bajas pedidas con BAJA, con los botones, por la plataforma o por un número que dejó de existir). Un cambio de número no cuenta como alta ni baja.</dd>
<dt>Contenidos y mensajes enviados</dt><dd>Avisos de Conéctate cuyo envío terminó ese día, y los mensajes que WhatsApp aceptó para ellos. No se cuentan las pruebas al personal.</dd>
</dl>
<h2 id="t-no-publicado">Qué no se publica</h2>
<p>Nada sobre ninguna persona: ni números de teléfono, ni nombres, ni lo que cada quien escribió, ni a quién se envió cada aviso. Solo conteos por día o por mes, leídos de los contadores del sistema. {masking}</p></section>
</main></body></html>
"#
    );
    out
}

/// A request the page cannot answer, saying why.
pub fn error(message: &str) -> String {
    let mut out = head("Datos abiertos: parámetro no válido");
    let _ = writeln!(
        out,
        "<header><h1>No se pueden mostrar esos datos</h1></header><main><p id=\"error\">{}</p>\
         <p><a href=\"/datos/\">Ver los últimos 90 días</a></p></main></body></html>",
        escape(message)
    );
    out
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"es-MX\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/datos/datos.css\"></head><body>\n"
    )
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `n`: a round top for the axis.
fn round_up(n: u64) -> u64 {
    let mut scale = 1u64;
    loop {
        for step in [1, 2, 5] {
            if step * scale >= n {
                return step * scale;
            }
        }
        scale = scale.saturating_mul(10);
    }
}

/// Interactions per day as bars, each with its date and figure as a tooltip.
fn chart(f: &Figures) -> String {
    let top = round_up(f.dias.iter().map(|d| d.interacciones).max().unwrap_or(0).max(1));
    let (plot_w, plot_h) = (WIDTH - LEFT - 8.0, HEIGHT - TOP - BOTTOM);
    let slot = plot_w / f.dias.len().max(1) as f64;
    let y = |n: u64| TOP + plot_h * (1.0 - n as f64 / top as f64);
    let mut out = format!(
        "<svg id=\"grafica\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"grafica-titulo\">\
         <title id=\"grafica-titulo\">Interacciones por día del {} al {}</title>",
        es_mx::long_date(f.desde),
        es_mx::long_date(f.hasta)
    );
    for tick in [0, top / 2, top] {
        let _ = write!(
            out,
            "<line class=\"guia\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"eje\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - 8.0,
            LEFT - 6.0,
            y(tick) + 4.0,
            int(tick),
            y = y(tick)
        );
    }
    let every = (f.dias.len() / 8).max(1);
    for (i, d) in f.dias.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let _ = write!(
            out,
            "<rect class=\"barra\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\"><title>{}: {} {}</title></rect>",
            x + slot * 0.1,
            y(d.interacciones),
            (slot * 0.8).max(0.5),
            plot_h - (y(d.interacciones) - TOP),
            es_mx::long_date(d.fecha),
            int(d.interacciones),
            if d.interacciones == 1 { "interacción" } else { "interacciones" }
        );
        if i % every == 0 {
            let _ = write!(
                out,
                "<text class=\"eje\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                HEIGHT - 10.0,
                short_date(d.fecha)
            );
        }
    }
    out.push_str("</svg>");
    out
}
