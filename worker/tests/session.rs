//! A worker in this process, on a Unix socket, with a real embedded lake
//! (SQLite catalog and tables in a temporary directory), driven by a real
//! Postgres client: the session state machine (simple and extended protocol,
//! transactions, errors the session survives, SET/SHOW) and lake writes
//! planned and committed, without the `floe` binary or a router.

use std::sync::Arc;
use std::time::Duration;

use floe_catalog::{LakeConfig, Lakehouse};
use floe_protocol::control::Control;
use floe_protocol::{ListenAddr, Listener};
use floe_worker::{open_sandboxed, FileCache, LakeReader, SandboxConfig, Worker};
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

struct Running {
    _dir: tempfile::TempDir,
    client: Client,
    socket_dir: std::path::PathBuf,
    _stop: watch::Sender<bool>,
}

async fn start_worker() -> Running {
    start_worker_with(None).await
}

async fn start_worker_with(token: Option<&str>) -> Running {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().to_path_buf();
    let sandbox = SandboxConfig {
        database_path: None,
        allowed_dirs: vec![root.join("cache"), root.join("warehouse"), root.join("tmp")],
        temp_dir: root.join("spill"),
        threads: Some(1),
        memory_limit: Some("512MB".into()),
    };
    let db = open_sandboxed(&sandbox).expect("engine");
    let lake = Lakehouse::open(LakeConfig::embedded(&root, Duration::ZERO))
        .await
        .expect("lake");
    let cache = FileCache::new(root.join("cache"), lake.storage().clone(), 1 << 30);
    let staging = root.join("tmp").join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    let reader = LakeReader::new(lake, cache, staging);
    let worker = Worker::new(
        db,
        vec![("TimeZone", "UTC".into())],
        token.map(str::to_string),
        Some(reader),
        16,
        Some(floe_worker::cache::results::ResultCache::new(
            64 << 20,
            8 << 20,
            Some((root.join("cache").join("results"), 64 << 20)),
        )),
    );
    let socket_dir = root.join("sock");
    std::fs::create_dir_all(&socket_dir).expect("socket dir");
    let addr: ListenAddr = format!("unix:{}/.s.PGSQL.5432", socket_dir.display())
        .parse()
        .expect("addr");
    let listener = Listener::bind(&addr).await.expect("bind");
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(Arc::clone(&worker).serve(listener, stopped));
    let client = match token {
        None => connect(&socket_dir).await,
        Some(t) => connect_with_password(&socket_dir, t).await,
    };
    Running {
        _dir: dir,
        client,
        socket_dir,
        _stop: stop,
    }
}

async fn connect(socket_dir: &std::path::Path) -> Client {
    let (client, connection) = tokio_postgres::Config::new()
        .host_path(socket_dir)
        .port(5432)
        .user("floe")
        .dbname("floe")
        .connect(NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

async fn connect_with_password(socket_dir: &std::path::Path, password: &str) -> Client {
    let (client, connection) = tokio_postgres::Config::new()
        .host_path(socket_dir)
        .port(5432)
        .user("router")
        .dbname("floe")
        .password(password)
        .connect(NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

/// The rows of a simple query, as text.
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

/// The SQLSTATE of `sql`, which must fail.
async fn code_of(c: &tokio_postgres::Client, sql: &str) -> String {
    code(&c.batch_execute(sql).await.expect_err(sql))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lake_writes_are_planned_committed_and_read_back() {
    let w = start_worker().await;
    let c = &w.client;
    c.batch_execute(
        "CREATE SCHEMA shop;
         CREATE TABLE shop.items (id bigint NOT NULL, name text, qty int);
         INSERT INTO shop.items VALUES (1, 'apple', 3), (2, 'pear', 5), (3, 'fig', NULL);
         UPDATE shop.items SET qty = qty + 1 WHERE id = 2;
         DELETE FROM shop.items WHERE id = 3;",
    )
    .await
    .expect("writes");
    assert_eq!(
        rows(c, "SELECT id, name, qty FROM shop.items ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("apple".into()), Some("3".into())],
            vec![Some("2".into()), Some("pear".into()), Some("6".into())],
        ]
    );
    // A NOT NULL column refuses a NULL: 23502, and nothing is written.
    assert_eq!(
        code_of(c, "INSERT INTO shop.items VALUES (NULL, 'x', 1)").await,
        "23502"
    );
    // CREATE TABLE AS, then a second session (a fresh connection) sees it.
    c.batch_execute("CREATE TABLE shop.big AS SELECT id * 10 AS id FROM shop.items")
        .await
        .expect("ctas");
    let other = connect(&w.socket_dir).await;
    assert_eq!(
        rows(&other, "SELECT sum(id) FROM shop.big").await,
        vec![vec![Some("30".into())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_publish_at_commit_and_roll_back_whole() {
    let w = start_worker().await;
    let c = &w.client;
    c.batch_execute("CREATE SCHEMA s; CREATE TABLE s.t (x int)")
        .await
        .expect("setup");
    let other = connect(&w.socket_dir).await;
    c.batch_execute("BEGIN; INSERT INTO s.t VALUES (1), (2)")
        .await
        .expect("begin");
    assert_eq!(
        rows(c, "SELECT count(*) FROM s.t").await,
        vec![vec![Some("2".into())]]
    );
    assert_eq!(
        rows(&other, "SELECT count(*) FROM s.t").await,
        vec![vec![Some("0".into())]],
        "not visible before COMMIT"
    );
    c.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(
        rows(&other, "SELECT count(*) FROM s.t").await,
        vec![vec![Some("2".into())]]
    );

    c.batch_execute("BEGIN; INSERT INTO s.t VALUES (3)")
        .await
        .expect("begin");
    assert_eq!(code_of(c, "SELECT 1/0").await, "22012");
    assert_eq!(code_of(c, "SELECT 1").await, "25P02");
    c.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(
        rows(c, "SELECT count(*) FROM s.t").await,
        vec![vec![Some("2".into())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_survives_errors_and_keeps_its_settings() {
    let w = start_worker().await;
    let c = &w.client;
    assert_eq!(code_of(c, "SELECT * FROM no_such_table").await, "42P01");
    assert_eq!(code_of(c, "SELEC 1").await, "42601");
    assert_eq!(
        code_of(c, "SELECT * FROM read_csv('/etc/passwd')").await,
        "42501"
    );
    c.batch_execute("SET TimeZone = 'Europe/Paris'")
        .await
        .expect("set");
    assert_eq!(
        rows(c, "SHOW TimeZone").await,
        vec![vec![Some("Europe/Paris".into())]]
    );
    // Extended protocol: a typed parameter, a prepared statement run twice.
    let stmt = c.prepare("SELECT $1::int + 1").await.expect("prepare");
    for (arg, want) in [(1i32, 2i32), (41, 42)] {
        let row = c.query_one(&stmt, &[&arg]).await.expect("query");
        assert_eq!(row.get::<_, i32>(0), want);
    }
}

/// A router's connection to the worker, by hand: the token as password, then
/// messages written and answers read up to ReadyForQuery.
struct RouterLink {
    stream: tokio::net::UnixStream,
}

impl RouterLink {
    async fn open(socket_dir: &std::path::Path, token: &str) -> RouterLink {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::UnixStream::connect(socket_dir.join(".s.PGSQL.5432"))
            .await
            .expect("connect");
        let startup =
            floe_protocol::startup::startup_packet(&[("user", "router"), ("database", "floe")]);
        stream.write_all(&startup).await.expect("startup");
        let mut link = RouterLink { stream };
        link.until(b'R').await;
        link.send(&floe_protocol::startup::password_message(token))
            .await;
        link.until(b'Z').await;
        link
    }

    async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Reads messages until one of type `tag`; returns the (type, body) read.
    async fn until(&mut self, tag: u8) -> Vec<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        loop {
            let t = self.stream.read_u8().await.expect("type");
            let len = self.stream.read_i32().await.expect("length") as usize;
            let mut body = vec![0u8; len - 4];
            self.stream.read_exact(&mut body).await.expect("body");
            got.push((t, body));
            if t == tag {
                return got;
            }
        }
    }

    /// Runs one Query preceded by `analysis`; the SQLSTATE of its error, if any.
    async fn query(&mut self, analysis: Control, sql: &str) -> Option<String> {
        self.send(&analysis.encode()).await;
        self.send(&floe_protocol::frame::query_message(sql)).await;
        self.until(b'Z')
            .await
            .into_iter()
            .find(|(t, _)| *t == b'E')
            .map(|(_, body)| {
                body.split(|b| *b == 0)
                    .find(|f| f.first() == Some(&b'C'))
                    .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
                    .unwrap_or_default()
            })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_analysis_covers_only_the_text_it_names() {
    let w = start_worker_with(Some("secret-token")).await;
    let mut link = RouterLink::open(&w.socket_dir, "secret-token").await;
    link.send(
        &Control::BeginSession {
            user: "alice".into(),
            database: "floe".into(),
            superuser: false,
            params: Vec::new(),
        }
        .encode(),
    )
    .await;
    link.until(b'Z').await;
    // An analysis of exactly the text: it runs without being analysed again.
    let select = "SELECT 1";
    assert_eq!(
        link.query(Control::analysed(b'Q', select, "query", 1, true), select)
            .await,
        None
    );
    // An analysis naming another text covers nothing: the worker analyses the
    // text itself and refuses what the policy refuses.
    let reading = "SELECT * FROM read_csv('/etc/passwd')";
    assert_eq!(
        link.query(Control::analysed(b'Q', select, "query", 1, true), reading)
            .await
            .as_deref(),
        Some("42501")
    );
    // The session goes on.
    assert_eq!(
        link.query(
            Control::analysed(b'Q', "SELECT 2", "query", 1, true),
            "SELECT 2"
        )
        .await,
        None
    );
}

/// A Parse of `sql` as statement `name`, then Sync.
fn parse_and_sync(name: &str, sql: &str) -> Vec<u8> {
    let mut m = vec![b'P'];
    let len = 4 + name.len() + 1 + sql.len() + 1 + 2;
    m.extend_from_slice(&(len as i32).to_be_bytes());
    m.extend_from_slice(name.as_bytes());
    m.push(0);
    m.extend_from_slice(sql.as_bytes());
    m.push(0);
    m.extend_from_slice(&0i16.to_be_bytes());
    m.extend_from_slice(b"S\0\0\0\x04");
    m
}

/// Bind of statement `name` with one text parameter, Execute, Sync.
fn bind_execute_sync(name: &str, param: &str) -> Vec<u8> {
    let mut m = vec![b'B'];
    let len = 4 + 1 + name.len() + 1 + 2 + 2 + 4 + param.len() + 2;
    m.extend_from_slice(&(len as i32).to_be_bytes());
    m.push(0);
    m.extend_from_slice(name.as_bytes());
    m.push(0);
    m.extend_from_slice(&0i16.to_be_bytes());
    m.extend_from_slice(&1i16.to_be_bytes());
    m.extend_from_slice(&(param.len() as i32).to_be_bytes());
    m.extend_from_slice(param.as_bytes());
    m.extend_from_slice(&0i16.to_be_bytes());
    m.extend_from_slice(b"E\0\0\0\x09\0\0\0\0\0");
    m.extend_from_slice(b"S\0\0\0\x04");
    m
}

impl RouterLink {
    async fn begin(&mut self) {
        let begin = Control::BeginSession {
            user: "alice".into(),
            database: "floe".into(),
            superuser: false,
            params: Vec::new(),
        };
        self.send(&begin.encode()).await;
        self.until(b'Z').await;
    }

    /// The session's answer to `Export`.
    async fn export(&mut self) -> Control {
        self.send(&Control::Export.encode()).await;
        self.until(b'Z')
            .await
            .into_iter()
            .filter(|(t, _)| *t == floe_protocol::control::CONTROL_TAG)
            .filter_map(|(_, body)| Control::decode(&body).ok())
            .find(|c| matches!(c, Control::SessionState(_) | Control::Stays(_)))
            .expect("an answer to Export")
    }

    /// The first column of the DataRows and the SQLSTATE of an error, if any.
    async fn answer(&mut self) -> (Vec<String>, Option<String>) {
        let got = self.until(b'Z').await;
        let rows = got
            .iter()
            .filter(|(t, _)| *t == b'D')
            .map(|(_, b)| {
                let len = i32::from_be_bytes([b[2], b[3], b[4], b[5]]) as usize;
                String::from_utf8_lossy(&b[6..6 + len]).into_owned()
            })
            .collect();
        let error = got.iter().find(|(t, _)| *t == b'E').map(|(_, body)| {
            body.split(|b| *b == 0)
                .find(|f| f.first() == Some(&b'C'))
                .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
                .unwrap_or_default()
        });
        (rows, error)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_exports_its_state_and_another_takes_it() {
    let w = start_worker_with(Some("secret-token")).await;
    let mut from = RouterLink::open(&w.socket_dir, "secret-token").await;
    from.begin().await;
    from.send(&floe_protocol::frame::query_message(
        "SET TimeZone = 'Asia/Tokyo'",
    ))
    .await;
    from.until(b'Z').await;
    from.send(&parse_and_sync("s1", "SELECT $1::int + 1")).await;
    from.until(b'Z').await;
    let Control::SessionState(state) = from.export().await else {
        panic!("an idle session without TEMP relations moves");
    };
    assert!(
        state
            .params
            .iter()
            .any(|p| p.name == "TimeZone" && p.value == "Asia/Tokyo" && p.source == "session"),
        "{state:?}"
    );
    assert_eq!(state.statements.len(), 1);
    assert_eq!(state.statements[0].name, "s1");

    // Another session takes it: the setting holds, the statement binds.
    let mut to = RouterLink::open(&w.socket_dir, "secret-token").await;
    to.begin().await;
    to.send(&Control::Import(state.clone()).encode()).await;
    assert_eq!(to.answer().await, (vec![], None));
    to.send(&bind_execute_sync("s1", "41")).await;
    assert_eq!(to.answer().await, (vec!["42".to_string()], None));
    to.send(&floe_protocol::frame::query_message("SHOW TimeZone"))
        .await;
    assert_eq!(to.answer().await, (vec!["Asia/Tokyo".to_string()], None));

    // A statement that would come out with other types is refused.
    let mut changed = state.clone();
    changed.statements[0].shape ^= 1;
    let mut other = RouterLink::open(&w.socket_dir, "secret-token").await;
    other.begin().await;
    other.send(&Control::Import(changed).encode()).await;
    assert_eq!(other.answer().await.1.as_deref(), Some("0A000"));

    // What lives in this worker alone keeps a session where it is.
    from.send(&floe_protocol::frame::query_message("BEGIN"))
        .await;
    from.until(b'Z').await;
    assert!(matches!(from.export().await, Control::Stays(_)));
    from.send(&floe_protocol::frame::query_message("COMMIT"))
        .await;
    from.until(b'Z').await;
    from.send(&floe_protocol::frame::query_message(
        "CREATE TEMP TABLE mine (i int)",
    ))
    .await;
    from.until(b'Z').await;
    let Control::Stays(reason) = from.export().await else {
        panic!("a session with a TEMP table stays");
    };
    assert!(reason.contains("TEMP"), "{reason}");
    from.send(&floe_protocol::frame::query_message("DISCARD TEMP"))
        .await;
    from.until(b'Z').await;
    assert!(matches!(from.export().await, Control::SessionState(_)));
}
