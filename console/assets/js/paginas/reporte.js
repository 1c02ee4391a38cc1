// The programme report for a range of dates: interactions per day (the chart and the table),
// the totals, unique users, Conéctate subscribers and contents sent, and interactions by topic
// as the published catalogue names them (the API lists the topics: none is fixed here); the
// same as CSV.

import { api, download } from '../api.js';
import { addDays, calendarDate, date, decimal, integer, plural } from '../formato.js';
import { h, notice, replace, table } from '../dom.js';
import { interactionsChart } from '../grafica.js';

export function render(main, { params }) {
  const today = calendarDate();
  const from = h('input', { id: 'desde', name: 'desde', type: 'date', required: true, value: params.get('desde') ?? addDays(today, -29) });
  const to = h('input', { id: 'hasta', name: 'hasta', type: 'date', required: true, value: params.get('hasta') ?? today });
  const show = h('button', { type: 'submit', id: 'ver-reporte' }, 'Ver reporte');
  const csv = h('button', { type: 'button', id: 'descargar-csv', class: 'secundario' }, 'Descargar CSV');
  const result = h('div', { id: 'reporte', 'aria-live': 'polite' });
  const form = h('form', { class: 'filtros' },
    h('label', { for: 'desde' }, 'Desde'), from,
    h('label', { for: 'hasta' }, 'Hasta'), to,
    show, csv);
  main.append(h('h1', {}, 'Reporte del programa'),
    h('p', {}, 'Interacciones por día, por tema y en total, usuarios únicos, suscriptores de Conéctate, contenidos enviados y respuestas que no se pudieron entregar, para el rango que elijas (días del calendario de la zona configurada).'),
    form, result);

  const range = () => {
    if (!from.value || !to.value) return null;
    if (from.value > to.value) {
      replace(result, notice('error', 'La fecha «Desde» debe ser anterior o igual a «Hasta».'));
      return null;
    }
    return new URLSearchParams({ from: from.value, to: to.value });
  };
  const load = async () => {
    const query = range();
    if (!query) return;
    replace(result, h('p', { class: 'cargando' }, 'Calculando el reporte…'));
    try {
      fill(result, await api(`/report?${query}`));
    } catch (error) {
      if (error.status !== 401) replace(result, notice('error', error.message));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  csv.addEventListener('click', async () => {
    const query = range();
    if (!query) return;
    try {
      const name = await download(await api(`/report.csv?${query}`, { raw: true }), `reporte_${from.value}_${to.value}.csv`);
      result.prepend(notice('ok', `Se descargó ${name}.`));
    } catch (error) {
      if (error.status !== 401) result.prepend(notice('error', error.message));
    }
  });
  load();
}

function figure(id, label, value, detail) {
  return h('div', { class: 'cifra', id },
    h('dt', {}, label),
    h('dd', {}, h('span', { class: 'valor' }, value), detail ? h('span', { class: 'detalle' }, detail) : null));
}

function fill(result, report) {
  const subscribers = report.subscribers ?? {};
  const sent = report.contents_sent ?? {};
  const failed = report.failed_replies ?? { total: 0, by_reason: [] };
  replace(result,
    h('h2', {}, `Del ${date(report.from)} al ${date(report.to)}`),
    h('dl', { class: 'cifras' },
      figure('total-interacciones', 'Interacciones', integer(report.total_interactions)),
      figure('promedio-diario', 'Promedio por día', decimal(report.average_per_day)),
      figure('usuarios-unicos', 'Usuarios únicos', integer(report.unique_users)),
      figure('suscriptores', 'Suscriptores al final', integer(subscribers.total_at_end),
        `${integer(subscribers.new)} altas, ${integer(subscribers.left)} bajas`),
      figure('contenidos-enviados', 'Contenidos enviados', integer(sent.contents),
        plural(sent.messages, 'mensaje', 'mensajes')),
      figure('respuestas-no-entregadas', 'Respuestas no entregadas', integer(failed.total),
        failed.by_reason.slice(0, 3).map((r) => `${r.description}: ${integer(r.count)}`).join('; ') || null)),
    h('figure', { class: 'figura' },
      interactionsChart(report.days),
      h('figcaption', {}, 'Interacciones por día')),
    h('details', {},
      h('summary', {}, 'Cifras de cada día'),
      table('Interacciones y usuarios únicos por día', ['Día', 'Interacciones', 'Usuarios únicos'],
        report.days.map((d) => [date(d.date), integer(d.interactions), integer(d.unique_users)]),
        'No hay días en el rango.')),
    h('section', { id: 'por-tema', 'aria-labelledby': 'titulo-por-tema' },
      h('h3', { id: 'titulo-por-tema' }, 'Interacciones por tema'),
      table('Mensajes contestados de cada tema en el rango; un tema que ya no está en el menú conserva sus cifras con su clave',
        ['Tema', 'Interacciones'],
        (report.topics ?? []).map((t) => h('tr', { 'data-tema': t.topic },
          h('td', {}, t.label), h('td', {}, integer(t.interactions)))),
        'No hay temas publicados.')));
}
