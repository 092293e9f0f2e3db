//! A SCIM filter and sort order as SQL over `scim_users` or `scim_groups`: every value a bind
//! parameter, every
//! attribute name one of the schema's (static) names. Comparisons are case-insensitive unless
//! the attribute is `caseExact`; a multi-valued attribute matches when one of its values does;
//! each comparison is `false`, never `NULL`, when the attribute is missing (so `not` means
//! what it says).

use anyhow::Context;
use authservice_application::ports::ScimQuery;
use authservice_domain::scim::schema::{AttrDef, AttrType, Resource, find};
use authservice_domain::scim::{AttrPath, CompValue, CompareOp, Filter, ScimProblem, ScimType};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// A bind parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bind {
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
    Uuid(uuid::Uuid),
    BigInt(i64),
}

/// SQL text with `$n` placeholders and their values in order.
#[derive(Debug, Default)]
pub(super) struct Sql {
    pub binds: Vec<Bind>,
}

impl Sql {
    /// Adds a value; its placeholder.
    pub(super) fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

fn bad(detail: impl Into<String>) -> ScimProblem {
    ScimProblem::new(ScimType::InvalidFilter, detail)
}

/// The columns that hold a value in every row.
const NOT_NULL_COLUMNS: [&str; 5] = [
    "id::text",
    "user_name",
    "display_name",
    "created_at",
    "updated_at",
];

/// How an attribute is read.
enum Operand {
    /// A column: its SQL, type and case-exactness.
    Column(&'static str, AttrType, bool),
    /// A JSON value (`jsonb`) of a single-valued simple attribute.
    Json(String, &'static AttrDef),
    /// A single-valued complex attribute (only `pr` applies).
    Complex(String),
    /// A multi-valued attribute: the array, its definition and the sub-attribute compared.
    Multi(String, &'static AttrDef, Option<&'static AttrDef>),
}

/// A JSON object key as a SQL literal (the names are the schema's own, without quotes).
fn key(name: &str) -> String {
    debug_assert!(!name.contains('\''));
    format!("'{name}'")
}

/// A User's groups as a jsonb array of `{value, display, type}` (for filters and sorting).
const USER_GROUPS: &str = "(SELECT COALESCE(jsonb_agg(jsonb_build_object('value', g.id::text, \
     'display', g.display_name, 'type', 'direct')), '[]'::jsonb) \
     FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id \
     WHERE gm.scim_user_id = scim_users.id)";

/// A Group's members as a jsonb array of `{value, display, type}`.
const GROUP_MEMBERS: &str = "(SELECT COALESCE(jsonb_agg(jsonb_build_object('value', \
     mu.id::text, 'display', COALESCE(mu.attributes->>'displayName', mu.user_name), \
     'type', 'User')), '[]'::jsonb) \
     FROM scim_group_members gm JOIN scim_users mu ON mu.id = gm.scim_user_id \
     WHERE gm.group_id = scim_groups.id)";

/// The column of a core attribute of `resource` kept apart (with its type and
/// case-exactness), `None` for the others; an error for a sub-attribute of a column.
fn column(
    resource: Resource,
    path: &AttrPath,
) -> Result<Option<(&'static str, AttrType, bool)>, ()> {
    let attr = path.attr.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let common = match (attr.as_str(), sub.as_deref()) {
        ("id", None) => Some(("id::text", AttrType::String, true)),
        ("externalid", None) => Some(("external_id", AttrType::String, true)),
        ("meta", Some("created")) => Some(("created_at", AttrType::DateTime, true)),
        ("meta", Some("lastmodified")) => Some(("updated_at", AttrType::DateTime, true)),
        ("meta", Some("resourcetype")) => Some(match resource {
            Resource::User => ("'User'::text", AttrType::String, true),
            Resource::Group => ("'Group'::text", AttrType::String, true),
        }),
        ("meta" | "id" | "externalid", _) => return Err(()),
        _ => None,
    };
    if common.is_some() {
        return Ok(common);
    }
    match (resource, attr.as_str(), sub.is_some()) {
        (Resource::User, "username", false) => Ok(Some(("user_name", AttrType::String, false))),
        (Resource::User, "active", false) => Ok(Some(("active", AttrType::Boolean, true))),
        (Resource::Group, "displayname", false) => {
            Ok(Some(("display_name", AttrType::String, false)))
        }
        (Resource::User, "username" | "active", true) | (Resource::Group, "displayname", true) => {
            Err(())
        }
        _ => Ok(None),
    }
}

/// Resolves an attribute path of `resource` (`uri` its core schema or its extension).
fn resolve(resource: Resource, path: &AttrPath) -> Result<Operand, ScimProblem> {
    let unknown = || bad(format!("unknown attribute `{path}`"));
    let (attributes, base) = match path.uri.as_deref() {
        None => (resource.attributes(), "attributes".to_owned()),
        Some(u) if u.eq_ignore_ascii_case(resource.schema()) => {
            (resource.attributes(), "attributes".to_owned())
        }
        Some(u) => match resource.extension() {
            Some((uri, attributes)) if u.eq_ignore_ascii_case(uri) => {
                (attributes, format!("attributes->{}", key(uri)))
            }
            _ => return Err(unknown()),
        },
    };
    if std::ptr::eq(attributes, resource.attributes())
        && let Some((sql, kind, exact)) = column(resource, path).map_err(|()| unknown())?
    {
        return Ok(Operand::Column(sql, kind, exact));
    }
    let def = find(attributes, &path.attr).ok_or_else(unknown)?;
    let value = match (resource, def.name) {
        (Resource::User, "groups") => USER_GROUPS.to_owned(),
        (Resource::Group, "members") => GROUP_MEMBERS.to_owned(),
        _ => format!("{base}->{}", key(def.name)),
    };
    let sub = match &path.sub {
        Some(s) => Some(def.sub_attribute(s).ok_or_else(unknown)?),
        None => None,
    };
    match (def.multi, def.kind, sub) {
        (true, _, sub) => Ok(Operand::Multi(value, def, sub)),
        (false, AttrType::Complex, Some(sub)) => {
            Ok(Operand::Json(format!("{value}->{}", key(sub.name)), sub))
        }
        (false, AttrType::Complex, None) => Ok(Operand::Complex(value)),
        (false, _, Some(_)) => Err(unknown()),
        (false, _, None) => Ok(Operand::Json(value, def)),
    }
}

/// `value` (a jsonb expression) as an array, `[]` for anything else.
fn array(value: &str) -> String {
    format!("(CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} ELSE '[]'::jsonb END)")
}

/// The SQL of `filter` over a row of `resource`'s table.
pub(super) fn filter_sql(
    sql: &mut Sql,
    resource: Resource,
    filter: &Filter,
) -> Result<String, ScimProblem> {
    Ok(match filter {
        Filter::And(l, r) => format!(
            "({} AND {})",
            filter_sql(sql, resource, l)?,
            filter_sql(sql, resource, r)?
        ),
        Filter::Or(l, r) => format!(
            "({} OR {})",
            filter_sql(sql, resource, l)?,
            filter_sql(sql, resource, r)?
        ),
        Filter::Not(inner) => format!("(NOT {})", filter_sql(sql, resource, inner)?),
        Filter::Present(path) => present(&resolve(resource, path)?),
        Filter::Compare { path, op, value } => {
            compare_operand(sql, &resolve(resource, path)?, *op, value)?
        }
        Filter::ValuePath { path, filter } => {
            let Operand::Multi(values, def, None) = resolve(resource, path)? else {
                return Err(bad(format!("`{path}[…]` needs a multi-valued attribute")));
            };
            format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS e(v) WHERE {})",
                array(&values),
                element_sql(sql, def, filter)?
            )
        }
    })
}

/// A value path's inner filter over one element `e.v` of attribute `def`.
fn element_sql(
    sql: &mut Sql,
    def: &'static AttrDef,
    filter: &Filter,
) -> Result<String, ScimProblem> {
    let sub = |path: &AttrPath| -> Result<&'static AttrDef, ScimProblem> {
        if path.uri.is_some() || path.sub.is_some() {
            return Err(bad(format!(
                "`{path}` is not a sub-attribute of {}",
                def.name
            )));
        }
        def.sub_attribute(&path.attr)
            .ok_or_else(|| bad(format!("{} has no sub-attribute `{path}`", def.name)))
    };
    Ok(match filter {
        Filter::And(l, r) => format!(
            "({} AND {})",
            element_sql(sql, def, l)?,
            element_sql(sql, def, r)?
        ),
        Filter::Or(l, r) => format!(
            "({} OR {})",
            element_sql(sql, def, l)?,
            element_sql(sql, def, r)?
        ),
        Filter::Not(inner) => format!("(NOT {})", element_sql(sql, def, inner)?),
        Filter::Present(path) => json_present(&format!("e.v->{}", key(sub(path)?.name))),
        Filter::Compare { path, op, value } => {
            let s = sub(path)?;
            compare_json(sql, &format!("e.v->{}", key(s.name)), s, *op, value)?
        }
        Filter::ValuePath { path, .. } => {
            return Err(bad(format!("`{path}[` inside a value filter")));
        }
    })
}

fn json_present(value: &str) -> String {
    format!(
        "COALESCE({value} IS NOT NULL AND {value} <> 'null'::jsonb AND {value} <> '\"\"'::jsonb, false)"
    )
}

fn present(operand: &Operand) -> String {
    match operand {
        Operand::Column(sql, _, _) => format!("({sql} IS NOT NULL)"),
        Operand::Json(value, _) => json_present(value),
        Operand::Complex(value) => format!("COALESCE(jsonb_typeof({value}) = 'object', false)"),
        Operand::Multi(values, _, None) => format!("(jsonb_array_length({}) > 0)", array(values)),
        Operand::Multi(values, _, Some(sub)) => format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS e(v) WHERE {})",
            array(values),
            json_present(&format!("e.v->{}", key(sub.name)))
        ),
    }
}

fn compare_operand(
    sql: &mut Sql,
    operand: &Operand,
    op: CompareOp,
    value: &CompValue,
) -> Result<String, ScimProblem> {
    match operand {
        Operand::Column(column, kind, exact) => compare(sql, column, *kind, *exact, op, value),
        Operand::Json(json, def) => compare_json(sql, json, def, op, value),
        Operand::Complex(_) => Err(bad(
            "a complex attribute is compared through its sub-attributes",
        )),
        Operand::Multi(values, def, sub) => {
            // `emails eq "x"` compares the values' `value`.
            let target = match sub {
                Some(sub) => *sub,
                None => def
                    .sub_attribute("value")
                    .ok_or_else(|| bad(format!("{} has no value to compare", def.name)))?,
            };
            Ok(format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS e(v) WHERE {})",
                array(values),
                compare_json(
                    sql,
                    &format!("e.v->{}", key(target.name)),
                    target,
                    op,
                    value
                )?
            ))
        }
    }
}

/// A comparison of a jsonb value of a simple attribute.
fn compare_json(
    sql: &mut Sql,
    json: &str,
    def: &AttrDef,
    op: CompareOp,
    value: &CompValue,
) -> Result<String, ScimProblem> {
    match def.kind {
        AttrType::Boolean => compare(
            sql,
            &format!(
                "(CASE WHEN jsonb_typeof({json}) = 'boolean' THEN ({json})::text::boolean END)"
            ),
            AttrType::Boolean,
            true,
            op,
            value,
        ),
        AttrType::Complex => Err(bad(format!(
            "{} is compared through its sub-attributes",
            def.name
        ))),
        _ => compare(
            sql,
            &format!("({json} #>> '{{}}')"),
            def.kind,
            def.case_exact,
            op,
            value,
        ),
    }
}

/// A comparison of a typed SQL expression; never `NULL`.
fn compare(
    sql: &mut Sql,
    expr: &str,
    kind: AttrType,
    exact: bool,
    op: CompareOp,
    value: &CompValue,
) -> Result<String, ScimProblem> {
    use CompareOp::{Co, Eq, Ew, Ge, Gt, Le, Lt, Ne, Sw};
    if *value == CompValue::Null {
        return match op {
            Eq => Ok(format!("({expr} IS NULL)")),
            Ne => Ok(format!("({expr} IS NOT NULL)")),
            _ => Err(bad(format!("`{} null` compares nothing", op.as_str()))),
        };
    }
    let sql_op = match op {
        Eq => "=",
        Ne => "<>",
        Gt => ">",
        Ge => ">=",
        Lt => "<",
        Le => "<=",
        Co | Sw | Ew => "",
    };
    let test = match (kind, value) {
        (AttrType::Boolean, CompValue::Bool(b)) if matches!(op, Eq | Ne) => {
            format!("{expr} {sql_op} {}", sql.bind(Bind::Bool(*b)))
        }
        (AttrType::Boolean, _) => {
            return Err(bad("a boolean is compared with eq or ne and true or false"));
        }
        (AttrType::DateTime, CompValue::Str(s)) if !matches!(op, Co | Sw | Ew) => {
            let at = DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad(format!("`{s}` is not a dateTime")))?
                .with_timezone(&Utc);
            format!("{expr} {sql_op} {}", sql.bind(Bind::Time(at)))
        }
        (AttrType::DateTime, _) => {
            return Err(bad(
                "a dateTime is compared with eq ne gt ge lt le and a string",
            ));
        }
        (_, CompValue::Str(s)) => {
            let p = sql.bind(Bind::Text(s.clone()));
            let (x, v) = if exact {
                (expr.to_owned(), p.clone())
            } else {
                (format!("lower({expr})"), format!("lower({p})"))
            };
            match op {
                Co => format!("strpos({x}, {v}) > 0"),
                Sw => format!("starts_with({x}, {v})"),
                Ew => format!("right({x}, char_length({v})) = {v}"),
                _ => format!("{x} {sql_op} {v}"),
            }
        }
        (_, _) => return Err(bad("a string attribute is compared with a string")),
    };
    // A missing attribute is unequal to everything (and so `ne` anything). Columns that are
    // never NULL need no COALESCE (which would keep PostgreSQL from their indexes).
    if NOT_NULL_COLUMNS.contains(&expr) {
        return Ok(format!("({test})"));
    }
    Ok(if op == Ne {
        format!("COALESCE({test}, true)")
    } else {
        format!("COALESCE({test}, false)")
    })
}

/// `ORDER BY` for `sortBy` (`ascending`): single-valued attributes, or a multi-valued one's
/// primary (else first) value; missing values last; creation order breaks ties.
pub(super) fn order_sql(
    resource: Resource,
    sort: Option<&(AttrPath, bool)>,
) -> Result<String, ScimProblem> {
    let Some((path, ascending)) = sort else {
        return Ok("created_at, id".to_owned());
    };
    let invalid =
        |why: &str| ScimProblem::new(ScimType::InvalidValue, format!("sortBy `{path}`: {why}"));
    let (expr, exact) = match resolve(resource, path)
        .map_err(|e| ScimProblem::new(ScimType::InvalidValue, e.detail))?
    {
        Operand::Column(sql, _, exact) => (sql.to_owned(), exact),
        Operand::Json(json, def) if def.kind != AttrType::Complex => {
            (format!("({json} #>> '{{}}')"), def.case_exact)
        }
        Operand::Multi(values, def, sub) if def.kind == AttrType::Complex => {
            let target = sub
                .or_else(|| def.sub_attribute("value"))
                .ok_or_else(|| invalid("no value to sort by"))?;
            (
                format!(
                    "(SELECT e.v->>{} FROM jsonb_array_elements({}) AS e(v) \
                     ORDER BY (e.v->'primary') = 'true'::jsonb DESC NULLS LAST LIMIT 1)",
                    key(target.name),
                    array(&values)
                ),
                target.case_exact,
            )
        }
        _ => return Err(invalid("not sortable")),
    };
    let expr = if exact {
        expr
    } else {
        format!("lower({expr})")
    };
    let direction = if *ascending { "ASC" } else { "DESC" };
    Ok(format!("{expr} {direction} NULLS LAST, created_at, id"))
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

fn bound<'a>(
    text: String,
    binds: Vec<Bind>,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    binds
        .into_iter()
        .fold(diesel::sql_query(text).into_boxed(), |q, b| match b {
            Bind::Text(s) => q.bind::<Text, _>(s),
            Bind::Bool(b) => q.bind::<Bool, _>(b),
            Bind::Time(t) => q.bind::<Timestamptz, _>(t),
            Bind::Uuid(u) => q.bind::<SqlUuid, _>(u),
            Bind::BigInt(n) => q.bind::<BigInt, _>(n),
        })
}

/// How long one list query may run, in milliseconds.
const LIST_TIMEOUT_MS: u32 = 5_000;

/// The ids of one page of `directory`'s `resource`s matching the query, in its order, and how
/// many match in all — one SQL query (a second only to count past the end).
///
/// # Errors
/// `Ok(Err(problem))` for a filter or sort the schema does not allow; `Err` when the store
/// failed.
pub(super) async fn page(
    conn: &mut AsyncPgConnection,
    resource: Resource,
    directory: uuid::Uuid,
    query: &ScimQuery,
) -> anyhow::Result<Result<(Vec<uuid::Uuid>, u64), ScimProblem>> {
    let table = match resource {
        Resource::User => "scim_users",
        Resource::Group => "scim_groups",
    };
    let mut sql = Sql::default();
    let dir = sql.bind(Bind::Uuid(directory));
    let mut condition = format!("directory_id = {dir}");
    if let Some(filter) = &query.filter {
        match filter_sql(&mut sql, resource, filter) {
            Ok(f) => condition = format!("{condition} AND {f}"),
            Err(problem) => return Ok(Err(problem)),
        }
    }
    let order = match order_sql(resource, query.sort.as_ref()) {
        Ok(order) => order,
        Err(problem) => return Ok(Err(problem)),
    };
    let count_text = format!("SELECT count(*) AS total FROM {table} WHERE {condition}");
    let count_binds = sql.binds.clone();
    let mut paged = sql;
    let limit = paged.bind(Bind::BigInt(i64::try_from(query.count).unwrap_or(i64::MAX)));
    let offset = paged.bind(Bind::BigInt(
        i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX),
    ));
    let text = format!(
        "SELECT id, count(*) OVER () AS total FROM {table} \
         WHERE {condition} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let (count, start_index) = (query.count, query.start_index);
    // A filter of many value paths over a large directory must not hold a connection long:
    // the page and any count run under one statement timeout.
    let (rows, total) = conn
        .transaction::<_, diesel::result::Error, _>(async |tx| {
            diesel::sql_query(format!("SET LOCAL statement_timeout = {LIST_TIMEOUT_MS}"))
                .execute(tx)
                .await?;
            let rows: Vec<Counted> = if count == 0 {
                Vec::new()
            } else {
                bound(text, paged.binds).load(tx).await?
            };
            let total = match <[Counted]>::first(&rows) {
                Some(first) => first.total,
                // Nothing asked for, or past the end: the page is empty, the total still counts.
                None if count == 0 || start_index > 1 => {
                    bound(count_text, count_binds)
                        .get_result::<Total>(tx)
                        .await?
                        .total
                }
                None => 0,
            };
            Ok((rows, total))
        })
        .await
        .context("listing SCIM resources")?;
    let total = total.unsigned_abs();
    Ok(Ok((rows.into_iter().map(|r| r.id).collect(), total)))
}

/// Puts `rows` (loaded by id) in the order of the page's `ids`.
pub(super) fn in_page_order<T>(rows: &mut [T], ids: &[uuid::Uuid], id: impl Fn(&T) -> uuid::Uuid) {
    let order: std::collections::HashMap<uuid::Uuid, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| order.get(&id(r)).copied());
}
