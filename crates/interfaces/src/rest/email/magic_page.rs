//! The magic-link confirmation page: plain HTML and a form (no script, so it works under the
//! strict CSP and without the hosted frontend), in the browser's language.

use actix_web::HttpRequest;
use actix_web::http::header;

pub struct Strings {
    lang: &'static str,
    title: &'static str,
    lead: &'static str,
    button: &'static str,
    note: &'static str,
    refused: &'static str,
    back: &'static str,
}

const EN: Strings = Strings {
    lang: "en",
    title: "Finish signing in",
    lead: "Sign in as {email}?",
    button: "Continue",
    note: "Only continue if you asked for this link. If you did not, close this page: nobody has been signed in.",
    refused: "This sign-in link is no longer valid. Ask for a new one.",
    back: "Back to sign-in",
};
const DE: Strings = Strings {
    lang: "de",
    title: "Anmeldung abschließen",
    lead: "Als {email} anmelden?",
    button: "Weiter",
    note: "Fahren Sie nur fort, wenn Sie diesen Link angefordert haben. Andernfalls schließen Sie diese Seite: Es wurde niemand angemeldet.",
    refused: "Dieser Anmeldelink ist nicht mehr gültig. Fordern Sie einen neuen an.",
    back: "Zurück zur Anmeldung",
};
const FR: Strings = Strings {
    lang: "fr",
    title: "Terminer la connexion",
    lead: "Se connecter en tant que {email} ?",
    button: "Continuer",
    note: "Ne continuez que si vous avez demandé ce lien. Sinon, fermez cette page : personne n'a été connecté.",
    refused: "Ce lien de connexion n'est plus valide. Demandez-en un nouveau.",
    back: "Retour à la connexion",
};
const ES: Strings = Strings {
    lang: "es",
    title: "Terminar de iniciar sesión",
    lead: "¿Iniciar sesión como {email}?",
    button: "Continuar",
    note: "Continúe solo si pidió este enlace. Si no, cierre esta página: no se ha iniciado ninguna sesión.",
    refused: "Este enlace de inicio de sesión ya no es válido. Pida uno nuevo.",
    back: "Volver a iniciar sesión",
};

/// The first of the browser's languages we speak, else English.
pub fn locale(req: &HttpRequest) -> &'static Strings {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for tag in accept.split(',') {
        let primary = tag
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .split('-')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => return &EN,
            "de" => return &DE,
            "fr" => return &FR,
            "es" => return &ES,
            _ => {}
        }
    }
    &EN
}

/// HTML-escapes text for this server's small pages (also the OIDC error pages).
pub(in crate::rest) fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(s: &Strings, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/auth-ui.css\"></head>\
         <body><main class=\"as-card\"><h1>{title}</h1>{body}</main></body></html>\n",
        lang = s.lang,
        title = escape(s.title),
    )
}

/// Names the account and asks for the click that consumes the link.
pub fn confirm(s: &Strings, email: &str, token: &str) -> String {
    let lead = escape(s.lead).replace("{email}", &format!("<strong>{}</strong>", escape(email)));
    document(
        s,
        &format!(
            "<p>{lead}</p>\
             <form method=\"post\" action=\"/api/auth/magic-link/verify\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <button type=\"submit\" class=\"as-btn\">{button}</button></form>\
             <p class=\"as-hint\">{note}</p>",
            token = escape(token),
            button = escape(s.button),
            note = escape(s.note),
        ),
    )
}

/// An unknown, used, expired or foreign link: nothing to confirm.
pub fn refused(s: &Strings) -> String {
    document(
        s,
        &format!(
            "<p role=\"alert\">{}</p><p><a href=\"/login.html\">{}</a></p>",
            escape(s.refused),
            escape(s.back)
        ),
    )
}
