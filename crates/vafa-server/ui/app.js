// The admin UI's own script, kept tiny: everything works without it except the small
// conveniences below (htmx does the in-place updates).
document.addEventListener("DOMContentLoaded", () => {
  // The language switch returns to the page it was pressed on.
  for (const el of document.querySelectorAll("input[data-back]")) {
    el.value = location.pathname + location.search;
  }
});
// A problem answer (see vafa-status) is shown in the target like any answer.
document.addEventListener("htmx:afterRequest", (e) => {
  const box = e.detail.target && e.detail.target.querySelector("[autofocus]");
  if (box) box.focus();
});
