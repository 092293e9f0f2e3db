//! Renders messages from the template files in `templates/email/` (compiled into the binary):
//! HTML with autoescaping and a plain-text part, localised by `locales/<lang>.json`.

use std::collections::HashMap;

use anyhow::{Context, anyhow};
use authservice_application::ports::{EmailContent, EmailRenderer, RenderedEmail};
use authservice_domain::{Locale, Message, Notice, TokenPurpose};
use minijinja::{AutoEscape, Environment};
use serde_json::{Value, json};

const TEMPLATES: [(&str, &str); 5] = [
    (
        "layout.html",
        include_str!("../../templates/email/layout.html"),
    ),
    ("link.html", include_str!("../../templates/email/link.html")),
    ("link.txt", include_str!("../../templates/email/link.txt")),
    (
        "notice.html",
        include_str!("../../templates/email/notice.html"),
    ),
    (
        "notice.txt",
        include_str!("../../templates/email/notice.txt"),
    ),
];

const LOCALES: [(Locale, &str); 4] = [
    (
        Locale::En,
        include_str!("../../templates/email/locales/en.json"),
    ),
    (
        Locale::De,
        include_str!("../../templates/email/locales/de.json"),
    ),
    (
        Locale::Fr,
        include_str!("../../templates/email/locales/fr.json"),
    ),
    (
        Locale::Es,
        include_str!("../../templates/email/locales/es.json"),
    ),
];

const PURPOSES: [TokenPurpose; 3] = [
    TokenPurpose::VerifyEmail,
    TokenPurpose::ResetPassword,
    TokenPurpose::MagicLink,
];

/// Every message: the links, the security notices and the invitation.
fn messages() -> impl Iterator<Item = Message> {
    PURPOSES
        .into_iter()
        .map(Message::Link)
        .chain(Notice::ALL.into_iter().map(Message::Notice))
        .chain(std::iter::once(Message::Invitation))
}

pub struct TemplateRenderer {
    env: Environment<'static>,
    strings: HashMap<Locale, Value>,
}

/// Replaces `{name}` by its value, for each of `vars`, in every string of a JSON object.
fn fill(strings: &Value, vars: &[(&str, &str)]) -> Value {
    match strings {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, vars)))
                .collect(),
        ),
        Value::String(s) => Value::String(vars.iter().fold(s.clone(), |s, (name, value)| {
            s.replace(&format!("{{{name}}}"), value)
        })),
        other => other.clone(),
    }
}

impl TemplateRenderer {
    /// Loads and checks every template and locale (every locale has every string).
    ///
    /// # Errors
    /// A template does not parse or a locale misses a string.
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .with_context(|| format!("email template {name}"))?;
        }
        let mut strings = HashMap::new();
        let english: Value = serde_json::from_str(LOCALES[0].1).context("locale en")?;
        for (locale, source) in LOCALES {
            let parsed: Value = serde_json::from_str(source)
                .with_context(|| format!("locale {}", locale.as_str()))?;
            let sections =
                std::iter::once("common".to_owned()).chain(messages().map(|m| m.strings_key()));
            for section in sections {
                let section = section.as_str();
                let keys = english[section]
                    .as_object()
                    .ok_or_else(|| anyhow!("locale en lacks {section}"))?;
                for key in keys.keys() {
                    if !parsed[section][key].is_string() {
                        return Err(anyhow!("locale {} lacks {section}.{key}", locale.as_str()));
                    }
                }
            }
            strings.insert(locale, parsed);
        }
        let renderer = Self { env, strings };
        // Render everything once, so a broken template fails at startup, not at first send.
        for locale in Locale::ALL {
            for message in messages() {
                renderer.render(&EmailContent {
                    message,
                    locale,
                    brand: authservice_domain::Branding {
                        name: "Check".to_owned(),
                        logo_url: None,
                        primary_color: "#2563eb".to_owned(),
                        locale: None,
                    },
                    link: "https://example.com/?token=0".to_owned(),
                    vars: vec![
                        ("org", "Check Org".to_owned()),
                        ("inviter", "Check".to_owned()),
                        ("role", "member".to_owned()),
                        ("days", "7".to_owned()),
                    ],
                })?;
            }
        }
        Ok(renderer)
    }
}

impl EmailRenderer for TemplateRenderer {
    fn render(&self, content: &EmailContent) -> anyhow::Result<RenderedEmail> {
        let strings = self
            .strings
            .get(&content.locale)
            .ok_or_else(|| anyhow!("no strings for {}", content.locale.as_str()))?;
        let brand = &content.brand.name;
        let kind = content.message.strings_key();
        let template = content.message.template();
        let vars: Vec<(&str, &str)> = std::iter::once(("brand", brand.as_str()))
            .chain(content.vars.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        let t = fill(&strings[kind.as_str()], &vars);
        let common = fill(&strings["common"], &vars);
        let subject = t["subject"].as_str().unwrap_or_default().to_owned();
        let ctx = minijinja::Value::from_serialize(json!({
            "lang": content.locale.as_str(),
            "subject": subject,
            "t": t,
            "common": common,
            "link": content.link,
            "brand": {
                "name": brand,
                "logo_url": content.brand.logo_url,
                "primary_color": content.brand.primary_color,
            },
        }));
        let render = |name: String| {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .with_context(|| format!("rendering {name}"))
        };
        Ok(RenderedEmail {
            subject,
            html: render(format!("{template}.html"))?,
            text: render(format!("{template}.txt"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authservice_domain::Branding;

    fn content(locale: Locale, name: &str) -> EmailContent {
        EmailContent {
            message: Message::Link(TokenPurpose::ResetPassword),
            locale,
            brand: Branding {
                name: name.to_owned(),
                logo_url: Some("https://cdn.example.com/logo.png".to_owned()),
                primary_color: "#ff0000".to_owned(),
                locale: None,
            },
            link: "https://app.example.com/reset-password.html?token=abc&x=1".to_owned(),
            vars: Vec::new(),
        }
    }

    #[test]
    fn every_locale_renders_every_message_with_branding() {
        let renderer = TemplateRenderer::new().unwrap();
        let en = renderer.render(&content(Locale::En, "Acme")).unwrap();
        assert!(en.subject.contains("Acme"), "{}", en.subject);
        assert!(
            en.text
                .contains("https://app.example.com/reset-password.html?token=abc&x=1")
        );
        assert!(en.html.contains("token=abc&amp;x=1"));
        assert!(en.html.contains("#ff0000") && en.html.contains("logo.png"));
        let de = renderer.render(&content(Locale::De, "Acme")).unwrap();
        assert_ne!(de.subject, en.subject);
        assert!(de.html.contains("lang=\"de\""));
    }

    #[test]
    fn notices_render_in_every_language() {
        let renderer = TemplateRenderer::new().unwrap();
        let mut en = content(Locale::En, "Acme");
        en.message = Message::Notice(Notice::PasskeyAdded);
        en.link = "https://auth.example.com/account.html".to_owned();
        let out = renderer.render(&en).unwrap();
        assert_eq!(out.subject, "A passkey was added to your Acme account");
        assert!(out.text.contains("https://auth.example.com/account.html"));
        let mut de = en.clone();
        de.locale = Locale::De;
        assert!(renderer.render(&de).unwrap().subject.contains("Passkey"));
    }

    #[test]
    fn html_escapes_the_brand_but_text_does_not() {
        let renderer = TemplateRenderer::new().unwrap();
        let out = renderer
            .render(&content(Locale::Fr, "<b>Evil</b>"))
            .unwrap();
        assert!(!out.html.contains("<b>Evil</b>") && out.html.contains("&lt;b&gt;Evil"));
        assert!(out.text.contains("<b>Evil</b>"));
    }
}
