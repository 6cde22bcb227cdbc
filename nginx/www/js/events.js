// The live connection: exactly one EventSource on /api/events at a time.
//
// The server sends unnamed frames (`id:` + `data:` JSON), so everything
// arrives on onmessage. The browser's own reconnect is not used: on an error
// the stream is closed and reopened here with exponential backoff (1 s, 2 s,
// 4 s ... 30 s) and `?last_event_id=<last id seen>`, so the server replays
// what was missed (or sends one "reset"). The state shown in
// #connection-indicator is connected, reconnecting, or offline (after
// OFFLINE_AFTER failed attempts in a row, or while the browser says it is
// offline); retrying never stops, unless stop() (signed out in token mode:
// the stream would only get 401s) until start() again.

const BASE_URL = '/api/events';
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const OFFLINE_AFTER = 5;

const LABELS = { connected: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };

export class EventStream {
  // onMessage(data) gets every parsed message, the "connected" one included.
  constructor({ onMessage }) {
    this.onMessage = onMessage;
    this.source = null;
    this.lastEventId = ''; // the newest `id:` seen; survives reconnects
    this.failures = 0; // failed attempts since the last "connected"
    this.retryTimer = null;
    this.indicator = document.getElementById('connection-indicator');

    window.addEventListener('online', () => this.reconnectNow());
    window.addEventListener('offline', () => this.setState('offline'));
  }

  start() {
    this.failures = 0;
    this.open();
  }

  stop() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.source) this.source.close();
    this.source = null;
    this.stopped = true;
    this.setState('offline');
  }

  open() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.source) this.source.close();
    const url = this.lastEventId
      ? `${BASE_URL}?last_event_id=${encodeURIComponent(this.lastEventId)}`
      : BASE_URL;
    const source = new EventSource(url);
    this.source = source;
    source.onmessage = (event) => {
      if (source !== this.source) return;
      if (event.lastEventId) this.lastEventId = event.lastEventId;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not ours; nothing to do with it
      }
      if (!data || typeof data.type !== 'string') return;
      if (data.type === 'connected') {
        this.failures = 0;
        // The greeting names the newest event id. Without an id of our own,
        // resume from there next time, so a drop loses nothing.
        if (!this.lastEventId && data.last_event_id != null) this.lastEventId = String(data.last_event_id);
        this.setState('connected');
      }
      this.onMessage(data);
    };
    source.onerror = () => {
      if (source !== this.source) return;
      source.close();
      this.source = null;
      this.failures += 1;
      this.setState(this.failures >= OFFLINE_AFTER || !navigator.onLine ? 'offline' : 'reconnecting');
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 1));
      this.retryTimer = setTimeout(() => this.open(), delay);
    };
  }

  // The network came back: skip the rest of the backoff.
  reconnectNow() {
    if (this.stopped) return;
    if (this.source && this.source.readyState !== EventSource.CLOSED) return;
    this.failures = 0;
    this.setState('reconnecting');
    this.open();
  }

  setState(state) {
    this.state = state;
    this.indicator.dataset.state = state;
    this.indicator.textContent = LABELS[state];
  }
}
