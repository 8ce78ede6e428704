"""ORMs on `public` tables of the embedded default, which are lake tables: with
three workers, the tables an ORM creates, the ids the server generates for it
(serial, identity, DEFAULT) and the rows it writes are seen by every session,
whichever worker it is on. SQLAlchemy Core and ORM here; node-postgres and
pgjdbc as their own programs."""

import datetime
import pathlib
import subprocess

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from conftest import Server, run_node_test

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def server():
    s = Server('[workers]\ncount = 3\n[admin]\nlisten = ""\n')
    yield s
    s.stop()


def engine_for(server):
    # A pool of several connections: the router spreads them over the workers.
    return sa.create_engine(
        f"postgresql+psycopg://floe@{server.host}:{server.port}/floe",
        pool_size=3,
        max_overflow=0,
    )


class Base(orm.DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "orm_authors"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(50), index=True)
    joined: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    karma: orm.Mapped[int] = orm.mapped_column(server_default=sa.text("10"))
    books: orm.Mapped[list["Book"]] = orm.relationship(
        back_populates="author", cascade="all, delete-orphan"
    )
    __table_args__ = (sa.CheckConstraint("karma >= 0", name="orm_authors_karma_check"),)


class Book(Base):
    __tablename__ = "orm_books"
    id: orm.Mapped[int] = orm.mapped_column(sa.Identity(), primary_key=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.Text, unique=True)
    author_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("orm_authors.id"))
    author: orm.Mapped[Author] = orm.relationship(back_populates="books")


def test_sqlalchemy_orm_on_public_lake_tables(server):
    engine = engine_for(server)
    try:
        Base.metadata.create_all(engine)
        # A second create_all finds the tables (its existence checks read the catalog).
        Base.metadata.create_all(engine)
        with orm.Session(engine) as s:
            ann = Author(name="ann", books=[Book(title="a1"), Book(title="a2")])
            bob = Author(name="bob", karma=3)
            s.add_all([ann, bob])
            s.commit()
            assert ann.id is not None and bob.id is not None and ann.id != bob.id
            assert [b.id is not None for b in ann.books] == [True, True]
            # Server defaults come back on refresh.
            s.refresh(ann)
            assert ann.karma == 10
            assert isinstance(ann.joined, datetime.datetime)
            ids = (ann.id, bob.id)
        # Other connections, on other workers, see the rows and the ids.
        for _ in range(3):
            with orm.Session(engine) as s:
                got = s.scalars(sa.select(Author).order_by(Author.id)).all()
                assert [(a.id, a.name, a.karma) for a in got] == [
                    (ids[0], "ann", 10),
                    (ids[1], "bob", 3),
                ]
                assert sorted(b.title for b in got[0].books) == ["a1", "a2"]
        with orm.Session(engine) as s:
            bob = s.get(Author, ids[1])
            bob.name = "robert"
            s.commit()
            ann = s.get(Author, ids[0])
            s.delete(ann)
            s.commit()
        with orm.Session(engine) as s:
            assert s.scalars(sa.select(Author.name)).all() == ["robert"]
            assert s.scalar(sa.select(sa.func.count()).select_from(Book)) == 0
            s.add(Author(name="neg", karma=-1))
            with pytest.raises(sa.exc.IntegrityError) as e:
                s.commit()
            assert e.value.orig.sqlstate == "23514"
    finally:
        engine.dispose()


def test_sqlalchemy_core_and_reflection(server):
    engine = engine_for(server)
    try:
        md = sa.MetaData()
        events = sa.Table(
            "core_events",
            md,
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False, server_default="click"),
            sa.Column("amount", sa.Numeric(10, 2), server_default="0"),
        )
        md.create_all(engine)
        Base.metadata.create_all(engine)
        with engine.begin() as c:
            r = c.execute(events.insert().returning(events.c.id, events.c.kind),
                          [{"kind": "click", "amount": 1}, {"kind": "click", "amount": 2},
                           {"kind": "buy", "amount": 3}])
            rows = r.all()
            assert [k for _, k in rows] == ["click", "click", "buy"]
            assert len({i for i, _ in rows}) == 3
        with engine.connect() as c:
            total = c.execute(sa.select(sa.func.sum(events.c.amount))).scalar()
            assert str(total) == "6.00"
        insp = sa.inspect(engine)
        assert {"core_events", "orm_authors", "orm_books"} <= set(insp.get_table_names())
        columns = {c["name"]: c for c in insp.get_columns("core_events")}
        assert list(columns) == ["id", "kind", "amount"]
        assert columns["kind"]["nullable"] is False
        assert "click" in columns["kind"]["default"]
        assert "nextval" in columns["id"]["default"]
        assert insp.get_pk_constraint("core_events")["constrained_columns"] == ["id"]
        fks = insp.get_foreign_keys("orm_books")
        assert [(f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in fks] == [
            (["author_id"], "orm_authors", ["id"])
        ]
        assert [u["column_names"] for u in insp.get_unique_constraints("orm_books")] == [["title"]]
        indexes = {i["name"]: i for i in insp.get_indexes("orm_authors")}
        assert indexes["ix_orm_authors_name"]["column_names"] == ["name"]
        checks = insp.get_check_constraints("orm_authors")
        assert [c["name"] for c in checks] == ["orm_authors_karma_check"]
        # Reflected tables work as declared ones.
        reflected = sa.MetaData()
        reflected.reflect(engine, only=["core_events"])
        t = reflected.tables["core_events"]
        with engine.connect() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(t)).scalar() == 3
        md.drop_all(engine)
        assert "core_events" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_tables_outlive_the_worker_that_made_them(server):
    """Workers keep nothing: a table made in `public` by one session is there
    for a session on every other worker; only TEMP tables stay with their
    session, and a schema outside the lake is refused."""
    with psycopg.connect(server.dsn(), autocommit=True) as a:
        a.execute("CREATE TABLE kept (id serial, v text DEFAULT 'x')")
        a.execute("INSERT INTO kept (v) VALUES ('a'), ('b')")
    conns = [psycopg.connect(server.dsn(), autocommit=True) for _ in range(3)]
    try:
        for c in conns:
            assert c.execute("SELECT id, v FROM public.kept ORDER BY id").fetchall() == [
                (1, "a"),
                (2, "b"),
            ]
        with pytest.raises(psycopg.Error) as e:
            conns[0].execute("CREATE TABLE main.local_t (i int)")
        assert e.value.sqlstate == "3F000"
        conns[0].execute("CREATE TEMP TABLE mine (i int)")
        with pytest.raises(psycopg.Error) as e:
            conns[1].execute("SELECT * FROM mine")
        assert e.value.sqlstate == "42P01"
        conns[0].execute("DROP TABLE kept")
    finally:
        for c in conns:
            c.close()


def test_node_postgres_and_pgjdbc_generated_ids(server):
    run_node_test(server, "generated_ids.test.js")
    r = subprocess.run(
        ["java", "-cp", "/usr/share/java/postgresql.jar", str(HERE / "java" / "JdbcGeneratedKeys.java"),
         f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "jdbc generated keys ok" in r.stdout
