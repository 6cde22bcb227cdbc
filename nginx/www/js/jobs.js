// The job list (#job-list): one <li class="job-card"> per job, newest first.
//
// Cards are updated in place, keyed by job id, so a reload neither flickers
// nor takes the keyboard focus away. The clickable part of a card is a real
// <button> (Enter and Space open the detail); the <li> itself forwards focus
// to it, so focusing the card and pressing Enter works too.

import { api, newestOnly } from './api.js';
import { DASH, el, formatCost, formatDuration, formatProgress, timeElement } from './dom.js';
import { STATUSES } from './statuses.js';

const LIST_LIMIT = 100;

export class JobList {
  constructor({ onOpen }) {
    this.listEl = document.getElementById('job-list');
    this.emptyEl = document.getElementById('empty-state');
    this.countEl = document.getElementById('job-count');
    this.providerEl = document.getElementById('provider-filter');
    this.statusEl = document.getElementById('status-filter');
    // index.html has the "All" option only; one per status follows it.
    this.statusEl.append(...STATUSES.map((status) => el('option', { value: status }, status)));
    this.jobs = new Map(); // job_id -> job object of the last load
    this.selectedId = null;
    this.latest = newestOnly(); // answers to older loads are dropped

    // One listener for every card, present and future.
    this.listEl.addEventListener('click', (event) => {
      const card = event.target.closest('.job-card');
      if (card) onOpen(card.dataset.jobId);
    });
    this.listEl.addEventListener('focusin', (event) => {
      if (event.target.classList.contains('job-card')) {
        event.target.querySelector('.job-open')?.focus();
      }
    });
  }

  // Loads the list with the current filters; rejects with an ApiError.
  // syncActive asks the server to refresh active jobs at the provider first.
  async load({ syncActive = false } = {}) {
    const isNewest = this.latest.begin();
    let data;
    try {
      data = await api.get('/api/cloud/jobs', {
        limit: LIST_LIMIT,
        provider: this.providerEl.value,
        status: this.statusEl.value,
        sync_active: syncActive ? 'true' : undefined,
      });
    } finally {
      this.listEl.removeAttribute('aria-busy');
    }
    if (!isNewest()) return; // a newer load is on its way
    const jobs = Array.isArray(data.jobs) ? data.jobs : [];
    this.render(jobs, typeof data.total === 'number' ? data.total : jobs.length);
  }

  render(jobs, total) {
    const existing = new Map();
    for (const card of this.listEl.querySelectorAll(':scope > .job-card')) {
      existing.set(card.dataset.jobId, card);
    }
    this.jobs = new Map(jobs.map((job) => [job.job_id, job]));

    jobs.forEach((job, index) => {
      let card = existing.get(job.job_id);
      existing.delete(job.job_id);
      if (!card) card = createCard(job.job_id);
      fillCard(card, job, job.job_id === this.selectedId);
      // Move a node only when it is out of place: moving a node blurs it.
      const atIndex = this.listEl.children[index];
      if (atIndex !== card) this.listEl.insertBefore(card, atIndex || null);
    });
    for (const card of existing.values()) card.remove();

    const filtered = Boolean(this.providerEl.value || this.statusEl.value);
    this.emptyEl.textContent = filtered
      ? 'No jobs match these filters. Choose "All" to see every job.'
      : 'No jobs yet. Press Sync to discover jobs from Replicate.';
    this.emptyEl.hidden = jobs.length > 0;
    this.countEl.textContent =
      total > jobs.length ? `newest ${jobs.length} of ${total}` : `${jobs.length} ${jobs.length === 1 ? 'job' : 'jobs'}`;
  }

  get(jobId) {
    return this.jobs.get(jobId) || null;
  }

  card(jobId) {
    return this.listEl.querySelector(`.job-card[data-job-id="${CSS.escape(jobId)}"]`);
  }

  // Ids of the cards that show a running job: the only ones worth polling.
  runningIds() {
    return [...this.listEl.querySelectorAll('.job-card[data-status="running"]')].map((c) => c.dataset.jobId);
  }

  // Applies {stage, progress, last_log} to one card without a reload.
  // Returns false when the card is not there or does not show a running job.
  applyProgress(jobId, { stage, progress, last_log: lastLog }) {
    const card = this.card(jobId);
    if (!card || card.dataset.status !== 'running') return false;
    const job = this.jobs.get(jobId);
    if (job) Object.assign(job, { stage, progress, last_log: lastLog });
    fillLive(card.querySelector('.job-open'), { stage, progress, last_log: lastLog });
    return true;
  }

  // Drops one card (a deleted job) before the next reload confirms it.
  // Returns the id of the card that took its place, if any.
  remove(jobId) {
    const card = this.card(jobId);
    if (!card) return null;
    const next = card.nextElementSibling || card.previousElementSibling;
    card.remove();
    this.jobs.delete(jobId);
    if (!this.listEl.children.length) this.emptyEl.hidden = false;
    return next ? next.dataset.jobId : null;
  }

  setSelected(jobId) {
    this.selectedId = jobId;
    for (const card of this.listEl.querySelectorAll('.job-card')) {
      markSelected(card, card.dataset.jobId === jobId);
    }
  }

  focusCard(jobId) {
    const card = jobId && this.card(jobId);
    if (card) card.querySelector('.job-open').focus();
    else document.getElementById('job-list-section').focus();
  }
}

function createCard(jobId) {
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
function markSelected(card, selected) {
  card.classList.toggle('selected', selected);
  const button = card.querySelector('.job-open');
  if (selected) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

function fillCard(card, job, selected) {
  card.dataset.status = job.status;
  markSelected(card, selected);
  const button = card.querySelector('.job-open');

  const estimate = Boolean(job.metadata && job.metadata.cost_is_estimate);
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
  if (job.status === 'running') fillLive(button, job);
}

function fact(label, value) {
  return el('span', { class: 'fact' }, el('span', { class: 'fact-label' }, `${label} `), value);
}

// The running part of a card: stage, progress bar and text, last log line.
function fillLive(button, { stage, progress, last_log: lastLog }) {
  let live = button.querySelector('.job-live');
  if (!live) {
    live = el('span', { class: 'job-live' },
      el('span', { class: 'job-live-head' },
        el('span', { class: 'job-stage' }),
        el('span', { class: 'job-progress-text' })),
      el('progress', { class: 'job-progress', max: '100', 'aria-label': 'Training progress' }),
      el('span', { class: 'job-last-log' }));
    button.append(live);
  }
  const known = typeof progress === 'number' && Number.isFinite(progress);
  live.querySelector('.job-stage').textContent = stage || 'Waiting for logs';
  live.querySelector('.job-progress-text').textContent = formatProgress(progress);
  const bar = live.querySelector('.job-progress');
  // No value attribute = an indeterminate bar.
  if (known) bar.setAttribute('value', String(Math.min(100, Math.max(0, progress))));
  else bar.removeAttribute('value');
  live.querySelector('.job-last-log').textContent = lastLog || '';
}
