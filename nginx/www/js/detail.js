// The detail panel (<section id="job-detail">): every field of one job in
// dl#job-fields (each <dd data-field="<name>">), the log tail in pre#job-logs,
// and the actions: #cancel-button for active jobs, #delete-button for
// terminal ones, both confirmed through the <dialog>.
//
// While the panel shows a job that is not terminal, the log follows the run:
// every FOLLOW_MS it asks GET .../logs with If-None-Match (a 304 costs
// nothing), appends what was added (or replaces the text when the tail moved),
// and scrolls along only when the reader was at the bottom.
// pre#job-logs[data-following] says whether it does.

import { api, errorMessage, jobPath, newestOnly } from './api.js';
import { confirmAction } from './confirm.js';
import {
  DASH, el, formatCost, formatDuration, formatProgress, formatRate, formatTimeLeft, timeElement,
} from './dom.js';
import { TERMINAL_STATUSES } from './statuses.js';
import { showToast } from './toast.js';

const TIME_FIELDS = new Set(['created_at', 'started_at', 'completed_at', 'updated_at']);
const LIVE_FIELDS = ['stage', 'progress', 'last_log', 'rate', 'eta_seconds'];
const FOLLOW_MS = 2000;
// Within this many pixels of the end counts as "at the bottom" of the log.
const BOTTOM_SLACK_PX = 24;

export class JobDetail {
  // onChanged(): the job was cancelled or deleted (reload the list and metrics).
  // onClosed(jobId, {deleted}): the panel was closed (give the focus back).
  // paused(): true while following the log makes no sense (hidden tab, signed out).
  constructor({ onChanged, onClosed, paused = () => false }) {
    this.onChanged = onChanged;
    this.onClosed = onClosed;
    this.paused = paused;
    this.panel = document.getElementById('job-detail');
    this.heading = document.getElementById('job-detail-heading');
    this.fields = document.getElementById('job-fields');
    this.actions = document.getElementById('job-actions');
    this.logs = document.getElementById('job-logs');
    this.jobId = null;
    this.job = null;
    this.logText = null; // the log shown, as the server sent it (null: a placeholder)
    this.logsEtag = ''; // its ETag
    this.followTimer = null;
    this.following = false; // a follow request is on its way
    // Answers to older requests, or for a job no longer shown, are dropped.
    this.latestJob = newestOnly();
    this.latestLogs = newestOnly();

    document.getElementById('close-detail').addEventListener('click', () => this.close());
    document.getElementById('refresh-logs').addEventListener('click', () => {
      this.loadLogs({ refresh: true }).catch((error) => showToast(errorMessage(error), { error: true }));
    });
  }

  get isOpen() {
    return this.jobId !== null;
  }

  // Shows the panel for jobId at once (with what the list knows, if anything)
  // and fills it from the server.
  async open(jobId, { known = null, focus = true } = {}) {
    const switched = jobId !== this.jobId;
    this.jobId = jobId;
    this.panel.hidden = false;
    document.getElementById('layout').classList.add('has-detail');
    this.heading.textContent = jobId;
    if (switched) {
      this.dropAnswers();
      this.job = null;
      this.fields.replaceChildren();
      this.actions.replaceChildren();
      this.logs.textContent = 'Loading…';
      delete this.logs.dataset.jobId;
      this.logText = null;
      this.logsEtag = '';
      if (known) this.renderJob(known);
    }
    if (focus) this.heading.focus();
    await this.reload();
  }

  close({ deleted = false } = {}) {
    if (!this.isOpen) return;
    const jobId = this.jobId;
    this.jobId = null;
    this.job = null;
    this.dropAnswers();
    this.updateFollowing();
    this.panel.hidden = true;
    document.getElementById('layout').classList.remove('has-detail');
    this.onClosed(jobId, { deleted });
  }

  // Answers still to come are for a job no longer shown.
  dropAnswers() {
    this.latestJob.drop();
    this.latestLogs.drop();
  }

  // Reloads the job and its log tail. A job that is gone closes the panel.
  async reload() {
    if (!this.isOpen) return;
    const jobId = this.jobId;
    const isNewest = this.latestJob.begin();
    try {
      const data = await api.get(jobPath(jobId));
      if (!isNewest()) return;
      this.renderJob(data.job);
    } catch (error) {
      if (!isNewest()) return;
      if (error.status === 404) {
        showToast(`Job ${jobId} is no longer in the history`, { error: true });
        this.close({ deleted: true });
        return;
      }
      throw error;
    }
    await this.loadLogs();
  }

  // Reloads the log tail; refresh=true makes the server fetch the run first.
  async loadLogs({ refresh = false } = {}) {
    if (!this.isOpen) return;
    const jobId = this.jobId;
    const isNewest = this.latestLogs.begin();
    const answer = await api.getIfChanged(jobPath(jobId, '/logs'), this.logsEtag,
      { refresh: refresh ? 'true' : undefined });
    if (!isNewest() || answer.notModified) return;
    this.logsEtag = answer.etag;
    this.showLogs(jobId, typeof answer.data.logs === 'string' ? answer.data.logs : '');
  }

  showLogs(jobId, text) {
    const pre = this.logs;
    const switched = pre.dataset.jobId !== jobId;
    if (!switched && text === this.logText) return;
    // Follow the tail unless the reader scrolled up to read something.
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < BOTTOM_SLACK_PX;
    const before = this.logText;
    if (!text) {
      pre.textContent = 'No log output yet.';
    } else if (!switched && before && text.startsWith(before)) {
      pre.append(text.slice(before.length)); // the run went on: only the new part
    } else {
      const top = pre.scrollTop; // the tail moved on (or a new job): all of it
      pre.textContent = text;
      pre.scrollTop = top;
    }
    this.logText = text;
    pre.dataset.jobId = jobId;
    if (atBottom || switched) pre.scrollTop = pre.scrollHeight;
  }

  // Starts or stops following the log: on while an unfinished job is shown.
  updateFollowing() {
    const on = this.isOpen && this.job !== null && !TERMINAL_STATUSES.includes(this.job.status);
    if (on && this.followTimer === null) {
      this.followTimer = setInterval(() => this.followLogs(), FOLLOW_MS);
    } else if (!on && this.followTimer !== null) {
      clearInterval(this.followTimer);
      this.followTimer = null;
    }
    this.logs.dataset.following = String(on);
  }

  // One round of following; errors wait for the next round (or the toast of
  // a reload).
  async followLogs() {
    if (this.following || this.paused()) return;
    this.following = true;
    try {
      await this.loadLogs();
    } catch {
      // The next round tries again.
    } finally {
      this.following = false;
    }
  }

  // Live progress for the shown job (SSE job_progress or inline progress).
  applyProgress(jobId, message) {
    if (jobId !== this.jobId || !this.job || this.job.status !== 'running') return;
    for (const name of LIVE_FIELDS) {
      // An older server sends no rate or eta_seconds: leave them alone.
      if (!(name in message)) continue;
      this.job[name] = message[name];
      const dd = this.fields.querySelector(`dd[data-field="${name}"]`);
      if (dd) fillValue(dd, name, message[name], this.job);
    }
  }

  get status() {
    return this.job ? this.job.status : null;
  }

  renderJob(job) {
    this.job = { ...job };
    this.heading.textContent = job.job_id;
    const rows = [];
    for (const [name, value] of Object.entries(job)) {
      const dd = el('dd', { dataset: { field: name } });
      fillValue(dd, name, value, job);
      rows.push(el('dt', {}, name), dd);
    }
    this.fields.replaceChildren(...rows);
    this.renderActions(job);
    this.updateFollowing();
  }

  renderActions(job) {
    // Keep the focused button if it is still the right one.
    const buttons = [];
    if (job.is_active) {
      buttons.push(this.actionButton('cancel-button', 'Cancel job', () => this.cancel(this.jobId)));
    }
    if (job.is_terminal) {
      buttons.push(this.actionButton('delete-button', 'Delete from history', () => this.remove(this.jobId)));
    }
    const focusedId = document.activeElement && document.activeElement.id;
    this.actions.replaceChildren(...buttons);
    if (focusedId) buttons.find((b) => b.id === focusedId)?.focus();
  }

  actionButton(id, label, handler) {
    const existing = this.actions.querySelector(`#${id}`);
    if (existing) return existing; // same job state: keep the node (and its focus)
    const button = el('button', { type: 'button', id, class: 'button danger' }, label);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await handler();
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  async cancel(jobId) {
    const yes = await confirmAction({
      title: 'Cancel this job?',
      message: `Job ${jobId} will be stopped at the provider. A cancelled run cannot be resumed.`,
      yesLabel: 'Cancel job',
      noLabel: 'Keep running',
    });
    if (!yes) return;
    try {
      await api.post(jobPath(jobId, '/cancel'));
      showToast('Job cancelled');
    } catch (error) {
      showToast(errorMessage(error), { error: true });
    }
    this.onChanged();
    if (this.jobId === jobId) await this.reload().catch((error) => showToast(errorMessage(error), { error: true }));
  }

  async remove(jobId) {
    const yes = await confirmAction({
      title: 'Delete this job from the history?',
      message: `Job ${jobId} will be removed from jobpulse. This cannot be undone.`,
      yesLabel: 'Delete',
      noLabel: 'Keep',
    });
    if (!yes) return;
    try {
      await api.del(jobPath(jobId));
    } catch (error) {
      showToast(errorMessage(error), { error: true });
      if (this.jobId === jobId) await this.reload().catch(() => {});
      return;
    }
    showToast('Job removed from history');
    if (this.jobId === jobId) this.close({ deleted: true });
    this.onChanged();
  }
}

// One <dd>: formatted for people; the raw value stays in data-value.
function fillValue(dd, name, value, job) {
  dd.dataset.value = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  dd.classList.toggle('json', value !== null && typeof value === 'object');
  if (value === null || value === undefined || value === '') {
    dd.replaceChildren(DASH);
  } else if (TIME_FIELDS.has(name)) {
    dd.replaceChildren(timeElement(value));
  } else if (name === 'cost_usd') {
    const estimate = Boolean(job.metadata && job.metadata.cost_is_estimate);
    dd.replaceChildren(`${formatCost(value, estimate)}${estimate ? ' (estimate while running)' : ''}`);
  } else if (name === 'duration_seconds') {
    dd.replaceChildren(formatDuration(value));
  } else if (name === 'progress') {
    dd.replaceChildren(formatProgress(value));
  } else if (name === 'eta_seconds' && typeof value === 'number') {
    dd.replaceChildren(formatTimeLeft(value));
  } else if (name === 'rate' && typeof value === 'number') {
    dd.replaceChildren(formatRate(value) || String(value));
  } else if (name === 'output_url' && /^https?:\/\//i.test(value)) {
    dd.replaceChildren(el('a', { href: value, target: '_blank', rel: 'noopener noreferrer' }, value));
  } else if (typeof value === 'boolean') {
    dd.replaceChildren(value ? 'yes' : 'no');
  } else if (typeof value === 'object') {
    dd.replaceChildren(JSON.stringify(value, null, 2));
  } else {
    dd.replaceChildren(String(value));
  }
}
