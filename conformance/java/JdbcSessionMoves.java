// pgjdbc across a session move: server-side prepared statements
// (prepareThreshold=1 names them at once) and a session setting keep working
// on the worker the session moves to, and a query's rows stream there in
// fetch-size batches inside a transaction. Run as a single-file program:
//   java -cp postgresql.jar JdbcSessionMoves.java <jdbc-url>
// Prints the worker the session started on and the one it moved to.

import java.sql.*;
import java.util.*;

public class JdbcSessionMoves {
    static void eq(Object got, Object want, String what) {
        if (!Objects.equals(got, want)) {
            throw new AssertionError(what + ": got " + got + ", want " + want);
        }
    }

    static String worker(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SHOW floe.worker")) {
            r.next();
            return r.getString(1);
        }
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0] + "&prepareThreshold=1")) {
            try (Statement s = c.createStatement()) {
                s.execute("SET TimeZone = 'Asia/Tokyo'");
            }
            String first = worker(c);
            String now = first;
            PreparedStatement add = c.prepareStatement(
                    "SELECT ?::int + 1 AS n, current_setting('TimeZone') AS tz");
            PreparedStatement rows = c.prepareStatement(
                    "SELECT i FROM generate_series(1, 1000) AS t(i) WHERE i > ? ORDER BY i");
            long deadline = System.currentTimeMillis() + 60_000;
            int round = 0;
            while (now.equals(first) || round < 5) {
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("the session never moved off worker " + first);
                }
                round++;
                add.setInt(1, round);
                try (ResultSet r = add.executeQuery()) {
                    eq(r.next(), true, "a row");
                    eq(r.getInt("n"), round + 1, "the prepared statement's answer");
                    eq(r.getString("tz"), "Asia/Tokyo", "the session's setting");
                }
                // A portal read in batches inside a transaction: the session
                // stays put while it is open.
                c.setAutoCommit(false);
                rows.setFetchSize(100);
                rows.setInt(1, 500);
                String during = worker(c);
                int seen = 0;
                try (ResultSet r = rows.executeQuery()) {
                    while (r.next()) {
                        seen++;
                        eq(r.getInt(1), 500 + seen, "rows in order");
                    }
                }
                eq(seen, 500, "every row");
                eq(worker(c), during, "the worker inside one transaction");
                c.commit();
                c.setAutoCommit(true);
                now = worker(c);
                Thread.sleep(200);
            }
            System.out.println("jdbc session moves ok: worker " + first + " -> " + now);
        }
    }
}
