// One card of the job list: li.job-card[data-job-id][data-status] holding a
// button.job-open (status badge, model, id, facts; running jobs the live
// part, failed ones the reason, waiting ones their queue position) and, for
// jobs waiting in the queue, div.job-queue-actions beside it (js/queue.js).
//
// A running card shows the time left and the speed from the job's
// eta_seconds and rate; between updates renderSpeed() (called by
// JobList.tick) counts the time left down each second (the server's value
// and when it arrived are on the element).

import {
  DASH, el, formatCost, formatDuration, formatProgress, formatRate, formatTimeLeft, timeElement,
} from './dom.js';
import { fillQueueActions, queueLabel } from './queue.js';

export function createCard(jobId) {
  // tabindex=-1: focusable by script (forwarded to the button), not a tab stop.
  const card = el('li', { class: 'job-card', tabindex: '-1', dataset: { jobId } });
  card.append(el('button', { type: 'button', class: 'job-open', 'aria-controls': 'job-detail' }));
  return card;
}

// The model shown on a card: metadata.model, else config_name, else a dash.
export function modelName(job) {
  return (job.metadata && job.metadata.model) || job.config_name || DASH;
}

// The card of the job shown in the detail: .selected, its button aria-current.
export function markSelected(card, selected) {
  card.classList.toggle('selected', selected);
  const button = card.querySelector('.job-open');
  if (selected) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

// entry: the job's waiting queue entry, or null.
export function fillCard(card, job, selected, entry = null) {
  card.dataset.status = job.status;
  markSelected(card, selected);
  const button = card.querySelector('.job-open');

  const estimate = Boolean(job.metadata && job.metadata.cost_is_estimate);
  const countdown = button.querySelector('.job-eta'); // survives the redraw below
  button.replaceChildren(
    el('span', { class: 'job-head' },
      el('span', { class: `status-badge status-${job.status}` }, job.status),
      el('span', { class: 'job-model' }, modelName(job))),
    el('span', { class: 'job-id' }, job.job_id),
    el('span', { class: 'job-facts' },
      fact('Created', el('span', { class: 'job-created' }, timeElement(job.created_at))),
      fact('Duration', el('span', { class: 'job-duration' }, formatDuration(job.duration_seconds))),
      fact(estimate ? 'Cost so far' : 'Cost',
        el('span', { class: 'job-cost', title: estimate ? 'Estimate while the job runs' : null },
          formatCost(job.cost_usd, estimate)))),
  );
  if (job.status === 'running') fillLive(button, liveFields(job), countdown);
  if (job.status === 'failed') {
    // The reason's first line; the whole text is in the detail.
    const reason = firstLine(job.error_message);
    button.append(el('span', { class: 'job-error' }, reason || 'No reason given'));
  }
  // Only a pending job can wait in the queue; anything else has left it.
  const waiting = job.status === 'pending' ? entry : null;
  if (waiting) button.append(el('span', { class: 'job-queue-position' }, queueLabel(waiting)));
  fillQueueActions(card, waiting);
}

// The first non-empty line of a provider's error text ('' for none).
function firstLine(text) {
  if (typeof text !== 'string') return '';
  return text.split(/\r\n|\r|\n/).map((line) => line.trim()).find(Boolean) || '';
}

// The live fields of a job, an inline-progress answer or a job_progress
// event (older servers send no rate or eta_seconds: null).
export function liveFields({ stage = null, progress = null, last_log: lastLog = null, rate = null, eta_seconds: eta = null }) {
  return { stage, progress, last_log: lastLog, rate, eta_seconds: eta };
}

function fact(label, value) {
  return el('span', { class: 'fact' }, el('span', { class: 'fact-label' }, `${label} `), value);
}

// The running part of a card: stage, progress bar and text, time left and
// speed, last log line.
// countdown: the card's .job-eta before a redraw, whose count goes on.
export function fillLive(button, { stage, progress, last_log: lastLog, rate, eta_seconds: eta }, countdown = null) {
  let live = button.querySelector('.job-live');
  if (!live) {
    live = el('span', { class: 'job-live' },
      el('span', { class: 'job-live-head' },
        el('span', { class: 'job-stage' }),
        el('span', { class: 'job-progress-text' })),
      el('progress', { class: 'job-progress', max: '100', 'aria-label': 'Training progress' }),
      el('span', { class: 'job-eta', hidden: true }),
      el('span', { class: 'job-last-log' }));
    button.append(live);
    if (countdown) {
      const node = live.querySelector('.job-eta');
      node.dataset.eta = countdown.dataset.eta || '';
      node.dataset.etaAt = countdown.dataset.etaAt || '';
    }
  }
  setSpeed(live.querySelector('.job-eta'), rate, eta);
  const known = typeof progress === 'number' && Number.isFinite(progress);
  live.querySelector('.job-stage').textContent = stage || 'Waiting for logs';
  live.querySelector('.job-progress-text').textContent = formatProgress(progress);
  const bar = live.querySelector('.job-progress');
  // No value attribute = an indeterminate bar.
  if (known) bar.setAttribute('value', String(Math.min(100, Math.max(0, progress))));
  else bar.removeAttribute('value');
  live.querySelector('.job-last-log').textContent = lastLog || '';
}

// Keeps the server's eta_seconds and rate on the .job-eta element. The
// countdown restarts only when the server's value changes: an unchanged log
// gives the same eta again and again, which says nothing about the time since.
function setSpeed(node, rate, eta) {
  const etaText = typeof eta === 'number' && Number.isFinite(eta) ? String(eta) : '';
  if (node.dataset.eta !== etaText) {
    node.dataset.eta = etaText;
    node.dataset.etaAt = String(Date.now());
  }
  node.dataset.rate = typeof rate === 'number' && Number.isFinite(rate) ? String(rate) : '';
  renderSpeed(node);
}

// "≈ 38 s left · 7.8 it/s", the time left counted down from when it arrived.
export function renderSpeed(node) {
  const { eta, etaAt, rate } = node.dataset;
  let left = '';
  if (eta) {
    const passed = Math.floor((Date.now() - Number(etaAt)) / 1000);
    left = formatTimeLeft(Math.max(0, Number(eta) - Math.max(0, passed)));
  }
  const text = [left, rate ? formatRate(Number(rate)) : ''].filter(Boolean).join(' · ');
  if (node.textContent !== text) node.textContent = text;
  node.hidden = !text;
}
