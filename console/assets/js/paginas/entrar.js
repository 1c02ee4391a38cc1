// Logging in: the admin token is checked against the API before it is kept for this tab.

import { api, signIn, signOut } from '../api.js';
import { h, notice, replace } from '../dom.js';

export function render(main, { params }) {
  const message = h('div', { id: 'mensaje-entrar' });
  if (params.get('motivo') === 'sesion') {
    message.append(notice('error', 'Tu sesión terminó o el token ya no es válido. Vuelve a entrar con el token de administración.'));
  }
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'token-ayuda',
  });
  const button = h('button', { type: 'submit', id: 'entrar' }, 'Entrar');
  const form = h('form', { class: 'entrar', novalidate: true },
    h('label', { for: 'token' }, 'Token de administración'),
    input,
    h('p', { id: 'token-ayuda', class: 'ayuda' },
      'Es el valor de CONTACTO_ADMIN__TOKEN. Se guarda solo en esta pestaña y se borra al cerrarla.'),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      replace(message, notice('error', 'Escribe el token de administración.'));
      input.focus();
      return;
    }
    button.disabled = true;
    replace(message, notice('info', 'Comprobando el token…'));
    signIn(value);
    try {
      await api('/conectate/status', { login: true });
      const back = params.get('volver');
      location.hash = back && back.startsWith('#/') && !back.startsWith('#/entrar') ? back : '#/ingesta';
    } catch (error) {
      signOut();
      const text = error.status === 401
        ? 'El token no es válido. Revisa que lo copiaste completo, sin espacios.'
        : error.message;
      replace(message, notice('error', text));
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  main.append(
    h('h1', {}, 'Entrar a la consola'),
    h('p', {}, 'La consola de operación y del equipo de comunicación: corridas de ingesta, reporte del programa, versiones de las respuestas y Conéctate.'),
    message,
    form,
  );
  input.focus();
}
