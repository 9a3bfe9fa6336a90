// The portfolio table: a line's ▸ shows or hides its broker lines. Delegated from the
// document, so lines swapped in by htmx (sorting, live updates) work too.
document.addEventListener("click", function (event) {
  const button = event.target.closest("button.expand");
  if (!button) return;
  const line = button.closest("tbody");
  line.classList.toggle("open");
  button.setAttribute("aria-expanded", line.classList.contains("open"));
});

// A PORTFOLIO_UPDATE on the page's socket re-renders the body: told here, because an htmx
// trigger filter would need eval, which the Content-Security-Policy forbids.
document.addEventListener("htmx:wsAfterMessage", function (event) {
  const message = event.detail && event.detail.message;
  if (typeof message === "string" && message.indexOf("PORTFOLIO_UPDATE") >= 0) {
    document.body.dispatchEvent(new CustomEvent("portfolio-updated"));
  }
});
