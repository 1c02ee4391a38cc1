// «Sin entender»: what citizens wrote that the bot did not understand (`GET
// /admin/unmatched`), only phrases enough distinct citizens wrote, masked before they were
// stored. For each phrase a maintainer picks a topic and gets the exact change to the menu
// file (`GET /admin/unmatched/keyword-change`) and the commands that try it; nothing is
// written from here.

import { api } from '../api.js';
import { dateTimeOf, integer } from '../formato.js';
import { h, notice, replace, table } from '../dom.js';

export async function render(main) {
  const listing = await api('/unmatched');
  const messages = h('div', { id: 'mensajes-sin-entender', 'aria-live': 'polite' });
  const change = h('section', { id: 'cambio', 'aria-live': 'polite', 'aria-label': 'Cambio al archivo del menú' });
  const labels = Object.fromEntries(listing.topics.map((t) => [t.topic, t.label]));
  const rows = listing.phrases.map((p, i) => {
    const select = h('select', { id: `tema-${i}`, name: 'topic', 'aria-label': `Tema para «${p.phrase}»` },
      listing.topics.map((t) => h('option', { value: t.topic, selected: t.topic === p.closest_topics[0] }, t.label)));
    const show = h('button', { type: 'button', class: 'secundario', onclick: () => showChange(p.phrase, select.value, labels[select.value], change, messages) },
      'Ver el cambio');
    return h('tr', { 'data-frase': p.phrase },
      h('th', { scope: 'row', class: 'frase' }, p.phrase),
      h('td', { class: 'n' }, integer(p.citizens)),
      h('td', {}, dateTimeOf(p.first_seen)),
      h('td', {}, dateTimeOf(p.last_seen)),
      h('td', { class: 'cercanos' }, p.closest_topics.length ? p.closest_topics.map((t) => labels[t] ?? t).join(', ') : 'ninguno'),
      h('td', {}, h('div', { class: 'elegir-tema' }, select, show)));
  });
  main.append(h('h1', {}, 'Sin entender'),
    h('p', {}, `Lo que escribieron al menos ${integer(listing.min_citizens)} ciudadanos distintos en los últimos `
      + `${integer(listing.days)} días y el bot no entendió (se les contestó con la ayuda). Los números, teléfonos, `
      + 'correos, enlaces y nombres se ocultaron antes de guardar nada; lo que escribieron menos ciudadanos no se muestra.'),
    h('p', { class: 'ayuda' }, 'Elige el tema al que debe llevar una frase para ver el cambio exacto al archivo del menú y cómo probarlo antes de publicarlo.'),
    messages,
    table('Frases sin entender, las más escritas primero',
      ['Frase', 'Ciudadanos', 'Primera vez', 'Última vez', 'Temas más cercanos', 'Llevar a'], rows,
      'Ninguna frase por ahora.'),
    change);
}

async function showChange(phrase, topic, label, section, messages) {
  replace(messages);
  try {
    const query = new URLSearchParams({ phrase, topic });
    const c = await api(`/unmatched/keyword-change?${query}`);
    replace(section,
      h('h2', {}, 'Cambio al archivo del menú'),
      h('p', {}, `Para que «${c.keyword}» lleve a ${label}, cambia ${c.file} en la línea ${integer(c.line)}:`),
      h('pre', { class: 'diff', id: 'cambio-diff' },
        c.removed === null ? null : h('del', {}, `- ${c.removed}\n`),
        c.added.map((line) => h('ins', {}, `+ ${line}\n`))),
      h('p', {}, 'Pruébalo antes de publicarlo:'),
      h('pre', { id: 'cambio-probar' }, c.try_with.join('\n')),
      h('p', { class: 'ayuda' }, 'y publícalo como siempre: la siguiente corrida de la fuente del menú lo toma.'));
    section.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    if (error.status !== 401) replace(messages, notice('error', error.message));
  }
}
