//! Store tests: every test body runs against SQLite (a temporary file) and PostgreSQL (a fresh
//! database per test on the server named by WARDGATE_TEST_PG_URL; see scripts/pg-test.sh).

// Test helpers outside #[test] functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod audit;
mod csv_import;
mod inventory;
mod writer;
