// pgjdbc's DatabaseMetaData over Floe's virtual schema, run as a single-file program:
//   java -cp postgresql.jar JdbcMetadata.java <jdbc-url> <schema-pattern>
// Prints what getSchemas, getTables and getColumns return, one tab-separated line
// per row, for the caller to compare with the catalog.

import java.sql.*;

public class JdbcMetadata {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String schemas = args[1];
        try (Connection c = DriverManager.getConnection(url)) {
            DatabaseMetaData md = c.getMetaData();
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) {
                    System.out.println("schema\t" + rs.getString("TABLE_SCHEM"));
                }
            }
            try (ResultSet rs = md.getTables(null, schemas, "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    System.out.println("table\t" + rs.getString("TABLE_SCHEM") + "\t"
                            + rs.getString("TABLE_NAME") + "\t" + rs.getString("TABLE_TYPE"));
                }
            }
            try (ResultSet rs = md.getColumns(null, schemas, "%", "%")) {
                while (rs.next()) {
                    System.out.println("column\t" + rs.getString("TABLE_SCHEM") + "\t"
                            + rs.getString("TABLE_NAME") + "\t" + rs.getString("COLUMN_NAME") + "\t"
                            + rs.getInt("DATA_TYPE") + "\t" + rs.getString("TYPE_NAME") + "\t"
                            + rs.getInt("NULLABLE") + "\t" + rs.getInt("ORDINAL_POSITION"));
                }
            }
            // Typed access to a lake table through the same connection.
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM " + schemas.replace("%", "") + "." + "orders")) {
                rs.next();
                System.out.println("count\t" + rs.getLong(1));
            } catch (SQLException e) {
                System.out.println("count\terror " + e.getSQLState());
            }
        }
    }
}
