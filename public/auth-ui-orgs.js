/* Organizations on the hosted pages: the account page's section (my organizations, create,
 * leave; owners and admins manage members and invitations) and the invitation link's page
 * (accept-invitation.html). Loaded before auth-ui.js, which calls `AuthUIOrgs(ui)` with its
 * helpers (texts, DOM, the re-authentication prompt) when a page needs it. Same rules as there:
 * DOM only (no innerHTML), no inline script or style. */
(function () {
  "use strict";

  window.AuthUIOrgs = function (ui) {
    const { auth, t, el, field, button, okBox, alertBox, busy, showError, showOk, markInvalid, uniqueId,
      guarded, page, section, link, fmt, main, tokenFromUrl, invitation } = ui;

    const ROLE_TEXT = { owner: "roleOwner", admin: "roleAdmin", member: "roleMember", viewer: "roleViewer" };
    const BUILTIN_ROLES = Object.keys(ROLE_TEXT);
    /** A role's name in the page's language (a custom role keeps its own name). */
    const roleName = (role) => (ROLE_TEXT[role] ? t(ROLE_TEXT[role]) : role);
    const canManage = (org) => org.role === "owner" || org.role === "admin";
    const small = (cls, text, label) => el("button", { class: `as-btn as-inline ${cls}`, type: "button", "aria-label": label, text });
    const links = (...kids) => el("div", { class: "as-links" }, kids);

    /** A labelled role picker (`hiddenLabel`: the label is for assistive technology only). */
    function roleSelect(label, value, roles, hiddenLabel) {
      const id = uniqueId();
      const select = el("select", { id, name: id }, roles.map((r) => el("option", { value: r, selected: r === value }, [roleName(r)])));
      const wrap = el("div", { class: hiddenLabel ? "as-role-pick" : "as-field" }, [
        el("label", { for: id, class: hiddenLabel ? "as-sr-only" : null, text: label }), select]);
      return { wrap, select };
    }

    // -------------------------------------------------------------- account page section
    /** My organizations (name, slug, my role), a form to create one; `render` (re)loads. */
    function organizationsSection() {
      const box = alertBox();
      const list = el("ul", { class: "as-list", id: "organizations" });
      async function render() {
        const orgs = await auth.organizations.list();
        const ctx = { box, reload: render };
        list.replaceChildren(...(orgs.length ? orgs.map((org) => orgItem(org, ctx)) : [el("li", { text: t("noOrgs") })]));
      }
      return { node: section(t("organizations"), "s-orgs", [box, list, createForm(box, render)]), render };
    }

    function createForm(box, reload) {
      const name = field(t("orgName"), { type: "text", autocomplete: "organization", required: true, maxlength: 100 });
      const create = button(t("createOrg"), { class: "as-btn as-inline" });
      const form = el("form", { class: "as-stack", novalidate: true }, [name.wrap, create]);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        busy(create, async () => {
          try {
            const org = await auth.organizations.create({ name: name.input.value.trim() });
            form.reset();
            await reload();
            showOk(box, t("orgCreated", { name: org.name }));
          } catch (err) { showError(box, err); markInvalid(name.input); }
        });
      });
      return form;
    }

    /** One organization: Manage (owners and admins) opens its members and invitations; Leave. */
    function orgItem(org, ctx) {
      const panel = el("div", { class: "as-stack as-org-panel", id: uniqueId(), hidden: true });
      const actions = [];
      if (canManage(org)) {
        const manage = small("as-secondary", t("manage"), `${t("manage")}: ${org.name}`);
        manage.setAttribute("aria-expanded", "false");
        manage.setAttribute("aria-controls", panel.id);
        manage.addEventListener("click", () => busy(manage, async () => {
          const opening = panel.hidden;
          if (opening) {
            try { await fillPanel(org, panel, ctx); } catch (err) { showError(ctx.box, err); return; }
          }
          panel.hidden = !opening;
          manage.setAttribute("aria-expanded", String(opening));
        }));
        actions.push(manage);
      }
      const leave = small("as-secondary", t("leaveOrg"), `${t("leaveOrg")}: ${org.name}`);
      leave.addEventListener("click", () => busy(leave, async () => {
        try { await auth.organizations.leave(org.id); await ctx.reload(); showOk(ctx.box, t("leftOrg", { name: org.name })); } catch (err) { showError(ctx.box, err); }
      }));
      actions.push(leave);
      return el("li", { "data-org": org.id }, [
        el("div", {}, [el("div", { text: org.name }), el("div", { class: "as-meta", text: `${org.slug} · ${t("yourRole")}: ${roleName(org.role)}` })]),
        el("div", { class: "as-row" }, actions),
        panel]);
    }

    /** The manage panel, loaded on opening: members, invite form, pending invitations, delete. */
    async function fillPanel(org, panel, ctx) {
      const box = alertBox();
      const roles = (await auth.organizations.roles(org.id)).map((r) => r.name);
      const names = roles.length ? roles : BUILTIN_ROLES;
      const members = membersBlock(org, names, box);
      const invitations = invitationsBlock(org, names, box);
      await Promise.all([members.render(), invitations.render()]);
      const kids = [box, members.node, invitations.node];
      if (org.role === "owner") kids.push(deleteButton(org, box, ctx));
      panel.replaceChildren(...kids);
    }

    /** Members (a page at a time), each with a role picker and Remove (not for myself). */
    function membersBlock(org, roles, box) {
      const list = el("ul", { class: "as-list", "aria-label": `${t("members")}: ${org.name}` });
      const more = button(t("showMore"), { type: "button", class: "as-btn as-secondary as-inline", hidden: true });
      let cursor = null;
      async function load(reset) {
        const next = await auth.organizations.members(org.id, { limit: 50, cursor: reset ? null : cursor });
        const items = next.members.map((m) => memberItem(org, m, roles, box, () => load(true)));
        if (reset) list.replaceChildren(...items); else list.append(...items);
        cursor = next.nextCursor;
        more.hidden = !cursor;
      }
      more.addEventListener("click", () => busy(more, () => load(false).catch((err) => showError(box, err))));
      return { node: el("div", { class: "as-stack" }, [el("h3", { text: t("members") }), list, more]), render: () => load(true) };
    }

    function memberItem(org, m, roles, box, reload) {
      const me = auth.getUser();
      const self = Boolean(me && me.id === m.user_id);
      const info = el("div", {}, [
        el("div", { text: m.email }),
        el("div", { class: "as-meta", text: self ? `${roleName(m.role)} · ${t("you")}` : roleName(m.role) })]);
      if (self) return el("li", { "data-member": m.user_id }, [info]);
      const pick = roleSelect(`${t("role")}: ${m.email}`, m.role, roles.includes(m.role) ? roles : [...roles, m.role], true);
      const change = small("as-secondary", t("changeRole"), `${t("changeRole")}: ${m.email}`);
      change.addEventListener("click", () => busy(change, async () => {
        try {
          await guarded(box, () => auth.organizations.changeRole(org.id, m.user_id, pick.select.value));
          await reload();
          showOk(box, t("roleChanged", { email: m.email, role: roleName(pick.select.value) }));
        } catch (err) { showError(box, err); }
      }));
      const remove = small("as-secondary", t("removeMember"), `${t("removeMember")}: ${m.email}`);
      remove.addEventListener("click", () => busy(remove, async () => {
        try { await guarded(box, () => auth.organizations.removeMember(org.id, m.user_id)); await reload(); showOk(box, t("memberRemoved", { email: m.email })); } catch (err) { showError(box, err); }
      }));
      return el("li", { "data-member": m.user_id }, [info, el("div", { class: "as-row" }, [pick.wrap, change, remove])]);
    }

    /** Every pending invitation (the list holds every status, oldest first). */
    async function pendingInvitations(org) {
      const pending = [];
      let cursor = null;
      for (let pages = 0; pages < 10; pages += 1) {
        const next = await auth.organizations.invitations(org.id, { limit: 100, cursor });
        pending.push(...next.invitations.filter((i) => i.status === "pending"));
        cursor = next.nextCursor;
        if (!cursor) break;
      }
      return pending;
    }

    /** The invite form and the pending invitations, each revocable. */
    function invitationsBlock(org, roles, box) {
      const list = el("ul", { class: "as-list", "aria-label": `${t("invitations")}: ${org.name}` });
      const email = field(t("inviteEmail"), { type: "email", autocomplete: "off", required: true });
      const role = roleSelect(t("role"), "member", roles, false);
      const send = button(t("sendInvitation"), { class: "as-btn as-inline" });
      const form = el("form", { class: "as-stack", novalidate: true }, [email.wrap, role.wrap, send]);
      async function render() {
        const pending = await pendingInvitations(org);
        list.replaceChildren(...(pending.length ? pending.map(invitationItem) : [el("li", { text: t("noInvitations") })]));
      }
      function invitationItem(inv) {
        const revoke = small("as-secondary", t("withdraw"), `${t("revokeInvitation")}: ${inv.email}`);
        revoke.addEventListener("click", () => busy(revoke, async () => {
          try { await auth.organizations.revokeInvitation(org.id, inv.id); await render(); showOk(box, t("invitationRevoked", { email: inv.email })); } catch (err) { showError(box, err); }
        }));
        return el("li", { "data-invitation": inv.id }, [
          el("div", {}, [el("div", { text: inv.email }), el("div", { class: "as-meta", text: `${roleName(inv.role)} · ${t("expires")} ${fmt(inv.expires_at)}` })]),
          revoke]);
      }
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        busy(send, async () => {
          try {
            const inv = await auth.organizations.invite(org.id, { email: email.input.value.trim(), role: role.select.value });
            form.reset();
            await render();
            showOk(box, t("invitationSent", { email: inv.email }));
          } catch (err) { showError(box, err); markInvalid(email.input); }
        });
      });
      return { node: el("div", { class: "as-stack" }, [el("h3", { text: t("invitations") }), list, form]), render };
    }

    /** Deletes the organization (owners; asks first, and may ask who you are). */
    function deleteButton(org, box, ctx) {
      const del = small("as-danger", t("deleteOrg"), `${t("deleteOrg")}: ${org.name}`);
      del.addEventListener("click", () => busy(del, async () => {
        if (!window.confirm(t("deleteOrgConfirm", { name: org.name }))) return;
        try { await guarded(box, () => auth.organizations.remove(org.id)); await ctx.reload(); showOk(ctx.box, t("orgDeleted", { name: org.name })); } catch (err) { showError(box, err); }
      }));
      return del;
    }

    // -------------------------------------------------------------- accept-invitation.html
    /** Codes after which the link can never work: the kept token is dropped. */
    const SPENT = ["invitation_not_found", "invitation_expired", "invitation_revoked", "invitation_already_accepted", "already_member"];
    // Once per page load (a language switch renders the page again).
    let token = null;
    let signedIn = null;
    let joined = null;

    const joinedView = (title) => page(title, "", [
      okBox(t("joinedOrg", { org: joined.name, role: roleName(joined.role) })), links(link("/account.html", t("toAccount")))]);

    /** The invitation link's page: keeps the token while the user signs in (after sign-in the
     * login page comes back here), then joins on a click. */
    async function acceptInvitationPage() {
      const title = t("invitationTitle");
      if (!token) {
        token = tokenFromUrl() || invitation.get();
        if (token) invitation.set(token);
      }
      // Busy until the page knows whether someone is signed in (the tests wait for it too).
      main().setAttribute("aria-busy", "true");
      try {
        if (joined) joinedView(title);
        else if (!token) page(title, "", [okBox(t("missingToken")), links(link("/account.html", t("toAccount")))]);
        else {
          signedIn = signedIn || auth.refresh().then(() => true, () => false);
          if (await signedIn) joinView(title);
          else page(title, t("invitationSignIn"), [links(link("/login.html", t("signIn")), link("/signup.html", t("noAccount")))]);
        }
      } finally {
        main().setAttribute("aria-busy", "false");
      }
    }

    function joinView(title) {
      const box = alertBox();
      const join = button(t("joinOrg"), { type: "button" });
      join.addEventListener("click", () => busy(join, async () => {
        try {
          joined = await auth.organizations.acceptInvitation(token);
          invitation.clear();
          joinedView(title);
        } catch (err) {
          if (SPENT.includes(err.code)) invitation.clear();
          showError(box, err);
        }
      }));
      const me = auth.getUser();
      page(title, t("invitationLead", { email: (me && me.email) || "" }), [box, join, links(link("/account.html", t("toAccount")))]);
    }

    return { organizationsSection, acceptInvitationPage };
  };
})();
