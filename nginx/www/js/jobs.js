// The job list (#job-list): one <li class="job-card"> per job, newest first.
//
// Cards are updated in place, keyed by job id, so a reload neither flickers
// nor takes the keyboard focus away. The clickable part of a card is a real
// <button> (Enter and Space open the detail); the <li> itself forwards focus
// to it, so focusing the card and pressing Enter works too.
//
// Paging: the first PAGE_SIZE jobs, then "Load more" (#load-more) fetches the
// next page by offset and appends it until `total` is reached; a reload
// fetches everything shown again (500 jobs a request), so loaded pages stay
// loaded.
// The search box (#search-input) sends `q` (SPEC §9) and is kept in the
// page's URL (?q=...), so a reload or a shared link shows the same search.
//
// A running card shows the time left and the speed from the job's
// eta_seconds and rate; between updates tick() counts the time left down
// each second (the server's value and when it arrived are on the element).

import { api, newestOnly } from './api.js';
import {
  DASH, el, formatCost, formatDuration, formatProgress, formatRate, formatTimeLeft, timeElement,
} from './dom.js';
import { STATUSES } from './statuses.js';

const PAGE_SIZE = 50;
const MAX_LIMIT = 500; // the API's largest limit (SPEC §9)
const MAX_QUERY = 100; // q is 1..100 characters

export class JobList {
  constructor({ onOpen }) {
    this.listEl = document.getElementById('job-list');
    this.emptyEl = document.getElementById('empty-state');
    this.countEl = document.getElementById('job-count');
    this.providerEl = document.getElementById('provider-filter');
    this.statusEl = document.getElementById('status-filter');
    this.searchEl = document.getElementById('search-input');
    this.moreEl = document.getElementById('load-more');
    this.searchEl.value = new URLSearchParams(window.location.search).get('q') || '';
    // index.html has the "All" option only; one per status follows it.
    this.statusEl.append(...STATUSES.map((status) => el('option', { value: status }, status)));
    this.jobs = new Map(); // job_id -> job object of the last load, in list order
    this.total = 0;
    this.wanted = PAGE_SIZE; // how many jobs the reader asked to see (pages loaded)
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

  // The search as sent: trimmed, at most 100 characters, '' for none.
  get query() {
    return this.searchEl.value.trim().slice(0, MAX_QUERY);
  }

  // Puts the search into the page's URL (?q=...) without a history entry.
  saveQueryInUrl() {
    const url = new URL(window.location.href);
    if (this.query) url.searchParams.set('q', this.query);
    else url.searchParams.delete('q');
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, '', url);
  }

  // Loads the list with the current filters; rejects with an ApiError.
  // syncActive asks the server to refresh active jobs at the provider first;
  // restart (the filters or the search changed) goes back to the first page.
  // Everything shown is fetched again, in requests of at most MAX_LIMIT jobs,
  // so loaded pages stay loaded however many there are.
  async load({ syncActive = false, restart = false } = {}) {
    if (restart) this.wanted = PAGE_SIZE;
    const wanted = Math.max(this.wanted, restart ? 0 : this.jobs.size);
    const target = Math.ceil(wanted / PAGE_SIZE) * PAGE_SIZE;
    const seen = new Set();
    const jobs = [];
    let total = 0;
    for (let offset = 0; offset < target;) {
      const limit = Math.min(MAX_LIMIT, target - offset);
      const data = await this.fetchPage({ limit, offset, syncActive: syncActive && offset === 0 });
      if (!data) return; // a newer load is on its way
      // Jobs that arrived between two requests shift the later pages.
      for (const job of data.jobs) {
        if (!seen.has(job.job_id)) jobs.push(job);
        seen.add(job.job_id);
      }
      total = data.total;
      offset += limit;
      if (data.jobs.length < limit) break;
    }
    this.render(jobs, total);
  }

  // Appends the next page ("Load more"); rejects with an ApiError.
  async loadMore() {
    // A reload that starts before this answer comes supersedes it, and loads
    // this page too.
    this.wanted = this.jobs.size + PAGE_SIZE;
    const data = await this.fetchPage({ limit: PAGE_SIZE, offset: this.jobs.size });
    if (!data) return;
    // Jobs that arrived meanwhile shift the pages: skip what is already shown.
    const fresh = data.jobs.filter((job) => !this.jobs.has(job.job_id));
    this.render([...this.jobs.values(), ...fresh], data.total);
  }

  // One GET /api/cloud/jobs; null when a newer request has begun since.
  async fetchPage({ limit, offset, syncActive = false }) {
    const isNewest = this.latest.begin();
    let data;
    try {
      data = await api.get('/api/cloud/jobs', {
        limit,
        offset: offset || undefined,
        provider: this.providerEl.value,
        status: this.statusEl.value,
        q: this.query,
        sync_active: syncActive ? 'true' : undefined,
      });
    } finally {
      this.listEl.removeAttribute('aria-busy');
    }
    if (!isNewest()) return null;
    const jobs = Array.isArray(data.jobs) ? data.jobs : [];
    return { jobs, total: typeof data.total === 'number' ? data.total : offset + jobs.length };
  }

  render(jobs, total) {
    const existing = new Map();
    for (const card of this.listEl.querySelectorAll(':scope > .job-card')) {
      existing.set(card.dataset.jobId, card);
    }
    this.jobs = new Map(jobs.map((job) => [job.job_id, job]));
    this.total = Math.max(total, jobs.length);

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
    if (this.query) {
      this.emptyEl.textContent = `No jobs match “${this.query}”${filtered ? ' with these filters' : ''}.`;
    } else {
      this.emptyEl.textContent = filtered
        ? 'No jobs match these filters. Choose "All" to see every job.'
        : 'No jobs yet. Press Sync to discover jobs from Replicate.';
    }
    this.emptyEl.hidden = jobs.length > 0;
    this.renderCount();
  }

  renderCount() {
    const shown = this.jobs.size;
    this.countEl.textContent =
      this.total > shown ? `newest ${shown} of ${this.total}` : `${shown} ${shown === 1 ? 'job' : 'jobs'}`;
    this.moreEl.hidden = this.total <= shown;
  }

  // Counts the time left of every running card down by the time passed since
  // its value arrived (called every second).
  tick() {
    for (const eta of this.listEl.querySelectorAll('.job-card[data-status="running"] .job-eta')) {
      renderSpeed(eta);
    }
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

  // Applies {stage, progress, last_log, rate, eta_seconds} to one card
  // without a reload. Returns false when the card is not there or does not
  // show a running job.
  applyProgress(jobId, message) {
    const card = this.card(jobId);
    if (!card || card.dataset.status !== 'running') return false;
    const live = liveFields(message);
    const job = this.jobs.get(jobId);
    if (job) Object.assign(job, live);
    fillLive(card.querySelector('.job-open'), live);
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
    this.total = Math.max(0, this.total - 1);
    this.renderCount();
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
}

// The first non-empty line of a provider's error text ('' for none).
function firstLine(text) {
  if (typeof text !== 'string') return '';
  return text.split(/\r\n|\r|\n/).map((line) => line.trim()).find(Boolean) || '';
}

// The live fields of a job, an inline-progress answer or a job_progress
// event (older servers send no rate or eta_seconds: null).
function liveFields({ stage = null, progress = null, last_log: lastLog = null, rate = null, eta_seconds: eta = null }) {
  return { stage, progress, last_log: lastLog, rate, eta_seconds: eta };
}

function fact(label, value) {
  return el('span', { class: 'fact' }, el('span', { class: 'fact-label' }, `${label} `), value);
}

// The running part of a card: stage, progress bar and text, time left and
// speed, last log line.
// countdown: the card's .job-eta before a redraw, whose count goes on.
function fillLive(button, { stage, progress, last_log: lastLog, rate, eta_seconds: eta }, countdown = null) {
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
function renderSpeed(node) {
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
