//! Inventory and audit stores over SQLite and PostgreSQL (sqlx Any).
