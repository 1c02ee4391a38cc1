// The chart of interactions per day: an SVG drawn here, no library. Each bar has a tooltip
// (<title>) with its date and figure; the whole chart has a one-sentence description for
// screen readers, and the report's table below it carries every figure.

import { date, integer, shortDay } from './formato.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 880;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 16, bottom: 36, left: 64 };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/** 0, and a round maximum at or above `max` with its step: 1,248 → 1,500 in steps of 500. */
function scale(max) {
  if (max <= 0) return { top: 1, step: 1 };
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => max / s <= 5) ?? 10 * magnitude;
  return { top: Math.ceil(max / step) * step, step };
}

/** `days`: `[{date: "2020-06-01", interactions: 1248}, …]`, oldest first. */
export function interactionsChart(days) {
  const max = Math.max(0, ...days.map((d) => d.interactions));
  const { top, step } = scale(max);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / Math.max(days.length, 1);
  const y = (v) => MARGIN.top + plotHeight - (v / top) * plotHeight;

  const busiest = days.reduce((best, d) => (best === null || d.interactions > best.interactions ? d : best), null);
  const label = days.length === 0
    ? 'Gráfica vacía: no hay días en el rango.'
    : `Interacciones por día del ${date(days[0].date)} al ${date(days[days.length - 1].date)}; `
      + `el día con más fue el ${date(busiest.date)}, con ${integer(busiest.interactions)}.`;
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label, class: 'grafica' });

  for (let v = 0; v <= top; v += step) {
    chart.append(
      svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: 'rejilla' }),
      svg('text', { x: MARGIN.left - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'eje' }, integer(v)),
    );
  }
  const bars = svg('g', { class: 'barras' });
  days.forEach((d, i) => {
    const height = (d.interactions / top) * plotHeight;
    bars.append(svg('rect', {
      x: MARGIN.left + i * slot + slot * 0.1,
      y: y(d.interactions),
      width: Math.max(slot * 0.8, 1),
      height: Math.max(height, 0),
      'data-fecha': d.date,
      'data-valor': d.interactions,
    }, svg('title', {}, `${date(d.date)}: ${integer(d.interactions)} interacciones`)));
  });
  chart.append(bars);
  // Dates under the axis: the first, the last and a few between, never crowded.
  const labels = Math.min(days.length, 7);
  const shown = new Set(Array.from({ length: labels }, (_, k) => Math.round((k * (days.length - 1)) / Math.max(labels - 1, 1))));
  for (const i of shown) {
    chart.append(svg('text', {
      x: MARGIN.left + i * slot + slot / 2, y: HEIGHT - MARGIN.bottom + 18, 'text-anchor': 'middle', class: 'eje',
    }, shortDay(days[i].date)));
  }
  chart.append(svg('line', {
    x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0), class: 'base',
  }));
  return chart;
}
