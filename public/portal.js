/* The operator portal: sign in with an admin account (email, password, TOTP; see
 * portal-operators.js) or the break-glass admin key (both kept in this page's memory only —
 * never stored); what is shown follows the operator's permissions. List / create / edit / suspend clients, rotate the API key and JWT secret, manage
 * signing keys, list a client's organizations and their members, register / rotate / delete a
 * client's OIDC applications (a new client secret is shown once), manage a client's service
 * accounts and their keys (a new key secret is shown once), manage the domains and SSO
 * connections of its organizations (portal-enterprise.js), browse audit events.
 * Same-origin calls to /api/admin/* with the bearer token or X-Admin-Key. */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      title: "Operator portal", adminKey: "Admin key", signIn: "Sign in", signOut: "Sign out",
      clients: "Clients", newClient: "New client", name: "Name", slug: "Slug (optional)", origins: "Allowed origins (one per line)", redirectUris: "Redirect URIs (exact, one per line)",
      create: "Create client", status: "Status", created: "Created", open: "Open", more: "Load more",
      apiKeyOnce: "API key (shown once; store it now)", jwtOnce: "JWT secret (shown once)",
      edit: "Edit client", save: "Save", saved: "Saved.", suspend: "Suspend", activate: "Activate",
      rotateKey: "Rotate API key", rotateSecret: "Rotate JWT secret", signingKeys: "Signing keys",
      rotateSigning: "Rotate signing key", algorithm: "Algorithm", overlap: "Overlap (hours)", kid: "Key id", retires: "Retires",
      audit: "Audit events", eventType: "Event type", filter: "Filter", actor: "Actor", target: "Target", when: "When",
      back: "Back to clients", none: "Nothing yet.", error: "Something went wrong.", language: "Language", settings: "Settings (JSON)", scrollTable: "Scrollable table", oldStops: "the old one stops working at once. Continue?", slugColumn: "Slug",
      organizations: "Organizations", noOrgs: "No organizations yet.", members: "Members", email: "Email", role: "Role", groups: "Groups", showMore: "Show more",
      oidcApps: "OIDC applications", noApps: "No OIDC applications yet.", newApp: "New OIDC application", appName: "Application name", appType: "Type",
      optConfidential: "Confidential (with a secret)", optPublic: "Public (no secret)", typeConfidential: "Confidential", typePublic: "Public",
      appRedirects: "Redirect URIs (one per line)", appRedirectsHint: "Exact addresses: https (http only on localhost, 127.0.0.1 or [::1]), no #fragment.", appRedirectsShown: "Redirect URIs",
      firstParty: "First party (no consent screen)", firstPartyShort: "First party", register: "Register application", registered: "Application registered", clientIdLabel: "Client ID",
      secretOnce: "Client secret (shown once; store it now)", noSecret: "Public application: no client secret.", rotateApp: "Rotate secret", oldSecretStops: "the old secret stops working at once. Continue?",
      deleteApp: "Delete", deleteWarn: "Sign-ins through it stop at once. This cannot be undone.", deleted: "Deleted",
      serviceAccounts: "Service accounts", noAccounts: "No service accounts yet.", newAccount: "New service account", accountName: "Account name",
      accountsHint: "Use the account id as client_id and a key secret as client_secret at POST /oauth/token (grant_type=client_credentials).",
      accountScopes: "Scopes (space-separated)", scopesHint: "Names of a-z, 0-9 and : . _ - (e.g. reports:read reports:write).", scopesShown: "Scopes",
      createAccount: "Create service account", accountCreated: "Service account created", accountIdLabel: "Account id (client_id)",
      saActive: "Active", saDisabled: "Disabled", saEnabled: "Enabled", keyActive: "Active", keyExpired: "Expired", keyRevoked: "Revoked",
      keys: "Keys", noKeys: "No keys yet.", newKey: "New key", allScopes: "all of the account's", expires: "Expires", never: "never",
      keySecretOnce: "Key secret (shown once; store it now)", revokeKey: "Revoke", revokeWarn: "It stops working at once, and so do the tokens it was used for.",
      rotateSaKey: "Rotate", rotateSaWarn: "a new key is made; the old one keeps working for 24 hours. Continue?",
      disableAccount: "Disable", disableWarn: "It gets no new tokens, and its tokens stop working at once.", enableAccount: "Enable",
    },
    de: {
      title: "Betreiberportal", adminKey: "Admin-Schlüssel", signIn: "Anmelden", signOut: "Abmelden",
      clients: "Clients", newClient: "Neuer Client", name: "Name", slug: "Slug (optional)", origins: "Erlaubte Origins (eine pro Zeile)", redirectUris: "Redirect-URIs (exakt, eine pro Zeile)",
      create: "Client anlegen", status: "Status", created: "Angelegt", open: "Öffnen", more: "Mehr laden",
      apiKeyOnce: "API-Schlüssel (nur jetzt sichtbar; jetzt speichern)", jwtOnce: "JWT-Geheimnis (nur jetzt sichtbar)",
      edit: "Client bearbeiten", save: "Speichern", saved: "Gespeichert.", suspend: "Sperren", activate: "Aktivieren",
      rotateKey: "API-Schlüssel erneuern", rotateSecret: "JWT-Geheimnis erneuern", signingKeys: "Signaturschlüssel",
      rotateSigning: "Signaturschlüssel erneuern", algorithm: "Algorithmus", overlap: "Überlappung (Stunden)", kid: "Schlüssel-ID", retires: "Läuft aus",
      audit: "Audit-Ereignisse", eventType: "Ereignistyp", filter: "Filtern", actor: "Akteur", target: "Ziel", when: "Zeitpunkt",
      back: "Zurück zu den Clients", none: "Noch nichts.", error: "Etwas ist schiefgelaufen.", language: "Sprache", settings: "Einstellungen (JSON)", scrollTable: "Scrollbare Tabelle", oldStops: "der alte funktioniert sofort nicht mehr. Fortfahren?", slugColumn: "Slug",
      organizations: "Organisationen", noOrgs: "Noch keine Organisationen.", members: "Mitglieder", email: "E-Mail", role: "Rolle", groups: "Gruppen", showMore: "Mehr anzeigen",
      oidcApps: "OIDC-Anwendungen", noApps: "Noch keine OIDC-Anwendungen.", newApp: "Neue OIDC-Anwendung", appName: "Name der Anwendung", appType: "Typ",
      optConfidential: "Vertraulich (mit Geheimnis)", optPublic: "Öffentlich (ohne Geheimnis)", typeConfidential: "Vertraulich", typePublic: "Öffentlich",
      appRedirects: "Redirect-URIs (eine pro Zeile)", appRedirectsHint: "Exakte Adressen: https (http nur auf localhost, 127.0.0.1 oder [::1]), ohne #Fragment.", appRedirectsShown: "Redirect-URIs",
      firstParty: "Eigene Anwendung (ohne Zustimmungsseite)", firstPartyShort: "Eigene Anwendung", register: "Anwendung registrieren", registered: "Anwendung registriert", clientIdLabel: "Client-ID",
      secretOnce: "Client-Geheimnis (nur jetzt sichtbar; jetzt speichern)", noSecret: "Öffentliche Anwendung: kein Client-Geheimnis.", rotateApp: "Geheimnis erneuern", oldSecretStops: "das alte Geheimnis funktioniert sofort nicht mehr. Fortfahren?",
      deleteApp: "Löschen", deleteWarn: "Anmeldungen darüber enden sofort. Das lässt sich nicht rückgängig machen.", deleted: "Gelöscht",
      serviceAccounts: "Dienstkonten", noAccounts: "Noch keine Dienstkonten.", newAccount: "Neues Dienstkonto", accountName: "Name des Kontos",
      accountsHint: "Verwenden Sie die Konto-ID als client_id und ein Schlüsselgeheimnis als client_secret bei POST /oauth/token (grant_type=client_credentials).",
      accountScopes: "Scopes (durch Leerzeichen getrennt)", scopesHint: "Namen aus a-z, 0-9 und : . _ - (z. B. reports:read reports:write).", scopesShown: "Scopes",
      createAccount: "Dienstkonto anlegen", accountCreated: "Dienstkonto angelegt", accountIdLabel: "Konto-ID (client_id)",
      saActive: "Aktiv", saDisabled: "Deaktiviert", saEnabled: "Aktiviert", keyActive: "Aktiv", keyExpired: "Abgelaufen", keyRevoked: "Widerrufen",
      keys: "Schlüssel", noKeys: "Noch keine Schlüssel.", newKey: "Neuer Schlüssel", allScopes: "alle des Kontos", expires: "Läuft ab", never: "nie",
      keySecretOnce: "Schlüsselgeheimnis (nur jetzt sichtbar; jetzt speichern)", revokeKey: "Widerrufen", revokeWarn: "Er funktioniert sofort nicht mehr, ebenso die damit ausgestellten Tokens.",
      rotateSaKey: "Erneuern", rotateSaWarn: "ein neuer Schlüssel wird erstellt; der alte funktioniert noch 24 Stunden. Fortfahren?",
      disableAccount: "Deaktivieren", disableWarn: "Es erhält keine neuen Tokens, und seine Tokens funktionieren sofort nicht mehr.", enableAccount: "Aktivieren",
    },
    fr: {
      title: "Portail d’exploitation", adminKey: "Clé d’administration", signIn: "Se connecter", signOut: "Se déconnecter",
      clients: "Clients", newClient: "Nouveau client", name: "Nom", slug: "Slug (facultatif)", origins: "Origines autorisées (une par ligne)", redirectUris: "URI de redirection (exactes, une par ligne)",
      create: "Créer le client", status: "Statut", created: "Créé", open: "Ouvrir", more: "Charger plus",
      apiKeyOnce: "Clé d’API (affichée une seule fois ; enregistrez-la)", jwtOnce: "Secret JWT (affiché une seule fois)",
      edit: "Modifier le client", save: "Enregistrer", saved: "Enregistré.", suspend: "Suspendre", activate: "Activer",
      rotateKey: "Renouveler la clé d’API", rotateSecret: "Renouveler le secret JWT", signingKeys: "Clés de signature",
      rotateSigning: "Renouveler la clé de signature", algorithm: "Algorithme", overlap: "Chevauchement (heures)", kid: "Identifiant de clé", retires: "Retrait",
      audit: "Événements d’audit", eventType: "Type d’événement", filter: "Filtrer", actor: "Acteur", target: "Cible", when: "Date",
      back: "Retour aux clients", none: "Rien pour l’instant.", error: "Une erreur est survenue.", language: "Langue", settings: "Paramètres (JSON)", scrollTable: "Tableau défilant", oldStops: "l’ancien cesse de fonctionner immédiatement. Continuer ?", slugColumn: "Slug",
      organizations: "Organisations", noOrgs: "Aucune organisation pour l’instant.", members: "Membres", email: "E-mail", role: "Rôle", groups: "Groupes", showMore: "Afficher plus",
      oidcApps: "Applications OIDC", noApps: "Aucune application OIDC pour l’instant.", newApp: "Nouvelle application OIDC", appName: "Nom de l’application", appType: "Type",
      optConfidential: "Confidentielle (avec un secret)", optPublic: "Publique (sans secret)", typeConfidential: "Confidentielle", typePublic: "Publique",
      appRedirects: "URI de redirection (une par ligne)", appRedirectsHint: "Adresses exactes : https (http uniquement sur localhost, 127.0.0.1 ou [::1]), sans #fragment.", appRedirectsShown: "URI de redirection",
      firstParty: "Application interne (sans écran de consentement)", firstPartyShort: "Application interne", register: "Enregistrer l’application", registered: "Application enregistrée", clientIdLabel: "Identifiant client",
      secretOnce: "Secret client (affiché une seule fois ; enregistrez-le)", noSecret: "Application publique : pas de secret client.", rotateApp: "Renouveler le secret", oldSecretStops: "l’ancien secret cesse de fonctionner immédiatement. Continuer ?",
      deleteApp: "Supprimer", deleteWarn: "Les connexions par cette application cessent immédiatement. Action irréversible.", deleted: "Supprimée",
      serviceAccounts: "Comptes de service", noAccounts: "Aucun compte de service pour l’instant.", newAccount: "Nouveau compte de service", accountName: "Nom du compte",
      accountsHint: "Utilisez l’identifiant du compte comme client_id et le secret d’une clé comme client_secret sur POST /oauth/token (grant_type=client_credentials).",
      accountScopes: "Portées (séparées par des espaces)", scopesHint: "Noms en a-z, 0-9 et : . _ - (par ex. reports:read reports:write).", scopesShown: "Portées",
      createAccount: "Créer le compte de service", accountCreated: "Compte de service créé", accountIdLabel: "Identifiant du compte (client_id)",
      saActive: "Actif", saDisabled: "Désactivé", saEnabled: "Activé", keyActive: "Active", keyExpired: "Expirée", keyRevoked: "Révoquée",
      keys: "Clés", noKeys: "Aucune clé pour l’instant.", newKey: "Nouvelle clé", allScopes: "toutes celles du compte", expires: "Expiration", never: "jamais",
      keySecretOnce: "Secret de la clé (affiché une seule fois ; enregistrez-le)", revokeKey: "Révoquer", revokeWarn: "Elle cesse de fonctionner immédiatement, tout comme les jetons obtenus avec elle.",
      rotateSaKey: "Renouveler", rotateSaWarn: "une nouvelle clé est créée ; l’ancienne fonctionne encore 24 heures. Continuer ?",
      disableAccount: "Désactiver", disableWarn: "Il ne reçoit plus de jetons, et ses jetons cessent de fonctionner immédiatement.", enableAccount: "Activer",
    },
    es: {
      title: "Portal de operación", adminKey: "Clave de administración", signIn: "Iniciar sesión", signOut: "Cerrar sesión",
      clients: "Clientes", newClient: "Nuevo cliente", name: "Nombre", slug: "Slug (opcional)", origins: "Orígenes permitidos (uno por línea)", redirectUris: "URI de redirección (exactas, una por línea)",
      create: "Crear cliente", status: "Estado", created: "Creado", open: "Abrir", more: "Cargar más",
      apiKeyOnce: "Clave de API (se muestra una vez; guárdela ahora)", jwtOnce: "Secreto JWT (se muestra una vez)",
      edit: "Editar cliente", save: "Guardar", saved: "Guardado.", suspend: "Suspender", activate: "Activar",
      rotateKey: "Renovar clave de API", rotateSecret: "Renovar secreto JWT", signingKeys: "Claves de firma",
      rotateSigning: "Renovar clave de firma", algorithm: "Algoritmo", overlap: "Solapamiento (horas)", kid: "Id. de clave", retires: "Se retira",
      audit: "Eventos de auditoría", eventType: "Tipo de evento", filter: "Filtrar", actor: "Actor", target: "Objetivo", when: "Fecha",
      back: "Volver a los clientes", none: "Nada todavía.", error: "Algo salió mal.", language: "Idioma", settings: "Ajustes (JSON)", scrollTable: "Tabla desplazable", oldStops: "el anterior deja de funcionar al instante. ¿Continuar?", slugColumn: "Slug",
      organizations: "Organizaciones", noOrgs: "Todavía no hay organizaciones.", members: "Miembros", email: "Correo electrónico", role: "Rol", groups: "Grupos", showMore: "Mostrar más",
      oidcApps: "Aplicaciones OIDC", noApps: "Todavía no hay aplicaciones OIDC.", newApp: "Nueva aplicación OIDC", appName: "Nombre de la aplicación", appType: "Tipo",
      optConfidential: "Confidencial (con secreto)", optPublic: "Pública (sin secreto)", typeConfidential: "Confidencial", typePublic: "Pública",
      appRedirects: "URI de redirección (una por línea)", appRedirectsHint: "Direcciones exactas: https (http solo en localhost, 127.0.0.1 o [::1]), sin #fragmento.", appRedirectsShown: "URI de redirección",
      firstParty: "Aplicación propia (sin pantalla de consentimiento)", firstPartyShort: "Aplicación propia", register: "Registrar aplicación", registered: "Aplicación registrada", clientIdLabel: "ID de cliente",
      secretOnce: "Secreto de cliente (se muestra una vez; guárdelo ahora)", noSecret: "Aplicación pública: sin secreto de cliente.", rotateApp: "Renovar secreto", oldSecretStops: "el secreto anterior deja de funcionar al instante. ¿Continuar?",
      deleteApp: "Eliminar", deleteWarn: "Los inicios de sesión con ella se detienen al instante. No se puede deshacer.", deleted: "Eliminada",
      serviceAccounts: "Cuentas de servicio", noAccounts: "Todavía no hay cuentas de servicio.", newAccount: "Nueva cuenta de servicio", accountName: "Nombre de la cuenta",
      accountsHint: "Use el id. de la cuenta como client_id y el secreto de una clave como client_secret en POST /oauth/token (grant_type=client_credentials).",
      accountScopes: "Ámbitos (separados por espacios)", scopesHint: "Nombres con a-z, 0-9 y : . _ - (p. ej. reports:read reports:write).", scopesShown: "Ámbitos",
      createAccount: "Crear cuenta de servicio", accountCreated: "Cuenta de servicio creada", accountIdLabel: "Id. de la cuenta (client_id)",
      saActive: "Activa", saDisabled: "Desactivada", saEnabled: "Activada", keyActive: "Activa", keyExpired: "Caducada", keyRevoked: "Revocada",
      keys: "Claves", noKeys: "Todavía no hay claves.", newKey: "Nueva clave", allScopes: "todos los de la cuenta", expires: "Caduca", never: "nunca",
      keySecretOnce: "Secreto de la clave (se muestra una vez; guárdelo ahora)", revokeKey: "Revocar", revokeWarn: "Deja de funcionar al instante, igual que los tokens obtenidos con ella.",
      rotateSaKey: "Renovar", rotateSaWarn: "se crea una clave nueva; la anterior sigue funcionando 24 horas. ¿Continuar?",
      disableAccount: "Desactivar", disableWarn: "No recibe tokens nuevos, y sus tokens dejan de funcionar al instante.", enableAccount: "Activar",
    },
  };
  const LANGS = { en: "English", de: "Deutsch", fr: "Français", es: "Español" };
  const params = new URLSearchParams(location.search);
  const pick = (tag) => (tag || "").toLowerCase().split(/[-_]/)[0];
  const lang = [params.get("locale"), sessionStorage.getItem("authservice.locale"), ...(navigator.languages || [])]
    .map(pick).find((l) => STRINGS[l]) || "en";
  const t = (k) => STRINGS[lang][k] || STRINGS.en[k] || k;
  let adminKey = null;
  let ops = null; // window.PortalOperators: the admin account's session and the operators section

  const { el, alertBox, uniqueId, busy, markInvalid } = window.AuthService.dom;
  const field = (label, attrs, tag) => window.AuthService.dom.field(label, attrs, { tag });
  const button = (text, attrs) => el("button", Object.assign({ class: "as-btn as-inline", type: "submit" }, attrs), [text]);
  const show = (box, text, ok) => { box.className = `as-alert ${ok ? "as-ok" : "as-error"}`; box.textContent = text; box.hidden = false; };
  const main = () => document.getElementById("main");
  const fmt = (iso) => (iso ? new Date(iso).toLocaleString(lang) : "—");

  const signedIn = () => Boolean(adminKey || ops.headers());

  async function api(method, path, body, retried) {
    const auth = adminKey ? { "X-Admin-Key": adminKey } : (ops.headers() || {});
    const res = await fetch(path, {
      method,
      headers: Object.assign({ Accept: "application/json" }, auth, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => null);
    // A lapsed access token is renewed once, then the call is made again.
    if (res.status === 401 && !adminKey && !retried && ops.headers() && (await ops.refresh())) return api(method, path, body, true);
    if (res.status === 401 && (adminKey || retried || !ops.headers())) {
      // The key was revoked or mistyped, or the session ended: back to sign-in (dropped from memory).
      adminKey = null;
      await ops.signOut();
      signIn();
    }
    if (!res.ok) {
      const err = new Error((data && (data.message || data.error)) || t("error"));
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function card(title, id, children) {
    return el("section", { class: "as-card", "aria-labelledby": id }, [el("h2", { class: "as-subtitle", id, text: title }), ...children]);
  }

  function render(children) {
    const out = el("button", { class: "as-btn as-secondary as-inline", type: "button", text: t("signOut") });
    out.addEventListener("click", async () => { adminKey = null; await ops.signOut(); signIn(); });
    const who = signedIn() && ops.who();
    main().replaceChildren(
      el("div", { class: "as-row" }, [el("h1", { class: "as-title", id: "page-title", text: t("title") }), who ? el("span", { class: "as-meta", text: who }) : null, signedIn() ? out : null]),
      ...children,
    );
  }

  function signIn() {
    const account = ops.signInCard(afterSignIn, (enrol) => render([enrol]));
    const box = alertBox();
    const key = field(t("adminKey"), { type: "password", autocomplete: "off", required: true });
    const form = el("form", { class: "as-stack" }, [el("p", { class: "as-lead", text: ops.keyLead }), box, key.wrap, button(ops.keySignIn)]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      adminKey = key.input.value.trim();
      try { await api("GET", "/api/admin/clients?limit=1"); await afterSignIn(); } catch (err) { adminKey = null; show(box, err.message); }
    });
    render([el("section", { class: "as-card" }, [account.form]), card(ops.keyTitle, "h-key", [form])]);
    account.focus();
  }

  /** Reads what the operator may do, then opens the clients. */
  async function afterSignIn() {
    await ops.load(api);
    await clientsView();
  }

  async function clientsView() {
    const box = alertBox();
    const rows = el("tbody");
    const more = button(t("more"), { type: "button", class: "as-btn as-secondary as-inline" });
    let cursor = null;
    async function load() {
      const page = await api("GET", `/api/admin/clients?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      page.clients.forEach((c) => {
        const open = el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${t("open")}: ${c.name}`, text: t("open") });
        open.addEventListener("click", () => clientView(c.id).catch((err) => show(box, err.message)));
        rows.append(el("tr", {}, [el("td", { text: c.name }), el("td", { text: c.slug }), el("td", { text: c.status }), el("td", { text: fmt(c.created_at) }), el("td", {}, [open])]));
      });
      cursor = page.next_cursor;
      more.hidden = !cursor;
    }
    more.addEventListener("click", () => load().catch((err) => show(box, err.message)));
    const table = el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-label": t("scrollTable") }, [el("table", { class: "as-table" }, [
      el("thead", {}, [el("tr", {}, [t("name"), t("slugColumn"), t("status"), t("created"), ""].map((h) => el("th", { scope: "col", text: h })))]), rows])]);

    const cBox = alertBox();
    const name = field(t("name"), { type: "text", required: true });
    const slug = field(t("slug"), { type: "text" });
    const origins = field(t("origins"), { rows: 2 }, "textarea");
    const redirects = field(t("redirectUris"), { rows: 2 }, "textarea");
    const create = button(t("create"));
    const form = el("form", { class: "as-stack" }, [cBox, name.wrap, slug.wrap, origins.wrap, redirects.wrap, create]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const made = await api("POST", "/api/admin/clients", {
          name: name.input.value.trim(),
          slug: slug.input.value.trim() || undefined,
          allowed_origins: origins.input.value.split(/\s+/).filter(Boolean),
          redirect_uris: redirects.input.value.split(/\s+/).filter(Boolean),
        });
        form.reset();
        cBox.hidden = true;
        form.append(secretBox(t("apiKeyOnce"), made.api_key, "new-api-key"));
        rows.replaceChildren();
        cursor = null;
        await load();
      } catch (err) { show(cBox, err.message); }
    });
    render([
      card(t("clients"), "h-clients", [box, table, more]),
      ...(ops.can("clients:create") && ops.global() ? [card(t("newClient"), "h-new", [form])] : []),
      ...(ops.can("admins:manage") && ops.global() ? ops.operatorsCard(api) : []),
      ...(ops.can("audit:read") ? [auditCard(null)] : []),
    ]);
    await load().catch((err) => show(box, err.message));
  }

  function secretBox(label, value, id, before) {
    // Not a live region: a screen reader should not read a new secret aloud.
    return el("div", { class: "as-alert as-ok" }, [...(before || []), el("div", { text: label }), el("code", { class: "as-secret", id, text: value })]);
  }

  async function clientView(id) {
    const box = alertBox();
    const c = await api("GET", `/api/admin/clients/${id}`);
    const name = field(t("name"), { type: "text", value: c.name, required: true });
    const origins = field(t("origins"), { rows: 3 }, "textarea");
    origins.input.value = c.allowed_origins.join("\n");
    const redirects = field(t("redirectUris"), { rows: 3 }, "textarea");
    redirects.input.value = (c.redirect_uris || []).join("\n");
    // The settings form is generated from the typed settings the server declares.
    const schema = (await api("GET", "/api/admin/client-settings")).data;
    const settings = window.PortalSettings({ el, field, lang }).settingsForm(c.settings, schema);
    const save = button(t("save"));
    const form = el("form", { class: "as-stack" }, [box, el("p", { class: "as-meta", text: `${c.id} · ${c.slug} · ${c.status}` }), name.wrap, origins.wrap, redirects.wrap, settings.wrap, save]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const patch = settings.patch();
        const saved = await api("PATCH", `/api/admin/clients/${id}`, Object.assign({
          name: name.input.value.trim(),
          allowed_origins: origins.input.value.split(/\s+/).filter(Boolean),
          redirect_uris: redirects.input.value.split(/\s+/).filter(Boolean),
        }, patch ? { settings: patch } : {}));
        show(box, t("saved"), true);
        settings.saved(saved.settings);
      } catch (err) { show(box, err.message); }
    });
    const actions = el("div", { class: "as-row" });
    const secrets = el("div", { class: "as-stack" });
    const toggle = button(c.status === "active" ? t("suspend") : t("activate"), { type: "button", class: "as-btn as-secondary as-inline" });
    toggle.addEventListener("click", async () => {
      if (!window.confirm(`${toggle.textContent}: ${c.name}?`)) return;
      try { await api("PATCH", `/api/admin/clients/${id}`, { status: c.status === "active" ? "suspended" : "active" }); clientView(id); } catch (err) { show(box, err.message); }
    });
    const rotKey = button(t("rotateKey"), { type: "button", class: "as-btn as-secondary as-inline" });
    rotKey.addEventListener("click", async () => {
      if (!window.confirm(`${t("rotateKey")}: ${t("oldStops")}`)) return;
      try { const r = await api("POST", `/api/admin/clients/${id}/rotate-api-key`); secrets.replaceChildren(secretBox(t("apiKeyOnce"), r.api_key, "rotated-api-key")); } catch (err) { show(box, err.message); }
    });
    const rotSecret = button(t("rotateSecret"), { type: "button", class: "as-btn as-secondary as-inline" });
    rotSecret.addEventListener("click", async () => {
      if (!window.confirm(`${t("rotateSecret")}: ${t("oldStops")}`)) return;
      try { const r = await api("POST", `/api/admin/clients/${id}/rotate-secret`); secrets.replaceChildren(secretBox(t("jwtOnce"), r.jwt_secret, "rotated-jwt-secret")); } catch (err) { show(box, err.message); }
    });
    if (ops.can("clients:update")) actions.append(toggle); else save.hidden = true;
    if (ops.can("clients:rotate_keys")) actions.append(rotKey, rotSecret);

    const kBox = alertBox();
    const kRows = el("tbody");
    async function loadKeys() {
      const keys = (await api("GET", `/api/admin/clients/${id}/signing-keys`)).keys;
      kRows.replaceChildren(...keys.map((k) => el("tr", {}, [el("td", { class: "as-secret", text: k.kid }), el("td", { text: k.alg }), el("td", { text: k.status }), el("td", { text: fmt(k.retires_at) })])));
    }
    const algId = uniqueId();
    const alg = el("select", { id: algId }, ["ES256", "RS256", "EdDSA"].map((a) => el("option", { value: a }, [a])));
    const overlap = field(t("overlap"), { type: "number", min: 0, max: 720, value: 24 });
    const rotate = button(t("rotateSigning"));
    const kForm = el("form", { class: "as-row" }, [el("div", { class: "as-field" }, [el("label", { for: algId, text: t("algorithm") }), alg]), overlap.wrap, rotate]);
    kForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api("POST", `/api/admin/clients/${id}/signing-keys/rotate`, { algorithm: alg.value, overlap_hours: Number(overlap.input.value) }); await loadKeys(); } catch (err) { show(kBox, err.message); }
    });
    kForm.hidden = !ops.can("clients:rotate_keys");
    const back = el("button", { class: "as-btn as-secondary as-inline", type: "button", text: t("back") });
    back.addEventListener("click", clientsView);
    render([
      back,
      card(`${t("edit")}: ${c.name}`, "h-edit", [form, actions, secrets]),
      card(t("signingKeys"), "h-keys", [kBox, el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-label": t("scrollTable") }, [el("table", { class: "as-table" }, [
        el("thead", {}, [el("tr", {}, [t("kid"), t("algorithm"), t("status"), t("retires")].map((h) => el("th", { scope: "col", text: h })))]), kRows])]), kForm]),
      ...(ops.can("users:read") && window.PortalUsers
        ? [window.PortalUsers({ api, el, field, button, show, alertBox, card, lang }).usersCard(id, ops.can)]
        : []),
      orgsCard(id),
      ...(enterprise() ? [enterprise().enterpriseCard(id), enterprise().socialCard(id)] : []),
      oidcCard(id),
      serviceAccountsCard(id),
      ...(ops.can("audit:read") && window.PortalWebhooks
        ? [window.PortalWebhooks({ api, el, field, button, show, alertBox, card, lang }).webhooksCard(id, ops.can("clients:update"))]
        : []),
      ...(ops.can("audit:read") ? [auditCard(id)] : []),
    ]);
    await loadKeys().catch((err) => show(kBox, err.message));
  }

  /** The domains and SSO connections card (portal-enterprise.js, loaded before this file). */
  let enterpriseUi;
  function enterprise() {
    if (enterpriseUi === undefined) {
      enterpriseUi = window.PortalEnterprise
        ? window.PortalEnterprise({ api, el, field, button, show, alertBox, card, lang })
        : null;
    }
    return enterpriseUi;
  }

  /** The client's organizations (a page at a time, oldest first), each with a Members button
   * that opens its members (email, role, SSO / SCIM groups) below it. */
  function orgsCard(clientId) {
    const box = alertBox();
    const list = el("ul", { class: "as-list as-org-list", hidden: true });
    const empty = el("p", { class: "as-meta", text: t("noOrgs"), hidden: true });
    const more = button(t("showMore"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("showMore")}: ${t("organizations")}`, hidden: true });
    let cursor = null;
    let loading = false;
    async function load(reset) {
      if (loading) return;
      loading = true;
      try {
        const q = new URLSearchParams({ limit: "20" });
        if (!reset && cursor) q.set("cursor", cursor);
        const page = await api("GET", `/api/admin/clients/${encodeURIComponent(clientId)}/organizations?${q}`);
        const items = page.organizations.map((o) => orgItem(clientId, o, box));
        if (reset) list.replaceChildren(...items); else list.append(...items);
        list.hidden = !list.children.length;
        empty.hidden = !list.hidden;
        cursor = page.next_cursor;
        more.hidden = !cursor;
      } finally { loading = false; }
    }
    more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
    setTimeout(() => load(true).catch((err) => show(box, err.message)), 0);
    return card(t("organizations"), "h-orgs", [box, empty, list, more]);
  }

  const groupsText = (groups) => [["sso", "SSO"], ["scim", "SCIM"]]
    .filter(([k]) => groups && Array.isArray(groups[k]) && groups[k].length)
    .map(([k, label]) => `${label}: ${groups[k].join(", ")}`)
    .join(" · ") || "—";

  function orgItem(clientId, o, box) {
    const path = `/api/admin/clients/${encodeURIComponent(clientId)}/organizations/${encodeURIComponent(o.id)}/members`;
    const rows = el("tbody");
    const headingId = uniqueId();
    const more = button(t("showMore"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("showMore")}: ${t("members")}, ${o.name}`, hidden: true });
    const panel = el("div", { class: "as-stack as-org-panel", id: uniqueId(), hidden: true }, [
      el("h4", { id: headingId, text: `${t("members")}: ${o.name}` }),
      el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-labelledby": headingId }, [el("table", { class: "as-table" }, [
        el("thead", {}, [el("tr", {}, [t("email"), t("role"), t("groups")].map((h) => el("th", { scope: "col", text: h })))]), rows])]),
      more]);
    let cursor = null;
    let loading = false;
    async function load(reset) {
      if (loading) return false;
      loading = true;
      try {
        const q = new URLSearchParams({ limit: "50" });
        if (!reset && cursor) q.set("cursor", cursor);
        const page = await api("GET", `${path}?${q}`);
        const items = page.members.map((m) => el("tr", { "data-member": m.user_id }, [
          el("td", { text: m.email }), el("td", { text: m.role }), el("td", { text: groupsText(m.groups) })]));
        if (reset && !items.length) items.push(el("tr", {}, [el("td", { colspan: 3, text: t("none") })]));
        if (reset) rows.replaceChildren(...items); else rows.append(...items);
        cursor = page.next_cursor;
        more.hidden = !cursor;
        return true;
      } finally { loading = false; }
    }
    more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
    const toggle = button(t("members"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("members")}: ${o.name}`, "aria-expanded": "false", "aria-controls": panel.id });
    toggle.addEventListener("click", async () => {
      const opening = panel.hidden;
      // Opening (re)loads the first page, so what is shown is current.
      if (opening) {
        try { if (!(await load(true))) return; } catch (err) { show(box, err.message); return; }
      }
      panel.hidden = !opening;
      toggle.setAttribute("aria-expanded", String(opening));
    });
    return el("li", { "data-org": o.id }, [
      el("div", {}, [el("h3", { text: o.name }), el("p", { class: "as-meta", text: `${o.slug} · ${t("created")}: ${fmt(o.created_at)}` })]),
      toggle,
      panel]);
  }

  const SECRET_METHODS = ["client_secret_basic", "client_secret_post"];

  /** The client's OIDC applications (a page at a time, oldest first), each with Rotate secret
   * (apps that authenticate with a secret) and Delete, then a form to register one. A new
   * client_id and client secret are shown once; the next one shown replaces the box (so only
   * the current secret stays on screen). */
  function oidcCard(clientId) {
    const base = `/api/admin/clients/${encodeURIComponent(clientId)}/oidc-apps`;
    const box = alertBox();
    const list = el("ul", { class: "as-list as-app-list", hidden: true });
    const empty = el("p", { class: "as-meta", text: t("noApps"), hidden: true });
    const more = button(t("showMore"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("showMore")}: ${t("oidcApps")}`, hidden: true });
    let cursor = null;
    let loading = false;
    let latest = 0;
    let shown = null;
    const once = (where, node) => { if (shown) shown.remove(); shown = node; where.append(node); };
    async function load(reset) {
      // "Show more" waits for a load in flight; a reset (after a change) always runs, and wins.
      if (loading && !reset) return;
      const mine = ++latest;
      loading = true;
      try {
        const q = new URLSearchParams({ limit: "20" });
        if (!reset && cursor) q.set("cursor", cursor);
        const page = await api("GET", `${base}?${q}`);
        if (mine !== latest) return;
        const items = page.oidc_apps.map(appItem);
        if (reset) list.replaceChildren(...items); else list.append(...items);
        list.hidden = !list.children.length;
        empty.hidden = !list.hidden;
        cursor = page.next_cursor;
        more.hidden = !cursor;
      } finally { if (mine === latest) loading = false; }
    }

    function appItem(a) {
      const path = `${base}/${encodeURIComponent(a.id)}`;
      const li = el("li", { "data-oidc-app": a.id });
      const actions = el("div", { class: "as-row" });
      if (SECRET_METHODS.includes(a.token_endpoint_auth_method)) {
        const rotate = button(t("rotateApp"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("rotateApp")}: ${a.name}` });
        rotate.addEventListener("click", () => busy(rotate, async () => {
          if (!window.confirm(`${t("rotateApp")}: ${a.name} — ${t("oldSecretStops")}`)) return;
          try {
            const r = await api("POST", `${path}/rotate-secret`);
            box.hidden = true;
            once(li, secretBox(`${a.name}: ${t("secretOnce")}`, r.client_secret, "rotated-oidc-secret"));
          } catch (err) { show(box, err.message); }
        }));
        actions.append(rotate);
      }
      const del = button(t("deleteApp"), { type: "button", class: "as-btn as-danger as-inline", "aria-label": `${t("deleteApp")}: ${a.name}` });
      del.addEventListener("click", () => busy(del, async () => {
        if (!window.confirm(`${t("deleteApp")}: ${a.name}? ${t("deleteWarn")}`)) return;
        try {
          await api("DELETE", path);
          show(box, `${t("deleted")}: ${a.name}`, true);
          await load(true);
        } catch (err) { show(box, err.message); }
      }));
      actions.append(del);
      const kind = a.type === "public" ? t("typePublic") : t("typeConfidential");
      li.append(
        el("div", {}, [
          el("h3", { text: a.name }),
          el("p", { class: "as-meta", text: [kind, a.first_party ? t("firstPartyShort") : null, `${t("created")}: ${fmt(a.created_at)}`].filter(Boolean).join(" · ") }),
          el("p", { class: "as-meta" }, [`${t("clientIdLabel")}: `, el("code", { class: "as-secret", text: a.client_id })]),
          el("p", { class: "as-meta", text: `${t("appRedirectsShown")}: ${(a.redirect_uris || []).join(", ") || "—"}` }),
        ]),
        actions);
      return li;
    }

    const cBox = alertBox();
    const name = field(t("appName"), { type: "text", required: true, autocomplete: "off" });
    const type = field(t("appType"), {}, "select");
    type.input.append(el("option", { value: "confidential", text: t("optConfidential") }), el("option", { value: "public", text: t("optPublic") }));
    const redirects = window.AuthService.dom.field(t("appRedirects"), { rows: 3, spellcheck: "false" }, { tag: "textarea", hint: t("appRedirectsHint") });
    const fpId = uniqueId();
    const firstParty = el("input", { type: "checkbox", id: fpId, name: fpId });
    const register = button(t("register"));
    const form = el("form", { class: "as-stack", "aria-labelledby": "h-oidc-new" }, [
      cBox, name.wrap, type.wrap, redirects.wrap,
      el("div", { class: "as-check" }, [firstParty, el("label", { for: fpId, text: t("firstParty") })]),
      register]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(register, async () => {
        try {
          const made = await api("POST", base, {
            name: name.input.value.trim(),
            type: type.input.value,
            redirect_uris: redirects.input.value.split(/\s+/).filter(Boolean),
            first_party: firstParty.checked,
          });
          form.reset();
          cBox.hidden = true;
          const shownId = [el("div", { text: `${t("registered")}: ${made.name}` }), el("div", { text: t("clientIdLabel") }), el("code", { class: "as-secret", id: "new-oidc-client-id", text: made.client_id })];
          once(form, made.client_secret
            ? secretBox(t("secretOnce"), made.client_secret, "new-oidc-secret", shownId)
            : el("div", { class: "as-alert as-ok" }, [...shownId, el("div", { text: t("noSecret") })]));
          await load(true);
        } catch (err) {
          show(cBox, err.message);
          // The server names the refused field first ("redirect_uris: …").
          const refused = { name: name.input, type: type.input, redirect_uris: redirects.input }[String(err.message).split(":")[0]];
          if (refused) markInvalid(refused);
        }
      });
    });
    more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
    setTimeout(() => load(true).catch((err) => show(box, err.message)), 0);
    return card(t("oidcApps"), "h-oidc", [box, empty, list, more, el("h3", { id: "h-oidc-new", class: "as-app-new", text: t("newApp") }), form]);
  }

  const ACCOUNT_STATUS = { active: "saActive", disabled: "saDisabled" };
  const KEY_STATUS = { active: "keyActive", expired: "keyExpired", revoked: "keyRevoked" };
  const statusText = (names, status) => (names[status] ? t(names[status]) : status);

  /** The client's service accounts (a page at a time, oldest first): each with its id (the
   * client_id of the client_credentials grant), Keys (its keys below it, each with Rotate and
   * Revoke), New key and Disable (Enable once disabled), then a form to create one. A key's
   * secret is shown once, under its account; the next one shown replaces the box, and the page
   * keeps no copy. */
  function serviceAccountsCard(clientId) {
    const base = `/api/admin/clients/${encodeURIComponent(clientId)}/service-accounts`;
    const box = alertBox();
    const list = el("ul", { class: "as-list as-app-list as-sa-list", hidden: true });
    const empty = el("p", { class: "as-meta", text: t("noAccounts"), hidden: true });
    const more = button(t("showMore"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("showMore")}: ${t("serviceAccounts")}`, hidden: true });
    let cursor = null;
    let loading = false;
    let latest = 0;
    let shown = null;
    // Only the latest confirmation or secret stays on screen; `place` puts it where it belongs.
    const once = (node, place) => { if (shown) shown.remove(); shown = node; place(node); };
    async function load(reset) {
      // "Show more" waits for a load in flight; a reset (after a change) always runs, and wins.
      if (loading && !reset) return;
      const mine = ++latest;
      loading = true;
      try {
        const q = new URLSearchParams({ limit: "20" });
        if (!reset && cursor) q.set("cursor", cursor);
        const page = await api("GET", `${base}?${q}`);
        if (mine !== latest) return;
        const items = page.service_accounts.map(accountItem);
        if (reset) list.replaceChildren(...items); else list.append(...items);
        list.hidden = !list.children.length;
        empty.hidden = !list.hidden;
        cursor = page.next_cursor;
        more.hidden = !cursor;
      } finally { if (mine === latest) loading = false; }
    }

    function accountItem(a) {
      const path = `${base}/${encodeURIComponent(a.id)}`;
      const active = a.status === "active";
      const li = el("li", { "data-service-account": a.id, "data-status": a.status });
      const keyList = el("ul", { class: "as-list as-app-list as-key-list", hidden: true });
      const noKeys = el("p", { class: "as-meta", text: t("noKeys"), hidden: true });
      const panel = el("div", { class: "as-stack as-org-panel", id: uniqueId(), hidden: true }, [
        el("h4", { text: `${t("keys")}: ${a.name}` }), noKeys, keyList]);
      let keysLatest = 0;
      async function loadKeys() {
        const mine = ++keysLatest;
        const { keys } = await api("GET", `${path}/keys`);
        if (mine !== keysLatest) return false;
        keyList.replaceChildren(...keys.map(keyItem));
        keyList.hidden = !keys.length;
        noKeys.hidden = !keyList.hidden;
        return true;
      }
      const toggle = button(t("keys"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("keys")}: ${a.name}`, "aria-expanded": "false", "aria-controls": panel.id });
      const expand = (open) => { panel.hidden = !open; toggle.setAttribute("aria-expanded", String(open)); };
      toggle.addEventListener("click", async () => {
        const opening = panel.hidden;
        // Opening (re)loads the keys, so what is shown is current.
        if (opening) {
          try { if (!(await loadKeys())) return; } catch (err) { show(box, err.message); return; }
        }
        expand(opening);
      });
      // A new key's secret goes under the account's buttons, above its (opened) keys.
      async function keyMade(made, id) {
        box.hidden = true;
        once(secretBox(`${a.name}: ${t("keySecretOnce")}`, made.secret, id), (node) => panel.before(node));
        if (await loadKeys()) expand(true);
      }

      function keyItem(k) {
        const keyPath = `${path}/keys/${encodeURIComponent(k.id)}`;
        const actions = el("div", { class: "as-row" });
        if (k.status === "active" && active) {
          const rotate = button(t("rotateSaKey"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("rotateSaKey")}: ${k.prefix}` });
          rotate.addEventListener("click", () => busy(rotate, async () => {
            if (!window.confirm(`${t("rotateSaKey")}: ${k.prefix} — ${t("rotateSaWarn")}`)) return;
            try { await keyMade(await api("POST", `${keyPath}/rotate`, { overlap_hours: 24 }), "rotated-sa-secret"); } catch (err) { show(box, err.message); }
          }));
          actions.append(rotate);
        }
        if (k.status === "active") {
          const revoke = button(t("revokeKey"), { type: "button", class: "as-btn as-danger as-inline", "aria-label": `${t("revokeKey")}: ${k.prefix}` });
          revoke.addEventListener("click", () => busy(revoke, async () => {
            if (!window.confirm(`${t("revokeKey")}: ${k.prefix}? ${t("revokeWarn")}`)) return;
            try {
              await api("DELETE", keyPath);
              show(box, `${t("keyRevoked")}: ${k.prefix}`, true);
              await loadKeys();
            } catch (err) { show(box, err.message); }
          }));
          actions.append(revoke);
        }
        const scopes = k.scopes ? k.scopes.join(" ") || "—" : t("allScopes");
        return el("li", { "data-sa-key": k.id, "data-status": k.status }, [
          el("div", {}, [
            el("code", { class: "as-secret", text: k.prefix }),
            el("p", { class: "as-meta", text: `${statusText(KEY_STATUS, k.status)} · ${t("scopesShown")}: ${scopes}` }),
            el("p", { class: "as-meta", text: `${t("created")}: ${fmt(k.created_at)} · ${t("expires")}: ${k.expires_at ? fmt(k.expires_at) : t("never")}` }),
          ]),
          actions.children.length ? actions : null]);
      }

      const actions = el("div", { class: "as-row" }, [toggle]);
      if (active) {
        const newKey = button(t("newKey"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("newKey")}: ${a.name}` });
        newKey.addEventListener("click", () => busy(newKey, async () => {
          try { await keyMade(await api("POST", `${path}/keys`), "new-sa-secret"); } catch (err) { show(box, err.message); }
        }));
        const disable = button(t("disableAccount"), { type: "button", class: "as-btn as-danger as-inline", "aria-label": `${t("disableAccount")}: ${a.name}` });
        disable.addEventListener("click", () => busy(disable, async () => {
          if (!window.confirm(`${t("disableAccount")}: ${a.name}? ${t("disableWarn")}`)) return;
          try {
            await api("DELETE", path);
            show(box, `${t("saDisabled")}: ${a.name}`, true);
            await load(true);
          } catch (err) { show(box, err.message); }
        }));
        actions.append(newKey, disable);
      } else {
        const enable = button(t("enableAccount"), { type: "button", class: "as-btn as-secondary as-inline", "aria-label": `${t("enableAccount")}: ${a.name}` });
        enable.addEventListener("click", () => busy(enable, async () => {
          if (!window.confirm(`${t("enableAccount")}: ${a.name}?`)) return;
          try {
            await api("PATCH", path, { status: "active" });
            show(box, `${t("saEnabled")}: ${a.name}`, true);
            await load(true);
          } catch (err) { show(box, err.message); }
        }));
        actions.append(enable);
      }
      li.append(
        el("div", {}, [
          el("h3", { text: a.name }),
          el("p", { class: "as-meta", text: `${statusText(ACCOUNT_STATUS, a.status)} · ${t("created")}: ${fmt(a.created_at)}` }),
          el("p", { class: "as-meta" }, [`${t("accountIdLabel")}: `, el("code", { class: "as-secret", text: a.id })]),
          el("p", { class: "as-meta", text: `${t("scopesShown")}: ${(a.scopes || []).join(" ") || "—"}` }),
        ]),
        actions,
        panel);
      return li;
    }

    const cBox = alertBox();
    const name = field(t("accountName"), { type: "text", required: true, autocomplete: "off" });
    const scopes = window.AuthService.dom.field(t("accountScopes"), { type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false" }, { hint: t("scopesHint") });
    const create = button(t("createAccount"));
    const form = el("form", { class: "as-stack", "aria-labelledby": "h-sa-new" }, [cBox, name.wrap, scopes.wrap, create]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(create, async () => {
        try {
          const made = await api("POST", base, {
            name: name.input.value.trim(),
            scopes: scopes.input.value.split(/[\s,]+/).filter(Boolean),
          });
          form.reset();
          cBox.hidden = true;
          once(el("div", { class: "as-alert as-ok" }, [
            el("div", { text: `${t("accountCreated")}: ${made.name}` }), el("div", { text: t("accountIdLabel") }),
            el("code", { class: "as-secret", id: "new-sa-id", text: made.id })]), (node) => form.append(node));
          await load(true);
        } catch (err) {
          show(cBox, err.message);
          // The server names the refused field first ("scopes: …").
          const refused = { name: name.input, scopes: scopes.input }[String(err.message).split(":")[0]];
          if (refused) markInvalid(refused);
        }
      });
    });
    more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
    setTimeout(() => load(true).catch((err) => show(box, err.message)), 0);
    return card(t("serviceAccounts"), "h-sa", [box, el("p", { class: "as-meta", text: t("accountsHint") }), empty, list, more,
      el("h3", { id: "h-sa-new", class: "as-app-new", text: t("newAccount") }), form]);
  }

  function auditCard(clientId) {
    const box = alertBox();
    const rows = el("tbody");
    const type = field(t("eventType"), { type: "text" });
    const go = button(t("filter"));
    const more = button(t("more"), { type: "button", class: "as-btn as-secondary as-inline" });
    let cursor = null;
    async function load(reset) {
      if (reset) { rows.replaceChildren(); cursor = null; }
      const q = new URLSearchParams({ limit: "25" });
      if (clientId) q.set("client_id", clientId);
      if (type.input.value.trim()) q.set("event_type", type.input.value.trim());
      if (cursor) q.set("cursor", cursor);
      const page = await api("GET", `/api/admin/audit-events?${q}`);
      page.events.forEach((e) => rows.append(el("tr", {}, [
        el("td", { text: fmt(e.occurred_at) }), el("td", { text: e.event_type }),
        el("td", { text: `${e.actor_type}${e.actor_id ? `:${e.actor_id}` : ""}` }),
        el("td", { text: e.target_type ? `${e.target_type}:${e.target_id}` : "—" })])));
      if (!page.events.length && reset) rows.append(el("tr", {}, [el("td", { colspan: 4, text: t("none") })]));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    }
    const form = el("form", { class: "as-row" }, [type.wrap, go]);
    form.addEventListener("submit", (e) => { e.preventDefault(); load(true).catch((err) => show(box, err.message)); });
    more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
    setTimeout(() => load(true).catch((err) => show(box, err.message)), 0);
    return card(t("audit"), clientId ? "h-audit-client" : "h-audit", [box, form, el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-label": t("scrollTable") }, [el("table", { class: "as-table" }, [
      el("thead", {}, [el("tr", {}, [t("when"), t("eventType"), t("actor"), t("target")].map((h) => el("th", { scope: "col", text: h })))]), rows])]), more]);
  }

  function start() {
    ops = window.PortalOperators({ el, field, button, show, alertBox, card, lang });
    document.documentElement.lang = lang;
    document.title = t("title");
    const id = "lang-picker";
    const sel = el("select", { id }, Object.entries(LANGS).map(([code, label]) => el("option", { value: code, selected: code === lang }, [label])));
    sel.addEventListener("change", () => { sessionStorage.setItem("authservice.locale", sel.value); const u = new URL(location.href); u.searchParams.set("locale", sel.value); location.assign(u.href); });
    document.body.append(el("footer", { class: "as-footer" }, [el("label", { for: id, text: `${t("language")} ` }), sel]));
    signIn();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
