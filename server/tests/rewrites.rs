//! Postgres-isms the router rewrites, run end to end on DuckDB.

mod common;

use common::FloeServer;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_isms_run() {
    let server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE rt (a INTEGER)")
        .await
        .expect("create");
    let row = c
        .query_one(
            "SELECT 'abc' OPERATOR(pg_catalog.~) '^a', 'x' COLLATE pg_catalog.\"default\", \
             'rt'::regclass IS NOT NULL, 'int4'::pg_catalog.regtype IS NOT NULL, \
             pg_catalog.format_type(1700, 655366), (23::oid)::BIGINT",
            &[],
        )
        .await
        .expect("rewritten query");
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, String>(1), "x");
    assert!(row.get::<_, bool>(2));
    assert!(row.get::<_, bool>(3));
    assert_eq!(row.get::<_, String>(4), "numeric(10,2)");
    assert_eq!(row.get::<_, i64>(5), 23);
}
