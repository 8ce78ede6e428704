//! PostgreSQL's `initcap(text)`, which the engine lacks: each word (a run of
//! letters and digits) with its first letter in upper case and the rest in
//! lower case, as PostgreSQL writes it in a UTF-8 database (a letter whose
//! upper or lower case is more than one letter, such as `ß`, stays as it is).

use duckdb::ffi;

use crate::functions::types::VARCHAR;
use crate::functions::{self, row_count, set_null, write_text, Argument, Native};

/// Registers `initcap`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    functions::register(
        conn,
        &Native::scalar("initcap", &[VARCHAR], VARCHAR, initcap_rows),
    )
}

/// `text` with each word's first letter upper case and the others lower.
pub fn initcap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.chars() {
        out.push(if in_word {
            single(c.to_lowercase(), c)
        } else {
            single(c.to_uppercase(), c)
        });
        in_word = c.is_alphanumeric();
    }
    out
}

/// The one letter `mapped` gives, or `c` when it gives several.
fn single(mut mapped: impl Iterator<Item = char>, c: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

native_scalar! {
    fn initcap_rows(info, input, output) {
        let texts = Argument::<ffi::duckdb_string_t>::of(input, 0);
        for row in 0..row_count(input) {
            match texts.text(row) {
                Some(t) => write_text(output, row as u64, &initcap(&t)),
                None => set_null(output, row as u64),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_start_upper_case_and_go_on_lower_case() {
        assert_eq!(initcap("hello wORLD"), "Hello World");
        assert_eq!(initcap("o'neil-smith x2y 3rd"), "O'Neil-Smith X2y 3rd");
        assert_eq!(initcap("élan ÉCOLE straße"), "Élan École Straße");
        assert_eq!(initcap(""), "");
    }
}
