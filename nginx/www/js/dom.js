// DOM and formatting helpers. Server strings only ever reach the page through
// textContent or attributes (never innerHTML).

// el('span', {class: 'x', dataset: {a: '1'}}, 'text', child) -> element.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const DASH = '—';

// RFC 3339 from the API (microseconds) -> Date. Cut the fraction to
// milliseconds first: not every engine parses six fractional digits.
export function parseTime(value) {
  if (!value) return null;
  const date = new Date(String(value).replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(date.getTime()) ? null : date;
}

// <time datetime="<server value>">local time</time>, or a dash.
export function timeElement(value) {
  const date = parseTime(value);
  if (!date) return document.createTextNode(value ? String(value) : DASH);
  return el('time', { datetime: value, title: date.toISOString() }, date.toLocaleString());
}

// 812.4 -> "13m 32s"; 45 -> "45s"; 3725 -> "1h 2m 5s".
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

// 0.42 -> "$0.42"; estimates get a leading "~".
export function formatCost(usd, estimate = false) {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return DASH;
  return `${estimate ? '~' : ''}$${usd.toFixed(2)}`;
}

// 30 -> "30.0%"; null -> "".
export function formatProgress(progress) {
  return typeof progress === 'number' && Number.isFinite(progress) ? `${progress.toFixed(1)}%` : '';
}

// svg('rect', {x: 1, class: 'bar'}, child) -> an SVG element (same rules as el).
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Time left of a run: 38 -> "≈ 38 s left"; 150 -> "≈ 3 min left";
// 4000 -> "≈ 1 h 7 min left"; null -> "".
export function formatTimeLeft(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `≈ ${s} s left`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `≈ ${minutes} min left`;
  return `≈ ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

// Training speed from a rate in steps per second, as tqdm shows it:
// 7.8 -> "7.8 it/s"; 0.25 -> "4 s/it" (3 significant digits); null -> "".
export function formatRate(rate) {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) return '';
  const significant = (x) => String(Number(x.toPrecision(3)));
  return rate >= 1 ? `${significant(rate)} it/s` : `${significant(1 / rate)} s/it`;
}
