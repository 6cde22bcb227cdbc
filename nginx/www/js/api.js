// A small fetch wrapper for the jobpulse REST API.
//
// Every call resolves with the parsed JSON body or rejects with an ApiError
// whose message is ready to show: the `message` of the API's error envelope
// ({"error", "message", "details"}), or a plain description when the server
// could not be reached or answered something that is not the envelope.
// A 204 resolves with null. A 401 (token mode, SPEC §11) first calls the
// handler given to onUnauthorized, which shows the sign-in form.
// api.getIfChanged sends If-None-Match and resolves with {notModified: true}
// on a 304, else {data, etag}. api.post takes extra request headers
// ({headers: {'Idempotency-Key': ...}}).

export class ApiError extends Error {
  constructor(message, { status = 0, code = '', details = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // HTTP status, 0 when no response arrived
    this.code = code; // the envelope's "error" code, when there was one
    this.details = details;
  }
}

let unauthorizedHandler = () => {};

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function request(method, path, { params, body, etag, headers = {} } = {}) {
  let url = path;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
    }
    const text = query.toString();
    if (text) url += `?${text}`;
  }
  const init = {
    method,
    headers: { ...headers, Accept: 'application/json' },
    // GETs carry an ETag: always revalidate, so a 304 costs nothing and a
    // stale copy is never shown.
    cache: 'no-cache',
  };
  if (etag) {
    // Our own validator: the answer (a 304 too) must come to us, not the HTTP cache.
    init.headers['If-None-Match'] = etag;
    init.cache = 'no-store';
  }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError('Cannot reach the jobpulse server; check your connection.');
  }

  if (response.status === 204) return { data: null, response };
  if (response.status === 304) return { notModified: true, response };
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON (an HTML error page of some proxy, an empty body): data stays null.
  }
  if (!response.ok) {
    if (response.status === 401) unauthorizedHandler();
    if (data && typeof data.message === 'string' && data.message) {
      throw new ApiError(data.message, {
        status: response.status,
        code: data.error || '',
        details: data.details || null,
      });
    }
    throw new ApiError(`The server answered ${response.status} ${response.statusText}`.trim(), {
      status: response.status,
    });
  }
  if (data === null) throw new ApiError('The server sent an unreadable answer.', { status: response.status });
  return { data, response };
}

const dataOf = async (answer) => (await answer).data;

export const api = {
  get: (path, params) => dataOf(request('GET', path, { params })),
  post: (path, body, { headers } = {}) => dataOf(request('POST', path, { body, headers })),
  del: (path) => dataOf(request('DELETE', path)),
  // etag: the ETag of the copy we hold ('' for none).
  async getIfChanged(path, etag, params) {
    const { data, response, notModified = false } = await request('GET', path, { params, etag });
    if (notModified) return { notModified, etag };
    return { notModified, data, etag: response.headers.get('ETag') || '' };
  },
};

// Path segment for a job id (ids are [A-Za-z0-9._:-], but never trust that).
export function jobPath(jobId, suffix = '') {
  return `/api/cloud/jobs/${encodeURIComponent(jobId)}${suffix}`;
}

// The text to show for any rejection: ApiError messages as they are,
// anything else (a bug) with a generic prefix.
export function errorMessage(error) {
  if (error instanceof ApiError) return error.message;
  return `Unexpected error: ${error && error.message ? error.message : String(error)}`;
}

// The stale-response guard: when requests for the same thing overlap (a
// filter changed while the list was loading), only the newest one's answer
// may be shown. begin() is called as a request starts and returns a check
// that stays true until a newer request begins or drop() is called:
//
//   const isNewest = this.latest.begin();
//   const data = await api.get(...);
//   if (!isNewest()) return; // a newer request is on its way
export function newestOnly() {
  let newest = 0;
  return {
    begin() {
      const mine = ++newest;
      return () => mine === newest;
    },
    // Makes every answer still to come stale (the thing it was for is gone).
    drop() {
      newest += 1;
    },
  };
}
