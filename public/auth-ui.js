/* The runtime of the hosted pages: reads the client from `?api_key=` (kept in sessionStorage
 * while the tab lives) or, in an OpenID Connect sign-in, from `?oauth_request=`, the locale
 * from `?locale=` or the browser, applies the tenant's branding from /api/auth/ui/config, and
 * drives each page (<body data-page="...">) through the SDK (authservice.js). No inline script
 * anywhere: the pages run under a strict CSP. */
(function () {
  "use strict";

  /** The languages of the hosted pages. Their texts and error messages are in
   * /i18n/<lang>.json ({language, skip, strings, errors}); English is the fallback. */
  const LANGS = { en: "English", de: "Deutsch", fr: "Français", es: "Español" };
  const I18N = {};
  async function loadLanguage(code) {
    if (!I18N[code]) {
      const res = await fetch(`/i18n/${code}.json`, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`translations for ${code}: HTTP ${res.status}`);
      I18N[code] = await res.json();
    }
    return I18N[code];
  }
  const text = (code, section, key) => (I18N[code] && I18N[code][section] && I18N[code][section][key]) || null;

  const params = new URLSearchParams(location.search);
  const store = window.sessionStorage;
  // The client's API key identifies the application (it is public in any SDK page); it is kept
  // in localStorage so a link from an email, opened in a new tab of the same browser, still
  // knows its client. Session tokens never go to any storage; the redirect target stays per tab.
  // (An organization invitation's token waits in localStorage for a day while its invitee signs
  // in or up: it only works for the invited address, verified, and is cleared once used.)
  const keyStore = window.localStorage;
  const apiKey = params.get("api_key") || keyStore.getItem("authservice.api_key") || "";
  if (params.get("api_key")) keyStore.setItem("authservice.api_key", params.get("api_key"));
  if (params.get("redirect_uri")) {
    // The app's return address and, when it uses PKCE, its S256 code_challenge: both go with
    // the request for the one-time code after sign-in (the app proves the verifier).
    store.setItem("authservice.redirect_uri", params.get("redirect_uri"));
    for (const name of ["code_challenge", "code_challenge_method"]) {
      if (params.get(name)) store.setItem(`authservice.${name}`, params.get(name));
      else store.removeItem(`authservice.${name}`);
    }
  }
  // An OpenID Connect sign-in (an app sent the browser to /t/{slug}/authorize) arrives with
  // `?oauth_request=`: an opaque handle, good for 30 minutes, that names the client in place of
  // the API key. It is kept for this tab (sessionStorage) and, with its time, in this browser
  // (localStorage), so a magic link opened in a new tab still continues the sign-in. It is
  // forgotten after 30 minutes, once used, when the server no longer knows it, and when a page
  // is opened for a client outside any such sign-in (`?api_key=` or `?redirect_uri=`).
  const OAUTH = "authservice.oauth_request";
  const OAUTH_TTL = 30 * 60 * 1000;
  const HANDLE = /^[A-Za-z0-9_-]{1,256}$/;
  const oauthKept = (storage) => {
    try {
      const kept = JSON.parse(storage.getItem(OAUTH) || "null");
      if (kept && HANDLE.test(kept.handle) && Date.now() - kept.at < OAUTH_TTL) return kept;
    } catch (_) { /* not ours */ }
    storage.removeItem(OAUTH);
    return null;
  };
  const oauthDrop = () => { store.removeItem(OAUTH); keyStore.removeItem(OAUTH); };
  let oauthHandle = null;
  let oauthInvalid = false; // an `?oauth_request=` no server would have written
  if (params.get("oauth_request") !== null) {
    const handle = params.get("oauth_request");
    if (HANDLE.test(handle)) {
      // Arriving again with the same handle keeps the time it was first seen.
      const seen = [oauthKept(store), oauthKept(keyStore)].find((k) => k && k.handle === handle);
      const kept = JSON.stringify({ handle, at: seen ? seen.at : Date.now() });
      store.setItem(OAUTH, kept);
      keyStore.setItem(OAUTH, kept);
      oauthHandle = handle;
    } else {
      oauthDrop();
      oauthInvalid = true;
    }
    // The sign-in returns through the server, not to an earlier `redirect_uri` of this tab.
    for (const name of ["redirect_uri", "code_challenge", "code_challenge_method"]) store.removeItem(`authservice.${name}`);
  } else if (params.get("api_key") || params.get("redirect_uri")) {
    oauthDrop();
  } else {
    const kept = oauthKept(store) || oauthKept(keyStore);
    oauthHandle = kept && kept.handle;
  }
  // The pages of signing in (and of the links mailed meanwhile) serve the request; the account
  // pages call the user's own routes, which want the API key.
  const OAUTH_PAGES = ["login", "signup", "forgot-password", "reset-password", "verify-email", "consent"];
  if (!OAUTH_PAGES.includes(document.body.dataset.page)) { oauthHandle = null; oauthInvalid = false; }
  // The consent page is nothing without a request.
  if (document.body.dataset.page === "consent" && !oauthHandle) oauthInvalid = true;
  const pick = (tag) => (tag || "").toLowerCase().split(/[-_]/)[0];
  let lang = [params.get("locale"), store.getItem("authservice.locale"), ...(navigator.languages || [navigator.language])]
    .map(pick).find((l) => LANGS[l]) || "en";
  if (params.get("locale") && LANGS[pick(params.get("locale"))]) store.setItem("authservice.locale", lang);
  const t = (key, vars) => {
    let s = text(lang, "strings", key) || text("en", "strings", key) || key;
    // (A function replacement: a value such as a name with "$&" is inserted as it is.)
    Object.entries(vars || {}).forEach(([k, v]) => { s = s.replace(`{${k}}`, () => v); });
    return s;
  };

  const auth = window.AuthService.createClient(oauthHandle
    ? { baseUrl: location.origin, oauthRequest: oauthHandle, tokenTransport: "cookie" }
    : { baseUrl: location.origin, apiKey, tokenTransport: "cookie" });
  let config = null;

  // ------------------------------------------------------------------ DOM helpers (the SDK's)
  const { el, alertBox, uniqueId, markInvalid, busy } = window.AuthService.dom;
  const field = (label, attrs, hint) => window.AuthService.dom.field(label, attrs, { hint });
  const button = (text, attrs) => el("button", Object.assign({ class: "as-btn", type: "submit" }, attrs), [text]);
  const okBox = (text) => el("div", { class: "as-alert as-ok", role: "status" }, [text]);
  const showError = (box, err) => {
    box.className = "as-alert as-error";
    box.setAttribute("role", "alert");
    const byCode = err && ((err.authCode && text(lang, "strings", err.authCode)) || (err.code && text(lang, "errors", err.code)));
    box.textContent = byCode || (lang === "en" && err && err.userMessage) || t("error");
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    box.focus();
  };
  const showOk = (box, text) => {
    box.className = "as-alert as-ok";
    box.setAttribute("role", "status");
    box.textContent = text;
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    box.focus();
  };

  /** Runs a sensitive account action. When the server wants a recent sign-in
   * (`reauthentication_required`), a form after `box` asks for the password, an authenticator
   * code or a passkey, and the action runs again once confirmed (Cancel gives up). */
  function guarded(box, action) {
    return auth.withReauthentication(action, () => new Promise((resolve, reject) => {
      const note = alertBox();
      const pass = field(t("password"), { type: "password", autocomplete: "current-password" });
      const code = field(t("code"), { inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 });
      const ok = button(t("confirm"), { class: "as-btn as-inline" });
      const cancel = button(t("cancel"), { type: "button", class: "as-btn as-secondary as-inline" });
      const actions = [ok, cancel];
      const f = el("form", { class: "as-stack as-reauth", "aria-labelledby": "reauth-title" }, [
        el("h3", { id: "reauth-title", text: t("reauthTitle") }), el("p", { text: t("reauthLead") }),
        note, pass.wrap, code.wrap, el("div", { class: "as-row" }, actions)]);
      const finish = (fn) => { f.remove(); fn(); };
      if (auth.passkeys.supported()) {
        const pk = button(t("reauthPasskey"), { type: "button", class: "as-btn as-secondary as-inline" });
        pk.addEventListener("click", () => busy(pk, async () => {
          try { await auth.reauthenticate({ passkey: true }); finish(resolve); } catch (err) { showError(note, err); }
        }));
        actions.splice(1, 0, pk);
        f.querySelector(".as-row").replaceChildren(...actions);
      }
      f.addEventListener("submit", (e) => {
        e.preventDefault();
        busy(ok, async () => {
          const c = code.input.value.trim();
          try { await auth.reauthenticate(c ? { code: c } : { password: pass.input.value }); finish(resolve); } catch (err) {
            showError(note, err);
            markInvalid(pass.input, code.input);
          }
        });
      });
      cancel.addEventListener("click", () => finish(() => reject(Object.assign(new Error("cancelled"), { code: "reauthentication_required" }))));
      box.hidden = true;
      box.after(f);
      pass.input.focus();
    }));
  }
  const main = () => document.getElementById("main");
  function page(title, lead, children, wide) {
    document.title = config ? `${title} · ${config.brand_name}` : title;
    const card = el("section", { class: "as-card", "aria-labelledby": "page-title" }, [
      el("h1", { class: "as-title", id: "page-title", text: title }),
      lead ? el("p", { class: "as-lead", text: lead }) : null,
      ...children,
    ]);
    main().classList.toggle("as-wide", Boolean(wide));
    main().replaceChildren(brandHeader(), card);
    const first = card.querySelector("input, button");
    if (first && !wide) first.focus();
    return card;
  }
  function brandHeader() {
    const kids = [];
    if (config && config.logo_url) kids.push(el("img", { src: config.logo_url, alt: config.brand_name }));
    else kids.push(el("span", { class: "as-brand-name", text: (config && config.brand_name) || "AuthService" }));
    return el("header", { class: "as-brand" }, kids);
  }
  /** An internal path carrying the client's key — or, in an OpenID Connect sign-in, its
   * request's handle — (so a link opened in a new tab still works). */
  const withKey = (path) => {
    if (!apiKey && !oauthHandle) return path;
    const url = new URL(path, location.origin);
    if (oauthHandle) url.searchParams.set("oauth_request", oauthHandle);
    else url.searchParams.set("api_key", apiKey);
    url.searchParams.set("locale", lang);
    return url.pathname + url.search;
  };
  const link = (href, text) => el("a", { href: withKey(href) }, [text]);

  // ------------------------------------------------------------------ OpenID Connect sign-in
  let oauthInfo = null; // the request, read once per page load
  /** The OpenID Connect request this page serves (null outside one): its app, scopes, login
   * hint, where to continue and who is signed in. A handle the server no longer knows is
   * forgotten here too. */
  function oauthRequest() {
    if (oauthInvalid) {
      return Promise.reject(new window.AuthService.AuthError(404, { code: "oauth_request_not_found", message: "malformed oauth_request" }));
    }
    if (!oauthHandle) return Promise.resolve(null);
    if (!oauthInfo) {
      oauthInfo = auth.oauthRequest.get(oauthHandle).catch((err) => {
        oauthInfo = null;
        if (err && err.code === "oauth_request_not_found") oauthDrop();
        throw err;
      });
    }
    return oauthInfo;
  }
  /** The request for a page of signing in; when it cannot be read the page (titled `title`)
   * says why and offers nothing else — without it the server knows no client — → undefined. */
  async function oauthFor(title) {
    try { return await oauthRequest(); } catch (err) {
      const box = alertBox();
      page(title, "", [box]);
      showError(box, err);
      return undefined;
    }
  }
  /** The app's name, for the texts. */
  const appName = (info) => (info && info.app && (info.app.name || info.app.client_id)) || (config && config.brand_name) || "";
  /** The server's `continue_url` when it is a path of this server's authorization endpoint
   * (`/t/{slug}/...`), else null. */
  function continuePath(value) {
    if (typeof value !== "string" || !value.startsWith("/t/")) return null;
    try {
      const url = new URL(value, location.origin);
      return url.origin === location.origin && url.pathname.startsWith("/t/") ? url.pathname + url.search : null;
    } catch (_) { return null; }
  }
  /** Signed in during an OpenID Connect sign-in: back to the server's authorization endpoint,
   * which sends the browser on to the app or to the consent page. The handle is spent (the
   * server names it again in the address of whatever page comes next). */
  async function continueOAuth() {
    let target = null;
    let failure = null;
    try { target = continuePath((await oauthRequest() || {}).continue_url); } catch (err) { failure = err; }
    if (target) {
      oauthDrop();
      location.assign(target);
      return;
    }
    const box = alertBox();
    page(t("signInTitle"), "", [box]);
    showError(box, failure);
  }

  // ------------------------------------------------------------------ navigation after sign-in
  /** An organization invitation's token, kept while its invitee signs in or signs up — in this
   * browser (localStorage), so the verification link, opened in another tab, still leads back
   * to it; forgotten after a day, once used, or when the link can never work. */
  const INVITATION = "authservice.invitation";
  const invitation = {
    get() {
      try {
        const kept = JSON.parse(keyStore.getItem(INVITATION) || "null");
        if (kept && kept.token && Date.now() - kept.at < 86400000) return kept.token;
      } catch (_) { /* not ours */ }
      keyStore.removeItem(INVITATION);
      return null;
    },
    set(token) { keyStore.setItem(INVITATION, JSON.stringify({ token, at: Date.now() })); },
    clear() { keyStore.removeItem(INVITATION); },
  };
  /** After sign-in: in an OpenID Connect sign-in on to the server's authorization endpoint;
   * else back to the app (a `redirect_uri` the server accepts for this client: one of its
   * registered redirect URIs) with a one-time `auth_code` it exchanges for its own session,
   * else the invitation page when an invitation waits, else the account page. */
  async function afterSignIn() {
    // A social sign-in that found this account: the provider joins it now that its owner
    // signed in (a link that fails leaves the sign-in as it is).
    const linkToken = store.getItem("authservice.link_token");
    if (linkToken) {
      store.removeItem("authservice.link_token");
      try { await auth.identities.completeLink(linkToken); } catch (_) { /* expired or used: nothing joined */ }
    }
    if (oauthHandle) { await continueOAuth(); return; }
    const target = store.getItem("authservice.redirect_uri");
    const challenge = store.getItem("authservice.code_challenge");
    const method = store.getItem("authservice.code_challenge_method");
    for (const name of ["redirect_uri", "code_challenge", "code_challenge_method"]) store.removeItem(`authservice.${name}`);
    if (target) {
      try {
        const url = new URL(target);
        // The server's rule, checked here first so a foreign address costs no refused request:
        // a registered redirect URI exactly, or — for clients without any — an allowed origin.
        const registered = (config && config.redirect_uris) || [];
        const origins = (config && config.allowed_redirect_origins) || [];
        const acceptable = registered.length ? registered.includes(target) : origins.includes(url.origin);
        if ((url.protocol === "https:" || url.protocol === "http:") && acceptable) {
          const { code } = await auth.redirectCode({
            redirectUri: target,
            codeChallenge: challenge || undefined,
            codeChallengeMethod: challenge ? method || "S256" : undefined,
          });
          url.searchParams.set("auth_code", code);
          location.assign(url.href);
          return;
        }
      } catch (_) { /* not a URL, or no code: the account page instead */ }
    }
    location.assign(withKey(invitation.get() ? "/accept-invitation.html" : "/account.html"));
  }

  // ------------------------------------------------------------------ pages
  /** How a social provider is named on buttons. */
  const PROVIDER_NAMES = { google: "Google", microsoft: "Microsoft", apple: "Apple", github: "GitHub", discord: "Discord", oidc: "OpenID Connect" };
  const providerName = (p) => PROVIDER_NAMES[p] || p;
  /** A random state for this tab: the code that comes back to the login page is exchanged
   * only with it, so a code of someone else's sign-in cannot be planted in this page. */
  function tabState() {
    const state = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    store.setItem("authservice.sso_state", state);
    return state;
  }
  /** The login page's texts for the SDK's sign-in widget (same keys). */
  const SIGN_IN_TEXTS = ["email", "password", "signIn", "passkey", "or", "magicLink", "magicSent",
    "code", "recoveryCode", "verify", "useTotp", "usePasskey", "useRecovery"];
  let signIn = null; // the mounted widget (a language switch mounts a new one)
  /** The SDK's sign-in widget in the page's card: the second factor retitles the card. In an
   * OpenID Connect sign-in the lead names the app and the email comes from its login hint. */
  async function loginPage() {
    if (signIn) signIn.unmount();
    const oauth = await oauthFor(t("signInTitle"));
    if (oauth === undefined) return;
    const methods = (config && config.methods) || {};
    const slot = el("div");
    signIn = auth.mountSignIn(slot, {
      // No heading or lead inside the widget: the card's title and lead say it.
      text: Object.assign(Object.fromEntries(SIGN_IN_TEXTS.map((k) => [k, t(k)])), { twoFactor: "", twoFactorLead: "" }),
      passkey: methods.passkey !== false,
      magicLink: methods.magic_link !== false,
      email: oauth ? oauth.login_hint || params.get("email") || undefined : undefined,
      showError,
      showOk,
      onSecondFactor: (method) => page(t("twoFactorTitle"), method === "totp" ? t("twoFactorLead") : "", [slot]),
      onSuccess: () => { afterSignIn(); },
    });
    // Enterprise SSO (when the client has a connection): the address's domain picks the
    // organization's identity provider; the way back is this page with a one-time code.
    const sso = [];
    if (methods.sso && !oauth) {
      const go = button(t("ssoSignIn"), { type: "button", class: "as-btn as-secondary", "data-sso": "" });
      go.addEventListener("click", () => {
        const input = slot.querySelector('input[type="email"]');
        const email = input ? input.value.trim() : "";
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
          signIn.showError({ authCode: "ssoEmailFirst" });
          if (input) input.focus();
          return;
        }
        location.assign(`/api/auth/sso?${new URLSearchParams({ api_key: apiKey, email, state: tabState() })}`);
      });
      sso.push(go);
    }
    // Social providers the client offers: the provider's sign-in, back here with a code.
    if (!oauth) {
      for (const p of methods.social || []) {
        const go = button(t("continueWith", { provider: providerName(p) }), { type: "button", class: "as-btn as-secondary", "data-social": p });
        go.addEventListener("click", () => {
          location.assign(`/api/auth/oauth/${encodeURIComponent(p)}?${new URLSearchParams({ api_key: apiKey, state: tabState() })}`);
        });
        sso.push(go);
      }
    }
    page(t("signInTitle"), oauth ? t("oauthSignInLead", { app: appName(oauth) }) : t("signInLead"), [slot, ...sso,
      el("div", { class: "as-links" }, [link("/signup.html", t("noAccount")), link("/forgot-password.html", t("forgot"))])]);
    const error = params.get("error");
    const linkToken = params.get("link_token");
    if (error === "sso_account_conflict" && linkToken) {
      // The provider vouched for the address of an existing account: its owner signs in
      // here first, then the provider joins the account.
      store.setItem("authservice.link_token", linkToken);
      history.replaceState(null, "", `${location.pathname}?${new URLSearchParams({ api_key: apiKey })}`);
      const named = PROVIDER_NAMES[params.get("provider")] || "";
      if (named) signIn.showOk(t("linkAfterSignIn", { provider: named }));
    } else if (error) {
      // (A stable code from the server: the SSO way back and other redirects.)
      signIn.showError({ authCode: error, code: error });
    }
    const code = params.get("auth_code");
    if (code) {
      history.replaceState(null, "", location.pathname);
      const ssoState = store.getItem("authservice.sso_state");
      store.removeItem("authservice.sso_state");
      try { const r = await auth.exchangeCode(code, { state: ssoState || undefined }); if (r.requires2fa) signIn.secondFactor(r); else afterSignIn(); return; } catch (err) { signIn.showError(err); }
    }
    await signIn.autofill();
  }

  async function signupPage() {
    const oauth = await oauthFor(t("signUpTitle"));
    if (oauth === undefined) return;
    const box = alertBox();
    const name = field(t("name"), { type: "text", autocomplete: "name" });
    const email = field(t("email"), { type: "email", autocomplete: "email", required: true });
    const password = field(t("password"), { type: "password", autocomplete: "new-password", required: true, minlength: 8 }, t("passwordHint"));
    const submit = button(t("createAccount"));
    const form = el("form", { class: "as-stack", novalidate: true }, [box, name.wrap, email.wrap, password.wrap, submit]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(submit, async () => {
        try {
          const r = await auth.signup({ email: email.input.value.trim(), password: password.input.value, displayName: name.input.value.trim() || undefined });
          if (r.verificationRequired) {
            // No session yet: the same answer whether or not the address already had an account.
            page(t("signUpTitle"), "", [okBox(t("checkEmail")), link("/login.html", t("haveAccount"))]);
            return;
          }
          const kids = [okBox(t("signedUp"))];
          // (Not in an OpenID Connect sign-in: adding a passkey is an account route, for API keys.)
          if (auth.passkeys.supported() && !oauth) {
            const add = button(t("addPasskeyNow"), { type: "button", class: "as-btn as-secondary" });
            const note = alertBox();
            add.addEventListener("click", () => busy(add, async () => {
              try { await auth.passkeys.register(t("passkeys")); afterSignIn(); } catch (err) { showError(note, err); }
            }));
            kids.push(note, add);
          }
          const next = button(t("continue"), { type: "button" });
          next.addEventListener("click", afterSignIn);
          kids.push(next);
          page(t("signUpTitle"), "", [el("div", { class: "as-stack" }, kids)]);
        } catch (err) { showError(box, err); markInvalid(email.input, password.input); }
      });
    });
    page(t("signUpTitle"), oauth ? t("oauthSignUpLead", { app: appName(oauth) }) : t("signUpLead"), [form, el("div", { class: "as-links" }, [link("/login.html", t("haveAccount"))])]);
  }

  function forgotPage() {
    const box = alertBox();
    const email = field(t("email"), { type: "email", autocomplete: "email", required: true });
    const submit = button(t("sendLink"));
    const form = el("form", { class: "as-stack", novalidate: true }, [box, email.wrap, submit]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(submit, async () => {
        try { await auth.forgotPassword(email.input.value.trim()); showOk(box, t("forgotSent")); } catch (err) { showError(box, err); }
      });
    });
    page(t("forgotTitle"), t("forgotLead"), [form, el("div", { class: "as-links" }, [link("/login.html", t("backToSignIn"))])]);
  }

  let urlToken;
  /** The page's `?token=` (or `#token=`), taken out of the address bar once and kept here. */
  function tokenFromUrl() {
    if (urlToken === undefined) {
      urlToken = params.get("token") || new URLSearchParams(location.hash.slice(1)).get("token") || null;
      if (urlToken) history.replaceState(null, "", location.pathname);
    }
    return urlToken;
  }

  function resetPage() {
    const token = tokenFromUrl();
    const box = alertBox();
    if (!token) { page(t("resetTitle"), "", [okBox(t("missingToken")), el("div", { class: "as-links" }, [link("/forgot-password.html", t("forgot"))])]); return; }
    const password = field(t("newPassword"), { type: "password", autocomplete: "new-password", required: true, minlength: 8 }, t("passwordHint"));
    const submit = button(t("setPassword"));
    const form = el("form", { class: "as-stack", novalidate: true }, [box, password.wrap, submit]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(submit, async () => {
        try {
          await auth.resetPassword({ token, newPassword: password.input.value });
          page(t("resetTitle"), "", [okBox(t("resetDone")), el("div", { class: "as-links" }, [link("/login.html", t("backToSignIn"))])]);
        } catch (err) { showError(box, err); markInvalid(password.input); }
      });
    });
    page(t("resetTitle"), "", [form]);
  }

  let verifying = null;
  async function verifyPage() {
    const token = tokenFromUrl();
    const status = el("div", { role: "status", class: "as-alert as-ok", text: t("verifying") });
    page(t("verifyTitle"), "", [status, el("div", { class: "as-links" }, [link("/login.html", t("backToSignIn"))])]);
    if (!token) { status.textContent = t("missingToken"); return; }
    // Verified once per page load (a language switch re-renders without re-sending the token).
    verifying = verifying || auth.verifyEmail(token);
    try { await verifying; status.textContent = t("verified"); } catch (err) { showError(status, err); }
  }

  /** What each OpenID Connect scope lets an app use, in words; any other scope by its name. */
  const SCOPE_TEXT = { openid: "scopeOpenid", profile: "scopeProfile", email: "scopeEmail", offline_access: "scopeOfflineAccess" };
  const scopeList = (scopes, attrs) => el("ul", Object.assign({ class: "as-scopes" }, attrs),
    [...new Set(scopes || [])].map((s) => el("li", { text: SCOPE_TEXT[s] ? t(SCOPE_TEXT[s]) : s })));
  /** The server's `redirect_to`: the app's registered redirect URI, on any origin (a native
   * app's own scheme too) — only never a scheme that runs or embeds content here. */
  function appAddress(value) {
    try {
      const url = new URL(value);
      return ["javascript:", "data:", "vbscript:", "blob:", "file:"].includes(url.protocol) ? null : url.href;
    } catch (_) { return null; }
  }

  /** consent.html: an app asks, through the OpenID Connect request of `?oauth_request=`, to
   * access the account signed in to this browser. Allow or Deny; the server answers with where
   * the browser goes (the app's redirect URI, with a code or the refusal). Nobody signed in:
   * the login page first, which comes back here through the server. */
  async function consentPage() {
    // Busy until the request is read (assistive technology waits; so do the tests).
    main().setAttribute("aria-busy", "true");
    let leaving = false;
    try {
      const info = await oauthFor(t("authorizeTitle"));
      if (!info) return;
      if (!info.user) {
        leaving = true;
        location.replace(withKey("/login.html"));
        return;
      }
      consentView(info);
    } finally {
      if (!leaving) main().setAttribute("aria-busy", "false");
    }
  }

  function consentView(info) {
    const app = appName(info);
    const box = alertBox();
    const allow = button(t("consentAllow"), { type: "button", id: "consent-allow", name: "consent", value: "allow" });
    const deny = button(t("consentDeny"), { type: "button", id: "consent-deny", name: "consent", value: "deny", class: "as-btn as-secondary" });
    async function decide(approve) {
      allow.disabled = true;
      deny.disabled = true;
      try {
        const { redirectTo } = await auth.oauthRequest.consent(oauthHandle, approve);
        const target = appAddress(redirectTo);
        if (!target) throw new window.AuthService.AuthError(502, { code: "invalid_redirect", message: "no usable redirect_to" });
        oauthDrop();
        // Stays disabled while the browser leaves.
        location.assign(target);
      } catch (err) {
        if (err && err.code === "oauth_request_not_found") oauthDrop();
        allow.disabled = false;
        deny.disabled = false;
        showError(box, err);
      }
    }
    allow.addEventListener("click", () => decide(true));
    deny.addEventListener("click", () => decide(false));
    page(t("consentTitle", { app }), t("consentSignedInAs", { email: (info.user && info.user.email) || "" }), [
      box,
      el("h2", { class: "as-subtitle", id: "consent-scopes", text: t("consentScopes") }),
      scopeList(info.scopes, { "aria-labelledby": "consent-scopes" }),
      el("p", { class: "as-hint", text: t("consentRevokeHint") }),
      allow, deny]);
    // No button has the focus at first: an Enter meant for something else allows nothing.
    focusHeading("page-title");
  }

  function section(title, id, children) {
    return el("section", { class: "as-card", "aria-labelledby": id }, [el("h2", { class: "as-subtitle", id, text: title }), ...children]);
  }
  const fmt = (iso) => (iso ? new Date(iso).toLocaleString(lang) : t("never"));
  /** After a list re-renders, keep keyboard users in place: focus its section heading. */
  const focusHeading = (id) => {
    const h = document.getElementById(id);
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
  };

  // ------------------------------------------------------------------ account page sections
  /** Profile: display name and language. */
  function profileSection(me) {
    const pBox = alertBox();
    const dn = field(t("displayName"), { type: "text", autocomplete: "name", value: me.display_name || "" });
    const langId = uniqueId();
    const langSel = el("select", { id: langId, name: "locale" }, Object.entries(LANGS).map(([code, label]) =>
      el("option", { value: code, selected: (me.locale || lang) === code }, [label])));
    const pSave = button(t("save"), { class: "as-btn as-inline" });
    const pForm = el("form", { class: "as-stack" }, [pBox, el("p", { class: "as-meta", text: me.email }), dn.wrap,
      el("div", { class: "as-field" }, [el("label", { for: langId, text: t("language") }), langSel]), pSave]);
    pForm.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(pSave, async () => {
        try { await auth.updateProfile({ displayName: dn.input.value.trim(), locale: langSel.value }); showOk(pBox, t("saved")); } catch (err) { showError(pBox, err); }
      });
    });
    return section(t("profile"), "s-profile", [pForm]);
  }

  /** Password change; `onChanged` runs after a change (other sessions were ended). */
  function passwordSection(onChanged) {
    const cBox = alertBox();
    const cur = field(t("currentPassword"), { type: "password", autocomplete: "current-password", required: true });
    const next = field(t("newPassword"), { type: "password", autocomplete: "new-password", required: true }, t("passwordHint"));
    const cSave = button(t("changePassword"), { class: "as-btn as-inline" });
    const cForm = el("form", { class: "as-stack" }, [cBox, cur.wrap, next.wrap, cSave]);
    cForm.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(cSave, async () => {
        try { await auth.changePassword({ currentPassword: cur.input.value, newPassword: next.input.value }); cForm.reset(); showOk(cBox, t("passwordChanged")); onChanged(); } catch (err) { showError(cBox, err); }
      });
    });
    return section(t("changePassword"), "s-password", [cForm]);
  }

  /** The user's sessions, each revocable; `render` (re)loads the list. */
  function sessionsSection() {
    const sBox = alertBox();
    const sList = el("ul", { class: "as-list", id: "sessions" });
    const others = button(t("revokeOthers"), { type: "button", class: "as-btn as-secondary as-inline" });
    others.addEventListener("click", () => busy(others, async () => {
      try { await guarded(sBox, () => auth.sessions.revokeOthers()); showOk(sBox, t("revoked")); render(); } catch (err) { showError(sBox, err); }
    }));
    async function render() {
      const list = await auth.sessions.list();
      sList.replaceChildren(...list.map((s) => {
        const label = `${s.user_agent || "—"}`;
        const btn = s.current
          ? el("span", { class: "as-meta", text: t("thisDevice") })
          : el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${t("revoke")}: ${label}`, text: t("revoke") });
        if (!s.current) btn.addEventListener("click", () => busy(btn, async () => {
          try { await auth.sessions.revoke(s.id); showOk(sBox, t("revoked")); render(); } catch (err) { showError(sBox, err); }
        }));
        return el("li", { "data-session": s.id }, [el("div", {}, [el("div", { text: label }), el("div", { class: "as-meta", text: `${s.ip || ""} · ${fmt(s.last_used_at)}` })]), btn]);
      }));
    }
    return { node: section(t("sessions"), "s-sessions", [sBox, sList, others]), render };
  }

  /** Authenticator app (TOTP); `onChange` runs when it is turned on or off. */
  function totpSection(onChange) {
    const tBox = alertBox();
    const tBody = el("div", { class: "as-stack" });
    async function render() {
      const u = await auth.me();
      if (!u.totp_enabled) {
        const start = button(t("enableTotp"), { type: "button", class: "as-btn as-inline" });
        start.addEventListener("click", () => busy(start, async () => {
          try {
            const setup = await guarded(tBox, () => auth.totp.setup());
            const code = field(t("confirmCode"), { inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 6 });
            const on = button(t("enable"), { class: "as-btn as-inline" });
            const f = el("form", { class: "as-stack" }, [
              el("p", { text: t("scanQr") }),
              el("img", { class: "as-qr", src: setup.qr_code, alt: t("qrAlt") }),
              el("p", { class: "as-secret", id: "totp-secret", text: setup.secret }),
              code.wrap, on]);
            f.addEventListener("submit", (e) => {
              e.preventDefault();
              busy(on, async () => {
                try {
                  const res = await auth.totp.enable(code.input.value.trim());
                  tBody.replaceChildren(okBox(t("totpOn")), el("p", { text: t("recoveryShown") }),
                    el("ul", { class: "as-codes", id: "recovery-codes" }, res.recovery_codes.map((c) => el("li", { text: c }))));
                  onChange();
                } catch (err) { showError(tBox, err); }
              });
            });
            tBody.replaceChildren(f);
            code.input.focus();
          } catch (err) { showError(tBox, err); }
        }));
        tBody.replaceChildren(el("p", { text: t("totpOff") }), start);
      } else {
        const code = field(t("code"), { inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 });
        const pass = field(t("orPassword"), { type: "password", autocomplete: "current-password" });
        const off = button(t("disable"), { class: "as-btn as-danger as-inline" });
        const f = el("form", { class: "as-stack" }, [el("p", { text: t("totpOn") }), el("p", { class: "as-hint", text: t("disableWith") }), code.wrap, pass.wrap, off]);
        f.addEventListener("submit", (e) => {
          e.preventDefault();
          busy(off, async () => {
            const c = code.input.value.trim();
            try { await auth.totp.disable(c ? { code: c } : { password: pass.input.value }); render(); onChange(); } catch (err) { showError(tBox, err); }
          });
        });
        tBody.replaceChildren(f);
      }
    }
    return { node: section(t("twoFactor"), "s-totp", [tBox, tBody]), render };
  }

  /** Recovery codes: how many are left, and new ones. */
  function recoverySection() {
    const rBox = alertBox();
    const rBody = el("div", { class: "as-stack" });
    async function render() {
      const s = await auth.recoveryCodes.status();
      const regen = button(t("regenerate"), { type: "button", class: "as-btn as-secondary as-inline" });
      regen.addEventListener("click", () => busy(regen, async () => {
        try {
          const codes = await guarded(rBox, () => auth.recoveryCodes.regenerate());
          rBody.replaceChildren(el("p", { text: t("recoveryShown") }), el("ul", { class: "as-codes" }, codes.map((c) => el("li", { text: c }))));
        } catch (err) { showError(rBox, err); }
      }));
      rBody.replaceChildren(el("p", { text: t("remaining", { n: s.remaining, total: s.total }) }), regen);
    }
    return { node: section(t("recoveryTitle"), "s-recovery", [rBox, rBody]), render };
  }

  /** Passkeys: list, rename, remove, add. */
  function passkeysSection() {
    const kBox = alertBox();
    const kList = el("ul", { class: "as-list", id: "passkeys" });
    async function render() {
      const keys = await auth.passkeys.list();
      if (!keys.length) { kList.replaceChildren(el("li", { text: t("noPasskeys") })); return; }
      kList.replaceChildren(...keys.map((k) => {
        const rename = el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${t("rename")}: ${k.name}`, text: t("rename") });
        const remove = el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${t("remove")}: ${k.name}`, text: t("remove") });
        rename.addEventListener("click", () => {
          const name = field(t("passkeyName"), { type: "text", value: k.name, required: true, maxlength: 64 });
          const save = button(t("save"), { class: "as-btn as-inline" });
          const f = el("form", { class: "as-row" }, [name.wrap, save]);
          f.addEventListener("submit", (e) => {
            e.preventDefault();
            busy(save, async () => {
              try { await auth.passkeys.rename(k.id, name.input.value.trim()); await render(); focusHeading("s-passkeys"); } catch (err) { showError(kBox, err); }
            });
          });
          item.replaceChildren(f);
          name.input.focus();
        });
        remove.addEventListener("click", () => busy(remove, async () => {
          try { await guarded(kBox, () => auth.passkeys.remove(k.id)); await render(); focusHeading("s-passkeys"); } catch (err) { showError(kBox, err); }
        }));
        const item = el("li", { "data-passkey": k.id }, [
          el("div", {}, [el("div", { text: k.name }), el("div", { class: "as-meta", text: `${t("created")} ${fmt(k.created_at)} · ${t("lastUsed")} ${fmt(k.last_used_at)}` })]),
          el("div", { class: "as-row" }, [rename, remove])]);
        return item;
      }));
    }
    const add = button(t("addPasskey"), { type: "button", class: "as-btn as-inline" });
    add.addEventListener("click", () => busy(add, async () => {
      try { await guarded(kBox, () => auth.passkeys.register(`${t("passkeys")} ${new Date().toLocaleDateString(lang)}`)); render(); } catch (err) { showError(kBox, err); }
    }));
    return { node: section(t("passkeys"), "s-passkeys", [kBox, kList, add]), render };
  }

  /** Connected apps: the apps the user allowed (OpenID Connect), what each may use and since
   * when; Revoke access (the app asks again next time). */
  function connectedAppsSection() {
    const aBox = alertBox();
    const aList = el("ul", { class: "as-list", id: "connected-apps" });
    async function render() {
      const apps = await auth.consents.list();
      if (!apps || !apps.length) { aList.replaceChildren(el("li", { text: t("noApps") })); return; }
      aList.replaceChildren(...apps.map((a) => {
        const name = a.name || a.app_id;
        const revoke = el("button", { class: "as-btn as-secondary as-inline", type: "button", "data-revoke-app": a.app_id, "aria-label": `${t("revokeApp")}: ${name}`, text: t("revokeApp") });
        revoke.addEventListener("click", () => busy(revoke, async () => {
          try { await guarded(aBox, () => auth.consents.revoke(a.app_id)); await render(); showOk(aBox, t("appRevoked", { name })); } catch (err) { showError(aBox, err); }
        }));
        return el("li", { "data-app": a.app_id }, [
          el("div", {}, [el("div", { text: name }), scopeList(a.scopes, { "aria-label": t("appScopes", { name }) }),
            el("div", { class: "as-meta", text: `${t("appConnected")} ${fmt(a.granted_at)}` })]),
          revoke]);
      }));
    }
    // A list that cannot load says so in its own section; the rest of the page stays usable.
    const load = () => render().catch((err) => { aList.replaceChildren(); showError(aBox, err); });
    return { node: section(t("connectedApps"), "s-apps", [aBox, aList]), load };
  }

  /** Connected accounts: the social providers the client offers, each connected to this
   * account or not; Connect (the provider's sign-in, back here) and Disconnect. */
  function identitiesSection() {
    const iBox = alertBox();
    const iList = el("ul", { class: "as-list", id: "connected-accounts" });
    const offered = (config && config.methods && config.methods.social) || [];
    const nameOf = providerName;
    async function render() {
      const connected = new Set((await auth.identities.list()).map((i) => i.provider));
      iList.replaceChildren(...offered.map((p) => {
        const on = connected.has(p);
        const action = el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${on ? t("disconnect") : t("connect")}: ${nameOf(p)}`, text: on ? t("disconnect") : t("connect") });
        action.addEventListener("click", () => busy(action, async () => {
          try {
            if (on) { await guarded(iBox, () => auth.identities.disconnect(p)); await render(); return; }
            const { url } = await guarded(iBox, () => auth.identities.connect(p));
            location.assign(url);
          } catch (err) { showError(iBox, err); }
        }));
        return el("li", { "data-provider": p }, [el("div", {}, [el("div", { text: nameOf(p) }),
          el("div", { class: "as-meta", text: on ? t("providerConnected") : t("providerNotConnected") })]), action]);
      }));
      if (params.get("connected")) showOk(iBox, t("providerConnected"));
    }
    const load = () => render().catch((err) => { iList.replaceChildren(); showError(iBox, err); });
    return offered.length ? { node: section(t("connectedAccounts"), "s-identities", [iBox, iList]), load } : null;
  }

  /** The organizations part (auth-ui-orgs.js, loaded before this file by the pages using it),
   * built once with this file's helpers; null on pages without it. */
  let orgsUi;
  function orgs() {
    if (orgsUi === undefined) {
      orgsUi = window.AuthUIOrgs ? window.AuthUIOrgs({
        auth, t, el, field, button, okBox, alertBox, busy, showError, showOk, markInvalid, uniqueId,
        guarded, page, section, link, fmt, main, store, tokenFromUrl, invitation,
      }) : null;
    }
    return orgsUi;
  }

  async function accountPage() {
    try { await auth.refresh(); } catch (_) { location.replace(withKey("/login.html")); return; }
    const me = await auth.me();
    document.title = `${t("accountTitle")} · ${(config && config.brand_name) || ""}`;
    const sessions = sessionsSection();
    const recovery = recoverySection();
    const totp = totpSection(() => recovery.render());
    const passkeys = auth.passkeys.supported() ? passkeysSection() : null;
    const apps = connectedAppsSection();
    const identities = identitiesSection();
    const organizations = orgs() ? orgs().organizationsSection() : null;
    const sections = [profileSection(me), passwordSection(() => sessions.render()), sessions.node, totp.node, recovery.node];
    if (passkeys) sections.push(passkeys.node);
    if (identities) sections.push(identities.node);
    sections.push(apps.node);
    if (organizations) sections.push(organizations.node);

    const out = button(t("signOut"), { type: "button", class: "as-btn as-secondary" });
    out.addEventListener("click", async () => { await auth.logout().catch(() => {}); location.assign(withKey("/login.html")); });

    main().classList.add("as-wide");
    // Busy until every section has loaded (assistive technology waits; so do the tests).
    main().setAttribute("aria-busy", "true");
    main().replaceChildren(brandHeader(), el("h1", { class: "as-title", id: "page-title", text: t("accountTitle") }), ...sections, out);
    try {
      await Promise.all([sessions.render(), totp.render(), recovery.render(), passkeys ? passkeys.render() : null,
        apps.load(), identities ? identities.load() : null, organizations ? organizations.render() : null]);
    } finally {
      main().setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ chrome
  function languagePicker() {
    const id = "lang-picker";
    const sel = el("select", { id }, Object.entries(LANGS).map(([code, label]) => el("option", { value: code, selected: code === lang }, [label])));
    // Switch in place (a reload would lose what the page already consumed, e.g. a reset token).
    sel.addEventListener("change", async () => {
      lang = sel.value;
      store.setItem("authservice.locale", lang);
      await loadLanguage(lang);
      render();
    });
    return el("footer", { class: "as-footer" }, [el("label", { for: id, text: `${t("languageLabel")} ` }), sel]);
  }

  async function render() {
    document.documentElement.lang = lang;
    const old = document.querySelector("footer.as-footer");
    if (old) old.remove();
    document.body.append(languagePicker());
    const pages = {
      login: loginPage, signup: signupPage, "forgot-password": forgotPage, "reset-password": resetPage, "verify-email": verifyPage, account: accountPage,
      "accept-invitation": () => orgs().acceptInvitationPage(), consent: consentPage,
    };
    const run = pages[document.body.dataset.page];
    if (run) {
      try { await run(); } catch (err) { const box = alertBox(); main().replaceChildren(brandHeader(), box); showError(box, err); }
    }
  }

  async function start() {
    await Promise.all([loadLanguage("en"), loadLanguage(lang)]);
    document.documentElement.lang = lang;
    const skip = document.querySelector(".as-skip");
    if (skip) skip.textContent = I18N[lang].skip;
    try {
      config = await auth.uiConfig();
      if (/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(config.primary_color || "")) {
        document.documentElement.style.setProperty("--as-brand", config.primary_color);
      }
    } catch (_) { config = null; }
    await render();
  }

  window.AuthUI = { t, lang: () => lang, auth, withKey };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
