// Toast notifications in #toasts (role="status", aria-live="polite"), so
// screen readers announce them. Each toast is a .toast element whose text is
// the message (.toast.error for failures); it goes away after TOAST_MS or
// when clicked.

const TOAST_MS = 6000;
const MAX_TOASTS = 4;

export function showToast(message, { error = false } = {}) {
  const container = document.getElementById('toasts');
  if (!container) return;
  // The same message twice at once (the list and the metrics both failing)
  // is one toast.
  for (const shown of container.children) {
    if (shown.textContent === message && shown.classList.contains('error') === error) return;
  }
  const toast = document.createElement('div');
  toast.className = error ? 'toast error' : 'toast';
  toast.textContent = message;
  toast.title = 'Click to dismiss';
  const remove = () => toast.remove();
  toast.addEventListener('click', remove);
  container.append(toast);
  // Keep the stack short when many things fail at once.
  while (container.children.length > MAX_TOASTS) container.firstElementChild.remove();
  setTimeout(remove, TOAST_MS);
}
