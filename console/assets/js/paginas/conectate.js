// Conéctate for the communications team: the sender's state (and lifting a freeze), writing
// a content, the drafts the system prepared from the data (with why they exist), editing a
// draft or discarding it, its canary to the staff list, scheduling it (now or at a date and time),
// cancelling it before it starts, and its delivery report, refreshed every two seconds while
// the page is open so it can be watched as it sends.

import { api } from '../api.js';
import { calendarDateTime, dateTimeOf, instantOf, integer, plural } from '../formato.js';
import { confirm, h, notice, replace, table } from '../dom.js';

const REFRESH_MS = 2000;

export const STATES = {
  draft: 'Borrador',
  canary: 'Prueba enviada',
  scheduled: 'Programado',
  sending: 'Enviándose',
  done: 'Terminado',
  cancelled: 'Cancelado',
};

const SKIPPED = {
  unsubscribed: 'se dieron de baja',
  unreachable: 'números que WhatsApp no alcanza',
  no_template: 'sin plantilla para fuera de la ventana de 24 horas',
  not_served: 'canal sin configurar',
  cancelled: 'aviso cancelado',
};

export async function render(main, { rest }) {
  const id = rest[0] ? Number(rest[0]) : null;
  const messages = h('div', { id: 'mensajes-conectate' });
  const status = h('section', { id: 'estado-envio', 'aria-labelledby': 'titulo-estado' });
  const detail = h('section', { id: 'aviso', 'aria-labelledby': 'titulo-aviso' });
  const list = h('section', { id: 'avisos', 'aria-labelledby': 'titulo-avisos' });
  main.append(h('h1', {}, 'Conéctate'), messages, status, id ? detail : null, await composeSection(messages), list);

  const shown = new Map();
  /** Replaces `element`'s content only when `data` changed, so focus and open details stay. */
  const update = (element, data, build) => {
    const key = JSON.stringify(data);
    if (shown.get(element) === key) return;
    shown.set(element, key);
    build();
  };
  const state = { content: null, report: null };
  const refresh = async () => {
    const [sender, contents, content, report] = await Promise.all([
      api('/conectate/status'),
      api('/conectate/contents'),
      id ? api(`/conectate/contents/${id}`) : null,
      id ? api(`/conectate/contents/${id}/report`) : null,
    ]);
    update(status, sender, () => fillStatus(status, sender, messages, refresh));
    update(list, contents, () => fillList(list, contents, id));
    if (id) {
      // Rebuilt when its state, canary round or text changed (an edit, or the system's update of its draft).
      const stateChanged = state.content?.state !== content.state || state.content?.canary?.round !== content.canary?.round
        || state.content?.text !== content.text || state.content?.origin?.reason !== content.origin?.reason;
      state.content = content;
      state.report = report;
      if (stateChanged || !detail.firstChild) fillDetail(detail, content, sender, messages, refresh);
      update(detail.querySelector('#reporte-entrega'), report, () => fillReport(detail.querySelector('#reporte-entrega'), report));
    }
  };
  await refresh();

  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      await refresh();
    } catch (error) {
      if (error.status === 401) return;
    }
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  };
  timer = setTimeout(tick, REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function fillStatus(section, sender, messages, refresh) {
  const limit = sender.messaging_limit === null
    ? integer(sender.reached_24h)
    : `${integer(sender.reached_24h)} de ${integer(sender.messaging_limit)}`;
  const queue = sender.queue ?? {};
  const frozen = sender.frozen;
  const unfreeze = async () => {
    const yes = await confirm({
      title: '¿Reanudar los envíos?',
      text: `Los envíos se detuvieron. ${frozen.explanation} Reanúdalos solo si ya se resolvió la causa.`,
      action: 'Sí, reanudar',
    });
    if (!yes) return;
    try {
      await api('/conectate/unfreeze', { method: 'POST', body: {} });
      replace(messages, notice('ok', 'Los envíos se reanudaron.'));
      await refresh();
    } catch (error) {
      if (error.status !== 401) replace(messages, notice('error', error.message));
    }
  };
  replace(section,
    h('h2', { id: 'titulo-estado' }, 'Estado del envío'),
    frozen
      ? h('div', { class: 'aviso error', role: 'alert' },
        h('p', {}, h('strong', {}, 'Envíos detenidos. '), frozen.explanation),
        h('button', { type: 'button', id: 'reanudar', onclick: unfreeze }, 'Reanudar envíos'))
      : h('p', { class: 'aviso ok' }, 'Los envíos funcionan con normalidad.'),
    h('dl', { class: 'cifras' },
      figure('suscriptores', 'Suscriptores', integer(sender.subscribers)),
      figure('limite', 'Límite de mensajería', limit,
        sender.messaging_limit === null ? 'usuarios en 24 horas; sin límite' : 'usuarios alcanzados en 24 horas'),
      figure('cola', 'En la cola', integer(queue.ready ?? 0),
        `${integer(queue.pending ?? 0)} en curso, ${integer(queue.delayed ?? 0)} en espera`)));
}

function figure(name, label, value, detail) {
  return h('div', { class: 'cifra', 'data-cifra': name },
    h('dt', {}, label),
    h('dd', {}, h('span', { class: 'valor' }, value), detail ? h('span', { class: 'detalle' }, detail) : null));
}

function badge(state) {
  return h('span', { class: `insignia ${state}` }, STATES[state] ?? state);
}

function fillList(section, contents, selected) {
  const rows = [...contents].reverse().map((c) => h('tr', { 'data-aviso': c.id, class: c.id === selected ? 'actual' : null },
    h('td', {}, `#${c.id}`),
    h('th', { scope: 'row' }, h('a', { href: `#/conectate/${c.id}` }, c.title),
      c.origin ? h('span', { class: 'insignia sistema', title: c.origin.reason }, 'Del sistema') : null),
    h('td', {}, badge(c.state)),
    h('td', {}, dateTimeOf(c.created_at)),
    h('td', {}, dateTimeOf(c.scheduled_for)),
    h('td', {}, dateTimeOf(c.finished_at))));
  replace(section, h('h2', { id: 'titulo-avisos' }, 'Avisos'),
    table('Avisos, del más reciente al más antiguo', ['Número', 'Título', 'Estado', 'Creado', 'Programado para', 'Terminado'],
      rows, 'Todavía no hay avisos.'));
}

async function composeSection(messages) {
  const municipios = await fetch('municipios.json').then((r) => r.json()).catch(() => []);
  const field = (id, label, control, help) => h('div', { class: 'campo' },
    h('label', { for: id }, label), control, help ? h('p', { class: 'ayuda', id: `${id}-ayuda` }, help) : null);
  const title = h('input', { id: 'aviso-titulo', name: 'title', required: true, maxlength: 120 });
  const text = h('textarea', { id: 'aviso-texto', name: 'text', required: true, rows: 6, maxlength: 4096, 'aria-describedby': 'aviso-texto-ayuda' });
  const link = h('input', { id: 'aviso-enlace', name: 'link', type: 'url', placeholder: 'https://…' });
  const image = h('input', { id: 'aviso-imagen', name: 'image_url', type: 'url', placeholder: 'https://…' });
  const places = h('select', { id: 'aviso-municipios', name: 'municipios', multiple: true, size: 6, 'aria-describedby': 'aviso-municipios-ayuda' },
    municipios.map((m) => h('option', { value: m.id }, m.nombre)));
  const template = h('input', { id: 'aviso-plantilla', name: 'template', pattern: '[a-z0-9_]+', placeholder: 'aviso_conectate' });
  const language = h('input', { id: 'aviso-idioma', name: 'language', value: 'es_MX' });
  const parameters = h('textarea', { id: 'aviso-parametros', name: 'parameters', rows: 3 });
  const counter = h('span', { class: 'contador', 'aria-live': 'polite' });
  const count = () => {
    const max = image.value.trim() ? 1024 : 4096;
    counter.textContent = `${integer([...text.value].length)} de ${integer(max)} caracteres`;
  };
  text.addEventListener('input', count);
  image.addEventListener('input', count);
  count();
  const controls = { title, text, link, image_url: image, municipios: places, template };
  const form = h('form', { id: 'nuevo-aviso', class: 'formulario', novalidate: true },
    field('aviso-titulo', 'Título (solo para el equipo; no se envía)', title),
    field('aviso-texto', 'Texto del mensaje', text, h('span', {}, 'Se envía tal cual a quien escribió en las últimas 24 horas. ', counter)),
    field('aviso-enlace', 'Enlace (opcional; se agrega al final del texto)', link),
    field('aviso-imagen', 'Imagen (opcional; dirección de la imagen, el texto va como pie)', image),
    field('aviso-municipios', 'Solo para estos municipios (opcional)', places,
      'Sin selección, va a todos los suscriptores. Con Ctrl o ⌘ se eligen varios.'),
    h('details', {},
      h('summary', {}, 'Plantilla para quien no escribió en las últimas 24 horas'),
      h('p', { class: 'ayuda' }, 'Sin plantilla se usa la predeterminada, con el texto del aviso.'),
      field('aviso-plantilla', 'Nombre de la plantilla aprobada', template),
      field('aviso-idioma', 'Idioma', language),
      field('aviso-parametros', 'Parámetros ({{1}}, {{2}}, …), uno por línea', parameters)),
    h('button', { type: 'submit', id: 'guardar-aviso' }, 'Guardar borrador'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const control of Object.values(controls)) control.removeAttribute('aria-invalid');
    const draft = { title: title.value.trim(), text: text.value };
    if (link.value.trim()) draft.link = link.value.trim();
    if (image.value.trim()) draft.image_url = image.value.trim();
    const chosen = [...places.selectedOptions].map((o) => Number(o.value));
    if (chosen.length) draft.municipios = chosen;
    if (template.value.trim()) {
      draft.template = {
        name: template.value.trim(),
        language: language.value.trim() || 'es_MX',
        parameters: parameters.value.split('\n').map((p) => p.trim()).filter(Boolean),
      };
    }
    try {
      const content = await api('/conectate/contents', { method: 'POST', body: draft });
      form.reset();
      count();
      location.hash = `#/conectate/${content.id}`;
    } catch (error) {
      if (error.status === 401) return;
      replace(messages, notice('error', error.message));
      const control = controls[error.field];
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.focus();
      }
    }
  });
  return h('section', { 'aria-labelledby': 'titulo-nuevo' },
    h('details', { class: 'redactar' },
      h('summary', { id: 'titulo-nuevo' }, 'Escribir un aviso nuevo'),
      form));
}

function fillDetail(section, content, sender, messages, refresh) {
  const act = async (question, path, body, done) => {
    if (question && !(await confirm(question))) return;
    try {
      await api(`/conectate/contents/${content.id}/${path}`, { method: 'POST', body });
      replace(messages, notice('ok', done));
      await refresh();
    } catch (error) {
      if (error.status !== 401) replace(messages, notice('error', error.message));
    }
  };
  const audience = content.municipios?.length
    ? `los suscriptores de ${plural(content.municipios.length, 'municipio', 'municipios')}`
    : `todos los suscriptores (hoy ${integer(sender.subscribers)})`;
  const actions = h('div', { class: 'acciones' });
  const open = ['draft', 'canary', 'scheduled'].includes(content.state);
  if (['draft', 'canary'].includes(content.state)) {
    actions.append(h('button', {
      type: 'button', id: 'enviar-prueba', class: 'secundario',
      onclick: () => act(null, 'canary', {}, 'La prueba va en camino al personal.'),
    }, content.canary ? 'Enviar otra prueba al personal' : 'Enviar prueba al personal'));
  }
  if (open) actions.append(scheduleForm(content, audience, act));
  if (content.origin && content.state === 'draft') {
    actions.append(h('button', {
      type: 'button', id: 'descartar-borrador', class: 'peligro',
      onclick: () => act({
        title: `¿Descartar el borrador «${content.title}»?`,
        text: 'No se enviará a nadie y queda en la lista como cancelado.',
        action: 'Sí, descartarlo',
      }, 'cancel', {}, 'El borrador se descartó.'),
    }, 'Descartar el borrador'));
  } else if (open) {
    actions.append(h('button', {
      type: 'button', id: 'cancelar-aviso', class: 'peligro',
      onclick: () => act({
        title: `¿Cancelar el aviso «${content.title}»?`,
        text: 'No se enviará a nadie. Un aviso cancelado no se puede volver a programar: habría que escribirlo de nuevo.',
        action: 'Sí, cancelar el aviso',
      }, 'cancel', {}, 'El aviso se canceló.'),
    }, 'Cancelar el aviso'));
  }
  replace(section,
    h('h2', { id: 'titulo-aviso' }, `Aviso #${content.id}: ${content.title} `, badge(content.state)),
    content.origin ? h('div', { class: 'aviso info', id: 'motivo-borrador' },
      h('p', {}, h('strong', {}, 'Por qué existe este borrador. '), content.origin.reason),
      h('p', {}, 'Revísalo y edítalo antes de enviarlo; si ya no hace falta, descártalo.')) : null,
    h('div', { class: 'vista-previa' },
      h('p', { class: 'texto' }, content.text),
      content.link ? h('p', {}, 'Enlace: ', h('span', { class: 'url' }, content.link)) : null,
      content.image_url ? h('p', {}, 'Imagen: ', h('span', { class: 'url' }, content.image_url)) : null,
      h('p', { class: 'ayuda' }, `Para ${audience}.`,
        content.scheduled_for ? ` Programado para el ${dateTimeOf(content.scheduled_for)}.` : '',
        content.template ? ` Plantilla: ${content.template.name}.` : '')),
    ['draft', 'canary'].includes(content.state) ? editForm(content, act) : null,
    actions,
    h('div', { id: 'reporte-entrega' }));
}

/** Edits the title and text of a draft (or a content whose canary went out: it becomes a draft). */
function editForm(content, act) {
  const title = h('input', { id: 'editar-titulo', name: 'title', required: true, maxlength: 120, value: content.title });
  const text = h('textarea', { id: 'editar-texto', name: 'text', required: true, rows: 8, maxlength: 4096 });
  text.value = content.text;
  const form = h('form', { id: 'editar-aviso', class: 'formulario', novalidate: true },
    h('div', { class: 'campo' }, h('label', { for: 'editar-titulo' }, 'Título (solo para el equipo)'), title),
    h('div', { class: 'campo' }, h('label', { for: 'editar-texto' }, 'Texto del mensaje'), text),
    content.state === 'canary' ? h('p', { class: 'ayuda' }, 'Al guardar vuelve a borrador: envía otra prueba al personal antes de programarlo.') : null,
    h('button', { type: 'submit', id: 'guardar-cambios' }, 'Guardar cambios'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const draft = { title: title.value.trim(), text: text.value };
    for (const name of ['link', 'image_url', 'template', 'twilio']) {
      if (content[name]) draft[name] = content[name];
    }
    if (content.municipios?.length) draft.municipios = content.municipios;
    act(null, 'edit', draft, 'Se guardaron los cambios.');
  });
  return h('details', { class: 'redactar', id: 'editar' }, h('summary', {}, 'Editar el texto'), form);
}

function scheduleForm(content, audience, act) {
  const now = h('input', { type: 'radio', name: 'cuando', id: 'cuando-ahora', value: 'ahora', checked: true });
  const later = h('input', { type: 'radio', name: 'cuando', id: 'cuando-fecha', value: 'fecha' });
  const at = h('input', { type: 'datetime-local', id: 'programar-fecha', name: 'at', value: calendarDateTime(new Date(Date.now() + 3_600_000)) });
  const button = h('button', { type: 'submit', id: 'programar' }, content.state === 'scheduled' ? 'Cambiar la hora' : 'Programar');
  const form = h('form', { class: 'programar' },
    h('fieldset', {},
      h('legend', {}, 'Cuándo enviarlo'),
      h('label', {}, now, ' Ahora'),
      h('label', {}, later, ' En esta fecha y hora: '),
      at),
    button);
  at.addEventListener('focus', () => { later.checked = true; });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = later.checked ? { at: at.value } : {};
    const when = later.checked ? `el ${dateTimeOf(instantOf(at.value))}` : 'ahora';
    act({
      title: `¿Enviar «${content.title}» ${when}?`,
      text: `Se enviará a ${audience}. Hasta que empiece el envío se puede cancelar.`,
      action: 'Sí, programar',
    }, 'schedule', body, later.checked ? `El aviso quedó programado para el ${dateTimeOf(instantOf(at.value))}.` : 'El aviso quedó programado para enviarse ahora.');
  });
  return form;
}

function sum(counts) {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

function breakdown(counts, names) {
  const parts = Object.entries(counts ?? {}).filter(([, n]) => n > 0)
    .map(([why, n]) => `${names ? (names[why] ?? why) : `código ${why}`}: ${integer(n)}`);
  return parts.length ? parts.join('; ') : null;
}

function recipientsFigures(r, planned, pending) {
  const sent = (r.sent_text ?? 0) + (r.sent_template ?? 0);
  return [
    planned !== undefined ? figure('planeados', 'Para', planned === null ? 'contando…' : integer(planned)) : null,
    figure('enviados', 'Enviados', integer(sent), `${integer(r.sent_text ?? 0)} como texto, ${integer(r.sent_template ?? 0)} como plantilla`),
    pending !== undefined ? figure('pendientes', 'Pendientes', integer(pending)) : null,
    figure('omitidos', 'Omitidos', integer(sum(r.skipped)), breakdown(r.skipped, SKIPPED)),
    figure('fallidos', 'Fallidos', integer(sum(r.failed)), breakdown(r.failed)),
  ];
}

/** Statuses as a funnel: a message read was also sent and delivered. */
function messageFigures(m) {
  const read = m.read ?? 0;
  const delivered = (m.delivered ?? 0) + read;
  const sent = (m.sent ?? 0) + delivered;
  return [
    figure('en-cola', 'En cola', integer(m.queued ?? 0)),
    figure('msj-enviados', 'Aceptados por WhatsApp', integer(sent)),
    figure('entregados', 'Entregados', integer(delivered), `${integer(delivered - read)} sin leer`),
    figure('leidos', 'Leídos', integer(read)),
    figure('msj-fallidos', 'Fallidos', integer(sum(m.failed)), breakdown(m.failed)),
  ];
}

function fillReport(section, report) {
  const r = report.recipients ?? {};
  const sent = (r.sent_text ?? 0) + (r.sent_template ?? 0);
  const settled = sent + sum(r.skipped) + sum(r.failed);
  const summary = report.planned === null || report.planned === undefined
    ? `${STATES[report.state] ?? report.state}.`
    : `${STATES[report.state] ?? report.state}: enviado a ${integer(sent)} de ${plural(report.planned, 'suscriptor', 'suscriptores')}.`;
  const canary = report.canary;
  replace(section,
    h('h3', {}, 'Reporte de entrega'),
    h('p', { id: 'resumen-entrega', role: 'status' }, summary),
    report.planned ? h('progress', { max: report.planned, value: settled, 'aria-label': 'Avance del envío' }) : null,
    h('h4', {}, 'Suscriptores'),
    h('dl', { class: 'cifras', id: 'cifras-suscriptores' }, recipientsFigures(r, report.planned, report.pending ?? 0)),
    h('h4', {}, 'Mensajes'),
    h('dl', { class: 'cifras', id: 'cifras-mensajes' }, messageFigures(report.messages ?? {})),
    report.resent_as_template ? h('p', {}, `${plural(report.resent_as_template, 'mensaje se reenvió', 'mensajes se reenviaron')} como plantilla porque la ventana de 24 horas se había cerrado.`) : null,
    canary ? h('div', { id: 'reporte-prueba' },
      h('h4', {}, `Prueba al personal (ronda ${integer(canary.round)}, ${plural(canary.staff, 'persona', 'personas')})`),
      h('dl', { class: 'cifras' }, recipientsFigures(canary.recipients ?? {})),
      h('dl', { class: 'cifras' }, messageFigures(canary.messages ?? {}))) : null);
}
