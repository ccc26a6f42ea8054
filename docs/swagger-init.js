// Starts Swagger UI on /docs. A file of its own because the page's
// Content-Security-Policy allows no inline script.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // operations get links (/docs#/users/<operationId>), as in the old
  // service; Swagger UI 5 logs a deprecation notice when it opens one whose
  // operationId holds "_" (FastAPI's ids, kept for generated SDKs)
  deepLinking: true,
  // "Authorize" logs in through POST /auth/login (the document's OAuth2
  // password flow); the token is kept across reloads (localStorage)
  persistAuthorization: true,
  displayRequestDuration: true,
  // no badge fetched from validator.swagger.io: nothing leaves the origin
  validatorUrl: null,
});
