//! Commits to an Iceberg REST catalog. iceberg-catalog-rest 0.10 commits only
//! what iceberg's own `Transaction` builds (fast appends, property changes), so
//! Floe sends the REST protocol's commit requests itself: `POST
//! …/namespaces/{ns}/tables/{t}` for one table and `POST …/transactions/commit`
//! for several at once, each with the requirements that make the server refuse
//! a change to a table that moved since Floe read it. Authentication follows
//! the catalog's properties (a bearer `token`, or OAuth2 client credentials),
//! and the URL prefix comes from the server's `/v1/config`.

use std::collections::{BTreeMap, HashMap};

use iceberg::table::Table;
use iceberg::{TableIdent, TableRequirement, TableUpdate};
use reqwest::{Method, StatusCode};
use reqwest012 as reqwest;
use serde::Serialize;

use crate::error::{display, CatalogError, Result};

/// One table's part of a commit: what the server must still find, and what to
/// change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableChange {
    /// Serializes as the REST protocol's `{"namespace": […], "name": …}`.
    identifier: TableIdent,
    requirements: Vec<TableRequirement>,
    updates: Vec<TableUpdate>,
}

impl TableChange {
    /// The change that applies `updates` to `base` (the table as Floe read it),
    /// refused if anything the updates build on has moved since: the table
    /// itself (its UUID), the main branch for new snapshots, the schema for
    /// schema changes, the partition spec for spec changes.
    pub(crate) fn new(base: &Table, updates: Vec<TableUpdate>) -> TableChange {
        let metadata = base.metadata();
        let any = |f: fn(&TableUpdate) -> bool| updates.iter().any(f);
        let new_snapshot = any(|u| {
            matches!(
                u,
                TableUpdate::AddSnapshot { .. } | TableUpdate::SetSnapshotRef { .. }
            )
        });
        let adds_schema = any(|u| matches!(u, TableUpdate::AddSchema { .. }));
        let sets_schema = adds_schema || any(|u| matches!(u, TableUpdate::SetCurrentSchema { .. }));
        let adds_spec = any(|u| matches!(u, TableUpdate::AddSpec { .. }));
        let sets_spec = adds_spec || any(|u| matches!(u, TableUpdate::SetDefaultSpec { .. }));

        let mut requirements = vec![TableRequirement::UuidMatch {
            uuid: metadata.uuid(),
        }];
        if new_snapshot {
            requirements.push(TableRequirement::RefSnapshotIdMatch {
                r#ref: iceberg::spec::MAIN_BRANCH.to_string(),
                snapshot_id: metadata
                    .snapshot_for_ref(iceberg::spec::MAIN_BRANCH)
                    .map(|s| s.snapshot_id()),
            });
        }
        // New snapshots are written with the current schema and spec ids too.
        if new_snapshot || sets_schema {
            requirements.push(TableRequirement::CurrentSchemaIdMatch {
                current_schema_id: metadata.current_schema_id(),
            });
        }
        if adds_schema {
            requirements.push(TableRequirement::LastAssignedFieldIdMatch {
                last_assigned_field_id: metadata.last_column_id(),
            });
        }
        if new_snapshot || sets_spec {
            requirements.push(TableRequirement::DefaultSpecIdMatch {
                default_spec_id: metadata.default_partition_spec_id(),
            });
        }
        if adds_spec {
            requirements.push(TableRequirement::LastAssignedPartitionIdMatch {
                last_assigned_partition_id: metadata.last_partition_id(),
            });
        }
        TableChange {
            identifier: base.identifier().clone(),
            requirements,
            updates,
        }
    }
}

#[derive(Serialize)]
struct TransactionRequest<'a> {
    #[serde(rename = "table-changes")]
    table_changes: &'a [TableChange],
}

/// How a multi-table commit went on a server that may not offer it.
pub(crate) enum MultiCommit {
    Done,
    /// The server has no `/transactions/commit`.
    NotOffered,
}

/// Sends commit requests to one REST catalog.
#[derive(Debug)]
pub(crate) struct RestCommitter {
    http: reqwest::Client,
    uri: String,
    warehouse: String,
    properties: BTreeMap<String, String>,
    /// `{uri}/v1/{prefix}/`, resolved on the first commit.
    base: tokio::sync::OnceCell<url::Url>,
    token: tokio::sync::Mutex<Option<String>>,
}

/// How long one catalog request may take before the commit fails; a commit
/// that times out is reported as of unknown outcome.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl RestCommitter {
    pub(crate) fn new(
        uri: &str,
        warehouse: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<RestCommitter> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| CatalogError::Commit(format!("REST client: {e}")))?;
        Ok(RestCommitter {
            http,
            uri: uri.trim_end_matches('/').to_string(),
            warehouse: warehouse.to_string(),
            properties: properties.clone(),
            base: tokio::sync::OnceCell::new(),
            token: tokio::sync::Mutex::new(properties.get("token").cloned()),
        })
    }

    /// Commits one table's change; `CommitConflict` if its requirements fail.
    pub(crate) async fn commit_table(&self, change: &TableChange) -> Result<()> {
        let ident = &change.identifier;
        let ns = ident.namespace().join("\u{1f}");
        let url = self
            .url(&["namespaces", &ns, "tables", ident.name()])
            .await?;
        let response = self.send(Method::POST, url, change).await?;
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::CONFLICT => Err(CatalogError::CommitConflict(display(ident))),
            StatusCode::NOT_FOUND => Err(CatalogError::NoSuchTable(display(ident))),
            status => Err(failure(status, response).await),
        }
    }

    /// Commits every change atomically through `/transactions/commit`.
    pub(crate) async fn commit_transaction(&self, changes: &[TableChange]) -> Result<MultiCommit> {
        let url = self.url(&["transactions", "commit"]).await?;
        let body = TransactionRequest {
            table_changes: changes,
        };
        let response = self.send(Method::POST, url, &body).await?;
        match response.status() {
            s if s.is_success() => Ok(MultiCommit::Done),
            StatusCode::CONFLICT => {
                let names: Vec<String> = changes.iter().map(|c| display(&c.identifier)).collect();
                Err(CatalogError::CommitConflict(names.join(", ")))
            }
            StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::NOT_ACCEPTABLE
            | StatusCode::NOT_IMPLEMENTED => Ok(MultiCommit::NotOffered),
            status => Err(failure(status, response).await),
        }
    }

    /// Sends `body`; a rejected token is fetched again once.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        url: url::Url,
        body: &B,
    ) -> Result<reqwest::Response> {
        let mut retried = false;
        loop {
            let request = self
                .authorized(method.clone(), url.clone(), retried)
                .await?;
            let response = request
                .json(body)
                .send()
                .await
                .map_err(|e| unknown_outcome(&url, e))?;
            if response.status() == StatusCode::UNAUTHORIZED && !retried && self.has_credential() {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// A request with the configured headers and the bearer token (a fresh one
    /// when `renew`).
    async fn authorized(
        &self,
        method: Method,
        url: url::Url,
        renew: bool,
    ) -> Result<reqwest::RequestBuilder> {
        let request = self.request(method, url);
        Ok(match self.token(renew).await? {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    }

    fn request(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, url);
        for (key, value) in &self.properties {
            if let Some(header) = key.strip_prefix("header.") {
                request = request.header(header, value);
            }
        }
        request
    }

    fn has_credential(&self) -> bool {
        self.properties.contains_key("credential")
    }

    /// The bearer token: the configured one, or one from the OAuth2 token
    /// endpoint for the client credentials (fetched again when `renew`).
    async fn token(&self, renew: bool) -> Result<Option<String>> {
        let mut token = self.token.lock().await;
        if token.is_some() && !renew {
            return Ok(token.clone());
        }
        let Some(credential) = self.properties.get("credential") else {
            return Ok(token.clone());
        };
        let (client_id, secret) = match credential.split_once(':') {
            Some((id, secret)) => (Some(id), secret),
            None => (None, credential.as_str()),
        };
        let endpoint = self
            .properties
            .get("oauth2-server-uri")
            .cloned()
            .unwrap_or_else(|| format!("{}/v1/oauth/tokens", self.uri));
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_secret", secret),
            (
                "scope",
                self.properties
                    .get("scope")
                    .map(String::as_str)
                    .unwrap_or("catalog"),
            ),
        ];
        if let Some(id) = client_id {
            form.push(("client_id", id));
        }
        let response = self
            .request(Method::POST, parse_url(&endpoint)?)
            .form(&form)
            .send()
            .await
            .map_err(|e| CatalogError::Commit(format!("token request to {endpoint}: {e}")))?;
        if !response.status().is_success() {
            return Err(failure(response.status(), response).await);
        }
        let body: HashMap<String, serde_json::Value> = response
            .json()
            .await
            .map_err(|e| CatalogError::Commit(format!("token response from {endpoint}: {e}")))?;
        let access = body
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| CatalogError::Commit(format!("{endpoint} returned no access_token")))?;
        *token = Some(access.to_string());
        Ok(token.clone())
    }

    /// `{uri}/v1/{prefix}/{parts…}`, each part percent-encoded as one segment.
    async fn url(&self, parts: &[&str]) -> Result<url::Url> {
        let mut url = self
            .base
            .get_or_try_init(|| async { self.load_base().await })
            .await?
            .clone();
        url.path_segments_mut()
            .map_err(|()| CatalogError::Commit(format!("{} cannot be a base URL", self.uri)))?
            .pop_if_empty()
            .extend(parts);
        Ok(url)
    }

    /// Asks `/v1/config` for the prefix (server overrides win over the
    /// configured one, which wins over the server's defaults).
    async fn load_base(&self) -> Result<url::Url> {
        let mut config = parse_url(&format!("{}/v1/config", self.uri))?;
        config
            .query_pairs_mut()
            .append_pair("warehouse", &self.warehouse);
        let response = self
            .authorized(Method::GET, config.clone(), false)
            .await?
            .send()
            .await
            .map_err(|e| CatalogError::Commit(format!("{config}: {e}")))?;
        if !response.status().is_success() {
            return Err(failure(response.status(), response).await);
        }
        let body: CatalogConfig = response
            .json()
            .await
            .map_err(|e| CatalogError::Commit(format!("{config}: {e}")))?;
        let prefix = body
            .overrides
            .get("prefix")
            .or(self.properties.get("prefix"))
            .or(body.defaults.get("prefix"))
            .cloned();
        let mut base = parse_url(&format!("{}/v1/", self.uri))?;
        if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
            base.path_segments_mut()
                .map_err(|()| CatalogError::Commit(format!("{} cannot be a base URL", self.uri)))?
                .pop_if_empty()
                .extend(prefix.split('/'));
        }
        Ok(base)
    }
}

#[derive(serde::Deserialize)]
struct CatalogConfig {
    #[serde(default)]
    defaults: HashMap<String, String>,
    #[serde(default)]
    overrides: HashMap<String, String>,
}

fn parse_url(text: &str) -> Result<url::Url> {
    url::Url::parse(text).map_err(|e| CatalogError::Commit(format!("catalog URL {text}: {e}")))
}

/// A commit request whose answer never came: the server may have applied it.
fn unknown_outcome(url: &url::Url, e: reqwest::Error) -> CatalogError {
    CatalogError::CommitUnknown(format!("{url}: {e}"))
}

/// The server's error, with its message when it sent the REST error model.
/// Server errors and gateway timeouts on a commit leave its outcome unknown
/// (the REST protocol's `CommitStateUnknownException`).
async fn failure(status: StatusCode, response: reqwest::Response) -> CatalogError {
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or(text);
    let detail = format!("{status}: {message}");
    if status.is_server_error() {
        CatalogError::CommitUnknown(detail)
    } else {
        CatalogError::Commit(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_request_has_the_rest_field_names() {
        let change = TableChange {
            identifier: TableIdent::new(
                iceberg::NamespaceIdent::from_strs(["a", "b"]).unwrap(),
                "t".into(),
            ),
            requirements: vec![TableRequirement::RefSnapshotIdMatch {
                r#ref: "main".into(),
                snapshot_id: None,
            }],
            updates: vec![TableUpdate::SetCurrentSchema { schema_id: -1 }],
        };
        let body = serde_json::to_value(TransactionRequest {
            table_changes: std::slice::from_ref(&change),
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"table-changes": [{
                "identifier": {"namespace": ["a", "b"], "name": "t"},
                "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null}],
                "updates": [{"action": "set-current-schema", "schema-id": -1}],
            }]})
        );
    }
}
