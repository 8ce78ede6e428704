//! Protocol behavior no driver exposes directly, checked with hand-built messages
//! over a raw socket: SSL/GSS negotiation, many messages pipelined before one Sync,
//! error recovery at Sync, notices, Describe of statements and portals.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::{BufMut, BytesMut};
use common::FloeServer;
use pgwire::messages::extendedquery::{Bind, Close, Describe, Execute, Flush, Parse, Sync};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireFrontendMessage as F;

/// A backend message: type byte and body.
#[derive(Debug, Clone)]
struct Msg {
    kind: u8,
    body: Vec<u8>,
}

impl Msg {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The SQLSTATE of an ErrorResponse / NoticeResponse.
    fn sqlstate(&self) -> Option<String> {
        let mut fields = self.body.split(|b| *b == 0);
        fields
            .find(|f| f.first() == Some(&b'C'))
            .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
    }

    /// Type OIDs of a ParameterDescription.
    fn param_types(&self) -> Vec<u32> {
        let n = u16::from_be_bytes([self.body[0], self.body[1]]) as usize;
        (0..n)
            .map(|i| u32::from_be_bytes(self.body[2 + i * 4..6 + i * 4].try_into().expect("oid")))
            .collect()
    }
}

struct Raw {
    stream: TcpStream,
}

impl Raw {
    fn connect(server: &FloeServer) -> Raw {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        // SSLRequest and GSSENCRequest are both answered 'N'.
        for code in [80_877_103i32, 80_877_104] {
            let mut b = BytesMut::new();
            b.put_i32(8);
            b.put_i32(code);
            stream.write_all(&b).expect("write");
            let mut answer = [0u8; 1];
            stream.read_exact(&mut answer).expect("read");
            assert_eq!(&answer, b"N");
        }
        let mut body = BytesMut::new();
        body.put_i32(196_608);
        for (k, v) in [
            ("user", "floe"),
            ("database", "floe"),
            ("application_name", "raw"),
        ] {
            body.put_slice(k.as_bytes());
            body.put_u8(0);
            body.put_slice(v.as_bytes());
            body.put_u8(0);
        }
        body.put_u8(0);
        let mut b = BytesMut::new();
        b.put_i32(body.len() as i32 + 4);
        b.put_slice(&body);
        stream.write_all(&b).expect("startup");
        let mut raw = Raw { stream };
        let msgs = raw.until_ready();
        assert_eq!(msgs[0].kind, b'R');
        assert!(msgs.iter().any(|m| m.kind == b'K'), "BackendKeyData");
        assert!(msgs
            .iter()
            .any(|m| m.kind == b'S' && m.text().starts_with("application_name\0raw")));
        raw
    }

    fn send(&mut self, msgs: &[F]) {
        let mut b = BytesMut::new();
        for m in msgs {
            m.encode(&mut b).expect("encode");
        }
        self.stream.write_all(&b).expect("write");
    }

    fn read(&mut self) -> Msg {
        let mut head = [0u8; 5];
        self.stream.read_exact(&mut head).expect("read header");
        let len = i32::from_be_bytes(head[1..5].try_into().expect("len")) as usize;
        let mut body = vec![0u8; len - 4];
        self.stream.read_exact(&mut body).expect("read body");
        Msg {
            kind: head[0],
            body,
        }
    }

    /// Reads messages up to and including ReadyForQuery.
    fn until_ready(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let m = self.read();
            let done = m.kind == b'Z';
            out.push(m);
            if done {
                return out;
            }
        }
    }
}

fn kinds(msgs: &[Msg]) -> String {
    msgs.iter().map(|m| m.kind as char).collect()
}

fn parse(name: &str, sql: &str, types: Vec<u32>) -> F {
    F::Parse(Parse::new(
        Some(name.to_string()).filter(|n| !n.is_empty()),
        sql.to_string(),
        types,
    ))
}

fn bind(portal: &str, stmt: &str, params: Vec<Option<&str>>) -> F {
    F::Bind(Bind::new(
        Some(portal.to_string()).filter(|n| !n.is_empty()),
        Some(stmt.to_string()).filter(|n| !n.is_empty()),
        vec![0],
        params
            .into_iter()
            .map(|p| p.map(|s| bytes::Bytes::from(s.to_string())))
            .collect(),
        vec![0],
    ))
}

fn execute(portal: &str, max_rows: i32) -> F {
    F::Execute(Execute::new(
        Some(portal.to_string()).filter(|n| !n.is_empty()),
        max_rows,
    ))
}

fn describe(kind: u8, name: &str) -> F {
    F::Describe(Describe::new(
        kind,
        Some(name.to_string()).filter(|n| !n.is_empty()),
    ))
}

#[test]
fn many_messages_pipelined_before_one_sync() {
    let server = FloeServer::start();
    let mut c = Raw::connect(&server);
    c.send(&[
        parse("", "CREATE TABLE pipe (a INTEGER)", vec![]),
        bind("", "", vec![]),
        execute("", 0),
        parse("ins", "INSERT INTO pipe VALUES ($1)", vec![]),
        bind("", "ins", vec![Some("1")]),
        execute("", 0),
        bind("", "ins", vec![Some("2")]),
        execute("", 0),
        parse("", "SELECT a FROM pipe ORDER BY a", vec![]),
        bind("p", "", vec![]),
        describe(b'P', "p"),
        execute("p", 1),
        execute("p", 0),
        F::Sync(Sync::new()),
    ]);
    let msgs = c.until_ready();
    // Parse, Bind, CommandComplete; Parse, (Bind, CommandComplete) x2; Parse, Bind,
    // RowDescription, DataRow, PortalSuspended, DataRow, CommandComplete, Ready.
    assert_eq!(kinds(&msgs), "12C12C2C12TDsDCZ");
    let tags: Vec<String> = msgs
        .iter()
        .filter(|m| m.kind == b'C')
        .map(|m| m.text())
        .collect();
    assert_eq!(
        tags,
        vec![
            "CREATE TABLE\0",
            "INSERT 0 1\0",
            "INSERT 0 1\0",
            "SELECT 1\0"
        ]
    );
}

#[test]
fn an_error_skips_to_sync_and_rolls_back_the_batch() {
    let server = FloeServer::start();
    let mut c = Raw::connect(&server);
    c.send(&[F::Query(Query::new(
        "CREATE TABLE batch (a INTEGER)".into(),
    ))]);
    c.until_ready();
    c.send(&[
        parse("", "INSERT INTO batch VALUES (1)", vec![]),
        bind("", "", vec![]),
        execute("", 0),
        parse("", "SELECT 1 / 0", vec![]),
        bind("", "", vec![]),
        execute("", 0),
        // Skipped until Sync:
        parse("", "INSERT INTO batch VALUES (2)", vec![]),
        bind("", "", vec![]),
        execute("", 0),
        F::Sync(Sync::new()),
    ]);
    let msgs = c.until_ready();
    assert_eq!(kinds(&msgs), "12C12EZ");
    assert_eq!(msgs[5].sqlstate().as_deref(), Some("22012"));
    assert_eq!(msgs.last().map(|m| m.body.clone()), Some(b"I".to_vec()));
    // The batch ran as one implicit transaction: the first insert is gone too.
    c.send(&[F::Query(Query::new("SELECT count(*) FROM batch".into()))]);
    let msgs = c.until_ready();
    let row = msgs.iter().find(|m| m.kind == b'D').expect("row");
    assert!(row.body.ends_with(b"0"), "{:?}", row.text());
}

#[test]
fn describe_reports_concrete_types_and_nodata() {
    let server = FloeServer::start();
    let mut c = Raw::connect(&server);
    c.send(&[
        parse("s1", "SELECT $1::INTEGER + $2, $3", vec![]),
        describe(b'S', "s1"),
        parse("s2", "CREATE TABLE d (a INTEGER)", vec![]),
        describe(b'S', "s2"),
        parse("s3", "", vec![]),
        bind("", "s3", vec![]),
        execute("", 0),
        F::Close(Close::new(b'S', Some("s1".into()))),
        describe(b'S', "s1"),
        F::Sync(Sync::new()),
    ]);
    let msgs = c.until_ready();
    // ParseComplete, ParameterDescription, RowDescription; ParseComplete,
    // ParameterDescription, NoData; ParseComplete, BindComplete,
    // EmptyQueryResponse; CloseComplete; error (statement gone); Ready.
    assert_eq!(kinds(&msgs), "1tT1tn12I3EZ");
    let types = msgs[1].param_types();
    assert_eq!(types.len(), 3);
    assert!(types.iter().all(|t| *t != 0), "no OID 0 in {types:?}");
    assert_eq!(types[0], 23);
    assert_eq!(msgs[10].sqlstate().as_deref(), Some("26000"));
}

#[test]
fn notices_and_flush() {
    let server = FloeServer::start();
    let mut c = Raw::connect(&server);
    c.send(&[F::Query(Query::new("COMMIT".into()))]);
    let msgs = c.until_ready();
    assert_eq!(kinds(&msgs), "NCZ");
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P01"));
    // Flush makes results arrive before any Sync.
    c.send(&[
        parse("", "SELECT 1", vec![]),
        bind("", "", vec![]),
        execute("", 0),
        F::Flush(Flush::new()),
    ]);
    let first = [c.read(), c.read(), c.read(), c.read()];
    assert_eq!(kinds(&first), "12DC");
    c.send(&[F::Sync(Sync::new())]);
    assert_eq!(kinds(&c.until_ready()), "Z");
}

#[test]
fn failed_transaction_status_and_recovery() {
    let server = FloeServer::start();
    let mut c = Raw::connect(&server);
    c.send(&[F::Query(Query::new("BEGIN; SELECT 1 / 0".into()))]);
    let msgs = c.until_ready();
    assert_eq!(msgs.last().map(|m| m.body.clone()), Some(b"E".to_vec()));
    c.send(&[F::Query(Query::new("SELECT 1".into()))]);
    let msgs = c.until_ready();
    assert_eq!(msgs[0].sqlstate().as_deref(), Some("25P02"));
    c.send(&[F::Query(Query::new("ROLLBACK".into()))]);
    let msgs = c.until_ready();
    assert_eq!(kinds(&msgs), "CZ");
    assert_eq!(msgs.last().map(|m| m.body.clone()), Some(b"I".to_vec()));
    // COMMIT of a failed transaction rolls it back and says so in its tag.
    c.send(&[F::Query(Query::new("BEGIN; SELECT 1 / 0".into()))]);
    c.until_ready();
    c.send(&[F::Query(Query::new("COMMIT".into()))]);
    let msgs = c.until_ready();
    assert_eq!(kinds(&msgs), "CZ");
    assert_eq!(msgs[0].body, b"ROLLBACK\0".to_vec());
    assert_eq!(msgs.last().map(|m| m.body.clone()), Some(b"I".to_vec()));
}
