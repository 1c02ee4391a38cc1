// Trying the bot: a conversation as a citizen would have it on WhatsApp, answered by the
// responder's own decision from the answers published now (`POST /admin/bot/try`). Each answer
// says what the message was understood as; lists and buttons can be tapped. The page carries
// the last menu shown, as the bot does for each citizen. Nothing is counted, subscribed or sent.

import { api } from '../api.js';
import { h, notice, replace, whatsappText } from '../dom.js';

export function render(main) {
  const conversation = h('ol', { id: 'conversacion', class: 'conversacion', 'aria-live': 'polite', 'aria-label': 'Conversación de prueba' });
  const input = h('input', {
    id: 'probar-texto', name: 'text', type: 'text', autocomplete: 'off', maxlength: 4096,
    placeholder: 'Por ejemplo: hola, casos en León, síntomas, 2',
  });
  const send = h('button', { type: 'submit', id: 'probar-enviar' }, 'Enviar');
  const restart = h('button', { type: 'button', id: 'probar-reiniciar', class: 'secundario' }, 'Empezar de nuevo');
  const messages = h('div', { id: 'mensajes-probar' });
  const form = h('form', { class: 'filtros', id: 'probar-form' },
    h('label', { for: 'probar-texto' }, 'Mensaje'), input, send, restart);
  main.append(h('h1', {}, 'Probar el bot'),
    h('p', {}, 'Escribe como lo haría un ciudadano por WhatsApp. Responde la misma lógica del bot, con las respuestas publicadas ahora; debajo de cada respuesta se ve cómo se entendió el mensaje. Las listas y los botones se pueden tocar.'),
    h('p', { class: 'ayuda' }, 'La prueba no cuenta en el reporte, no suscribe ni da de baja a nadie en Conéctate y no envía nada.'),
    h('section', { 'aria-label': 'Conversación' }, conversation, messages, form));

  // The menu a bare number refers to, as the bot keeps it per citizen.
  let menu = null;
  const say = async (request, shown) => {
    replace(messages);
    send.disabled = true;
    try {
      const tried = await api('/bot/try', { method: 'POST', body: { ...request, ...(menu ? { menu } : {}) } });
      conversation.append(h('li', { class: 'ciudadano' }, h('p', { class: 'texto' }, shown)));
      conversation.append(answer(tried, say));
      menu = tried.menu;
      conversation.lastElementChild.scrollIntoView({ block: 'nearest' });
      return true;
    } catch (error) {
      if (error.status !== 401) replace(messages, notice('error', error.message));
      return false;
    } finally {
      send.disabled = false;
    }
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) {
      replace(messages, notice('error', 'Escribe un mensaje.'));
      input.focus();
      return;
    }
    if (await say({ text }, text)) input.value = '';
    input.focus();
  });
  restart.addEventListener('click', () => {
    menu = null;
    replace(conversation);
    replace(messages);
    input.focus();
  });
  input.focus();
}

/** The bot's message: its text with WhatsApp's marks, the list or buttons under it (tapping
 *  one sends its id, as WhatsApp does), and what the message was understood as. */
function answer(tried, say) {
  const understood = h('p', { class: 'entendido' }, `Entendido como: ${tried.understood_as}.`,
    tried.version === null ? '' : ` Respuestas de la versión v${tried.version}.`);
  if (!tried.answer) {
    return h('li', { class: 'bot' }, h('p', { class: 'vacio' }, 'El bot no responde a esto.'), understood);
  }
  const { text, interactive } = tried.answer;
  const choose = (id, title) => () => say({ choice: id }, title);
  let options = null;
  if (interactive?.type === 'list') {
    options = h('div', { class: 'opciones' },
      interactive.header ? h('p', { class: 'encabezado' }, interactive.header) : null,
      h('p', { class: 'boton-lista' }, `☰ ${interactive.button}`),
      interactive.sections.map((section) => h('div', { class: 'seccion' },
        section.title ? h('p', { class: 'titulo-seccion' }, section.title) : null,
        h('ul', {}, section.rows.map((row) => h('li', {},
          h('button', { type: 'button', class: 'secundario opcion', 'data-id': row.id, onclick: choose(row.id, row.title) },
            row.title, row.description ? h('span', { class: 'descripcion' }, row.description) : null)))))),
      interactive.footer ? h('p', { class: 'pie-mensaje' }, interactive.footer) : null);
  } else if (interactive?.type === 'buttons') {
    options = h('div', { class: 'opciones' },
      h('ul', {}, interactive.buttons.map((button) => h('li', {},
        h('button', { type: 'button', class: 'secundario opcion', 'data-id': button.id, onclick: choose(button.id, button.title) }, button.title)))),
      interactive.footer ? h('p', { class: 'pie-mensaje' }, interactive.footer) : null);
  }
  return h('li', { class: 'bot' }, h('div', { class: 'burbuja' }, h('p', { class: 'texto' }, whatsappText(text)), options), understood);
}
