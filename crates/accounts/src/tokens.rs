//! JWT access tokens signed with Ed25519 (`EdDSA`), each naming its key by `kid`. Issuer,
//! audience, expiry and not-before are all required and checked, and only `EdDSA` is accepted,
//! so `alg: none` and HS/RS confusion are refused. The public keys are published as a JWKS.
//!
//! Rotation adds a new signing key and retires the old one: a retired key signs nothing new but
//! still verifies until the last token it signed has expired.

use std::collections::HashMap;
use std::sync::RwLock;
use tongxing_core::Code;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, time};
use utoipa::ToSchema;
use uuid::Uuid;

pub const ISSUER: &str = "tongxing";
pub const AUDIENCE: &str = "tongxing-api";
/// An Ed25519 private key is a 32-byte seed.
pub const SEED_BYTES: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user's id, or the API client's.
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The organisation the user or client belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Uuid>,
    /// The region a coordinator is responsible for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Uuid>,
    /// An API client's granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A user's token epoch when the token was issued: the guard refuses the token once the
    /// user's epoch has moved on (deactivation, a change of role, region or organisation, a new
    /// password). Absent (0) for API clients.
    #[serde(default)]
    pub epoch: i32,
}

/// Who a token is for: what [`TokenKeys::issue`] puts in the claims.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: Uuid,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub scope: Option<String>,
    /// The user's token epoch (0 for API clients).
    pub epoch: i32,
}

/// A signing key as stored: the PKCS#8 private key (base64) and the public key (base64url).
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub private_key: String,
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// One public key in the JWKS.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The public keys that verify this service's tokens (RFC 7517).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the DER header, then the 32-byte seed.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

impl StoredKey {
    /// A key from a 32-byte seed; its `kid` is derived from the public key.
    pub fn from_seed(seed: &[u8; SEED_BYTES]) -> StoredKey {
        use sha2::Digest;
        let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes();
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(seed);
        let kid = URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(public)[..12]);
        StoredKey {
            kid,
            private_key: STANDARD.encode(der),
            public_key: URL_SAFE_NO_PAD.encode(public),
            created_at: time::now(),
            retired_at: None,
        }
    }

    /// A key from a fresh random seed.
    pub fn generate() -> StoredKey {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut seed = [0u8; SEED_BYTES];
        OsRng.fill_bytes(&mut seed);
        StoredKey::from_seed(&seed)
    }
}

struct KeySet {
    signing: (String, EncodingKey),
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
}

/// Seconds of clock difference allowed on `exp` and `nbf`.
const LEEWAY: i64 = 5;
/// Tokens remembered as verified; the memory is cleared when full.
const VERIFIED_CACHE: usize = 10_000;

pub struct TokenKeys {
    set: RwLock<KeySet>,
    verified: RwLock<HashMap<[u8; 32], Claims>>,
    validation: Validation,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
}

/// Why a token was refused; an unknown `kid` may mean another node has rotated the keys.
#[derive(Debug)]
pub enum Refused {
    UnknownKey,
    Invalid(Error),
}

fn build(keys: &[StoredKey]) -> Result<KeySet> {
    let signing = keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .max_by_key(|k| k.created_at)
        .ok_or_else(|| Error::internal("no active signing key"))?;
    let der = STANDARD
        .decode(&signing.private_key)
        .map_err(|e| Error::internal(format!("signing key {} is not base64: {e}", signing.kid)))?;
    let mut verifying = HashMap::new();
    let mut jwks = Vec::new();
    for k in keys {
        let decoding = DecodingKey::from_ed_components(&k.public_key)
            .map_err(|e| Error::internal(format!("public key {} is unusable: {e}", k.kid)))?;
        verifying.insert(k.kid.clone(), decoding);
        jwks.push(Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: k.public_key.clone(),
            kid: k.kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        });
    }
    Ok(KeySet {
        signing: (signing.kid.clone(), EncodingKey::from_ed_der(&der)),
        verifying,
        jwks: Jwks { keys: jwks },
    })
}

impl TokenKeys {
    /// Keys from the store: the newest unretired one signs, all of them verify.
    pub fn new(keys: &[StoredKey], access_ttl_seconds: i64, refresh_ttl_seconds: i64) -> Result<Self> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY as u64;
        Ok(TokenKeys {
            set: RwLock::new(build(keys)?),
            verified: RwLock::new(HashMap::new()),
            validation,
            access_ttl_seconds,
            refresh_ttl_seconds,
        })
    }

    /// Replaces the key set (after a rotation here or on another node).
    /// Tokens remembered as verified are forgotten, so a key taken out stops working at once.
    pub fn replace(&self, keys: &[StoredKey]) -> Result<()> {
        let set = build(keys)?;
        *self.set.write().map_err(|_| Error::internal("key set lock poisoned"))? = set;
        if let Ok(mut m) = self.verified.write() {
            m.clear();
        }
        Ok(())
    }

    pub fn jwks(&self) -> Result<Jwks> {
        Ok(self.set.read().map_err(|_| Error::internal("key set lock poisoned"))?.jwks.clone())
    }

    pub fn issue(&self, subject: &Subject) -> Result<String> {
        let now = time::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: subject.id.to_string(),
            role: subject.role,
            iat: now,
            nbf: now,
            exp: now + self.access_ttl_seconds,
            jti: Uuid::new_v4().to_string(),
            org: subject.organisation_id,
            region: subject.region_id,
            scope: subject.scope.clone(),
            epoch: subject.epoch,
        };
        let set = self.set.read().map_err(|_| Error::internal("key set lock poisoned"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(set.signing.0.clone());
        jsonwebtoken::encode(&header, &claims, &set.signing.1)
            .map_err(|e| Error::internal(format!("token signing failed: {e}")))
    }

    /// Verifies a token. A token already verified in full is recognised by its SHA-256 digest
    /// (the whole token, byte for byte) until it expires, so a client's repeated requests cost
    /// a hash instead of a signature check.
    pub fn verify(&self, token: &str) -> std::result::Result<Claims, Refused> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = time::now().timestamp();
        if let Some(claims) = self.verified.read().ok().and_then(|m| m.get(&digest).cloned())
            && claims.exp >= now - LEEWAY
            && claims.nbf <= now + LEEWAY
        {
            return Ok(claims);
        }
        let claims = self.verify_signature(token)?;
        if let Ok(mut m) = self.verified.write() {
            if m.len() >= VERIFIED_CACHE {
                m.clear();
            }
            m.insert(digest, claims.clone());
        }
        Ok(claims)
    }

    fn verify_signature(&self, token: &str) -> std::result::Result<Claims, Refused> {
        use jsonwebtoken::errors::ErrorKind;
        let invalid = |detail: &str| Refused::Invalid(Error::unauthenticated(Code::InvalidToken, detail));
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("the access token is invalid"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("the access token is invalid"));
        }
        let kid = header.kid.ok_or_else(|| invalid("the access token names no key"))?;
        let set = self.set.read().map_err(|_| Refused::Invalid(Error::internal("key set lock poisoned")))?;
        let key = set.verifying.get(&kid).ok_or(Refused::UnknownKey)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation).map(|d| d.claims).map_err(|e| {
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the access token has expired",
                ErrorKind::ImmatureSignature => "the access token is not valid yet",
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    "the access token was not issued for this service"
                }
                _ => "the access token is invalid",
            })
        })
    }
}

/// A fresh random secret (48 bytes, base64), e.g. for demo passwords.
pub fn generate_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            id: Uuid::nil(),
            role: Role::Admin,
            organisation_id: None,
            region_id: None,
            scope: None,
            epoch: 0,
        }
    }

    #[test]
    fn tokens_verify_with_their_key_and_survive_rotation() {
        let first = StoredKey::from_seed(&[7; 32]);
        let keys = TokenKeys::new(std::slice::from_ref(&first), 900, 3600).unwrap();
        let token = keys.issue(&subject()).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, Uuid::nil().to_string());

        let mut retired = first.clone();
        retired.retired_at = Some(time::now());
        let second = StoredKey::generate();
        keys.replace(&[retired, second.clone()]).unwrap();
        assert!(keys.verify(&token).is_ok(), "a retired key still verifies");
        let newer = keys.issue(&subject()).unwrap();
        let kid = jsonwebtoken::decode_header(&newer).unwrap().kid.unwrap();
        assert_eq!(kid, second.kid);

        keys.replace(&[second]).unwrap();
        assert!(matches!(keys.verify(&token), Err(Refused::UnknownKey)));
        assert_eq!(keys.jwks().unwrap().keys.len(), 1);
    }

    #[test]
    fn the_same_seed_gives_the_same_kid() {
        assert_eq!(StoredKey::from_seed(&[1; 32]).kid, StoredKey::from_seed(&[1; 32]).kid);
        assert_ne!(StoredKey::from_seed(&[1; 32]).kid, StoredKey::from_seed(&[2; 32]).kid);
    }
}
