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
// A quote is for the sale as it was typed: any change to the sale form takes the quote
// (and its record button) away, so a sale is never recorded with other values than
// those on screen. The server refuses a stale quote too (`quoted`).
function dropQuote(e) {
  const form = e.target && e.target.closest && e.target.closest("form.sale");
  if (!form) return;
  const quote = document.getElementById("quote");
  if (quote && quote.firstChild) quote.replaceChildren();
}
document.addEventListener("input", dropQuote);
document.addEventListener("change", dropQuote);
// A refusal shown under a field goes when the field is typed in again.
document.addEventListener("input", (e) => {
  const id = e.target && e.target.getAttribute && e.target.getAttribute("aria-describedby");
  const box = id && document.getElementById(id);
  if (box && box.classList.contains("field-problem")) box.replaceChildren();
});
