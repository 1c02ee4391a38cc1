// Snapshot versions: which one citizens are answered from, what changed between two versions,
// going back to an older one after a confirmation, and which version was current at a given
// moment (the audit trail).

import { api } from '../api.js';
import { calendarDateTime, date, dateTimeOf, instantOf, plural } from '../formato.js';
import { confirm, h, notice, replace, table } from '../dom.js';

export async function render(main) {
  const current = h('p', { id: 'version-actual', class: 'destacado', 'aria-live': 'polite' });
  const messages = h('div', { id: 'mensajes-versiones' });
  const list = h('section', { 'aria-labelledby': 'titulo-guardadas' });
  const diff = h('section', { id: 'diferencias', 'aria-live': 'polite' });
  const audit = auditSection();
  main.append(h('h1', {}, 'Versiones de las respuestas'), current, messages, list, diff, audit);

  const reload = async () => {
    const { snapshots } = await api('/snapshots');
    const now = snapshots.find((s) => s.current);
    replace(current, now
      ? `Se responde con la versión v${now.version}, publicada el ${dateTimeOf(now.created_at)}.`
      : 'Todavía no hay respuestas publicadas.');
    replace(list, h('h2', { id: 'titulo-guardadas' }, 'Versiones guardadas'),
      table('Versiones guardadas, de la más reciente a la más antigua',
        ['Versión', 'Publicada', 'Fuentes', 'Acciones'],
        snapshots.map((s, i) => row(s, snapshots[i + 1], { messages, diff, reload })),
        'No hay versiones guardadas.'));
  };
  await reload();
}

function provenance(snapshot) {
  const sources = snapshot.provenance ?? snapshot.sources ?? [];
  return h('ul', { class: 'fuentes' },
    sources.map((p) => h('li', {}, `${p.source}: datos del ${date(p.data_date)}`)));
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
    replace(messages, notice('ok', `Listo: ahora se responde con la versión v${answer.current ?? answer.version ?? version}.`));
  } catch (error) {
    if (error.status !== 401) replace(messages, notice('error', error.message));
  }
}

async function showDiff(section, version, against) {
  replace(section, h('p', { class: 'cargando' }, 'Comparando…'));
  try {
    const d = await api(`/snapshots/${version}/diff?against=${against}`);
    const keys = (items) => items.map((item) => (typeof item === 'string' ? item : item.key));
    const changed = d.changed ?? [];
    replace(section,
      h('h2', {}, `Cambios de v${against} a v${version}`),
      h('p', {}, `${plural(changed.length, 'respuesta cambió', 'respuestas cambiaron')}, `
        + `${plural((d.added ?? []).length, 'nueva', 'nuevas')}, ${plural((d.removed ?? []).length, 'quitada', 'quitadas')}.`),
      (d.added ?? []).length ? h('p', {}, 'Nuevas: ', keys(d.added).join(', ')) : null,
      (d.removed ?? []).length ? h('p', {}, 'Quitadas: ', keys(d.removed).join(', ')) : null,
      changed.map((c) => h('details', { class: 'cambio' },
        h('summary', {}, c.key),
        h('div', { class: 'antes-despues' },
          h('div', {}, h('h3', {}, 'Antes'), h('pre', {}, c.before ?? '')),
          h('div', {}, h('h3', {}, 'Después'), h('pre', {}, c.after ?? ''))))));
  } catch (error) {
    if (error.status !== 401) replace(section, notice('error', error.message));
  }
}

function auditSection() {
  const at = h('input', { id: 'auditoria-momento', type: 'datetime-local', required: true, value: calendarDateTime() });
  const answer = h('div', { id: 'auditoria-respuesta', 'aria-live': 'polite' });
  const form = h('form', { class: 'filtros' },
    h('label', { for: 'auditoria-momento' }, 'Momento'), at,
    h('button', { type: 'submit', class: 'secundario' }, 'Consultar'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const instant = instantOf(at.value);
      const result = await api(`/audit?at=${encodeURIComponent(instant)}`);
      const version = result.version ?? result.current;
      replace(answer, notice('info', version
        ? `El ${dateTimeOf(instant)} se respondía con la versión v${version}.`
        : `El ${dateTimeOf(instant)} todavía no había respuestas publicadas.`));
    } catch (error) {
      if (error.status !== 401) replace(answer, notice('error', error.message));
    }
  });
  return h('section', { 'aria-labelledby': 'titulo-auditoria' },
    h('h2', { id: 'titulo-auditoria' }, '¿Qué versión estaba vigente?'),
    h('p', {}, 'Para saber qué recibió un ciudadano en un momento dado.'),
    form, answer);
}
