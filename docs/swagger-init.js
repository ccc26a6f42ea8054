// Starts Swagger UI on /docs. A file of its own because the page's
// Content-Security-Policy allows no inline script.
"use strict";

// Keeps an "Authorize" session alive: Swagger UI 5 keeps the whole login
// answer (refresh_token included) in its auth state but never refreshes by
// itself. Before a request that carries the OAuth2 access token, when that
// token expires within REFRESH_AHEAD_MS (its own `exp` claim against this
// browser's clock), POST /auth/refresh trades the refresh token for a new
// pair, which is stored the way Swagger UI stores a login answer
// (authActions.authorizeOauth2WithPersistOption: auth state, and
// localStorage through persistAuthorization), and the request goes out
// with the new access token. Each refresh token works once: concurrent
// requests share one refresh, and a newer pair that another tab already
// stored in localStorage is taken instead of spending a used-up token
// (used again after the server's 10 s grace window, it ends the session).
// A refused refresh (401) logs out the scheme, as its Logout button does,
// and says so in the Authorize dialog.
const usersSession = (() => {
  const SCHEME = "OAuth2PasswordBearer";   // components.securitySchemes
  const REFRESH_PATH = "/auth/refresh";
  const REFRESH_AHEAD_MS = 30 * 1000;
  let inflight = null;                     // the refresh under way, shared

  // the scheme's entry of Swagger UI's auth state, as plain JS
  const current = () => {
    const entry = window.ui && window.ui.authSelectors.authorized().get(SCHEME);
    return entry ? entry.toJS() : null;
  };
  // the entry persistAuthorization last wrote (maybe by another tab)
  const persisted = () => {
    try { return JSON.parse(localStorage.getItem("authorized") || "{}")[SCHEME] || null; }
    catch (_) { return null; }
  };
  const refreshTokenOf = auth => (auth && auth.token && auth.token.refresh_token) || null;
  // ms since the epoch when the JWT's `exp` claim ends it; null if unreadable
  const expiresAt = jwt => {
    try {
      const b64 = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const exp = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4))).exp;
      return typeof exp === "number" ? exp * 1000 : null;
    } catch (_) { return null; }
  };
  const expiresSoon = token =>
    token && token.access_token && (expiresAt(token.access_token) ?? Infinity) - Date.now() <= REFRESH_AHEAD_MS;
  const store = (auth, token) => {
    const fresh = Object.assign({}, auth);
    delete fresh.token;
    window.ui.authActions.authorizeOauth2WithPersistOption({ auth: fresh, token });
  };

  // resolves to the token response to send the request with, or null
  const refresh = async auth => {
    const shared = persisted();
    if (refreshTokenOf(shared) && refreshTokenOf(shared) !== refreshTokenOf(auth)) {
      // another tab refreshed (or logged in) since: its pair is the live one
      store(shared, shared.token);
      if (!expiresSoon(shared.token)) return shared.token;
      auth = shared;
    }
    const used = refreshTokenOf(auth);
    let resp;
    try {
      resp = await fetch(REFRESH_PATH, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: used }),
      });
    } catch (_) { return null; }          // offline: the next request tries again
    // logged out or authorized anew meanwhile: leave that state alone
    const still = refreshTokenOf(current()) === used;
    if (resp.ok) {
      const token = await resp.json();
      if (!still) return null;
      store(auth, token);
      return token;
    }
    if (resp.status === 401 && still) {
      window.ui.authActions.logoutWithPersistOption([SCHEME]);
      window.ui.errActions.newAuthErr({
        authId: SCHEME, level: "error", source: "auth",
        message: "The session has ended (its refresh token was refused): Authorize again.",
      });
    }
    return null;                          // 5xx, 503: kept, tried again next time
  };

  // Swagger UI's requestInterceptor (it awaits a Promise)
  const requestInterceptor = req => {
    const path = new URL(req.url || "", window.location.href).pathname;
    if (/\/auth\/(refresh|login)$/.test(path)) return req;   // never intercepted
    const auth = current();
    const token = auth && auth.token;
    const header = req.headers && req.headers.Authorization;
    // only requests sent with this login's access token
    if (!refreshTokenOf(auth) || !token.access_token ||
        !/^bearer /i.test(header || "") || header.slice(7) !== token.access_token ||
        !expiresSoon(token)) {
      return req;
    }
    if (!inflight) inflight = refresh(auth).catch(() => null).finally(() => { inflight = null; });
    return inflight.then(fresh => {
      if (fresh && fresh.access_token) req.headers.Authorization = "Bearer " + fresh.access_token;
      return req;
    });
  };
  return { requestInterceptor };
})();

// Swagger UI keeps the Authorize form's fields with the login it stores,
// the password too, and persistAuthorization writes them to localStorage:
// the password is dropped before it is stored (the refresh token, which
// works once, is what keeps the session).
const forgetPassword = () => ({
  statePlugins: {
    auth: {
      wrapActions: {
        authorizeOauth2WithPersistOption: action => payload => {
          const auth = Object.assign({}, payload && payload.auth);
          delete auth.password;
          return action(Object.assign({}, payload, { auth }));
        },
      },
    },
  },
});

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [forgetPassword],
  layout: "BaseLayout",
  // operations get links (/docs#/users/<operationId>), as in the old
  // service; Swagger UI 5 logs a deprecation notice when it opens one whose
  // operationId holds "_" (FastAPI's ids, kept for generated SDKs)
  deepLinking: true,
  // "Authorize" logs in through POST /auth/login (the document's OAuth2
  // password flow); the token is kept across reloads (localStorage) and
  // refreshed before it expires (usersSession above)
  persistAuthorization: true,
  requestInterceptor: usersSession.requestInterceptor,
  displayRequestDuration: true,
  // no badge fetched from validator.swagger.io: nothing leaves the origin
  validatorUrl: null,
});
