/* The operator portal's client settings form, generated from the typed settings the server
 * declares (`GET /api/admin/client-settings`): one control per setting (empty: the default),
 * saved as an RFC 7396 merge patch of only what changed. Loaded before portal.js, which calls
 * `PortalSettings(ui).settingsForm(current, schema)`. DOM only, no inline script or style. */
(function () {
  "use strict";

  const STRINGS = {
    en: { settings: "Settings", byDefault: "default", on: "on", off: "off", hint: "Empty means the server's default. Durations: seconds or 12h, 30d; lists: space-separated." },
    de: { settings: "Einstellungen", byDefault: "Standard", on: "an", off: "aus", hint: "Leer bedeutet den Standard des Servers. Dauern: Sekunden oder 12h, 30d; Listen: durch Leerzeichen getrennt." },
    fr: { settings: "Paramètres", byDefault: "par défaut", on: "activé", off: "désactivé", hint: "Vide : la valeur par défaut du serveur. Durées : secondes ou 12h, 30d ; listes : séparées par des espaces." },
    es: { settings: "Ajustes", byDefault: "predeterminado", on: "activado", off: "desactivado", hint: "Vacío: el valor predeterminado del servidor. Duraciones: segundos o 12h, 30d; listas: separadas por espacios." },
  };

  window.PortalSettings = function (ui) {
    const { el, field, lang } = ui;
    const t = (k) => (STRINGS[lang] || STRINGS.en)[k] || STRINGS.en[k];
    const read = (obj, key) => key.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);

    function control(s, value) {
      if (s.type === "boolean" || s.type === "choice") {
        const id = `setting-${s.key.replace(/\W/g, "-")}`;
        const options = s.type === "boolean"
          ? [["", t("byDefault")], ["true", t("on")], ["false", t("off")]]
          : [["", t("byDefault")], ...s.choices.map((c) => [c, c])];
        const select = el("select", { id }, options.map(([v, l]) => el("option", { value: v, selected: String(value ?? "") === v }, [l])));
        return { wrap: el("div", { class: "as-field" }, [el("label", { for: id, text: s.key }), select]), input: select };
      }
      const attrs = { type: s.type === "days" ? "number" : (s.type === "url" ? "url" : "text"), placeholder: t("byDefault"), spellcheck: "false" };
      if (s.type === "days") Object.assign(attrs, { min: s.min, max: s.max });
      if (s.max_length) attrs.maxlength = s.max_length;
      const f = field(s.key, attrs);
      f.input.value = value === undefined || value === null ? "" : (Array.isArray(value) ? value.join(" ") : String(value));
      return f;
    }

    function valueOf(s, input) {
      const raw = input.value.trim();
      if (raw === "") return null;
      if (s.type === "boolean") return raw === "true";
      if (s.type === "days") return Number(raw);
      if (s.type === "duration" && /^\d+$/.test(raw)) return Number(raw);
      if (s.type === "list") return raw.split(/\s+/);
      return raw;
    }

    /** The form's controls, `patch()`: the merge patch of what changed (null if nothing), and
     * `saved(settings)` after a save. */
    function settingsForm(current, schema) {
      const rows = schema.map((s) => ({ s, c: control(s, read(current, s.key)) }));
      const wrap = el("fieldset", { class: "as-stack as-settings" }, [
        el("legend", { text: t("settings") }), el("p", { class: "as-meta", text: t("hint") }), ...rows.map((r) => r.c.wrap)]);
      function patch() {
        const out = {};
        let changed = false;
        for (const { s, c } of rows) {
          const before = read(current, s.key);
          const after = valueOf(s, c.input);
          if (JSON.stringify(before ?? null) === JSON.stringify(after)) continue;
          changed = true;
          const path = s.key.split(".");
          let node = out;
          path.slice(0, -1).forEach((k) => { node[k] = node[k] || {}; node = node[k]; });
          node[path[path.length - 1]] = after;
        }
        return changed ? out : null;
      }
      /** What was saved becomes what the next change is compared with. */
      const saved = (next) => { current = next || current; };
      return { wrap, patch, saved };
    }

    return { settingsForm };
  };
})();
