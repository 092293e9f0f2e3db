//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`, `remove` and `replace`,
//! with or without a `path`, paths into complex and multi-valued attributes, value filters
//! (`emails[type eq "work"].value`), and what identity providers really send — operation names
//! in any case (`Replace`), Entra ID's path-less `replace` whose keys are paths
//! (`name.givenName`, `urn:…:enterprise:2.0:User:department`), and `add` through a value
//! filter that matches nothing (the value is created with the filter's `eq` attributes).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::schema::{AttrDef, Resource, find};
use super::{ScimProblem, ScimType};

/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 100;
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

/// `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[…].value`).
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn problem(scim_type: ScimType, detail: impl Into<String>) -> ScimProblem {
    ScimProblem::new(scim_type, detail)
}

impl PatchPath {
    /// Parses a PATCH path.
    ///
    /// # Errors
    /// `invalidPath`.
    pub fn parse(raw: &str) -> Result<Self, ScimProblem> {
        let bad = |why: String| problem(ScimType::InvalidPath, format!("path `{raw}`: {why}"));
        let raw = raw.trim();
        let Some(open) = raw.find('[') else {
            return Ok(Self {
                attr: AttrPath::parse(raw).map_err(|e| bad(e.0))?,
                filter: None,
                sub: None,
            });
        };
        let close = raw
            .rfind(']')
            .filter(|c| *c > open)
            .ok_or_else(|| bad("`[` without `]`".into()))?;
        let attr = AttrPath::parse(&raw[..open]).map_err(|e| bad(e.0))?;
        if attr.sub.is_some() {
            return Err(bad(
                "a value filter follows an attribute, not a sub-attribute".into(),
            ));
        }
        let filter = Filter::parse(&raw[open + 1..close]).map_err(|e| bad(e.0))?;
        let sub = match &raw[close + 1..] {
            "" => None,
            rest => {
                let name = rest
                    .strip_prefix('.')
                    .ok_or_else(|| bad("expected `.` after `]`".into()))?;
                AttrPath::parse(name)
                    .ok()
                    .filter(|p| p.uri.is_none() && p.sub.is_none())
                    .ok_or_else(|| bad(format!("`{name}` is not a sub-attribute")))?;
                Some(name.to_owned())
            }
        };
        Ok(Self {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

/// Parses a `PatchOp` request body.
///
/// # Errors
/// `invalidSyntax` (the shape), `invalidPath`, `invalidValue`, `tooMany`.
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOp>, ScimProblem> {
    let syntax = |why: &str| problem(ScimType::InvalidSyntax, why);
    let body = body
        .as_object()
        .ok_or_else(|| syntax("the body must be a PatchOp object"))?;
    if let Some(schemas) = body.get("schemas")
        && !schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)))
    {
        return Err(syntax(
            "schemas must name urn:ietf:params:scim:api:messages:2.0:PatchOp",
        ));
    }
    let ops = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| syntax("Operations must be a list"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(problem(
            ScimType::TooMany,
            format!("at most {MAX_OPERATIONS} operations"),
        ));
    }
    ops.iter()
        .map(|op| {
            let field = |name: &str| {
                op.as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v)
            };
            let kind = match field("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => OpKind::Add,
                Some("remove") => OpKind::Remove,
                Some("replace") => OpKind::Replace,
                _ => return Err(syntax("each operation's op is add, remove or replace")),
            };
            let path = match field("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if !p.trim().is_empty() => Some(PatchPath::parse(p)?),
                Some(_) => return Err(problem(ScimType::InvalidPath, "path must be a string")),
            };
            let value = field("value").filter(|v| !v.is_null()).cloned();
            match (kind, &path, &value) {
                (OpKind::Remove, None, _) => {
                    Err(problem(ScimType::NoTarget, "remove needs a path"))
                }
                (OpKind::Add | OpKind::Replace, _, None) => Err(problem(
                    ScimType::InvalidValue,
                    "add and replace need a value",
                )),
                (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => Err(problem(
                    ScimType::InvalidValue,
                    "without a path the value is an object of attributes",
                )),
                _ => Ok(PatchOp { kind, path, value }),
            }
        })
        .collect()
}

/// The object holding an attribute, the attribute's canonical name and its definition.
type Located<'d> = (
    &'d mut Map<String, Value>,
    &'static str,
    Option<&'static AttrDef>,
);

/// Where a path lands in a `resource`'s document: the object holding the attribute, and the
/// attribute's canonical name and definition (`None` for the columns: `userName`,
/// `externalId`, `active`, a Group's `displayName`).
fn locate<'d>(
    resource: Resource,
    doc: &'d mut Map<String, Value>,
    path: &AttrPath,
) -> Result<Located<'d>, ScimProblem> {
    let unknown = || problem(ScimType::InvalidPath, format!("unknown attribute `{path}`"));
    let extension = match path.uri.as_deref() {
        None => None,
        Some(u) if u.eq_ignore_ascii_case(resource.schema()) => None,
        Some(u) => match resource.extension() {
            Some((uri, attributes)) if u.eq_ignore_ascii_case(uri) => Some((uri, attributes)),
            _ => return Err(unknown()),
        },
    };
    if let Some((uri, attributes)) = extension {
        let def = find(attributes, &path.attr).ok_or_else(unknown)?;
        let ext = doc
            .entry(uri.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !ext.is_object() {
            *ext = Value::Object(Map::new());
        }
        let ext = ext.as_object_mut().ok_or_else(unknown)?;
        return Ok((ext, def.name, Some(def)));
    }
    for fixed in resource.columns() {
        if path.attr.eq_ignore_ascii_case(fixed) {
            return Ok((doc, fixed, None));
        }
    }
    if resource
        .read_only()
        .iter()
        .any(|r| path.attr.eq_ignore_ascii_case(r))
    {
        return Err(problem(
            ScimType::Mutability,
            format!("`{path}` is read-only"),
        ));
    }
    let def = find(resource.attributes(), &path.attr).ok_or_else(unknown)?;
    Ok((doc, def.name, Some(def)))
}

/// Applies the operations in order to `doc` (the resource's writable document: a User's
/// `userName`, `active`, …; a Group's `displayName`, `members`).
///
/// # Errors
/// `invalidPath`, `noTarget`, `mutability`, `invalidValue`.
pub fn apply(
    resource: Resource,
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
) -> Result<(), ScimProblem> {
    for op in ops {
        match (&op.path, &op.value) {
            (None, Some(Value::Object(fields))) => {
                for (key, value) in fields {
                    // Entra ID's path-less replace names paths as keys; `schemas` is ignored,
                    // and so is `id` (Okta repeats the resource's id in a Group's replace).
                    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("id") {
                        continue;
                    }
                    if let Some((uri, _)) = resource.extension()
                        && key.eq_ignore_ascii_case(uri)
                    {
                        // The whole extension object: each of its attributes.
                        for (attr, v) in value.as_object().into_iter().flatten() {
                            let path = PatchPath::parse(&format!("{uri}:{attr}"))?;
                            apply_one(resource, doc, op.kind, &path, Some(v))?;
                        }
                        continue;
                    }
                    apply_one(resource, doc, op.kind, &PatchPath::parse(key)?, Some(value))?;
                }
            }
            (Some(path), value) if is_extension(resource, path) => {
                extension_op(resource, doc, op.kind, value.as_ref())?;
            }
            (Some(path), value) => apply_one(resource, doc, op.kind, path, value.as_ref())?,
            (None, _) => {
                return Err(problem(
                    ScimType::NoTarget,
                    "an operation needs a path or an object value",
                ));
            }
        }
    }
    Ok(())
}

/// Whether `path` names the resource's schema extension as a whole.
fn is_extension(resource: Resource, path: &PatchPath) -> bool {
    path.filter.is_none()
        && path.attr.sub.is_none()
        && resource
            .extension()
            .is_some_and(|(uri, _)| path.attr.to_string().eq_ignore_ascii_case(uri))
}

/// An operation on the whole extension object: `remove` drops it, `replace` sets it to the
/// value's attributes, `add` adds them (`schemas` inside is ignored).
fn extension_op(
    resource: Resource,
    doc: &mut Map<String, Value>,
    kind: OpKind,
    value: Option<&Value>,
) -> Result<(), ScimProblem> {
    let Some((uri, _)) = resource.extension() else {
        return Ok(());
    };
    if kind != OpKind::Add {
        doc.remove(uri);
    }
    if kind == OpKind::Remove {
        return Ok(());
    }
    let fields = value.and_then(Value::as_object).ok_or_else(|| {
        problem(
            ScimType::InvalidValue,
            format!("{uri} takes an object of its attributes"),
        )
    })?;
    for (attr, v) in fields {
        if attr.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path = PatchPath::parse(&format!("{uri}:{attr}"))?;
        apply_one(resource, doc, OpKind::Add, &path, Some(v))?;
    }
    Ok(())
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Clears `primary` on every value but the last one that sets it (RFC 7643 §2.4).
fn one_primary(values: &mut [Value]) {
    let last = values
        .iter()
        .rposition(|v| v.get("primary").is_some_and(is_true));
    if let Some(last) = last {
        for (i, v) in values.iter_mut().enumerate() {
            if i != last
                && let Some(o) = v.as_object_mut()
            {
                o.remove("primary");
            }
        }
    }
}

fn is_true(v: &Value) -> bool {
    v == &Value::Bool(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

fn apply_one(
    resource: Resource,
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimProblem> {
    let (holder, name, def) = locate(resource, doc, &path.attr)?;
    let multi = def.is_some_and(|d| d.multi);
    let complex = def.is_some_and(|d| !d.sub.is_empty());
    let sub_name = |raw: &str| -> Result<&'static str, ScimProblem> {
        def.and_then(|d| d.sub_attribute(raw))
            .map(|s| s.name)
            .ok_or_else(|| {
                problem(
                    ScimType::InvalidPath,
                    format!("{name} has no sub-attribute `{raw}`"),
                )
            })
    };
    if let Some(filter) = &path.filter {
        if !multi {
            return Err(problem(
                ScimType::InvalidPath,
                format!("{name} is not multi-valued"),
            ));
        }
        let sub = path.sub.as_deref().map(sub_name).transpose()?;
        let values = holder
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !values.is_array() {
            *values = Value::Array(Vec::new());
        }
        let Value::Array(items) = values else {
            return Ok(());
        };
        let hit: Vec<bool> = items.iter().map(|item| matches(item, filter)).collect();
        let hits: Vec<usize> = (0..items.len()).filter(|i| hit[*i]).collect();
        match kind {
            OpKind::Remove => {
                let mut i = 0;
                items.retain_mut(|item| {
                    let matched = hit[i];
                    i += 1;
                    match (matched, sub, item.as_object_mut()) {
                        (true, Some(sub), Some(o)) => {
                            o.remove(sub);
                            true
                        }
                        (true, _, _) => false,
                        _ => true,
                    }
                });
            }
            OpKind::Add | OpKind::Replace => {
                let value =
                    value.ok_or_else(|| problem(ScimType::InvalidValue, "a value is required"))?;
                if hits.is_empty() {
                    // Nothing matches: create the value the filter describes (`eq` terms).
                    let mut created = Map::new();
                    if !equalities(filter, &mut created) {
                        return Err(problem(
                            ScimType::NoTarget,
                            format!("no value of {name} matches the filter"),
                        ));
                    }
                    merge_into(&mut created, sub, value)?;
                    items.push(Value::Object(created));
                } else {
                    for i in hits {
                        let Some(o) = items[i].as_object_mut() else {
                            continue;
                        };
                        if sub.is_none() && kind == OpKind::Replace {
                            o.clear();
                        }
                        merge_into(o, sub, value)?;
                    }
                }
                one_primary(items);
            }
        }
        if items.is_empty() {
            holder.remove(name);
        }
        return Ok(());
    }
    if let Some(sub) = &path.attr.sub {
        if !complex || multi {
            return Err(problem(
                ScimType::InvalidPath,
                format!(
                    "`{}` is no sub-attribute of a single complex attribute",
                    path.attr
                ),
            ));
        }
        let sub = sub_name(sub)?;
        let object = holder
            .entry(name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !object.is_object() {
            *object = Value::Object(Map::new());
        }
        if let Some(o) = object.as_object_mut() {
            match (kind, value) {
                (OpKind::Remove, _) => {
                    o.remove(sub);
                }
                (_, Some(v)) => {
                    o.insert(sub.to_owned(), v.clone());
                }
                (_, None) => return Err(problem(ScimType::InvalidValue, "a value is required")),
            }
            if o.is_empty() {
                holder.remove(name);
            }
        }
        return Ok(());
    }
    match (kind, value) {
        (OpKind::Remove, Some(v)) if multi => {
            // Remove the listed values (Entra ID removes group members so).
            let gone: HashSet<String> = as_list(v).iter().map(value_key).collect();
            if let Some(Value::Array(items)) = holder.get_mut(name) {
                items.retain(|item| !gone.contains(&value_key(item)));
                if items.is_empty() {
                    holder.remove(name);
                }
            }
        }
        (OpKind::Remove, _) => {
            holder.remove(name);
        }
        (OpKind::Add, Some(v)) if multi => {
            let items = holder
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !items.is_array() {
                *items = Value::Array(Vec::new());
            }
            if let Value::Array(items) = items {
                // Group members are the same member when their ids are; other values when
                // they are equal as a whole.
                let key = |item: &Value| {
                    if name == "members" {
                        value_key(item)
                    } else {
                        item.to_string()
                    }
                };
                let mut present: HashSet<String> = items.iter().map(key).collect();
                for new in as_list(v) {
                    if present.insert(key(&new)) {
                        items.push(new);
                    }
                }
                one_primary(items);
            }
        }
        (OpKind::Add, Some(Value::Object(fields))) if complex => {
            let object = holder
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = object {
                o.extend(fields.clone());
            } else {
                *object = Value::Object(fields.clone());
            }
        }
        (_, Some(v)) => {
            let mut v = v.clone();
            if multi && let Value::Array(items) = &mut v {
                one_primary(items);
            }
            holder.insert(name.to_owned(), v);
        }
        (_, None) => return Err(problem(ScimType::InvalidValue, "a value is required")),
    }
    Ok(())
}

/// Puts `value` into a value of a multi-valued attribute: as sub-attribute `sub`, or merged
/// (an object's fields).
fn merge_into(
    target: &mut Map<String, Value>,
    sub: Option<&str>,
    value: &Value,
) -> Result<(), ScimProblem> {
    match (sub, value) {
        (Some(sub), v) => {
            target.insert(sub.to_owned(), v.clone());
        }
        (None, Value::Object(fields)) => target.extend(fields.clone()),
        (None, _) => {
            return Err(problem(
                ScimType::InvalidValue,
                "a value filter without a sub-attribute takes an object",
            ));
        }
    }
    Ok(())
}

/// What identifies a value of a multi-valued attribute for a removal by value: its `value`
/// (a string compared trimmed and in any case: ids, addresses), else the whole value.
fn value_key(item: &Value) -> String {
    match item.get("value") {
        Some(Value::String(s)) => format!("v:{}", s.trim().to_lowercase()),
        Some(other) => format!("v:{other}"),
        None => format!("o:{item}"),
    }
}

/// The `attr eq value` terms of an `and` of them (what a created value gets); false for any
/// other filter.
fn equalities(filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(l, r) => equalities(l, out) && equalities(r, out),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.sub.is_none() && path.uri.is_none() => {
            out.insert(path.attr.clone(), comp_json(value));
            true
        }
        _ => false,
    }
}

fn comp_json(value: &CompValue) -> Value {
    match value {
        CompValue::Null => Value::Null,
        CompValue::Bool(b) => Value::Bool(*b),
        CompValue::Number(n) => serde_json::from_str(n).unwrap_or(Value::Null),
        CompValue::Str(s) => Value::String(s.clone()),
    }
}

/// Whether one value of a multi-valued attribute matches a value filter (its names are the
/// value's sub-attributes; strings compare case-insensitively).
#[must_use]
pub fn matches(item: &Value, filter: &Filter) -> bool {
    let field = |path: &AttrPath| {
        item.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.attr)))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    match filter {
        Filter::And(l, r) => matches(item, l) && matches(item, r),
        Filter::Or(l, r) => matches(item, l) || matches(item, r),
        Filter::Not(inner) => !matches(item, inner),
        Filter::Present(path) => field(path).is_some_and(|v| v != &Value::String(String::new())),
        Filter::ValuePath { .. } => false,
        Filter::Compare { path, op, value } => {
            let found = field(path);
            match (found, value) {
                (None, CompValue::Null) => *op == CompareOp::Eq,
                (None, _) => *op == CompareOp::Ne,
                (Some(_), CompValue::Null) => *op == CompareOp::Ne,
                (Some(Value::Bool(b)), CompValue::Bool(v)) => match op {
                    CompareOp::Eq => b == v,
                    CompareOp::Ne => b != v,
                    _ => false,
                },
                (Some(Value::String(s)), CompValue::Str(v)) => {
                    let (s, v) = (s.to_lowercase(), v.to_lowercase());
                    match op {
                        CompareOp::Eq => s == v,
                        CompareOp::Ne => s != v,
                        CompareOp::Co => s.contains(&v),
                        CompareOp::Sw => s.starts_with(&v),
                        CompareOp::Ew => s.ends_with(&v),
                        CompareOp::Gt => s > v,
                        CompareOp::Ge => s >= v,
                        CompareOp::Lt => s < v,
                        CompareOp::Le => s <= v,
                    }
                }
                (Some(Value::String(s)), CompValue::Bool(v)) => match op {
                    CompareOp::Eq => s.eq_ignore_ascii_case(&v.to_string()),
                    CompareOp::Ne => !s.eq_ignore_ascii_case(&v.to_string()),
                    _ => false,
                },
                _ => *op == CompareOp::Ne,
            }
        }
    }
}

#[cfg(test)]
mod tests;
