// The two small charts of the metrics bar, drawn as inline SVG from
// GET /api/cloud/metrics:
// - figure#cost-chart: one bar per day of the period (cost_by_day lists days
//   with jobs only; the others stay empty), each a rect.bar with data-date,
//   data-cost (the API's cost_usd as it came) and data-jobs, and a <title>;
//   the same figures in a visually hidden table for screen readers;
// - figure#status-chart: jobs_by_status as one stacked bar, a rect per status
//   with data-status and data-count, and a legend with the counts as text.

import { el, formatCost, svg } from './dom.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SLOT = 10; // viewBox units per day
const HEIGHT = 100; // viewBox height of the cost chart

// 'YYYY-MM-DD' -> days since 1970-01-01 (UTC), or null.
function dayNumber(date) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date));
  if (!match) return null;
  return Math.round(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS);
}

// days since 1970-01-01 -> "Nov 28" (the date is UTC, as the API's).
function shortDate(day) {
  return new Date(day * DAY_MS).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// costByDay: the API's cost_by_day; days: period_days.
export function renderCostChart(figure, costByDay, days) {
  const entries = (Array.isArray(costByDay) ? costByDay : [])
    .map((day) => ({ ...day, n: dayNumber(day.date), cost: Number(day.cost_usd) || 0, jobs: Number(day.jobs) || 0 }))
    .filter((day) => day.n !== null);
  const body = figure.querySelector('.chart-body');
  const maxNote = figure.querySelector('#cost-chart-max');
  const from = figure.querySelector('#cost-chart-from');
  const to = figure.querySelector('#cost-chart-to');

  const today = dayNumber(new Date().toISOString().slice(0, 10));
  const last = Math.max(today, ...entries.map((day) => day.n));
  const first = Math.min(last - Math.max(1, days) + 1, ...entries.map((day) => day.n));
  const slots = last - first + 1;
  const maxCost = Math.max(0, ...entries.map((day) => day.cost));
  const total = entries.reduce((sum, day) => sum + day.cost, 0);

  from.textContent = shortDate(first);
  to.textContent = shortDate(last);
  maxNote.textContent = entries.length ? `max ${formatCost(maxCost)}/day` : '';
  if (!entries.length) {
    body.replaceChildren(el('p', { class: 'chart-empty' }, `No jobs in the last ${plural(days, 'day')}.`));
    return;
  }

  const bars = entries.map((day) => {
    // A day with jobs but no cost still gets a visible stub.
    const height = Math.max(2, maxCost > 0 ? (day.cost / maxCost) * (HEIGHT - 4) : 2);
    const label = `${day.date}: ${formatCost(day.cost)}, ${plural(day.jobs, 'job')}`;
    return svg('rect', {
      class: 'bar',
      x: (day.n - first) * SLOT + 1.5,
      y: HEIGHT - height,
      width: SLOT - 3,
      height,
      dataset: { date: day.date, cost: String(day.cost_usd), jobs: String(day.jobs) },
    }, svg('title', {}, label));
  });
  const chart = svg('svg', {
    class: 'chart-svg',
    viewBox: `0 0 ${slots * SLOT} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `Cost per day from ${shortDate(first)} to ${shortDate(last)}: ${formatCost(total)} in all, ` +
      `at most ${formatCost(maxCost)} a day. The table that follows lists each day.`,
  }, svg('line', { class: 'chart-baseline', x1: 0, y1: HEIGHT, x2: slots * SLOT, y2: HEIGHT }), ...bars);

  const table = el('table', { class: 'visually-hidden' },
    el('caption', {}, 'Cost per day'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Date'), el('th', { scope: 'col' }, 'Jobs'),
      el('th', { scope: 'col' }, 'Cost'))),
    el('tbody', {}, ...entries.map((day) => el('tr', {},
      el('th', { scope: 'row' }, day.date), el('td', {}, String(day.jobs)), el('td', {}, formatCost(day.cost))))));
  body.replaceChildren(chart, table);
}

// byStatus: the API's jobs_by_status; order: the statuses in the order to draw.
export function renderStatusChart(figure, byStatus, order) {
  const counts = byStatus && typeof byStatus === 'object' ? byStatus : {};
  // Known statuses in order, then any the page does not know yet.
  const names = [...order, ...Object.keys(counts).filter((s) => !order.includes(s))]
    .filter((s) => Number(counts[s]) > 0);
  const total = names.reduce((sum, s) => sum + Number(counts[s]), 0);
  const body = figure.querySelector('.chart-body');
  const legend = figure.querySelector('.chart-legend');
  if (!total) {
    body.replaceChildren(el('p', { class: 'chart-empty' }, 'No jobs yet.'));
    legend.replaceChildren();
    return;
  }

  let x = 0;
  const segments = names.map((status) => {
    const count = Number(counts[status]);
    const width = (count / total) * 100;
    const rect = svg('rect', {
      class: `bar status-fill-${status}`,
      x,
      y: 0,
      width,
      height: 10,
      dataset: { status, count: String(count) },
    }, svg('title', {}, `${count} ${status}`));
    x += width;
    return rect;
  });
  const summary = names.map((s) => `${counts[s]} ${s}`).join(', ');
  body.replaceChildren(svg('svg', {
    class: 'chart-svg chart-stack',
    viewBox: '0 0 100 10',
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `${plural(total, 'job')}: ${summary}`,
  }, ...segments));
  legend.replaceChildren(...names.map((status) => el('li', { dataset: { status } },
    el('span', { class: `chart-swatch status-fill-${status}`, 'aria-hidden': 'true' }),
    `${status} ${counts[status]}`)));
}
