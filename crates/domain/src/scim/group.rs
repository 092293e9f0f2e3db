//! A SCIM Group of a directory: a `displayName` (unique in the directory), an optional
//! `externalId`, and members — Users of the same directory. The organization's group mappings
//! grant by the names of a member's groups (source `scim`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::schema::GROUP_SCHEMA;
use super::user::text;
use super::{ScimProblem, ScimType};
use crate::{ClientId, UserId};

/// Most members one group holds.
pub const MAX_MEMBERS: usize = 10_000;
/// Longest `displayName`.
pub const MAX_NAME: usize = 256;

/// A member of a group: a User of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The SCIM User's id.
    pub id: Uuid,
    /// The account it provisions.
    pub user_id: UserId,
    /// Its `displayName`, else its `userName`.
    pub display: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    pub id: Uuid,
    pub directory_id: Uuid,
    pub client_id: ClientId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<GroupMember>,
    /// Grows with every change: the resource's ETag is `W/"{version}"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ScimGroup {
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
        let mut doc = Map::new();
        doc.insert("displayName".into(), json!(self.display_name));
        if let Some(external) = &self.external_id {
            doc.insert("externalId".into(), json!(external));
        }
        if !self.members.is_empty() {
            doc.insert(
                "members".into(),
                self.members
                    .iter()
                    .map(|m| json!({ "value": m.id.to_string() }))
                    .collect(),
            );
        }
        doc
    }

    /// The resource as served at `{base}/Groups/{id}`: members as `{value}`, or with their
    /// `$ref`, `display` and `type` when `full` (asked for by name).
    #[must_use]
    pub fn to_json(&self, base: &str, full: bool) -> Value {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut out = json!({
            "schemas": [GROUP_SCHEMA],
            "id": self.id.to_string(),
            "displayName": self.display_name,
            "members": self.members.iter().map(|m| if full {
                json!({
                    "value": m.id.to_string(),
                    "$ref": format!("{base}/Users/{}", m.id),
                    "display": m.display,
                    "type": "User",
                })
            } else {
                json!({ "value": m.id.to_string() })
            }).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Group",
                "created": time(self.created_at),
                "lastModified": time(self.updated_at),
                "location": format!("{base}/Groups/{}", self.id),
                "version": self.etag(),
            },
        });
        if let Some(external) = &self.external_id {
            out["externalId"] = json!(external);
        }
        out
    }
}

/// A Group body (POST, PUT, or a PATCH's result), checked; members are ids still to be found
/// among the directory's users.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Distinct, in the order given.
    pub members: Vec<Uuid>,
}

fn invalid(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::new(ScimType::InvalidValue, detail)
}

impl GroupInput {
    /// Checks a Group resource: `displayName` required; `members` a list of `{value}` naming
    /// Users (a `type` other than `User` — a nested group — is refused); read-only and
    /// unknown attributes are ignored.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute, `invalidSyntax` for a body that is no object.
    pub fn parse(body: &Value) -> Result<Self, ScimProblem> {
        let Value::Object(body) = body else {
            return Err(ScimProblem::new(
                ScimType::InvalidSyntax,
                "the body must be a JSON object",
            ));
        };
        let mut display_name = None;
        let mut external_id = None;
        let mut members = Vec::new();
        for (key, value) in body {
            if key.eq_ignore_ascii_case("displayName") {
                display_name = text("displayName", value)?;
            } else if key.eq_ignore_ascii_case("externalId") {
                external_id = text("externalId", value)?;
            } else if key.eq_ignore_ascii_case("members") {
                members = parse_members(value)?;
            }
        }
        let display_name = display_name.ok_or_else(|| invalid("displayName is required"))?;
        if display_name.chars().count() > MAX_NAME {
            return Err(invalid(format!(
                "displayName: at most {MAX_NAME} characters"
            )));
        }
        if external_id
            .as_ref()
            .is_some_and(|e| e.chars().count() > 256)
        {
            return Err(invalid("externalId: at most 256 characters"));
        }
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}

fn parse_members(value: &Value) -> Result<Vec<Uuid>, ScimProblem> {
    let items: Vec<&Value> = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => return Err(invalid("members must be a list")),
    };
    if items.len() > MAX_MEMBERS {
        return Err(invalid(format!("members: at most {MAX_MEMBERS} values")));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let field = |name: &str| {
            item.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        if let Some(kind) = field("type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("User")
        {
            return Err(invalid(format!(
                "members: only Users are members (nested groups are not supported), not `{kind}`"
            )));
        }
        let id = field("value")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("members[].value is required"))?;
        let id = Uuid::try_parse(id.trim())
            .map_err(|_| invalid(format!("members: `{id}` is no User of this directory")))?;
        if seen.insert(id) {
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_body_is_checked() {
        let a = Uuid::now_v7();
        let input = GroupInput::parse(&json!({
            "schemas": [GROUP_SCHEMA],
            "DisplayName": " Sales ",
            "externalId": "e-1",
            "id": "ignored",
            "members": [{ "value": a.to_string(), "display": "Ann" }, { "value": a.to_string(), "type": "User" }],
        }))
        .unwrap();
        assert_eq!(input.display_name, "Sales");
        assert_eq!(input.external_id.as_deref(), Some("e-1"));
        assert_eq!(input.members, vec![a]);
        for (body, named) in [
            (json!({}), "displayName"),
            (json!({ "displayName": 1 }), "displayName"),
            (json!({ "displayName": "x", "members": "y" }), "members"),
            (
                json!({ "displayName": "x", "members": [{ "value": "nope" }] }),
                "nope",
            ),
            (
                json!({ "displayName": "x", "members": [{ "display": "n" }] }),
                "value",
            ),
            (
                json!({ "displayName": "x", "members": [{ "value": a.to_string(), "type": "Group" }] }),
                "nested",
            ),
            (json!({ "displayName": "x\u{0}" }), "NUL"),
        ] {
            let err = GroupInput::parse(&body).unwrap_err();
            assert_eq!(err.scim_type, ScimType::InvalidValue);
            assert!(err.detail.contains(named), "{body}: {}", err.detail);
        }
    }

    #[test]
    fn the_document_round_trips_through_parse() {
        let now = Utc::now();
        let member = GroupMember {
            id: Uuid::now_v7(),
            user_id: UserId::from_uuid(Uuid::now_v7()),
            display: "Ann".into(),
        };
        let group = ScimGroup {
            id: Uuid::now_v7(),
            directory_id: Uuid::now_v7(),
            client_id: ClientId::from_uuid(Uuid::now_v7()),
            display_name: "Sales".into(),
            external_id: None,
            members: vec![member.clone()],
            version: 3,
            created_at: now,
            updated_at: now,
        };
        let input = GroupInput::parse(&Value::Object(group.document())).unwrap();
        assert_eq!(input.members, vec![member.id]);
        let out = group.to_json("https://x/scim/v2/d", true);
        assert_eq!(out["members"][0]["display"], "Ann");
        let out = group.to_json("https://x/scim/v2/d", false);
        assert_eq!(out["members"][0], json!({ "value": member.id.to_string() }));
        assert_eq!(out["meta"]["version"], "W/\"3\"");
    }
}
