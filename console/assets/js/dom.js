// Building the page from data without ever parsing data as HTML: every text goes in as a text
// node, so nothing an API returns can run as script.

/** An element: `h('td', {class: 'n'}, 'texto', otroElemento)`. Attributes starting with `on`
 *  are event listeners; `null`, `undefined` and `false` children are skipped. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `element`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A message box: `kind` is `ok`, `error` or `info`. Errors are announced at once. */
export function notice(kind, text) {
  return h('p', { class: `aviso ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A table with a caption, column headers and rows of cells (strings or elements). */
export function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'vacio' }, empty);
  return h('div', { class: 'tabla' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((th) => h('th', { scope: 'col' }, th)))),
      h('tbody', {}, rows.map((row) => (row instanceof Node ? row : h('tr', {}, row.map((cell) => h('td', {}, cell))))))));
}

/** Asks for confirmation in the page's modal dialog; resolves to true only on the action. */
export function confirm({ title, text, action }) {
  const dialog = document.getElementById('confirmar');
  document.getElementById('confirmar-titulo').textContent = title;
  document.getElementById('confirmar-texto').textContent = text;
  const yes = document.getElementById('confirmar-si');
  const no = document.getElementById('confirmar-no');
  yes.textContent = action;
  return new Promise((resolve) => {
    const done = (answer) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onNo);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('cancel', onNo);
    dialog.showModal();
    no.focus();
  });
}

const MARKS = { '*': 'strong', _: 'em', '~': 's' };
// *negrita*, _cursiva_, ~tachado~ as WhatsApp reads them: the marks hug a word on both sides
// and sit between non-letters, so "5*3" or "archivo_final_2" stay as written.
const MARKED = /(^|[^\p{L}\p{N}])([*_~])(?=\S)([^\n]*?\S)\2(?![\p{L}\p{N}])/u;

/** A WhatsApp message's text as the citizen sees it: its marks as bold, italic and struck
 *  text (as text nodes and elements, never parsed as HTML); line breaks are kept by CSS. */
export function whatsappText(text) {
  const out = [];
  let rest = text;
  for (let found = MARKED.exec(rest); found; found = MARKED.exec(rest)) {
    const [whole, before, mark, inner] = found;
    out.push(rest.slice(0, found.index) + before, h(MARKS[mark], {}, whatsappText(inner)));
    rest = rest.slice(found.index + whole.length);
  }
  out.push(rest);
  return out;
}
