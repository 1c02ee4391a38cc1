// Snapshot versions: which one citizens are answered from, what changed between two versions,
// going back to an older one after a confirmation, and which version was current at a given
// moment (the audit trail).

import { api } from '../api.js';
import { calendarDateTime, date, dateTimeOf, instantOf, integer, plural } from '../formato.js';
import { confirm, h, notice, replace, table } from '../dom.js';

export async function render(main) {
  const current = h('p', { id: 'version-actual', class: 'destacado', 'aria-live': 'polite' });
  const messages = h('div', { id: 'mensajes-versiones' });
  const list = h('section', { 'aria-labelledby': 'titulo-guardadas' });
  const diff = h('section', { id: 'diferencias', 'aria-live': 'polite' });
  const audit = auditSection();
  main.append(h('h1', {}, 'Versiones de las respuestas'), current, messages, list, diff, audit);

  const reload = async () => {
    const { versions: snapshots } = await api('/snapshots');
    const now = snapshots.find((s) => s.current);
    replace(current, now
      ? `Se responde con la versión v${now.version}, publicada el ${dateTimeOf(now.created_at)}.`
      : 'Todavía no hay respuestas publicadas.');
    replace(list, h('h2', { id: 'titulo-guardadas' }, 'Versiones guardadas'),
      table('Versiones guardadas, de la más reciente a la más antigua',
        ['Versión', 'Publicada', 'Respuestas', 'Fuentes', 'Acciones'],
        snapshots.map((s, i) => row(s, snapshots[i + 1], { messages, diff, reload })),
        'No hay versiones guardadas.'));
  };
  await reload();
}

function provenance(snapshot) {
  return h('ul', { class: 'fuentes' },
    Object.values(snapshot.provenance).map((p) => h('li', {}, `${p.source}: datos al ${date(p.data_date)}`)));
}

function row(snapshot, previous, { messages, diff, reload }) {
  const version = snapshot.version;
  const actions = [];
  if (previous) {
    actions.push(h('button', {
      type: 'button', class: 'secundario', 'data-diff': version,
      onclick: () => showDiff(diff, version, previous.version),
    }, `Cambios desde v${previous.version}`));
  }
  if (!snapshot.current) {
    actions.push(h('button', {
      type: 'button', class: 'peligro', 'data-rollback': version,
      onclick: () => rollback(version, messages, reload),
    }, `Volver a v${version}`));
  }
  return h('tr', { 'data-version': version, class: snapshot.current ? 'actual' : null },
    h('th', { scope: 'row' }, `v${version}`, snapshot.current ? h('span', { class: 'insignia ok' }, 'Actual') : null),
    h('td', {}, dateTimeOf(snapshot.created_at)),
    h('td', { class: 'n' }, integer(snapshot.answers)),
    h('td', {}, provenance(snapshot)),
    h('td', { class: 'acciones' }, actions));
}

async function rollback(version, messages, reload) {
  const yes = await confirm({
    title: `¿Volver a la versión v${version}?`,
    text: `Desde este momento los ciudadanos recibirán las respuestas de la versión v${version}. `
      + 'La próxima corrida de ingesta que publique datos nuevos la reemplazará.',
    action: `Sí, volver a v${version}`,
  });
  if (!yes) return;
  try {
    const answer = await api('/snapshots/rollback', { method: 'POST', body: { version } });
    await reload();
    replace(messages, notice('ok', `Listo: ahora se responde con la versión v${answer.current}`
      + `${answer.previous ? ` (antes, v${answer.previous})` : ''}.`));
  } catch (error) {
    if (error.status !== 401) replace(messages, notice('error', error.message));
  }
}

async function showDiff(section, version, against) {
  replace(section, h('p', { class: 'cargando' }, 'Comparando…'));
  try {
    const d = await api(`/snapshots/${version}/diff?against=${against}`);
    const oneSide = (title, items) => (items.length
      ? h('details', { class: 'cambio' }, h('summary', {}, `${title}: ${items.map((a) => a.label).join(', ')}`),
        items.map((a) => h('div', {}, h('h3', {}, a.label), h('pre', {}, a.text))))
      : null);
    replace(section,
      h('h2', {}, `Cambios de v${against} a v${version}`),
      h('p', { id: 'resumen-cambios' }, `${plural(d.changed.length, 'respuesta cambió', 'respuestas cambiaron')}, `
        + `${plural(d.added.length, 'nueva', 'nuevas')}, ${plural(d.removed.length, 'quitada', 'quitadas')} `
        + `y ${plural(d.unchanged, 'igual', 'iguales')}.${d.router_changed ? ' También cambió el menú o las palabras clave.' : ''}`),
      d.provenance.length ? h('ul', {}, d.provenance.map((p) => h('li', {},
        `${p.source}: datos al ${date(p.before?.data_date)} → datos al ${date(p.after?.data_date)}`))) : null,
      oneSide('Nuevas', d.added),
      oneSide('Quitadas', d.removed),
      d.changed.map((c) => h('details', { class: 'cambio' },
        h('summary', { 'data-clave': c.key }, `${c.label} (fuente ${c.source})`),
        h('div', { class: 'antes-despues' },
          h('div', {}, h('h3', {}, 'Antes'), h('pre', {}, c.before)),
          h('div', {}, h('h3', {}, 'Después'), h('pre', {}, c.after))))));
  } catch (error) {
    if (error.status !== 401) replace(section, notice('error', error.message));
  }
}

function auditSection() {
  const at = h('input', {
    id: 'auditoria-momento', type: 'datetime-local', step: 1, required: true, value: calendarDateTime(new Date(), { seconds: true }),
  });
  const answer = h('div', { id: 'auditoria-respuesta', 'aria-live': 'polite' });
  const form = h('form', { class: 'filtros' },
    h('label', { for: 'auditoria-momento' }, 'Momento'), at,
    h('button', { type: 'submit', class: 'secundario', id: 'consultar-auditoria' }, 'Consultar'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const instant = instantOf(at.value);
      const { current_at: moment, history } = await api(`/audit?at=${encodeURIComponent(instant)}`);
      replace(answer,
        notice('info', moment.version
          ? `El ${dateTimeOf(instant)} se respondía con la versión v${moment.version}: ${moment.since.description}.`
          : `El ${dateTimeOf(instant)} no había respuestas publicadas (o es anterior al historial guardado).`),
        table('Cambios de la versión vigente, del más reciente al más antiguo', ['Cuándo', 'Qué pasó'],
          history.map((e) => [dateTimeOf(e.at), e.description]), 'Sin cambios registrados.'));
    } catch (error) {
      if (error.status !== 401) replace(answer, notice('error', error.message));
    }
  });
  return h('section', { 'aria-labelledby': 'titulo-auditoria' },
    h('h2', { id: 'titulo-auditoria' }, '¿Qué versión estaba vigente?'),
    h('p', {}, 'Para saber qué respuestas recibía la ciudadanía en un momento dado, y quién cambió la versión.'),
    form, answer);
}
