//! The Tongxing service: configuration, start-up and the HTTP server. `main.rs` adds the
//! command line; the end-to-end tests start the same server on port 0.

pub mod config;
pub mod demo;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tongxing_accounts::keys;
use tongxing_accounts::tokens::TokenKeys;
use tongxing_api::AppState;
use tongxing_api::body::BodyTimeout;
use tongxing_api::limits::Limits;
use tongxing_api::security::CorsOrigins;
use tongxing_store::Db;
use tongxing_store::conn::DatabaseUrl;
use tongxing_store::replica::Replica;

pub use config::Config;

/// The reference region tree (Xianning and the places the programmes name), loaded at start-up.
pub const REFERENCE_REGIONS: &str = include_str!("../../../data/regions-xianning.csv");

/// The published statutory holiday arrangements, loaded at start-up (admins add later years).
pub const HOLIDAYS: &str = include_str!("../../../data/holidays-cn.csv");

/// What [`prepare`] needs beyond the database URL.
#[derive(Debug, Clone)]
pub struct Options {
    pub pool_size: u32,
    /// Base64 of a 32-byte Ed25519 seed; generated and kept in the database when absent.
    pub signing_key: Option<String>,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub client_rate_limit: u32,
    pub login_failures_per_address: u32,
    /// Reports withhold figures resting on fewer children than this from callers who may not
    /// read those children.
    pub small_cell_threshold: u32,
    /// How large an uploaded register may be.
    pub import_limits: tongxing_registers::sheet::Limits,
    /// How long an `Idempotency-Key` lives, in seconds.
    pub idempotency_window: i64,
    /// The language of problem answers when `Accept-Language` names none served.
    pub default_language: tongxing_api::i18n::Lang,
    /// The proxies whose forwarded client addresses are believed.
    pub trusted_proxies: tongxing_api::client_address::TrustedProxies,
    /// A streaming replica for reports and the alert list, used while its lag is at most
    /// `replica_max_lag`.
    pub replica_url: Option<DatabaseUrl>,
    pub replica_max_lag: std::time::Duration,
    /// Whether starting applies pending migrations (`TONGXING_MIGRATE_ON_START`); when not, a
    /// database that lacks one is refused, and `tongxing migrate` applies them.
    pub migrate_on_start: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pool_size: 4,
            signing_key: None,
            access_ttl: 900,
            refresh_ttl: 86_400,
            client_rate_limit: 600,
            login_failures_per_address: 20,
            small_cell_threshold: 5,
            import_limits: tongxing_registers::sheet::Limits::default(),
            idempotency_window: tongxing_api::state::IDEMPOTENCY_WINDOW_SECONDS,
            default_language: tongxing_api::i18n::Lang::ZhCn,
            trusted_proxies: Default::default(),
            replica_url: None,
            replica_max_lag: std::time::Duration::from_secs(5),
            migrate_on_start: true,
        }
    }
}

impl Options {
    pub fn from_config(c: &Config) -> Options {
        Options {
            pool_size: c.pool_size,
            signing_key: c.signing_key.clone(),
            access_ttl: c.access_token_ttl,
            refresh_ttl: c.refresh_token_ttl,
            client_rate_limit: c.client_rate_limit,
            login_failures_per_address: c.login_failures_per_address,
            small_cell_threshold: c.small_cell_threshold,
            import_limits: tongxing_registers::sheet::Limits {
                max_bytes: c.import_max_bytes,
                max_rows: c.import_max_rows,
            },
            idempotency_window: c.idempotency_window,
            default_language: c.default_language,
            trusted_proxies: c.trusted_proxies.clone(),
            replica_url: c.replica_url.clone(),
            replica_max_lag: c.replica_max_lag,
            migrate_on_start: c.migrate_on_start,
        }
    }
}

/// Connects, migrates (unless told not to), loads the reference regions, and sets up the
/// signing keys, under the deployment-wide setup lock: nodes starting together, and migration
/// jobs, do this one after another.
pub fn prepare(url: &DatabaseUrl, options: &Options) -> Result<AppState, String> {
    let setup = tongxing_store::conn::SetupLock::acquire(url)?;
    let db = Db::connect(url, options.pool_size)?;
    if options.migrate_on_start {
        let applied = db.migrate().map_err(|e| e.to_string())?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "migrations applied");
        }
    } else {
        let pending = db.pending_migrations().map_err(|e| e.to_string())?;
        if !pending.is_empty() {
            return Err(format!(
                "the database lacks migrations {pending:?} and TONGXING_MIGRATE_ON_START is false: run `tongxing migrate` first"
            ));
        }
    }
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let added = tongxing_store::transaction(&mut conn, |c| {
        tongxing_cases::regions::seed_reference(c, REFERENCE_REGIONS)
    })
    .map_err(|e| format!("cannot load the reference regions: {e}"))?;
    if added > 0 {
        tracing::info!(added, "reference regions loaded");
    }
    let added = tongxing_store::transaction(&mut conn, |c| tongxing_pairing::holidays::seed(c, HOLIDAYS))
        .map_err(|e| format!("cannot load the holiday calendar: {e}"))?;
    if added > 0 {
        tracing::info!(added, "holiday periods loaded");
    }
    let built = tongxing_pairing::tallies::build_missing(&mut conn)
        .map_err(|e| format!("cannot build the compliance tallies: {e}"))?;
    if built > 0 {
        tracing::info!(rules = built, "compliance tallies built");
    }
    tongxing_accounts::archive::prepare_partitions(&mut conn)
        .map_err(|e| format!("cannot make the audit log's partitions: {e}"))?;
    db.optimize().map_err(|e| format!("cannot analyse the database: {e}"))?;
    // A SQLite connection reads the statistics when it opens: serve from connections opened
    // after the analysis (the pool renews its connections every 30 minutes, so later analyses
    // reach them too).
    drop(conn);
    let mut db = Db::connect(url, options.pool_size)?;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    // And again every hour, as the data grows, for as long as the service holds the database.
    db.keep_statistics(url, std::time::Duration::from_secs(3600))?;
    // A configured key becomes the signing key; with none, one is generated once and kept in
    // the database, so restarts and every node over the same database share it.
    let configured =
        options.signing_key.as_deref().map(keys::parse_configured).transpose().map_err(|e| e.to_string())?;
    keys::ensure(&mut conn, configured).map_err(|e| format!("cannot set up the signing keys: {e}"))?;
    drop(setup);
    let stored = keys::load(&mut conn, options.access_ttl).map_err(|e| e.to_string())?;
    let token_keys =
        TokenKeys::new(&stored, options.access_ttl, options.refresh_ttl).map_err(|e| e.to_string())?;
    let limits = Limits::new(options.client_rate_limit, options.login_failures_per_address);
    let replica = options
        .replica_url
        .as_ref()
        .map(|replica| Replica::start(url, replica, options.replica_max_lag, (options.pool_size / 2).max(1)))
        .transpose()?;
    let state = AppState::new(db, token_keys, limits)
        .with_idempotency_window(options.idempotency_window)
        .with_default_language(options.default_language)
        .with_trusted_proxies(options.trusted_proxies.clone())
        .with_import_limits(options.import_limits)
        .with_small_cell_threshold(options.small_cell_threshold)?;
    Ok(match replica {
        Some(replica) => state.with_replica(replica),
        None => state,
    })
}

/// How the HTTP server takes requests.
#[derive(Debug, Clone)]
pub struct Serving {
    /// The largest request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// The longest pause while a request body is arriving; longer, 408 and the connection closes.
    pub body_timeout: std::time::Duration,
    pub workers: usize,
    /// Browser origins allowed by CORS.
    pub cors_origins: Vec<String>,
}

impl Serving {
    pub fn from_config(c: &Config) -> Serving {
        Serving {
            max_body_bytes: c.max_body_bytes,
            body_timeout: std::time::Duration::from_secs(c.body_timeout),
            workers: c.workers,
            cors_origins: c.cors_origins.clone(),
        }
    }
}

/// Starts serving on `listener`. SIGTERM and SIGINT stop accepting connections and let
/// requests in flight finish (up to 30 seconds).
pub fn start(listener: TcpListener, state: AppState, serving: Serving) -> std::io::Result<Server> {
    let cors = web::Data::new(CorsOrigins(serving.cors_origins));
    let body_timeout = BodyTimeout(serving.body_timeout);
    let max_body_bytes = serving.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(cors.clone())
            .app_data(body_timeout)
            .wrap(from_fn(tongxing_api::middleware::head))
            .wrap(from_fn(tongxing_api::i18n::localize))
            .wrap(from_fn(tongxing_api::body::paced))
            .wrap(from_fn(tongxing_api::security::protect))
            .wrap(from_fn(tongxing_api::middleware::observe))
            .configure(tongxing_api::configure(state.clone(), max_body_bytes))
    })
    .workers(serving.workers)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
