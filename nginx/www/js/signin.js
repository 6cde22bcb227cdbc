// The sign-in form of token mode (SPEC §11). When the API answers 401, the
// page shows #sign-in-form in place of its controls and lists (body.signed-out);
// the token goes once to POST /api/session as JSON, which answers with an
// HttpOnly session cookie, and onSignedIn reloads the data and reconnects the
// live stream. The page never stores the token.

import { api, errorMessage } from './api.js';

export class SignIn {
  constructor({ onSignedIn }) {
    this.onSignedIn = onSignedIn;
    this.form = document.getElementById('sign-in-form');
    this.input = document.getElementById('sign-in-token');
    this.button = document.getElementById('sign-in-button');
    this.error = document.getElementById('sign-in-error');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  get visible() {
    return !this.form.hidden;
  }

  show() {
    if (this.visible) return;
    document.body.classList.add('signed-out');
    this.form.hidden = false;
    this.input.focus();
  }

  hide() {
    this.form.hidden = true;
    this.error.hidden = true;
    document.body.classList.remove('signed-out');
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  async submit() {
    if (this.button.disabled) return;
    const token = this.input.value.trim();
    if (!token) {
      this.showError('Enter the API token.');
      this.input.focus();
      return;
    }
    this.button.disabled = true;
    this.button.setAttribute('aria-busy', 'true');
    try {
      await api.post('/api/session', { token });
      this.input.value = '';
      this.hide();
      this.onSignedIn();
    } catch (error) {
      this.showError(error.status === 401 ? 'That is not the API token.' : errorMessage(error));
      this.input.select();
    } finally {
      this.button.removeAttribute('aria-busy');
      this.button.disabled = false;
    }
  }
}
