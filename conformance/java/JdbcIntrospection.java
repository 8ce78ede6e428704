// pgjdbc's DatabaseMetaData and ResultSetMetaData over the differential fixture
// (conformance/differential/fixture.sql), run as a single-file program:
//   java -cp postgresql.jar JdbcIntrospection.java <jdbc-url> [--mark]
// Prints each call's result as "## call" followed by its column labels and rows,
// tab-separated, or "## call\terror SQLSTATE". The conformance suite runs it on
// Floe and on PostgreSQL 15 and compares; with --mark it first runs a marker
// query naming the call, so scripts/collect-client-sql can tell from the server's
// log which statements each call sent.

import java.sql.*;
import java.util.ArrayList;
import java.util.List;

public class JdbcIntrospection {
    interface Call {
        ResultSet run(DatabaseMetaData md) throws SQLException;
    }

    static Connection conn;
    static boolean mark;

    public static void main(String[] args) throws Exception {
        mark = args.length > 1 && args[1].equals("--mark");
        try (Connection c = DriverManager.getConnection(args[0])) {
            conn = c;
            DatabaseMetaData md = c.getMetaData();
            show("getSchemas", m -> m.getSchemas(null, "fx"));
            show("getCatalogs", DatabaseMetaData::getCatalogs);
            show("getTableTypes", DatabaseMetaData::getTableTypes);
            show("getTables", m -> m.getTables(null, "fx", "%", null));
            show("getTables TABLE", m -> m.getTables(null, "fx", "%", new String[] {"TABLE"}));
            show("getTables VIEW", m -> m.getTables(null, "fx", "%", new String[] {"VIEW"}));
            show("getColumns", m -> m.getColumns(null, "fx", "%", "%"));
            show("getColumns orders", m -> m.getColumns(null, "fx", "orders", "%"));
            show("getPrimaryKeys", m -> m.getPrimaryKeys(null, "fx", "orders"));
            show("getImportedKeys", m -> m.getImportedKeys(null, "fx", "orders"));
            show("getExportedKeys", m -> m.getExportedKeys(null, "fx", "customers"));
            show("getCrossReference", m -> m.getCrossReference(null, "fx", "customers", null, "fx", "orders"));
            show("getIndexInfo", m -> m.getIndexInfo(null, "fx", "orders", false, true));
            show("getIndexInfo unique", m -> m.getIndexInfo(null, "fx", "orders", true, false));
            show("getFunctions", m -> m.getFunctions(null, "fx", "%"));
            show("getFunctionColumns", m -> m.getFunctionColumns(null, "fx", "%", "%"));
            show("getProcedures", m -> m.getProcedures(null, "fx", "%"));
            show("getProcedureColumns", m -> m.getProcedureColumns(null, "fx", "%", "%"));
            show("getTypeInfo", DatabaseMetaData::getTypeInfo);
            show("getUDTs", m -> m.getUDTs(null, "fx", "%", null));
            show("getTablePrivileges", m -> m.getTablePrivileges(null, "fx", "orders"));
            show("getColumnPrivileges", m -> m.getColumnPrivileges(null, "fx", "orders", "%"));
            show("getBestRowIdentifier", m -> m.getBestRowIdentifier(null, "fx", "orders", DatabaseMetaData.bestRowSession, true));
            show("getVersionColumns", m -> m.getVersionColumns(null, "fx", "orders"));
            show("getClientInfoProperties", DatabaseMetaData::getClientInfoProperties);
            value("getSQLKeywords", () -> String.valueOf(md.getSQLKeywords().split(",").length > 10));
            value("getDatabaseProductVersion", md::getDatabaseProductVersion);
            value("getDatabaseMajorVersion", () -> String.valueOf(md.getDatabaseMajorVersion()));
            value("getIdentifierQuoteString", md::getIdentifierQuoteString);
            value("getMaxColumnNameLength", () -> String.valueOf(md.getMaxColumnNameLength()));
            value("getUserName", md::getUserName);
            value("isReadOnly", () -> String.valueOf(md.isReadOnly()));
            resultMetadata("ResultSetMetaData orders",
                    "SELECT id, customer_id, amount, placed, note FROM fx.orders ORDER BY id");
            resultMetadata("ResultSetMetaData view", "SELECT * FROM fx.big_orders");
            resultMetadata("ResultSetMetaData catalog",
                    "SELECT c.relname, c.relkind, c.oid, c.relnamespace::regnamespace::text AS nsp "
                            + "FROM pg_catalog.pg_class c WHERE c.relname = 'orders'");
        }
    }

    interface Text {
        String get() throws SQLException;
    }

    static void marker(String name) throws SQLException {
        if (mark) {
            try (PreparedStatement p = conn.prepareStatement("SELECT 'floe-collect', ?")) {
                p.setString(1, name);
                p.executeQuery().close();
            }
        }
    }

    static void show(String name, Call call) throws SQLException {
        marker(name);
        try (ResultSet rs = call.run(conn.getMetaData())) {
            System.out.println("## " + name);
            print(rs, false);
        } catch (SQLException e) {
            System.out.println("## " + name + "\terror " + e.getSQLState());
        }
    }

    static void value(String name, Text text) throws SQLException {
        marker(name);
        try {
            System.out.println("## " + name + "\t" + text.get());
        } catch (SQLException e) {
            System.out.println("## " + name + "\terror " + e.getSQLState());
        }
    }

    static void resultMetadata(String name, String sql) throws SQLException {
        marker(name);
        System.out.println("## " + name);
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            ResultSetMetaData m = rs.getMetaData();
            for (int i = 1; i <= m.getColumnCount(); i++) {
                System.out.println(String.join("\t", m.getColumnName(i), m.getColumnLabel(i),
                        String.valueOf(m.getColumnType(i)), m.getColumnTypeName(i),
                        m.getColumnClassName(i), String.valueOf(m.getPrecision(i)),
                        String.valueOf(m.getScale(i)), String.valueOf(m.isNullable(i)),
                        String.valueOf(m.isAutoIncrement(i)), m.getTableName(i),
                        m.getSchemaName(i), String.valueOf(m.getColumnDisplaySize(i))));
            }
            print(rs, true);
        } catch (SQLException e) {
            System.out.println("error " + e.getSQLState());
        }
    }

    static void print(ResultSet rs, boolean rowsOnly) throws SQLException {
        ResultSetMetaData m = rs.getMetaData();
        int n = m.getColumnCount();
        List<String> cells = new ArrayList<>();
        if (!rowsOnly) {
            for (int i = 1; i <= n; i++) {
                cells.add(m.getColumnLabel(i));
            }
            System.out.println(String.join("\t", cells));
        }
        while (rs.next()) {
            cells.clear();
            for (int i = 1; i <= n; i++) {
                cells.add(String.valueOf(rs.getString(i)));
            }
            System.out.println(String.join("\t", cells));
        }
    }
}
