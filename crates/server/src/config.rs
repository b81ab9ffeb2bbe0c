//! Configuration from environment variables. A bad value stops start-up with a message that
//! names the variable.

use std::net::SocketAddr;

use tongxing_store::conn::DatabaseUrl;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// Base64 of a 32-byte Ed25519 seed; generated and kept in the database when absent.
    pub signing_key: Option<String>,
    /// `TONGXING_ENV=production`: refuses weak configuration instead of warning.
    pub production: bool,
    /// Browser origins allowed by CORS.
    pub cors_origins: Vec<String>,
    /// A streaming replica of the PostgreSQL primary for reports and the alert list.
    pub replica_url: Option<DatabaseUrl>,
    /// The replica is used while its lag is at most this (`TONGXING_REPLICA_MAX_LAG`, seconds).
    pub replica_max_lag: std::time::Duration,
    /// Whether `serve` applies pending migrations first (`TONGXING_MIGRATE_ON_START`, true).
    pub migrate_on_start: bool,
    /// The proxies whose `Forwarded`/`X-Forwarded-For` name the client (none by default).
    pub trusted_proxies: tongxing_api::client_address::TrustedProxies,
    /// Requests per minute per partner API client.
    pub client_rate_limit: u32,
    /// Failed logins per network address per fifteen minutes before 429.
    pub login_failures_per_address: u32,
    /// Reports withhold figures resting on fewer children than this (2 to 100) from callers who
    /// may not read those children.
    pub small_cell_threshold: u32,
    /// An uploaded register's size (`TONGXING_IMPORT_MAX_BYTES`, 10 MB) and data rows
    /// (`TONGXING_IMPORT_MAX_ROWS`, 50,000).
    pub import_max_bytes: usize,
    pub import_max_rows: usize,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// How long an `Idempotency-Key` and its stored answer live, in seconds.
    pub idempotency_window: i64,
    /// The language of problem answers when `Accept-Language` names none served.
    pub default_language: tongxing_api::i18n::Lang,
    pub pool_size: u32,
    pub max_body_bytes: usize,
    /// The longest pause while a request body is arriving, in seconds.
    pub body_timeout: u64,
    pub workers: usize,
    pub log_format: LogFormat,
    pub log_filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://tongxing.db";

/// The variables that may also be given as a file's content (`<NAME>_FILE`).
const SECRETS: [&str; 3] = ["DATABASE_URL", "TONGXING_SIGNING_KEY", "TONGXING_REPLICA_URL"];

impl Config {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let bad = |name: &str, why: String| format!("{name}: {why}");
        // Secrets may come from a file (`DATABASE_URL_FILE`, `TONGXING_SIGNING_KEY_FILE`), as
        // container platforms mount them; its last line break is not part of the value.
        let get = |name: &str| -> Result<Option<String>, String> {
            let file = format!("{name}_FILE");
            match (get(name), get(&file).filter(|_| SECRETS.contains(&name))) {
                (Some(_), Some(_)) => Err(bad(name, format!("set {name} or {file}, not both"))),
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map(|v| Some(v.trim_end_matches(['\n', '\r']).to_owned()))
                    .map_err(|e| bad(&file, format!("cannot read {path}: {e}"))),
                (value, None) => Ok(value),
            }
        };
        for name in SECRETS {
            get(name)?;
        }
        let get = |name: &str| get(name).ok().flatten();
        let var = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let number = |name: &str, default: i64, min: i64, max: i64| -> Result<i64, String> {
            let raw = var(name, &default.to_string());
            let n: i64 =
                raw.trim().parse().map_err(|_| bad(name, format!("`{raw}` is not a whole number")))?;
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(bad(name, format!("must be between {min} and {max}")))
            }
        };
        let database_url = DatabaseUrl::parse(&var("DATABASE_URL", DEFAULT_DATABASE_URL))
            .map_err(|e| bad("DATABASE_URL", e))?;
        let bind_raw = var("TONGXING_BIND", "127.0.0.1:8080");
        let bind = bind_raw.parse().map_err(|_| {
            bad("TONGXING_BIND", format!("`{bind_raw}` is not an address:port such as 127.0.0.1:8080"))
        })?;
        if get("TONGXING_JWT_SECRET").is_some() {
            return Err(bad(
                "TONGXING_JWT_SECRET",
                "tokens are now signed with Ed25519; set TONGXING_SIGNING_KEY (base64 of 32 random bytes) or leave it unset".into(),
            ));
        }
        let production = match var("TONGXING_ENV", "development").as_str() {
            "production" => true,
            "development" => false,
            other => {
                return Err(bad(
                    "TONGXING_ENV",
                    format!("`{other}` is neither `development` nor `production`"),
                ));
            }
        };
        let signing_key = get("TONGXING_SIGNING_KEY").filter(|s| !s.is_empty());
        if let Some(k) = &signing_key {
            check_signing_key(k, production).map_err(|why| bad("TONGXING_SIGNING_KEY", why))?;
        }
        let cors_origins: Vec<String> = var("TONGXING_CORS_ORIGINS", "")
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if let Some(o) = cors_origins
            .iter()
            .find(|o| !(o.starts_with("https://") || o.starts_with("http://")) || *o == "*")
        {
            return Err(bad(
                "TONGXING_CORS_ORIGINS",
                format!("`{o}` is not an origin such as https://app.example.org"),
            ));
        }
        use tongxing_api::client_address::{ForwardedHeader, TrustedProxies};
        let forwarded_header = ForwardedHeader::parse(&var("TONGXING_FORWARDED_HEADER", "x-forwarded-for"))
            .map_err(|why| bad("TONGXING_FORWARDED_HEADER", why))?;
        let trusted_proxies = TrustedProxies::parse(&var("TONGXING_TRUSTED_PROXIES", ""))
            .map_err(|why| bad("TONGXING_TRUSTED_PROXIES", why))?
            .reading(forwarded_header);
        let migrate_on_start = match var("TONGXING_MIGRATE_ON_START", "true").as_str() {
            "true" => true,
            "false" => false,
            other => {
                return Err(bad(
                    "TONGXING_MIGRATE_ON_START",
                    format!("`{other}` is neither `true` nor `false`"),
                ));
            }
        };
        let replica_url = match get("TONGXING_REPLICA_URL").filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(raw) => match DatabaseUrl::parse(&raw) {
                Ok(url @ DatabaseUrl::Postgres(_))
                    if database_url.backend() == tongxing_store::Backend::Postgres =>
                {
                    Some(url)
                }
                Ok(DatabaseUrl::Postgres(_)) => {
                    return Err(bad(
                        "TONGXING_REPLICA_URL",
                        "a read replica needs a PostgreSQL DATABASE_URL".into(),
                    ));
                }
                Ok(_) => return Err(bad("TONGXING_REPLICA_URL", "is not a postgres:// URL".into())),
                Err(why) => return Err(bad("TONGXING_REPLICA_URL", why)),
            },
        };
        let replica_max_lag = std::time::Duration::from_secs(
            u64::try_from(number("TONGXING_REPLICA_MAX_LAG", 5, 1, 60)?).unwrap_or(5),
        );
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let log_format = match var("TONGXING_LOG_FORMAT", "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(bad("TONGXING_LOG_FORMAT", format!("`{other}` is neither `text` nor `json`")));
            }
        };
        let default_language = match var("TONGXING_DEFAULT_LANGUAGE", "zh-CN").as_str() {
            "zh-CN" => tongxing_api::i18n::Lang::ZhCn,
            "en" => tongxing_api::i18n::Lang::En,
            other => {
                return Err(bad(
                    "TONGXING_DEFAULT_LANGUAGE",
                    format!("`{other}` is neither `zh-CN` nor `en`"),
                ));
            }
        };
        let default_pool = if database_url.backend() == tongxing_store::Backend::Sqlite { 8 } else { 16 };
        Ok(Config {
            database_url,
            bind,
            signing_key,
            production,
            cors_origins,
            migrate_on_start,
            replica_url,
            replica_max_lag,
            trusted_proxies,
            client_rate_limit: u32::try_from(number("TONGXING_CLIENT_RATE_LIMIT", 600, 1, 1_000_000)?)
                .unwrap_or(600),
            login_failures_per_address: u32::try_from(number(
                "TONGXING_LOGIN_FAILURES_PER_ADDRESS",
                20,
                1,
                10_000,
            )?)
            .unwrap_or(20),
            small_cell_threshold: u32::try_from(number("TONGXING_SMALL_CELL_THRESHOLD", 5, 2, 100)?)
                .unwrap_or(5),
            import_max_bytes: usize::try_from(number(
                "TONGXING_IMPORT_MAX_BYTES",
                10_485_760,
                1_024,
                104_857_600,
            )?)
            .unwrap_or(10_485_760),
            import_max_rows: usize::try_from(number("TONGXING_IMPORT_MAX_ROWS", 50_000, 1, 500_000)?)
                .unwrap_or(50_000),
            access_token_ttl: number("TONGXING_ACCESS_TOKEN_TTL", 900, 60, 86_400)?,
            refresh_token_ttl: number("TONGXING_REFRESH_TOKEN_TTL", 2_592_000, 3_600, 31_536_000)?,
            idempotency_window: number("TONGXING_IDEMPOTENCY_WINDOW", 86_400, 60, 2_592_000)?,
            default_language,
            pool_size: u32::try_from(number("TONGXING_DB_POOL_SIZE", default_pool, 1, 512)?).unwrap_or(8),
            max_body_bytes: usize::try_from(number("TONGXING_MAX_BODY_BYTES", 262_144, 1_024, 16_777_216)?)
                .unwrap_or(262_144),
            body_timeout: u64::try_from(number("TONGXING_BODY_TIMEOUT", 10, 1, 300)?).unwrap_or(10),
            workers: usize::try_from(number("TONGXING_WORKERS", default_workers as i64, 1, 256)?)
                .unwrap_or(2),
            log_format,
            log_filter: var("TONGXING_LOG", "info"),
        })
    }
}

/// The documented example key (README, compose file): never acceptable in production.
pub const EXAMPLE_SIGNING_KEY: &str = "dG9uZ3hpbmctZXhhbXBsZS1rZXktZG8tbm90LXVzZSE=";

/// A configured signing key must be 32 bytes of base64; in production it must also not be the
/// documented example or a low-entropy value (fewer than 16 distinct bytes).
fn check_signing_key(value: &str, production: bool) -> Result<(), String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "must be base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
    if bytes.len() != 32 {
        return Err(format!("must be 32 bytes, not {}", bytes.len()));
    }
    let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
    let weak = value.trim() == EXAMPLE_SIGNING_KEY || distinct < 16;
    if weak && production {
        return Err(
            "is the documented example or not random; production needs `openssl rand -base64 32`".into()
        );
    }
    if weak {
        tracing::warn!(
            "TONGXING_SIGNING_KEY is the documented example or not random; fine for development only"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = std::env::temp_dir().join(format!("tongxing-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("database_url");
        std::fs::write(&url, "postgres://tongxing:s3cret@db:5432/tongxing\n").unwrap();
        let path = url.display().to_string();
        let c = with(&[("DATABASE_URL_FILE", &path)]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Postgres("postgres://tongxing:s3cret@db:5432/tongxing".into())
        );
        let both = with(&[("DATABASE_URL_FILE", &path), ("DATABASE_URL", "sqlite://x.db")]).unwrap_err();
        assert!(both.contains("not both"), "{both}");
        let missing = with(&[("TONGXING_SIGNING_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert!(missing.starts_with("TONGXING_SIGNING_KEY_FILE: cannot read"), "{missing}");
        // Only secrets: another variable's _FILE means nothing.
        assert_eq!(with(&[("TONGXING_BIND_FILE", &path)]).unwrap().bind.to_string(), "127.0.0.1:8080");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_replica_is_of_a_postgresql_primary() {
        let primary = ("DATABASE_URL", "postgres://db/tongxing");
        let c = with(&[primary, ("TONGXING_REPLICA_URL", "postgres://replica/tongxing")]).unwrap();
        assert_eq!(c.replica_url, Some(DatabaseUrl::Postgres("postgres://replica/tongxing".into())));
        assert_eq!(c.replica_max_lag, std::time::Duration::from_secs(5));
        let sqlite = with(&[primary, ("TONGXING_REPLICA_URL", "replica.db")]).unwrap_err();
        assert!(sqlite.contains("not a postgres:// URL"), "{sqlite}");
        assert_eq!(with(&[primary, ("TONGXING_REPLICA_URL", "")]).unwrap().replica_url, None);
        // The URL may hold a password: refusals never echo it.
        let refused = with(&[("TONGXING_REPLICA_URL", "postgres://u:s3cret@replica/t")]).unwrap_err();
        assert!(!refused.contains("s3cret"), "{refused}");
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("tongxing.db".into()));
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (k, v) in [
            ("TONGXING_BIND", "localhost"),
            ("DATABASE_URL", "mysql://x"),
            ("TONGXING_DB_POOL_SIZE", "lots"),
            ("TONGXING_JWT_SECRET", "an-old-hs256-secret-that-is-long-enough"),
            ("TONGXING_SIGNING_KEY", "c2hvcnQ="),
            ("TONGXING_ENV", "staging"),
            ("TONGXING_CORS_ORIGINS", "*"),
            ("TONGXING_LOG_FORMAT", "xml"),
            ("TONGXING_ACCESS_TOKEN_TTL", "5"),
            ("TONGXING_SMALL_CELL_THRESHOLD", "1"),
            ("TONGXING_BODY_TIMEOUT", "0"),
            ("TONGXING_IDEMPOTENCY_WINDOW", "10"),
            ("TONGXING_REPLICA_URL", "postgres://replica/tongxing"),
            ("TONGXING_REPLICA_MAX_LAG", "0"),
            ("TONGXING_REPLICA_MAX_LAG", "61"),
        ] {
            let err = with(&[(k, v)]).unwrap_err();
            assert!(err.starts_with(k), "{err}");
        }
    }

    #[test]
    fn production_refuses_example_and_weak_keys() {
        let weak = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        for key in [EXAMPLE_SIGNING_KEY, weak] {
            let err = with(&[("TONGXING_ENV", "production"), ("TONGXING_SIGNING_KEY", key)]).unwrap_err();
            assert!(err.starts_with("TONGXING_SIGNING_KEY"), "{err}");
            assert!(with(&[("TONGXING_SIGNING_KEY", key)]).is_ok(), "development only warns");
        }
        let good = "q8W4yJ0Xbq2m3ZsT1cE9vR7nL5pK6hG0fD2aS4uY8iQ=";
        assert!(with(&[("TONGXING_ENV", "production"), ("TONGXING_SIGNING_KEY", good)]).is_ok());
        let short = "c2hvcnQta2V5";
        assert!(with(&[("TONGXING_ENV", "production"), ("TONGXING_SIGNING_KEY", short)]).is_err());
    }
}
