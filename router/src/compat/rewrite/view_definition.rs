//! `pg_get_viewdef(x [, pretty])`: a lake view's definition in the form
//! PostgreSQL deparses it (`floe_sql::view_definition`, kept in the catalog
//! relation `floe_view_definitions`), or a session's own view as the engine
//! keeps it.

use floe_sql::view_definition::VIEW_DEFINITIONS_RELATION;

use super::regclass_of;

/// `pg_get_viewdef(x [, pretty])`: the definition of the view `x` names (an
/// OID or a name) as PostgreSQL deparses it (a lake view), or as the engine
/// keeps it (a session's own view). An integer second argument (a wrap
/// column) asks for the pretty form too.
pub(super) fn view_definition_of(x: &str, pretty: &str) -> String {
    let oid = regclass_of(x);
    format!(
        "floe_pg_get_viewdef(COALESCE((SELECT CASE WHEN COALESCE(TRY_CAST(({pretty}) AS BOOLEAN), false) \
         THEN floe_vd.pretty_definition ELSE floe_vd.definition END \
         FROM pg_catalog.{VIEW_DEFINITIONS_RELATION} floe_vd WHERE floe_vd.view_oid = {oid} LIMIT 1), \
         (SELECT floe_v.definition FROM pg_catalog.pg_views floe_v \
         JOIN pg_catalog.pg_namespace floe_vn ON floe_vn.nspname = floe_v.schemaname \
         JOIN pg_catalog.pg_class floe_vc ON floe_vc.relnamespace = floe_vn.oid \
         AND floe_vc.relname = floe_v.viewname WHERE floe_vc.oid = {oid} LIMIT 1)))"
    )
}
