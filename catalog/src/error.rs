//! Catalog errors, each with the SQLSTATE a client should see.

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
            CatalogError::NoSuchTable(_) => "42P01",
            CatalogError::NoSuchSnapshot(_) => "22023",
            CatalogError::Unsupported(_) => "0A000",
            CatalogError::Storage { .. } => "58030",
            CatalogError::CommitConflict(_) => "40001",
            CatalogError::Exists(_) => "42P07",
            CatalogError::NoSuchColumn(..) => "42703",
            CatalogError::ColumnExists(..) => "42701",
            CatalogError::SchemaExists(_) => "42P06",
            CatalogError::NoSuchSchema(_) => "3F000",
            CatalogError::SchemaNotEmpty(_) => "2BP01",
            CatalogError::ReservedSchema(_) => "42939",
            CatalogError::Forbidden(_) => "42501",
            CatalogError::Commit(_) => "XX000",
            CatalogError::CommitUnknown(_) => "40003",
            CatalogError::Iceberg(e) => match e.kind() {
                iceberg::ErrorKind::TableNotFound => "42P01",
                iceberg::ErrorKind::NamespaceNotFound => "3F000",
                iceberg::ErrorKind::FeatureUnsupported => "0A000",
                _ => "XX000",
            },
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// `ns.table`, as messages name a table.
pub(crate) fn display(ident: &iceberg::TableIdent) -> String {
    format!("{}.{}", ident.namespace().join("."), ident.name())
}
