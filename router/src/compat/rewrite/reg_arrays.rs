//! `col::regtype[]` (and the other OID-alias array types): an array of OIDs
//! (`proargtypes`, `proallargtypes`) read as the objects' names, which is what
//! clients print or cast on to `text[]` (pgcli lists functions' argument
//! types so). Each element is named as the scalar cast names it; the order,
//! NULL and the empty array are kept.

use super::reg_name_of;

/// The names of the elements of array column `column` cast to `target[]`;
/// `None` for a type that is no OID alias with names.
pub(super) fn element_names(target: &str, column: &str) -> Option<String> {
    if target == "oid" {
        return None;
    }
    let name = reg_name_of(target, "floe_e")?;
    Some(format!(
        "floe_reg_array_text({column}, COALESCE((SELECT list({name} ORDER BY floe_i) \
         FROM (SELECT unnest({column}) AS floe_e, generate_subscripts({column}, 1) AS floe_i)), \
         CASE WHEN {column} IS NOT NULL THEN CAST([] AS VARCHAR[]) END))"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_arrays_become_name_lists() {
        let sql = element_names("regtype", "p.proargtypes").expect("names");
        assert!(sql.starts_with("floe_reg_array_text(p.proargtypes, COALESCE((SELECT list("));
        assert!(sql.contains("floe_format_type(floe_e, NULL)"), "{sql}");
        assert_eq!(element_names("oid", "x"), None);
        assert_eq!(element_names("int4", "x"), None);
    }
}
