// /api/docs: render the OpenAPI document with the vendored Swagger UI (no inline script: CSP script-src 'self').
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never call out to a third party
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
