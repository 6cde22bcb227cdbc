// jobpulse web page: wires the toolbar, the New job dialog, the job list (and
// its queue actions), the detail panel, the metrics bar and the live
// connection together.
//
// What keeps the page current, as the SimpleTuner guide recommends:
// - Server-Sent Events (/api/events): status changes reload the list and the
//   metrics, progress messages update one card in place;
// - every 5 s, inline progress for the cards of running jobs only (and every
//   second the time left of those cards counts down);
// - while the detail shows an unfinished job, its log every 2 s (js/detail.js);
// - every 30 s, the list with sync_active=true (active jobs refreshed at the
//   provider first) and the metrics;
// - Sync (POST /api/cloud/jobs/sync) discovers jobs started outside jobpulse.
// The queue (SPEC §12): queue positions load with the list and on
// queue_changed; the queue counts of the metrics bar load with the metrics
// and come with every queue_changed; a submission or a queue action reloads
// what it changed at once, without waiting for its event.
// In token mode (SPEC §11) a 401 shows the sign-in form instead of a toast and
// pauses the stream and the timers; signing in reloads and reconnects.

import { api, errorMessage, jobPath, onUnauthorized } from './api.js';
import { JobDetail } from './detail.js';
import { el } from './dom.js';
import { EventStream } from './events.js';
import { JobList } from './jobs.js';
import { loadMetrics } from './metrics.js';
import { applyQueueChanged, loadQueueStats, wireQueueActions } from './queue.js';
import { SignIn } from './signin.js';
import { SubmitDialog } from './submit.js';
import { showToast } from './toast.js';

const INLINE_PROGRESS_MS = 5000;
const LIST_REFRESH_MS = 30000;
const DEBOUNCE_MS = 300;
const SEARCH_DEBOUNCE_MS = 250; // typing pauses this long before the search is sent
const TICK_MS = 1000;

// A 401 is answered by the sign-in form, not a toast.
const toastError = (error) => {
  if (error && error.status === 401) return;
  showToast(errorMessage(error), { error: true });
};

const list = new JobList({ onOpen: openJob });
const detail = new JobDetail({
  onChanged: () => {
    reloadListAndMetrics();
  },
  onClosed: (jobId, { deleted }) => {
    list.setSelected(null);
    // A deleted job's card goes at once; the focus moves to its neighbour.
    list.focusCard(deleted ? list.remove(jobId) : jobId);
  },
  paused: () => document.hidden || signIn.visible,
});

function openJob(jobId) {
  list.setSelected(jobId);
  detail.open(jobId, { known: list.get(jobId) }).catch(toastError);
}

// reload(options) runs load(options) and reports its errors; background ones
// (timers, events: options.background) only the first failure of a streak, so
// a dead server does not bury the page in toasts. Each reloader keeps its own
// streak.
function reloader(load) {
  let failing = false;
  return async ({ background = false, ...options } = {}) => {
    try {
      await load(options);
      failing = false;
    } catch (error) {
      if (!background || !failing) toastError(error);
      failing = true;
    }
  };
}

// reloadList({syncActive, background}), reloadMetrics({background}), and
// both at once (syncActive concerns the list only).
const reloadList = reloader(({ syncActive = false, restart = false }) => list.load({ syncActive, restart }));
const reloadMetrics = reloader(() => Promise.all([loadMetrics(), loadQueueStats()]));
const reloadQueue = reloader(() => list.reloadQueue());
const reloadListAndMetrics = (options = {}) => Promise.all([reloadList(options), reloadMetrics(options)]);

function reloadDetail() {
  if (detail.isOpen) detail.reload().catch(toastError);
}

// Bursts of events (a sync that imports ten jobs) become one request.
function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
const scheduleList = debounce(() => reloadList({ background: true }), DEBOUNCE_MS);
const scheduleMetrics = debounce(() => reloadMetrics({ background: true }), DEBOUNCE_MS);
const scheduleDetail = debounce(reloadDetail, DEBOUNCE_MS);
const scheduleQueue = debounce(() => reloadQueue({ background: true }), DEBOUNCE_MS);
const scheduleListAndMetrics = () => {
  scheduleList();
  scheduleMetrics();
};

// ---- Toolbar ----------------------------------------------------------------

const syncButton = document.getElementById('sync-button');
syncButton.addEventListener('click', async () => {
  if (syncButton.disabled) return;
  syncButton.disabled = true;
  syncButton.setAttribute('aria-busy', 'true');
  const spinner = el('span', { class: 'spinner', 'aria-hidden': 'true' });
  syncButton.prepend(spinner);
  try {
    try {
      const data = await api.post('/api/cloud/jobs/sync', { provider: 'replicate' });
      showToast(data.message || `Discovered ${data.synced ?? 0} new jobs from Replicate`);
    } catch (error) {
      toastError(error);
    }
    await reloadListAndMetrics();
  } finally {
    spinner.remove();
    syncButton.removeAttribute('aria-busy');
    syncButton.disabled = false;
  }
});

const refreshButton = document.getElementById('refresh-button');
refreshButton.addEventListener('click', async () => {
  refreshButton.disabled = true;
  refreshButton.setAttribute('aria-busy', 'true');
  try {
    await reloadListAndMetrics({ syncActive: true });
    reloadDetail();
  } finally {
    refreshButton.removeAttribute('aria-busy');
    refreshButton.disabled = false;
  }
});

for (const id of ['provider-filter', 'status-filter']) {
  document.getElementById(id).addEventListener('change', () => reloadList({ restart: true }));
}

// The search: sent once typing pauses, and kept in the URL (?q=).
const scheduleSearch = debounce(() => {
  list.saveQueryInUrl();
  reloadList({ restart: true });
}, SEARCH_DEBOUNCE_MS);
document.getElementById('search-input').addEventListener('input', scheduleSearch);

const loadMoreButton = document.getElementById('load-more');
loadMoreButton.addEventListener('click', async () => {
  if (loadMoreButton.disabled) return;
  loadMoreButton.disabled = true;
  loadMoreButton.setAttribute('aria-busy', 'true');
  try {
    await list.loadMore();
  } catch (error) {
    toastError(error);
  } finally {
    loadMoreButton.removeAttribute('aria-busy');
    loadMoreButton.disabled = false;
  }
});

// Escape closes the detail (an open dialog handles its own Escape first).
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || event.defaultPrevented || !detail.isOpen) return;
  if (document.querySelector('dialog[open]')) return;
  detail.close();
});

// ---- Submitting and the queue -----------------------------------------------

// The dialog lives on through its listeners.
new SubmitDialog({
  onSubmitted: ({ job, queue }) => {
    const position = queue && typeof queue.position === 'number' ? ` · #${queue.position} in queue` : '';
    showToast(`Job ${job.job_id} submitted${position}`);
    reloadListAndMetrics();
  },
});

wireQueueActions(document.getElementById('job-list'), {
  onEntry: (entry) => {
    list.applyEntry(entry);
    reloadQueue(); // the other cards' positions moved too
  },
  onCancelled: (job) => {
    list.applyJob(job);
    reloadListAndMetrics();
    if (job.job_id === detail.jobId) reloadDetail();
  },
  onError: (error) => {
    toastError(error);
    reloadListAndMetrics(); // the entry probably left the queue meanwhile
  },
});

// ---- Live updates -----------------------------------------------------------

// The handler of the stream's messages; it remembers whether the stream was
// connected before.
function eventHandler() {
  let connectedBefore = false;
  return (message) => {
    switch (message.type) {
      case 'connected':
        // After a reconnect the server replays what was missed; reload anyway in
        // case the page started while the server was down.
        if (connectedBefore) scheduleListAndMetrics();
        connectedBefore = true;
        break;
      case 'job_status_changed':
        scheduleListAndMetrics();
        if (message.job_id === detail.jobId) scheduleDetail();
        break;
      case 'job_progress':
        list.applyProgress(message.job_id, message);
        detail.applyProgress(message.job_id, message);
        break;
      case 'queue_changed':
        applyQueueChanged(message);
        scheduleQueue();
        break;
      case 'jobs_synced':
        scheduleList();
        if (message.new || message.updated) scheduleMetrics();
        break;
      case 'reset': // too much was missed: start over
        scheduleListAndMetrics();
        scheduleDetail();
        break;
      default:
        break;
    }
  };
}

// fn, but a call while the last one has not finished is skipped.
function oneAtATime(fn) {
  let running = false;
  return async () => {
    if (running) return;
    running = true;
    try {
      await fn();
    } finally {
      running = false;
    }
  };
}

// Inline progress for running cards only; a finished job is never polled.
const pollInlineProgress = oneAtATime(async () => {
  if (document.hidden || signIn.visible) return;
  await Promise.all(list.runningIds().map(async (jobId) => {
    try {
      const data = await api.get(jobPath(jobId, '/inline-progress'));
      list.applyProgress(jobId, data);
      detail.applyProgress(jobId, data);
    } catch (error) {
      if (error.status === 404) scheduleList(); // deleted meanwhile
      // Anything else: the next round or an event will catch up.
    }
  }));
});

function periodicRefresh() {
  if (document.hidden || signIn.visible) return;
  reloadListAndMetrics({ syncActive: true, background: true });
}

// Coming back to a hidden tab: catch up at once instead of at the next tick.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) periodicRefresh();
});

// ---- Start ------------------------------------------------------------------

// The stream first, so nothing that happens while the list loads is lost.
const stream = new EventStream({ onMessage: eventHandler() });
const signIn = new SignIn({
  onSignedIn: () => {
    stream.start();
    reloadListAndMetrics();
  },
});
onUnauthorized(() => {
  signIn.show();
  stream.stop();
});
stream.start();
reloadListAndMetrics();
setInterval(pollInlineProgress, INLINE_PROGRESS_MS);
setInterval(periodicRefresh, LIST_REFRESH_MS);
setInterval(() => list.tick(), TICK_MS);
