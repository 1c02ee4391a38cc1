// How people read numbers, dates and times: es-MX (1,248; 1,570.5; 27 de mayo de 2020) and
// the clock of the configured time zone (`timezone`, Mexico City), whatever the
// browser's own settings are.

export const TIME_ZONE = document.querySelector('meta[name="zona-horaria"]')?.content || 'America/Mexico_City';

const integers = new Intl.NumberFormat('es-MX', { maximumFractionDigits: 0 });
const decimals = new Intl.NumberFormat('es-MX', { maximumFractionDigits: 1 });
const percents = new Intl.NumberFormat('es-MX', { style: 'percent', maximumFractionDigits: 1 });
const longDate = new Intl.DateTimeFormat('es-MX', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const shortDate = new Intl.DateTimeFormat('es-MX', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const dateTime = new Intl.DateTimeFormat('es-MX', {
  day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: TIME_ZONE,
});
const calendar = new Intl.DateTimeFormat('en-CA', {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  hourCycle: 'h23', timeZone: TIME_ZONE,
});

/** 1248 → "1,248"; null → "—". */
export function integer(n) {
  return n === null || n === undefined ? '—' : integers.format(n);
}

/** 1570.5 → "1,570.5". */
export function decimal(n) {
  return n === null || n === undefined ? '—' : decimals.format(n);
}

/** 0.125 → "12.5 %". */
export function percent(fraction) {
  return percents.format(fraction);
}

/** "2020-05-27" → "27 de mayo de 2020" (a calendar date: no time zone shifts it). */
export function date(text) {
  if (!text) return '—';
  return longDate.format(new Date(`${text}T00:00:00Z`));
}

/** "2020-05-27" → "27 may". */
export function shortDay(text) {
  return shortDate.format(new Date(`${text}T00:00:00Z`)).replace('.', '');
}

/** An RFC 3339 instant → "27 de mayo de 2020 a las 10:00" on the configured clock. */
export function dateTimeOf(text) {
  if (!text) return '—';
  return dateTime.format(new Date(text));
}

/** The configured calendar's date of an instant (`Date`), "2020-05-27". */
export function calendarDate(instant = new Date()) {
  return calendar.format(instant).slice(0, 10);
}

/** The configured calendar's date and time of an instant, as `<input type="datetime-local">`
 *  writes it: "2020-05-27T10:00", or "2020-05-27T10:00:05" with `seconds`. */
export function calendarDateTime(instant = new Date(), { seconds = false } = {}) {
  const [day, time] = calendar.format(instant).split(', ');
  return `${day}T${seconds ? time : time.slice(0, 5)}`;
}

/** A date and time on the configured clock ("2021-05-27T10:00" or "…T10:00:05", as
 *  `<input type="datetime-local">` writes it) → the RFC 3339 instant. The zone's offset is
 *  found by showing a first guess on that clock and correcting by the difference. */
export function instantOf(local) {
  const guess = new Date(`${local.length === 16 ? `${local}:00` : local}Z`);
  const drift = new Date(`${calendarDateTime(guess, { seconds: true })}Z`) - guess;
  return new Date(guess.getTime() - drift).toISOString();
}

/** A calendar date `days` later (or earlier): "2020-05-27", -6 → "2020-05-21". */
export function addDays(text, days) {
  const d = new Date(`${text}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Milliseconds between two instants → "3.2 s", "4 min 5 s". */
export function duration(from, to) {
  const ms = new Date(to) - new Date(from);
  if (!(ms >= 0)) return '—';
  if (ms < 60_000) return `${decimals.format(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** 1536 → "1.5 KB". */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? integers.format(value) : decimals.format(value)} ${units[unit]}`;
}

/** A period in hours as people say it: 24 → "cada 24 h", 2160 → "cada 90 días". */
export function everyHours(hours) {
  if (hours >= 48 && hours % 24 === 0) return `cada ${integer(hours / 24)} días`;
  return hours === 1 ? 'cada hora' : `cada ${integer(hours)} h`;
}

/** An age in hours, in days from two days on: 36 → "36 horas", 57991 → "2,416 días". */
export function ageHours(hours) {
  return hours < 48 ? plural(hours, 'hora', 'horas') : plural(Math.floor(hours / 24), 'día', 'días');
}

/** One, or many: plural(1, 'fila', 'filas') → "1 fila"; plural(1248, …) → "1,248 filas". */
export function plural(n, one, many) {
  return `${integer(n)} ${n === 1 ? one : many}`;
}
