// The little behaviour htmx does not cover. Everything still works without it.

// Closing a slide-out (×, Cancel, Escape).
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

// Errors htmx does not swap (expired form 400, 403, 404, 413, 500, or no connection) are shown in a
// message box instead of being dropped silently. The server's error partial is plain text we insert
// as text, never as HTML.
function showProblem(text) {
  let box = document.getElementById("problem");
  if (!box) {
    box = document.createElement("div");
    box.id = "problem";
    box.setAttribute("role", "alert");
    document.body.appendChild(box);
  }
  box.textContent = text;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(function () { box.hidden = true; }, 12000);
}
document.body.addEventListener("htmx:responseError", function (event) {
  const xhr = event.detail.xhr;
  const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
  const title = doc.querySelector("h1");
  const message = doc.querySelector(".error-page p:not(.error-code)");
  showProblem((title ? title.textContent + ": " : "") +
              (message ? message.textContent : "The request failed (" + xhr.status + "). Nothing was saved."));
});
document.body.addEventListener("htmx:sendError", function () {
  showProblem("The portal could not be reached. Check your connection and try again; nothing was saved.");
});

// A second click on a submit button while its form is on its way does nothing (double submissions).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.method && form.method.toLowerCase() === "post" && !form.hasAttribute("hx-post")) {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  }
});

// Copy a value shown once (a new API key) to the clipboard.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  const source = button && document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.textContent = "Copied";
  });
});

// A loading bar for every htmx action, so a click is seen to be working (polls marked data-quiet excepted).
let loadingCount = 0;
function showLoading(delta) {
  loadingCount = Math.max(0, loadingCount + delta);
  const bar = document.getElementById("loading");
  if (bar) {
    bar.hidden = loadingCount === 0;
  }
}
document.body.addEventListener("htmx:beforeRequest", function (event) {
  const xhr = event.detail.xhr;
  if (event.detail.elt.closest("[data-quiet]") || !xhr) {
    return;
  }
  showLoading(1);
  xhr.addEventListener("loadend", function () { showLoading(-1); }, { once: true });
});

// The bell's dropdown: loaded when opened; Escape or a click elsewhere closes it, focus back on the bell.
document.addEventListener("toggle", function (event) {
  const menu = event.target;
  if (menu.matches && menu.matches("details.bell-menu") && menu.open && window.htmx) {
    htmx.trigger(menu.querySelector(".bell-dropdown"), "bell-open");
  }
}, true);
document.addEventListener("keydown", function (event) {
  const menu = document.querySelector("details.bell-menu[open]");
  if (event.key === "Escape" && menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
document.addEventListener("click", function (event) {
  const menu = document.querySelector("details.bell-menu[open]");
  if (menu && !menu.contains(event.target)) {
    menu.open = false;
  }
});
