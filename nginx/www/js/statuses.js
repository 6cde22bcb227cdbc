// The job statuses as the API names them (lib/job.h), in lifecycle order:
// the active ones, then the terminal ones. The page's one list of them: the
// options of #status-filter and the order of the metrics bar come from here.

export const ACTIVE_STATUSES = ['pending', 'uploading', 'queued', 'running'];
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'];
export const STATUSES = [...ACTIVE_STATUSES, ...TERMINAL_STATUSES];
