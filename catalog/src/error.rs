//! Catalog errors, each with the SQLSTATE a client should see.

use floe_protocol::sqlstate;

/// What can go wrong between a SQL statement and the files it reads.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("relation \"{0}\" does not exist")]
    NoSuchTable(String),
    #[error("{0}")]
    NoSuchSnapshot(String),
    /// A table or feature Floe cannot read correctly yet: refused, never
    /// answered with wrong rows.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    #[error("object storage error for {path}: {message}")]
    Storage { path: String, message: String },
    #[error("catalog error: {0}")]
    Iceberg(#[from] iceberg::Error),
    #[error("relation \"{0}\" already exists")]
    Exists(String),
    #[error("column \"{0}\" of relation \"{1}\" does not exist")]
    NoSuchColumn(String, String),
    #[error("column \"{0}\" of relation \"{1}\" already exists")]
    ColumnExists(String, String),
    #[error("schema \"{0}\" already exists")]
    SchemaExists(String),
    #[error("schema \"{0}\" does not exist")]
    NoSuchSchema(String),
    #[error(
        "cannot drop schema {0} because other objects depend on it (use DROP SCHEMA … CASCADE)"
    )]
    SchemaNotEmpty(String),
    #[error("unacceptable schema name \"{0}\"")]
    ReservedSchema(String),
    /// A request that would reach outside what clients may read.
    #[error("{0}")]
    Forbidden(String),
    /// Another commit changed the table since it was read.
    #[error("could not commit to \"{0}\": it was changed by a concurrent commit")]
    CommitConflict(String),
    /// A sequence refused a request (its limit, its bounds, its state), with
    /// the SQLSTATE PostgreSQL gives.
    #[error("{message}")]
    Sequence {
        state: &'static str,
        message: String,
    },
    #[error("catalog commit failed: {0}")]
    Commit(String),
    /// The catalog never answered a commit request (or failed inside it): the
    /// commit may have landed, so the files it references must stay.
    #[error("the outcome of the catalog commit is unknown: {0}")]
    CommitUnknown(String),
}

impl CatalogError {
    /// The SQLSTATE this error carries on the wire.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            CatalogError::NoSuchTable(_) => sqlstate::UNDEFINED_TABLE,
            CatalogError::NoSuchSnapshot(_) => sqlstate::INVALID_PARAMETER_VALUE,
            CatalogError::Unsupported(_) => sqlstate::FEATURE_NOT_SUPPORTED,
            CatalogError::Storage { .. } => sqlstate::IO_ERROR,
            CatalogError::CommitConflict(_) => sqlstate::SERIALIZATION_FAILURE,
            CatalogError::Exists(_) => sqlstate::DUPLICATE_TABLE,
            CatalogError::NoSuchColumn(..) => sqlstate::UNDEFINED_COLUMN,
            CatalogError::ColumnExists(..) => sqlstate::DUPLICATE_COLUMN,
            CatalogError::SchemaExists(_) => sqlstate::DUPLICATE_SCHEMA,
            CatalogError::NoSuchSchema(_) => sqlstate::INVALID_SCHEMA_NAME,
            CatalogError::SchemaNotEmpty(_) => sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
            CatalogError::ReservedSchema(_) => sqlstate::RESERVED_NAME,
            CatalogError::Forbidden(_) => sqlstate::INSUFFICIENT_PRIVILEGE,
            CatalogError::Sequence { state, .. } => state,
            CatalogError::Commit(_) => sqlstate::INTERNAL_ERROR,
            CatalogError::CommitUnknown(_) => sqlstate::STATEMENT_COMPLETION_UNKNOWN,
            CatalogError::Iceberg(e) => match e.kind() {
                iceberg::ErrorKind::TableNotFound => sqlstate::UNDEFINED_TABLE,
                iceberg::ErrorKind::NamespaceNotFound => sqlstate::INVALID_SCHEMA_NAME,
                iceberg::ErrorKind::FeatureUnsupported => sqlstate::FEATURE_NOT_SUPPORTED,
                _ => sqlstate::INTERNAL_ERROR,
            },
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// `ns.table`, as messages name a table.
pub(crate) fn display(ident: &iceberg::TableIdent) -> String {
    format!("{}.{}", ident.namespace().join("."), ident.name())
}
