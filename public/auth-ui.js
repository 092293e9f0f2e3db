/* The runtime of the hosted pages: reads the client from `?api_key=` (kept in sessionStorage
 * while the tab lives), the locale from `?locale=` or the browser, applies the tenant's
 * branding from /api/auth/ui/config, and drives each page (<body data-page="...">) through the
 * SDK (authservice.js). No inline script anywhere: the pages run under a strict CSP. */
(function () {
  "use strict";

  const STRINGS = {
    en: {
      signInTitle: "Sign in", signInLead: "Welcome back. Sign in to continue.", email: "Email", password: "Password",
      signIn: "Sign in", passkey: "Sign in with a passkey", or: "or", magicLink: "Email me a sign-in link",
      magicSent: "If an account exists for this email, a sign-in link is on its way.",
      noAccount: "Create an account", forgot: "Forgot password?", haveAccount: "Already have an account? Sign in",
      twoFactorTitle: "Two-step verification", twoFactorLead: "Enter the 6-digit code from your authenticator app.",
      code: "Authentication code", verify: "Verify", useRecovery: "Use a recovery code", recoveryCode: "Recovery code",
      usePasskey: "Use a passkey", useTotp: "Use your authenticator app",
      signUpTitle: "Create your account", signUpLead: "It takes less than a minute.", name: "Name (optional)",
      createAccount: "Create account", passwordHint: "At least 8 characters; avoid common words and your name.",
      checkEmail: "Check your email: we sent you a link to finish signing up.",
      signedUp: "Your account is ready. We sent you an email to confirm your address.",
      addPasskeyNow: "Add a passkey for faster sign-in", continue: "Continue",
      forgotTitle: "Reset your password", forgotLead: "Enter your email and we will send you a link to choose a new password.",
      sendLink: "Send reset link", forgotSent: "If an account exists for this email, a password reset link is on its way.",
      resetTitle: "Choose a new password", newPassword: "New password", setPassword: "Set new password",
      resetDone: "Your password was changed and every session was signed out. You can sign in now.",
      verifyTitle: "Confirm your email", verifying: "Confirming your email address…",
      verified: "Your email address is confirmed.", backToSignIn: "Back to sign in", missingToken: "This link is incomplete.",
      accountTitle: "Your account", profile: "Profile", displayName: "Display name", language: "Language", save: "Save",
      saved: "Saved.", changePassword: "Change password", currentPassword: "Current password",
      passwordChanged: "Password changed. Other sessions were signed out.", sessions: "Sessions",
      thisDevice: "This device", revoke: "Revoke", revokeOthers: "Sign out all other sessions", revoked: "Session revoked.",
      twoFactor: "Two-step verification (TOTP)", totpOn: "Two-step verification is on.", totpOff: "Two-step verification is off.",
      enableTotp: "Set up authenticator app", scanQr: "Scan this QR code with your authenticator app, or enter the key:",
      confirmCode: "Enter the code it shows to confirm", enable: "Turn on", disable: "Turn off",
      disableWith: "Current code or password", recoveryTitle: "Recovery codes",
      recoveryShown: "Save these codes somewhere safe. Each works once, and they are shown only now.",
      remaining: "{n} of {total} recovery codes left.", regenerate: "Generate new codes",
      passkeys: "Passkeys", addPasskey: "Add a passkey", passkeyName: "Passkey name", rename: "Rename", remove: "Remove",
      noPasskeys: "No passkeys yet.", created: "Added", lastUsed: "Last used", never: "never", signOut: "Sign out",
      loading: "Loading…", error: "Something went wrong. Please try again.", languageLabel: "Language",
      AUTH_LINK_USED: "This link has already been used. Please request a new one.",
      AUTH_LINK_EXPIRED: "This link has expired. Please request a new one.", AUTH_INVALID_LINK: "This link is not valid.",
      portalTitle: "Operator portal",
      reauthTitle: "Confirm it’s you", reauthLead: "This change needs a recent sign-in. Enter your password or a code from your authenticator app.", confirm: "Confirm", cancel: "Cancel", reauthPasskey: "Confirm with a passkey",
      orPassword: "Or your password", qrAlt: "QR code for your authenticator app",
    },
    de: {
      signInTitle: "Anmelden", signInLead: "Willkommen zurück. Melden Sie sich an, um fortzufahren.", email: "E-Mail", password: "Passwort",
      signIn: "Anmelden", passkey: "Mit Passkey anmelden", or: "oder", magicLink: "Anmeldelink per E-Mail senden",
      magicSent: "Falls ein Konto mit dieser E-Mail existiert, ist ein Anmeldelink unterwegs.",
      noAccount: "Konto erstellen", forgot: "Passwort vergessen?", haveAccount: "Schon ein Konto? Anmelden",
      twoFactorTitle: "Bestätigung in zwei Schritten", twoFactorLead: "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein.",
      code: "Bestätigungscode", verify: "Bestätigen", useRecovery: "Wiederherstellungscode verwenden", recoveryCode: "Wiederherstellungscode",
      usePasskey: "Passkey verwenden", useTotp: "Authenticator-App verwenden",
      signUpTitle: "Konto erstellen", signUpLead: "Das dauert weniger als eine Minute.", name: "Name (optional)",
      createAccount: "Konto erstellen", passwordHint: "Mindestens 8 Zeichen; vermeiden Sie gängige Wörter und Ihren Namen.",
      checkEmail: "Sehen Sie in Ihr E-Mail-Postfach: Wir haben Ihnen einen Link zum Abschluss der Registrierung gesendet.",
      signedUp: "Ihr Konto ist bereit. Wir haben Ihnen eine E-Mail zur Bestätigung Ihrer Adresse gesendet.",
      addPasskeyNow: "Passkey für schnellere Anmeldung hinzufügen", continue: "Weiter",
      forgotTitle: "Passwort zurücksetzen", forgotLead: "Geben Sie Ihre E-Mail ein; wir senden Ihnen einen Link für ein neues Passwort.",
      sendLink: "Link senden", forgotSent: "Falls ein Konto mit dieser E-Mail existiert, ist ein Link zum Zurücksetzen unterwegs.",
      resetTitle: "Neues Passwort wählen", newPassword: "Neues Passwort", setPassword: "Passwort speichern",
      resetDone: "Ihr Passwort wurde geändert und alle Sitzungen wurden abgemeldet. Sie können sich jetzt anmelden.",
      verifyTitle: "E-Mail bestätigen", verifying: "Ihre E-Mail-Adresse wird bestätigt…",
      verified: "Ihre E-Mail-Adresse ist bestätigt.", backToSignIn: "Zurück zur Anmeldung", missingToken: "Dieser Link ist unvollständig.",
      accountTitle: "Ihr Konto", profile: "Profil", displayName: "Anzeigename", language: "Sprache", save: "Speichern",
      saved: "Gespeichert.", changePassword: "Passwort ändern", currentPassword: "Aktuelles Passwort",
      passwordChanged: "Passwort geändert. Andere Sitzungen wurden abgemeldet.", sessions: "Sitzungen",
      thisDevice: "Dieses Gerät", revoke: "Beenden", revokeOthers: "Alle anderen Sitzungen abmelden", revoked: "Sitzung beendet.",
      twoFactor: "Bestätigung in zwei Schritten (TOTP)", totpOn: "Die Bestätigung in zwei Schritten ist aktiv.", totpOff: "Die Bestätigung in zwei Schritten ist aus.",
      enableTotp: "Authenticator-App einrichten", scanQr: "Scannen Sie diesen QR-Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel ein:",
      confirmCode: "Geben Sie zur Bestätigung den angezeigten Code ein", enable: "Aktivieren", disable: "Deaktivieren",
      disableWith: "Aktueller Code oder Passwort", recoveryTitle: "Wiederherstellungscodes",
      recoveryShown: "Bewahren Sie diese Codes sicher auf. Jeder funktioniert einmal, und sie werden nur jetzt angezeigt.",
      remaining: "{n} von {total} Wiederherstellungscodes übrig.", regenerate: "Neue Codes erzeugen",
      passkeys: "Passkeys", addPasskey: "Passkey hinzufügen", passkeyName: "Name des Passkeys", rename: "Umbenennen", remove: "Entfernen",
      noPasskeys: "Noch keine Passkeys.", created: "Hinzugefügt", lastUsed: "Zuletzt verwendet", never: "nie", signOut: "Abmelden",
      loading: "Wird geladen…", error: "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.", languageLabel: "Sprache",
      AUTH_LINK_USED: "Dieser Link wurde bereits verwendet. Bitte fordern Sie einen neuen an.",
      AUTH_LINK_EXPIRED: "Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.", AUTH_INVALID_LINK: "Dieser Link ist ungültig.",
      portalTitle: "Betreiberportal",
      reauthTitle: "Bestätigen Sie, dass Sie es sind", reauthLead: "Diese Änderung erfordert eine kürzliche Anmeldung. Geben Sie Ihr Passwort oder einen Code aus Ihrer Authenticator-App ein.", confirm: "Bestätigen", cancel: "Abbrechen", reauthPasskey: "Mit Passkey bestätigen",
      orPassword: "Oder Ihr Passwort", qrAlt: "QR-Code für Ihre Authenticator-App",
    },
    fr: {
      signInTitle: "Se connecter", signInLead: "Bon retour. Connectez-vous pour continuer.", email: "E-mail", password: "Mot de passe",
      signIn: "Se connecter", passkey: "Se connecter avec une clé d’accès", or: "ou", magicLink: "Recevoir un lien de connexion par e-mail",
      magicSent: "Si un compte existe pour cet e-mail, un lien de connexion est en route.",
      noAccount: "Créer un compte", forgot: "Mot de passe oublié ?", haveAccount: "Déjà un compte ? Se connecter",
      twoFactorTitle: "Validation en deux étapes", twoFactorLead: "Saisissez le code à 6 chiffres de votre application d’authentification.",
      code: "Code de validation", verify: "Valider", useRecovery: "Utiliser un code de récupération", recoveryCode: "Code de récupération",
      usePasskey: "Utiliser une clé d’accès", useTotp: "Utiliser l’application d’authentification",
      signUpTitle: "Créez votre compte", signUpLead: "Cela prend moins d’une minute.", name: "Nom (facultatif)",
      createAccount: "Créer le compte", passwordHint: "Au moins 8 caractères ; évitez les mots courants et votre nom.",
      checkEmail: "Consultez vos e-mails : nous vous avons envoyé un lien pour terminer l’inscription.",
      signedUp: "Votre compte est prêt. Nous vous avons envoyé un e-mail pour confirmer votre adresse.",
      addPasskeyNow: "Ajouter une clé d’accès pour vous connecter plus vite", continue: "Continuer",
      forgotTitle: "Réinitialiser votre mot de passe", forgotLead: "Saisissez votre e-mail ; nous vous enverrons un lien pour choisir un nouveau mot de passe.",
      sendLink: "Envoyer le lien", forgotSent: "Si un compte existe pour cet e-mail, un lien de réinitialisation est en route.",
      resetTitle: "Choisissez un nouveau mot de passe", newPassword: "Nouveau mot de passe", setPassword: "Enregistrer le mot de passe",
      resetDone: "Votre mot de passe a été modifié et toutes les sessions ont été fermées. Vous pouvez vous connecter.",
      verifyTitle: "Confirmez votre e-mail", verifying: "Confirmation de votre adresse e-mail…",
      verified: "Votre adresse e-mail est confirmée.", backToSignIn: "Retour à la connexion", missingToken: "Ce lien est incomplet.",
      accountTitle: "Votre compte", profile: "Profil", displayName: "Nom affiché", language: "Langue", save: "Enregistrer",
      saved: "Enregistré.", changePassword: "Changer le mot de passe", currentPassword: "Mot de passe actuel",
      passwordChanged: "Mot de passe modifié. Les autres sessions ont été fermées.", sessions: "Sessions",
      thisDevice: "Cet appareil", revoke: "Fermer", revokeOthers: "Fermer toutes les autres sessions", revoked: "Session fermée.",
      twoFactor: "Validation en deux étapes (TOTP)", totpOn: "La validation en deux étapes est activée.", totpOff: "La validation en deux étapes est désactivée.",
      enableTotp: "Configurer l’application d’authentification", scanQr: "Scannez ce QR code avec votre application, ou saisissez la clé :",
      confirmCode: "Saisissez le code affiché pour confirmer", enable: "Activer", disable: "Désactiver",
      disableWith: "Code actuel ou mot de passe", recoveryTitle: "Codes de récupération",
      recoveryShown: "Conservez ces codes en lieu sûr. Chacun ne sert qu’une fois et ils ne sont affichés que maintenant.",
      remaining: "Il reste {n} codes de récupération sur {total}.", regenerate: "Générer de nouveaux codes",
      passkeys: "Clés d’accès", addPasskey: "Ajouter une clé d’accès", passkeyName: "Nom de la clé", rename: "Renommer", remove: "Supprimer",
      noPasskeys: "Aucune clé d’accès pour l’instant.", created: "Ajoutée", lastUsed: "Dernière utilisation", never: "jamais", signOut: "Se déconnecter",
      loading: "Chargement…", error: "Une erreur est survenue. Veuillez réessayer.", languageLabel: "Langue",
      AUTH_LINK_USED: "Ce lien a déjà été utilisé. Veuillez en demander un nouveau.",
      AUTH_LINK_EXPIRED: "Ce lien a expiré. Veuillez en demander un nouveau.", AUTH_INVALID_LINK: "Ce lien n’est pas valide.",
      portalTitle: "Portail d’exploitation",
      reauthTitle: "Confirmez qu’il s’agit bien de vous", reauthLead: "Cette modification exige une connexion récente. Saisissez votre mot de passe ou un code de votre application d’authentification.", confirm: "Confirmer", cancel: "Annuler", reauthPasskey: "Confirmer avec une clé d’accès",
      orPassword: "Ou votre mot de passe", qrAlt: "QR code pour votre application d’authentification",
    },
    es: {
      signInTitle: "Iniciar sesión", signInLead: "Bienvenido de nuevo. Inicie sesión para continuar.", email: "Correo electrónico", password: "Contraseña",
      signIn: "Iniciar sesión", passkey: "Iniciar sesión con una llave de acceso", or: "o", magicLink: "Enviarme un enlace de acceso",
      magicSent: "Si existe una cuenta con este correo, le hemos enviado un enlace de acceso.",
      noAccount: "Crear una cuenta", forgot: "¿Olvidó su contraseña?", haveAccount: "¿Ya tiene una cuenta? Inicie sesión",
      twoFactorTitle: "Verificación en dos pasos", twoFactorLead: "Introduzca el código de 6 dígitos de su aplicación de autenticación.",
      code: "Código de verificación", verify: "Verificar", useRecovery: "Usar un código de recuperación", recoveryCode: "Código de recuperación",
      usePasskey: "Usar una llave de acceso", useTotp: "Usar la aplicación de autenticación",
      signUpTitle: "Cree su cuenta", signUpLead: "Tarda menos de un minuto.", name: "Nombre (opcional)",
      createAccount: "Crear cuenta", passwordHint: "Al menos 8 caracteres; evite palabras comunes y su nombre.",
      checkEmail: "Revise su correo: le enviamos un enlace para terminar el registro.",
      signedUp: "Su cuenta está lista. Le hemos enviado un correo para confirmar su dirección.",
      addPasskeyNow: "Añadir una llave de acceso para entrar más rápido", continue: "Continuar",
      forgotTitle: "Restablecer su contraseña", forgotLead: "Introduzca su correo y le enviaremos un enlace para elegir una nueva contraseña.",
      sendLink: "Enviar enlace", forgotSent: "Si existe una cuenta con este correo, le hemos enviado un enlace para restablecerla.",
      resetTitle: "Elija una nueva contraseña", newPassword: "Nueva contraseña", setPassword: "Guardar contraseña",
      resetDone: "Su contraseña se cambió y se cerraron todas las sesiones. Ya puede iniciar sesión.",
      verifyTitle: "Confirme su correo", verifying: "Confirmando su dirección de correo…",
      verified: "Su dirección de correo está confirmada.", backToSignIn: "Volver a iniciar sesión", missingToken: "Este enlace está incompleto.",
      accountTitle: "Su cuenta", profile: "Perfil", displayName: "Nombre visible", language: "Idioma", save: "Guardar",
      saved: "Guardado.", changePassword: "Cambiar contraseña", currentPassword: "Contraseña actual",
      passwordChanged: "Contraseña cambiada. Se cerraron las demás sesiones.", sessions: "Sesiones",
      thisDevice: "Este dispositivo", revoke: "Cerrar", revokeOthers: "Cerrar todas las demás sesiones", revoked: "Sesión cerrada.",
      twoFactor: "Verificación en dos pasos (TOTP)", totpOn: "La verificación en dos pasos está activada.", totpOff: "La verificación en dos pasos está desactivada.",
      enableTotp: "Configurar la aplicación de autenticación", scanQr: "Escanee este código QR con su aplicación o introduzca la clave:",
      confirmCode: "Introduzca el código que muestra para confirmar", enable: "Activar", disable: "Desactivar",
      disableWith: "Código actual o contraseña", recoveryTitle: "Códigos de recuperación",
      recoveryShown: "Guarde estos códigos en un lugar seguro. Cada uno sirve una vez y solo se muestran ahora.",
      remaining: "Quedan {n} de {total} códigos de recuperación.", regenerate: "Generar códigos nuevos",
      passkeys: "Llaves de acceso", addPasskey: "Añadir una llave de acceso", passkeyName: "Nombre de la llave", rename: "Renombrar", remove: "Eliminar",
      noPasskeys: "Todavía no hay llaves de acceso.", created: "Añadida", lastUsed: "Último uso", never: "nunca", signOut: "Cerrar sesión",
      loading: "Cargando…", error: "Algo salió mal. Vuelva a intentarlo.", languageLabel: "Idioma",
      AUTH_LINK_USED: "Este enlace ya se usó. Solicite uno nuevo.",
      AUTH_LINK_EXPIRED: "Este enlace ha caducado. Solicite uno nuevo.", AUTH_INVALID_LINK: "Este enlace no es válido.",
      portalTitle: "Portal de operación",
      reauthTitle: "Confirme que es usted", reauthLead: "Este cambio requiere un inicio de sesión reciente. Introduzca su contraseña o un código de su aplicación de autenticación.", confirm: "Confirmar", cancel: "Cancelar", reauthPasskey: "Confirmar con una llave de acceso",
      orPassword: "O su contraseña", qrAlt: "Código QR para su aplicación de autenticación",
    },
  };
  const LANGS = { en: "English", de: "Deutsch", fr: "Français", es: "Español" };
  /** Localised answers for the error codes people meet on these pages. */
  const ERRORS = {
    en: {
      session_revoked: "Your session has ended. Please sign in again.", invalid_redirect_code: "This sign-in has expired. Please sign in again.",
      invalid_credentials: "The email or password is incorrect.", rate_limited: "Too many attempts. Please wait a moment and try again.",
      password_policy: "Please choose a stronger password (at least 8 characters, not a common word or your name).",
      invalid_code: "That code is not valid. Please try again.", code_already_used: "This code has already been used. Please wait for a new one.",
      email_taken: "An account with this email already exists.", passkey_verification_failed: "That passkey could not be verified.",
      invalid_two_factor_token: "Your sign-in attempt has expired. Please sign in again.", invalid_request: "Please check the information you entered.",
      link_used: "This link has already been used. Please request a new one.", link_expired: "This link has expired. Please request a new one.",
      reauthentication_required: "Please confirm it’s you to continue.",
      invalid_link: "This link is not valid.", invalid_current_password: "The current password is incorrect.", email_domain_blocked: "This email domain is not accepted.",
    },
    de: {
      session_revoked: "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an.", invalid_redirect_code: "Diese Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.",
      invalid_credentials: "E-Mail oder Passwort ist falsch.", rate_limited: "Zu viele Versuche. Bitte warten Sie kurz und versuchen Sie es erneut.",
      password_policy: "Bitte wählen Sie ein stärkeres Passwort (mindestens 8 Zeichen, kein gängiges Wort, nicht Ihr Name).",
      invalid_code: "Dieser Code ist ungültig. Bitte versuchen Sie es erneut.", code_already_used: "Dieser Code wurde bereits verwendet. Bitte warten Sie auf einen neuen.",
      email_taken: "Ein Konto mit dieser E-Mail existiert bereits.", passkey_verification_failed: "Dieser Passkey konnte nicht bestätigt werden.",
      invalid_two_factor_token: "Ihr Anmeldeversuch ist abgelaufen. Bitte melden Sie sich erneut an.", invalid_request: "Bitte prüfen Sie Ihre Angaben.",
      link_used: "Dieser Link wurde bereits verwendet. Bitte fordern Sie einen neuen an.", link_expired: "Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.",
      reauthentication_required: "Bitte bestätigen Sie, dass Sie es sind, um fortzufahren.",
      invalid_link: "Dieser Link ist ungültig.", invalid_current_password: "Das aktuelle Passwort ist falsch.", email_domain_blocked: "Diese E-Mail-Domain wird nicht akzeptiert.",
    },
    fr: {
      session_revoked: "Votre session est terminée. Veuillez vous reconnecter.", invalid_redirect_code: "Cette connexion a expiré. Veuillez vous reconnecter.",
      invalid_credentials: "L’e-mail ou le mot de passe est incorrect.", rate_limited: "Trop de tentatives. Patientez un instant puis réessayez.",
      password_policy: "Choisissez un mot de passe plus robuste (au moins 8 caractères, ni mot courant ni votre nom).",
      invalid_code: "Ce code n’est pas valide. Veuillez réessayer.", code_already_used: "Ce code a déjà été utilisé. Attendez le suivant.",
      email_taken: "Un compte existe déjà avec cet e-mail.", passkey_verification_failed: "Cette clé d’accès n’a pas pu être vérifiée.",
      invalid_two_factor_token: "Votre tentative de connexion a expiré. Veuillez vous reconnecter.", invalid_request: "Vérifiez les informations saisies.",
      link_used: "Ce lien a déjà été utilisé. Veuillez en demander un nouveau.", link_expired: "Ce lien a expiré. Veuillez en demander un nouveau.",
      reauthentication_required: "Veuillez confirmer qu’il s’agit bien de vous pour continuer.",
      invalid_link: "Ce lien n’est pas valide.", invalid_current_password: "Le mot de passe actuel est incorrect.", email_domain_blocked: "Ce domaine d’e-mail n’est pas accepté.",
    },
    es: {
      session_revoked: "Su sesión ha terminado. Inicie sesión de nuevo.", invalid_redirect_code: "Este inicio de sesión caducó. Inicie sesión de nuevo.",
      invalid_credentials: "El correo o la contraseña no son correctos.", rate_limited: "Demasiados intentos. Espere un momento y vuelva a intentarlo.",
      password_policy: "Elija una contraseña más segura (al menos 8 caracteres, sin palabras comunes ni su nombre).",
      invalid_code: "Ese código no es válido. Vuelva a intentarlo.", code_already_used: "Este código ya se usó. Espere al siguiente.",
      email_taken: "Ya existe una cuenta con este correo.", passkey_verification_failed: "No se pudo verificar esa llave de acceso.",
      invalid_two_factor_token: "Su intento de inicio de sesión caducó. Inicie sesión de nuevo.", invalid_request: "Revise los datos introducidos.",
      link_used: "Este enlace ya se usó. Solicite uno nuevo.", link_expired: "Este enlace ha caducado. Solicite uno nuevo.",
      reauthentication_required: "Confirme que es usted para continuar.",
      invalid_link: "Este enlace no es válido.", invalid_current_password: "La contraseña actual no es correcta.", email_domain_blocked: "No se acepta este dominio de correo.",
    },
  };

  const params = new URLSearchParams(location.search);
  const store = window.sessionStorage;
  // The client's API key identifies the application (it is public in any SDK page); it is kept
  // in localStorage so a link from an email, opened in a new tab of the same browser, still
  // knows its client. Tokens never go to any storage; the redirect target stays per tab.
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
  const pick = (tag) => (tag || "").toLowerCase().split(/[-_]/)[0];
  let lang = [params.get("locale"), store.getItem("authservice.locale"), ...(navigator.languages || [navigator.language])]
    .map(pick).find((l) => STRINGS[l]) || "en";
  if (params.get("locale") && STRINGS[pick(params.get("locale"))]) store.setItem("authservice.locale", lang);
  const t = (key, vars) => {
    let s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    Object.entries(vars || {}).forEach(([k, v]) => { s = s.replace(`{${k}}`, v); });
    return s;
  };

  const auth = window.AuthService.createClient({ baseUrl: location.origin, apiKey, tokenTransport: "cookie" });
  let config = null;

  // ------------------------------------------------------------------ DOM helpers (the SDK's)
  const { el, alertBox, uniqueId } = window.AuthService.dom;
  const field = (label, attrs, hint) => window.AuthService.dom.field(label, attrs, { hint });
  const button = (text, attrs) => el("button", Object.assign({ class: "as-btn", type: "submit" }, attrs), [text]);
  const okBox = (text) => el("div", { class: "as-alert as-ok", role: "status" }, [text]);
  const showError = (box, err) => {
    box.className = "as-alert as-error";
    const byCode = err && ((err.authCode && STRINGS[lang][err.authCode]) || (err.code && ERRORS[lang] && ERRORS[lang][err.code]));
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
  /** Marks fields invalid (for assistive technology) until they are edited. */
  const markInvalid = (...inputs) => inputs.forEach((input) => {
    input.setAttribute("aria-invalid", "true");
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"), { once: true });
  });
  async function busy(btn, fn) {
    btn.disabled = true;
    try { return await fn(); } finally { btn.disabled = false; }
  }

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
  /** An internal path carrying the client's key (so a link opened in a new tab still works). */
  const withKey = (path) => {
    if (!apiKey) return path;
    const url = new URL(path, location.origin);
    url.searchParams.set("api_key", apiKey);
    url.searchParams.set("locale", lang);
    return url.pathname + url.search;
  };
  const link = (href, text) => el("a", { href: withKey(href) }, [text]);

  // ------------------------------------------------------------------ navigation after sign-in
  /** After sign-in: back to the app (a `redirect_uri` the server accepts for this client: one
   * of its registered redirect URIs) with a one-time `auth_code` it exchanges for its own
   * session, else the account page. */
  async function afterSignIn() {
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
    location.assign(withKey("/account.html"));
  }

  // ------------------------------------------------------------------ pages
  function secondFactor(challenge) {
    const box = alertBox();
    const methods = challenge.methods;
    const render = (method) => {
      const kids = [box];
      if (method === "totp" || method === "recovery_code") {
        const code = method === "totp"
          ? field(t("code"), { inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 6 })
          : field(t("recoveryCode"), { autocomplete: "off", required: true });
        const submit = button(t("verify"));
        const form = el("form", { class: "as-stack", novalidate: true }, [...kids, code.wrap, submit]);
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          busy(submit, async () => {
            try {
              const r = method === "totp"
                ? await auth.verifyTotp({ twoFactorToken: challenge.twoFactorToken, code: code.input.value.trim() })
                : await auth.verifyRecoveryCode({ twoFactorToken: challenge.twoFactorToken, code: code.input.value.trim() });
              if (!r.requires2fa) afterSignIn();
            } catch (err) { showError(box, err); markInvalid(code.input); code.input.focus(); }
          });
        });
        page(t("twoFactorTitle"), method === "totp" ? t("twoFactorLead") : "", [form, switcher(method)]);
      } else {
        const go = button(t("usePasskey"), { type: "button" });
        go.addEventListener("click", () => busy(go, async () => {
          try { await auth.passkeys.login({ twoFactorToken: challenge.twoFactorToken }); afterSignIn(); } catch (err) { showError(box, err); }
        }));
        page(t("twoFactorTitle"), "", [box, go, switcher(method)]);
      }
    };
    const switcher = (current) => el("div", { class: "as-links" }, methods.filter((m) => m !== current).map((m) => {
      const a = el("a", { href: "#", text: m === "totp" ? t("useTotp") : m === "passkey" ? t("usePasskey") : t("useRecovery") });
      a.addEventListener("click", (e) => { e.preventDefault(); render(m); });
      return a;
    }));
    render(methods[0] || "totp");
  }

  async function loginPage() {
    const box = alertBox();
    const email = field(t("email"), { type: "email", autocomplete: "username webauthn", required: true });
    const password = field(t("password"), { type: "password", autocomplete: "current-password", required: true });
    const submit = button(t("signIn"));
    const form = el("form", { class: "as-stack", novalidate: true }, [box, email.wrap, password.wrap, submit]);
    let conditional = null;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(submit, async () => {
        box.hidden = true;
        try {
          const r = await auth.login({ email: email.input.value.trim(), password: password.input.value });
          if (conditional) conditional.abort();
          if (r.requires2fa) secondFactor(r); else afterSignIn();
        } catch (err) { showError(box, err); markInvalid(email.input, password.input); password.input.focus(); }
      });
    });
    const kids = [form];
    const methods = (config && config.methods) || {};
    if (methods.passkey !== false && auth.passkeys.supported()) {
      const pk = button(t("passkey"), { type: "button", class: "as-btn as-secondary" });
      pk.addEventListener("click", () => busy(pk, async () => {
        if (conditional) conditional.abort();
        try { const r = await auth.passkeys.login({}); if (r.requires2fa) secondFactor(r); else afterSignIn(); } catch (err) { showError(box, err); }
      }));
      kids.push(el("div", { class: "as-divider" }, [t("or")]), pk);
    }
    if (methods.magic_link !== false) {
      const magic = button(t("magicLink"), { type: "button", class: "as-btn as-secondary" });
      magic.addEventListener("click", () => busy(magic, async () => {
        if (!email.input.value.trim()) { markInvalid(email.input); showError(box, { code: "invalid_request" }); email.input.focus(); return; }
        try { await auth.magicLink.send(email.input.value.trim()); showOk(box, t("magicSent")); } catch (err) { showError(box, err); }
      }));
      kids.push(magic);
    }
    kids.push(el("div", { class: "as-links" }, [link("/signup.html", t("noAccount")), link("/forgot-password.html", t("forgot"))]));
    page(t("signInTitle"), t("signInLead"), kids);
    const error = params.get("error");
    if (error) showError(box, { authCode: error });
    const code = params.get("auth_code");
    if (code) {
      history.replaceState(null, "", location.pathname);
      try { const r = await auth.exchangeCode(code); if (r.requires2fa) secondFactor(r); else afterSignIn(); return; } catch (err) { showError(box, err); }
    }
    // Passkey autofill: the browser offers passkeys in the email field's suggestions.
    if (methods.passkey !== false && await auth.passkeys.conditionalSupported().catch(() => false)) {
      conditional = new AbortController();
      auth.passkeys.login({ mediation: "conditional", signal: conditional.signal })
        .then((r) => { if (r.requires2fa) secondFactor(r); else afterSignIn(); })
        .catch((err) => {
          // Dismissed or aborted autofill is normal; anything else is worth saying.
          if (err && (err.name === "AbortError" || err.name === "NotAllowedError")) return;
          showError(box, err);
        });
    }
  }

  function signupPage() {
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
          if (auth.passkeys.supported()) {
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
    page(t("signUpTitle"), t("signUpLead"), [form, el("div", { class: "as-links" }, [link("/login.html", t("haveAccount"))])]);
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

  function section(title, id, children) {
    return el("section", { class: "as-card", "aria-labelledby": id }, [el("h2", { class: "as-subtitle", id, text: title }), ...children]);
  }
  const fmt = (iso) => (iso ? new Date(iso).toLocaleString(lang) : t("never"));
  /** After a list re-renders, keep keyboard users in place: focus its section heading. */
  const focusHeading = (id) => {
    const h = document.getElementById(id);
    if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
  };

  async function accountPage() {
    try { await auth.refresh(); } catch (_) { location.replace(withKey("/login.html")); return; }
    const me = await auth.me();
    document.title = `${t("accountTitle")} · ${(config && config.brand_name) || ""}`;
    const sections = [];

    // Profile
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
    sections.push(section(t("profile"), "s-profile", [pForm]));

    // Password
    const cBox = alertBox();
    const cur = field(t("currentPassword"), { type: "password", autocomplete: "current-password", required: true });
    const next = field(t("newPassword"), { type: "password", autocomplete: "new-password", required: true }, t("passwordHint"));
    const cSave = button(t("changePassword"), { class: "as-btn as-inline" });
    const cForm = el("form", { class: "as-stack" }, [cBox, cur.wrap, next.wrap, cSave]);
    cForm.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(cSave, async () => {
        try { await auth.changePassword({ currentPassword: cur.input.value, newPassword: next.input.value }); cForm.reset(); showOk(cBox, t("passwordChanged")); renderSessions(); } catch (err) { showError(cBox, err); }
      });
    });
    sections.push(section(t("changePassword"), "s-password", [cForm]));

    // Sessions
    const sBox = alertBox();
    const sList = el("ul", { class: "as-list", id: "sessions" });
    const others = button(t("revokeOthers"), { type: "button", class: "as-btn as-secondary as-inline" });
    others.addEventListener("click", () => busy(others, async () => {
      try { await guarded(sBox, () => auth.sessions.revokeOthers()); showOk(sBox, t("revoked")); renderSessions(); } catch (err) { showError(sBox, err); }
    }));
    async function renderSessions() {
      const list = await auth.sessions.list();
      sList.replaceChildren(...list.map((s) => {
        const label = `${s.user_agent || "—"}`;
        const btn = s.current
          ? el("span", { class: "as-meta", text: t("thisDevice") })
          : el("button", { class: "as-btn as-secondary as-inline", type: "button", "aria-label": `${t("revoke")}: ${label}`, text: t("revoke") });
        if (!s.current) btn.addEventListener("click", () => busy(btn, async () => {
          try { await auth.sessions.revoke(s.id); showOk(sBox, t("revoked")); renderSessions(); } catch (err) { showError(sBox, err); }
        }));
        return el("li", { "data-session": s.id }, [el("div", {}, [el("div", { text: label }), el("div", { class: "as-meta", text: `${s.ip || ""} · ${fmt(s.last_used_at)}` })]), btn]);
      }));
    }
    sections.push(section(t("sessions"), "s-sessions", [sBox, sList, others]));

    // TOTP and recovery codes
    const tBox = alertBox();
    const tBody = el("div", { class: "as-stack" });
    async function renderTotp() {
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
                  renderRecovery();
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
            try { await auth.totp.disable(c ? { code: c } : { password: pass.input.value }); renderTotp(); renderRecovery(); } catch (err) { showError(tBox, err); }
          });
        });
        tBody.replaceChildren(f);
      }
    }
    sections.push(section(t("twoFactor"), "s-totp", [tBox, tBody]));

    const rBox = alertBox();
    const rBody = el("div", { class: "as-stack" });
    async function renderRecovery() {
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
    sections.push(section(t("recoveryTitle"), "s-recovery", [rBox, rBody]));

    // Passkeys
    const kBox = alertBox();
    const kList = el("ul", { class: "as-list", id: "passkeys" });
    async function renderPasskeys() {
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
              try { await auth.passkeys.rename(k.id, name.input.value.trim()); await renderPasskeys(); focusHeading("s-passkeys"); } catch (err) { showError(kBox, err); }
            });
          });
          item.replaceChildren(f);
          name.input.focus();
        });
        remove.addEventListener("click", () => busy(remove, async () => {
          try { await guarded(kBox, () => auth.passkeys.remove(k.id)); await renderPasskeys(); focusHeading("s-passkeys"); } catch (err) { showError(kBox, err); }
        }));
        const item = el("li", { "data-passkey": k.id }, [
          el("div", {}, [el("div", { text: k.name }), el("div", { class: "as-meta", text: `${t("created")} ${fmt(k.created_at)} · ${t("lastUsed")} ${fmt(k.last_used_at)}` })]),
          el("div", { class: "as-row" }, [rename, remove])]);
        return item;
      }));
    }
    const add = button(t("addPasskey"), { type: "button", class: "as-btn as-inline" });
    add.addEventListener("click", () => busy(add, async () => {
      try { await guarded(kBox, () => auth.passkeys.register(`${t("passkeys")} ${new Date().toLocaleDateString(lang)}`)); renderPasskeys(); } catch (err) { showError(kBox, err); }
    }));
    if (auth.passkeys.supported()) sections.push(section(t("passkeys"), "s-passkeys", [kBox, kList, add]));

    const out = button(t("signOut"), { type: "button", class: "as-btn as-secondary" });
    out.addEventListener("click", async () => { await auth.logout().catch(() => {}); location.assign(withKey("/login.html")); });

    main().classList.add("as-wide");
    main().replaceChildren(brandHeader(), el("h1", { class: "as-title", id: "page-title", text: t("accountTitle") }), ...sections, out);
    await Promise.all([renderSessions(), renderTotp(), renderRecovery(), auth.passkeys.supported() ? renderPasskeys() : null]);
  }

  // ------------------------------------------------------------------ chrome
  function languagePicker() {
    const id = "lang-picker";
    const sel = el("select", { id }, Object.entries(LANGS).map(([code, label]) => el("option", { value: code, selected: code === lang }, [label])));
    // Switch in place (a reload would lose what the page already consumed, e.g. a reset token).
    sel.addEventListener("change", () => {
      lang = sel.value;
      store.setItem("authservice.locale", lang);
      render();
    });
    return el("footer", { class: "as-footer" }, [el("label", { for: id, text: `${t("languageLabel")} ` }), sel]);
  }

  async function render() {
    document.documentElement.lang = lang;
    const old = document.querySelector("footer.as-footer");
    if (old) old.remove();
    document.body.append(languagePicker());
    const pages = { login: loginPage, signup: signupPage, "forgot-password": forgotPage, "reset-password": resetPage, "verify-email": verifyPage, account: accountPage };
    const run = pages[document.body.dataset.page];
    if (run) {
      try { await run(); } catch (err) { const box = alertBox(); main().replaceChildren(brandHeader(), box); showError(box, err); }
    }
  }

  async function start() {
    document.documentElement.lang = lang;
    const skip = document.querySelector(".as-skip");
    if (skip) skip.textContent = { en: "Skip to content", de: "Zum Inhalt springen", fr: "Aller au contenu", es: "Ir al contenido" }[lang];
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
