//! `tongxing`: serve (the default), migrate, openapi, create-admin.

use std::io::{IsTerminal, Read};
use std::net::TcpListener;
use std::process::ExitCode;

use tongxing::{Config, Options, Serving, config::LogFormat, prepare, start};
use tongxing_core::role::Role;

const USAGE: &str = "\
tongxing — child-welfare volunteer programme service

usage:
  tongxing [serve]                       run the service (migrates first)
  tongxing migrate                       apply database migrations and exit
  tongxing openapi                       print the OpenAPI contract
  tongxing create-admin --username NAME  create an administrator; the password is read
                                         from stdin (or prompted for on a terminal)
  tongxing seed-demo                     load the synthetic demo dataset into an empty database
  tongxing rotate-key                    add a new token signing key and retire the others
                                         (tokens already issued stay valid until they expire)
  tongxing backup --to PATH              copy a SQLite database into a new file, online and
                                         consistent, while the service keeps writing
  tongxing audit archive --before YYYY-MM --to DIR
                                         export every month of the audit log before YYYY-MM
                                         (UTC) into DIR/audit-YYYY-MM.jsonl.gz (+ .sha256),
                                         then remove it from the database

configuration: environment variables, see README.md (DATABASE_URL, TONGXING_BIND, ...)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if command == "openapi" {
        return match tongxing_api::contract().to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("cannot render the spec: {e}")),
        };
    }
    if matches!(command, "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(format!("configuration error: {e}")),
    };
    init_tracing(&config);
    let result = match command {
        "serve" => serve(config),
        "migrate" => migrate(config),
        "create-admin" => create_admin(config, &args[1..]),
        "seed-demo" => seed_demo(config),
        "rotate-key" => rotate_key(config),
        "backup" => backup(config, &args[1..]),
        "audit" => audit(config, &args[1..]),
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("tongxing: {message}");
    ExitCode::FAILURE
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn state_of(config: &Config) -> Result<tongxing_api::AppState, String> {
    prepare(&config.database_url, &Options::from_config(config))
}

fn serve(config: Config) -> Result<(), String> {
    let state = state_of(&config)?;
    let listener =
        TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    tracing::info!(
        address = %config.bind,
        backend = state.db.backend().as_str(),
        docs = %format!("http://{}/docs/", config.bind),
        "serving"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let system = actix_web::rt::System::with_tokio_rt(move || runtime);
    let audit = state.audit.clone();
    let serving = Serving::from_config(&config);
    system
        .block_on(async move { start(listener, state, serving)?.await })
        .map_err(|e| format!("server error: {e}"))?;
    // Requests have finished: write the audit entries still pending before exiting.
    audit.flush_blocking();
    tracing::info!("stopped");
    Ok(())
}

fn migrate(config: Config) -> Result<(), String> {
    // The job that migrates: whatever TONGXING_MIGRATE_ON_START says for the nodes.
    prepare(&config.database_url, &Options { migrate_on_start: true, ..Options::from_config(&config) })?;
    println!("database is up to date");
    Ok(())
}

fn backup(config: Config, args: &[String]) -> Result<(), String> {
    let to = match args {
        [flag, path] if flag == "--to" => std::path::PathBuf::from(path),
        _ => return Err(format!("usage: tongxing backup --to PATH\n\n{USAGE}")),
    };
    // The database as it is: no migration, no setup, so a backup never changes what it copies;
    // and one that is not there is not made (an empty copy of a mistyped path is no backup).
    if let tongxing_store::conn::DatabaseUrl::Sqlite(path) = &config.database_url
        && !std::path::Path::new(path).is_file()
    {
        return Err(format!("no database at {path}"));
    }
    let db = tongxing_store::Db::connect(&config.database_url, 1)?;
    let started = std::time::Instant::now();
    db.backup_to(&to)?;
    let bytes = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
    println!("backed up into {} ({bytes} bytes, {} ms)", to.display(), started.elapsed().as_millis());
    Ok(())
}

fn audit(config: Config, args: &[String]) -> Result<(), String> {
    let usage = || format!("usage: tongxing audit archive --before YYYY-MM --to DIR\n\n{USAGE}");
    let [command, options @ ..] = args else { return Err(usage()) };
    if command != "archive" {
        return Err(usage());
    }
    let (mut before, mut to) = (None, None);
    for pair in options.chunks(2) {
        match pair {
            [flag, value] if flag == "--before" => {
                before = Some(tongxing_accounts::archive::parse_month(value)?)
            }
            [flag, value] if flag == "--to" => to = Some(std::path::PathBuf::from(value)),
            _ => return Err(usage()),
        }
    }
    let (Some(before), Some(to)) = (before, to) else { return Err(usage()) };
    let state = state_of(&config)?;
    // One archive at a time in a deployment (and none while a node sets the database up).
    let _one = tongxing_store::conn::SetupLock::acquire(&config.database_url)?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let done = tongxing_accounts::archive::archive(&mut conn, before, &to)?;
    if done.is_empty() {
        println!("no audit entries before {} left to archive", before.format("%Y-%m"));
    }
    for month in done {
        println!(
            "archived {}: {} entries into {} (sha256 {})",
            month.month,
            month.entries,
            month.file.display(),
            month.sha256
        );
    }
    Ok(())
}

fn rotate_key(config: Config) -> Result<(), String> {
    if config.signing_key.is_some() {
        return Err("TONGXING_SIGNING_KEY is set: rotate by changing it instead".into());
    }
    let state = state_of(&config)?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let kid = tongxing_accounts::keys::rotate(&mut conn).map_err(|e| e.to_string())?;
    println!("new signing key {kid}; running nodes pick it up when they first meet a token it signed");
    Ok(())
}

fn seed_demo(config: Config) -> Result<(), String> {
    let state = state_of(&config)?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let loaded = tongxing::demo::load(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "loaded the demo dataset: {} children in {} households, {} mentor pairings, {} events",
        loaded.children, loaded.households, loaded.pairings, loaded.events
    );
    Ok(())
}

fn create_admin(config: Config, args: &[String]) -> Result<(), String> {
    let username = match args {
        [flag, name] if flag == "--username" => name.clone(),
        _ => return Err("usage: tongxing create-admin --username NAME".into()),
    };
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).map_err(|e| format!("cannot read the password: {e}"))?;
        buf.trim_end_matches(['\r', '\n']).to_owned()
    };
    let state = state_of(&config)?;
    let mut conn = state.db.conn().map_err(|e| e.to_string())?;
    let input = tongxing_accounts::users::UserInput {
        id: None,
        username: username.clone(),
        display_name: username,
        role: Role::Admin,
        organisation_id: None,
        region_id: None,
        password,
    };
    let user = tongxing_store::transaction(&mut conn, |c| tongxing_accounts::users::create(c, input))
        .map_err(|e| match e {
            tongxing_core::Error::Validation(errs) => {
                errs.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
            }
            other => other.to_string(),
        })?;
    println!("created administrator {} ({})", user.username, user.id);
    Ok(())
}
