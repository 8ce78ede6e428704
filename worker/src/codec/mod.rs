//! Values between the engine and the wire: `types` maps engine types to PostgreSQL
//! type OIDs, `result_types` gives a result's columns the types PostgreSQL would
//! announce, `rows` writes result chunks straight into `DataRow`s (text or
//! binary), `text` formats values as PostgreSQL's text output does, `params`
//! decodes Bind parameters.

pub mod params;
pub mod result_types;
pub mod rows;
pub mod text;
pub mod types;
