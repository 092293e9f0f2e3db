//! SCIM Bulk (RFC 7644 §3.7): many operations on the directory's Users and Groups in one
//! request, each applied as the single request would be (its own transaction, audited alike).
//! `bulkId` references (`"bulkId:qwerty"` in a path or anywhere in `data`) name what an earlier
//! POST of the same request created; operations are applied in order, an operation waiting on
//! a later one's `bulkId` after it, and references that can never resolve (unknown, failed,
//! circular) fail that operation only. `failOnErrors` stops after that many errors. Every
//! operation counts against the directory's rate limit as a request of its own (429 in its
//! result when over it).

use std::collections::{BTreeSet, HashMap};

use authservice_domain::scim::{ScimDirectory, ScimType};
use serde_json::Value;

use super::users::problem;
use super::{Scim, ScimError};
use crate::context::RequestCtx;
use crate::limits::Limit;

/// Most operations one request may carry (advertised in `ServiceProviderConfig`).
pub const BULK_MAX_OPERATIONS: usize = 1000;
const BULK_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const PREFIX: &str = "bulkId:";

/// What became of one operation.
#[derive(Debug)]
pub struct BulkResult {
    pub method: &'static str,
    pub bulk_id: Option<String>,
    /// The resource's path under the directory (`/Users/{id}`), when it exists.
    pub location: Option<String>,
    /// Its `ETag` after the operation.
    pub version: Option<String>,
    pub status: u16,
    pub error: Option<ScimError>,
}

struct Op {
    method: &'static str,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
}

fn field<'v>(o: &'v Value, name: &str) -> Option<&'v Value> {
    o.as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v)
}

fn parse(body: &Value) -> Result<(Vec<Op>, Option<usize>), ScimError> {
    let syntax = |why: &str| problem(ScimType::InvalidSyntax, why);
    if !body.is_object() {
        return Err(syntax("the body must be a BulkRequest object"));
    }
    if let Some(schemas) = field(body, "schemas")
        && !schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(BULK_SCHEMA)))
    {
        return Err(syntax(
            "schemas must name urn:ietf:params:scim:api:messages:2.0:BulkRequest",
        ));
    }
    let fail_on_errors = match field(body, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    problem(
                        ScimType::InvalidValue,
                        "failOnErrors is a number of at least 1",
                    )
                })?,
        ),
    };
    let ops = field(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("Operations must be a list"))?;
    if ops.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::TooLarge(format!(
            "at most {BULK_MAX_OPERATIONS} operations per request"
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let method = match field(op, "method")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("POST") => "POST",
            Some("PUT") => "PUT",
            Some("PATCH") => "PATCH",
            Some("DELETE") => "DELETE",
            _ => {
                return Err(syntax(
                    "each operation's method is POST, PUT, PATCH or DELETE",
                ));
            }
        };
        let text = |name: &str| field(op, name).and_then(Value::as_str).map(str::to_owned);
        let path = text("path").ok_or_else(|| syntax("each operation needs a path"))?;
        let bulk_id = text("bulkId").filter(|b| !b.is_empty());
        if let Some(id) = &bulk_id
            && !seen.insert(id.clone())
        {
            return Err(problem(
                ScimType::InvalidValue,
                format!("bulkId `{id}` is used twice"),
            ));
        }
        out.push(Op {
            method,
            path,
            bulk_id,
            version: text("version"),
            data: field(op, "data").filter(|d| !d.is_null()).cloned(),
        });
    }
    Ok((out, fail_on_errors))
}

/// The `bulkId`s a string names (`bulkId:x`, or a path ending in one).
fn refs_in(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.rsplit('/').next().and_then(|l| l.strip_prefix(PREFIX)) {
                out.insert(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

fn substitute(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            let (head, last) = match s.rsplit_once('/') {
                Some((head, last)) => (Some(head), last),
                None => (None, s.as_str()),
            };
            if let Some(id) = last.strip_prefix(PREFIX).and_then(|b| ids.get(b)) {
                let replaced = match head {
                    Some(head) => format!("{head}/{id}"),
                    None => id.clone(),
                };
                *s = replaced;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(fields) => fields.values_mut().for_each(|v| substitute(v, ids)),
        _ => {}
    }
}

impl Scim {
    /// Applies a `BulkRequest`; the results of the operations applied, in the order applied.
    ///
    /// # Errors
    /// The request as a whole: `invalidSyntax`, `invalidValue` (a `bulkId` used twice,
    /// `failOnErrors`), `TooLarge` (more than [`BULK_MAX_OPERATIONS`]).
    pub async fn bulk(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        body: &Value,
    ) -> Result<Vec<BulkResult>, ScimError> {
        let (ops, fail_on_errors) = parse(body)?;
        let refs: Vec<BTreeSet<String>> = ops
            .iter()
            .map(|op| {
                let mut refs = BTreeSet::new();
                refs_in(&Value::String(op.path.clone()), &mut refs);
                if let Some(data) = &op.data {
                    refs_in(data, &mut refs);
                }
                refs
            })
            .collect();
        let mut created: HashMap<String, String> = HashMap::new();
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        let mut results = Vec::with_capacity(ops.len());
        let mut errors = 0usize;
        while !pending.is_empty() {
            let waiting_on: BTreeSet<String> = pending
                .iter()
                .filter_map(|i| ops[*i].bulk_id.clone())
                .collect();
            let mut deferred = Vec::new();
            for &i in &pending {
                if fail_on_errors.is_some_and(|max| errors >= max) {
                    return Ok(results);
                }
                let op = &ops[i];
                let unresolved: Vec<&String> = refs[i]
                    .iter()
                    .filter(|r| !created.contains_key(*r))
                    .collect();
                let outcome = if unresolved.is_empty() {
                    // Each operation counts against the directory's budget as a request would.
                    match self
                        .ports
                        .limits
                        .take(Limit::ScimRequest, &dir.id.to_string())
                        .await?
                    {
                        Ok(_) => self.apply_bulk(ctx, dir, op, &created).await,
                        Err(after) => Err(ScimError::RateLimited(after)),
                    }
                } else if unresolved
                    .iter()
                    .all(|r| waiting_on.contains(*r) && op.bulk_id.as_ref() != Some(*r))
                {
                    deferred.push(i);
                    continue;
                } else {
                    Err(ScimError::Conflict(format!(
                        "bulkId `{}` names no operation of this request that succeeded",
                        unresolved[0]
                    )))
                };
                results.push(match outcome {
                    Ok(done) => {
                        if let (Some(bulk_id), Some(id)) = (&op.bulk_id, &done.1) {
                            created.insert(bulk_id.clone(), id.clone());
                        }
                        done.0
                    }
                    Err(error) => {
                        errors += 1;
                        BulkResult {
                            method: op.method,
                            bulk_id: op.bulk_id.clone(),
                            location: None,
                            version: None,
                            status: error.status(),
                            error: Some(error),
                        }
                    }
                });
            }
            if deferred.len() == pending.len() {
                // Nothing moved: the rest wait on one another.
                for i in deferred {
                    errors += 1;
                    let op = &ops[i];
                    results.push(BulkResult {
                        method: op.method,
                        bulk_id: op.bulk_id.clone(),
                        location: None,
                        version: None,
                        status: 409,
                        error: Some(ScimError::Conflict("circular bulkId references".to_owned())),
                    });
                    if fail_on_errors.is_some_and(|max| errors >= max) {
                        break;
                    }
                }
                break;
            }
            pending = deferred;
        }
        Ok(results)
    }

    /// One operation with its references substituted; its result and the id it created.
    async fn apply_bulk(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        op: &Op,
        created: &HashMap<String, String>,
    ) -> Result<(BulkResult, Option<String>), ScimError> {
        let mut path = Value::String(op.path.clone());
        substitute(&mut path, created);
        let path = path
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let mut data = op.data.clone().unwrap_or(Value::Null);
        substitute(&mut data, created);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let if_match = op.version.as_deref();
        let bad_path = || {
            problem(
                ScimType::InvalidPath,
                format!("no bulk operation on `{path}`"),
            )
        };
        let (location, version, status) = match (op.method, segments.as_slice()) {
            ("POST", [kind]) => {
                if op.bulk_id.is_none() {
                    return Err(problem(ScimType::InvalidSyntax, "a POST needs a bulkId"));
                }
                match *kind {
                    "Users" => {
                        let u = self.create_user(ctx, dir, &data).await?;
                        (format!("/Users/{}", u.id), Some(u.etag()), 201)
                    }
                    "Groups" => {
                        let g = self.create_group(ctx, dir, &data).await?;
                        (format!("/Groups/{}", g.id), Some(g.etag()), 201)
                    }
                    _ => return Err(bad_path()),
                }
            }
            (method, ["Users", id]) => {
                let user = match method {
                    "PUT" => Some(self.replace_user(ctx, dir, id, &data, if_match).await?),
                    "PATCH" => Some(self.patch_user(ctx, dir, id, &data, if_match).await?),
                    "DELETE" => {
                        self.delete_user(ctx, dir, id, if_match).await?;
                        None
                    }
                    _ => return Err(bad_path()),
                };
                let status = if user.is_some() { 200 } else { 204 };
                (format!("/Users/{id}"), user.map(|u| u.etag()), status)
            }
            (method, ["Groups", id]) => {
                let group = match method {
                    "PUT" => Some(self.replace_group(ctx, dir, id, &data, if_match).await?),
                    "PATCH" => Some(self.patch_group(ctx, dir, id, &data, if_match).await?),
                    "DELETE" => {
                        self.delete_group(ctx, dir, id, if_match).await?;
                        None
                    }
                    _ => return Err(bad_path()),
                };
                let status = if group.is_some() { 200 } else { 204 };
                (format!("/Groups/{id}"), group.map(|g| g.etag()), status)
            }
            _ => return Err(bad_path()),
        };
        let id = (op.method == "POST")
            .then(|| location.rsplit('/').next().map(str::to_owned))
            .flatten();
        Ok((
            BulkResult {
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                location: (status != 204).then_some(location),
                version,
                status,
                error: None,
            },
            id,
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_are_found_and_substituted_in_paths_and_data() {
        let mut refs = BTreeSet::new();
        let data = json!({ "members": [{ "value": "bulkId:a" }, { "value": "x" }], "p": "/Users/bulkId:b" });
        refs_in(&data, &mut refs);
        assert_eq!(refs, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
        let ids = HashMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        let mut data = data;
        substitute(&mut data, &ids);
        assert_eq!(
            data,
            json!({ "members": [{ "value": "1" }, { "value": "x" }], "p": "/Users/2" })
        );
    }

    #[test]
    fn bad_requests_are_refused_as_a_whole() {
        for body in [
            json!([]),
            json!({ "Operations": "x" }),
            json!({ "schemas": ["nope"], "Operations": [] }),
            json!({ "Operations": [{ "method": "GET", "path": "/Users" }] }),
            json!({ "Operations": [{ "method": "POST" }] }),
            json!({ "failOnErrors": 0, "Operations": [] }),
            json!({ "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "a" },
                                   { "method": "POST", "path": "/Groups", "bulkId": "a" }] }),
        ] {
            assert!(matches!(parse(&body), Err(ScimError::Problem(_))), "{body}");
        }
        let many: Vec<Value> = (0..=BULK_MAX_OPERATIONS)
            .map(|_| json!({ "method": "DELETE", "path": "/Users/x" }))
            .collect();
        assert!(matches!(
            parse(&json!({ "Operations": many })),
            Err(ScimError::TooLarge(_))
        ));
    }
}
