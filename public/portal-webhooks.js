/* The operator portal's webhooks card for one client: its endpoints (add, enable / disable,
 * new signing secret, remove; a secret is shown once), each endpoint's deliveries (status,
 * attempts, answer, latency) with a Replay button per delivery. Loaded before portal.js, which
 * calls `PortalWebhooks(ui)` with its helpers. DOM only (no innerHTML), no inline script or
 * style. Endpoints carry the client's audit events: the card needs audit:read. */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      webhooks: "Webhooks", noHooks: "No webhook endpoints yet.", url: "Endpoint URL (https)", events: "Event types (space-separated; * for all)",
      addHook: "Add endpoint", secretOnce: "Signing secret (shown only now; verify messages with it):", deliveries: "Deliveries",
      noDeliveries: "No deliveries yet.", when: "Queued", type: "Event type", status: "Status", attempts: "Attempts", answer: "Answer", latency: "Latency",
      replay: "Replay", replayed: "Queued again", rotate: "New secret", rotateWarn: "The old secret keeps signing for 24 hours. Continue?",
      enable: "Enable", disable: "Disable", remove: "Remove", removeWarn: "Remove this endpoint and its delivery log?",
      enabledState: "enabled", disabledState: "disabled", failing: "disabled after failing", hint: "Messages are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).",
    },
    de: {
      webhooks: "Webhooks", noHooks: "Noch keine Webhook-Endpunkte.", url: "Endpunkt-URL (https)", events: "Ereignistypen (durch Leerzeichen getrennt; * für alle)",
      addHook: "Endpunkt hinzufügen", secretOnce: "Signaturgeheimnis (nur jetzt sichtbar; damit Nachrichten prüfen):", deliveries: "Zustellungen",
      noDeliveries: "Noch keine Zustellungen.", when: "Eingereiht", type: "Ereignistyp", status: "Status", attempts: "Versuche", answer: "Antwort", latency: "Dauer",
      replay: "Erneut senden", replayed: "Erneut eingereiht", rotate: "Neues Geheimnis", rotateWarn: "Das alte Geheimnis signiert noch 24 Stunden mit. Fortfahren?",
      enable: "Einschalten", disable: "Ausschalten", remove: "Entfernen", removeWarn: "Diesen Endpunkt und sein Zustellprotokoll entfernen?",
      enabledState: "eingeschaltet", disabledState: "ausgeschaltet", failing: "nach Fehlern ausgeschaltet", hint: "Nachrichten sind nach Standard Webhooks signiert (webhook-id, webhook-timestamp, webhook-signature).",
    },
    fr: {
      webhooks: "Webhooks", noHooks: "Aucun point de terminaison webhook.", url: "URL du point de terminaison (https)", events: "Types d'événements (séparés par des espaces ; * pour tous)",
      addHook: "Ajouter le point de terminaison", secretOnce: "Secret de signature (affiché seulement maintenant ; vérifiez les messages avec) :", deliveries: "Livraisons",
      noDeliveries: "Aucune livraison.", when: "Mise en file", type: "Type d'événement", status: "Statut", attempts: "Tentatives", answer: "Réponse", latency: "Durée",
      replay: "Renvoyer", replayed: "Remis en file", rotate: "Nouveau secret", rotateWarn: "L'ancien secret signe encore pendant 24 heures. Continuer ?",
      enable: "Activer", disable: "Désactiver", remove: "Retirer", removeWarn: "Retirer ce point de terminaison et son journal de livraisons ?",
      enabledState: "activé", disabledState: "désactivé", failing: "désactivé après des échecs", hint: "Les messages sont signés selon Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).",
    },
    es: {
      webhooks: "Webhooks", noHooks: "Aún no hay puntos de conexión de webhook.", url: "URL del punto de conexión (https)", events: "Tipos de evento (separados por espacios; * para todos)",
      addHook: "Añadir punto de conexión", secretOnce: "Secreto de firma (solo se muestra ahora; verifique los mensajes con él):", deliveries: "Entregas",
      noDeliveries: "Aún no hay entregas.", when: "En cola", type: "Tipo de evento", status: "Estado", attempts: "Intentos", answer: "Respuesta", latency: "Duración",
      replay: "Reenviar", replayed: "En cola de nuevo", rotate: "Nuevo secreto", rotateWarn: "El secreto anterior sigue firmando 24 horas. ¿Continuar?",
      enable: "Activar", disable: "Desactivar", remove: "Quitar", removeWarn: "¿Quitar este punto de conexión y su registro de entregas?",
      enabledState: "activado", disabledState: "desactivado", failing: "desactivado tras fallos", hint: "Los mensajes se firman según Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).",
    },
  };

  window.PortalWebhooks = function (ui) {
    const { api, el, field, button, show, alertBox, card, lang } = ui;
    const t = (k) => (STRINGS[lang] || STRINGS.en)[k] || STRINGS.en[k];
    const when = (iso) => (iso ? new Date(iso).toLocaleString(lang) : "—");
    const small = (text, extra) => button(text, Object.assign({ type: "button", class: "as-btn as-secondary as-inline" }, extra || {}));

    function webhooksCard(clientId, canWrite) {
      const base = `/api/admin/clients/${encodeURIComponent(clientId)}/webhooks`;
      const box = alertBox();
      const list = el("ul", { class: "as-list as-app-list as-hook-list", hidden: true });
      const empty = el("p", { class: "as-meta", text: t("noHooks"), hidden: true });
      const secretSlot = el("div", { class: "as-stack" });

      function secretShown(hook, secret) {
        secretSlot.replaceChildren(el("div", { class: "as-alert as-ok" }, [
          el("div", { text: `${hook.url}: ${t("secretOnce")}` }),
          el("code", { class: "as-secret", id: "new-webhook-secret", text: secret })]));
      }

      async function load() {
        const { data } = await api("GET", base);
        list.replaceChildren(...data.map(item));
        list.hidden = !data.length;
        empty.hidden = !list.hidden;
      }

      function item(h) {
        const path = `${base}/${encodeURIComponent(h.id)}`;
        const state = h.enabled ? t("enabledState") : (h.disabled_reason === "failing" ? t("failing") : t("disabledState"));
        const li = el("li", { "data-webhook": h.id, "data-enabled": String(h.enabled) }, [
          el("div", {}, [
            el("div", { class: "as-secret", text: h.url }),
            el("div", { class: "as-meta", text: `${h.event_types.join(" ")} · ${state}` })])]);
        const rows = el("tbody");
        const panel = el("div", { class: "as-stack as-org-panel", hidden: true }, [
          el("div", { class: "as-scroll", tabindex: 0, role: "region", "aria-label": `${t("deliveries")}: ${h.url}` }, [
            el("table", { class: "as-table" }, [
              el("thead", {}, [el("tr", {}, [t("when"), t("type"), t("status"), t("attempts"), t("answer"), t("latency"), ""].map((x) => el("th", { scope: "col", text: x })))]),
              rows])])]);
        async function loadDeliveries() {
          const { data } = await api("GET", `${path}/deliveries?limit=20`);
          rows.replaceChildren(...data.map((d) => {
            const cells = [when(d.created_at), d.event_type, d.status, String(d.attempts),
              d.response_status ? String(d.response_status) : (d.last_error || "—"),
              d.latency_ms === null || d.latency_ms === undefined ? "—" : `${d.latency_ms} ms`].map((x) => el("td", { text: x }));
            const action = el("td");
            if (canWrite) {
              const again = small(t("replay"), { "aria-label": `${t("replay")}: ${d.event_type} ${when(d.created_at)}` });
              again.addEventListener("click", async () => {
                try { await api("POST", `${path}/deliveries/${encodeURIComponent(d.id)}/replay`); show(box, `${t("replayed")}: ${d.event_type}`, true); await loadDeliveries(); } catch (err) { show(box, err.message); }
              });
              action.append(again);
            }
            return el("tr", { "data-delivery": d.id, "data-status": d.status }, [...cells, action]);
          }));
          if (!data.length) rows.append(el("tr", {}, [el("td", { colspan: 7, text: t("noDeliveries") })]));
        }
        const open = small(t("deliveries"), { "aria-label": `${t("deliveries")}: ${h.url}`, "aria-expanded": "false" });
        open.addEventListener("click", async () => {
          const opening = panel.hidden;
          if (opening) { try { await loadDeliveries(); } catch (err) { show(box, err.message); return; } }
          panel.hidden = !opening;
          open.setAttribute("aria-expanded", String(opening));
        });
        const actions = el("div", { class: "as-row" }, [open]);
        if (canWrite) {
          const toggle = small(h.enabled ? t("disable") : t("enable"), { "aria-label": `${h.enabled ? t("disable") : t("enable")}: ${h.url}` });
          toggle.addEventListener("click", async () => {
            try { await api("PATCH", path, { enabled: !h.enabled }); await load(); } catch (err) { show(box, err.message); }
          });
          const rotate = small(t("rotate"), { "aria-label": `${t("rotate")}: ${h.url}` });
          rotate.addEventListener("click", async () => {
            if (!window.confirm(t("rotateWarn"))) return;
            try { const r = await api("POST", `${path}/rotate-secret`, { overlap_hours: 24 }); secretShown(r, r.secret); } catch (err) { show(box, err.message); }
          });
          const remove = small(t("remove"), { "aria-label": `${t("remove")}: ${h.url}` });
          remove.addEventListener("click", async () => {
            if (!window.confirm(t("removeWarn"))) return;
            try { await api("DELETE", path); secretSlot.replaceChildren(); await load(); } catch (err) { show(box, err.message); }
          });
          actions.append(toggle, rotate, remove);
        }
        li.append(actions, panel);
        return li;
      }

      const url = field(t("url"), { type: "url", required: true, placeholder: "https://hooks.example.com/authservice" });
      const events = field(t("events"), { type: "text", required: true, value: "*" });
      const add = button(t("addHook"));
      const form = el("form", { class: "as-stack" }, [url.wrap, events.wrap, add]);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          const made = await api("POST", base, { url: url.input.value.trim(), event_types: events.input.value.split(/\s+/).filter(Boolean) });
          form.reset();
          events.input.value = "*";
          secretShown(made, made.secret);
          await load();
        } catch (err) { show(box, err.message); }
      });
      form.hidden = !canWrite;
      setTimeout(() => load().catch((err) => show(box, err.message)), 0);
      return card(t("webhooks"), "h-webhooks", [box, el("p", { class: "as-meta", text: t("hint") }), empty, list, secretSlot, form]);
    }

    return { webhooksCard };
  };
})();
