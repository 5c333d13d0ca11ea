//! The SQLite file: WAL mode, one writer connection and a few readers, migrations embedded in
//! the binary and applied on open. Blocking SQLite calls run on tokio's blocking pool.

use dealpulse_domain::ports::StoreError;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Ordered migrations; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_accounts.sql"),
    include_str!("migrations/0002_rules_and_catalog.sql"),
    include_str!("migrations/0003_sources.sql"),
    include_str!("migrations/0004_api_key_scopes.sql"),
    include_str!("migrations/0005_deliveries.sql"),
    include_str!("migrations/0006_counters.sql"),
    include_str!("migrations/0007_products_by_host.sql"),
];

const READERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database schema (version {found}) is newer than this binary knows ({known})")]
    SchemaTooNew { found: usize, known: usize },
}

struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// A shared handle to the database file.
#[derive(Clone)]
pub struct Database {
    pool: Arc<Pool>,
    path: PathBuf,
}

fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave SQLite itself inconsistent (transactions roll
    // back on drop), so the connection stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(connection: &mut Connection) -> Result<(), DbError> {
    let current: usize =
        connection.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(DbError::SchemaTooNew {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", (index + 1) as i64)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}

impl Database {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DbError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(std::time::Duration::from_secs(5))?;
            readers.push(Mutex::new(reader));
        }
        Ok(Self {
            pool: Arc::new(Pool {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with the writer connection (serialised) on the blocking pool.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || work(&mut lock(&pool.writer)))
            .await
            .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }

    /// Runs `work` with one of the reader connections on the blocking pool.
    pub async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || {
            let start = pool.next_reader.fetch_add(1, Ordering::Relaxed);
            for offset in 0..pool.readers.len() {
                if let Ok(connection) =
                    pool.readers[(start + offset) % pool.readers.len()].try_lock()
                {
                    return work(&connection);
                }
            }
            work(&lock(&pool.readers[start % pool.readers.len()]))
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }
}

/// Maps SQLite failures: constraint violations are conflicts, the rest is unavailability.
pub fn store_error(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &error {
        if failure.code == rusqlite::ErrorCode::ConstraintViolation {
            return StoreError::Conflict("a record with this key already exists");
        }
    }
    StoreError::Unavailable(error.to_string())
}

pub fn ts_out(timestamp: Timestamp) -> String {
    timestamp.to_string()
}

pub fn ts_in(text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

pub fn ts_in_opt(text: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    text.as_deref().map(ts_in).transpose()
}

/// Parses a stored value with its domain parser, reporting corruption if it no longer parses.
pub fn parsed<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
