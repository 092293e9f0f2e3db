//! A SCIM User of a directory: `userName`, `externalId` and `active` (kept apart: they are
//! looked up, unique, or act on the account), and every other attribute as the identity
//! provider wrote it — checked against [`super::schema`] and stored under canonical names.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::schema::{
    AttrDef, AttrType, ENTERPRISE_ATTRIBUTES, ENTERPRISE_USER_SCHEMA, Mutability, USER_ATTRIBUTES,
    USER_SCHEMA, find,
};
use super::{ScimProblem, ScimType};
use crate::{ClientId, Email, UserId};

/// Longest string value kept.
pub const MAX_STRING: usize = 2048;
/// Most values of one multi-valued attribute.
pub const MAX_VALUES: usize = 100;
/// Largest stored resource (its JSON), in bytes.
pub const MAX_RESOURCE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    pub id: Uuid,
    pub directory_id: Uuid,
    pub client_id: ClientId,
    /// The account the resource provisions.
    pub user_id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    /// `None` when the identity provider never set it (or removed it): the account is left as
    /// it is; only `Some(false)` deactivates.
    pub active: Option<bool>,
    /// The other attributes (core at the top level, the enterprise extension under its URI).
    pub attributes: Map<String, Value>,
    /// Grows with every change: the resource's ETag is `W/"{version}"`.
    pub version: i64,
    /// This user's deactivation disabled the account (its reactivation may enable it again).
    pub disabled_account: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ScimUser {
    /// The `ETag` (and `meta.version`).
    #[must_use]
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// Whether `tags` (an `If-Match` / `If-None-Match` value) names this version.
    #[must_use]
    pub fn has_etag(&self, tags: &str) -> bool {
        super::etag_matches(&self.etag(), tags)
    }

    /// The writable part of the resource (what PATCH operates on).
    #[must_use]
    pub fn document(&self) -> Map<String, Value> {
        let mut doc = self.attributes.clone();
        doc.insert("userName".into(), json!(self.user_name));
        if let Some(external) = &self.external_id {
            doc.insert("externalId".into(), json!(external));
        }
        if let Some(active) = self.active {
            doc.insert("active".into(), json!(active));
        }
        doc
    }

    /// Whether the resource leaves its account active: `active`, or when it is unset, whether
    /// its last deactivation still holds the account disabled.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(!self.disabled_account)
    }

    /// The resource as served at `{base}/Users/{id}`, with its groups' references.
    #[must_use]
    pub fn to_json(&self, base: &str, groups: &[Value]) -> Value {
        let mut schemas = vec![json!(USER_SCHEMA)];
        if self.attributes.contains_key(ENTERPRISE_USER_SCHEMA) {
            schemas.push(json!(ENTERPRISE_USER_SCHEMA));
        }
        let mut out = Map::new();
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), json!(self.id.to_string()));
        if let Some(external) = &self.external_id {
            out.insert("externalId".into(), json!(external));
        }
        out.insert("userName".into(), json!(self.user_name));
        if let Some(active) = self.active {
            out.insert("active".into(), json!(active));
        }
        for (k, v) in &self.attributes {
            out.insert(k.clone(), v.clone());
        }
        out.insert("groups".into(), Value::Array(groups.to_vec()));
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        out.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": time(self.created_at),
                "lastModified": time(self.updated_at),
                "location": format!("{base}/Users/{}", self.id),
                "version": self.etag(),
            }),
        );
        Value::Object(out)
    }
}

/// A User body (POST, PUT, or a PATCH's result), checked.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: Option<bool>,
    pub attributes: Map<String, Value>,
}

fn invalid(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::new(ScimType::InvalidValue, detail)
}

impl UserInput {
    /// Checks a User resource: `userName` required; `active` as given, if given (`"False"`
    /// strings too, as Entra ID sends them); read-only (`id`, `meta`, `groups`),
    /// write-only (`password`) and unknown attributes are ignored.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute, or `invalidSyntax` for a body that is no object.
    pub fn parse(body: &Value) -> Result<Self, ScimProblem> {
        let Value::Object(body) = body else {
            return Err(ScimProblem::new(
                ScimType::InvalidSyntax,
                "the body must be a JSON object",
            ));
        };
        let mut user_name = None;
        let mut external_id = None;
        let mut active = None;
        let mut attributes = Map::new();
        for (key, value) in body {
            if key.eq_ignore_ascii_case("userName") {
                user_name =
                    Some(text("userName", value)?.ok_or_else(|| invalid("userName is required"))?);
            } else if key.eq_ignore_ascii_case("externalId") {
                external_id = text("externalId", value)?;
            } else if key.eq_ignore_ascii_case("active") {
                active = boolean("active", value)?;
            } else if key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
                let ext = complex(ENTERPRISE_USER_SCHEMA, ENTERPRISE_ATTRIBUTES, value)?;
                if let Some(ext) = ext.filter(|e| e.as_object().is_some_and(|o| !o.is_empty())) {
                    attributes.insert(ENTERPRISE_USER_SCHEMA.to_owned(), ext);
                }
            } else if let Some(def) = find(USER_ATTRIBUTES, key)
                && def.mutability == Mutability::ReadWrite
                && let Some(v) = attribute(def, value)?
            {
                attributes.insert(def.name.to_owned(), v);
            }
        }
        let user_name = user_name.ok_or_else(|| invalid("userName is required"))?;
        if user_name.chars().count() > 256 {
            return Err(invalid("userName: at most 256 characters"));
        }
        if external_id
            .as_ref()
            .is_some_and(|e| e.chars().count() > 256)
        {
            return Err(invalid("externalId: at most 256 characters"));
        }
        let input = Self {
            user_name,
            external_id,
            active,
            attributes,
        };
        if Value::Object(input.attributes.clone()).to_string().len() > MAX_RESOURCE {
            return Err(invalid(format!(
                "the resource is larger than {MAX_RESOURCE} bytes"
            )));
        }
        Ok(input)
    }

    /// The account's address: the primary email, else the first, else an email-shaped
    /// `userName`.
    #[must_use]
    pub fn email(&self) -> Option<Email> {
        let emails = self.attributes.get("emails").and_then(Value::as_array);
        let value = |e: &Value| e.get("value").and_then(Value::as_str).map(str::to_owned);
        let primary = emails.and_then(|list| {
            list.iter()
                .find(|e| e.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| list.first())
                .and_then(value)
        });
        primary
            .and_then(|e| Email::parse(&e).ok())
            .or_else(|| Email::parse(&self.user_name).ok())
    }

    /// The name shown for the account: `displayName`, `name.formatted`, or given + family.
    #[must_use]
    pub fn display_name(&self) -> Option<String> {
        fn get(v: Option<&Value>) -> Option<&str> {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        }
        let name = self.attributes.get("name");
        let joined = [
            name.and_then(|n| n.get("givenName")),
            name.and_then(|n| n.get("familyName")),
        ]
        .into_iter()
        .filter_map(get)
        .collect::<Vec<_>>()
        .join(" ");
        get(self.attributes.get("displayName"))
            .or_else(|| get(name.and_then(|n| n.get("formatted"))))
            .map(str::to_owned)
            .or_else(|| (!joined.is_empty()).then_some(joined))
            .map(|n| n.chars().take(100).collect())
    }
}

/// A string value (null: none).
pub(crate) fn text(name: &str, value: &Value) -> Result<Option<String>, ScimProblem> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.contains('\0') => {
            Err(invalid(format!("{name} contains a NUL character")))
        }
        Value::String(s) if s.chars().count() <= MAX_STRING => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Value::String(_) => Err(invalid(format!("{name}: at most {MAX_STRING} characters"))),
        _ => Err(invalid(format!("{name} must be a string"))),
    }
}

/// A boolean, also as the strings `"true"`/`"false"` in any case (null: none).
pub(crate) fn boolean(name: &str, value: &Value) -> Result<Option<bool>, ScimProblem> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(invalid(format!("{name} must be a boolean"))),
    }
}

/// One attribute's value in canonical form; `None` when it is empty.
fn attribute(def: &AttrDef, value: &Value) -> Result<Option<Value>, ScimProblem> {
    if def.multi {
        let items: Vec<&Value> = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items.iter().collect(),
            single @ Value::Object(_) => vec![single],
            _ => return Err(invalid(format!("{} must be a list", def.name))),
        };
        if items.len() > MAX_VALUES {
            return Err(invalid(format!(
                "{}: at most {MAX_VALUES} values",
                def.name
            )));
        }
        let mut out = Vec::new();
        for item in items {
            if let Some(v) = single(def, item)? {
                out.push(v);
            }
        }
        let primaries = out
            .iter()
            .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(invalid(format!(
                "{}: at most one value is primary",
                def.name
            )));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    single(def, value)
}

fn single(def: &AttrDef, value: &Value) -> Result<Option<Value>, ScimProblem> {
    match def.kind {
        AttrType::Complex => complex(def.name, def.sub, value),
        AttrType::Boolean => Ok(boolean(def.name, value)?.map(Value::Bool)),
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => {
            Ok(text(def.name, value)?.map(Value::String))
        }
    }
}

fn complex(
    name: &str,
    sub: &'static [AttrDef],
    value: &Value,
) -> Result<Option<Value>, ScimProblem> {
    let fields = match value {
        Value::Null => return Ok(None),
        Value::Object(fields) => fields,
        _ => return Err(invalid(format!("{name} must be an object"))),
    };
    let mut out = Map::new();
    for (key, v) in fields {
        if let Some(def) = sub.iter().find(|d| d.name.eq_ignore_ascii_case(key))
            && def.mutability != Mutability::ReadOnly
            && let Some(v) = attribute(def, v).map_err(|e| e.prefixed(name))?
        {
            out.insert(def.name.to_owned(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_checked_and_canonicalised() {
        let input = UserInput::parse(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "UserName": " bjensen ",
            "externalId": "701984",
            "active": "False",
            "id": "mine",
            "password": "secret",
            "groups": [{ "value": "g" }],
            "unknown": 1,
            "name": { "givenname": "Barbara", "familyName": "Jensen" },
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": "true" },
                { "value": "babs@jensen.org" }
            ],
            ENTERPRISE_USER_SCHEMA: { "employeeNumber": "42", "manager": { "value": "m", "displayName": "ro" } },
        }))
        .unwrap();
        assert_eq!(input.user_name, "bjensen");
        assert_eq!(input.external_id.as_deref(), Some("701984"));
        assert_eq!(input.active, Some(false));
        assert_eq!(input.attributes["name"]["givenName"], "Barbara");
        assert_eq!(input.attributes["emails"][0]["primary"], true);
        assert_eq!(
            input.attributes[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({ "value": "m" })
        );
        for ignored in ["id", "password", "groups", "unknown"] {
            assert!(!input.attributes.contains_key(ignored), "{ignored}");
        }
        assert_eq!(input.email().unwrap().as_str(), "bjensen@example.com");
        assert_eq!(input.display_name().as_deref(), Some("Barbara Jensen"));
    }

    #[test]
    fn bad_bodies_are_refused_with_the_attribute_named() {
        for (body, named) in [
            (json!({}), "userName"),
            (json!({ "userName": 7 }), "userName"),
            (json!({ "userName": "x", "active": "maybe" }), "active"),
            (json!({ "userName": "x", "emails": "a@b.c" }), "emails"),
            (
                json!({ "userName": "x", "name": { "givenName": 1 } }),
                "givenName",
            ),
            (
                json!({ "userName": "x", "emails": [{ "value": "a@b.c", "primary": true }, { "value": "d@e.f", "primary": true }] }),
                "primary",
            ),
        ] {
            let err = UserInput::parse(&body).unwrap_err();
            assert_eq!(err.scim_type, ScimType::InvalidValue);
            assert!(err.detail.contains(named), "{body}: {}", err.detail);
        }
        assert_eq!(
            UserInput::parse(&json!([1])).unwrap_err().scim_type,
            ScimType::InvalidSyntax
        );
    }

    #[test]
    fn the_address_falls_back_to_an_email_shaped_user_name() {
        let input = UserInput::parse(&json!({ "userName": "Ann@Acme.test" })).unwrap();
        assert_eq!(input.email().unwrap().as_str(), "ann@acme.test");
        let none = UserInput::parse(&json!({ "userName": "ann" })).unwrap();
        assert!(none.email().is_none());
    }
}
