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
// The cards themselves are drawn by js/card.js.
//
// Queue positions (SPEC §12): every load also fetches the waiting entries,
// in one request for all cards (js/queue.js); reloadQueue() fetches only
// them (queue events), applyEntry()/applyJob() show an action's answer at once.

import { api, newestOnly } from './api.js';
import {
  createCard, fillCard, fillLive, liveFields, markSelected, renderSpeed,
} from './card.js';
import { el } from './dom.js';
import { fetchWaiting } from './queue.js';
import { STATUSES, TERMINAL_STATUSES } from './statuses.js';

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
    this.waiting = new Map(); // job_id -> waiting queue entry
    this.latestQueue = newestOnly();

    // One listener for every card, present and future.
    this.listEl.addEventListener('click', (event) => {
      if (event.target.closest('.job-queue-actions')) return; // js/queue.js
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
    // Alongside the pages; without it the list still shows (positions as they were).
    const waiting = this.fetchQueue().catch(() => null);
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
    const entries = await waiting;
    if (entries) this.waiting = entries;
    this.render(jobs, total);
  }

  // The waiting entries; null when a newer request has begun since.
  async fetchQueue() {
    const isNewest = this.latestQueue.begin();
    const entries = await fetchWaiting();
    return isNewest() ? entries : null;
  }

  // Reloads the queue positions only; rejects with an ApiError.
  async reloadQueue() {
    const entries = await this.fetchQueue();
    if (!entries) return;
    this.waiting = entries;
    this.redraw();
  }

  // A queue entry from an action's answer (its new priority and position).
  applyEntry(entry) {
    this.latestQueue.drop(); // older answers do not know it yet
    if (entry.status === 'waiting') this.waiting.set(entry.job_id, entry);
    else this.waiting.delete(entry.job_id);
    this.redraw();
  }

  // A job from an action's answer (a cancelled one), before the reload.
  applyJob(job) {
    if (TERMINAL_STATUSES.includes(job.status)) {
      this.latestQueue.drop();
      this.waiting.delete(job.job_id);
    }
    if (this.jobs.has(job.job_id)) this.jobs.set(job.job_id, job);
    this.redraw();
  }

  redraw() {
    this.render([...this.jobs.values()], this.total);
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
      fillCard(card, job, job.job_id === this.selectedId, this.waiting.get(job.job_id) || null);
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
        : 'No jobs yet. Press New job to submit one, or Sync to discover jobs from Replicate.';
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
