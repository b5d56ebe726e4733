// The little behaviour htmx does not cover. Everything still works without it.

// Slide-outs are modal dialogs. htmx swaps a slide-out into <dialog id="slideout">, which then opens with
// showModal(): the page behind is inert and dimmed, and the dialog is aria-modal. Focus moves into it and
// Tab wraps inside it; Esc, the close button, Cancel or a click on the dimmed page close it, and focus goes
// back to the button that opened it.
let slideoutTrigger = null;
const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
  "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

function slideoutPanel() {
  return document.getElementById("slideout");
}
function focusablesIn(root) {
  return Array.from(root.querySelectorAll(FOCUSABLE)).filter(function (el) {
    return el.getClientRects().length > 0;
  });
}
document.addEventListener("htmx:beforeRequest", function (event) {
  const panel = slideoutPanel();
  if (panel && event.detail.target === panel && !panel.open) {
    slideoutTrigger = event.detail.elt;
  }
});
document.addEventListener("htmx:afterSettle", function (event) {
  const panel = slideoutPanel();
  if (!panel || event.detail.target !== panel) {
    return;
  }
  if (!panel.firstElementChild) {
    panel.close();
    return;
  }
  if (!panel.open) {
    panel.showModal();
  }
  if (!panel.contains(document.activeElement) || document.activeElement === panel) {
    (focusablesIn(panel)[0] || panel).focus();
  }
});
document.addEventListener("close", function (event) {
  const panel = slideoutPanel();
  if (event.target !== panel) {
    return;
  }
  panel.replaceChildren();
  const trigger = slideoutTrigger;
  slideoutTrigger = null;
  if (trigger && trigger.isConnected) {
    trigger.focus();
  }
}, true);
document.addEventListener("click", function (event) {
  const panel = slideoutPanel();
  if (!panel || !panel.open) {
    return;
  }
  const close = event.target.closest("[data-close-slideout]");
  if (close && panel.contains(close)) {
    event.preventDefault();
    panel.close();
  } else if (event.target === panel) {
    const box = panel.getBoundingClientRect();
    if (event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom) {
      panel.close();  // a click on the dimmed page beside the panel
    }
  }
});
document.addEventListener("keydown", function (event) {
  const panel = slideoutPanel();
  if (event.key !== "Tab" || !panel || !panel.open) {
    return;
  }
  const items = focusablesIn(panel);
  const inside = panel.contains(document.activeElement) && document.activeElement !== panel;
  if (!items.length) {
    event.preventDefault();
  } else if (event.shiftKey && (!inside || document.activeElement === items[0])) {
    event.preventDefault();
    items[items.length - 1].focus();
  } else if (!event.shiftKey && (!inside || document.activeElement === items[items.length - 1])) {
    event.preventDefault();
    items[0].focus();
  }
});

// When htmx replaces the part that held the focus (a queue row after its action, a page of results), the
// focus stays in that part, on its first link or control, instead of falling back to the top of the page.
let focusedPartId = null;
document.addEventListener("htmx:beforeSwap", function (event) {
  const target = event.detail.target;
  focusedPartId = target && target.id && target.contains(document.activeElement) ? target.id : null;
});
document.addEventListener("htmx:afterSettle", function () {
  const part = focusedPartId && document.getElementById(focusedPartId);
  focusedPartId = null;
  if (!part || (document.activeElement && document.activeElement !== document.body)) {
    return;
  }
  const first = focusablesIn(part)[0];
  if (first) {
    first.focus();
  } else {
    part.tabIndex = -1;
    part.focus();
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
  }
  // Inside an open slide-out, or the modal dialog would cover it and make it inert.
  const host = document.querySelector("dialog[open]") || document.body;
  if (box.parentNode !== host) {
    host.appendChild(box);
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
