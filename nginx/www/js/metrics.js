// The metrics bar (#metrics-bar) from GET /api/cloud/metrics?days=30: jobs by
// status, total cost and the average duration of completed jobs, and the
// cost-per-day and jobs-by-status charts (js/charts.js).

import { api, newestOnly } from './api.js';
import { renderCostChart, renderStatusChart } from './charts.js';
import { DASH, formatCost, formatDuration } from './dom.js';
import { ACTIVE_STATUSES, TERMINAL_STATUSES } from './statuses.js';

// The furthest along active status first, then the outcomes.
const STATUS_ORDER = [...ACTIVE_STATUSES].reverse().concat(TERMINAL_STATUSES);
const latest = newestOnly(); // answers to older loads are dropped

// Rejects with an ApiError; the caller decides whether to show it.
export async function loadMetrics() {
  const isNewest = latest.begin();
  const data = await api.get('/api/cloud/metrics', { days: 30 });
  if (!isNewest()) return;

  const byStatus = data.jobs_by_status || {};
  const parts = STATUS_ORDER.filter((s) => byStatus[s] > 0).map((s) => `${byStatus[s]} ${s}`);
  const count = typeof data.job_count === 'number' ? data.job_count : 0;
  // "5 jobs: 1 running, 3 completed, 1 failed"
  document.getElementById('metric-jobs').textContent =
    `${count} ${count === 1 ? 'job' : 'jobs'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
  document.getElementById('metric-cost').textContent = formatCost(data.total_cost);
  const avg = data.avg_job_duration_seconds;
  document.getElementById('metric-duration').textContent = avg === null || avg === undefined ? DASH : formatDuration(avg);
  const days = data.period_days || 30;
  document.getElementById('metrics-bar').setAttribute('aria-label', `Last ${days} days`);
  renderCostChart(document.getElementById('cost-chart'), data.cost_by_day, days);
  renderStatusChart(document.getElementById('status-chart'), byStatus, STATUS_ORDER);
}
