// The "New job" dialog (<dialog id="submit-dialog">, opened by
// #new-job-button): its labelled fields become the body of
// POST /api/cloud/jobs/submit (SPEC §12). Each field carries data-field=<the
// API's name> and has p#<field id>-error next to it.
//
// Errors show next to their field: the input's JSON is checked here (it must
// parse, with the parser's message, and be an object); everything else is
// the server's: a 400 names the field in details.field and its message shows
// under that field. Other failures show in #submit-error.
//
// Each opening gets its own Idempotency-Key, sent with every attempt from
// that opening: a double click, or a retry after a lost answer, gives the
// same job, never two. Escape closes the dialog (native <dialog>); the focus
// goes back to what opened it.

import { api, ApiError, errorMessage } from './api.js';
import { showToast } from './toast.js';

export class SubmitDialog {
  // onSubmitted(answer): the 202's {job, queue}, after the dialog closed.
  constructor({ onSubmitted }) {
    this.onSubmitted = onSubmitted;
    this.dialog = document.getElementById('submit-dialog');
    this.form = document.getElementById('submit-form');
    this.button = document.getElementById('submit-button');
    this.formError = document.getElementById('submit-error');
    this.key = '';
    this.opener = null;
    this.sending = false;

    document.getElementById('new-job-button').addEventListener('click', () => this.open());
    document.getElementById('submit-cancel').addEventListener('click', () => this.dialog.close());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input('kind').addEventListener('change', () => this.showKind());
    // Editing a field clears its error.
    this.form.addEventListener('input', (event) => {
      if (event.target.dataset.field) this.setError(event.target.dataset.field, '');
    });
    this.dialog.addEventListener('close', () => {
      this.key = '';
      if (this.opener && this.opener.isConnected) this.opener.focus();
      this.opener = null;
    });
  }

  input(field) {
    return this.form.querySelector(`[data-field="${field}"]`);
  }

  open() {
    if (this.dialog.open) return;
    this.opener = document.activeElement;
    this.key = newIdempotencyKey();
    this.clearErrors();
    this.showKind();
    this.dialog.showModal();
    this.input('kind').focus();
  }

  // Destination is for trainings only; a training needs its version.
  showKind() {
    const training = this.input('kind').value === 'training';
    document.getElementById('submit-destination-field').hidden = !training;
    document.getElementById('submit-version-hint').textContent = training
      ? 'Required for a training: 64 hex digits.'
      : 'Optional: without it the model’s official endpoint runs.';
  }

  setError(field, text) {
    const input = this.input(field);
    if (!input) return;
    const error = document.getElementById(`${input.id}-error`);
    error.textContent = text;
    error.hidden = !text;
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  clearErrors() {
    for (const input of this.form.querySelectorAll('[data-field]')) this.setError(input.dataset.field, '');
    this.formError.hidden = true;
    this.formError.textContent = '';
  }

  // The request body, or null after showing why there is none.
  body() {
    const text = (field) => this.input(field).value.trim();
    let input;
    try {
      input = JSON.parse(this.input('input').value);
    } catch (error) {
      return this.refuse('input', `Not valid JSON: ${error.message}`);
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return this.refuse('input', 'The input must be a JSON object, such as {"prompt": "…"}.');
    }
    const kind = text('kind');
    const body = { kind, model: text('model'), input, priority: text('priority') };
    if (text('version')) body.version = text('version');
    if (kind === 'training' && text('destination')) body.destination = text('destination');
    if (text('config_name')) body.config_name = text('config_name');
    return body;
  }

  refuse(field, message) {
    this.setError(field, message);
    this.input(field).focus();
    return null;
  }

  async submit() {
    if (this.sending) return; // a second click while the first is on its way
    this.clearErrors();
    const body = this.body();
    if (!body) return;
    this.sending = true;
    this.button.disabled = true;
    this.button.setAttribute('aria-busy', 'true');
    try {
      const answer = await api.post('/api/cloud/jobs/submit', body, { headers: { 'Idempotency-Key': this.key } });
      this.form.reset();
      this.dialog.close();
      this.onSubmitted(answer);
    } catch (error) {
      this.showFailure(error);
    } finally {
      this.button.removeAttribute('aria-busy');
      this.button.disabled = false;
      this.sending = false;
    }
  }

  // A 400 naming a field we show goes next to it; the rest above the buttons.
  showFailure(error) {
    if (error instanceof ApiError && error.status === 401) {
      this.dialog.close(); // the sign-in form takes over
      return;
    }
    if (!this.dialog.open) { // closed while the request was on its way
      showToast(`Not submitted: ${errorMessage(error)}`, { error: true });
      return;
    }
    const field = error instanceof ApiError && error.status === 400 && error.details
      ? error.details.field : null;
    const input = typeof field === 'string' ? this.input(field) : null;
    if (input && !input.closest('[hidden]')) {
      this.refuse(field, error.message);
      return;
    }
    this.formError.textContent = errorMessage(error);
    this.formError.hidden = false;
  }
}

// 128 random bits as hex (crypto.randomUUID needs a secure context; this does not).
function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `page-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
