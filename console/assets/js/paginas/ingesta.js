// Ingest: the health of every source (with why when it is not ok, and forcing a quarantined
// dataset after a confirmation), the stale answers, and the run log filtered by source and
// result.

import { api } from '../api.js';
import { ageHours, bytes, date, dateTimeOf, duration, everyHours, integer, plural } from '../formato.js';
import { confirm, h, notice, replace, table } from '../dom.js';

export const HEALTH = {
  ok: 'Al día',
  stale: 'Vencida',
  failed: 'Falló',
  quarantined: 'En cuarentena',
};

export const RESULTS = {
  published: 'Publicado',
  unchanged: 'Sin cambios',
  rejected: 'Rechazado',
  quarantined: 'En cuarentena',
  failed: 'Falló',
};

export async function render(main) {
  const messages = h('div', { id: 'mensajes-ingesta', 'aria-live': 'polite' });
  const sources = h('section', { 'aria-labelledby': 'titulo-fuentes' }, h('h2', { id: 'titulo-fuentes' }, 'Fuentes'));
  const stale = h('section', { id: 'vencidas', 'aria-labelledby': 'titulo-vencidas' }, h('h2', { id: 'titulo-vencidas' }, 'Respuestas vencidas'));
  const runs = h('section', { 'aria-labelledby': 'titulo-corridas' }, h('h2', { id: 'titulo-corridas' }, 'Corridas'));
  main.append(h('h1', {}, 'Ingesta y fuentes'), messages, sources, stale, runs);

  const [list, staleList] = await Promise.all([api('/sources'), api('/stale')]);
  const names = list.sources.map((s) => s.source);
  const reload = async (text) => {
    const [fresh, freshStale] = await Promise.all([api('/sources'), api('/stale')]);
    fillSources(sources, fresh.sources, messages, reload);
    fillStale(stale, freshStale.stale);
    await runsTable.refresh();
    if (text) replace(messages, notice('ok', text));
  };
  fillSources(sources, list.sources, messages, reload);
  fillStale(stale, staleList.stale);
  const runsTable = runsSection(runs, names);
  await runsTable.refresh();
}

function badge(health) {
  return h('span', { class: `insignia ${health}` }, HEALTH[health] ?? health);
}

function fillSources(section, sources, messages, reload) {
  const rows = sources.map((s) => h('tr', { 'data-fuente': s.source },
    h('th', { scope: 'row' }, s.source),
    h('td', {}, s.kind),
    h('td', { class: 'salud' }, badge(s.health)),
    h('td', {}, date(s.data_date)),
    h('td', {}, s.last_run ? `${dateTimeOf(s.last_run.finished_at)} (${RESULTS[s.last_run.result] ?? s.last_run.result})` : 'Nunca'),
    h('td', {}, s.cadence_hours ? everyHours(s.cadence_hours) : '—'),
    h('td', { class: 'porque' }, s.why ?? ''),
    h('td', {}, s.health === 'quarantined'
      ? h('button', { type: 'button', class: 'peligro', onclick: () => force(s, messages, reload) }, 'Publicar de todos modos')
      : '')));
  replace(section, h('h2', { id: 'titulo-fuentes' }, 'Fuentes'),
    table('Salud de cada fuente configurada',
      ['Fuente', 'Tipo', 'Estado', 'Datos al', 'Última corrida', 'Cadencia', 'Por qué', 'Acción'], rows,
      'No hay fuentes configuradas.'));
}

async function force(source, messages, reload) {
  const yes = await confirm({
    title: `¿Publicar los datos en cuarentena de «${source.source}»?`,
    text: `No pasaron las comprobaciones de plausibilidad${source.why ? `: ${source.why}` : ''}. `
      + 'Si los publicas, los ciudadanos recibirán esas cifras de inmediato. Hazlo solo si verificaste que son correctas.',
    action: 'Sí, publicar',
  });
  if (!yes) return;
  try {
    const run = await api(`/sources/${encodeURIComponent(source.source)}/force`, { method: 'POST' });
    await reload(`Se publicaron los datos de «${source.source}»${run.version ? ` como la versión v${run.version}` : ''} (corrida #${run.id}).`);
  } catch (error) {
    replace(messages, notice('error', error.message));
  }
}

function fillStale(section, stale) {
  const rows = stale.map((s) => h('tr', { 'data-fuente': s.source },
    [s.source, s.topic_labels.join(', '), integer(s.answers), date(s.data_date),
      s.age_hours === null ? '—' : ageHours(s.age_hours), s.why].map((cell) => h('td', {}, cell))));
  replace(section, h('h2', { id: 'titulo-vencidas' }, 'Respuestas vencidas'),
    table('Respuestas con datos más viejos que la cadencia de su fuente',
      ['Fuente', 'Qué responden', 'Respuestas', 'Datos al', 'Antigüedad', 'Por qué'], rows,
      'Ninguna respuesta está vencida.'));
}

function runsSection(section, names) {
  const source = h('select', { id: 'filtro-fuente', name: 'fuente' },
    h('option', { value: '' }, 'Todas'), names.map((n) => h('option', { value: n }, n)));
  const result = h('select', { id: 'filtro-resultado', name: 'resultado' },
    h('option', { value: '' }, 'Todos'), Object.entries(RESULTS).map(([v, label]) => h('option', { value: v }, label)));
  const limit = h('select', { id: 'filtro-cuantas', name: 'cuantas' },
    [20, 50, 100, 500].map((n) => h('option', { value: n }, integer(n))));
  const body = h('div', { id: 'corridas' });
  const filters = h('form', { class: 'filtros', 'aria-controls': 'corridas' },
    h('label', {}, 'Fuente ', source),
    h('label', {}, 'Resultado ', result),
    h('label', {}, 'Mostrar ', limit));
  section.append(filters, body);

  const refresh = async () => {
    const query = new URLSearchParams({ limit: limit.value });
    if (source.value) query.set('source', source.value);
    if (result.value) query.set('result', result.value);
    try {
      const { runs } = await api(`/runs?${query}`);
      replace(body, table(`Corridas de ingesta, de la más reciente a la más antigua (${plural(runs.length, 'corrida', 'corridas')})`,
        ['Corrida', 'Fuente', 'Inició', 'Duró', 'Resultado', 'Filas', 'Tamaño', 'Datos al', 'Versión', 'Detalle'],
        runs.map(runRow), 'Ninguna corrida coincide con los filtros.'));
    } catch (error) {
      if (error.status !== 401) replace(body, notice('error', error.message));
    }
  };
  filters.addEventListener('change', refresh);
  filters.addEventListener('submit', (event) => event.preventDefault());
  return { refresh };
}

function runRow(run) {
  const detail = [
    run.error,
    run.forced ? 'Publicada a la fuerza por una persona.' : null,
    run.source_drift ? 'La fuente cambió de estructura.' : null,
    ...(run.warnings ?? []),
  ].filter(Boolean);
  return h('tr', { 'data-resultado': run.result },
    h('td', {}, `#${run.id}`),
    h('td', {}, run.source),
    h('td', {}, dateTimeOf(run.started_at)),
    h('td', {}, duration(run.started_at, run.finished_at)),
    h('td', {}, h('span', { class: `insignia ${run.result}` }, RESULTS[run.result] ?? run.result)),
    h('td', { class: 'n' }, integer(run.rows)),
    h('td', { class: 'n' }, bytes(run.bytes)),
    h('td', {}, date(run.data_date)),
    h('td', {}, run.version ? `v${run.version}` : '—'),
    h('td', { class: 'detalle' }, detail.length ? h('ul', {}, detail.map((d) => h('li', {}, d))) : ''));
}
