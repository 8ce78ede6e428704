// pgjdbc against Floe, run as a single-file program:
//   java -cp postgresql.jar JdbcConformance.java <jdbc-url>
// Exits non-zero on the first failed check.

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.*;
import java.time.*;
import java.util.*;

public class JdbcConformance {
    static int checks = 0;

    static void check(boolean ok, String what) {
        checks++;
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    static void eq(Object got, Object want, String what) {
        check(Objects.equals(got, want), what + ": got " + got + ", want " + want);
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        for (String mode : new String[] {"binaryTransfer=false", "binaryTransfer=true"}) {
            try (Connection c = DriverManager.getConnection(url + "&" + mode + "&prepareThreshold=2")) {
                types(c, mode);
                preparedThreshold(c, mode);
                transactions(c, mode);
                errors(c, mode);
                fetchSize(c, mode);
                copy(c, mode);
            }
        }
        System.out.println("jdbc ok: " + checks + " checks");
    }

    /** COPY through pgjdbc's CopyManager, in and out. */
    static void copy(Connection c, String mode) throws Exception {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE copy_t (id int, name text)");
        }
        org.postgresql.copy.CopyManager cm =
                c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
        long in = cm.copyIn("COPY copy_t FROM STDIN (FORMAT csv)",
                new StringReader("1,a\n2,\"b,c\"\n3,\n"));
        eq(in, 3L, mode + " copyIn count");
        StringWriter w = new StringWriter();
        long out = cm.copyOut("COPY (SELECT * FROM copy_t ORDER BY id) TO STDOUT (FORMAT csv)", w);
        eq(out, 3L, mode + " copyOut count");
        eq(w.toString(), "1,a\n2,\"b,c\"\n3,\n", mode + " copyOut csv");
        try (Statement s = c.createStatement()) {
            s.execute("DROP TABLE copy_t");
        }
    }

    static void types(Connection c, String mode) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(
                 "SELECT true, 2::SMALLINT, 3::INTEGER, 4::BIGINT, 1.5::REAL, 2.25::DOUBLE, 12.30::DECIMAL(10,2), "
                 + "'héllo', DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.789', "
                 + "TIMESTAMPTZ '2024-02-29 12:34:56+00', unhex('dead'), [1, 2, 3]::INTEGER[], NULL::INTEGER, "
                 + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, TIME '01:02:03'")) {
            check(rs.next(), mode + " one row");
            eq(rs.getBoolean(1), true, mode + " bool");
            eq(rs.getShort(2), (short) 2, mode + " int2");
            eq(rs.getInt(3), 3, mode + " int4");
            eq(rs.getLong(4), 4L, mode + " int8");
            eq(rs.getFloat(5), 1.5f, mode + " float4");
            eq(rs.getDouble(6), 2.25, mode + " float8");
            eq(rs.getBigDecimal(7), new BigDecimal("12.30"), mode + " numeric");
            eq(rs.getString(8), "héllo", mode + " text");
            eq(rs.getObject(9, LocalDate.class), LocalDate.of(2024, 2, 29), mode + " date");
            eq(rs.getObject(10, LocalDateTime.class), LocalDateTime.of(2024, 2, 29, 12, 34, 56, 789_000_000), mode + " timestamp");
            eq(rs.getObject(11, OffsetDateTime.class).toInstant(), Instant.parse("2024-02-29T12:34:56Z"), mode + " timestamptz");
            check(Arrays.equals(rs.getBytes(12), new byte[] {(byte) 0xde, (byte) 0xad}), mode + " bytea");
            Integer[] arr = (Integer[]) rs.getArray(13).getArray();
            check(Arrays.equals(arr, new Integer[] {1, 2, 3}), mode + " int4[]");
            rs.getInt(14);
            check(rs.wasNull(), mode + " null");
            eq(rs.getObject(15), UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), mode + " uuid");
            eq(rs.getObject(16, LocalTime.class), LocalTime.of(1, 2, 3), mode + " time");
            ResultSetMetaData md = rs.getMetaData();
            eq(md.getColumnTypeName(3), "int4", mode + " type name");
            eq(md.getPrecision(7), 10, mode + " numeric precision");
            eq(md.getScale(7), 2, mode + " numeric scale");
        }
    }

    // After prepareThreshold executions pgjdbc switches to a named server-side statement.
    static void preparedThreshold(Connection c, String mode) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT ?::INTEGER * 2, ?::VARCHAR || 'x', ?::TIMESTAMP")) {
            for (int i = 0; i < 6; i++) {
                ps.setInt(1, i);
                ps.setString(2, "v" + i);
                ps.setObject(3, LocalDateTime.of(2020, 1, 1, 0, 0).plusDays(i));
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), mode + " prepared row");
                    eq(rs.getInt(1), i * 2, mode + " prepared int");
                    eq(rs.getString(2), "v" + i + "x", mode + " prepared text");
                    eq(rs.getObject(3, LocalDateTime.class), LocalDateTime.of(2020, 1, 1, 0, 0).plusDays(i), mode + " prepared ts");
                }
            }
        }
    }

    static void transactions(Connection c, String mode) throws SQLException {
        String table = "jdbc_t_" + (mode.endsWith("true") ? "b" : "t");
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + table + " (a INTEGER, b VARCHAR)");
        }
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?)")) {
            for (int i = 0; i < 5; i++) {
                ps.setInt(1, i);
                ps.setString(2, "r" + i);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            eq(counts.length, 5, mode + " batch size");
        }
        c.rollback();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            eq(rs.getLong(1), 0L, mode + " rolled back");
        }
        try (Statement s = c.createStatement()) {
            eq(s.executeUpdate("INSERT INTO " + table + " VALUES (1, 'x'), (2, 'y')"), 2, mode + " update count");
        }
        c.commit();
        c.setAutoCommit(true);
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            eq(rs.getLong(1), 2L, mode + " committed");
        }
    }

    static void errors(Connection c, String mode) throws SQLException {
        String[][] cases = {
            {"SELECT * FROM no_such_table", "42P01"},
            {"SELECT 1 / 0", "22012"},
            {"SELEC 1", "42601"},
        };
        for (String[] tc : cases) {
            try (Statement s = c.createStatement()) {
                s.executeQuery(tc[0]);
                check(false, mode + " expected error for " + tc[0]);
            } catch (SQLException e) {
                eq(e.getSQLState(), tc[1], mode + " sqlstate for " + tc[0]);
            }
        }
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
            check(rs.next(), mode + " usable after errors");
        }
    }

    // fetchSize with autocommit off reads through a portal in batches.
    static void fetchSize(Connection c, String mode) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.setFetchSize(100);
            try (ResultSet rs = s.executeQuery("SELECT i FROM range(1000) t(i)")) {
                long n = 0;
                while (rs.next()) {
                    eq(rs.getLong(1), n, mode + " fetch order");
                    n++;
                }
                eq(n, 1000L, mode + " fetched all");
            }
        }
        c.commit();
        c.setAutoCommit(true);
    }
}
