/* The operator portal's accounts: signing in with an admin account (email, password and a TOTP
 * code; the first sign-in enrols the authenticator), the session (tokens kept in this page's
 * memory only, refreshed once when the access token lapses), and, for super admins, the admin
 * users: list, create, disable / enable, reset the authenticator, delete.
 * Loaded before portal.js, which calls window.PortalOperators(helpers). */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      ssoButton: "Sign in with your identity provider", ssoLead: "Signed in at your identity provider. Enter your authenticator code to finish.", ssoFailed: "The sign-in through your identity provider did not succeed. Try again.", finish: "Finish signing in",
      setup: "Setup code (first sign-in only)", setupHint: "The code you were given with your account; not needed once your authenticator is set up.", setupOnce: "Setup code for the first sign-in (shown once; give it to the operator with the password)",
      accountLead: "Sign in with your admin account.", email: "Email", password: "Password", code: "Authenticator code",
      codeHint: "The 6-digit code from your authenticator app (not needed the first time).", signIn: "Sign in",
      keyTitle: "Break-glass key", keyLead: "Or use the admin API key. It stays in this tab's memory only.", keySignIn: "Sign in with the admin key",
      enrolTitle: "Set up your authenticator", enrolLead: "Scan this code with your authenticator app, or type the key below into it, then enter the 6-digit code it shows.",
      qrAlt: "QR code for your authenticator app", secretLabel: "Key", codeFromApp: "Code from the app", enrol: "Turn on and sign in",
      signedInAs: "Signed in as", operators: "Operators", newOperator: "New operator", roles: "Role", scope: "Scope",
      scopeAll: "All clients", scopeClient: "One client", clientId: "Client id (for one client)", passwordHint: "At least 12 characters.",
      createOperator: "Create operator", status: "Status", twoFactor: "Authenticator", lastSignIn: "Last sign-in", on: "on", off: "not set up",
      disable: "Disable", enable: "Enable", resetTotp: "Reset authenticator", remove: "Delete", disableWarn: "Their sessions end at once.",
      resetWarn: "They set up a new authenticator at their next sign-in; their sessions end at once.", removeWarn: "This cannot be undone.",
      active: "active", disabled: "disabled", none: "Nothing yet.", scrollTable: "Scrollable table", created: "Operator created.",
    },
    de: {
      ssoButton: "Mit Ihrem Identitätsanbieter anmelden", ssoLead: "Beim Identitätsanbieter angemeldet. Geben Sie zum Abschluss Ihren Authenticator-Code ein.", ssoFailed: "Die Anmeldung über Ihren Identitätsanbieter ist nicht gelungen. Versuchen Sie es erneut.", finish: "Anmeldung abschließen",
      setup: "Einrichtungscode (nur bei der ersten Anmeldung)", setupHint: "Der Code, den Sie mit Ihrem Konto erhalten haben; nicht mehr nötig, sobald Ihr Authenticator eingerichtet ist.", setupOnce: "Einrichtungscode für die erste Anmeldung (nur jetzt sichtbar; mit dem Passwort an den Betreiber weitergeben)",
      accountLead: "Melden Sie sich mit Ihrem Admin-Konto an.", email: "E-Mail", password: "Passwort", code: "Authenticator-Code",
      codeHint: "Der 6-stellige Code aus Ihrer Authenticator-App (beim ersten Mal nicht nötig).", signIn: "Anmelden",
      keyTitle: "Notfallschlüssel", keyLead: "Oder verwenden Sie den Admin-API-Schlüssel. Er bleibt nur im Speicher dieses Tabs.", keySignIn: "Mit dem Admin-Schlüssel anmelden",
      enrolTitle: "Authenticator einrichten", enrolLead: "Scannen Sie diesen Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel unten ein, und tragen Sie dann den 6-stelligen Code ein.",
      qrAlt: "QR-Code für Ihre Authenticator-App", secretLabel: "Schlüssel", codeFromApp: "Code aus der App", enrol: "Einschalten und anmelden",
      signedInAs: "Angemeldet als", operators: "Betreiber", newOperator: "Neuer Betreiber", roles: "Rolle", scope: "Bereich",
      scopeAll: "Alle Clients", scopeClient: "Ein Client", clientId: "Client-ID (für einen Client)", passwordHint: "Mindestens 12 Zeichen.",
      createOperator: "Betreiber anlegen", status: "Status", twoFactor: "Authenticator", lastSignIn: "Letzte Anmeldung", on: "eingerichtet", off: "nicht eingerichtet",
      disable: "Deaktivieren", enable: "Aktivieren", resetTotp: "Authenticator zurücksetzen", remove: "Löschen", disableWarn: "Ihre Sitzungen enden sofort.",
      resetWarn: "Bei der nächsten Anmeldung richten sie einen neuen Authenticator ein; ihre Sitzungen enden sofort.", removeWarn: "Das lässt sich nicht rückgängig machen.",
      active: "aktiv", disabled: "deaktiviert", none: "Noch nichts.", scrollTable: "Scrollbare Tabelle", created: "Betreiber angelegt.",
    },
    fr: {
      ssoButton: "Se connecter avec votre fournisseur d’identité", ssoLead: "Connecté chez votre fournisseur d’identité. Saisissez votre code d’authentification pour terminer.", ssoFailed: "La connexion par votre fournisseur d’identité a échoué. Réessayez.", finish: "Terminer la connexion",
      setup: "Code de configuration (première connexion uniquement)", setupHint: "Le code reçu avec votre compte ; inutile une fois votre application d’authentification configurée.", setupOnce: "Code de configuration pour la première connexion (affiché une seule fois ; à remettre à l’opérateur avec le mot de passe)",
      accountLead: "Connectez-vous avec votre compte d’administration.", email: "E-mail", password: "Mot de passe", code: "Code d’authentification",
      codeHint: "Le code à 6 chiffres de votre application d’authentification (inutile la première fois).", signIn: "Se connecter",
      keyTitle: "Clé de secours", keyLead: "Ou utilisez la clé d’API d’administration. Elle reste uniquement en mémoire dans cet onglet.", keySignIn: "Se connecter avec la clé d’administration",
      enrolTitle: "Configurer votre application d’authentification", enrolLead: "Scannez ce code avec votre application d’authentification ou saisissez-y la clé ci-dessous, puis entrez le code à 6 chiffres affiché.",
      qrAlt: "Code QR pour votre application d’authentification", secretLabel: "Clé", codeFromApp: "Code de l’application", enrol: "Activer et se connecter",
      signedInAs: "Connecté en tant que", operators: "Opérateurs", newOperator: "Nouvel opérateur", roles: "Rôle", scope: "Périmètre",
      scopeAll: "Tous les clients", scopeClient: "Un client", clientId: "Identifiant du client (pour un client)", passwordHint: "Au moins 12 caractères.",
      createOperator: "Créer l’opérateur", status: "Statut", twoFactor: "Authentification", lastSignIn: "Dernière connexion", on: "configurée", off: "non configurée",
      disable: "Désactiver", enable: "Activer", resetTotp: "Réinitialiser l’authentification", remove: "Supprimer", disableWarn: "Ses sessions prennent fin immédiatement.",
      resetWarn: "Il configurera une nouvelle application à sa prochaine connexion ; ses sessions prennent fin immédiatement.", removeWarn: "Action irréversible.",
      active: "actif", disabled: "désactivé", none: "Rien pour l’instant.", scrollTable: "Tableau défilant", created: "Opérateur créé.",
    },
    es: {
      ssoButton: "Iniciar sesión con su proveedor de identidad", ssoLead: "Sesión iniciada en su proveedor de identidad. Introduzca su código de autenticación para terminar.", ssoFailed: "El inicio de sesión con su proveedor de identidad no se completó. Inténtelo de nuevo.", finish: "Terminar el inicio de sesión",
      setup: "Código de configuración (solo el primer inicio de sesión)", setupHint: "El código que recibió con su cuenta; no hace falta una vez configurada su aplicación de autenticación.", setupOnce: "Código de configuración para el primer inicio de sesión (se muestra una vez; entréguelo al operador con la contraseña)",
      accountLead: "Inicie sesión con su cuenta de administración.", email: "Correo electrónico", password: "Contraseña", code: "Código de autenticación",
      codeHint: "El código de 6 dígitos de su aplicación de autenticación (no hace falta la primera vez).", signIn: "Iniciar sesión",
      keyTitle: "Clave de emergencia", keyLead: "O use la clave de API de administración. Solo se guarda en la memoria de esta pestaña.", keySignIn: "Iniciar sesión con la clave de administración",
      enrolTitle: "Configure su aplicación de autenticación", enrolLead: "Escanee este código con su aplicación de autenticación o escriba en ella la clave de abajo, y luego introduzca el código de 6 dígitos que muestra.",
      qrAlt: "Código QR para su aplicación de autenticación", secretLabel: "Clave", codeFromApp: "Código de la aplicación", enrol: "Activar e iniciar sesión",
      signedInAs: "Sesión iniciada como", operators: "Operadores", newOperator: "Nuevo operador", roles: "Rol", scope: "Alcance",
      scopeAll: "Todos los clientes", scopeClient: "Un cliente", clientId: "Id. del cliente (para un cliente)", passwordHint: "Al menos 12 caracteres.",
      createOperator: "Crear operador", status: "Estado", twoFactor: "Autenticación", lastSignIn: "Último inicio de sesión", on: "configurada", off: "sin configurar",
      disable: "Desactivar", enable: "Activar", resetTotp: "Restablecer autenticación", remove: "Eliminar", disableWarn: "Sus sesiones terminan al instante.",
      resetWarn: "Configurará una nueva aplicación en su próximo inicio de sesión; sus sesiones terminan al instante.", removeWarn: "No se puede deshacer.",
      active: "activo", disabled: "desactivado", none: "Nada todavía.", scrollTable: "Tabla desplazable", created: "Operador creado.",
    },
  };

  window.PortalOperators = function (h) {
    const { el, field, button, show, alertBox, card, lang } = h;
    const t = (k) => (STRINGS[lang] || STRINGS.en)[k] || STRINGS.en[k] || k;
    let session = null; // {access, refresh} of an admin account, in memory only
    let me = null; // GET /api/admin/auth/me

    function take(tokens) {
      session = { access: tokens.access_token, refresh: tokens.refresh_token };
    }

    async function post(path, body) {
      const res = await fetch(path, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        const err = new Error((data && (data.user_message || data.message)) || "error");
        err.code = data && data.code;
        throw err;
      }
      return data;
    }

    /** Headers that authenticate a call, or null when signed out. */
    function headers() {
      return session ? { Authorization: `Bearer ${session.access}` } : null;
    }

    /** A lapsed access token is renewed once; false when the session is over. Calls that
     * fail together share one refresh (a second one with the same token would be a reuse,
     * which ends the session). */
    let refreshing = null;
    function refresh() {
      if (!session) return Promise.resolve(false);
      if (!refreshing) {
        refreshing = post("/api/admin/auth/refresh", { refresh_token: session.refresh })
          .then((tokens) => { take(tokens); return true; })
          .catch(() => { session = null; return false; })
          .finally(() => { refreshing = null; });
      }
      return refreshing;
    }

    async function signOut() {
      if (session) {
        await fetch("/api/admin/auth/logout", { method: "POST", headers: headers() }).catch(() => null);
      }
      session = null;
      me = null;
    }

    /** The sign-in card of an admin account; `done()` runs once signed in. */
    function signInCard(done, enrolInto) {
      const box = alertBox();
      const email = field(t("email"), { type: "email", autocomplete: "username", required: true });
      const password = field(t("password"), { type: "password", autocomplete: "current-password", required: true });
      const code = field(t("code"), { type: "text", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6 });
      const hint = el("p", { class: "as-meta", id: "totp-hint", text: t("codeHint") });
      code.input.setAttribute("aria-describedby", "totp-hint");
      const setup = field(t("setup"), { type: "text", autocomplete: "off", spellcheck: "false" });
      const setupHint = el("p", { class: "as-meta", id: "setup-hint", text: t("setupHint") });
      setup.input.setAttribute("aria-describedby", "setup-hint");
      const form = el("form", { class: "as-stack" }, [el("p", { class: "as-lead", text: t("accountLead") }), box, email.wrap, password.wrap, code.wrap, hint, setup.wrap, setupHint, button(t("signIn"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const out = await post("/api/admin/auth/login", {
            email: email.input.value.trim(),
            password: password.input.value,
            totp_code: code.input.value.trim() || undefined,
            setup_token: setup.input.value.trim() || undefined,
          });
          if (out.mfa_enrollment_required) { enrolInto(enrolCard(out, done)); return; }
          take(out);
          await done();
        } catch (err) {
          show(box, err.message);
          if (err.code === "totp_required") code.input.focus();
          if (err.code === "setup_token_required") setup.input.focus();
        }
      });
      // Sign-in through the operators' identity provider, when the server offers it.
      const sso = button(t("ssoButton"), { type: "button", class: "as-btn as-secondary as-inline", hidden: true });
      sso.addEventListener("click", async () => {
        try { location.assign((await post("/api/admin/auth/sso/start", {})).authorization_url); } catch (err) { show(box, err.message); }
      });
      form.append(sso);
      fetch("/api/admin/auth/sso", { headers: { Accept: "application/json" } })
        .then((r) => r.json()).then((r) => { sso.hidden = !r.enabled; }).catch(() => null);
      // Back from the identity provider: the one-time token (or an error code) is in the
      // fragment, which is dropped from the address at once.
      const back = new URLSearchParams(location.hash.slice(1));
      if (back.has("sso_token") || back.has("sso_error")) history.replaceState(null, "", location.pathname + location.search);
      if (back.has("sso_error")) show(box, t("ssoFailed"));
      if (back.has("sso_token")) return ssoFinishCard(back.get("sso_token"), done, enrolInto);
      return { form, focus: () => email.input.focus() };
    }

    /** After the identity provider: the authenticator code (or the setup code, first time). */
    function ssoFinishCard(token, done, enrolInto) {
      const box = alertBox();
      const code = field(t("code"), { type: "text", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6 });
      const setup = field(t("setup"), { type: "text", autocomplete: "off", spellcheck: "false" });
      const form = el("form", { class: "as-stack" }, [el("p", { class: "as-lead", text: t("ssoLead") }), box, code.wrap, setup.wrap, button(t("finish"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const out = await post("/api/admin/auth/sso/complete", {
            sso_token: token,
            totp_code: code.input.value.trim() || undefined,
            setup_token: setup.input.value.trim() || undefined,
          });
          if (out.mfa_enrollment_required) { enrolInto(enrolCard(out, done)); return; }
          take(out);
          await done();
        } catch (err) { show(box, err.message); }
      });
      return { form, focus: () => code.input.focus() };
    }

    function enrolCard(enrolment, done) {
      const box = alertBox();
      const code = field(t("codeFromApp"), { type: "text", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true });
      const form = el("form", { class: "as-stack" }, [
        el("p", { class: "as-lead", text: t("enrolLead") }),
        el("img", { src: enrolment.qr_code, alt: t("qrAlt"), width: 180, height: 180 }),
        el("div", { text: t("secretLabel") }),
        el("code", { class: "as-secret", id: "totp-secret", text: enrolment.secret }),
        box, code.wrap, button(t("enrol")),
      ]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          take(await post("/api/admin/auth/totp/enable", { enrollment_token: enrolment.enrollment_token, code: code.input.value.trim() }));
          await done();
        } catch (err) { show(box, err.message); }
      });
      setTimeout(() => code.input.focus(), 0);
      return card(t("enrolTitle"), "h-enrol", [form]);
    }

    /** What the signed-in operator may do. */
    async function load(api) {
      me = await api("GET", "/api/admin/auth/me");
      return me;
    }
    const can = (permission) => !me || me.permissions.includes(permission);
    const global = () => !me || me.scope.type === "all";
    const who = () => (me && me.admin ? `${t("signedInAs")} ${me.admin.email}` : null);

    /** Super admins: the admin users (a page of 100) and a form for a new one. */
    function operatorsCard(api) {
      const box = alertBox();
      const rows = el("tbody");
      async function reload() {
        const page = await api("GET", "/api/admin/users?limit=100");
        rows.replaceChildren(...(page.data.length ? page.data.map(row) : [el("tr", {}, [el("td", { colspan: 6, text: t("none") })])]));
      }
      function action(label, warn, run) {
        const b = el("button", { class: "as-btn as-secondary as-inline", type: "button", text: label });
        b.addEventListener("click", async () => {
          if (warn && !window.confirm(`${label}: ${warn}`)) return;
          try { await run(); await reload(); } catch (err) { show(box, err.message); }
        });
        return b;
      }
      function row(a) {
        const self = me && me.admin && me.admin.id === a.id;
        const scope = a.scope.type === "all" ? t("scopeAll") : `${a.scope.type} ${a.scope.id}`;
        const path = `/api/admin/users/${a.id}`;
        const actions = self ? [] : [
          a.status === "active"
            ? action(t("disable"), t("disableWarn"), () => api("PATCH", path, { status: "disabled" }))
            : action(t("enable"), null, () => api("PATCH", path, { status: "active" })),
          action(t("resetTotp"), t("resetWarn"), () => api("PATCH", path, { reset_totp: true })),
          action(t("remove"), t("removeWarn"), () => api("DELETE", path)),
        ];
        return el("tr", {}, [
          el("td", { text: a.email }), el("td", { text: a.roles.join(", ") }), el("td", { text: scope }),
          el("td", { text: t(a.status) }), el("td", { text: a.totp_enabled ? t("on") : t("off") }),
          el("td", {}, [el("div", { class: "as-row" }, actions)]),
        ]);
      }
      const table = el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-label": t("scrollTable") }, [el("table", { class: "as-table" }, [
        el("thead", {}, [el("tr", {}, [t("email"), t("roles"), t("scope"), t("status"), t("twoFactor"), ""].map((x) => el("th", { scope: "col", text: x })))]), rows])]);

      const nBox = alertBox();
      const email = field(t("email"), { type: "email", autocomplete: "off", required: true });
      const password = field(t("password"), { type: "password", autocomplete: "new-password", minlength: 12, required: true });
      const roleId = `role-${Math.random().toString(36).slice(2)}`;
      const role = el("select", { id: roleId });
      const scopeId = `scope-${Math.random().toString(36).slice(2)}`;
      const scope = el("select", { id: scopeId }, [el("option", { value: "all" }, [t("scopeAll")]), el("option", { value: "client" }, [t("scopeClient")])]);
      const client = field(t("clientId"), { type: "text", autocomplete: "off" });
      const form = el("form", { class: "as-stack" }, [
        nBox, email.wrap, password.wrap, el("p", { class: "as-meta", text: t("passwordHint") }),
        el("div", { class: "as-field" }, [el("label", { for: roleId, text: t("roles") }), role]),
        el("div", { class: "as-field" }, [el("label", { for: scopeId, text: t("scope") }), scope]),
        client.wrap, button(t("createOperator")),
      ]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const made = await api("POST", "/api/admin/users", {
            email: email.input.value.trim(),
            password: password.input.value,
            roles: [role.value],
            scope: scope.value === "all" ? { type: "all" } : { type: "client", id: client.input.value.trim() },
          });
          form.reset();
          show(nBox, t("created"), true);
          // Not a live region: a screen reader should not read the code aloud.
          nBox.after(el("div", { class: "as-alert as-ok" }, [el("div", { text: t("setupOnce") }), el("code", { class: "as-secret", id: "new-setup-token", text: made.setup_token })]));
          await reload();
        } catch (err) { show(nBox, err.message); }
      });
      setTimeout(async () => {
        try {
          const roles = await api("GET", "/api/admin/roles");
          role.replaceChildren(...roles.data.map((r) => el("option", { value: r.name }, [r.name])));
          await reload();
        } catch (err) { show(box, err.message); }
      }, 0);
      return [card(t("operators"), "h-operators", [box, table]), card(t("newOperator"), "h-new-operator", [form])];
    }

    return { headers, refresh, signOut, signInCard, load, can, global, who, operatorsCard, keyTitle: t("keyTitle"), keyLead: t("keyLead"), keySignIn: t("keySignIn") };
  };
})();
