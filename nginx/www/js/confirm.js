// Confirmation through <dialog id="confirm-dialog"> (never window.confirm).
// Resolves true for #confirm-yes, false for #confirm-no, Escape or a close.

export function confirmAction({ title, message, yesLabel, noLabel = 'Keep it' }) {
  const dialog = document.getElementById('confirm-dialog');
  if (dialog.open) return Promise.resolve(false); // one question at a time
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  document.getElementById('confirm-yes').textContent = yesLabel;
  document.getElementById('confirm-no').textContent = noLabel;
  return new Promise((resolve) => {
    // The form has method="dialog": a submit button closes the dialog with
    // its value as returnValue; Escape closes it with an empty one.
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-no').focus();
  });
}
