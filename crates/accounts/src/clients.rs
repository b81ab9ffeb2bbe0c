//! Partner organisations' API clients: they authenticate with client credentials and get tokens
//! limited to the scopes they were granted. The secret is random, shown once, and stored only as
//! a SHA-256 digest (it has 256 bits of entropy, so a slow hash adds nothing); it can be rotated,
//! and the client revoked.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tongxing_core::Code;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::api_clients;
use tongxing_store::{DbConnection, DbId, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

tongxing_core::text_enum! {
    /// What a partner client may do. Every scope reaches only the cases shared with the
    /// client's organisation under a standing `data_sharing` consent.
    pub enum ClientScope {
        /// Read shared children's records (sensitive fields masked).
        CasesRead => "cases:read",
        /// Read case-work contacts with shared children.
        ContactsRead => "contacts:read",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiClient {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub scopes: Vec<ClientScope>,
    pub created_at: DateTime<Utc>,
    pub secret_rotated_at: DateTime<Utc>,
    /// Set once the client is revoked; its tokens stop working at once.
    pub revoked_at: Option<DateTime<Utc>>,
    pub version: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ApiClientInput {
    /// Client-chosen id (UUID); generated when absent. It is the `client_id`.
    pub id: Option<Uuid>,
    pub organisation_id: Uuid,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(min = 1, max = 2))]
    #[schema(min_items = 1, max_items = 2)]
    pub scopes: Vec<ClientScope>,
}

/// A client with its secret: returned once, at creation and at each rotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiClientCredentials {
    pub client: ApiClient,
    /// Shown only now; store it safely. Send it with `grant_type=client_credentials`.
    pub client_secret: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_clients)]
struct Row {
    id: DbId,
    organisation_id: DbId,
    name: String,
    scopes: String,
    secret_hash: String,
    created_at: chrono::NaiveDateTime,
    secret_rotated_at: chrono::NaiveDateTime,
    revoked_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl Row {
    fn into_client(self) -> Result<ApiClient> {
        Ok(ApiClient {
            id: self.id.0,
            organisation_id: self.organisation_id.0,
            name: self.name,
            scopes: self
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(ClientScope::from_db)
                .collect::<Result<_>>()?,
            created_at: time::from_db(self.created_at),
            secret_rotated_at: time::from_db(self.secret_rotated_at),
            revoked_at: self.revoked_at.map(time::from_db),
            version: self.version,
        })
    }
}

fn digest(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn scope_text(scopes: &[ClientScope]) -> Result<String> {
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    if names.len() != before {
        return Err(Error::field("scopes", "duplicate", "a scope is listed twice"));
    }
    Ok(names.join(" "))
}

pub fn create(conn: &mut DbConnection, input: ApiClientInput, actor: Uuid) -> Result<ApiClientCredentials> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(Error::field("name", "blank", "a client needs a name"));
    }
    let scopes = scope_text(&input.scopes)?;
    crate::require_organisation(conn, input.organisation_id, "organisation_id")?;
    let id = input.id.unwrap_or_else(id::new_id);
    let secret = new_secret();
    let now = time::to_db(time::now());
    diesel::insert_into(api_clients::table)
        .values((
            api_clients::id.eq(DbId(id)),
            api_clients::organisation_id.eq(DbId(input.organisation_id)),
            api_clients::name.eq(name),
            api_clients::scopes.eq(scopes),
            api_clients::secret_hash.eq(digest(&secret)),
            api_clients::created_by.eq(DbId(actor)),
            api_clients::created_at.eq(now),
            api_clients::secret_rotated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(ApiClientCredentials { client: get(conn, id)?.record, client_secret: secret })
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<ApiClient>> {
    let c = api_clients::table
        .find(DbId(id))
        .select(Row::as_select())
        .first(conn)
        .map_err(not_found_as("API client"))?
        .into_client()?;
    Ok(Versioned { version: c.version, record: c })
}

pub fn list(
    conn: &mut DbConnection,
    organisation: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<ApiClient>> {
    let mut q = api_clients::table.select(Row::as_select()).order(api_clients::id.asc()).into_boxed();
    if let Some(o) = organisation {
        q = q.filter(api_clients::organisation_id.eq(DbId(o)));
    }
    if let Some(after) = page.after {
        q = q.filter(api_clients::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(Row::into_client).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id))
}

fn change(
    conn: &mut DbConnection,
    id: Uuid,
    expected: Option<i32>,
    revoke: bool,
) -> Result<ApiClientCredentials> {
    let current = get(conn, id)?;
    if let Some(v) = expected {
        check_version(current.version, v)?;
    }
    if current.record.revoked_at.is_some() {
        return Err(Error::conflict(Code::ClientRevoked, "the client is revoked"));
    }
    let now = time::to_db(time::now());
    let secret = new_secret();
    let target = api_clients::table
        .filter(api_clients::id.eq(DbId(id)))
        .filter(api_clients::version.eq(current.version));
    let n = if revoke {
        diesel::update(target)
            .set((api_clients::revoked_at.eq(Some(now)), api_clients::version.eq(current.version + 1)))
            .execute(conn)
    } else {
        diesel::update(target)
            .set((
                api_clients::secret_hash.eq(digest(&secret)),
                api_clients::secret_rotated_at.eq(now),
                api_clients::version.eq(current.version + 1),
            ))
            .execute(conn)
    }
    .map_err(map_db_error)?;
    if n == 0 {
        return Err(Error::PreconditionFailed);
    }
    let client = get(conn, id)?.record;
    Ok(ApiClientCredentials { client, client_secret: if revoke { String::new() } else { secret } })
}

/// Replaces the secret; the old one stops working at once.
pub fn rotate_secret(
    conn: &mut DbConnection,
    id: Uuid,
    expected: Option<i32>,
) -> Result<ApiClientCredentials> {
    change(conn, id, expected, false)
}

/// Revokes the client: no new tokens.
pub fn revoke(conn: &mut DbConnection, id: Uuid, expected: Option<i32>) -> Result<ApiClient> {
    change(conn, id, expected, true).map(|c| c.client)
}

/// Checks client credentials; the same answer for an unknown client, a wrong secret and a
/// revoked client.
pub fn authenticate(conn: &mut DbConnection, client_id: &str, secret: &str) -> Result<ApiClient> {
    let invalid =
        || Error::unauthenticated(Code::InvalidClient, "the client credentials are wrong or revoked");
    let id = Uuid::parse_str(client_id).map_err(|_| invalid())?;
    let row: Option<Row> = api_clients::table
        .find(DbId(id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    let row = row.ok_or_else(invalid)?;
    let given = digest(secret);
    // Constant-time comparison of the digests.
    let same = given.len() == row.secret_hash.len()
        && given.bytes().zip(row.secret_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same || row.revoked_at.is_some() {
        return Err(invalid());
    }
    row.into_client()
}

/// Whether the client may still act: it exists and is not revoked. The guard asks on every
/// request of a client, so that revoking one ends its tokens at once, on every node.
pub async fn require_active(db: &tongxing_store::Db, id: Uuid) -> Result<()> {
    let db = db.clone();
    let revoked: Option<Option<chrono::NaiveDateTime>> = crate::blocking(move || {
        api_clients::table
            .find(DbId(id))
            .select(api_clients::revoked_at)
            .first(&mut *db.conn()?)
            .optional()
            .map_err(map_db_error)
    })
    .await?;
    match revoked {
        Some(None) => Ok(()),
        _ => Err(Error::unauthenticated(Code::InvalidToken, "the access token has been revoked")),
    }
}
