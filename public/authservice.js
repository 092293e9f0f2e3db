/*! AuthService browser SDK — dependency free.
 *
 *   const auth = AuthService.createClient({ baseUrl, apiKey, tokenTransport: "cookie" });
 *   const result = await auth.login({ email, password });
 *   if (result.requires2fa) await auth.verifyTotp({ twoFactorToken: result.twoFactorToken, code });
 *
 * Tokens live in memory only. With the default cookie transport the refresh token stays in the
 * HttpOnly `auth_refresh` cookie (the SDK never sees it); with `tokenTransport: "json"` (alias
 * `sessionMode: "token"`) it is kept in memory for this page's life. Nothing is written to
 * localStorage, and no token is ever put in a URL.
 *
 * In an OpenID Connect sign-in (an app sent the browser to `/t/{slug}/authorize`) the hosted
 * pages have no API key: `createClient({ baseUrl, oauthRequest })` names the client by the
 * request's handle (`?oauth_request=`, sent as `X-OAuth-Request`) instead. `oauthRequest.get`
 * and `oauthRequest.consent` read and answer such a request; `consents.list` and
 * `consents.revoke` are the apps the signed-in user allowed.
 */
(function (global) {
  "use strict";

  class AuthError extends Error {
    constructor(status, envelope) {
      // The error envelope is flat (`{ error, code, message, ... }`); one nested in `error`
      // (`{ error: { code, message } }`) reads the same.
      const body = envelope && envelope.error && typeof envelope.error === "object" ? envelope.error : envelope;
      super((body && (body.message || body.error)) || `request failed (${status})`);
      this.name = "AuthError";
      this.status = status;
      this.code = (body && body.code) || "network_error";
      this.authCode = body && body.auth_code;
      this.userMessage = (body && body.user_message) || "Something went wrong. Please try again.";
      this.retryAfter = body && body.retry_after;
      this.details = body && body.details;
      this.requestId = body && body.request_id;
    }
  }

  const b64urlToBuf = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const bufToB64url = (buf) => {
    let s = "";
    new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  /** navigator.credentials.create() for the server's options; returns the JSON to finish with. */
  async function createCredential(options) {
    const pk = Object.assign({}, options.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuf(c.id) }));
    const cred = await navigator.credentials.create({ publicKey: pk });
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: bufToB64url(cred.response.attestationObject),
        clientDataJSON: bufToB64url(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  /** navigator.credentials.get() for the server's options (mediation "conditional" for autofill). */
  async function getAssertion(options, mediation, signal) {
    const pk = Object.assign({}, options.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuf(c.id) }));
    const request = { publicKey: pk };
    if (mediation) request.mediation = mediation;
    if (signal) request.signal = signal;
    const cred = await navigator.credentials.get(request);
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: bufToB64url(cred.response.authenticatorData),
        clientDataJSON: bufToB64url(cred.response.clientDataJSON),
        signature: bufToB64url(cred.response.signature),
        userHandle: cred.response.userHandle ? bufToB64url(cred.response.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  function createClient(options) {
    const opts = options || {};
    const baseUrl = String(opts.baseUrl || "").replace(/\/+$/, "");
    const apiKey = opts.apiKey;
    // Without an API key, an OpenID Connect request's handle names the client.
    const oauthRequest = opts.oauthRequest;
    const transport = opts.tokenTransport || (opts.sessionMode === "token" ? "json" : "cookie");
    let accessToken = null;
    let refreshToken = null;
    let expiresAt = 0;
    let user = null;
    let refreshing = null;
    const listeners = new Set();

    const emit = () => listeners.forEach((fn) => { try { fn(user); } catch (_) { /* listener errors stay theirs */ } });

    /** `handle`: this call is about that OpenID Connect request, which names the client. */
    async function request(method, path, { body, auth, headers, handle } = {}) {
      const h = Object.assign({ Accept: "application/json" }, headers || {});
      if (handle) h["X-OAuth-Request"] = handle;
      else if (apiKey) h["X-API-Key"] = apiKey;
      else if (oauthRequest) h["X-OAuth-Request"] = oauthRequest;
      if (body !== undefined) h["Content-Type"] = "application/json";
      if (auth) {
        await ensureFresh();
        if (!accessToken) throw new AuthError(401, { code: "missing_token", message: "not signed in" });
        h.Authorization = `Bearer ${accessToken}`;
      }
      let res;
      try {
        res = await fetch(baseUrl + path, {
          method,
          headers: h,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "include",
        });
      } catch (e) {
        throw new AuthError(0, { code: "network_error", message: String(e) });
      }
      const text = await res.text();
      let data = null;
      if (text) { try { data = JSON.parse(text); } catch (_) { data = { message: text }; } }
      if (!res.ok) {
        const err = new AuthError(res.status, data);
        err.retryAfter = Number(res.headers.get("Retry-After")) || undefined;
        throw err;
      }
      return data;
    }

    /** A token response signs in; a challenge answer is handed back for the second factor. */
    function accept(data) {
      if (data && data.status === "verification_required") {
        return { verificationRequired: true, email: data.email };
      }
      if (data && data.requires_2fa) {
        return { requires2fa: true, twoFactorToken: data.two_factor_token, methods: data.two_factor_methods || [], expiresIn: data.expires_in };
      }
      accessToken = data.access_token;
      expiresAt = Date.now() + (data.expires_in || 0) * 1000;
      user = data.user || user;
      if (data.refresh_token) refreshToken = data.refresh_token;
      emit();
      return { requires2fa: false, user, accessToken };
    }

    // Same origin as the API: the `auth_session` hint cookie says whether a refresh cookie exists.
    const sameOrigin = typeof location !== "undefined" && (!baseUrl || baseUrl === location.origin);
    const hintSaysNoSession = () => transport === "cookie" && sameOrigin
      && typeof document !== "undefined" && !/(?:^|;\s*)auth_session=1/.test(document.cookie);

    function clear() {
      if (sameOrigin && typeof document !== "undefined") document.cookie = "auth_session=; Max-Age=0; path=/";
      accessToken = null;
      refreshToken = null;
      expiresAt = 0;
      user = null;
      emit();
    }

    async function ensureFresh() {
      if (accessToken && Date.now() < expiresAt - 30000) return;
      if (!accessToken && transport === "json" && !refreshToken) return;
      try { await refresh(); } catch (_) { /* stays signed out */ }
    }

    async function refresh() {
      if (!accessToken && !refreshToken && hintSaysNoSession()) {
        throw new AuthError(401, { code: "missing_token", message: "not signed in" });
      }
      if (!refreshing) {
        const body = { token_transport: transport };
        if (transport === "json" && refreshToken) body.refresh_token = refreshToken;
        refreshing = request("POST", "/api/auth/refresh", { body })
          .then(accept)
          .catch((e) => { if (e.status === 401) clear(); throw e; })
          .finally(() => { refreshing = null; });
      }
      return refreshing;
    }

    const withTransport = (body) => Object.assign({ token_transport: transport }, body);
    /** `/api/auth/organizations/{org}…` (`org`: an id or a slug). */
    const orgPath = (org, rest) => `/api/auth/organizations/${encodeURIComponent(org)}${rest || ""}`;
    /** `?limit=&cursor=` of a paged list (omitted when unset). */
    const pageQuery = ({ limit, cursor } = {}) => {
      const q = new URLSearchParams();
      if (limit) q.set("limit", String(limit));
      if (cursor) q.set("cursor", cursor);
      const s = q.toString();
      return s ? `?${s}` : "";
    };
    const api = {
      transport,
      /** The current user (after sign-in or `refresh()`), or null. */
      getUser: () => user,
      getAccessToken: async () => { await ensureFresh(); return accessToken; },
      isSignedIn: () => Boolean(accessToken && user),
      /** Calls `fn(user)` on every sign-in, refresh and sign-out; returns an unsubscribe. */
      onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
      uiConfig: () => request("GET", "/api/auth/ui/config"),
      async signup({ email, password, displayName }) {
        return accept(await request("POST", "/api/auth/signup", { body: withTransport({ email, password, display_name: displayName }) }));
      },
      async login({ email, password }) {
        return accept(await request("POST", "/api/auth/login", { body: withTransport({ email, password }) }));
      },
      async verifyTotp({ twoFactorToken, code }) {
        return accept(await request("POST", "/api/auth/totp/verify", { body: withTransport({ two_factor_token: twoFactorToken, code }) }));
      },
      async verifyRecoveryCode({ twoFactorToken, code }) {
        return accept(await request("POST", "/api/auth/recovery-codes/verify", { body: withTransport({ two_factor_token: twoFactorToken, code }) }));
      },
      refresh,
      async logout() {
        const body = transport === "json" && refreshToken ? { refresh_token: refreshToken } : {};
        try { await request("POST", "/api/auth/logout", { body }); } finally { clear(); }
      },
      async me() { user = await request("GET", "/api/auth/me", { auth: true }); emit(); return user; },
      async updateProfile(fields) {
        user = await request("PATCH", "/api/auth/me", { auth: true, body: { display_name: fields.displayName, timezone: fields.timezone, locale: fields.locale } });
        emit();
        return user;
      },
      /** Proves again that it is the user, when a sensitive change (adding or removing a second
       * factor, new recovery codes, signing out everywhere, handing the session to an app)
       * answered `reauthentication_required`: `{ password }`, `{ code }` (authenticator app) or
       * `{ passkey: true }`. The new access token (fresh `auth_time`) replaces the current one. */
      async reauthenticate({ password, code, passkey } = {}) {
        let body;
        if (passkey) {
          const begin = await request("POST", "/api/auth/reauthenticate/passkey/begin", { auth: true });
          body = { passkey: { session_id: begin.session_id, credential: await getAssertion(begin.options) } };
        } else if (code) body = { code };
        else body = { password };
        const data = await request("POST", "/api/auth/reauthenticate", { auth: true, body });
        accessToken = data.access_token;
        expiresAt = Date.now() + (data.expires_in || 0) * 1000;
        emit();
        return { authTime: data.auth_time };
      },
      /** Runs `action`; if it answers `reauthentication_required`, awaits `prompt()` (which should
       * call `reauthenticate`) and runs `action` once more. */
      async withReauthentication(action, prompt) {
        try {
          return await action();
        } catch (err) {
          if (!err || err.code !== "reauthentication_required") throw err;
        }
        await prompt();
        return action();
      },
      changePassword: ({ currentPassword, newPassword }) =>
        request("POST", "/api/auth/change-password", { auth: true, body: { current_password: currentPassword, new_password: newPassword } }),
      sessions: {
        list: async () => (await request("GET", "/api/auth/sessions", { auth: true })).sessions,
        revoke: (id) => request("DELETE", `/api/auth/sessions/${encodeURIComponent(id)}`, { auth: true }),
        revokeOthers: () => request("DELETE", "/api/auth/sessions", { auth: true }),
      },
      totp: {
        setup: () => request("POST", "/api/auth/totp/setup", { auth: true }),
        enable: (code) => request("POST", "/api/auth/totp/enable", { auth: true, body: { code } }),
        disable: ({ code, password }) => request("POST", "/api/auth/totp/disable", { auth: true, body: { code, password } }),
      },
      recoveryCodes: {
        status: () => request("GET", "/api/auth/recovery-codes", { auth: true }),
        regenerate: async () => (await request("POST", "/api/auth/recovery-codes", { auth: true })).recovery_codes,
      },
      passkeys: {
        supported: () => typeof window !== "undefined" && Boolean(window.PublicKeyCredential),
        async conditionalSupported() {
          return Boolean(window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable
            && await PublicKeyCredential.isConditionalMediationAvailable());
        },
        list: async () => (await request("GET", "/api/auth/passkeys", { auth: true })).passkeys,
        async register(name) {
          const begin = await request("POST", "/api/auth/passkey/register/begin", { auth: true, body: { name } });
          const credential = await createCredential(begin.options);
          return (await request("POST", "/api/auth/passkey/register/finish", { auth: true, body: { session_id: begin.session_id, credential, name } })).passkey;
        },
        /** Usernameless, email-first (`email`), a second factor (`twoFactorToken`), or autofill (`mediation: "conditional"`). */
        async login({ email, twoFactorToken, mediation, signal } = {}) {
          const begin = await request("POST", "/api/auth/passkey/login/begin", { body: { email, two_factor_token: twoFactorToken } });
          const credential = await getAssertion(begin.options, mediation, signal);
          return accept(await request("POST", "/api/auth/passkey/login/finish", { body: withTransport({ session_id: begin.session_id, credential }) }));
        },
        rename: (id, name) => request("PATCH", `/api/auth/passkeys/${encodeURIComponent(id)}`, { auth: true, body: { name } }),
        remove: (id) => request("DELETE", `/api/auth/passkeys/${encodeURIComponent(id)}`, { auth: true }),
      },
      /** The user's organizations. Changing a role, removing a member and deleting answer
       * `reauthentication_required` without a recent sign-in (see `withReauthentication`). */
      organizations: {
        list: async () => (await request("GET", "/api/auth/organizations", { auth: true })).organizations,
        /** → the organization; the creator is its owner (slug derived from the name when omitted). */
        create: ({ name, slug } = {}) => request("POST", "/api/auth/organizations", { auth: true, body: { name, slug: slug || undefined } }),
        get: (org) => request("GET", orgPath(org), { auth: true }),
        /** `{ name?, slug?, metadata?, logoUrl? }` (`logoUrl: null` removes the logo). */
        update: (org, patch = {}) => request("PATCH", orgPath(org), {
          auth: true,
          body: { name: patch.name, slug: patch.slug, metadata: patch.metadata, logo_url: "logoUrl" in patch ? patch.logoUrl : patch.logo_url },
        }),
        remove: (org) => request("DELETE", orgPath(org), { auth: true }),
        roles: async (org) => (await request("GET", orgPath(org, "/roles"), { auth: true })).roles,
        /** One page: `{ members, nextCursor }` (null after the last page). */
        async members(org, page) {
          const data = await request("GET", orgPath(org, `/members${pageQuery(page)}`), { auth: true });
          return { members: data.members, nextCursor: data.next_cursor || null };
        },
        changeRole: (org, userId, role) => request("PATCH", orgPath(org, `/members/${encodeURIComponent(userId)}`), { auth: true, body: { role } }),
        removeMember: (org, userId) => request("DELETE", orgPath(org, `/members/${encodeURIComponent(userId)}`), { auth: true }),
        leave: (org) => request("DELETE", orgPath(org, "/members/me"), { auth: true }),
        /** One page, oldest first: `{ invitations, nextCursor }`. */
        async invitations(org, page) {
          const data = await request("GET", orgPath(org, `/invitations${pageQuery(page)}`), { auth: true });
          return { invitations: data.invitations, nextCursor: data.next_cursor || null };
        },
        invite: (org, { email, role, expiresInDays } = {}) => request("POST", orgPath(org, "/invitations"), {
          auth: true, body: { email, role, expires_in_days: expiresInDays },
        }),
        revokeInvitation: (org, id) => request("POST", orgPath(org, `/invitations/${encodeURIComponent(id)}/revoke`), { auth: true }),
        /** Joins with an invitation link's token (sent to the user's verified address) → the organization with my role. */
        acceptInvitation: (token) => request("POST", "/api/auth/organization-invitations/accept", { auth: true, body: { token } }),
        /** An organization token (short-lived; carries the org and my permissions) for calls
         * made on the organization's behalf. The user's own access token stays as it is. */
        async switch(org) {
          const data = await request("POST", orgPath(org, "/token"), { auth: true });
          return { accessToken: data.access_token, tokenType: data.token_type, expiresIn: data.expires_in, organization: data.organization, permissions: data.permissions };
        },
      },
      magicLink: {
        send: (email, baseUrlForLinks) => request("POST", "/api/auth/magic-link/send", { body: { email, base_url: baseUrlForLinks } }),
        /** Signs in with a link's token, for an app's own landing page. Opening the link
         * (GET) spends nothing; this POST does. → `{ user }` or `{ requires2fa, ... }`. */
        async verify(token) {
          return accept(await request("POST", "/api/auth/magic-link/verify", { body: withTransport({ token }) }));
        },
      },
      /** A one-time `auth_code` for the signed-in user, to hand the session to an app (2 minutes):
       * `redirectUri` must be one of the client's registered redirect URIs; with the app's PKCE
       * `codeChallenge` (S256) the exchange will need its verifier. */
      redirectCode: ({ redirectUri, codeChallenge, codeChallengeMethod } = {}) => request("POST", "/api/auth/redirect/code", {
        auth: true,
        body: { redirect_uri: redirectUri, code_challenge: codeChallenge, code_challenge_method: codeChallengeMethod },
      }),
      /** Exchanges a one-time `auth_code` (a magic link's on the hosted login page, or one sent
       * to this page as `redirectUri` with the `codeVerifier` of its challenge). */
      async exchangeCode(code, { codeVerifier, redirectUri, state } = {}) {
        return accept(await request("POST", "/api/auth/redirect/exchange", {
          body: withTransport({ code, code_verifier: codeVerifier, redirect_uri: redirectUri, state }),
        }));
      },
      /** An OpenID Connect request (`?oauth_request=` on the hosted pages), the handle its only
       * credential (with the browser's session cookie, if any). */
      oauthRequest: {
        /** → `{ app: { client_id, name, first_party }, scopes, login_hint, prompt, continue_url,
         * user }` (`user`: `{ email }` when this browser is signed in to the tenant, else null). */
        get: (handle) => request("GET", `/api/auth/oauth-requests/${encodeURIComponent(handle)}`, { handle }),
        /** Allows (`approve: true`) or denies the app, as the signed-in user → `{ redirectTo }`:
         * the app's registered redirect URI, with its code or the refusal. */
        async consent(handle, approve) {
          const data = await request("POST", `/api/auth/oauth-requests/${encodeURIComponent(handle)}/consent`, {
            handle, body: { approve: approve === true },
          });
          return { redirectTo: data && data.redirect_to };
        },
      },
      /** The signed-in user's connected social providers. */
      identities: {
        /** → `[{ provider, connected_at }]`. */
        list: async () => (await request("GET", "/api/auth/me/identities", { auth: true })).identities,
        /** → `{ url }`: open it in this browser to connect `provider` (a recent sign-in is needed). */
        connect: (provider) => request("POST", `/api/auth/oauth/${encodeURIComponent(provider)}/link`, { auth: true }),
        /** Disconnects `provider` (never the account's last way to sign in). */
        disconnect: (provider) => request("DELETE", `/api/auth/me/identities/${encodeURIComponent(provider)}`, { auth: true }),
        /** After a social sign-in found this account's address (`error=sso_account_conflict`
         * with `link_token`) and the user then signed in here: joins that provider's identity
         * to the account. → `{ provider }`. */
        completeLink: (linkToken) => request("POST", "/api/auth/oauth/link/complete", { auth: true, body: { link_token: linkToken } }),
      },
      /** The apps the user allowed to access the account (OpenID Connect consents). */
      consents: {
        /** → `[{ app_id, name, scopes, granted_at }]`. */
        list: async () => (await request("GET", "/api/auth/consents", { auth: true })).data,
        /** Withdraws the app's consent: it asks again next time. */
        revoke: (appId) => request("DELETE", `/api/auth/consents/${encodeURIComponent(appId)}`, { auth: true }),
      },
      forgotPassword: (email) => request("POST", "/api/auth/forgot-password", { body: { email } }),
      resetPassword: ({ token, newPassword }) => request("POST", "/api/auth/reset-password", { body: { token, new_password: newPassword } }),
      verifyEmail: (token) => request("POST", "/api/auth/verify-email", { body: { token } }),
      resendVerification: () => request("POST", "/api/auth/resend-verification", { auth: true }),
    };

    api.mountSignIn = (target, o) => mountSignIn(api, target, o || {});
    api.mountSignUp = (target, o) => mountSignUp(api, target, o || {});
    api.mountUserButton = (target, o) => mountUserButton(api, target, o || {});
    api.mountUserProfile = (target, o) => mountUserProfile(api, target, o || {});
    return api;
  }

  // ---------------------------------------------------------------- widgets (DOM, no innerHTML)

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => c && node.append(c));
    return node;
  }

  let uid = 0;
  /** A fresh element id. */
  const uniqueId = () => `as-f${++uid}`;
  /** A labelled field (an input, or `opts.tag`), with an optional hint tied to it. */
  function field(label, attrs, opts = {}) {
    const id = uniqueId();
    const input = el(opts.tag || "input", Object.assign({ id, name: id }, attrs));
    const kids = [el("label", { for: id, text: label }), input];
    if (opts.hint) {
      input.setAttribute("aria-describedby", `${id}-hint`);
      kids.push(el("span", { id: `${id}-hint`, class: "as-hint", text: opts.hint }));
    }
    return { wrap: el("div", { class: "as-field" }, kids), input };
  }

  function resolve(target) {
    const node = typeof target === "string" ? document.querySelector(target) : target;
    if (!node) throw new Error(`AuthService: no element ${target}`);
    node.replaceChildren();
    return node;
  }

  const defaultText = {
    email: "Email", password: "Password", signIn: "Sign in", signUp: "Create account", name: "Name",
    code: "Authentication code", verify: "Verify", passkey: "Sign in with a passkey",
    recovery: "Use a recovery code", useRecovery: "Use a recovery code", recoveryCode: "Recovery code",
    useTotp: "Use your authenticator app", usePasskey: "Use a passkey", or: "or",
    magicLink: "Email me a sign-in link", magicSent: "If an account exists for this email, a sign-in link is on its way.",
    checkEmail: "Check your email: we sent you a link to finish signing up.",
    signOut: "Sign out", save: "Save", sessions: "Sessions",
    revoke: "Revoke", current: "This device", twoFactor: "Two-step verification",
    twoFactorLead: "Enter the 6-digit code from your authenticator app.", emailRequired: "Enter your email address first.",
  };

  function alertBox() {
    return el("div", { class: "as-alert as-error", role: "alert", hidden: true });
  }
  function showError(box, err) {
    box.className = "as-alert as-error";
    box.setAttribute("role", "alert");
    box.textContent = (err && (err.userMessage || err.message)) || "Something went wrong.";
    box.hidden = false;
  }
  function showOk(box, text) {
    box.className = "as-alert as-ok";
    box.setAttribute("role", "status");
    box.textContent = text;
    box.hidden = false;
  }
  /** Marks fields invalid (for assistive technology) until they are edited. */
  function markInvalid(...inputs) {
    inputs.forEach((input) => {
      input.setAttribute("aria-invalid", "true");
      input.addEventListener("input", () => input.removeAttribute("aria-invalid"), { once: true });
    });
  }
  /** Runs `fn` with `btn` disabled. */
  async function busy(btn, fn) {
    btn.disabled = true;
    try { return await fn(); } finally { btn.disabled = false; }
  }

  /** The sign-in widget (the hosted login page is built on it too): password, passkey (button
   * and, with `conditional` or `autofill()`, the email field's autofill) and magic link, then the
   * second factor the challenge asks for — authenticator code, recovery code or passkey, with a
   * switch between the ones it accepts. `email` fills the email field in advance. */
  function mountSignIn(auth, target, o) {
    const t = Object.assign({}, defaultText, o.text);
    const fail = o.showError || showError;
    const ok = o.showOk || showOk;
    const root = resolve(target);
    const view = el("div", { class: "as-signin" });
    const box = alertBox();
    let mounted = true;
    let firstStep = true;
    let conditional = null; // the AbortController of a pending passkey autofill
    const stopAutofill = () => { if (conditional) conditional.abort(); conditional = null; };
    // Once: a passkey chosen from the autofill and the button pressed meanwhile both sign in.
    let finished = false;
    const done = (r) => { if (finished) return; finished = true; if (o.onSuccess) o.onSuccess(r.user || auth.getUser()); };
    const signedIn = (r) => { stopAutofill(); if (r.requires2fa) secondFactor(r); else done(r); };

    // The second step offers every factor the challenge accepts (TOTP, recovery code, passkey).
    function secondFactor(challenge) {
      firstStep = false;
      stopAutofill();
      const methods = challenge.methods && challenge.methods.length ? challenge.methods : ["totp"];
      const label = (m) => (m === "totp" ? t.useTotp : m === "passkey" ? t.usePasskey : t.useRecovery);
      const switcher = (current) => el("div", { class: "as-links" }, methods.filter((m) => m !== current).map((m) =>
        el("a", { href: "#", text: label(m), onclick: (e) => { e.preventDefault(); show(m); } })));
      const show = (method) => {
        box.hidden = true;
        const head = [
          t.twoFactor ? el("h2", { class: "as-subtitle", text: t.twoFactor }) : null,
          method === "totp" && t.twoFactorLead ? el("p", { class: "as-lead", text: t.twoFactorLead }) : null,
          box,
        ];
        let focus;
        if (method === "passkey") {
          const go = el("button", { class: "as-btn", type: "button", text: t.usePasskey });
          go.addEventListener("click", () => busy(go, async () => {
            try { done(await auth.passkeys.login({ twoFactorToken: challenge.twoFactorToken })); } catch (err) { fail(box, err); }
          }));
          view.replaceChildren(el("div", { class: "as-stack" }, [...head, go]), switcher(method));
          focus = go;
        } else {
          const code = method === "totp"
            ? field(t.code, { inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 6 })
            : field(t.recoveryCode, { autocomplete: "off", required: true });
          const verify = el("button", { class: "as-btn", type: "submit", text: t.verify });
          const form = el("form", { class: "as-stack", novalidate: true }, [...head, code.wrap, verify]);
          form.addEventListener("submit", (e) => {
            e.preventDefault();
            busy(verify, async () => {
              const args = { twoFactorToken: challenge.twoFactorToken, code: code.input.value.trim() };
              try { done(method === "totp" ? await auth.verifyTotp(args) : await auth.verifyRecoveryCode(args)); } catch (err) {
                fail(box, err);
                markInvalid(code.input);
                code.input.focus();
              }
            });
          });
          view.replaceChildren(form, switcher(method));
          focus = code.input;
        }
        if (o.onSecondFactor) o.onSecondFactor(method, challenge);
        focus.focus();
      };
      show(methods[0]);
    }

    /** Passkey autofill: the browser offers passkeys in the email field's suggestions. */
    async function autofill() {
      if (!mounted || !firstStep || conditional || o.passkey === false) return;
      if (!await auth.passkeys.conditionalSupported().catch(() => false)) return;
      if (!mounted || !firstStep || conditional) return;
      const controller = new AbortController();
      conditional = controller;
      auth.passkeys.login({ mediation: "conditional", signal: controller.signal })
        .then(signedIn)
        .catch((err) => {
          // Dismissed or aborted autofill is normal; anything else is worth saying.
          if (controller.signal.aborted || (err && (err.name === "AbortError" || err.name === "NotAllowedError"))) return;
          fail(box, err);
        });
    }

    const email = field(t.email, { type: "email", name: "email", autocomplete: "username webauthn", required: true, value: o.email || undefined });
    const password = field(t.password, { type: "password", name: "password", autocomplete: "current-password", required: true });
    const submit = el("button", { class: "as-btn", type: "submit", text: t.signIn });
    const form = el("form", { class: "as-stack", novalidate: true }, [box, email.wrap, password.wrap, submit]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(submit, async () => {
        box.hidden = true;
        try { signedIn(await auth.login({ email: email.input.value.trim(), password: password.input.value })); } catch (err) {
          fail(box, err);
          markInvalid(email.input, password.input);
          password.input.focus();
        }
      });
    });
    view.append(form);
    if (o.passkey !== false && auth.passkeys.supported()) {
      const pk = el("button", { class: "as-btn as-secondary", type: "button", text: t.passkey });
      pk.addEventListener("click", () => busy(pk, async () => {
        stopAutofill(); // one WebAuthn request at a time
        try { signedIn(await auth.passkeys.login({})); } catch (err) { fail(box, err); }
      }));
      view.append(el("div", { class: "as-divider", text: t.or }), pk);
    }
    if (o.magicLink !== false) {
      const magic = el("button", { class: "as-btn as-secondary", type: "button", text: t.magicLink });
      magic.addEventListener("click", () => busy(magic, async () => {
        const address = email.input.value.trim();
        if (!address) {
          markInvalid(email.input);
          fail(box, new AuthError(400, { code: "invalid_request", message: "email required", user_message: t.emailRequired }));
          email.input.focus();
          return;
        }
        try { await auth.magicLink.send(address); ok(box, t.magicSent); } catch (err) { fail(box, err); }
      }));
      view.append(magic);
    }
    root.append(view);
    if (o.conditional) autofill();
    return {
      unmount() { mounted = false; stopAutofill(); root.replaceChildren(); },
      /** Continues with a challenge obtained elsewhere (e.g. `exchangeCode` → `{ requires2fa }`). */
      secondFactor,
      /** Shows an error in the widget's alert. */
      showError: (err) => fail(box, err),
      /** Shows a notice in the widget's alert. */
      showOk: (text) => ok(box, text),
      autofill,
    };
  }

  function mountSignUp(auth, target, o) {
    const t = Object.assign({}, defaultText, o.text);
    const root = resolve(target);
    const box = alertBox();
    const name = field(t.name, { type: "text", name: "name", autocomplete: "name" });
    const email = field(t.email, { type: "email", name: "email", autocomplete: "email", required: true });
    const password = field(t.password, { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
    const submit = el("button", { class: "as-btn", type: "submit", text: t.signUp });
    const form = el("form", { class: "as-stack", novalidate: true }, [box, name.wrap, email.wrap, password.wrap, submit]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const r = await auth.signup({ email: email.input.value.trim(), password: password.input.value, displayName: name.input.value.trim() || undefined });
        if (r.verificationRequired) {
          showOk(box, t.checkEmail);
          form.replaceChildren(box);
          if (o.onVerificationRequired) o.onVerificationRequired(r.email);
          return;
        }
        if (o.onSuccess) o.onSuccess(r.user);
      } catch (err) { showError(box, err); } finally { submit.disabled = false; }
    });
    root.append(form);
    return { unmount: () => root.replaceChildren() };
  }

  function mountUserButton(auth, target, o) {
    const t = Object.assign({}, defaultText, o.text);
    const root = resolve(target);
    const render = () => {
      const u = auth.getUser();
      if (!u) { root.replaceChildren(); return; }
      const out = el("button", { class: "as-btn as-secondary as-inline", type: "button", text: t.signOut });
      out.addEventListener("click", async () => {
        try { await auth.logout(); } catch (_) { /* signed out locally anyway */ }
        if (o.onSignOut) o.onSignOut();
      });
      root.replaceChildren(el("span", { class: "as-user-button" }, [el("span", { text: u.display_name || u.email }), out]));
    };
    const off = auth.onChange(render);
    render();
    return {
      async refresh() { if (!auth.getUser()) { try { await auth.refresh(); } catch (_) { /* signed out */ } } render(); },
      unmount() { off(); root.replaceChildren(); },
    };
  }

  function mountUserProfile(auth, target, o) {
    const t = Object.assign({}, defaultText, o.text);
    const root = resolve(target);
    async function render() {
      const box = alertBox();
      const u = await auth.me();
      const name = field(t.name, { type: "text", name: "display_name", autocomplete: "name", value: u.display_name || "" });
      const save = el("button", { class: "as-btn as-inline", type: "submit", text: t.save });
      const form = el("form", { class: "as-stack" }, [box, el("p", { class: "as-meta", text: u.email }), name.wrap, save]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try { await auth.updateProfile({ displayName: name.input.value.trim() }); } catch (err) { showError(box, err); }
      });
      const list = el("ul", { class: "as-list" });
      (await auth.sessions.list()).forEach((s) => {
        const revoke = el("button", { class: "as-btn as-secondary as-inline", type: "button", text: s.current ? t.current : t.revoke, disabled: s.current });
        revoke.addEventListener("click", async () => { await auth.sessions.revoke(s.id); render(); });
        list.append(el("li", {}, [el("span", { text: s.user_agent || "—" }), revoke]));
      });
      root.replaceChildren(form, el("h3", { text: t.sessions }), list);
    }
    render().catch((err) => { const box = alertBox(); root.replaceChildren(box); showError(box, err); });
    return { refresh: render, unmount: () => root.replaceChildren() };
  }

  global.AuthService = {
    createClient,
    AuthError,
    version: "1.0.0",
    /** DOM helpers shared with the hosted pages (auth-ui.js, portal.js). */
    dom: { el, field, alertBox, uniqueId, markInvalid, busy },
    _webauthn: { createCredential, getAssertion },
  };
})(typeof window !== "undefined" ? window : globalThis);
