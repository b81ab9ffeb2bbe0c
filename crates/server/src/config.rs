//! Configuration from environment variables. A bad value stops start-up with a message that
//! names the variable.

use std::net::SocketAddr;

use tongxing_store::conn::DatabaseUrl;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub jwt_secret: Option<String>,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub pool_size: u32,
    pub max_body_bytes: usize,
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

impl Config {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let bad = |name: &str, why: String| format!("{name}: {why}");
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
        let jwt_secret = get("TONGXING_JWT_SECRET").filter(|s| !s.is_empty());
        if let Some(s) = &jwt_secret
            && s.len() < 32
        {
            return Err(bad("TONGXING_JWT_SECRET", "must be at least 32 bytes".into()));
        }
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let log_format = match var("TONGXING_LOG_FORMAT", "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(bad("TONGXING_LOG_FORMAT", format!("`{other}` is neither `text` nor `json`")));
            }
        };
        let default_pool = if database_url.backend() == tongxing_store::Backend::Sqlite { 8 } else { 16 };
        Ok(Config {
            database_url,
            bind,
            jwt_secret,
            access_token_ttl: number("TONGXING_ACCESS_TOKEN_TTL", 900, 60, 86_400)?,
            refresh_token_ttl: number("TONGXING_REFRESH_TOKEN_TTL", 2_592_000, 3_600, 31_536_000)?,
            pool_size: u32::try_from(number("TONGXING_DB_POOL_SIZE", default_pool, 1, 512)?).unwrap_or(8),
            max_body_bytes: usize::try_from(number("TONGXING_MAX_BODY_BYTES", 262_144, 1_024, 16_777_216)?)
                .unwrap_or(262_144),
            workers: usize::try_from(number("TONGXING_WORKERS", default_workers as i64, 1, 256)?)
                .unwrap_or(2),
            log_format,
            log_filter: var("TONGXING_LOG", "info"),
        })
    }
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
            ("TONGXING_JWT_SECRET", "short"),
            ("TONGXING_LOG_FORMAT", "xml"),
            ("TONGXING_ACCESS_TOKEN_TTL", "5"),
        ] {
            let err = with(&[(k, v)]).unwrap_err();
            assert!(err.starts_with(k), "{err}");
        }
    }
}
