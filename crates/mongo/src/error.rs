//! The one mapping from driver errors to [`RepositoryError`], and the one place every
//! driver operation runs: bounded by the operation time-out and timed.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use mongodb::error::{Error, ErrorKind, WriteFailure};
use tether_domain::RepositoryError;

/// Name of the histogram of store operation durations, labelled by `operation`.
pub(crate) const STORE_OPERATION_SECONDS: &str = "tether_store_operation_seconds";

/// Runs one driver operation within `limit`: its error goes through
/// [`map_driver_error`]; running out of time is [`RepositoryError::Unavailable`] (the
/// driver's own time-outs do not cover a server that accepts and then never answers).
/// The duration is recorded under `operation`, a fixed name such as `users.find_one`.
pub(crate) async fn bounded<T>(
    operation: &'static str,
    limit: Duration,
    action: impl IntoFuture<Output = Result<T, Error>>,
) -> Result<T, RepositoryError> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(limit, action.into_future()).await;
    metrics::histogram!(STORE_OPERATION_SECONDS, "operation" => operation).record(started.elapsed());
    match outcome {
        Ok(result) => result.map_err(map_driver_error),
        Err(_) => Err(RepositoryError::Unavailable(format!(
            "MongoDB did not answer {operation} within {} ms",
            limit.as_millis()
        ))),
    }
}

/// MongoDB's duplicate key error code.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// Server error codes meaning "not reachable / not answering in time / not able to
/// serve right now": host unreachable or not found, network time-out, max time expired,
/// exceeded time limit, socket exception, shutdown in progress, stepped down, not
/// primary, node recovering.
const UNAVAILABLE_CODES: [i32; 13] = [
    6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Maps a driver error to the port's error.
///
/// - duplicate key (11000), as a command error, a write error or inside the write
///   errors of a bulk insert → [`RepositoryError::Duplicate`];
/// - server selection failure, I/O and connection errors, DNS failures, pool clears,
///   time-outs → [`RepositoryError::Unavailable`] with a short fixed message (never the
///   driver's text, which may name hosts of the connection string);
/// - anything else → [`RepositoryError::Unexpected`] with the error kind's description.
pub(crate) fn map_driver_error(error: Error) -> RepositoryError {
    if is_duplicate_key(&error) {
        return RepositoryError::Duplicate;
    }
    if let Some(reason) = unavailable_reason(&error) {
        return RepositoryError::Unavailable(reason);
    }
    RepositoryError::Unexpected(format!("MongoDB: {}", error.kind))
}

/// Whether the error (or one of the write errors it carries) is a duplicate key.
fn is_duplicate_key(error: &Error) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e.write_errors.iter().flatten().any(|w| w.code == DUPLICATE_KEY),
        ErrorKind::BulkWrite(e) => e.write_errors.values().any(|w| w.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// A short description when the error means the server cannot be reached or did not
/// answer in time.
fn unavailable_reason(error: &Error) -> Option<String> {
    let reason = match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => "no MongoDB server could be selected in time".to_owned(),
        ErrorKind::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut => "MongoDB did not answer in time".to_owned(),
            kind => format!("MongoDB connection failed ({kind})"),
        },
        ErrorKind::ConnectionPoolCleared { .. } => "the MongoDB connection pool was cleared".to_owned(),
        ErrorKind::DnsResolve { .. } => "the MongoDB host name could not be resolved".to_owned(),
        ErrorKind::Shutdown => "the MongoDB client is shut down".to_owned(),
        ErrorKind::Command(e) if UNAVAILABLE_CODES.contains(&e.code) => {
            format!("MongoDB cannot serve the request ({})", e.code_name)
        }
        _ => return None,
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{self, doc};
    use mongodb::error::{CommandError, WriteError};

    use super::*;

    fn command_error(code: i32, name: &str) -> Error {
        let e: CommandError =
            bson::from_document(doc! { "code": code, "codeName": name, "errmsg": "boom" }).unwrap();
        Error::from(ErrorKind::Command(e))
    }

    #[test]
    fn duplicate_key_command_and_write_errors_map_to_duplicate() {
        assert!(matches!(
            map_driver_error(command_error(11000, "DuplicateKey")),
            RepositoryError::Duplicate
        ));
        let w: WriteError = bson::from_document(doc! { "code": 11000, "errmsg": "E11000" }).unwrap();
        assert!(matches!(
            map_driver_error(Error::from(ErrorKind::Write(WriteFailure::WriteError(w)))),
            RepositoryError::Duplicate
        ));
    }

    #[test]
    fn io_errors_and_time_outs_map_to_unavailable_without_driver_text() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "mongodb://u:secret@h");
        match map_driver_error(Error::from(refused)) {
            RepositoryError::Unavailable(m) => assert!(!m.contains("secret"), "{m}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(matches!(
            map_driver_error(command_error(50, "MaxTimeMSExpired")),
            RepositoryError::Unavailable(_)
        ));
    }

    #[tokio::test]
    async fn an_operation_that_never_answers_is_unavailable_after_the_limit() {
        let started = Instant::now();
        let never = std::future::pending::<Result<(), Error>>();
        let err = bounded("test.pending", Duration::from_millis(50), never)
            .await
            .unwrap_err();
        assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("test.pending"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn other_command_errors_map_to_unexpected() {
        assert!(matches!(
            map_driver_error(command_error(2, "BadValue")),
            RepositoryError::Unexpected(_)
        ));
    }
}
