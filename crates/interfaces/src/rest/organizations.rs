//! `/api/auth/organizations/*` (K+B): organizations, their members and roles. `{org}` is the
//! organization's id or slug; an organization the caller is not a member of answers 404.

use actix_web::{HttpResponse, web};
use authservice_application::organizations::{
    NewInvitation, NewOrganization, OrgError, OrganizationPatch, OrganizationView,
};
use authservice_application::pagination::PageRequest;
use authservice_application::ports::MemberView;
use authservice_domain::organization::{Invitation, groups_to_value};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::dto::double_option;
use super::extractors::CurrentUser;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/organizations")
            .get(list_organizations)
            .post(create_organization),
    )
    .service(
        web::resource("/auth/organizations/{org}")
            .get(get_organization)
            .patch(update_organization)
            .delete(delete_organization),
    )
    .service(web::resource("/auth/organizations/{org}/roles").get(list_roles))
    .service(web::resource("/auth/organizations/{org}/members").get(list_members))
    .service(web::resource("/auth/organizations/{org}/audit-events").get(org_audit_events))
    .service(
        web::resource("/auth/organizations/{org}/members/{user_id}")
            .patch(change_role)
            .delete(remove_member),
    )
    .service(
        web::resource("/auth/organizations/{org}/invitations")
            .get(list_invitations)
            .post(invite),
    )
    .service(
        web::resource("/auth/organizations/{org}/invitations/{id}/revoke").post(revoke_invitation),
    )
    .service(web::resource("/auth/organization-invitations/accept").post(accept_invitation))
    .service(web::resource("/auth/organizations/{org}/token").post(org_token))
    .service(
        web::resource("/auth/organizations/{org}/security-policy")
            .get(get_security_policy)
            .put(put_security_policy),
    )
    .configure(super::org_authorization::routes);
}

fn org_json(view: &OrganizationView) -> Value {
    let org = &view.organization;
    json!({
        "id": org.id.to_string(),
        "name": org.name.as_str(),
        "slug": org.slug.as_str(),
        "metadata": org.metadata,
        "logo_url": org.logo_url.as_ref().map(|l| l.as_str()),
        "role": view.role.as_str(),
        "created_at": org.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "updated_at": org.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

pub(super) fn member_json(m: &MemberView) -> Value {
    json!({
        "user_id": m.membership.user_id.to_string(),
        "email": m.email,
        "display_name": m.display_name,
        "role": m.membership.role.as_str(),
        "groups": groups_to_value(&m.membership.groups),
        "joined_at": m.membership.joined_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

async fn list_organizations(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let orgs = state.services.organizations.list(&caller).await?;
    let orgs: Vec<Value> = orgs.iter().map(org_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "organizations": orgs })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    slug: Option<String>,
    metadata: Option<Value>,
    logo_url: Option<String>,
}

async fn create_organization(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let view = state
        .services
        .organizations
        .create(
            &ctx,
            &caller,
            NewOrganization {
                name: body.name,
                slug: body.slug,
                metadata: body.metadata,
                logo_url: body.logo_url,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(org_json(&view)))
}

async fn get_organization(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state.services.organizations.get(&caller, &org).await?;
    Ok(HttpResponse::Ok().json(org_json(&view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    slug: Option<String>,
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "double_option")]
    logo_url: Option<Option<String>>,
}

async fn update_organization(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let view = state
        .services
        .organizations
        .update(
            &ctx,
            &caller,
            &org,
            OrganizationPatch {
                name: body.name,
                slug: body.slug,
                metadata: body.metadata,
                logo_url: body.logo_url,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(org_json(&view)))
}

async fn delete_organization(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .organizations
        .delete(&ctx, &caller, &org)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_roles(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let roles = state.services.organizations.roles(&caller, &org).await?;
    let roles: Vec<Value> = roles
        .iter()
        .map(|(role, set)| {
            json!({
                "name": role.as_str(),
                "builtin": role.builtin_permissions().is_some(),
                "permissions": set.iter().collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "roles": roles })))
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    pub(super) limit: Option<i64>,
    pub(super) cursor: Option<String>,
}

#[derive(Deserialize)]
struct OrgAuditQuery {
    event_type: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/auth/organizations/{org}/audit-events` (`enterprise:read`).
async fn org_audit_events(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    query: web::Query<OrgAuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let page = state
        .services
        .org_audit_events
        .list(&ctx, &caller, &org, query.event_type.as_deref(), page)
        .await?;
    let events: Vec<super::dto::AuditEventDto> = page
        .items
        .into_iter()
        .map(super::dto::AuditEventDto::from)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "events": events, "next_cursor": page.next_cursor })))
}

async fn list_members(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let page = state.services.members.list(&caller, &org, page).await?;
    let members: Vec<Value> = page.items.iter().map(member_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "members": members, "next_cursor": page.next_cursor })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

async fn change_role(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    let member = state
        .services
        .members
        .change_role(&ctx, &caller, &org, &user, &body.role)
        .await?;
    Ok(HttpResponse::Ok().json(member_json(&member)))
}

/// `DELETE …/members/me` leaves the organization.
async fn remove_member(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    state
        .services
        .members
        .remove(&ctx, &caller, &org, &user)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn invitation_json(i: &Invitation) -> Value {
    let at = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({
        "id": i.id.to_string(),
        "organization_id": i.organization_id.to_string(),
        "email": i.email.as_str(),
        "role": i.role.as_str(),
        "status": i.status(chrono::Utc::now()).as_str(),
        "invited_by": i.invited_by.map(|u| u.to_string()),
        "created_at": at(&i.created_at),
        "expires_at": at(&i.expires_at),
        "accepted_at": i.accepted_at.as_ref().map(at),
        "revoked_at": i.revoked_at.as_ref().map(at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: String,
    expires_in_days: Option<i64>,
}

async fn invite(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let invitation = state
        .services
        .invitations
        .invite(
            &ctx,
            &caller,
            &org,
            NewInvitation {
                email: body.email,
                role: body.role,
                expires_in_days: body.expires_in_days,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(invitation_json(&invitation)))
}

async fn list_invitations(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let page = state.services.invitations.list(&caller, &org, page).await?;
    let items: Vec<Value> = page.items.iter().map(invitation_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "invitations": items, "next_cursor": page.next_cursor })))
}

async fn revoke_invitation(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    let invitation = state
        .services
        .invitations
        .revoke(&ctx, &caller, &org, &id)
        .await?;
    Ok(HttpResponse::Ok().json(invitation_json(&invitation)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
}

/// The signed-in user accepts an invitation sent to their (verified) address.
async fn accept_invitation(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .services
        .invitations
        .accept(&ctx, &caller, &body.token)
        .await?;
    Ok(HttpResponse::Ok().json(org_json(&view)))
}

/// An organization token: `{access_token, token_type, expires_in, organization, permissions}`.
async fn org_token(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = state
        .services
        .org_token
        .execute(&ctx, &caller, &org)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "organization": org_json(&token.organization),
            "permissions": token.permissions.iter().collect::<Vec<_>>(),
        })))
}

async fn get_security_policy(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let policy = state
        .services
        .organizations
        .security_policy(&caller, &org)
        .await?;
    Ok(HttpResponse::Ok().json(policy.to_value()))
}

async fn put_security_policy(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    org: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let policy = state
        .services
        .organizations
        .set_security_policy(&ctx, &caller, &org, &body)
        .await?;
    Ok(HttpResponse::Ok().json(policy.to_value()))
}
