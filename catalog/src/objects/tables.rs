//! Tables Floe creates, changes and drops: `CREATE TABLE` becomes an Iceberg table
//! (format v2) in the catalog, with the schema and partition spec the statement
//! declared; `ALTER TABLE` renames it or evolves its schema (columns keep their
//! field ids, so old files read right); `DROP TABLE` removes it from the catalog.
//! Data files stay where they are: other engines' snapshots and time travel may
//! still reference them.

use std::collections::HashMap;

use iceberg::spec::{NestedField, Schema, TableMetadataBuilder, Type, UnboundPartitionSpec};
use iceberg::table::Table;
use iceberg::{MetadataLocation, NamespaceIdent, TableCreation, TableIdent, TableUpdate};

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;
use crate::objects::table_rules::TableRules;

impl Lakehouse {
    /// Creates `ident`; `None` if it exists and `if_not_exists` was given.
    /// `properties` are the table's own (the column types Postgres declared,
    /// see [`declared_type_properties`]).
    pub async fn create_table(
        &self,
        ident: &TableIdent,
        schema: Schema,
        partition: Option<UnboundPartitionSpec>,
        properties: HashMap<String, String>,
        if_not_exists: bool,
    ) -> Result<Option<Table>> {
        let listing = self.listing_fresh().await?;
        if listing.has_relation(ident.namespace(), ident.name())
            || self.catalog().table_exists(ident).await?
        {
            return if if_not_exists {
                Ok(None)
            } else {
                Err(CatalogError::Exists(ident.name().to_string()))
            };
        }
        let creation = table_creation(ident, schema, partition, properties, None);
        let table = self
            .catalog()
            .create_table(ident.namespace(), creation)
            .await?;
        self.changed_listing();
        Ok(Some(table))
    }

    /// Drops the Iceberg table `ident` from the catalog.
    pub async fn drop_table(&self, ident: &TableIdent) -> Result<()> {
        self.catalog().drop_table(ident).await?;
        self.changed_table(ident);
        self.changed_listing();
        Ok(())
    }

    /// Renames `from` to `to` (a name in the same catalog).
    pub async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        let listing = self.listing_fresh().await?;
        if listing.has_relation(to.namespace(), to.name()) {
            return Err(CatalogError::Exists(to.name().to_string()));
        }
        self.catalog().rename_table(from, to).await?;
        self.changed_table(from);
        self.changed_listing();
        Ok(())
    }

    /// Commits `changes` to the schema of `ident` as its new current schema.
    pub async fn evolve_schema(&self, ident: &TableIdent, changes: &[SchemaChange]) -> Result<()> {
        let table = self.table(ident).await?;
        let updates = schema_updates(&table, changes)?;
        self.commit(&table, updates).await?;
        self.changed_listing();
        Ok(())
    }

    /// Writes the first metadata file of a new table at its default location,
    /// without a catalog entry: a transaction's CREATE TABLE, published when
    /// the transaction commits.
    pub async fn stage_new_table(
        &self,
        ident: &TableIdent,
        schema: Schema,
        partition: Option<UnboundPartitionSpec>,
        properties: HashMap<String, String>,
    ) -> Result<Table> {
        let location = format!(
            "{}/{}/{}",
            self.config().warehouse.trim_end_matches('/'),
            ident.namespace().join("/"),
            ident.name()
        );
        let creation = table_creation(ident, schema, partition, properties, Some(location.clone()));
        let metadata = TableMetadataBuilder::from_table_creation(creation)?
            .build()?
            .metadata;
        let metadata_location = MetadataLocation::new_with_metadata(location, &metadata);
        metadata
            .write_to(self.file_io(), &metadata_location)
            .await?;
        Ok(Table::builder()
            .file_io(self.file_io().clone())
            .metadata_location(metadata_location.to_string())
            .identifier(ident.clone())
            .metadata(metadata)
            .runtime(iceberg::Runtime::current())
            .build()?)
    }

    pub async fn schema_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        Ok(self.catalog().namespace_exists(namespace).await?)
    }
}

/// What creating `ident` asks of the catalog. Its data files are LZ4
/// Parquet unless asked otherwise: measured on TPC-H lineitem, LZ4 reads a
/// third faster than ZSTD for 40% more bytes (`bench/RESULTS.md`); every
/// engine sharing the catalog reads the codec from this property.
fn table_creation(
    ident: &TableIdent,
    schema: Schema,
    partition: Option<UnboundPartitionSpec>,
    mut properties: HashMap<String, String>,
    location: Option<String>,
) -> TableCreation {
    properties
        .entry("write.parquet.compression-codec".to_string())
        .or_insert_with(|| "lz4".to_string());
    TableCreation::builder()
        .name(ident.name().to_string())
        .schema(schema)
        .partition_spec_opt(partition)
        .location_opt(location)
        .properties(properties)
        .build()
}

/// The table property recording the Postgres type a column was declared
/// with when Iceberg's type says less (`character varying(200)` for a
/// string), by field id.
const DECLARED_TYPE_PROPERTY: &str = "floe.pg-type.";

/// The properties recording declared lengths: (field id, max length) of each
/// `character varying(n)` column.
pub fn declared_type_properties(lengths: &[(i32, u32)]) -> HashMap<String, String> {
    lengths
        .iter()
        .map(|(id, n)| {
            (
                format!("{DECLARED_TYPE_PROPERTY}{id}"),
                format!("character varying({n})"),
            )
        })
        .collect()
}

/// The declared maximum length of each `character varying(n)` column of a
/// table with `properties`, by field id.
pub fn declared_lengths(properties: &HashMap<String, String>) -> HashMap<i32, u32> {
    properties
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix(DECLARED_TYPE_PROPERTY)?.parse().ok()?;
            let n = v
                .strip_prefix("character varying(")?
                .strip_suffix(')')?
                .parse()
                .ok()?;
            Some((id, n))
        })
        .collect()
}

/// The updates that apply `changes` to the current schema of `table`.
pub fn schema_updates(table: &Table, changes: &[SchemaChange]) -> Result<Vec<TableUpdate>> {
    {
        let ident = table.identifier();
        let metadata = table.metadata();
        let mut fields: Vec<NestedField> = metadata
            .current_schema()
            .as_struct()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut identifier: Vec<i32> = metadata.current_schema().identifier_field_ids().collect();
        let mut next_id = metadata.last_column_id() + 1;
        let partition_sources: Vec<i32> = metadata
            .partition_specs_iter()
            .flat_map(|s| s.fields().iter().map(|f| f.source_id))
            .collect();
        let missing =
            |name: &str| CatalogError::NoSuchColumn(name.to_string(), ident.name().to_string());
        let mut lengths = Vec::new();
        // Defaults and constraints follow their columns: a dropped column's go
        // with it, a renamed column's CHECKs name it anew.
        let mut rules = TableRules::from_properties(metadata.properties());
        let rules_before = rules.clone();
        let mut removed: Vec<String> = Vec::new();
        for change in changes {
            match change {
                SchemaChange::Add {
                    name,
                    field_type,
                    max_length,
                    if_not_exists,
                } => {
                    if fields.iter().any(|f| &f.name == name) {
                        if *if_not_exists {
                            continue;
                        }
                        return Err(CatalogError::ColumnExists(
                            name.clone(),
                            ident.name().to_string(),
                        ));
                    }
                    // Nested ids come after the column's own.
                    let id = next_id;
                    next_id += 1;
                    let t = renumber(field_type.clone(), &mut next_id);
                    fields.push(NestedField::optional(id, name.clone(), t));
                    if let Some(n) = max_length {
                        lengths.push((id, *n));
                    }
                }
                SchemaChange::Drop { name, if_exists } => {
                    let Some(i) = fields.iter().position(|f| &f.name == name) else {
                        if *if_exists {
                            continue;
                        }
                        return Err(missing(name));
                    };
                    if partition_sources.contains(&fields[i].id) {
                        return Err(CatalogError::Unsupported(format!(
                            "dropping the partition column {name}"
                        )));
                    }
                    let id = fields[i].id;
                    identifier.retain(|x| *x != id);
                    removed.extend(rules.keys_of_field(id));
                    removed.extend(rules.drop_column(id, name));
                    fields.remove(i);
                }
                SchemaChange::Rename { from, to } => {
                    if fields.iter().any(|f| &f.name == to) {
                        return Err(CatalogError::ColumnExists(
                            to.clone(),
                            ident.name().to_string(),
                        ));
                    }
                    let field = fields
                        .iter_mut()
                        .find(|f| &f.name == from)
                        .ok_or_else(|| missing(from))?;
                    field.name = to.clone();
                    rules.rename_column(from, to);
                }
            }
        }
        if fields.is_empty() {
            return Err(CatalogError::Unsupported("a table without columns".into()));
        }
        let mut updates = new_current_schema(metadata, fields, identifier)?;
        let mut set = declared_type_properties(&lengths);
        if rules != rules_before {
            set.extend(rules.to_properties());
        }
        removed.retain(|k| !set.contains_key(k) && metadata.properties().contains_key(k));
        if !set.is_empty() {
            updates.push(TableUpdate::SetProperties { updates: set });
        }
        if !removed.is_empty() {
            updates.push(TableUpdate::RemoveProperties { removals: removed });
        }
        Ok(updates)
    }
}

/// One change `ALTER TABLE` makes to a table's columns.
#[derive(Debug, Clone)]
pub enum SchemaChange {
    /// A new optional column (existing rows read it as NULL).
    Add {
        name: String,
        field_type: Type,
        /// A declared `character varying(n)`'s `n`.
        max_length: Option<u32>,
        if_not_exists: bool,
    },
    Drop {
        name: String,
        if_exists: bool,
    },
    /// Same field id, new name.
    Rename {
        from: String,
        to: String,
    },
}

/// `t` with its nested field ids numbered from `next` (which ends past the
/// last id taken): the fields of a new column or table get fresh ids.
pub fn renumber(t: Type, next: &mut i32) -> Type {
    use iceberg::spec::{ListType, MapType, StructType};
    let mut take = || {
        let id = *next;
        *next += 1;
        id
    };
    match t {
        Type::Primitive(_) => t,
        Type::List(l) => {
            let id = take();
            let element = renumber(l.element_field.field_type.as_ref().clone(), next);
            Type::List(ListType::new(
                NestedField::list_element(id, element, l.element_field.required).into(),
            ))
        }
        Type::Map(m) => {
            let (k, v) = (take(), take());
            let key = renumber(m.key_field.field_type.as_ref().clone(), next);
            let value = renumber(m.value_field.field_type.as_ref().clone(), next);
            Type::Map(MapType::new(
                NestedField::map_key_element(k, key).into(),
                NestedField::map_value_element(v, value, m.value_field.required).into(),
            ))
        }
        Type::Struct(s) => {
            let ids: Vec<i32> = s.fields().iter().map(|_| take()).collect();
            Type::Struct(StructType::new(
                s.fields()
                    .iter()
                    .zip(ids)
                    .map(|(f, id)| {
                        let t = renumber(f.field_type.as_ref().clone(), next);
                        NestedField::new(id, f.name.clone(), t, f.required).into()
                    })
                    .collect(),
            ))
        }
    }
}

/// The updates that set (or clear) the doc of column `column` of `table`: a
/// new current schema that differs only there.
pub fn doc_updates(table: &Table, column: &str, doc: Option<&str>) -> Result<Vec<TableUpdate>> {
    let metadata = table.metadata();
    let current = metadata.current_schema();
    let fields = with_doc(current, column, doc).ok_or_else(|| {
        CatalogError::NoSuchColumn(column.to_string(), table.identifier().name().to_string())
    })?;
    new_current_schema(metadata, fields, current.identifier_field_ids())
}

/// The updates that make `fields` the table's current schema (a new schema id).
fn new_current_schema(
    metadata: &iceberg::spec::TableMetadata,
    fields: Vec<NestedField>,
    identifier: impl IntoIterator<Item = i32>,
) -> Result<Vec<TableUpdate>> {
    let schema_id = metadata
        .schemas_iter()
        .map(|s| s.schema_id())
        .max()
        .unwrap_or(0)
        + 1;
    let schema = Schema::builder()
        .with_schema_id(schema_id)
        .with_fields(fields.into_iter().map(Into::into))
        .with_identifier_field_ids(identifier)
        .build()?;
    Ok(vec![
        TableUpdate::AddSchema { schema },
        TableUpdate::SetCurrentSchema { schema_id: -1 },
    ])
}

/// The fields of `schema` with column `column`'s doc set to `doc`; `None` when
/// there is no such column.
pub fn with_doc(schema: &Schema, column: &str, doc: Option<&str>) -> Option<Vec<NestedField>> {
    let mut found = false;
    let fields = schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| {
            let mut f = f.as_ref().clone();
            if f.name == column {
                f.doc = doc.map(str::to_string);
                found = true;
            }
            f
        })
        .collect();
    found.then_some(fields)
}
