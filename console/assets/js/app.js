// The console's pages, one per address after `#`: the login page until a token is kept, then
// ingest, the report, snapshot versions, trying the bot, Conéctate and «Sin entender». A page is a module with
// `render(main, params)`, which may return a function that stops what it left running
// (a report that refreshes itself).

import { signOut, token } from './api.js';
import { TIME_ZONE } from './formato.js';
import { h, replace, notice } from './dom.js';

const PAGES = {
  entrar: { title: 'Entrar', module: () => import('./paginas/entrar.js') },
  ingesta: { title: 'Ingesta y fuentes', module: () => import('./paginas/ingesta.js') },
  reporte: { title: 'Reporte del programa', module: () => import('./paginas/reporte.js') },
  versiones: { title: 'Versiones de las respuestas', module: () => import('./paginas/versiones.js') },
  probar: { title: 'Probar el bot', module: () => import('./paginas/probar.js') },
  conectate: { title: 'Conéctate', module: () => import('./paginas/conectate.js') },
  'sin-entender': { title: 'Sin entender', module: () => import('./paginas/sinentender.js') },
};

let stop = null;
let generation = 0;

/** "#/conectate/7?x=1" → { page: "conectate", rest: ["7"], params: URLSearchParams("x=1") }. */
function parse(hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = '', ...rest] = path.split('/').filter(Boolean);
  return { page, rest, params: new URLSearchParams(query) };
}

async function show() {
  const current = ++generation;
  if (stop) {
    stop();
    stop = null;
  }
  let { page, rest, params } = parse(location.hash);
  const signedIn = Boolean(token());
  if (!signedIn && page !== 'entrar') {
    location.replace(`#/entrar${page ? `?volver=${encodeURIComponent(location.hash)}` : ''}`);
    return;
  }
  if (!PAGES[page] || (signedIn && page === 'entrar' && !params.has('motivo'))) {
    location.replace('#/ingesta');
    return;
  }
  document.getElementById('navegacion').hidden = page === 'entrar';
  for (const link of document.querySelectorAll('#navegacion a')) {
    if (link.getAttribute('href') === `#/${page}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${PAGES[page].title} — Consola de Contacto Ciudadano`;
  const main = document.getElementById('contenido');
  replace(main, h('p', { class: 'cargando' }, 'Cargando…'));
  try {
    const module = await PAGES[page].module();
    if (current !== generation) return;
    replace(main);
    const stopper = await module.render(main, { rest, params });
    if (current !== generation) {
      if (typeof stopper === 'function') stopper();
      return;
    }
    stop = typeof stopper === 'function' ? stopper : null;
    if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
  } catch (error) {
    if (current !== generation || error.status === 401) return;
    replace(main, notice('error', error.message || 'La página no se pudo mostrar.'));
  }
}

document.getElementById('zona').textContent = TIME_ZONE;
document.getElementById('salir').addEventListener('click', () => {
  signOut();
  location.hash = '#/entrar';
});
window.addEventListener('hashchange', show);
show();
