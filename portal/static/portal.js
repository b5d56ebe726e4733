// The little behaviour htmx does not cover: closing a slide-out. Everything works without it.
document.addEventListener("click", function (event) {
  const close = event.target.closest("[data-close-slideout]");
  const panel = document.getElementById("slideout");
  if (close && panel && panel.contains(close)) {
    event.preventDefault();
    panel.replaceChildren();
  }
});
document.addEventListener("keydown", function (event) {
  const panel = document.getElementById("slideout");
  if (event.key === "Escape" && panel && panel.firstElementChild) {
    panel.replaceChildren();
  }
});
