//! What a registered Parquet table is: where its files are (`ParquetSource`, kept
//! as a namespace property `floe.parquet.<table>`), the glob its paths must match
//! (`*` within a segment, `**` across segments, `?`), and the listing of its
//! objects cached for one refresh interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use iceberg::spec::Schema;
use serde::{Deserialize, Serialize};

/// Namespace property prefix holding a registration (JSON of `ParquetSource`).
pub const PROPERTY_PREFIX: &str = "floe.parquet.";

/// Where a registered Parquet table's files are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParquetSource {
    pub location: String,
    pub hive_partitioning: bool,
}

/// One Parquet object of a registered table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetObject {
    pub location: String,
    pub size: u64,
}

impl ParquetSource {
    /// The listing prefix (up to the first segment with a wildcard) and the
    /// pattern the rest must match, if any.
    pub(crate) fn split(&self) -> (String, Option<String>) {
        let loc = self.location.as_str();
        match loc.find(['*', '?']) {
            None => (loc.trim_end_matches('/').to_string(), None),
            Some(i) => {
                let cut = loc[..i].rfind('/').unwrap_or(0);
                (loc[..cut].to_string(), Some(loc[cut + 1..].to_string()))
            }
        }
    }
}

/// Whether `path` (relative, `/`-separated) matches the glob `pattern`.
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segments(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, more)) => {
                match_segment(p.as_bytes(), s.as_bytes()) && match_segments(rest, more)
            }
            None => false,
        },
    }
}

fn match_segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_segment(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && match_segment(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_segment(rest, &s[1..]),
    }
}

/// Listed files and the schema read from them, kept for one refresh interval.
pub(crate) struct ParquetListing {
    pub files: Arc<Vec<ParquetObject>>,
    pub schema: Option<Arc<Schema>>,
    pub loaded: Instant,
}

pub(crate) type ParquetCache = parking_lot::Mutex<HashMap<ParquetSource, Arc<ParquetListing>>>;

/// The registrations among a namespace's properties.
pub fn registrations(properties: &HashMap<String, String>) -> Vec<(String, ParquetSource)> {
    let mut out: Vec<(String, ParquetSource)> = properties
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(PROPERTY_PREFIX)?;
            let source = serde_json::from_str(v).ok()?;
            Some((name.to_string(), source))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
