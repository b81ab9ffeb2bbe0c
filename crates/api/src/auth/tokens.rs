//! JWT access tokens: HS256 over a key of at least 32 bytes, with issuer, audience, expiry and
//! not-before all required and checked. Only HS256 is accepted, so `alg: none` and algorithm
//! confusion are refused.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, time};
use uuid::Uuid;

pub const ISSUER: &str = "tongxing";
pub const AUDIENCE: &str = "tongxing-api";
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_seconds: i64, refresh_ttl_seconds: i64) -> Result<Self> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(Error::internal(format!("the signing key must have at least {MIN_KEY_BYTES} bytes")));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret).map_err(key_error)?,
            decoding: DecodingKey::from_secret(secret).map_err(key_error)?,
            validation,
            access_ttl_seconds,
            refresh_ttl_seconds,
        })
    }

    pub fn issue(&self, user: Uuid, role: Role) -> Result<String> {
        let now = time::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            role,
            iat: now,
            nbf: now,
            exp: now + self.access_ttl_seconds,
            jti: Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal(format!("token signing failed: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Claims> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(
            |e| {
                let detail = match e.kind() {
                    ErrorKind::ExpiredSignature => "the access token has expired",
                    ErrorKind::ImmatureSignature => "the access token is not valid yet",
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                        "the access token was not issued for this service"
                    }
                    _ => "the access token is invalid",
                };
                Error::unauthenticated("invalid_token", detail)
            },
        )
    }
}

fn key_error(e: jsonwebtoken::errors::Error) -> Error {
    Error::internal(format!("bad signing key: {e}"))
}

/// A fresh random signing key (48 bytes, base64), for installations that configure none.
pub fn generate_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    use base64::Engine;
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
