/* The operator portal's enterprise card for one client: the domains its organizations claim
 * (add, verify by the DNS TXT record, remove), their SSO connections (OpenID Connect: add,
 * enable / disable, test sign-in, remove) and their SCIM directories (add, new token,
 * enable / disable; a token is shown once). Loaded before portal.js, which calls
 * `PortalEnterprise(ui)` with its helpers. DOM only (no innerHTML), no inline script or style.
 * The client secret of a connection is sent once and never shown again. */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      scim: "SCIM directories", noDirectories: "No SCIM directories yet.", dirName: "Directory name", addDirectory: "Add SCIM directory", rotateToken: "New token", scimBase: "SCIM base URL", tokenOnce: "Bearer token (shown only now; give it to the identity provider):", lastSync: "last call", never: "never",
      social: "Social sign-in", noProviders: "No social providers yet.", provider: "Provider", issuerOptional: "Issuer URL (empty: the provider's own; required for OpenID Connect)", teamId: "Apple team ID", keyId: "Apple key ID", appleKey: "Private key (.p8 file contents)", addProvider: "Save provider", enabled: "enabled", disabledState: "disabled",
      badUrl: "The identity provider named an address that is not a web page.",
      protocol: "Protocol", metadataUrl: "IdP metadata URL", metadataXml: "or IdP metadata XML", spEntityId: "Entity ID (SP metadata URL) to register at the identity provider", acsUrl: "Assertion Consumer Service URL (HTTP-POST)",
      enterprise: "Domains and SSO", domains: "Domains", noDomains: "No domains claimed yet.", domain: "Domain",
      organization: "Organization", addDomain: "Claim domain", verify: "Verify", verified: "verified", pending: "pending",
      txtHint: "Publish this TXT record, then Verify:", remove: "Remove", removeWarn: "Remove {name}?",
      connections: "SSO connections", noConnections: "No SSO connections yet.", connName: "Connection name",
      issuer: "Issuer URL", idpClientId: "Client ID at the identity provider", idpSecret: "Client secret at the identity provider",
      connDomains: "Domains it signs in (space-separated)", enforce: "Require SSO for these domains", addConnection: "Add SSO connection",
      callback: "Redirect URI to register at the identity provider", enable: "Enable", disable: "Disable",
      testSignIn: "Test sign-in", openTest: "Open the test sign-in", showResult: "Show the result", needOrg: "Create an organization first.",
    },
    de: {
      scim: "SCIM-Verzeichnisse", noDirectories: "Noch keine SCIM-Verzeichnisse.", dirName: "Name des Verzeichnisses", addDirectory: "SCIM-Verzeichnis hinzufügen", rotateToken: "Neues Token", scimBase: "SCIM-Basis-URL", tokenOnce: "Bearer-Token (nur jetzt sichtbar; dem Identitätsanbieter geben):", lastSync: "letzter Aufruf", never: "nie",
      social: "Social Login", noProviders: "Noch keine Social-Login-Anbieter.", provider: "Anbieter", issuerOptional: "Issuer-URL (leer: die des Anbieters; für OpenID Connect erforderlich)", teamId: "Apple-Team-ID", keyId: "Apple-Schlüssel-ID", appleKey: "Privater Schlüssel (Inhalt der .p8-Datei)", addProvider: "Anbieter speichern", enabled: "eingeschaltet", disabledState: "ausgeschaltet",
      badUrl: "Der Identitätsanbieter nannte eine Adresse, die keine Webseite ist.",
      protocol: "Protokoll", metadataUrl: "URL der IdP-Metadaten", metadataXml: "oder IdP-Metadaten als XML", spEntityId: "Beim Identitätsanbieter einzutragende Entity-ID (URL der SP-Metadaten)", acsUrl: "Assertion-Consumer-Service-URL (HTTP-POST)",
      enterprise: "Domains und SSO", domains: "Domains", noDomains: "Noch keine Domains beansprucht.", domain: "Domain",
      organization: "Organisation", addDomain: "Domain beanspruchen", verify: "Prüfen", verified: "geprüft", pending: "ausstehend",
      txtHint: "Veröffentlichen Sie diesen TXT-Eintrag, dann Prüfen:", remove: "Entfernen", removeWarn: "{name} entfernen?",
      connections: "SSO-Verbindungen", noConnections: "Noch keine SSO-Verbindungen.", connName: "Name der Verbindung",
      issuer: "Issuer-URL", idpClientId: "Client-ID beim Identitätsanbieter", idpSecret: "Client-Secret beim Identitätsanbieter",
      connDomains: "Domains, die sie anmeldet (durch Leerzeichen getrennt)", enforce: "SSO für diese Domains verlangen", addConnection: "SSO-Verbindung hinzufügen",
      callback: "Beim Identitätsanbieter einzutragende Redirect-URI", enable: "Einschalten", disable: "Ausschalten",
      testSignIn: "Testanmeldung", openTest: "Testanmeldung öffnen", showResult: "Ergebnis zeigen", needOrg: "Legen Sie zuerst eine Organisation an.",
    },
    fr: {
      scim: "Annuaires SCIM", noDirectories: "Aucun annuaire SCIM.", dirName: "Nom de l'annuaire", addDirectory: "Ajouter l'annuaire SCIM", rotateToken: "Nouveau jeton", scimBase: "URL de base SCIM", tokenOnce: "Jeton Bearer (affiché seulement maintenant ; à donner au fournisseur d'identité) :", lastSync: "dernier appel", never: "jamais",
      social: "Connexion sociale", noProviders: "Aucun fournisseur de connexion sociale.", provider: "Fournisseur", issuerOptional: "URL de l'émetteur (vide : celle du fournisseur ; requise pour OpenID Connect)", teamId: "Identifiant d'équipe Apple", keyId: "Identifiant de clé Apple", appleKey: "Clé privée (contenu du fichier .p8)", addProvider: "Enregistrer le fournisseur", enabled: "activé", disabledState: "désactivé",
      badUrl: "Le fournisseur d'identité a indiqué une adresse qui n'est pas une page web.",
      protocol: "Protocole", metadataUrl: "URL des métadonnées du fournisseur", metadataXml: "ou métadonnées XML du fournisseur", spEntityId: "Entity ID (URL des métadonnées SP) à enregistrer chez le fournisseur d'identité", acsUrl: "URL de l'Assertion Consumer Service (HTTP-POST)",
      enterprise: "Domaines et SSO", domains: "Domaines", noDomains: "Aucun domaine revendiqué.", domain: "Domaine",
      organization: "Organisation", addDomain: "Revendiquer le domaine", verify: "Vérifier", verified: "vérifié", pending: "en attente",
      txtHint: "Publiez cet enregistrement TXT, puis Vérifier :", remove: "Retirer", removeWarn: "Retirer {name} ?",
      connections: "Connexions SSO", noConnections: "Aucune connexion SSO.", connName: "Nom de la connexion",
      issuer: "URL de l'émetteur", idpClientId: "Identifiant client chez le fournisseur d'identité", idpSecret: "Secret client chez le fournisseur d'identité",
      connDomains: "Domaines qu'elle connecte (séparés par des espaces)", enforce: "Exiger le SSO pour ces domaines", addConnection: "Ajouter la connexion SSO",
      callback: "URI de redirection à enregistrer chez le fournisseur d'identité", enable: "Activer", disable: "Désactiver",
      testSignIn: "Connexion de test", openTest: "Ouvrir la connexion de test", showResult: "Afficher le résultat", needOrg: "Créez d'abord une organisation.",
    },
    es: {
      scim: "Directorios SCIM", noDirectories: "Aún no hay directorios SCIM.", dirName: "Nombre del directorio", addDirectory: "Añadir directorio SCIM", rotateToken: "Nuevo token", scimBase: "URL base de SCIM", tokenOnce: "Token Bearer (solo se muestra ahora; dáselo al proveedor de identidad):", lastSync: "última llamada", never: "nunca",
      social: "Inicio de sesión social", noProviders: "Aún no hay proveedores sociales.", provider: "Proveedor", issuerOptional: "URL del emisor (vacío: la del proveedor; obligatoria para OpenID Connect)", teamId: "ID de equipo de Apple", keyId: "ID de clave de Apple", appleKey: "Clave privada (contenido del archivo .p8)", addProvider: "Guardar proveedor", enabled: "activado", disabledState: "desactivado",
      badUrl: "El proveedor de identidad indicó una dirección que no es una página web.",
      protocol: "Protocolo", metadataUrl: "URL de metadatos del proveedor", metadataXml: "o metadatos XML del proveedor", spEntityId: "Entity ID (URL de metadatos SP) que registrar en el proveedor de identidad", acsUrl: "URL del Assertion Consumer Service (HTTP-POST)",
      enterprise: "Dominios y SSO", domains: "Dominios", noDomains: "Aún no hay dominios reclamados.", domain: "Dominio",
      organization: "Organización", addDomain: "Reclamar dominio", verify: "Verificar", verified: "verificado", pending: "pendiente",
      txtHint: "Publica este registro TXT y luego Verificar:", remove: "Quitar", removeWarn: "¿Quitar {name}?",
      connections: "Conexiones SSO", noConnections: "Aún no hay conexiones SSO.", connName: "Nombre de la conexión",
      issuer: "URL del emisor", idpClientId: "ID de cliente en el proveedor de identidad", idpSecret: "Secreto de cliente en el proveedor de identidad",
      connDomains: "Dominios que inicia sesión (separados por espacios)", enforce: "Exigir SSO para estos dominios", addConnection: "Añadir conexión SSO",
      callback: "URI de redirección que registrar en el proveedor de identidad", enable: "Activar", disable: "Desactivar",
      testSignIn: "Inicio de sesión de prueba", openTest: "Abrir el inicio de sesión de prueba", showResult: "Mostrar el resultado", needOrg: "Crea primero una organización.",
    },
  };

  window.PortalEnterprise = function (ui) {
    const { api, el, field, button, show, alertBox, card, lang } = ui;
    const tx = (k, vars) => {
      let s = (STRINGS[lang] && STRINGS[lang][k]) || STRINGS.en[k] || k;
      Object.entries(vars || {}).forEach(([name, v]) => { s = s.replace(`{${name}}`, () => v); });
      return s;
    };
    const small = (text, label) => button(text, { type: "button", class: "as-btn as-secondary as-inline", "aria-label": label });

    /** A select of the client's organizations (the first 100), or null when there is none. */
    function orgSelect(orgs) {
      const id = `org-${Math.random().toString(36).slice(2)}`;
      const select = el("select", { id, required: true }, orgs.map((o) => el("option", { value: o.id }, [o.name])));
      return { wrap: el("div", { class: "as-field" }, [el("label", { for: id, text: tx("organization") }), select]), input: select };
    }

    function domainsPart(base, orgs, orgName) {
      const box = alertBox();
      const list = el("ul", { class: "as-list as-domain-list" });
      async function load() {
        const page = await api("GET", `${base}/domains?limit=100`);
        list.replaceChildren(...page.domains.map(item));
        if (!page.domains.length) list.append(el("li", { class: "as-meta", text: tx("noDomains") }));
      }
      function item(d) {
        const kids = [el("div", {}, [el("h4", { text: d.domain }),
          el("p", { class: "as-meta", text: `${orgName(d.organization_id)} · ${tx(d.status === "verified" ? "verified" : "pending")}` })])];
        if (d.status !== "verified") {
          kids.push(el("p", { class: "as-meta", text: tx("txtHint") }), el("p", { class: "as-secret", text: `${d.txt_name} TXT "${d.txt_value}"` }));
          const verify = small(tx("verify"), `${tx("verify")}: ${d.domain}`);
          verify.addEventListener("click", async () => {
            try { await api("POST", `${base}/domains/${encodeURIComponent(d.id)}/verify`); await load(); } catch (err) { show(box, err.message); }
          });
          kids.push(verify);
        }
        const remove = small(tx("remove"), `${tx("remove")}: ${d.domain}`);
        remove.addEventListener("click", async () => {
          if (!window.confirm(tx("removeWarn", { name: d.domain }))) return;
          try { await api("DELETE", `${base}/domains/${encodeURIComponent(d.id)}`); await load(); } catch (err) { show(box, err.message); }
        });
        kids.push(remove);
        return el("li", { "data-domain": d.domain }, kids);
      }
      const org = orgSelect(orgs);
      const domain = field(tx("domain"), { type: "text", required: true, autocomplete: "off" });
      const form = el("form", { class: "as-row" }, [org.wrap, domain.wrap, button(tx("addDomain"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          await api("POST", `${base}/domains`, { organization_id: org.input.value, domain: domain.input.value.trim() });
          domain.input.value = "";
          await load();
        } catch (err) { show(box, err.message); }
      });
      load().catch((err) => show(box, err.message));
      return [el("h3", { text: tx("domains") }), box, list, form];
    }

    function connectionsPart(base, orgs, orgName) {
      const box = alertBox();
      const list = el("ul", { class: "as-list as-connection-list" });
      async function load() {
        const page = await api("GET", `${base}/sso-connections?limit=100`);
        list.replaceChildren(...page.sso_connections.map(item));
        if (!page.sso_connections.length) list.append(el("li", { class: "as-meta", text: tx("noConnections") }));
      }
      function item(c) {
        const path = `${base}/sso-connections/${encodeURIComponent(c.id)}`;
        const result = el("pre", { class: "as-secret", hidden: true });
        const toggle = small(c.status === "active" ? tx("disable") : tx("enable"), `${c.status === "active" ? tx("disable") : tx("enable")}: ${c.name}`);
        toggle.addEventListener("click", async () => {
          try { await api("PATCH", path, { status: c.status === "active" ? "disabled" : "active" }); await load(); } catch (err) { show(box, err.message); }
        });
        const test = small(tx("testSignIn"), `${tx("testSignIn")}: ${c.name}`);
        const testArea = el("div", { class: "as-stack" });
        test.addEventListener("click", async () => {
          try {
            const started = await api("POST", `${path}/test-sign-in`);
            // Only a web address becomes a link (the IdP's document names it).
            if (!["https:", "http:"].includes(new URL(started.url).protocol)) throw new Error(tx("badUrl"));
            const open = el("a", { href: started.url, target: "_blank", rel: "noopener noreferrer", text: tx("openTest") });
            const fetchResult = small(tx("showResult"), `${tx("showResult")}: ${c.name}`);
            fetchResult.addEventListener("click", async () => {
              try { result.textContent = JSON.stringify(await api("GET", `${path}/test-sign-in/${encodeURIComponent(started.test_id)}`), null, 2); result.hidden = false; } catch (err) { show(box, err.message); }
            });
            testArea.replaceChildren(open, fetchResult, result);
          } catch (err) { show(box, err.message); }
        });
        const remove = small(tx("remove"), `${tx("remove")}: ${c.name}`);
        remove.addEventListener("click", async () => {
          if (!window.confirm(tx("removeWarn", { name: c.name }))) return;
          try { await api("DELETE", path); await load(); } catch (err) { show(box, err.message); }
        });
        return el("li", { "data-connection": c.id }, [
          el("div", {}, [el("h4", { text: c.name }),
            el("p", { class: "as-meta", text: `${orgName(c.organization_id)} · ${c.protocol.toUpperCase()} · ${c.status} · ${c.domains.join(" ") || "—"}${c.enforce_for_domains ? ` · ${tx("enforce")}` : ""}` }),
            // What the IdP must be told: OIDC a redirect URI; SAML our entity ID and ACS.
            ...(c.protocol === "saml"
              ? [el("p", { class: "as-meta", text: `${tx("spEntityId")}:` }), el("p", { class: "as-secret", text: c.sp_entity_id }),
                el("p", { class: "as-meta", text: `${tx("acsUrl")}:` }), el("p", { class: "as-secret", text: c.acs_url })]
              : [el("p", { class: "as-meta", text: `${tx("callback")}:` }), el("p", { class: "as-secret", text: c.callback_url })])]),
          toggle, test, remove, testArea]);
      }
      const org = orgSelect(orgs);
      const name = field(tx("connName"), { type: "text", required: true });
      const protocolId = `protocol-${Math.random().toString(36).slice(2)}`;
      const protocol = el("select", { id: protocolId }, [el("option", { value: "oidc" }, ["OpenID Connect"]), el("option", { value: "saml" }, ["SAML 2.0"])]);
      const issuer = field(tx("issuer"), { type: "url", required: true, autocomplete: "off" });
      const clientId = field(tx("idpClientId"), { type: "text", required: true, autocomplete: "off" });
      const secret = field(tx("idpSecret"), { type: "password", required: true, autocomplete: "new-password" });
      const metadataUrl = field(tx("metadataUrl"), { type: "url", autocomplete: "off" });
      const metadataXml = field(tx("metadataXml"), { rows: 4, spellcheck: "false" }, "textarea");
      const oidcFields = [issuer, clientId, secret];
      const samlFields = [metadataUrl, metadataXml];
      const showProtocol = () => {
        const saml = protocol.value === "saml";
        oidcFields.forEach((f) => { f.wrap.hidden = saml; f.input.required = !saml; });
        samlFields.forEach((f) => { f.wrap.hidden = !saml; });
      };
      protocol.addEventListener("change", showProtocol);
      showProtocol();
      const domains = field(tx("connDomains"), { type: "text", autocomplete: "off" });
      const enforceId = `enforce-${Math.random().toString(36).slice(2)}`;
      const enforce = el("input", { type: "checkbox", id: enforceId });
      const form = el("form", { class: "as-stack" }, [org.wrap, name.wrap,
        el("div", { class: "as-field" }, [el("label", { for: protocolId, text: tx("protocol") }), protocol]),
        ...oidcFields.map((f) => f.wrap), ...samlFields.map((f) => f.wrap), domains.wrap,
        el("div", { class: "as-check" }, [enforce, el("label", { for: enforceId, text: tx("enforce") })]), button(tx("addConnection"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const body = {
            organization_id: org.input.value, name: name.input.value.trim(), protocol: protocol.value,
            domains: domains.input.value.split(/\s+/).filter(Boolean), enforce_for_domains: enforce.checked,
          };
          if (protocol.value === "saml") {
            body.saml = metadataXml.input.value.trim()
              ? { idp_metadata_xml: metadataXml.input.value.trim() }
              : { idp_metadata_url: metadataUrl.input.value.trim() };
          } else {
            body.oidc = { issuer: issuer.input.value.trim(), client_id: clientId.input.value.trim(), client_secret: secret.input.value };
          }
          await api("POST", `${base}/sso-connections`, body);
          for (const f of [name, domains, ...oidcFields, ...samlFields]) f.input.value = "";
          await load();
        } catch (err) { show(box, err.message); }
      });
      load().catch((err) => show(box, err.message));
      return [el("h3", { text: tx("connections") }), box, list, form];
    }

    /** How the portal names each social provider. */
    const PROVIDERS = { google: "Google", microsoft: "Microsoft", apple: "Apple", github: "GitHub", discord: "Discord", oidc: "OpenID Connect" };

    /** The client's social sign-in providers (Google, Microsoft, Apple, GitHub, Discord, any
     * OpenID Connect provider). */
    function socialCard(clientId) {
      const base = `/api/admin/clients/${encodeURIComponent(clientId)}/social-providers`;
      const box = alertBox();
      const list = el("ul", { class: "as-list as-provider-list" });
      async function load() {
        const providers = (await api("GET", base)).providers;
        list.replaceChildren(...providers.map(item));
        if (!providers.length) list.append(el("li", { class: "as-meta", text: tx("noProviders") }));
      }
      function item(p) {
        const path = `${base}/${encodeURIComponent(p.provider)}`;
        const label = p.provider === "oidc" ? `OpenID Connect (${p.issuer})` : PROVIDERS[p.provider] || p.provider;
        const toggle = small(p.enabled ? tx("disable") : tx("enable"), `${p.enabled ? tx("disable") : tx("enable")}: ${label}`);
        toggle.addEventListener("click", async () => {
          // The configuration as it is (no secret: the sealed one is kept), switched.
          const body = {};
          for (const k of ["client_id", "issuer", "scopes", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "team_id", "key_id", "store_tokens"]) {
            if (p[k] !== undefined) body[k] = p[k];
          }
          body.enabled = !p.enabled;
          try { await api("PUT", path, body); await load(); } catch (err) { show(box, err.message); }
        });
        const remove = small(tx("remove"), `${tx("remove")}: ${label}`);
        remove.addEventListener("click", async () => {
          if (!window.confirm(tx("removeWarn", { name: label }))) return;
          try { await api("DELETE", path); await load(); } catch (err) { show(box, err.message); }
        });
        return el("li", { "data-provider": p.provider }, [
          el("div", {}, [el("h4", { text: label }),
            el("p", { class: "as-meta", text: `${p.client_id} · ${p.enabled ? tx("enabled") : tx("disabledState")}` }),
            el("p", { class: "as-meta", text: `${tx("callback")}:` }), el("p", { class: "as-secret", text: p.redirect_uri })]),
          toggle, remove]);
      }
      const providerId = `provider-${Math.random().toString(36).slice(2)}`;
      const provider = el("select", { id: providerId }, Object.entries(PROVIDERS).map(([value, name]) => el("option", { value }, [name])));
      const clientIdField = field(tx("idpClientId"), { type: "text", required: true, autocomplete: "off" });
      const secret = field(tx("idpSecret"), { type: "password", required: true, autocomplete: "new-password" });
      // Apple: the team's key (a PEM keeps its line breaks in a text area) with its ids.
      const appleKey = field(tx("appleKey"), { rows: 4, spellcheck: "false", autocomplete: "off" }, "textarea");
      const teamId = field(tx("teamId"), { type: "text", autocomplete: "off" });
      const keyId = field(tx("keyId"), { type: "text", autocomplete: "off" });
      const issuer = field(tx("issuerOptional"), { type: "url", autocomplete: "off" });
      const appleFields = [appleKey, teamId, keyId];
      const showProvider = () => {
        const apple = provider.value === "apple";
        appleFields.forEach((f) => { f.wrap.hidden = !apple; f.input.required = apple; });
        secret.wrap.hidden = apple;
        secret.input.required = !apple;
      };
      provider.addEventListener("change", showProvider);
      showProvider();
      const form = el("form", { class: "as-stack" }, [
        el("div", { class: "as-field" }, [el("label", { for: providerId, text: tx("provider") }), provider]),
        clientIdField.wrap, secret.wrap, ...appleFields.map((f) => f.wrap), issuer.wrap, button(tx("addProvider"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const apple = provider.value === "apple";
          const body = { client_id: clientIdField.input.value.trim(), client_secret: apple ? appleKey.input.value : secret.input.value };
          if (apple) Object.assign(body, { team_id: teamId.input.value.trim(), key_id: keyId.input.value.trim() });
          if (issuer.input.value.trim()) body.issuer = issuer.input.value.trim();
          await api("PUT", `${base}/${provider.value}`, body);
          for (const f of [clientIdField, secret, issuer, ...appleFields]) f.input.value = "";
          await load();
        } catch (err) { show(box, err.message); }
      });
      setTimeout(() => load().catch((err) => show(box, err.message)), 0);
      return card(tx("social"), "h-social", [box, list, form]);
    }

    /** SCIM directories: add (the token is shown once), new token, enable / disable. */
    function directoriesPart(base, orgs, orgName) {
      const box = alertBox();
      const secret = el("div", { class: "as-stack", "aria-live": "polite" });
      const list = el("ul", { class: "as-list as-directory-list" });
      const reveal = (d) => secret.replaceChildren(el("p", { class: "as-meta", text: `${tx("scimBase")}: ${d.base_url}` }),
        el("p", { class: "as-meta", text: tx("tokenOnce") }), el("p", { class: "as-secret", text: d.token }));
      async function load() {
        const page = await api("GET", `${base}/scim-directories?limit=100`);
        list.replaceChildren(...page.scim_directories.map(item));
        if (!page.scim_directories.length) list.append(el("li", { class: "as-meta", text: tx("noDirectories") }));
      }
      function item(d) {
        const path = `${base}/scim-directories/${encodeURIComponent(d.id)}`;
        const on = d.status === "active";
        const meta = `${orgName(d.organization_id)} · ${tx(on ? "enabled" : "disabledState")} · ${d.token_prefix}… · ${tx("lastSync")}: ${d.last_sync_at || tx("never")}`;
        const rotate = small(tx("rotateToken"), `${tx("rotateToken")}: ${d.name}`);
        rotate.addEventListener("click", async () => {
          try { reveal(await api("POST", `${path}/rotate-token`)); await load(); } catch (err) { show(box, err.message); }
        });
        const toggle = small(tx(on ? "disable" : "enable"), `${tx(on ? "disable" : "enable")}: ${d.name}`);
        toggle.addEventListener("click", async () => {
          try { await api("PATCH", path, { status: on ? "disabled" : "active" }); await load(); } catch (err) { show(box, err.message); }
        });
        return el("li", { "data-directory": d.id }, [el("div", {}, [el("h4", { text: d.name }), el("p", { class: "as-meta", text: meta }),
          el("p", { class: "as-meta", text: `${tx("scimBase")}: ${d.base_url}` })]), rotate, toggle]);
      }
      const org = orgSelect(orgs);
      const name = field(tx("dirName"), { type: "text", required: true, autocomplete: "off", maxlength: "100" });
      const form = el("form", { class: "as-row" }, [org.wrap, name.wrap, button(tx("addDirectory"))]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          reveal(await api("POST", `${base}/scim-directories`, { organization_id: org.input.value, name: name.input.value.trim() }));
          name.input.value = "";
          await load();
        } catch (err) { show(box, err.message); }
      });
      load().catch((err) => show(box, err.message));
      return [el("h3", { text: tx("scim") }), box, secret, list, form];
    }

    /** The card: loads the organizations first (both parts name them). */
    function enterpriseCard(clientId) {
      const base = `/api/admin/clients/${encodeURIComponent(clientId)}`;
      const body = el("div", { class: "as-stack" });
      const box = alertBox();
      setTimeout(async () => {
        try {
          const orgs = (await api("GET", `${base}/organizations?limit=100`)).organizations;
          if (!orgs.length) { body.replaceChildren(el("p", { class: "as-meta", text: tx("needOrg") })); return; }
          const names = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
          const orgName = (id) => names[id] || id;
          body.replaceChildren(...domainsPart(base, orgs, orgName), ...connectionsPart(base, orgs, orgName),
            ...directoriesPart(base, orgs, orgName));
        } catch (err) { show(box, err.message); }
      }, 0);
      return card(tx("enterprise"), "h-enterprise", [box, body]);
    }

    return { enterpriseCard, socialCard };
  };
})();
