// The submission queue on the page (SPEC §12).
//
// - Positions: one GET /api/queue?status=waiting for all cards (fetchWaiting),
//   fetched with the list and again on queue events. A pending card whose job
//   waits in the queue shows "waiting for a slot · #N in queue" and, below its
//   button, div.job-queue-actions: a Priority select (select.job-priority) and
//   a Cancel button (button.job-queue-cancel). Jobs that are not waiting get
//   neither. Only the first MAX_WAITING waiting entries get a position.
// - Actions (wireQueueActions): POST /api/queue/{id}/priority {"priority"}
//   and POST /api/queue/{id}/cancel (confirmed through the <dialog>); the
//   answer is handed back at once, before any reload.
// - Counts: #metric-queue-depth and #metric-queue-running in the metrics bar,
//   from GET /api/queue/stats or the queue_changed event's payload.

import { api, newestOnly } from './api.js';
import { confirmAction } from './confirm.js';
import { DASH, el } from './dom.js';

const MAX_WAITING = 500; // GET /api/queue's largest limit

// SPEC §12's named priorities; any other value is 0..50.
export const PRIORITIES = [['low', 0], ['normal', 10], ['high', 20], ['urgent', 30]];

export function queuePath(jobId, suffix = '') {
  return `/api/queue/${encodeURIComponent(jobId)}${suffix}`;
}

// job_id -> waiting entry ({position, priority, ...}); rejects with an ApiError.
export async function fetchWaiting() {
  const data = await api.get('/api/queue', { status: 'waiting', limit: MAX_WAITING });
  const entries = Array.isArray(data.entries) ? data.entries : [];
  return new Map(entries.filter((e) => e.status === 'waiting').map((e) => [e.job_id, e]));
}

// "waiting for a slot · #3 in queue"
export function queueLabel(entry) {
  return typeof entry.position === 'number'
    ? `waiting for a slot · #${entry.position} in queue`
    : 'waiting for a slot';
}

// Adds, updates or (entry null) removes a card's queue actions. A select the
// reader is using is left alone.
export function fillQueueActions(card, entry) {
  let actions = card.querySelector(':scope > .job-queue-actions');
  card.classList.toggle('in-queue', Boolean(entry));
  if (!entry) {
    actions?.remove();
    return;
  }
  if (!actions) {
    const jobId = card.dataset.jobId;
    actions = el('div', { class: 'job-queue-actions', role: 'group', 'aria-label': `Queue: ${jobId}` },
      el('label', { class: 'field' },
        el('span', { class: 'field-label' }, 'Priority'),
        el('select', { class: 'job-priority' },
          ...PRIORITIES.map(([name]) => el('option', { value: name }, name)))),
      el('button', { type: 'button', class: 'button small danger job-queue-cancel' }, 'Cancel'));
    card.append(actions);
  }
  const select = actions.querySelector('.job-priority');
  if (document.activeElement !== select && !select.disabled) showPriority(select, entry.priority);
}

// Selects the priority's name, or a numeric option for a value without one.
function showPriority(select, priority) {
  const named = PRIORITIES.find(([, value]) => value === priority);
  select.querySelector('option.custom')?.remove();
  if (named) {
    select.value = named[0];
    return;
  }
  const value = String(priority);
  select.append(el('option', { class: 'custom', value }, value));
  select.value = value;
}

// Listens to the queue actions of every card in listEl, present and future.
// onEntry(entry): a priority changed (the answer's entry);
// onCancelled(job): a waiting job was cancelled (the answer's job);
// onError(error, jobId): either failed (the card may be out of date).
export function wireQueueActions(listEl, { onEntry, onCancelled, onError }) {
  listEl.addEventListener('change', async (event) => {
    const select = event.target.closest('select.job-priority');
    if (!select) return;
    const jobId = select.closest('.job-card').dataset.jobId;
    const value = /^\d+$/.test(select.value) ? Number(select.value) : select.value;
    await busy(select, async () => {
      try {
        onEntry(await api.post(queuePath(jobId, '/priority'), { priority: value }));
      } catch (error) {
        onError(error, jobId);
      }
    });
  });
  listEl.addEventListener('click', async (event) => {
    const button = event.target.closest('button.job-queue-cancel');
    if (!button || button.disabled) return;
    const jobId = button.closest('.job-card').dataset.jobId;
    await busy(button, async () => {
      const yes = await confirmAction({
        title: 'Cancel this queued job?',
        message: `Job ${jobId} leaves the queue and is cancelled. It never reached the provider.`,
        yesLabel: 'Cancel job',
        noLabel: 'Keep waiting',
      });
      if (!yes) return;
      try {
        const answer = await api.post(queuePath(jobId, '/cancel'));
        onCancelled(answer.job);
      } catch (error) {
        onError(error, jobId);
      }
    });
  });
}

// Runs fn with the control disabled and aria-busy.
async function busy(control, fn) {
  control.disabled = true;
  control.setAttribute('aria-busy', 'true');
  try {
    await fn();
  } finally {
    control.removeAttribute('aria-busy');
    control.disabled = false;
  }
}

// ---- Counts in the metrics bar --------------------------------------------

const latestStats = newestOnly(); // answers to older loads are dropped

// Rejects with an ApiError; the caller decides whether to show it.
export async function loadQueueStats() {
  const isNewest = latestStats.begin();
  const data = await api.get('/api/queue/stats');
  if (isNewest()) showQueueCounts(data);
}

// A queue_changed event ({queue_depth, running}) is newer than any answer
// still on its way.
export function applyQueueChanged(message) {
  latestStats.drop();
  showQueueCounts(message);
}

function showQueueCounts({ queue_depth: depth, running, max_concurrent: max }) {
  const count = (n) => (Number.isInteger(n) ? String(n) : DASH);
  document.getElementById('metric-queue-depth').textContent = count(depth);
  const runningEl = document.getElementById('metric-queue-running');
  runningEl.textContent = count(running);
  if (Number.isInteger(max)) runningEl.title = `At most ${max} at once (queue.max_concurrent)`;
}
