/* The operator portal's users card for one client: search (address, name or id prefix; status),
 * and for one user the whole account (sessions, second factors, organizations) with what an
 * operator may do to it: end its sessions, reset its second factors, send a password reset or
 * a verification link, disable / enable, export its data, erase it. Buttons appear only for
 * the permissions the operator holds. Loaded before portal.js, which calls `PortalUsers(ui)`
 * with its helpers. DOM only (no innerHTML), no inline script or style. */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      users: "Users", search: "Search (address, name or id)", status: "Status", any: "any", active: "active", disabled: "disabled", find: "Search",
      noUsers: "No users match.", details: "Details", verified: "verified", unverified: "not verified", mfaOn: "second factor", mfaOff: "no second factor",
      sessions: "Sessions", noSessions: "No live sessions.", factors: "Second factors", totp: "Authenticator app", on: "on", off: "off", recovery: "Recovery codes left", passkeys: "Passkeys",
      orgs: "Organizations", endSessions: "End all sessions", endWarn: "The user is signed out everywhere at once. Continue?", ended: "Sessions ended",
      resetMfa: "Reset second factors", resetWarn: "Removes the authenticator, recovery codes and passkeys, ends every session and emails the user. Continue?", reset: "Second factors reset",
      sendReset: "Send password reset", sentReset: "Password reset link sent", resend: "Resend verification", sentVerify: "Verification link sent",
      disable: "Disable", enable: "Enable", exportData: "Export data", erase: "Erase", eraseWarn: "Deletes the account and its personal data; the audit trail keeps a pseudonym. This cannot be undone.", erased: "Erased", showMore: "Show more",
    },
    de: {
      users: "Benutzer", search: "Suche (Adresse, Name oder ID)", status: "Status", any: "alle", active: "aktiv", disabled: "deaktiviert", find: "Suchen",
      noUsers: "Keine passenden Benutzer.", details: "Details", verified: "bestätigt", unverified: "nicht bestätigt", mfaOn: "zweiter Faktor", mfaOff: "kein zweiter Faktor",
      sessions: "Sitzungen", noSessions: "Keine aktiven Sitzungen.", factors: "Zweite Faktoren", totp: "Authenticator-App", on: "an", off: "aus", recovery: "Verbleibende Wiederherstellungscodes", passkeys: "Passkeys",
      orgs: "Organisationen", endSessions: "Alle Sitzungen beenden", endWarn: "Der Benutzer wird sofort überall abgemeldet. Fortfahren?", ended: "Sitzungen beendet",
      resetMfa: "Zweite Faktoren zurücksetzen", resetWarn: "Entfernt Authenticator, Wiederherstellungscodes und Passkeys, beendet alle Sitzungen und benachrichtigt den Benutzer per E-Mail. Fortfahren?", reset: "Zweite Faktoren zurückgesetzt",
      sendReset: "Passwort-Reset senden", sentReset: "Link zum Zurücksetzen gesendet", resend: "Bestätigung erneut senden", sentVerify: "Bestätigungslink gesendet",
      disable: "Deaktivieren", enable: "Aktivieren", exportData: "Daten exportieren", erase: "Löschen", eraseWarn: "Löscht das Konto und seine personenbezogenen Daten; das Audit-Protokoll behält ein Pseudonym. Das lässt sich nicht rückgängig machen.", erased: "Gelöscht", showMore: "Mehr anzeigen",
    },
    fr: {
      users: "Utilisateurs", search: "Recherche (adresse, nom ou identifiant)", status: "Statut", any: "tous", active: "actif", disabled: "désactivé", find: "Rechercher",
      noUsers: "Aucun utilisateur ne correspond.", details: "Détails", verified: "vérifiée", unverified: "non vérifiée", mfaOn: "second facteur", mfaOff: "aucun second facteur",
      sessions: "Sessions", noSessions: "Aucune session active.", factors: "Seconds facteurs", totp: "Application d’authentification", on: "activée", off: "désactivée", recovery: "Codes de récupération restants", passkeys: "Clés d’accès",
      orgs: "Organisations", endSessions: "Terminer toutes les sessions", endWarn: "L’utilisateur est déconnecté partout immédiatement. Continuer ?", ended: "Sessions terminées",
      resetMfa: "Réinitialiser les seconds facteurs", resetWarn: "Supprime l’application d’authentification, les codes de récupération et les clés d’accès, termine toutes les sessions et prévient l’utilisateur par e-mail. Continuer ?", reset: "Seconds facteurs réinitialisés",
      sendReset: "Envoyer une réinitialisation", sentReset: "Lien de réinitialisation envoyé", resend: "Renvoyer la vérification", sentVerify: "Lien de vérification envoyé",
      disable: "Désactiver", enable: "Activer", exportData: "Exporter les données", erase: "Effacer", eraseWarn: "Supprime le compte et ses données personnelles ; le journal d’audit garde un pseudonyme. Action irréversible.", erased: "Effacé", showMore: "Afficher plus",
    },
    es: {
      users: "Usuarios", search: "Buscar (dirección, nombre o id.)", status: "Estado", any: "todos", active: "activo", disabled: "desactivado", find: "Buscar",
      noUsers: "Ningún usuario coincide.", details: "Detalles", verified: "verificada", unverified: "sin verificar", mfaOn: "segundo factor", mfaOff: "sin segundo factor",
      sessions: "Sesiones", noSessions: "No hay sesiones activas.", factors: "Segundos factores", totp: "Aplicación de autenticación", on: "activada", off: "desactivada", recovery: "Códigos de recuperación restantes", passkeys: "Llaves de acceso",
      orgs: "Organizaciones", endSessions: "Cerrar todas las sesiones", endWarn: "El usuario sale de todas partes al instante. ¿Continuar?", ended: "Sesiones cerradas",
      resetMfa: "Restablecer segundos factores", resetWarn: "Quita la aplicación de autenticación, los códigos de recuperación y las llaves de acceso, cierra todas las sesiones y avisa al usuario por correo. ¿Continuar?", reset: "Segundos factores restablecidos",
      sendReset: "Enviar restablecimiento", sentReset: "Enlace de restablecimiento enviado", resend: "Reenviar verificación", sentVerify: "Enlace de verificación enviado",
      disable: "Desactivar", enable: "Activar", exportData: "Exportar datos", erase: "Borrar", eraseWarn: "Elimina la cuenta y sus datos personales; el registro de auditoría conserva un seudónimo. No se puede deshacer.", erased: "Borrado", showMore: "Mostrar más",
    },
  };

  window.PortalUsers = function (ui) {
    const { api, el, field, button, show, alertBox, card, lang } = ui;
    const t = (k) => (STRINGS[lang] || STRINGS.en)[k] || STRINGS.en[k];
    const when = (iso) => (iso ? new Date(iso).toLocaleString(lang) : "—");
    const small = (text, extra) => button(text, Object.assign({ type: "button", class: "as-btn as-secondary as-inline" }, extra || {}));

    /** `can(permission)`: whether the signed-in operator holds it. */
    function usersCard(clientId, can) {
      const base = `/api/admin/clients/${encodeURIComponent(clientId)}/users`;
      const box = alertBox();
      const list = el("ul", { class: "as-list as-app-list as-user-list", hidden: true });
      const empty = el("p", { class: "as-meta", text: t("noUsers"), hidden: true });
      const more = small(t("showMore"), { hidden: true, "aria-label": `${t("showMore")}: ${t("users")}` });
      const q = field(t("search"), { type: "search", autocomplete: "off" });
      const statusId = `user-status-${Math.random().toString(36).slice(2)}`;
      const status = el("select", { id: statusId }, [["", t("any")], ["active", t("active")], ["disabled", t("disabled")]].map(([v, l]) => el("option", { value: v }, [l])));
      let cursor = null;

      async function load(reset) {
        const params = new URLSearchParams({ limit: "20" });
        if (q.input.value.trim()) params.set("q", q.input.value.trim());
        if (status.value) params.set("status", status.value);
        if (!reset && cursor) params.set("cursor", cursor);
        const page = await api("GET", `${base}?${params}`);
        const items = page.users.map(item);
        if (reset) list.replaceChildren(...items); else list.append(...items);
        list.hidden = !list.children.length;
        empty.hidden = !list.hidden;
        cursor = page.next_cursor;
        more.hidden = !cursor;
      }

      function item(u) {
        const path = `${base}/${encodeURIComponent(u.id)}`;
        const li = el("li", { "data-user": u.id, "data-status": u.status }, [
          el("div", {}, [
            el("div", { class: "as-secret", text: u.email }),
            el("div", { class: "as-meta", text: [u.display_name, t(u.status === "active" ? "active" : "disabled"), u.email_verified ? t("verified") : t("unverified")].filter(Boolean).join(" · ") })])]);
        const panel = el("div", { class: "as-stack as-org-panel", hidden: true });
        const open = small(t("details"), { "aria-label": `${t("details")}: ${u.email}`, "aria-expanded": "false" });
        open.addEventListener("click", async () => {
          const opening = panel.hidden;
          if (opening) { try { await details(); } catch (err) { show(box, err.message); return; } }
          panel.hidden = !opening;
          open.setAttribute("aria-expanded", String(opening));
        });
        li.append(el("div", { class: "as-row" }, [open]), panel);

        const act = (label, permission, warn, run, done) => {
          if (!can(permission)) return null;
          const b = small(label, { "aria-label": `${label}: ${u.email}` });
          b.addEventListener("click", async () => {
            if (warn && !window.confirm(warn)) return;
            try { await run(); show(box, `${done}: ${u.email}`, true); } catch (err) { show(box, err.message); }
          });
          return b;
        };

        async function details() {
          const d = await api("GET", path);
          const sessions = d.sessions.length
            ? el("ul", { class: "as-list" }, d.sessions.map((s) => el("li", { "data-session": s.id }, [el("div", { class: "as-meta", text: `${s.ip || "—"} · ${s.user_agent || "—"} · ${when(s.started_at)} → ${when(s.last_used_at)}` })])))
            : el("p", { class: "as-meta", text: t("noSessions") });
          const f = d.second_factors;
          const factors = el("p", { class: "as-meta", text: `${t("totp")}: ${f.totp ? t("on") : t("off")} · ${t("recovery")}: ${f.recovery_codes.unused}/${f.recovery_codes.total} · ${t("passkeys")}: ${f.passkeys}` });
          const orgs = el("p", { class: "as-meta", text: d.organizations.length ? d.organizations.map((o) => `${o.name} (${o.role})`).join(", ") : "—" });
          const reload = async () => { await details(); await load(true); };
          const actions = [
            act(t("endSessions"), "users:update", t("endWarn"), async () => { await api("POST", `${path}/sessions/revoke`); await details(); }, t("ended")),
            act(t("resetMfa"), "users:update", t("resetWarn"), async () => { await api("POST", `${path}/mfa/reset`); await details(); }, t("reset")),
            act(t("sendReset"), "users:update", null, () => api("POST", `${path}/send-password-reset`), t("sentReset")),
            d.email_verified ? null : act(t("resend"), "users:update", null, () => api("POST", `${path}/resend-verification`), t("sentVerify")),
            d.status === "active"
              ? act(t("disable"), "users:update", null, async () => { await api("PATCH", path, { status: "disabled" }); await reload(); }, t("disabled"))
              : act(t("enable"), "users:update", null, async () => { await api("PATCH", path, { status: "active" }); await reload(); }, t("active")),
            act(t("exportData"), "users:read", null, async () => {
              const data = await api("GET", `${path}/export`);
              const link = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })), download: `user-${u.id}.json` });
              link.click();
              URL.revokeObjectURL(link.href);
            }, t("exportData")),
            act(t("erase"), "users:erase", t("eraseWarn"), async () => { await api("DELETE", path); await load(true); }, t("erased")),
          ].filter(Boolean);
          panel.replaceChildren(
            el("h4", { text: t("sessions") }), sessions,
            el("h4", { text: t("factors") }), factors,
            el("h4", { text: t("orgs") }), orgs,
            el("div", { class: "as-row" }, actions));
        }
        return li;
      }

      const find = button(t("find"));
      const form = el("form", { class: "as-row as-user-search" }, [q.wrap, el("div", { class: "as-field" }, [el("label", { for: statusId, text: t("status") }), status]), find]);
      form.addEventListener("submit", (e) => { e.preventDefault(); load(true).catch((err) => show(box, err.message)); });
      more.addEventListener("click", () => load(false).catch((err) => show(box, err.message)));
      setTimeout(() => load(true).catch((err) => show(box, err.message)), 0);
      return card(t("users"), "h-users", [box, form, empty, list, more]);
    }

    return { usersCard };
  };
})();
