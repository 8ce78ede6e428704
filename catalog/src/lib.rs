//! `floe-catalog` will own the lakehouse catalog: Iceberg catalogs (embedded SQL
//! catalog on SQLite, REST), table metadata, scan planning with pruning, and the
//! virtual Postgres schema (`pg_catalog`, `information_schema`) served to clients.
