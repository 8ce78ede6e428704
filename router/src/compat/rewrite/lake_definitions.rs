//! `pg_get_constraintdef(c [, pretty])` and `pg_get_indexdef(i [, col,
//! pretty])` of lake tables' constraints and of the indexes behind their
//! primary keys and UNIQUE constraints: the definitions the virtual catalog
//! keeps for them (`floe_constraint_definitions`, `floe_index_definitions`),
//! else PostgreSQL's built-in objects' as before.

use floe_sql::view_definition::{CONSTRAINT_DEFINITIONS_RELATION, INDEX_DEFINITIONS_RELATION};

/// The call of `function` (`pg_get_constraintdef` or `pg_get_indexdef`) with
/// `args` (each already rewritten), answered for lake objects first.
pub(super) fn lake_definition_of(function: &str, args: &[String]) -> Option<String> {
    let first = args.first()?;
    let all = args.join(", ");
    let lookup = if function.eq_ignore_ascii_case("pg_get_constraintdef") {
        let column = match args.get(1) {
            Some(pretty) => format!(
                "CASE WHEN COALESCE(TRY_CAST(({pretty}) AS BOOLEAN), false) \
                 THEN floe_cd.pretty_definition ELSE floe_cd.definition END"
            ),
            None => "floe_cd.definition".to_string(),
        };
        format!(
            "SELECT {column} FROM pg_catalog.{CONSTRAINT_DEFINITIONS_RELATION} floe_cd \
             WHERE floe_cd.constraint_oid = ({first}) LIMIT 1"
        )
    } else {
        let key = match args.get(1) {
            Some(col) => col.as_str(),
            None => "0",
        };
        format!(
            "SELECT floe_id.definition FROM pg_catalog.{INDEX_DEFINITIONS_RELATION} floe_id \
             WHERE floe_id.index_oid = ({first}) AND floe_id.key_number = ({key}) LIMIT 1"
        )
    };
    // `floe_<function>(found)` gives the column PostgreSQL's name.
    let function = function.to_ascii_lowercase();
    Some(format!(
        "floe_{function}(COALESCE(({lookup}), {function}({all})))"
    ))
}
