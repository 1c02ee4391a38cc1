// The admin API as the console calls it: the token kept for this tab only (sessionStorage),
// sent as the bearer token; a 401 ends the session and goes back to the login page; every
// other error becomes an `ApiError` carrying the API's Spanish message.

const KEY = 'contacto.consola.token';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    /** The request field to fix, when the API names one. */
    this.field = field;
  }
}

/** Calls `/admin{path}`. `body` is sent as JSON; `raw` returns the `Response` itself (CSV);
 *  `login` keeps a 401 as an error instead of leaving the page. */
export async function api(path, { method = 'GET', body, raw = false, login = false } = {}) {
  const headers = { Authorization: `Bearer ${token() ?? ''}`, Accept: raw ? '*/*' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(`/admin${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'sin_conexion', 'No se pudo conectar con el servidor. Revisa la conexión y vuelve a intentarlo.');
  }
  if (response.status === 401 && !login) {
    signOut();
    // Back to the login page (once, however many calls were refused), which returns here
    // once the person logs in again.
    if (!location.hash.startsWith('#/entrar')) {
      location.hash = `#/entrar?motivo=sesion&volver=${encodeURIComponent(location.hash)}`;
    }
    throw new ApiError(401, 'no_autorizado', 'La sesión terminó.');
  }
  if (!response.ok) {
    let code = 'error';
    let message = `El servidor respondió ${response.status}.`;
    let field = null;
    try {
      const error = (await response.json()).error;
      code = error.codigo ?? code;
      field = error.campo ?? null;
      // "`text`: el texto es obligatorio": the page marks the field; the person reads the rest.
      const text = field ? error.mensaje?.replace(`\`${field}\`: `, '') : error.mensaje;
      message = text ? capitalise(text) : message;
    } catch {
      // Not our JSON error (a proxy's page): keep the status line.
    }
    throw new ApiError(response.status, code, message, field);
  }
  return raw ? response : response.json();
}

/** "el aviso 7 está terminado" → "El aviso 7 está terminado." */
function capitalise(text) {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** Saves what `response` carries as a file named by its Content-Disposition (else `fallback`). */
export async function download(response, fallback) {
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallback;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return name;
}
