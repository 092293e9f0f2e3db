//! The attributes of the resources served (RFC 7643 §4.1, §4.3): what `/Schemas` publishes and
//! what filters, sorting and attribute selection may name.

use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    /// The core schema's URI.
    #[must_use]
    pub fn schema(self) -> &'static str {
        match self {
            Self::User => USER_SCHEMA,
            Self::Group => GROUP_SCHEMA,
        }
    }

    /// The core attributes (without the common `id`, `externalId`, `meta`).
    #[must_use]
    pub fn attributes(self) -> &'static [AttrDef] {
        match self {
            Self::User => USER_ATTRIBUTES,
            Self::Group => GROUP_ATTRIBUTES,
        }
    }

    /// The schema extension and its attributes.
    #[must_use]
    pub fn extension(self) -> Option<(&'static str, &'static [AttrDef])> {
        match self {
            Self::User => Some((ENTERPRISE_USER_SCHEMA, ENTERPRISE_ATTRIBUTES)),
            Self::Group => None,
        }
    }

    /// The attributes kept apart from the others (columns), under their canonical names.
    #[must_use]
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::User => &["userName", "externalId", "active"],
            Self::Group => &["displayName", "externalId"],
        }
    }

    /// The attributes nobody writes.
    #[must_use]
    pub fn read_only(self) -> &'static [&'static str] {
        match self {
            Self::User => &["id", "meta", "groups", "schemas"],
            Self::Group => &["id", "meta", "schemas"],
        }
    }

    /// The name of its endpoint and resource type.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
    Binary,
}

impl AttrType {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::DateTime => "dateTime",
            Self::Reference => "reference",
            Self::Complex => "complex",
            Self::Binary => "binary",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi: bool,
    pub case_exact: bool,
    pub required: bool,
    pub mutability: Mutability,
    /// Returned only when asked for by name (`attributes=members.display`).
    pub on_request: bool,
    pub sub: &'static [AttrDef],
    pub description: &'static str,
}

impl AttrDef {
    const fn new(name: &'static str, kind: AttrType, description: &'static str) -> Self {
        Self {
            name,
            kind,
            multi: false,
            case_exact: false,
            required: false,
            mutability: Mutability::ReadWrite,
            on_request: false,
            sub: &[],
            description,
        }
    }

    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }

    const fn complex(
        name: &'static str,
        sub: &'static [AttrDef],
        description: &'static str,
    ) -> Self {
        Self {
            sub,
            ..Self::new(name, AttrType::Complex, description)
        }
    }

    const fn multi(self) -> Self {
        Self {
            multi: true,
            ..self
        }
    }

    const fn exact(self) -> Self {
        Self {
            case_exact: true,
            ..self
        }
    }

    const fn read_only(self) -> Self {
        Self {
            mutability: Mutability::ReadOnly,
            ..self
        }
    }

    const fn on_request(self) -> Self {
        Self {
            on_request: true,
            ..self
        }
    }

    /// Sub-attribute `name` (case-insensitive).
    #[must_use]
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn describe(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.kind.as_str(),
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            },
            "returned": if self.mutability == Mutability::WriteOnly {
                "never"
            } else if self.on_request {
                "request"
            } else {
                "default"
            },
            "uniqueness": if self.required { "server" } else { "none" },
        });
        if !self.sub.is_empty() {
            v["subAttributes"] = self.sub.iter().map(AttrDef::describe).collect();
        }
        if self.kind == AttrType::Reference {
            v["referenceTypes"] = json!(["external"]);
        }
        v
    }
}

const fn typed_value(kind_doc: &'static str) -> [AttrDef; 4] {
    [
        AttrDef::string("value", kind_doc),
        AttrDef::string("display", "A human-readable name"),
        AttrDef::string("type", "A label: work, home, other, …"),
        AttrDef::new("primary", AttrType::Boolean, "The primary value"),
    ]
}

const EMAIL: [AttrDef; 4] = typed_value("An email address");
const PHONE: [AttrDef; 4] = typed_value("A phone number");
const IM: [AttrDef; 4] = typed_value("An instant messaging address");
const PHOTO: [AttrDef; 4] = typed_value("A URL of a photo");
const ENTITLEMENT: [AttrDef; 4] = typed_value("An entitlement");
const ROLE: [AttrDef; 4] = typed_value("A role");
const CERTIFICATE: [AttrDef; 4] = typed_value("A DER certificate, base64");

const NAME: [AttrDef; 6] = [
    AttrDef::string("formatted", "The full name"),
    AttrDef::string("familyName", "The family name"),
    AttrDef::string("givenName", "The given name"),
    AttrDef::string("middleName", "The middle name"),
    AttrDef::string("honorificPrefix", "The honorific prefix"),
    AttrDef::string("honorificSuffix", "The honorific suffix"),
];

const ADDRESS: [AttrDef; 8] = [
    AttrDef::string("formatted", "The full mailing address"),
    AttrDef::string("streetAddress", "The street"),
    AttrDef::string("locality", "The city"),
    AttrDef::string("region", "The state or region"),
    AttrDef::string("postalCode", "The postal code"),
    AttrDef::string("country", "The country"),
    AttrDef::string("type", "work, home, other"),
    AttrDef::new("primary", AttrType::Boolean, "The primary address"),
];

const GROUP_REF: [AttrDef; 4] = [
    AttrDef::string("value", "The group's id")
        .exact()
        .read_only(),
    AttrDef::new("$ref", AttrType::Reference, "The group's URI").read_only(),
    AttrDef::string("display", "The group's name").read_only(),
    AttrDef::string("type", "direct").read_only(),
];

/// The core User attributes (without the common `id`, `externalId`, `meta`).
pub const USER_ATTRIBUTES: &[AttrDef] = &[
    AttrDef {
        required: true,
        ..AttrDef::string(
            "userName",
            "The unique identifier the IdP signs the user in with",
        )
    },
    AttrDef::complex("name", &NAME, "The user's name"),
    AttrDef::string("displayName", "The name shown"),
    AttrDef::string("nickName", "The casual name"),
    AttrDef::new(
        "profileUrl",
        AttrType::Reference,
        "A URL of the user's profile",
    ),
    AttrDef::string("title", "The user's title"),
    AttrDef::string("userType", "Employee, Contractor, …"),
    AttrDef::string("preferredLanguage", "The preferred language"),
    AttrDef::string("locale", "The locale"),
    AttrDef::string("timezone", "The time zone (IANA)"),
    AttrDef::new("active", AttrType::Boolean, "Whether the user may sign in"),
    AttrDef {
        mutability: Mutability::WriteOnly,
        ..AttrDef::string("password", "Never stored from SCIM; never returned")
    },
    AttrDef::complex("emails", &EMAIL, "Email addresses").multi(),
    AttrDef::complex("phoneNumbers", &PHONE, "Phone numbers").multi(),
    AttrDef::complex("ims", &IM, "Instant messaging addresses").multi(),
    AttrDef::complex("photos", &PHOTO, "Photos").multi(),
    AttrDef::complex("addresses", &ADDRESS, "Physical addresses").multi(),
    AttrDef::complex("groups", &GROUP_REF, "The groups the user is a member of")
        .multi()
        .read_only(),
    AttrDef::complex("entitlements", &ENTITLEMENT, "Entitlements").multi(),
    AttrDef::complex("roles", &ROLE, "Roles").multi(),
    AttrDef::complex("x509Certificates", &CERTIFICATE, "Certificates").multi(),
];

const MANAGER: [AttrDef; 3] = [
    AttrDef::string("value", "The manager's id"),
    AttrDef::new("$ref", AttrType::Reference, "The manager's URI"),
    AttrDef::string("displayName", "The manager's name").read_only(),
];

/// The Enterprise User extension's attributes.
pub const ENTERPRISE_ATTRIBUTES: &[AttrDef] = &[
    AttrDef::string("employeeNumber", "The employee number"),
    AttrDef::string("costCenter", "The cost center"),
    AttrDef::string("organization", "The organization"),
    AttrDef::string("division", "The division"),
    AttrDef::string("department", "The department"),
    AttrDef::complex("manager", &MANAGER, "The user's manager"),
];

/// A member is answered as it was written (`value`); its URI, name and type on request.
const MEMBER: [AttrDef; 4] = [
    AttrDef::string("value", "The member's id (a User of the directory)").exact(),
    AttrDef::new("$ref", AttrType::Reference, "The member's URI")
        .read_only()
        .on_request(),
    AttrDef::string("display", "The member's name")
        .read_only()
        .on_request(),
    AttrDef::string("type", "User").read_only().on_request(),
];

/// The core Group attributes (without the common `id`, `externalId`, `meta`).
pub const GROUP_ATTRIBUTES: &[AttrDef] = &[
    AttrDef {
        required: true,
        ..AttrDef::string("displayName", "The group's name, unique in the directory")
    },
    AttrDef::complex("members", &MEMBER, "The group's members (Users)").multi(),
];

/// Attribute `name` (case-insensitive) of `attributes`.
#[must_use]
pub fn find(attributes: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The schema documents `/Schemas` publishes.
#[must_use]
pub fn schemas_json(base: &str) -> Vec<Value> {
    let schema = |id: &str, name: &str, description: &str, attributes: &[AttrDef]| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attributes.iter().map(AttrDef::describe).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
        })
    };
    vec![
        schema(USER_SCHEMA, "User", "User Account", USER_ATTRIBUTES),
        schema(
            ENTERPRISE_USER_SCHEMA,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE_ATTRIBUTES,
        ),
        schema(GROUP_SCHEMA, "Group", "Group", GROUP_ATTRIBUTES),
    ]
}

/// The resource types `/ResourceTypes` publishes.
#[must_use]
pub fn resource_types_json(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_USER_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}
