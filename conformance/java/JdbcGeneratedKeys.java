// pgjdbc on `public` lake tables: generated keys (pgjdbc appends RETURNING),
// batches, and the keys DatabaseMetaData reports. Run as a single-file program:
//   java -cp postgresql.jar JdbcGeneratedKeys.java <jdbc-url>

import java.sql.*;
import java.util.*;

public class JdbcGeneratedKeys {
    static int checks = 0;

    static void eq(Object got, Object want, String what) {
        checks++;
        if (!Objects.equals(got, want)) {
            throw new AssertionError(what + ": got " + got + ", want " + want);
        }
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE jdbc_people (id bigserial PRIMARY KEY, name text NOT NULL, "
                        + "created date DEFAULT current_date, CONSTRAINT jdbc_people_name_key UNIQUE (name))");
            }
            Set<Long> ids = new HashSet<>();
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO jdbc_people (name) VALUES (?)", Statement.RETURN_GENERATED_KEYS)) {
                for (String name : new String[] {"ann", "bob", "cy"}) {
                    p.setString(1, name);
                    eq(p.executeUpdate(), 1, "update count");
                    try (ResultSet keys = p.getGeneratedKeys()) {
                        eq(keys.next(), true, "a generated key");
                        ids.add(keys.getLong("id"));
                        eq(keys.getObject("created") != null, true, "the default came back");
                    }
                }
            }
            eq(ids.size(), 3, "distinct ids");
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO jdbc_people (name) VALUES (?)", new String[] {"id"})) {
                p.setString(1, "dee");
                p.executeUpdate();
                try (ResultSet keys = p.getGeneratedKeys()) {
                    keys.next();
                    eq(keys.getMetaData().getColumnCount(), 1, "only the asked column");
                    eq(ids.add(keys.getLong(1)), true, "a new id");
                }
            }
            c.setAutoCommit(false);
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_people (name) VALUES (?)")) {
                for (String name : new String[] {"e1", "e2", "e3"}) {
                    p.setString(1, name);
                    p.addBatch();
                }
                eq(Arrays.stream(p.executeBatch()).sum(), 3, "batch count");
            }
            c.commit();
            c.setAutoCommit(true);
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT count(DISTINCT id) FROM jdbc_people")) {
                r.next();
                eq(r.getLong(1), 7L, "rows");
            }
            DatabaseMetaData md = c.getMetaData();
            try (ResultSet pk = md.getPrimaryKeys(null, "public", "jdbc_people")) {
                eq(pk.next(), true, "a primary key");
                eq(pk.getString("COLUMN_NAME"), "id", "primary key column");
                eq(pk.getString("PK_NAME"), "jdbc_people_pkey", "primary key name");
            }
            try (ResultSet cols = md.getColumns(null, "public", "jdbc_people", "id")) {
                cols.next();
                eq(cols.getString("IS_AUTOINCREMENT"), "YES", "serial is auto-increment");
                eq(cols.getString("COLUMN_DEF"), "nextval('jdbc_people_id_seq'::regclass)", "serial default");
            }
            try (ResultSet ix = md.getIndexInfo(null, "public", "jdbc_people", true, false)) {
                List<String> names = new ArrayList<>();
                while (ix.next()) {
                    names.add(ix.getString("INDEX_NAME"));
                }
                Collections.sort(names);
                eq(names, List.of("jdbc_people_name_key", "jdbc_people_pkey"), "unique indexes");
            }
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE jdbc_people");
            }
        }
        System.out.println("jdbc generated keys ok: " + checks + " checks");
    }
}
