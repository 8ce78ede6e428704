//! The mapping from DuckDB's errors to Postgres errors.
//!
//! DuckDB runs with `errors_as_json`, so every engine error arrives as a JSON object
//! with its exception type, message and extra fields (`error_subtype`, `position`, …).
//! That structure, not the English text, chooses the SQLSTATE wherever it can.

use std::collections::HashMap;

pub use floe_protocol::pg_error::*;

/// Conversion of DuckDB error text into a Postgres error.
pub trait FromDuckdb {
    /// Maps a DuckDB error to a Postgres error. `sql` is the text DuckDB saw, used
    /// to turn its byte offset into the 1-based character position Postgres reports.
    fn from_duckdb(raw: &str, sql: Option<&str>) -> PgError;
}

impl FromDuckdb for PgError {
    fn from_duckdb(raw: &str, sql: Option<&str>) -> PgError {
        let parsed = DuckErrorInfo::parse(raw);
        let (code, message) = parsed.classify();
        let mut err = PgError::new(code, message);
        if let (Some(offset), Some(sql)) = (parsed.position(), sql) {
            if offset <= sql.len() && sql.is_char_boundary(offset) {
                err.position = Some(sql[..offset].chars().count() as u32 + 1);
            }
        }
        err
    }
}

/// DuckDB's structured error: exception type, message and extra fields.
#[derive(Debug, Default)]
struct DuckErrorInfo {
    kind: String,
    message: String,
    extra: HashMap<String, String>,
}

impl DuckErrorInfo {
    fn parse(raw: &str) -> DuckErrorInfo {
        // DuckDB renders "<Type> Error: <message>", where the message is a JSON
        // object under errors_as_json.
        let trimmed = raw.trim_start();
        if let Some((head, rest)) = trimmed.split_once(" Error: ") {
            if rest.trim_start().starts_with('{') && !head.contains('{') {
                let mut info = DuckErrorInfo::parse(rest);
                if info.kind.is_empty() {
                    info.kind = head.to_string();
                }
                return info;
            }
        }
        if trimmed.starts_with('{') {
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed) {
                let mut info = DuckErrorInfo::default();
                for (k, v) in map {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    match k.as_str() {
                        "exception_type" => info.kind = v,
                        "exception_message" => info.message = v,
                        _ => {
                            info.extra.insert(k, v);
                        }
                    }
                }
                return info;
            }
        }
        // Plain "<Type> Error: <message>" form.
        if let Some((head, rest)) = raw.split_once(" Error: ") {
            if !head.contains('\n') && head.len() < 40 {
                return DuckErrorInfo {
                    kind: head.to_string(),
                    message: rest.to_string(),
                    extra: HashMap::new(),
                };
            }
        }
        DuckErrorInfo {
            kind: String::new(),
            message: raw.to_string(),
            extra: HashMap::new(),
        }
    }

    fn position(&self) -> Option<usize> {
        self.extra.get("position").and_then(|p| p.parse().ok())
    }

    fn classify(&self) -> (&'static str, String) {
        use sqlstate::*;
        let msg = self.message.trim().to_string();
        let lower = msg.to_ascii_lowercase();
        let subtype = self.extra.get("error_subtype").map(String::as_str);
        let code = match self.kind.as_str() {
            "Parser" | "Syntax" => SYNTAX_ERROR,
            "Catalog" => {
                let object = self
                    .extra
                    .get("type")
                    .map(|s| s.to_ascii_lowercase())
                    .unwrap_or_default();
                if subtype == Some("MISSING_ENTRY") || lower.contains("does not exist") {
                    if object.contains("function") || object.contains("macro") {
                        UNDEFINED_FUNCTION
                    } else if object.contains("schema") {
                        INVALID_SCHEMA_NAME
                    } else if object.contains("table")
                        || object.contains("view")
                        || object.contains("sequence")
                    {
                        UNDEFINED_TABLE
                    } else if lower.contains("function with name") {
                        UNDEFINED_FUNCTION
                    } else if lower.contains("table with name") || lower.contains("view with name")
                    {
                        UNDEFINED_TABLE
                    } else if lower.contains("schema with name") {
                        INVALID_SCHEMA_NAME
                    } else {
                        UNDEFINED_OBJECT
                    }
                } else if lower.contains("already exists") {
                    if lower.starts_with("schema") {
                        DUPLICATE_SCHEMA
                    } else if lower.starts_with("table") || lower.starts_with("view") {
                        DUPLICATE_TABLE
                    } else if lower.contains("function") || lower.contains("macro") {
                        DUPLICATE_FUNCTION
                    } else {
                        DUPLICATE_OBJECT
                    }
                } else if lower.contains("depend") {
                    DEPENDENT_OBJECTS_STILL_EXIST
                } else {
                    SYNTAX_OR_ACCESS_RULE
                }
            }
            "Binder" => {
                if subtype == Some("COLUMN_NOT_FOUND")
                    || lower.contains("referenced column")
                    || lower.contains("does not have a column")
                    || lower.contains("column") && lower.contains("not found")
                {
                    UNDEFINED_COLUMN
                } else if lower.contains("no function matches")
                    || lower.contains("function with name")
                {
                    UNDEFINED_FUNCTION
                } else if lower.contains("referenced table") {
                    UNDEFINED_TABLE
                } else if lower.contains("group by") {
                    GROUPING_ERROR
                } else if lower.contains("ambiguous") {
                    AMBIGUOUS_COLUMN
                } else if lower.contains("could not determine type of parameter")
                    || lower.contains("could not be resolved")
                {
                    INDETERMINATE_DATATYPE
                } else if lower.contains("type mismatch") || lower.contains("cannot compare") {
                    DATATYPE_MISMATCH
                } else if lower.contains("not null") {
                    NOT_NULL_VIOLATION
                } else {
                    SYNTAX_OR_ACCESS_RULE
                }
            }
            "Conversion" => {
                if lower.contains("out of range") || lower.contains("overflow") {
                    NUMERIC_VALUE_OUT_OF_RANGE
                } else {
                    INVALID_TEXT_REPRESENTATION
                }
            }
            "Out of Range" | "Decimal" => NUMERIC_VALUE_OUT_OF_RANGE,
            "Divide by Zero" => DIVISION_BY_ZERO,
            "Constraint" => {
                if lower.contains("not null") {
                    NOT_NULL_VIOLATION
                } else if lower.contains("foreign key") {
                    FOREIGN_KEY_VIOLATION
                } else if lower.contains("check constraint") {
                    CHECK_VIOLATION
                } else if lower.contains("duplicate key")
                    || lower.contains("unique")
                    || lower.contains("primary key")
                {
                    UNIQUE_VIOLATION
                } else {
                    INTEGRITY_CONSTRAINT
                }
            }
            "INTERRUPT" => QUERY_CANCELED,
            "Not implemented" => FEATURE_NOT_SUPPORTED,
            "Permission" => INSUFFICIENT_PRIVILEGE,
            "Missing Extension" | "Extension Autoloading" => FEATURE_NOT_SUPPORTED,
            "TransactionContext" => {
                if lower.contains("aborted") {
                    IN_FAILED_SQL_TRANSACTION
                } else if lower.contains("conflict") {
                    SERIALIZATION_FAILURE
                } else if lower.contains("no transaction is active") {
                    NO_ACTIVE_SQL_TRANSACTION
                } else if lower.contains("within a transaction") {
                    ACTIVE_SQL_TRANSACTION
                } else {
                    SERIALIZATION_FAILURE
                }
            }
            "Invalid Input" => {
                if lower.starts_with("division by zero") {
                    DIVISION_BY_ZERO
                } else if lower.starts_with("operator does not exist: ") {
                    UNDEFINED_FUNCTION
                } else if lower.starts_with("value overflows numeric format") {
                    NUMERIC_VALUE_OUT_OF_RANGE
                } else if lower.starts_with("function \"") && lower.ends_with("\" does not exist") {
                    // A lookup of a function by name ('f'::regproc) that found none.
                    UNDEFINED_FUNCTION
                } else if lower.starts_with("more than one function named \"") {
                    AMBIGUOUS_FUNCTION
                } else if lower.starts_with("unrecognized configuration parameter \"") {
                    UNDEFINED_OBJECT
                } else if lower.starts_with("value too long for type character varying(") {
                    STRING_DATA_RIGHT_TRUNCATION
                } else if lower.starts_with("new row for relation \"")
                    && lower.contains("\" violates check constraint \"")
                {
                    sqlstate::CHECK_VIOLATION
                } else if lower.starts_with("nextval: reached ") {
                    sqlstate::SEQUENCE_GENERATOR_LIMIT_EXCEEDED
                } else if lower.starts_with("currval of sequence \"")
                    || lower.starts_with("lastval is not yet defined")
                {
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE
                } else if lower.starts_with("setval: value ") {
                    NUMERIC_VALUE_OUT_OF_RANGE
                } else if lower.starts_with("relation \"") && lower.ends_with("\" does not exist") {
                    UNDEFINED_TABLE
                } else if lower.starts_with("sequences (serial, identity") {
                    FEATURE_NOT_SUPPORTED
                } else if lower.starts_with("date field value out of range: ")
                    || lower.starts_with("time field value out of range: ")
                {
                    // make_timestamptz of a day or time no calendar has.
                    sqlstate::DATETIME_FIELD_OVERFLOW
                } else if lower.starts_with("date/time field value out of range: \"")
                    || (lower.starts_with("hour \"") && lower.ends_with("for the 12-hour clock"))
                {
                    // to_date / to_timestamp of a value no date has.
                    sqlstate::DATETIME_FIELD_OVERFLOW
                } else if lower.starts_with("unit \"")
                    && lower.contains("\" not supported for type ")
                {
                    // EXTRACT / date_part of a field the type does not have.
                    FEATURE_NOT_SUPPORTED
                } else if lower.starts_with("invalid value \"") && lower.contains("\" for \"") {
                    // to_date / to_timestamp of text the template does not read.
                    sqlstate::INVALID_DATETIME_FORMAT
                } else if lower.starts_with(messages::INTERVAL_OUT_OF_RANGE)
                    || lower.starts_with("timestamp out of range")
                {
                    // An interval or timestamp beyond its type (PostgreSQL's
                    // datetime field overflow).
                    sqlstate::DATETIME_FIELD_OVERFLOW
                } else if lower.starts_with("cannot take square root of a negative number") {
                    sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION
                } else if lower.starts_with(messages::STRIDE_NOT_POSITIVE) {
                    sqlstate::DATETIME_FIELD_OVERFLOW
                } else if lower.starts_with(messages::MONTHS_IN_STRIDE) {
                    FEATURE_NOT_SUPPORTED
                } else if lower.starts_with(messages::NOT_FOR_INTERVALS) {
                    // to_char of an interval with a calendar pattern.
                    sqlstate::INVALID_DATETIME_FORMAT
                } else if lower.contains("configuration has been locked")
                    || lower.contains("disabled by configuration")
                    || lower.contains("disabled through configuration")
                    || lower.contains("external access")
                {
                    INSUFFICIENT_PRIVILEGE
                } else if lower.contains("out of range") {
                    NUMERIC_VALUE_OUT_OF_RANGE
                } else {
                    INVALID_PARAMETER_VALUE
                }
            }
            "Out of Memory" => OUT_OF_MEMORY,
            "Object Size" => PROGRAM_LIMIT_EXCEEDED,
            "IO" => {
                if lower.contains("permission") || lower.contains("external access") {
                    INSUFFICIENT_PRIVILEGE
                } else {
                    IO_ERROR
                }
            }
            "Invalid type" | "Mismatch Type" | "Unknown Type" => DATATYPE_MISMATCH,
            "Dependency" => DEPENDENT_OBJECTS_STILL_EXIST,
            "Parameter Not Resolved" => INDETERMINATE_DATATYPE,
            "Parameter Not Allowed" => UNDEFINED_PARAMETER,
            "Settings" | "Invalid Configuration" => INVALID_PARAMETER_VALUE,
            "Sequence" => DATA_EXCEPTION,
            "Serialization" => DATA_EXCEPTION,
            "Connection" | "HTTP" => CONNECTION_EXCEPTION,
            "Expression" => SYNTAX_OR_ACCESS_RULE,
            _ => INTERNAL_ERROR,
        };
        let message = match code {
            DIVISION_BY_ZERO => "division by zero".to_string(),
            QUERY_CANCELED => "canceling statement due to user request".to_string(),
            // A CSV reader error names the line; what went wrong is further down.
            // Postgres's words for a missing relation.
            UNDEFINED_TABLE
                if lower.starts_with("table with name") || lower.starts_with("view with name") =>
            {
                let name = self.extra.get("name").cloned().unwrap_or_else(|| {
                    msg.split_once(" with name ")
                        .and_then(|(_, rest)| rest.split_once(" does not exist"))
                        .map(|(n, _)| n.trim_matches('"').to_string())
                        .unwrap_or_default()
                });
                format!("relation \"{name}\" does not exist")
            }
            _ if msg.starts_with("CSV Error on Line") => msg
                .lines()
                .filter(|l| !l.starts_with("Original Line") && !l.trim().is_empty())
                .take(2)
                .collect::<Vec<_>>()
                .join(": "),
            _ => first_line(&msg),
        };
        (code, message)
    }
}

/// DuckDB appends suggestions and context after the first line; Postgres messages are
/// one line, so the rest is dropped from the message.
fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or("").trim_end().to_string()
}

/// PostgreSQL's messages that Floe's native functions raise, given their
/// SQLSTATEs by [`PgError::from_duckdb`] (the engine carries only the text).
pub mod messages {
    /// An interval sum past the type's range (22008).
    pub const INTERVAL_OUT_OF_RANGE: &str = "interval out of range";
    /// `date_bin` with a stride of months or years (0A000).
    pub const MONTHS_IN_STRIDE: &str =
        "timestamps cannot be binned into intervals containing months or years";
    /// `date_bin` with a zero or negative stride (22008).
    pub const STRIDE_NOT_POSITIVE: &str = "stride must be greater than zero";
    /// `to_char` of an interval with a calendar pattern (22007).
    pub const NOT_FOR_INTERVALS: &str = "invalid format specification for an interval value";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_missing_table_is_undefined_table() {
        let raw = r#"{"exception_type":"Catalog","exception_message":"Table with name nope does not exist!\nDid you mean \"x\"?","name":"nope","type":"Table","error_subtype":"MISSING_ENTRY","position":"14"}"#;
        let e = PgError::from_duckdb(raw, Some("SELECT * FROM nope"));
        assert_eq!(e.code, sqlstate::UNDEFINED_TABLE);
        assert_eq!(e.message, "relation \"nope\" does not exist");
        assert_eq!(e.position, Some(15));
    }

    #[test]
    fn missing_function_and_column() {
        let f = r#"{"exception_type":"Catalog","exception_message":"Scalar Function with name nofn does not exist!","name":"nofn","type":"Scalar Function","error_subtype":"MISSING_ENTRY"}"#;
        assert_eq!(
            PgError::from_duckdb(f, None).code,
            sqlstate::UNDEFINED_FUNCTION
        );
        let c = r#"{"exception_type":"Binder","exception_message":"Referenced column \"zz\" not found in FROM clause!","error_subtype":"COLUMN_NOT_FOUND","position":"7"}"#;
        let e = PgError::from_duckdb(c, Some("SELECT zz FROM t"));
        assert_eq!(e.code, sqlstate::UNDEFINED_COLUMN);
        assert_eq!(e.position, Some(8));
    }

    #[test]
    fn conversion_and_range() {
        let c = r#"{"exception_type":"Conversion","exception_message":"Could not convert string 'abc' to INT32"}"#;
        assert_eq!(
            PgError::from_duckdb(c, None).code,
            sqlstate::INVALID_TEXT_REPRESENTATION
        );
        let r = r#"{"exception_type":"Conversion","exception_message":"Type INT32 with value 300000 can't be cast because the value is out of range for the destination type INT16"}"#;
        assert_eq!(
            PgError::from_duckdb(r, None).code,
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE
        );
    }

    #[test]
    fn division_by_zero_message_is_postgres_like() {
        let d = r#"{"exception_type":"Invalid Input","exception_message":"Division by zero in expression (1 / 0). Use TRY(...)"}"#;
        let e = PgError::from_duckdb(d, None);
        assert_eq!(e.code, sqlstate::DIVISION_BY_ZERO);
        assert_eq!(e.message, "division by zero");
    }

    #[test]
    fn prefixed_json_errors_parse() {
        let raw = r#"Catalog Error: {"exception_type":"Catalog","exception_message":"Table with name t does not exist!\nDid you mean \"pg_tables\"?","type":"Table","name":"t","position":"21","error_subtype":"MISSING_ENTRY"}"#;
        let e = PgError::from_duckdb(raw, Some("SELECT count(*) FROM t"));
        assert_eq!(e.code, sqlstate::UNDEFINED_TABLE);
        assert_eq!(e.message, "relation \"t\" does not exist");
        assert_eq!(e.position, Some(22));
    }

    #[test]
    fn plain_text_errors_parse_their_prefix() {
        let e = PgError::from_duckdb("Parser Error: syntax error at or near \"SELEC\"", None);
        assert_eq!(e.code, sqlstate::SYNTAX_ERROR);
        assert_eq!(e.message, "syntax error at or near \"SELEC\"");
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let raw =
            r#"{"exception_type":"Parser","exception_message":"syntax error","position":"11"}"#;
        // 'é' is two bytes: byte offset 11 is the 11th character (1-based), not the 12th.
        let e = PgError::from_duckdb(raw, Some("SELECT 'é' frm"));
        assert_eq!(e.position, Some(11));
    }
}
